"""mean_average_precision against pycocotools' COCOeval (built in memory), to 1e-6."""

import contextlib
import io

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn.train import mean_average_precision

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools is the COCO oracle")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def coco_reference(predictions, targets, classes) -> np.ndarray:
    """COCOeval's stats[0:3] (AP@[.5:.95], AP@.5, AP@.75), its precision array (T, R, K, A,
    M) and recall (T, K, A, M) for torchvision-style dicts (x1, y1, x2, y2)."""
    images, annotations = [], []
    for image_id, target in enumerate(targets):
        images.append({"id": image_id, "width": 100, "height": 100})
        for box, label in zip(np.asarray(target["boxes"]).tolist(),
                              np.asarray(target["labels"]).tolist(), strict=True):
            x1, y1, x2, y2 = box
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(label), "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    results = []
    for image_id, found in enumerate(predictions):
        for box, score, label in zip(np.asarray(found["boxes"]).tolist(),
                                     np.asarray(found["scores"]).tolist(),
                                     np.asarray(found["labels"]).tolist(), strict=True):
            x1, y1, x2, y2 = box
            results.append({"image_id": image_id, "category_id": int(label),
                             "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {"images": images, "annotations": annotations,
                         "categories": [{"id": int(c)} for c in classes]}
        truth.createIndex()
        found = truth.loadRes(results) if results else COCO()
        if not results:
            found.dataset = {"images": images, "annotations": [], "categories":
                             truth.dataset["categories"]}
            found.createIndex()
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats[:3], evaluation.eval["precision"], evaluation.eval["recall"]


def random_case(seed: int, images: int = 8, classes: int = 3, empty_images: int = 0):
    """Ground truth boxes and noisy detections of them plus clutter, as arrays."""
    rng = np.random.default_rng(seed)
    predictions, targets = [], []
    for image in range(images):
        count = 0 if image < empty_images else int(rng.integers(1, 6))
        corner = rng.uniform(0, 60, (count, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(4, 30, (count, 2))], axis=1)
        labels = rng.integers(0, classes, count)
        # detections: jittered copies (some missed, some twice) and random clutter
        copies = rng.integers(0, 3, count)
        found = np.repeat(boxes, copies, axis=0) + rng.normal(0, 2.5, (copies.sum(), 4))
        found[:, 2:] = np.maximum(found[:, 2:], found[:, :2] + 0.5)
        found_labels = np.repeat(labels, copies)
        clutter = int(rng.integers(0, 4))
        corner = rng.uniform(0, 60, (clutter, 2))
        found = np.concatenate([found, np.concatenate(
            [corner, corner + rng.uniform(4, 30, (clutter, 2))], axis=1)])
        found_labels = np.concatenate([found_labels, rng.integers(0, classes, clutter)])
        targets.append({"boxes": boxes.astype(np.float32), "labels": labels})
        predictions.append({"boxes": found.astype(np.float32),
                            "scores": rng.uniform(size=len(found)).astype(np.float32),
                            "labels": found_labels})
    return predictions, targets


def assert_matches_coco(predictions, targets, classes):
    ours = mean_average_precision(predictions, targets)
    (ap, ap50, ap75), precision, recall = coco_reference(predictions, targets, classes)
    np.testing.assert_allclose([ours["map"], ours["map_50"], ours["map_75"]],
                               [ap, ap50, ap75], atol=1e-6)
    # COCO's precision (T, R, K, area, maxDets): area "all", maxDets 100, the classes in order
    coco_classes = list(classes)
    columns = [coco_classes.index(c) for c in ours["classes"] if c in coco_classes]
    np.testing.assert_allclose(ours["precision"][..., :len(columns)],
                               precision[:, :, columns, 0, 2], atol=1e-6)
    np.testing.assert_allclose(ours["recall"][:, :len(columns)], recall[:, columns, 0, 2],
                               atol=1e-6)
    return ours


@pytest.mark.parametrize("seed", range(6))
def test_map_matches_cocoeval_on_random_boxes(seed):
    predictions, targets = random_case(seed, images=6 + seed, classes=1 + seed % 4)
    ours = assert_matches_coco(predictions, targets, range(1 + seed % 4))
    assert 0.0 < ours["map"] < 1.0


def test_map_matches_cocoeval_with_images_without_targets():
    predictions, targets = random_case(11, images=8, classes=3, empty_images=3)
    assert all(len(t["labels"]) == 0 for t in targets[:3])
    assert_matches_coco(predictions, targets, range(3))


def test_a_class_without_predictions_has_ap_zero_and_without_targets_minus_one():
    predictions, targets = random_case(4, images=6, classes=2)
    for found in predictions:  # no detection of class 1 at all, but detections of class 7
        keep = found["labels"] != 1
        found["boxes"], found["scores"] = found["boxes"][keep], found["scores"][keep]
        found["labels"] = np.where(found["labels"][keep] == 0, 0, 7)
    predictions[0]["labels"][:] = 7
    ours = assert_matches_coco(predictions, targets, [0, 1])
    assert ours["map_per_class"][1] == 0.0 and ours["map_per_class"][7] == -1.0


def test_perfect_detections_score_one_and_none_score_zero():
    targets = [{"boxes": tg.tensor([[1.0, 2.0, 11.0, 12.0]]), "labels": tg.tensor([3])}]
    perfect = [{"boxes": tg.tensor([[1.0, 2.0, 11.0, 12.0]]), "scores": tg.tensor([0.9]),
                "labels": tg.tensor([3])}]
    result = mean_average_precision(perfect, targets)
    assert result["map"] == pytest.approx(1.0) and result["map_per_class"][3] == pytest.approx(1.0)
    nothing = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)}]
    assert mean_average_precision(nothing, targets)["map"] == 0.0


def test_the_precision_recall_curves_have_coco_shapes():
    predictions, targets = random_case(2, images=5, classes=2)
    result = mean_average_precision(predictions, targets, iou_thresholds=[0.5, 0.75])
    assert result["precision"].shape == (2, 101, 2) and result["recall"].shape == (2, 2)
    assert result["map_50"] >= result["map_75"] and result["map"] == pytest.approx(
        (result["map_50"] + result["map_75"]) / 2)


def test_mismatched_inputs_are_one_line_errors():
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        mean_average_precision([{}, {}], [{}])
    with pytest.raises(ValueError, match=r"predictions\[0\] has no scores"):
        mean_average_precision([{"boxes": np.zeros((0, 4)), "labels": []}],
                               [{"boxes": np.zeros((0, 4)), "labels": []}])
