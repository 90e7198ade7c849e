"""Classify MNIST test digits with an exported LeNet-5, using onnxruntime alone.

This is what a deployment looks like: no tinygradcnn here, only the .onnx file, NumPy and
onnxruntime. Export the model first, then serve it:

    python -m tinygradcnn export --model-file lenet5.tgm --out lenet5.onnx
    python examples/serve_onnx.py lenet5.onnx --count 10      # MNIST from $TINYGRADCNN_DATA

The images are read from the IDX file itself (gzip + NumPy) and scaled to [0, 1] as the
engine's MNIST loader does, so the network sees exactly what it was trained on. Prints one
line per image (index, prediction, label, confidence) and the accuracy over them; ``--json``
prints the predictions as JSON instead, for a program (or a test) to compare.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys

import numpy as np
import onnxruntime

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


def read_idx(path: str) -> np.ndarray:
    """An IDX file (gzip-compressed or plain) as a NumPy array: big-endian dims, then data."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as file:
        raw = file.read()
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(name: str, data_dir: str | None) -> str:
    """``name`` in ``data_dir``, else in $TINYGRADCNN_DATA (directly or under mnist/)."""
    roots = [data_dir] if data_dir else [os.environ.get("TINYGRADCNN_DATA", ".")]
    for root in roots:
        for folder in (root, os.path.join(root, "mnist")):
            path = os.path.join(folder, name)
            if os.path.exists(path):
                return path
    raise SystemExit(f"serve_onnx: {name} not found in {roots[0]} (or its mnist/); pass "
                     f"--data-dir or set TINYGRADCNN_DATA")


def classify(model_path: str, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for uint8 images (N, 28, 28) -> (N, classes), by onnxruntime."""
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    batch_axis = session.get_inputs()[0].shape[0]
    step = batch_size if not isinstance(batch_axis, int) else batch_axis
    pixels = images.astype(np.float32)[:, None] / np.float32(255)
    logits = np.concatenate([session.run(None, {input_name: pixels[i: i + step]})[0]
                             for i in range(0, len(pixels), step)])
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="the .onnx file (an exported LeNet-5)")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX .gz files")
    parser.add_argument("--count", type=int, default=10, help="how many test images")
    parser.add_argument("--offset", type=int, default=0, help="index of the first image")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")
    args = parser.parse_args(argv)
    images = read_idx(find(IMAGES, args.data_dir))[args.offset: args.offset + args.count]
    labels = read_idx(find(LABELS, args.data_dir))[args.offset: args.offset + args.count]
    probabilities = classify(args.model, images)
    predictions = probabilities.argmax(axis=1)
    if args.json:
        print(json.dumps({"offset": args.offset, "predictions": predictions.tolist(),
                          "labels": labels.tolist()}))
        return 0
    for i, (prediction, label) in enumerate(zip(predictions, labels, strict=True)):
        mark = "" if prediction == label else "   <- wrong"
        print(f"image {args.offset + i:5d}: predicted {prediction}, label {label}, "
              f"confidence {probabilities[i, prediction]:.3f}{mark}")
    print(f"accuracy {np.mean(predictions == labels):.1%} on {len(labels)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
