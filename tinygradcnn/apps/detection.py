"""`python -m tinygradcnn detect`: object detection on canvases of MNIST digits (or of
Fashion-MNIST products, the "shelf").

    python -m tinygradcnn detect --data-dir ../shared/data --out runs/detect
    python -m tinygradcnn detect --data fashion-mnist --epochs 12
    python -m tinygradcnn detect --quick            # a smoke run of a few seconds

A CenterNet (`models/detection.py`) trains on `DetectionCanvas` canvases from the training
split, drawn afresh every epoch (seed + epoch: the model never sees a canvas twice), with
Adam and a cosine schedule over the steps. It is scored on held-out canvases of the test
split with COCO's box AP (`train.mean_average_precision`, checked against pycocotools).
Prints the metrics table; writes to --out the detector (detector.npz, for `tg.load_model`;
its path on a line `model file: PATH`), results.json, detections.png (ground truth, heat-map
peaks before NMS, detections after) and precision_recall.png.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from .. import optim
from ..atomic import write_json
from ..data import DataLoader, DetectionCanvas, detection_collate
from ..models.detection import centernet
from ..models.files import save_model
from ..random import manual_seed
from ..tensor import Tensor
from ..train.detection_metrics import format_detection_metrics, mean_average_precision

# full run / --quick. Tuned by runs of 300 steps (4 x 2400 canvases) on MNIST: Adam at
# 5e-3 beat 2e-3 (AP@.5 54% against 49% at 150 steps); a size loss weight of 0.5 beat
# CenterNet's 0.1 (AP@[.5:.95] 49% against 44%, AP@.75 56% against 41%: thin digits such
# as "1" need their width to the pixel) and 1.0 (45%); width 16 beat 12 (53% against 49%,
# AP@.5 83% against 80%) for 1.3x the CPU time a step (0.53 s against 0.40 s, batch 32).
# 10 epochs of 6000 canvases (1880 steps) reach AP@.5 96.0% and AP@[.5:.95] 71.2% on MNIST in
# 6.3 minutes on 2 quiet cores (8 epochs: 69.6%).
# Scores: the detections COCO AP is computed on go down to 0.05 (AP rewards the low-scoring
# tail of the ranking); the pictures show those above 0.3.
SETTINGS = {
    "full": {"epochs": 10, "train_size": 6000, "test_size": 1000, "width": 16, "depth": 2,
             "batch_size": 32, "lr": 5e-3, "size_weight": 0.5},
    "quick": {"epochs": 1, "train_size": 48, "test_size": 16, "width": 4, "depth": 1,
              "batch_size": 16, "lr": 5e-3},
}
EVAL_SCORE_THRESHOLD = 0.05
PICTURE_SCORE_THRESHOLD = 0.3
IOU_THRESHOLD = 0.5


def add_detect_parser(subparsers) -> argparse.ArgumentParser:
    """The `detect` command's arguments, added to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "detect", help="train and evaluate a CenterNet detector on canvases of digits")
    parser.add_argument("--data", default="mnist", choices=["mnist", "fashion-mnist"],
                        help="what the canvases hold (fashion-mnist: the shelf)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the IDX .gz files (default: $TINYGRADCNN_DATA, else "
                             "~/.cache/tinygradcnn, downloading what is missing)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 10 (1 with --quick)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="training canvases per epoch (default 6000)")
    parser.add_argument("--test-size", type=int, default=None,
                        help="held-out test canvases (default 1000)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="Adam's learning rate")
    parser.add_argument("--width", type=int, default=None,
                        help="channels of the first conv (default 16; 4w at stride 4)")
    parser.add_argument("--out", default=os.path.join("runs", "detect"),
                        help="output folder (default: runs/detect)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny detector, a few canvases: checks the pipeline only")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _settings(args) -> dict:
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    for key in ("epochs", "train_size", "test_size", "batch_size", "lr", "width"):
        value = getattr(args, key)
        if value is not None:
            if value <= 0:
                raise ValueError(f"detect: --{key.replace('_', '-')} must be positive, "
                                 f"got {value}")
            settings[key] = value
    return settings


def train_detector(train: DetectionCanvas, settings: dict, seed: int, log=print):
    """Train a CenterNet on `train`'s canvases (fresh ones each epoch, same source).
    Returns the model (in eval mode) and the per-epoch mean losses."""
    manual_seed(seed)
    classes = len(train.classes) if train.classes is not None else 10
    model = centernet(num_classes=classes, width=settings["width"], depth=settings["depth"],
                      size_weight=settings.get("size_weight", 0.1))
    optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
    steps = settings["epochs"] * -(-len(train) // settings["batch_size"])
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    history = []
    for epoch in range(settings["epochs"]):
        canvases = DetectionCanvas(train.source, train=True, canvas_size=train.canvas_size,
                                   objects=train.objects, object_size=train.object_size,
                                   max_iou=train.max_iou, length=len(train), seed=seed + epoch)
        loader = DataLoader(canvases, batch_size=settings["batch_size"], shuffle=True,
                            collate_fn=detection_collate)
        started, batches = time.perf_counter(), 0
        totals: dict[str, float] = {}
        model.train()
        for images, targets in loader:
            losses = model(images, targets)
            loss = losses["loss_heatmap"] + losses["loss_size"] + losses["loss_offset"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value.item()
            batches += 1
        means = {name: total / max(batches, 1) for name, total in totals.items()}
        history.append(means)
        log(f"epoch {epoch + 1}/{settings['epochs']}  " + "  ".join(
            f"{name[5:]} {value:.4f}" for name, value in means.items())
            + f"  ({time.perf_counter() - started:.0f} s)")
    model.eval()
    return model, history


def detect_all(model, canvases, score_threshold: float,
               iou_threshold: float | None, batch_size: int = 64) -> list[dict]:
    """The model's detections on every canvas of `canvases` (a `DetectionCanvas`, or any
    sequence of (image, target) items), as dicts of NumPy arrays."""
    found = []
    for start in range(0, len(canvases), batch_size):
        images = np.stack([canvases[i][0] for i in range(start,
                                                         min(start + batch_size, len(canvases)))])
        for result in model.predict(Tensor(images), score_threshold=score_threshold,
                                    iou_threshold=iou_threshold):
            found.append({key: value.numpy() for key, value in result.items()})
    return found


def detect_command(args) -> int:
    """Train, evaluate on held-out test canvases, print the table, write model and pictures."""
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        settings = _settings(args)
        train = DetectionCanvas(args.data, train=True, length=settings["train_size"],
                                seed=args.seed, root=args.data_dir)
        test = DetectionCanvas(args.data, train=False, length=settings["test_size"],
                               seed=args.seed + 10_000, root=args.data_dir)
    except (OSError, ValueError, RuntimeError) as err:  # bad option, missing or corrupt file
        print(f"detect: {err}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    print(f"{args.data} canvases: {len(train)} per epoch to train (training split), "
          f"{len(test)} to test (test split), {train.canvas_size}x{train.canvas_size}, "
          f"{train.objects[0]}-{train.objects[1]} objects of {train.object_size[0]}-"
          f"{train.object_size[1]} px")
    model, history = train_detector(train, settings, args.seed)
    train_seconds = time.perf_counter() - started

    found = detect_all(model, test, EVAL_SCORE_THRESHOLD, IOU_THRESHOLD)
    targets = [test[i][1] for i in range(len(test))]
    result = mean_average_precision(found, targets)
    print(format_detection_metrics(result, train.classes))
    cpu_seconds = time.process_time() - cpu_started
    print(f"time: training {train_seconds:.0f} s wall, all {cpu_seconds:.0f} s CPU, "
          f"{time.perf_counter() - started:.0f} s wall")

    model_path = os.path.join(args.out, "detector.npz")
    save_model(model, model_path, input_size=(1, train.canvas_size, train.canvas_size))
    results = {"data": args.data, "map": result["map"], "map_50": result["map_50"],
               "map_75": result["map_75"],
               "map_per_class": {str(k): v for k, v in result["map_per_class"].items()},
               "history": history, "settings": settings, "seed": args.seed,
               "train_seconds": train_seconds, "cpu_seconds": cpu_seconds}
    write_json(os.path.join(args.out, "results.json"), results)
    written = ["detector.npz", "results.json"]
    try:
        _pictures(model, test, targets, result, train.classes, args.out)
        written += ["detections.png", "precision_recall.png"]
    except ImportError:
        print("(matplotlib is not installed: no pictures)")
    print(f"wrote {', '.join(written)} to {args.out}/")
    print(f"model file: {model_path}")
    return 0


def _pictures(model, test: DetectionCanvas, targets: list[dict], result: dict, classes,
              out: str) -> None:
    from .detection_pictures import plot_detections, plot_precision_recall

    shown = min(4, len(test))
    images = np.stack([test[i][0] for i in range(shown)])
    first = [test[i] for i in range(shown)]
    before = detect_all(model, first, PICTURE_SCORE_THRESHOLD, None)
    after = detect_all(model, first, PICTURE_SCORE_THRESHOLD, IOU_THRESHOLD)
    plot_detections(images[:, 0], targets[:shown], before, after, classes,
                    os.path.join(out, "detections.png"))
    plot_precision_recall(result, classes, os.path.join(out, "precision_recall.png"))
