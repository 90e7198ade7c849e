"""Face detection in the faces command: the LFW split, the sliding-window
detector on a synthetic picture, scikit-image's cascade on the astronaut, and the quick
command's detection line, picture and model file.

Needs scikit-image (the `faces` extra); the tests skip without it."""

import json
import sys

import numpy as np
import pytest

pytest.importorskip("skimage")

import tinygradcnn as tg  # noqa: E402
from tinygradcnn import nn  # noqa: E402
from tinygradcnn.__main__ import main  # noqa: E402
from tinygradcnn.apps import face_detection  # noqa: E402
from tinygradcnn.apps.face_detection import (  # noqa: E402
    boxes_iou,
    cascade_faces,
    detect_faces,
    grey,
    lfw_face_patches,
)


def test_lfw_split_holds_out_a_quarter_of_each_class_and_only_lfw_images():
    extra = np.full((3, 64, 64), 0.5, dtype=np.float32)
    data = lfw_face_patches(extra_negatives=10, extra_faces=extra, seed=0)
    assert data["test_images"].shape == (50, 1, 25, 25)
    np.testing.assert_array_equal(np.bincount(data["test_labels"]), [25, 25])
    # 75 + 75 LFW, 10 background patches (non-faces), 3 extra faces
    assert data["train_images"].shape == (163, 1, 25, 25)
    np.testing.assert_array_equal(np.bincount(data["train_labels"]), [85, 78])
    np.testing.assert_allclose(data["train_images"][-1], 0.5, atol=1e-6)
    train_rows = {row.tobytes() for row in data["train_images"][:150]}
    assert not any(row.tobytes() in train_rows for row in data["test_images"])


class _BrightCentre(nn.Module):
    """Face logits that grow with the brightness of the patch's centre minus its border."""

    def forward(self, x):
        pixels = x.numpy()
        centre = pixels[:, :, 8:17, 8:17].mean(axis=(1, 2, 3))
        contrast = 3 * (centre - pixels.mean(axis=(1, 2, 3)))  # unsaturated: one best window
        return tg.tensor(np.stack([-contrast, contrast], axis=1))


def test_the_sliding_window_finds_a_bright_square_at_its_size():
    image = np.zeros((200, 200), dtype=np.float32)
    image[60:96, 100:136] = 1.0  # a 36-pixel "face": the centre third of an ~100 px window
    boxes, scores, heat_maps = detect_faces(_BrightCentre(), image, min_size=60,
                                            max_size=150, score_threshold=0.5)
    assert len(boxes) >= 1 and scores[0] == scores.max()
    # the best window is centred on the square (within a window step) and NMS left no
    # other window overlapping it
    centre = (boxes[0, :2] + boxes[0, 2:]) / 2
    assert np.all(np.abs(centre - [118, 78]) <= 10), boxes[0]
    assert np.all(boxes_iou(boxes[:1], boxes[1:]) <= 0.2)
    assert [size for size, _ in heat_maps][:2] == [60.0, 75.0]


def test_grey_and_the_cascade_on_the_astronaut():
    import skimage.data

    astronaut = skimage.data.astronaut()
    image = grey(astronaut)
    assert image.shape == (512, 512) and image.dtype == np.float32 and image.max() <= 1.0
    found = cascade_faces(astronaut, min_size=60, max_size=123)
    # the scikit-image gallery's one face, at the astronaut's face
    assert found.shape == (1, 4)
    assert boxes_iou(found, [[177, 69, 267, 159]])[0, 0] > 0.8


def test_faces_quick_prints_the_detection_line_and_writes_the_detector(olivetti_root, tmp_path,
                                                                       capsys):
    assert main(["faces", "--quick", "--data-dir", olivetti_root, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    line = next(row for row in printed.splitlines() if row.startswith("detection"))
    assert "held-out accuracy" in line and "IoU vs the LBP cascade" in line
    results = json.loads((tmp_path / "results.json").read_text())
    assert 0.0 <= results["detection_held_out_accuracy"] <= 1.0
    assert len(results["cascade_boxes"]) == 1
    assert (tmp_path / "detections.png").stat().st_size > 0
    detector = tg.load_model(tmp_path / "detector.npz")
    assert isinstance(detector, tg.models.FaceDetectorCNN) and detector._input_size == (1, 25, 25)
    recognizer = tg.load_model(tmp_path / "recognizer0.npz")
    assert isinstance(recognizer, tg.models.FaceCNN) and recognizer._input_size == (1, 16, 16)


def test_without_scikit_image_detection_says_how_to_install_it(capsys, monkeypatch):
    from tinygradcnn.apps.faces import SETTINGS, _detection

    # an import of a module set to None in sys.modules raises ImportError, as if missing
    for module in ("skimage", "skimage.data", "skimage.feature", "skimage.transform"):
        monkeypatch.setitem(sys.modules, module, None)
    faces = tg.data.ArrayDataset(np.zeros((2, 1, 64, 64), np.float32), np.array([0, 1]))
    detection, line = _detection(faces, SETTINGS["quick"], seed=0)
    assert detection is None and line.startswith("skipped: face detection needs scikit-image")
    error = capsys.readouterr().err
    assert error.startswith("faces: detection skipped") and "tinygradcnn[faces]" in error
    with pytest.raises(ImportError, match=r"pip install 'tinygradcnn\[faces\]'"):
        face_detection.lfw_face_patches()
