"""Object detection canvases: digits (or Fashion-MNIST products, the "shelf") on a blank page.

    canvases = DetectionCanvas("mnist", train=True, canvas_size=64, objects=(1, 4))
    image, target = canvases[0]    # (1, 64, 64) float32 in [0, 1],
                                   # {"boxes": (K, 4) float32 x1, y1, x2, y2, "labels": (K,) int64}
    loader = DataLoader(canvases, batch_size=32, shuffle=True, collate_fn=detection_collate)
    images, targets = next(iter(loader))   # Tensor (32, 1, 64, 64), list of 32 target dicts

Targets are what torchvision's detection models take. A canvas is made when it is read, from
a generator seeded by (seed, train, index), so item i is the same in every process and epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .collate import to_tensors
from .dataset import Dataset
from .transforms import resize

SOURCES = ("mnist", "fashion-mnist")
# a placement is drawn again this many times when it overlaps an earlier box too much;
# a canvas that still cannot take its objects is started afresh this many times
PLACEMENT_TRIES = 50
CANVAS_TRIES = 20


def _source_dataset(source: Any, train: bool, root) -> Any:
    if isinstance(source, str):
        from .datasets import MNIST, FashionMNIST

        if source not in SOURCES:
            raise ValueError(f"DetectionCanvas: unknown source {source!r}; expected one of "
                             f"{', '.join(map(repr, SOURCES))} or a data set object")
        data_set = MNIST if source == "mnist" else FashionMNIST
        return data_set(root, train=train)
    if not hasattr(source, "__getitem__") or not hasattr(source, "__len__"):
        raise ValueError(f"DetectionCanvas: source must be 'mnist', 'fashion-mnist' or a data "
                         f"set of (image, label) items, got {type(source).__name__}")
    return source


def _int_pair(name: str, value, minimum: int) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in value)):
        raise ValueError(f"DetectionCanvas: {name} must be an int or a (low, high) pair of "
                         f"ints, got {value!r}")
    low, high = int(value[0]), int(value[1])
    if low < minimum or high < low:
        raise ValueError(f"DetectionCanvas: {name}=({low}, {high}) is not a range "
                         f"low <= high with low >= {minimum}")
    return low, high


def box_iou_numpy(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) with each of boxes (K, 4), x1, y1, x2, y2 (for placing objects)."""
    if boxes.size == 0:
        return np.zeros(0)
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + areas - inter)


class DetectionCanvas(Dataset):
    """Canvases of `canvas_size` x `canvas_size` with 1..4 objects each (`objects`, inclusive).

    Args:
        source: "mnist", "fashion-mnist", or a data set whose items are (image (1, h, w) or
            (h, w) in [0, 1], label).
        train: objects from the training split (True) or from the test split only (False).
        canvas_size: side S of the square canvas.
        objects: (low, high) number of objects per canvas, inclusive, or one int.
        object_size: (low, high) side, in pixels, an object is resized to (drawn per object).
        max_iou: a placement whose box overlaps an earlier box with IoU >= max_iou is
            drawn again (up to 50 times; then the canvas is started afresh, up to 20 times).
        length: number of canvases (default 10,000 for training, 2,000 for testing).
        seed: canvas i is drawn from a generator seeded by (seed, train, i).
        root: folder of the IDX files (see `MNIST`).

    `canvases[i]` -> (image (1, S, S) float32 in [0, 1], {"boxes": (K, 4) float32 x1, y1,
    x2, y2 in pixels, "labels": (K,) int64}); each box is tightened to the object's non-zero
    pixels (x2 and y2 are one past the last pixel, so a box's width is x2 - x1). Where two
    objects overlap the brighter pixel wins.
    """

    def __init__(self, source: Any = "mnist", train: bool = True, canvas_size: int = 64,
                 objects: int | tuple[int, int] = (1, 4),
                 object_size: int | tuple[int, int] = (14, 28), max_iou: float = 0.25,
                 length: int | None = None, seed: int = 0, root=None) -> None:
        self.objects = _int_pair("objects", objects, minimum=0)
        self.object_size = _int_pair("object_size", object_size, minimum=1)
        if not isinstance(canvas_size, (int, np.integer)) or isinstance(canvas_size, bool):
            raise ValueError(f"DetectionCanvas: canvas_size must be an int, got {canvas_size!r}")
        if canvas_size < self.object_size[1]:
            raise ValueError(f"DetectionCanvas: canvas_size={canvas_size} is smaller than the "
                             f"largest object_size={self.object_size[1]}")
        if not 0.0 < float(max_iou) <= 1.0:
            raise ValueError(f"DetectionCanvas: max_iou must be in (0, 1], got {max_iou}")
        if length is None:
            length = 10_000 if train else 2_000
        if length < 0:
            raise ValueError(f"DetectionCanvas: length must be >= 0, got {length}")
        self.source = _source_dataset(source, train, root)
        if len(self.source) == 0:
            raise ValueError("DetectionCanvas: the source data set is empty")
        self.train, self.canvas_size, self.max_iou = bool(train), int(canvas_size), float(max_iou)
        self.length, self.seed = int(length), int(seed)
        self.classes = getattr(self.source, "classes", None)
        if self.length:
            self[0]  # an `objects` range that cannot be placed fails here, not in training

    def __len__(self) -> int:
        return self.length

    def _object(self, index: int) -> tuple[np.ndarray, int]:
        """Source item `index` as a float32 (h, w) picture in [0, 1] and its label."""
        images = getattr(self.source, "images", None)
        if isinstance(images, np.ndarray) and hasattr(self.source, "labels"):
            pixels = images[index].astype(np.float32) / np.float32(self.source.scale)
            return pixels.reshape(pixels.shape[-2:]), int(self.source.labels[index])
        image, label = self.source[index]
        pixels = np.asarray(image.numpy() if hasattr(image, "numpy") else image, np.float32)
        return pixels.reshape(pixels.shape[-2:]), int(label)

    def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"DetectionCanvas: index must be an int, got {type(index).__name__}")
        if not -self.length <= index < self.length:
            raise IndexError(f"DetectionCanvas: index {index} out of range for "
                             f"{self.length} canvases")
        index = int(index) % self.length
        rng = np.random.default_rng([self.seed, int(self.train), index])
        for _ in range(CANVAS_TRIES):
            canvas = self._draw(rng)
            if canvas is not None:
                return canvas
        low, high = self.object_size
        raise ValueError(
            f"DetectionCanvas: could not place {self.objects} objects of size {low}..{high} "
            f"on a {self.canvas_size}x{self.canvas_size} canvas with max_iou={self.max_iou} "
            f"(canvas {index}); use fewer or smaller objects, a larger canvas or max_iou")

    def _draw(self, rng: np.random.Generator):
        """One canvas, or None when an object found no place within PLACEMENT_TRIES."""
        size = self.canvas_size
        image = np.zeros((1, size, size), np.float32)
        boxes = np.zeros((0, 4), np.float32)
        labels = []
        count = int(rng.integers(self.objects[0], self.objects[1] + 1))
        for _ in range(count):
            pixels, label = self._object(int(rng.integers(len(self.source))))
            side = int(rng.integers(self.object_size[0], self.object_size[1] + 1))
            if pixels.shape != (side, side):
                pixels = resize(pixels[None, None], (side, side))[0, 0]
            rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
            if rows.size == 0:  # a blank object has no box to find
                continue
            for _ in range(PLACEMENT_TRIES):
                top, left = rng.integers(0, size - side + 1, size=2)
                box = np.array([left + cols[0], top + rows[0], left + cols[-1] + 1,
                                top + rows[-1] + 1], np.float32)
                if np.all(box_iou_numpy(box, boxes) < self.max_iou):
                    break
            else:
                return None
            window = image[0, top:top + side, left:left + side]
            np.maximum(window, pixels, out=window)
            boxes = np.concatenate([boxes, box[None]])
            labels.append(label)
        np.clip(image, 0.0, 1.0, out=image)
        return image, {"boxes": boxes, "labels": np.asarray(labels, np.int64)}

    def __repr__(self) -> str:
        return (f"DetectionCanvas(n={self.length}, canvas_size={self.canvas_size}, "
                f"objects={self.objects}, object_size={self.object_size}, "
                f"train={self.train})")


def detection_collate(batch: Sequence[tuple[Any, dict[str, Any]]]) -> tuple[Any, list[dict]]:
    """[(image (C, H, W), target dict), ...] -> (Tensor (N, C, H, W), [target dict, ...]).

    Targets have different numbers of boxes, so they stay a list of dicts of Tensors, as
    torchvision's detection models take them; the images, all of one size, are stacked."""
    if len(batch) == 0:
        raise ValueError("detection_collate: got an empty batch")
    images = [np.asarray(image.numpy() if hasattr(image, "numpy") else image)
              for image, _ in batch]
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f"detection_collate: images of different shapes {sorted(shapes)}")
    targets = [{key: np.asarray(value.numpy() if hasattr(value, "numpy") else value)
                for key, value in target.items()} for _, target in batch]
    return to_tensors(np.stack(images)), to_tensors(targets)
