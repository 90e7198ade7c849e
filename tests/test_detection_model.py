"""The CenterNet detector: targets, decoding, a tiny training run, predict, model files."""

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import optim
from tinygradcnn.data import ArrayDataset, DetectionCanvas, detection_collate
from tinygradcnn.models import centernet, get_model
from tinygradcnn.models.detection import centernet_heatmap_loss, decode, encode_targets


def _digits_like(count: int = 20) -> ArrayDataset:
    """Blocks of two sizes standing in for digits (class = which size), fast and offline."""
    images = np.zeros((count, 1, 28, 28), np.uint8)
    labels = np.arange(count) % 2
    for i in range(count):
        side = 14 if labels[i] else 24
        images[i, 0, 2:2 + side, 2:2 + side] = 255
    return ArrayDataset(images, labels)


def _batch(count: int = 4, size: int = 32):
    canvases = DetectionCanvas(_digits_like(), canvas_size=size, object_size=(10, 16),
                               objects=(1, 2), length=count, seed=0)
    return detection_collate([canvases[i] for i in range(count)])


def test_encode_targets_puts_a_peak_of_one_on_each_centre():
    targets = [{"boxes": np.array([[8.0, 4.0, 24.0, 20.0]]), "labels": np.array([1])}]
    encoded = encode_targets(targets, num_classes=2, grid=8)
    heat = encoded["heatmap"]
    assert heat.shape == (1, 2, 8, 8) and heat[0, 1, 3, 4] == 1.0 and heat[0, 0].max() == 0
    assert heat[0, 1].sum() > 1  # the Gaussian bump around the centre
    assert encoded["index"].tolist() == [3 * 8 + 4]
    np.testing.assert_allclose(encoded["size"], [[4.0, 4.0]])
    np.testing.assert_allclose(encoded["offset"], [[0.0, 0.0]])


def test_the_heatmap_loss_is_centernets_penalty_reduced_focal_loss():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 4, 4))
    heatmap = rng.uniform(0, 0.9, (2, 3, 4, 4))
    heatmap[0, 1, 2, 2] = heatmap[1, 0, 0, 3] = 1.0
    p = 1 / (1 + np.exp(-logits))
    expected = -np.where(heatmap == 1, (1 - p) ** 2 * np.log(p),
                         (1 - heatmap) ** 4 * p ** 2 * np.log(1 - p)).sum() / 2
    loss = centernet_heatmap_loss(tg.tensor(logits), heatmap, num_objects=2)
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_decode_turns_a_peak_into_its_box():
    heat = np.zeros((2, 8, 8), np.float32)
    heat[1, 3, 5] = 0.9
    heat[1, 3, 6] = 0.5  # beside a higher peak: not a local maximum
    pooled = heat.copy()
    pooled[1, 2:5, 4:7] = 0.9
    size, offset = np.zeros((2, 8, 8), np.float32), np.zeros((2, 8, 8), np.float32)
    size[:, 3, 5] = (4.0, 2.0)
    offset[:, 3, 5] = (0.5, 0.25)
    found = decode(heat, pooled, size, offset, 0.3, 100, (32, 32))
    np.testing.assert_allclose(found["boxes"], [[(5.5 - 2) * 4, (3.25 - 1) * 4,
                                                 (5.5 + 2) * 4, (3.25 + 1) * 4]])
    assert found["labels"].tolist() == [1] and found["scores"].tolist() == [pytest.approx(0.9)]


def test_a_tiny_detector_learns_its_canvases():
    tg.manual_seed(0)
    images, targets = _batch()
    model = centernet(num_classes=2, width=4, depth=1)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    totals = []
    for _ in range(12):
        losses = model(images, targets)
        assert set(losses) == {"loss_heatmap", "loss_size", "loss_offset"}
        loss = losses["loss_heatmap"] + losses["loss_size"] + losses["loss_offset"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        totals.append(loss.item())
    assert totals[-1] < 0.6 * totals[0], totals


def test_predict_returns_torchvision_style_detections():
    tg.manual_seed(1)
    images, _ = _batch(count=3)
    model = centernet(num_classes=2, width=4, depth=1)
    results = model.predict(images, score_threshold=0.0, iou_threshold=None)
    assert model.training  # put back as it was
    assert len(results) == 3
    for result in results:
        assert set(result) == {"boxes", "scores", "labels"}
        boxes, scores = result["boxes"].numpy(), result["scores"].numpy()
        assert boxes.shape == (scores.size, 4) and result["boxes"].dtype == tg.float32
        assert result["labels"].dtype == tg.int64 and 0 < scores.size <= 100
        assert np.all(np.diff(scores) <= 0)
        assert np.all(boxes >= 0) and np.all(boxes <= 32) and np.all(boxes[:, 2:] >= boxes[:, :2])
    after_nms = model.predict(images, score_threshold=0.0, iou_threshold=0.3)
    for pruned, peaks in zip(after_nms, results, strict=True):
        assert len(pruned["scores"]) <= len(peaks["scores"])


def test_the_heads_have_stride_four():
    model = centernet(num_classes=3, width=4, depth=1)
    heads = model(tg.zeros(2, 1, 32, 48))
    assert heads["heatmap"].shape == (2, 3, 8, 12)
    assert heads["size"].shape == heads["offset"].shape == (2, 2, 8, 12)


def test_save_and_load_round_trip(tmp_path):
    tg.manual_seed(2)
    images, targets = _batch(count=2)
    model = get_model("centernet", num_classes=2, width=4, depth=1)
    model(images, targets)  # move the batch norm statistics off their start
    model.eval()
    tg.save_model(model, tmp_path / "detector.npz", input_size=(1, 32, 32))
    loaded = tg.load_model(tmp_path / "detector.npz")
    assert isinstance(loaded, type(model)) and not loaded.training
    ours = model.predict(images, score_threshold=0.0)
    theirs = loaded.predict(images, score_threshold=0.0)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a["boxes"].numpy(), b["boxes"].numpy())
        np.testing.assert_array_equal(a["labels"].numpy(), b["labels"].numpy())


def test_bad_calls_are_one_line_errors():
    model = centernet(num_classes=2, width=4, depth=1)
    images, targets = _batch(count=2)
    with pytest.raises(ValueError, match="1 targets for 2 images"):
        model(images, targets[:1])
    with pytest.raises(ValueError, match="multiples of 4"):
        model(tg.zeros(1, 1, 30, 30))
    with pytest.raises(ValueError, match=r"label 5 is not in \[0, 2\)"):
        model(images, [{"boxes": np.array([[0.0, 0, 8, 8]]), "labels": np.array([5])}] * 2)
    model.eval()
    with pytest.raises(ValueError, match="targets are for training mode"):
        model(images, targets)


def test_the_heads_export_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from tinygradcnn.onnx import export

    model = centernet(num_classes=2, width=4, depth=1)
    model.eval()
    images = tg.rand(2, 1, 32, 32)
    export(model, images, str(tmp_path / "centernet.onnx"))
    session = onnxruntime.InferenceSession(str(tmp_path / "centernet.onnx"))
    assert [output.name for output in session.get_outputs()] == ["heatmap", "size", "offset"]
    expected = model(images)
    for name, value in zip(["heatmap", "size", "offset"],
                           session.run(None, {"input": images.numpy()}), strict=True):
        np.testing.assert_allclose(value, expected[name].numpy(), atol=1e-5)
