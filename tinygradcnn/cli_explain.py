"""`python -m tinygradcnn explain VIEW`: the teaching views on a trained model, as pictures in
--out, a text version in the terminal, and with --html one self-contained report.html.

    python -m tinygradcnn explain conv                  # trains the digits LeNet-5 first
    python -m tinygradcnn explain all --html --out runs/explain
    python -m tinygradcnn explain layers --layer features.3 --image 7
    python -m tinygradcnn explain softmax --model-file my_lenet.tgm

Without --model-file the default LeNet-5 is trained on the embedded digits by the `train`
command's own code and kept in OUT/model, so later calls (and `all`) train only once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import sys

import numpy as np

from .atomic import write_json
from .viz.explain import VIEW_CHOICES, ViewUnavailable, expand, run_view
from .viz.explain_types import ExplainContext, ViewResult

# The explain model: the `train` preset for digits (28x28, augmented, dropout 0.2) with 8
# epochs instead of 40: 95.8% test accuracy at seed 0 rather than ~98.7%, as the pictures
# need a trained model, not the best one. --quick: the 8x8 digits, no augmentation or
# dropout, 4 epochs (88.9% at seed 0), for previews and CI.
TRAIN_OPTIONS = ["--data", "digits", "--epochs", "8", "--quiet"]
QUICK_OPTIONS = ["--data", "digits", "--epochs", "4", "--lr", "4e-3", "--image-size", "8",
                 "--dropout", "0", "--no-augment", "--scheduler", "none", "--quiet"]


def add_explain_parser(commands) -> argparse.ArgumentParser:
    """Add the `explain` command to the CLI's subparsers."""
    explain = commands.add_parser(
        "explain", help="show every step of a CNN on a trained model, with its numbers",
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    explain.add_argument("view", metavar="VIEW", help="one of: " + ", ".join(VIEW_CHOICES))
    explain.add_argument("--model-file", default=None,
                         help="a whole-model file (tg.save_model); default: train LeNet-5 "
                              "on the embedded digits")
    explain.add_argument("--image", type=int, default=0, metavar="INDEX",
                         help="which test image the views look at")
    explain.add_argument("--out", default="runs/explain", help="folder for the pictures")
    explain.add_argument("--html", action="store_true", help="also write OUT/report.html")
    explain.add_argument("--layer", default=None, metavar="NAME",
                         help="the layer a view looks at (as in model.named_modules())")
    explain.add_argument("--quick", action="store_true",
                         help="a small model and short views (previews, CI)")
    explain.add_argument("--seed", type=int, default=0)
    return explain


class ExplainError(ValueError):
    """Bad input to the command: printed as one line, exit code 2."""


def _trained_lenet(out: pathlib.Path, quick: bool, seed: int):
    """The default model: trained by `train` into out/model once, then loaded from there."""
    from .__main__ import _parser, train_command
    from .models import get_model
    from .nn.module import Module
    from .serialization import load

    folder = out / "model"
    options = (QUICK_OPTIONS if quick else TRAIN_OPTIONS) + ["--seed", str(seed)]
    results = folder / "results.json"
    args = None
    if results.exists() and (folder / "weights.npz").exists():
        saved = json.loads(results.read_text())
        if saved.get("explain_options") == options:
            args = saved["args"]
    if args is None:
        parsed = _parser().parse_args(["train", *options, "--out", str(folder)])
        folder.mkdir(parents=True, exist_ok=True)
        print(f"training LeNet-5 on the digits ({' '.join(options)}), log in "
              f"{folder / 'train.log'} ...", flush=True)
        with open(folder / "train.log", "w") as log, contextlib.redirect_stdout(log):
            train_command(parsed)
        saved = json.loads(results.read_text())
        saved["explain_options"] = options
        write_json(results, saved)
        args = saved["args"]
        print(f"test accuracy {100 * saved['test_accuracy']:.1f}%")
    model: Module = get_model("lenet5", num_classes=10, in_channels=1,
                              input_size=args["image_size"], dropout=args["dropout"])
    model.load_state_dict(load(folder / "weights.npz"))
    return model.eval(), args["image_size"]


def _loaded_model(path: str):
    """A whole-model file, with the image side it takes: the (C, H, W) saved with it
    (`model._input_size`), else the model's `input_size` attribute, else 28."""
    import tinygradcnn

    if not pathlib.Path(path).is_file():
        raise ExplainError(f"--model-file: no file {path!r}")
    load_model = getattr(tinygradcnn, "load_model", None)
    if load_model is None:
        raise ExplainError("--model-file needs tg.load_model, which this build does not have")
    model = load_model(path)
    saved = getattr(model, "_input_size", None)
    side = saved[-1] if saved else getattr(model, "input_size", 28)
    return model.eval(), int(side)


def make_context(args) -> ExplainContext:
    """The model (trained or loaded), the digits' test images in its input form, and the
    checked --image and --layer."""
    from .data import Digits

    out = pathlib.Path(args.out)
    if args.model_file:
        model, size = _loaded_model(args.model_file)
    else:
        model, size = _trained_lenet(out, args.quick, args.seed)
    test = Digits(train=False, size=size)
    images, labels = test[np.arange(len(test))]
    channels = next((m.in_channels for m in model.modules() if type(m).__name__ == "Conv2d"), 1)
    if channels != 1:  # a colour model sees the grey digit on every channel
        images = np.ascontiguousarray(np.repeat(images, channels, axis=1))
    if not 0 <= args.image < len(images):
        raise ExplainError(f"--image {args.image} is out of range: the test set has "
                           f"{len(images)} images (0..{len(images) - 1})")
    if args.layer is not None:
        names = [name for name, _ in model.named_modules() if name]
        if args.layer not in names:
            raise ExplainError(f"--layer: no layer named {args.layer!r}; the layers are: "
                               f"{', '.join(names)}")
    class_names = [str(c) for c in (test.classes or range(10))]
    return ExplainContext(model, images, labels, args.image, class_names, out, args.layer,
                          args.quick, args.seed)


def _print_result(result: ViewResult) -> None:
    print(f"\n== {result.title} ==")
    print(result.text)
    print("wrote " + ", ".join(str(path) for path in result.files))


def explain_command(args) -> int:
    """Run the views; 0 when all ran, 1 when some view is not installed, 2 for bad input."""
    try:
        names = expand(args.view)
        ctx = make_context(args)
    except ValueError as err:
        return _error(err)
    results, failures = [], {}
    for name in names:
        try:
            result = run_view(name, ctx)
        except ViewUnavailable as err:
            failures[name] = str(err)
            print(f"tinygradcnn {err}", file=sys.stderr)
            continue
        except ValueError as err:  # a --layer this view cannot use
            if len(names) == 1:
                return _error(err)
            failures[name] = str(err)
            print(f"tinygradcnn explain {name}: {err}", file=sys.stderr)
            continue
        results.append(result)
        _print_result(result)
    if args.html:
        from .viz.report import write_report

        source = args.model_file or "LeNet-5 trained on the embedded digits"
        path = write_report(results, ctx.out_dir / "report.html", subtitle=(
            f"{source}; test image {ctx.index}, a "
            f"{ctx.class_names[int(ctx.labels[ctx.index])]}"), failures=failures)
        print(f"\nwrote {path} (self-contained: open it in any browser)")
    return 1 if failures else 0


def _error(err: Exception) -> int:
    print(f"tinygradcnn explain: error: {err}", file=sys.stderr)
    return 2
