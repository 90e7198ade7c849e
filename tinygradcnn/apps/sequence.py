"""`python -m tinygradcnn sequence --dataset NAME`: time-series classification with 1-d
convolutions, the fully convolutional network of Wang et al. 2017 on a UCR/UEA archive.

    python -m tinygradcnn sequence --dataset GunPoint --out runs/gunpoint
    python -m tinygradcnn sequence --dataset JapaneseVowels --epochs 60
    python -m tinygradcnn sequence --dataset GunPoint --quick      # a smoke run of seconds

The archive's own train/test split (from the `.ts` files in aeon's wheel, or a folder: see
`data.UCRDataset`), each channel standardised with the training split's mean and standard
deviation. The paper's recipe scaled down to minutes on a CPU: Adam at lr 1e-3, batches of
min(N / 10, 16) series, the learning rate halved when the training loss stops falling
(ReduceLROnPlateau, the paper's patience of 50 of its 2000 epochs scaled to 10), far fewer
epochs (EPOCHS), and the weights of the epoch with the lowest training loss tested. Prints
the test error beside the published FCN's, writes the class activation maps of a few test
series (cam.png), the training curve, results.json and the model (`tg.save_model`: a
`model file: PATH` line).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from .. import optim
from ..atomic import write_json
from ..data.loader import DataLoader
from ..data.ucr import UCRDataset, available_archives
from ..models.files import save_model
from ..models.registry import get_model
from ..random import manual_seed
from ..serialization import load
from ..train.callbacks import ModelCheckpoint
from ..train.loop import evaluate, fit, predict

# the FCN's published test error on each archive, and where it is from:
# Wang, Yan and Oates 2017 (IJCNN), Table 2, FCN column, for GunPoint; Ismail Fawaz et al.
# 2019 ("Deep learning for time series classification: a review", DMKD), mean accuracy of
# 10 runs of their FCN (github.com/hfawaz/dl-4-tsc results/results-ucr.csv and
# results-mts-avg-std.csv), for the others (error = 1 - accuracy)
REFERENCE = {
    "GunPoint": (0.000, "Wang et al. 2017, Table 2 (FCN)"),
    "ArrowHead": (0.15, "Ismail Fawaz et al. 2019, FCN accuracy 0.85"),
    "JapaneseVowels": (0.007, "Ismail Fawaz et al. 2019, FCN accuracy 99.3% (MTS archive)"),
    "ItalyPowerDemand": (0.04, "Ismail Fawaz et al. 2019, FCN accuracy 0.96"),
}
# epochs of the full run: enough for the paper's network to fit each archive within a few
# minutes here (the paper trains 2000)
EPOCHS = {"GunPoint": 120, "ArrowHead": 300, "JapaneseVowels": 40, "ItalyPowerDemand": 30}
DEFAULT_EPOCHS = 60
QUICK_EPOCHS, QUICK_WIDTHS = 2, (8, 16, 8)


def add_sequence_parser(subparsers) -> argparse.ArgumentParser:
    """The `sequence` command's arguments, added to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "sequence", help="time-series classification: the FCN on a UCR/UEA archive")
    parser.add_argument("--dataset", default="GunPoint",
                        help=f"the archive (default GunPoint): {', '.join(REFERENCE)}, or any "
                             "<NAME>/<NAME>_TRAIN.ts under --data-dir")
    parser.add_argument("--data-dir", default=None,
                        help="folder with <NAME>/<NAME>_TRAIN.ts and _TEST.ts (default: "
                             "$TINYGRADCNN_DATA, then the archives in aeon's wheel)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: runs/sequence-<NAME>)")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default per archive: {EPOCHS}, else "
                             f"{DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (1e-3)")
    parser.add_argument("--quick", action="store_true",
                        help="a narrow FCN (8/16/8 filters), 2 epochs: checks the pipeline only")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and batches")
    return parser


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel scaled by the training split's mean and standard deviation over all
    series and time steps: (N, C, T) arrays -> the same, float32. UCR's univariate series
    are z-normalised already; JapaneseVowels' 12 cepstral coefficients are not."""
    mean = train.mean(axis=(0, 2), keepdims=True)
    std = train.std(axis=(0, 2), keepdims=True) + 1e-8
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def load_archive(name: str, root=None) -> tuple[UCRDataset, UCRDataset]:
    """The train and test splits, padded to one length (the longest of both)."""
    train, test = UCRDataset(name, True, root), UCRDataset(name, False, root)
    length = max(train.series.shape[2], test.series.shape[2])
    if train.series.shape[2] != length:
        train = UCRDataset(name, True, root, length=length)
    if test.series.shape[2] != length:
        test = UCRDataset(name, False, root, length=length)
    train.series, test.series = standardise(train.series, test.series)
    return train, test


def _known_names(root) -> list[str]:
    return sorted(set(REFERENCE) | set(available_archives(root)))


def sequence_command(args) -> int:
    """Train the FCN on `--dataset`, print its test error beside the paper's, write pictures."""
    started, cpu_started = time.perf_counter(), time.process_time()
    name = args.dataset
    known = _known_names(args.data_dir)
    if name not in known:
        print(f"sequence: unknown dataset {name!r}; choose one of {', '.join(known)}",
              file=sys.stderr)
        return 2
    epochs = args.epochs if args.epochs is not None else (
        QUICK_EPOCHS if args.quick else EPOCHS.get(name, DEFAULT_EPOCHS))
    if epochs < 1:
        print(f"sequence: --epochs must be at least 1, got {epochs}", file=sys.stderr)
        return 2
    try:
        train, test = load_archive(name, args.data_dir)
    except (OSError, ValueError) as err:
        print(f"sequence: cannot read {name}: {err}", file=sys.stderr)
        return 2
    out = args.out or os.path.join("runs", f"sequence-{name}")
    os.makedirs(out, exist_ok=True)
    n, channels, length = train.series.shape
    print(f"{name}: {n} training and {len(test)} test series, {channels} channel(s), length "
          f"{length} (lengths {train.lengths.min()}-{train.lengths.max()}), "
          f"{train.num_classes} classes")

    manual_seed(args.seed)
    widths = QUICK_WIDTHS if args.quick else (128, 256, 128)
    model = get_model("fcn1d", in_channels=channels, num_classes=train.num_classes,
                      widths=widths)
    batch_size = int(min(max(n // 10, 1), 16))  # the paper's min(N / 10, 16)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=10,
                                                    min_lr=1e-4)
    loader = DataLoader(train, batch_size=batch_size, shuffle=True)
    # as the reference code (Ismail Fawaz et al.'s dl-4-tsc): the model tested is the one of
    # the epoch with the lowest training loss, not the last (batches of 5 with batch norm
    # make the loss jump from epoch to epoch)
    best_path = os.path.join(out, "best_weights.npz")
    best = ModelCheckpoint(best_path, monitor="loss", save_best_only=True,
                           save_weights_only=True)
    history = fit(model, loader, epochs, optimizer, scheduler=plateau, callbacks=[best],
                  verbose=0)
    model.load_state_dict(load(best_path))
    os.remove(best_path)
    best_epoch = int(np.argmin(history.history["loss"]))
    test_logs = evaluate(model, test)
    predicted, true = predict(model, test)
    error = float(np.mean(predicted != true))
    cpu_seconds = time.process_time() - cpu_started

    reference = REFERENCE.get(name)
    rows = [("test error", f"{error:.4f} ({int(np.sum(predicted != true))}/{len(true)} "
                           f"misclassified, accuracy {100 * (1 - error):.2f}%)"),
            ("the published FCN", f"{reference[0]:.3f} ({reference[1]})" if reference
             else "none on record for this archive"),
            ("training", f"{epochs} epochs, batch {batch_size}, Adam lr {args.lr:g}; tested: "
                         f"epoch {best_epoch + 1}, the lowest training loss "
                         f"{history.history['loss'][best_epoch]:.4f}"),
            ("time", f"{cpu_seconds:.0f} s CPU, {time.perf_counter() - started:.0f} s wall")]
    width = max(len(label) for label, _ in rows)
    print("\n".join(f"{label.ljust(width)}  {value}" for label, value in rows))

    model_path = os.path.join(out, "fcn1d.npz")
    save_model(model, model_path, input_size=(channels, length))
    results = {"dataset": name, "test_error": error, "test_loss": test_logs["loss"],
               "reference_error": reference[0] if reference else None,
               "reference": reference[1] if reference else None, "epochs": epochs,
               "batch_size": batch_size, "lr": args.lr, "best_epoch": best_epoch + 1,
               "seed": args.seed,
               "loss": history.history["loss"], "cpu_seconds": cpu_seconds}
    write_json(os.path.join(out, "results.json"), results)
    written = ["results.json"]
    try:
        from .sequence_pictures import plot_cams, plot_training

        plot_cams(model, test, predicted, os.path.join(out, "cam.png"))
        plot_training(history.history["loss"], os.path.join(out, "training.png"))
        written += ["cam.png", "training.png"]
    except ImportError as err:
        print(f"(no pictures: {err})")
    print(f"wrote {', '.join(written)} to {out}/")
    print(f"model file: {model_path}")
    return 0
