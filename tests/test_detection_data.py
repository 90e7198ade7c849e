"""DetectionCanvas and detection_collate: the canvases, their targets and the errors."""

import os

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn.data import ArrayDataset, DataLoader, DetectionCanvas, detection_collate
from tinygradcnn.data.detection import box_iou_numpy

HAVE_MNIST = os.path.isdir(os.environ.get("TINYGRADCNN_DATA", "/nonexistent"))


def _blocks(count: int = 20) -> ArrayDataset:
    """28x28 images holding one bright square each, label = its side: boxes are known."""
    images = np.zeros((count, 1, 28, 28), np.uint8)
    labels = np.arange(count) % 10
    for i in range(count):
        side = 8 + labels[i]
        images[i, 0, 4:4 + side, 6:6 + side] = 255
    return ArrayDataset(images, labels)


def test_items_have_torchvision_detection_targets():
    canvases = DetectionCanvas(_blocks(), canvas_size=64, length=30, seed=1)
    for index in range(len(canvases)):
        image, target = canvases[index]
        assert image.shape == (1, 64, 64) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
        boxes, labels = target["boxes"], target["labels"]
        assert boxes.dtype == np.float32 and labels.dtype == np.int64
        assert 1 <= boxes.shape[0] <= 4 and boxes.shape == (labels.shape[0], 4)
        assert np.all(boxes[:, :2] >= 0) and np.all(boxes[:, 2:] <= 64)
        assert np.all(boxes[:, 2:] > boxes[:, :2])
        for k in range(1, len(boxes)):
            assert np.all(box_iou_numpy(boxes[k], boxes[:k]) < 0.25)


def test_boxes_are_tight_around_the_object_pixels():
    canvases = DetectionCanvas(_blocks(), objects=1, object_size=28, length=10)
    for index in range(len(canvases)):
        image, target = canvases[index]
        rows = np.flatnonzero(image[0].any(axis=1))
        cols = np.flatnonzero(image[0].any(axis=0))
        x1, y1, x2, y2 = target["boxes"][0]
        assert (x1, y1, x2, y2) == (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        # the square of the block with label L has side 8 + L at full size
        assert x2 - x1 == 8 + target["labels"][0]


def test_canvases_are_deterministic_per_seed_and_index():
    first = DetectionCanvas(_blocks(), length=5, seed=3)
    again = DetectionCanvas(_blocks(), length=5, seed=3)
    other = DetectionCanvas(_blocks(), length=5, seed=4)
    for index in range(5):
        np.testing.assert_array_equal(first[index][0], again[index][0])
        np.testing.assert_array_equal(first[index][1]["boxes"], again[index][1]["boxes"])
    assert any(not np.array_equal(first[i][0], other[i][0]) for i in range(5))


def test_the_loader_batches_variable_length_targets():
    canvases = DetectionCanvas(_blocks(), canvas_size=32, object_size=(8, 14), length=6)
    loader = DataLoader(canvases, batch_size=4, collate_fn=detection_collate)
    images, targets = next(iter(loader))
    assert isinstance(images, tg.Tensor) and images.shape == (4, 1, 32, 32)
    assert isinstance(targets, list) and len(targets) == 4
    for index, target in enumerate(targets):
        assert target["boxes"].dtype == tg.float32 and target["labels"].dtype == tg.int64
        np.testing.assert_array_equal(target["boxes"].numpy(), canvases[index][1]["boxes"])


@pytest.mark.parametrize("kwargs, message", [
    ({"canvas_size": 20}, "canvas_size=20 is smaller than the largest object_size=28"),
    ({"objects": (3, 2)}, "objects=(3, 2) is not a range"),
    ({"objects": (8, 8), "canvas_size": 28, "object_size": 28}, "could not place"),
    ({"max_iou": 0.0}, "max_iou must be in (0, 1]"),
])
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match="^DetectionCanvas: ") as info:
        DetectionCanvas(_blocks(), length=3, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_source_is_an_error():
    with pytest.raises(ValueError, match="unknown source 'cifar'"):
        DetectionCanvas("cifar")


@pytest.mark.skipif(not HAVE_MNIST, reason="needs $TINYGRADCNN_DATA with MNIST")
def test_test_canvases_come_from_the_test_split():
    test = DetectionCanvas("mnist", train=False, length=4)
    assert test.source.train is False and len(test.source) == 10_000
    image, target = test[0]
    assert image.shape == (1, 64, 64) and target["labels"].max() <= 9
