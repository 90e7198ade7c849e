"""``python -m tinygradcnn export``: a model file (or a registered model) to an ONNX file.

    python -m tinygradcnn export --model-file lenet5.tgm --out lenet5.onnx
    python -m tinygradcnn export --model lenet5 --out lenet5.onnx --opset 18 --input-size 1 28 28
"""

from __future__ import annotations

import argparse

from ..models import get_model, list_models
from ..nn.module import Module


def add_export_parser(commands) -> None:
    """Add the ``export`` command to the CLI's subparsers."""
    parser = commands.add_parser("export", help="write a model as an ONNX file",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-file", help="a whole-model file written by tg.save_model")
    source.add_argument("--model", choices=list_models(),
                        help="a registered model with its initial (untrained) weights")
    parser.add_argument("--out", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, 13..21")
    parser.add_argument("--input-size", type=int, nargs=3, metavar=("C", "H", "W"),
                        default=None, help="the example input's (C, H, W); default: the size "
                        "the model file records, else the first conv's channels at the "
                        "model's input_size (else 28 for 1 channel, 224 for 3)")
    parser.add_argument("--static-batch", action="store_true",
                        help="fix the batch axis at 1 instead of leaving it dynamic")
    parser.add_argument("--fold-batchnorm", action="store_true",
                        help="fold each BatchNorm into the convolution before it")


def _load(args) -> Module:
    if args.model is not None:
        return get_model(args.model)
    import tinygradcnn

    load_model = getattr(tinygradcnn, "load_model", None)
    if load_model is None:
        raise SystemExit("export: --model-file needs tg.load_model, which this version lacks")
    return load_model(args.model_file)


def _input_size(args, model: Module) -> tuple[int, int, int]:
    """--input-size, else the size the model file records, else the first convolution's
    channels at the model's ``input_size`` (28 for one channel, 224 for more)."""
    if args.input_size is not None:
        return tuple(args.input_size)
    recorded = getattr(model, "_input_size", None)
    if recorded is not None:
        return tuple(recorded)
    from ..nn.conv import Conv2d

    channels = next((m.in_channels for m in model.modules() if isinstance(m, Conv2d)), 1)
    side = getattr(model, "input_size", 28 if channels == 1 else 224)
    return (channels, side, side)


def export_command(args) -> int:
    """Run ``export`` for the parsed ``args``; prints the file, its size and the time."""
    from .. import creation
    from . import export

    model = _load(args)
    size = _input_size(args, model)
    example = creation.zeros((1, *size))
    info = export(model, example, args.out, opset=args.opset,
                  dynamic_batch=not args.static_batch, fold_batchnorm=args.fold_batchnorm)
    batch = "1" if args.static_batch else "batch"
    print(f"wrote {args.out}: {type(model).__name__}, input ({batch}, {', '.join(map(str, size))})"
          f", opset {args.opset}, {info['nodes']} nodes, {info['bytes'] / 1e6:.2f} MB, "
          f"{info['seconds']:.2f} s")
    return 0
