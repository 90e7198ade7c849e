"""Box ops: box_iou, nms, batched_nms against torchvision.ops (or a NumPy reference where
torchvision's C ops do not load), sigmoid_focal_loss against torchvision and gradchecked."""

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch, simulated
from hypothesis import given
from hypothesis import strategies as st
from torchvision_models import torchvision_models

import tinygradcnn as tg
from tinygradcnn import ops


def _tvops():
    """torchvision.ops, or None (imported through the helper that skips its C-op stubs)."""
    if torchvision_models() is None:
        return None
    import torchvision.ops

    return torchvision.ops


def random_boxes(seed: int, n: int, dtype=np.float32, span: float = 30.0) -> np.ndarray:
    """n boxes x1, y1, x2, y2 in a span x span square, crowded enough to overlap often."""
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, span, (n, 2))
    size = rng.uniform(1, span / 2, (n, 2))
    return np.concatenate([corner, corner + size], axis=1).astype(dtype)


def reference_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS in float64 NumPy: the oracle where torchvision.ops.nms cannot run."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for index in order:
        box = boxes[index].astype(np.float64)
        suppressed = False
        for other in kept:
            b = boxes[other].astype(np.float64)
            w = max(min(box[2], b[2]) - max(box[0], b[0]), 0.0)
            h = max(min(box[3], b[3]) - max(box[1], b[1]), 0.0)
            union = ((box[2] - box[0]) * (box[3] - box[1]) + (b[2] - b[0]) * (b[3] - b[1])
                     - w * h)
            if w * h / union > threshold:
                suppressed = True
                break
        if not suppressed:
            kept.append(int(index))
    return np.asarray(kept, np.int64)


def _size(device: str, n: int) -> int:
    return min(n, 12) if simulated(device) else n


@pytest.mark.parametrize("device", DEVICES)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 40), m=st.integers(1, 30))
def test_box_iou_matches_torchvision(device, seed, n, m):
    n, m = _size(device, n), _size(device, m)
    boxes1, boxes2 = random_boxes(seed, n), random_boxes(seed + 1, m)
    ours = ops.box_iou(tg.tensor(boxes1, device=device), tg.tensor(boxes2, device=device))
    assert ours.shape == (n, m) and ours.dtype == tg.float32 and ours.device == device
    tvops = _tvops()
    if tvops is None:
        pytest.skip("torchvision is not importable")
    import torch

    expected = tvops.box_iou(torch.from_numpy(boxes1), torch.from_numpy(boxes2)).numpy()
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_box_iou_of_a_worked_example():
    a = tg.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = tg.tensor([[1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0], [0.0, 0.0, 2.0, 2.0]])
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), [[1 / 3, 0.0, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 60),
       threshold=st.sampled_from([0.0, 0.3, 0.5, 0.7]))
def test_nms_matches_greedy_suppression(device, seed, n, threshold):
    n = _size(device, n)
    boxes = random_boxes(seed, n)
    scores = np.random.default_rng(seed + 7).permutation(n).astype(np.float32) / max(n, 1)
    keep = ops.nms(tg.tensor(boxes, device=device), tg.tensor(scores, device=device), threshold)
    assert keep.dtype == tg.int64 and keep.device == device
    np.testing.assert_array_equal(keep.numpy(), reference_nms(boxes, scores, threshold))


@pytest.mark.parametrize("device", DEVICES)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(0, 50), classes=st.integers(1, 4))
def test_batched_nms_suppresses_within_a_class_only(device, seed, n, classes):
    n = _size(device, n)
    boxes = random_boxes(seed, n)
    rng = np.random.default_rng(seed + 3)
    scores = rng.permutation(n).astype(np.float32) / max(n, 1)
    idxs = rng.integers(0, classes, n)
    keep = ops.batched_nms(tg.tensor(boxes, device=device), tg.tensor(scores, device=device),
                           tg.tensor(idxs, device=device), 0.5)
    per_class = np.concatenate([np.flatnonzero(idxs == c)[reference_nms(
        boxes[idxs == c], scores[idxs == c], 0.5)] for c in range(classes)] + [[]])
    expected = per_class[np.argsort(-scores[per_class.astype(np.int64)], kind="stable")]
    np.testing.assert_array_equal(keep.numpy(), expected.astype(np.int64))


def test_nms_keeps_by_descending_score():
    boxes = tg.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20.0, 30.0, 30.0]])
    scores = tg.tensor([0.5, 0.9, 0.7])
    assert ops.nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert ops.nms(boxes, scores, 0.9).tolist() == [1, 2, 0]


def test_nms_on_the_gpu_and_the_cpu_agree_on_many_boxes():
    if "cuda" not in DEVICES:
        pytest.skip("no CUDA device or simulator")
    # over 64 boxes: the GPU's suppression masks span two words
    boxes = random_boxes(5, 70)
    scores = np.random.default_rng(5).permutation(70).astype(np.float32)
    cpu = ops.nms(tg.tensor(boxes), tg.tensor(scores), 0.4).numpy()
    gpu = ops.nms(tg.tensor(boxes, device="cuda"), tg.tensor(scores, device="cuda"), 0.4)
    np.testing.assert_array_equal(gpu.numpy(), cpu)


@pytest.mark.parametrize("call", [
    lambda b: ops.box_iou(b, b), lambda b: ops.nms(b, tg.ones(2), 0.5),
    lambda b: ops.batched_nms(b, tg.ones(2), tg.tensor([0, 1]), 0.5)])
def test_boxes_with_x2_below_x1_are_a_one_line_error(call):
    boxes = tg.tensor([[0.0, 0.0, 2.0, 2.0], [5.0, 1.0, 3.0, 4.0]])
    with pytest.raises(ValueError, match=r"row 1 has x2 < x1 or y2 < y1: \[5.0, 1.0, 3.0, 4.0\]"):
        call(boxes)


def test_box_arguments_are_checked():
    with pytest.raises(ValueError, match=r"nms: boxes must be \(N, 4\)"):
        ops.nms(tg.zeros(3, 5), tg.zeros(3), 0.5)
    with pytest.raises(ValueError, match="nms: scores"):
        ops.nms(tg.zeros(3, 4), tg.zeros(2), 0.5)
    with pytest.raises(TypeError, match="batched_nms: idxs must be an integer tensor"):
        ops.batched_nms(tg.zeros(3, 4), tg.zeros(3), tg.zeros(3), 0.5)
    with pytest.raises(ValueError, match="sigmoid_focal_loss: reduction"):
        ops.sigmoid_focal_loss(tg.zeros(3), tg.zeros(3), reduction="avg")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction, alpha, gamma", [
    ("none", 0.25, 2.0), ("mean", 0.25, 2.0), ("sum", -1.0, 1.5), ("none", 0.5, 0.0)])
def test_sigmoid_focal_loss_matches_torchvision(device, reduction, alpha, gamma):
    tvops = _tvops()
    if tvops is None:
        pytest.skip("torchvision is not importable")
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((3, 5)) * 3
    targets = (rng.uniform(size=(3, 5)) > 0.6).astype(np.float32)

    def ours(x):
        return ops.sigmoid_focal_loss(x, tg.tensor(targets, device=device), alpha, gamma,
                                      reduction)

    def theirs(x):
        import torch

        return tvops.sigmoid_focal_loss(x, torch.from_numpy(targets), alpha, gamma, reduction)

    compare_with_torch(ours, theirs, inputs, device=device)


@given(seed=st.integers(0, 2**31 - 1), gamma=st.sampled_from([0.0, 1.0, 2.0, 2.5]))
def test_sigmoid_focal_loss_gradcheck(seed, gamma):
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((2, 4)) * 2
    targets = rng.uniform(size=(2, 4))  # soft targets, as a Gaussian heat map gives
    check_gradients(lambda x: ops.sigmoid_focal_loss(x, tg.tensor(targets), gamma=gamma,
                                                     reduction="sum"), inputs)
