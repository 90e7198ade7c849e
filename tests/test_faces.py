"""The faces application: the Olivetti loader and split, the verification metrics against
scikit-learn, the FaceVerifier, and a quick run of `python -m tinygradcnn faces`.

Needs olivetti-faces/olivettifaces.mat under TINYGRADCNN_DATA (or ../shared/data beside the
checkout); the tests that read it skip without it."""

import json
import os
import shutil

import numpy as np
import pytest

from tinygradcnn import data, nn
from tinygradcnn.__main__ import main
from tinygradcnn.apps import FaceVerifier
from tinygradcnn.apps.face_training import downsample
from tinygradcnn.apps.face_verification import choose_threshold, pair_scores
from tinygradcnn.data.faces import FILENAME, FOLDER
from tinygradcnn.models.faces import l2_normalize
from tinygradcnn.tensor import Tensor
from tinygradcnn.train.metrics import equal_error_rate, roc_auc_score, roc_curve


@pytest.fixture(scope="module")
def faces(olivetti_root):
    return data.OlivettiFaces(olivetti_root, download=False)


# --------------------------------------------------------------------------- the loader


def test_olivetti_faces_are_400_grey_64x64_images_of_40_people(faces):
    images, labels = faces[np.arange(len(faces))]
    assert len(faces) == 400 and faces.image_shape == (1, 64, 64)
    assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(labels, np.arange(400) // 10)
    assert faces.num_classes == 40
    # upright, not transposed: the lit foreheads (top rows) are brighter than the shadowed
    # chins (bottom rows) and than the dark background at the sides (left columns)
    top, bottom = images[:, 0, :10].mean(), images[:, 0, -10:].mean()
    assert top > bottom + 0.1 and top > images[..., :10].mean() + 0.05


def test_a_corrupted_copy_is_refused(olivetti_root, tmp_path):
    copy = tmp_path / FILENAME
    shutil.copy(os.path.join(olivetti_root, FOLDER, FILENAME), copy)
    raw = bytearray(copy.read_bytes())
    raw[5000] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(data.ChecksumError, match="SHA-256 checksum mismatch"):
        data.OlivettiFaces(tmp_path, download=False)


def test_a_flat_folder_and_the_environment_variable_are_read(olivetti_root, tmp_path, monkeypatch):
    shutil.copy(os.path.join(olivetti_root, FOLDER, FILENAME), tmp_path / FILENAME)
    assert len(data.OlivettiFaces(tmp_path, download=False)) == 400
    monkeypatch.setenv("TINYGRADCNN_DATA", str(tmp_path))
    assert len(data.OlivettiFaces(download=False)) == 400


def test_a_missing_file_without_download_names_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="olivettifaces.mat not found"):
        data.OlivettiFaces(tmp_path, download=False)


def test_the_split_gives_each_person_five_train_and_five_test_images():
    labels = np.arange(400) // 10
    train, test = data.olivetti_split(labels, seed=0)
    assert np.intersect1d(train, test).size == 0 and train.size == test.size == 200
    np.testing.assert_array_equal(np.bincount(labels[train]), np.full(40, 5))
    np.testing.assert_array_equal(np.bincount(labels[test]), np.full(40, 5))
    again, _ = data.olivetti_split(labels, seed=0)
    other, _ = data.olivetti_split(labels, seed=1)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)
    with pytest.raises(ValueError, match="train_per_person must be in 1..9"):
        data.olivetti_split(labels, train_per_person=10)


# --------------------------------------------------------------------------- the metrics


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop_intermediate", [False, True])
def test_roc_curve_and_auc_match_scikit_learn(ties, drop_intermediate):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = rng.normal(size=500) + 1.2 * labels
    if ties:
        scores = np.round(scores, 1)
    ours = roc_curve(labels, scores, drop_intermediate=drop_intermediate)
    theirs = metrics.roc_curve(labels, scores, drop_intermediate=drop_intermediate)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference)
    assert roc_auc_score(labels, scores) == pytest.approx(metrics.roc_auc_score(labels, scores),
                                                          abs=1e-12)


def test_equal_error_rate_is_where_false_accepts_equal_false_rejects():
    # genuine 0.9, 0.8, 0.3; impostor 0.7, 0.2, 0.1: one error of three on each side
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1])
    eer, threshold = equal_error_rate(labels, scores)
    assert eer == pytest.approx(1 / 3)
    accepted = scores >= threshold
    assert np.mean(accepted[labels == 0]) == pytest.approx(1 / 3)
    assert np.mean(~accepted[labels == 1]) == pytest.approx(1 / 3)
    assert equal_error_rate([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])[0] == 0.0
    # the ROC curve itself, interpolated: crossing between FPR 0 and 0.5 on a 2 x 2 set
    assert equal_error_rate([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])[0] == pytest.approx(0.5)


def test_metrics_refuse_a_single_class_and_mismatched_shapes():
    with pytest.raises(ValueError, match="roc_curve: needs both positive and negative"):
        roc_curve([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"roc_auc_score: labels of shape \(3,\) and scores "
                                         r"of shape \(2,\) differ"):
        roc_auc_score([1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        equal_error_rate([2, 0, 1], [0.1, 0.2, 0.3])


# --------------------------------------------------------------------------- verification


class _PixelEmbedder(nn.Module):
    """The flattened, normalised image as its own embedding."""

    def forward(self, x):
        return l2_normalize(x.reshape(x.shape[0], -1))


def test_pair_scores_cover_every_pair_once():
    embeddings = np.eye(4)[[0, 0, 1, 2]]
    same, scores = pair_scores(embeddings, np.array([5, 5, 6, 7]))
    np.testing.assert_array_equal(same, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(scores, [1, 0, 0, 0, 0, 0])


def test_face_verifier_accepts_the_enrolled_and_rejects_a_stranger():
    rng = np.random.default_rng(0)
    alice, bob, stranger = (rng.random((8, 8)) < 0.5 for _ in range(3))
    verifier = FaceVerifier(_PixelEmbedder(), threshold=0.9)
    verifier.enroll("alice", np.stack([alice, alice])[:, None].astype(np.float32))
    verifier.enroll("bob", bob.astype(np.float32))
    name, score = verifier.verify(alice.astype(np.float32))
    assert name == "alice" and score == pytest.approx(1.0, abs=1e-5)
    assert verifier.verify(bob[None].astype(np.float32))[0] == "bob"
    name, score = verifier.verify(stranger.astype(np.float32))
    assert name is None and score < 0.9
    with pytest.raises(ValueError, match="expected one image, got 2"):
        verifier.verify(np.stack([alice, bob]).astype(np.float32))


def test_face_verifier_needs_someone_enrolled():
    with pytest.raises(ValueError, match="nobody is enrolled"):
        FaceVerifier(_PixelEmbedder(), 0.5).verify(np.zeros((8, 8), np.float32))


def test_the_threshold_separates_training_people_at_their_equal_error_rate():
    embeddings = l2_normalize(Tensor(np.random.default_rng(1).normal(size=(12, 4)))).numpy()
    labels = np.arange(12) // 3
    threshold = choose_threshold(embeddings, labels)
    same, scores = pair_scores(embeddings, labels)
    assert threshold == equal_error_rate(same, scores)[1]


def test_downsample_averages_blocks():
    images = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(downsample(images, 2)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError, match="not a multiple of factor 3"):
        downsample(images, 3)


# --------------------------------------------------------------------------- the command


def test_faces_quick_trains_both_networks_and_writes_its_pictures(olivetti_root, tmp_path, capsys):
    assert main(["faces", "--quick", "--data-dir", olivetti_root, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "recognition test accuracy" in printed and "verification EER" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    assert 0.0 <= results["recognition_test_accuracy"] <= 1.0
    # two epochs of a tiny embedder already rank unseen people's pairs better than chance
    assert results["verification_auc"] > 0.6
    assert results["pairs"] == 45 * 100 + 450
    for name in ("recognizer0.npz", "embedder.npz", "misclassified.png", "roc.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_faces_refuses_bad_epochs_and_a_missing_data_folder(tmp_path, capsys):
    assert main(["faces", "--epochs", "0", "--data-dir", str(tmp_path)]) == 2
    assert "faces: --epochs must be at least 1, got 0" in capsys.readouterr().err
    assert main(["faces", "--quick", "--data-dir", str(tmp_path / "none")]) == 2
    assert "faces: cannot read the Olivetti faces" in capsys.readouterr().err
