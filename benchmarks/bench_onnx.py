"""Export time, file size and agreement with onnxruntime of every registered model.

    python benchmarks/bench_onnx.py                       # every model in the registry
    python benchmarks/bench_onnx.py --models lenet5 fashion-cnn --repeat 3

For each model: the best of ``--repeat`` export times (the first export of a process also
compiles the kernels its forward pass runs, so it is reported apart), the file size, the
node count, and the largest difference between onnxruntime's outputs and the engine's eval
forward at batch 2. Input sizes: --input-size, else 1x28x28 for LeNet-5 and the Fashion
CNN and 3x224x224 for the others.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygradcnn as tg  # noqa: E402
from tinygradcnn.models import get_model, list_models  # noqa: E402
from tinygradcnn.onnx import export  # noqa: E402

# the grayscale 28x28 models; every other registered model takes 3x224x224 by default
SIZES = {"lenet5": (1, 28, 28), "fashion-cnn": (1, 28, 28)}


def input_size(name: str, given) -> tuple[int, ...]:
    return tuple(given) if given else SIZES.get(name, (3, 224, 224))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: all registered")
    parser.add_argument("--input-size", type=int, nargs=3, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"{'model':16s} {'input':>11s} {'first s':>8s} {'best s':>8s} {'MB':>8s} "
          f"{'nodes':>6s} {'max |diff|':>11s}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models or list_models():
            tg.manual_seed(0)
            model = get_model(name).eval()
            size = input_size(name, args.input_size)
            path = os.path.join(folder, f"{name}.onnx")
            times = []
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                info = export(model, tg.zeros((1, *size)), path)
                times.append(time.perf_counter() - start)
            x = np.random.default_rng(0).standard_normal((2, *size)).astype(np.float32)
            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            (got,) = session.run(None, {"input": x})
            with tg.no_grad():
                expected = model(tg.tensor(x)).numpy()
            print(f"{name:16s} {'x'.join(map(str, size)):>11s} {times[0]:8.2f} "
                  f"{min(times[1:] or times):8.2f} {info['bytes'] / 1e6:8.2f} "
                  f"{info['nodes']:6d} {np.abs(got - expected).max():11.2e}")


if __name__ == "__main__":
    main()
