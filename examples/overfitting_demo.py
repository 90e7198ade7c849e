"""Overfitting, seen in the learning curves: the same LeNet-5 trained on a small subset
twice, once plainly and once with dropout, augmentation, weight decay and early stopping.

    python examples/overfitting_demo.py                  # embedded digits, ~15 seconds
    python examples/overfitting_demo.py --data mnist --train-size 1000

The plain run drives its training loss to zero while its validation loss turns back up
after a few dozen epochs (overfitting: 300 images are memorised, not learnt); the regularised
run keeps the two close, ends with the lower validation loss and higher validation accuracy,
and stops when validation stalls. (The digits are upscaled to 28x28, LeNet-5's size, so
that rotations and shifts are smooth.)
Writes runs/overfitting/overfitting.png with both runs' curves. For one run per remedy,
each on its own, see the overfitting board: `tg.viz.overfitting_board()` (the `overfitting`
view of `python -m tinygradcnn explain`).
"""

import argparse
import os

import tinygradcnn as tg
from tinygradcnn import data, optim
from tinygradcnn.atomic import save_figure
from tinygradcnn.data import transforms as T
from tinygradcnn.models import LeNet5


def train(train_set, val_set, size, epochs, regularised, seed):
    tg.manual_seed(seed)
    augment = T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))
    loader = data.DataLoader(train_set, 32, shuffle=True, seed=seed,
                             transform=augment if regularised else None)
    model = LeNet5(input_size=size, dropout=0.25 if regularised else 0.0)
    optimizer = optim.AdamW(model.parameters(), lr=2e-3,
                            weight_decay=1e-2 if regularised else 0.0)
    callbacks = [tg.EarlyStopping(patience=15)] if regularised else []
    return tg.fit(model, loader, epochs, optimizer, validation_data=val_set,
                  callbacks=callbacks, verbose=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="digits", choices=["digits", "mnist"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-size", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/overfitting")
    args = parser.parse_args()

    full = data.Digits(train=True, size=28) if args.data == "digits" else data.MNIST(args.data_dir)
    size = full.image_shape[-1]
    small, val, _ = data.random_split(
        full, [args.train_size, 500, len(full) - args.train_size - 500], seed=args.seed)
    print(f"training on {len(small)} images, validating on {len(val)}")
    print("--- plain ---")
    plain = train(small, val, size, args.epochs, False, args.seed)
    print("--- dropout + augmentation + weight decay + early stopping ---")
    regularised = train(small, val, size, args.epochs, True, args.seed)

    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for history, name, colour in ((plain, "plain", "tab:red"),
                                      (regularised, "regularised", "tab:blue")):
            epochs = [e + 1 for e in history.epoch]
            axes.plot(epochs, history[metric], "-", color=colour, label=f"{name}: training")
            axes.plot(epochs, history["val_" + metric], "--", color=colour,
                      label=f"{name}: validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        if metric == "loss":  # a log scale shows the training loss vanish and validation turn up
            axes.set_yscale("log")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(f"LeNet-5 on {len(small)} {args.data} images: overfitting and its cures")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "overfitting.png")
    save_figure(figure, path, dpi=120)
    for name, history in (("plain", plain), ("regularised", regularised)):
        best = min(range(len(history)), key=lambda e: history["val_loss"][e])
        print(f"{name}: final train loss {history['loss'][-1]:.3f}, val loss "
              f"{history['val_loss'][-1]:.3f} (best {history['val_loss'][best]:.3f} at epoch "
              f"{best + 1}), val accuracy {history['val_accuracy'][-1]:.3f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
