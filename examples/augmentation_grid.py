"""Save a grid of augmented digits: one row per transform, the same digits in every column.

    python examples/augmentation_grid.py                       # embedded digits, upscaled
    python examples/augmentation_grid.py --data mnist --data-dir ../shared/data
"""

import argparse
import os

import numpy as np

from tinygradcnn import data
from tinygradcnn.atomic import save_figure
from tinygradcnn.data import transforms as T

ROWS = [
    ("original", None),
    ("rotation +-25", T.RandomRotation(25)),
    ("scale 0.7-1.3", T.RandomScale((0.7, 1.3))),
    ("translate 15%", T.RandomTranslate(0.15)),
    ("crop, pad 4", T.RandomCrop(28, padding=4)),
    ("noise 0.15", T.GaussianNoise(0.15, clip=(0, 1))),
    ("all of them", T.Compose([T.RandomAffine(15, (0.1, 0.1), (0.85, 1.15)),
                               T.GaussianNoise(0.1, clip=(0, 1))])),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="digits", choices=["digits", "mnist"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/augmentation_grid.png")
    args = parser.parse_args()

    dataset = data.Digits(size=28) if args.data == "digits" else data.MNIST(args.data_dir)
    first_of_each = [int(np.flatnonzero(dataset.labels == d)[0]) for d in range(10)]
    images, _ = dataset[np.array(first_of_each[: args.columns])]

    from matplotlib.figure import Figure

    figure = Figure(figsize=(args.columns * 0.9, len(ROWS) * 0.95), layout="constrained")
    grid = figure.subplots(len(ROWS), args.columns, squeeze=False)
    for row, (name, transform) in enumerate(ROWS):
        shown = images if transform is None else transform(images, seed=args.seed + row)
        for column in range(args.columns):
            axes = grid[row, column]
            axes.imshow(shown[column, 0], cmap="gray", vmin=0, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
        grid[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    save_figure(figure, args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
