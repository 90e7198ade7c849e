"""Sequences: the `.ts` parser, the UCR/UEA loader, adaptive_avg_pool1d, the FCN and its class
activation map, a few training steps on GunPoint and the `sequence` command.

The archives are read from aeon's wheel (installed with --no-deps, never imported); the tests
that need them skip without it."""

import json
import os

import numpy as np
import pytest
import torch
from conftest import DEVICES
from helpers import check_gradients, compare_with_torch

import tinygradcnn as tg
from tinygradcnn import nn, optim
from tinygradcnn.__main__ import main
from tinygradcnn.data import UCRDataset, parse_ts
from tinygradcnn.data.ucr import aeon_data_dir, pad_series
from tinygradcnn.nn import functional as F
from tinygradcnn.tensor import Tensor

TINY_UNIVARIATE = """\
# a comment line
@problemName Tiny
@timeStamps false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true a b
@data
1.0,2.0,3.0,4.0:b
-1,-2,-3,-4:a
0.5,?,0.5,0.5:b
"""

TINY_MULTIVARIATE = """\
@problemName TinyVowels
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2 3
@data
1,2,3:4,5,6:3
7,8:9,10:1
"""


def needs_aeon():
    if aeon_data_dir() is None or not os.path.isdir(aeon_data_dir()):
        pytest.skip("aeon's data files are not installed (pip install --no-deps aeon==1.6.0)")


# --------------------------------------------------------------------------- the .ts format


def test_parse_ts_reads_header_values_labels_and_missing_values():
    series, labels, header = parse_ts(TINY_UNIVARIATE.splitlines())
    assert header["problemname"] == "Tiny" and header["classlabel"] == "true a b"
    assert labels == ["b", "a", "b"]
    assert [s.shape for s in series] == [(1, 4)] * 3 and series[0].dtype == np.float32
    np.testing.assert_array_equal(series[1][0], [-1, -2, -3, -4])
    assert np.isnan(series[2][0, 1])


def test_parse_ts_multivariate_unequal_lengths_and_repeat_last_padding():
    series, labels, header = parse_ts(TINY_MULTIVARIATE.splitlines())
    assert [s.shape for s in series] == [(2, 3), (2, 2)] and labels == ["3", "1"]
    padded = pad_series(series)
    assert padded.shape == (2, 2, 3)
    # the short series repeats its last value, per dimension
    np.testing.assert_array_equal(padded[1], [[7, 8, 8], [9, 10, 10]])
    np.testing.assert_array_equal(pad_series(series, length=2)[0], [[1, 2], [4, 5]])


@pytest.mark.parametrize("text, message", [
    ("@problemName X\n1,2:a\n", "neither a @ header line"),
    ("@problemName X\n", "no @data line"),
    ("@data\n1,2,3:4,5:a\n", "different lengths"),
    ("@data\n1,x,3:a\n", "line 2"),
    ("@classLabel false\n@data\n1,2:0.5\n", "not a classification problem"),
])
def test_parse_ts_errors_name_the_line_and_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_ts(text.splitlines())


def test_a_local_folder_and_the_environment_variable_are_read(tmp_path, monkeypatch):
    folder = tmp_path / "Tiny"
    folder.mkdir()
    (folder / "Tiny_TRAIN.ts").write_text(TINY_UNIVARIATE)
    (folder / "Tiny_TEST.ts").write_text(TINY_UNIVARIATE)
    train = UCRDataset("Tiny", root=tmp_path)
    assert train.series.shape == (3, 1, 4) and train.classes == ["a", "b"]
    np.testing.assert_array_equal(train.labels, [1, 0, 1])
    x, y = train[np.array([0, 1])]
    assert x.shape == (2, 1, 4) and y.dtype == np.int64
    monkeypatch.setenv("TINYGRADCNN_DATA", str(tmp_path))
    assert len(UCRDataset("Tiny", train=False)) == 3
    with pytest.raises(FileNotFoundError, match=r"no Missing_TRAIN.ts in .*found: .*Tiny"):
        UCRDataset("Missing", root=tmp_path)


def test_the_archives_in_aeons_wheel_load_with_their_shapes():
    needs_aeon()
    gunpoint = UCRDataset("GunPoint")
    assert gunpoint.series.shape == (50, 1, 150) and gunpoint.num_classes == 2
    assert gunpoint.series.dtype == np.float32 and gunpoint.labels.dtype == np.int64
    assert len(UCRDataset("GunPoint", train=False)) == 150
    vowels = UCRDataset("JapaneseVowels")
    assert vowels.series.shape == (270, 12, 26) and vowels.num_classes == 9
    assert vowels.lengths.min() == 7 and vowels.lengths.max() == 26
    np.testing.assert_array_equal(np.bincount(vowels.labels), np.full(9, 30))


# --------------------------------------------------------------------------- the ops, the FCN


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("output_size", [1, 3])
def test_adaptive_avg_pool1d_matches_torch_and_passes_gradcheck(device, output_size):
    x = np.random.default_rng(0).normal(size=(2, 3, 7)).astype(np.float32)
    compare_with_torch(lambda t: F.adaptive_avg_pool1d(t, output_size),
                       lambda t: torch.nn.functional.adaptive_avg_pool1d(t, output_size), x,
                       device=device)
    check_gradients(lambda t: F.adaptive_avg_pool1d(t, output_size), x, device=device)
    assert nn.AdaptiveAvgPool1d(output_size)(Tensor(x[0])).shape == (3, output_size)
    with pytest.raises(ValueError, match="adaptive_avg_pool1d: input"):
        F.adaptive_avg_pool1d(Tensor(x[None]), 1)


def test_fcn_keeps_the_length_and_its_cam_averages_to_the_logits():
    tg.manual_seed(0)
    model = tg.models.get_model("fcn1d", in_channels=3, num_classes=4, widths=(8, 16, 8))
    model.eval()
    x = Tensor(np.random.default_rng(1).normal(size=(2, 3, 17)).astype(np.float32))
    logits = model(x).numpy()
    assert logits.shape == (2, 4) and model.features(x).shape == (2, 8, 17)
    cams = model.cam(x).numpy()
    assert cams.shape == (2, 4, 17)
    np.testing.assert_allclose(cams.mean(axis=2) + model.fc.bias.numpy(), logits, atol=1e-5)
    np.testing.assert_allclose(model.cam(x, [3, 0]).numpy(), cams[[0, 1], [3, 0]])


def test_a_tiny_fcn_learns_gunpoint_in_a_few_steps():
    needs_aeon()
    from tinygradcnn.apps.sequence import load_archive

    train, _ = load_archive("GunPoint")
    tg.manual_seed(0)
    model = tg.models.get_model("fcn1d", in_channels=1, num_classes=2, widths=(8, 16, 8))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    x, y = Tensor(train.series), Tensor(train.labels)
    loss_fn = nn.CrossEntropyLoss()
    losses, correct = [], []
    for _ in range(20):
        output = model(x)
        loss = loss_fn(output, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        correct.append(np.mean(output.numpy().argmax(axis=1) == train.labels))
    # from chance (a loss of ln 2, half right) to most of the training set right
    assert losses[0] > 0.65 and losses[-1] < 0.8 * losses[0] and correct[-1] >= 0.7


# --------------------------------------------------------------------------- the command


def test_sequence_command_quick_run_writes_results_pictures_and_model(tmp_path, capsys):
    needs_aeon()
    assert main(["sequence", "--dataset", "GunPoint", "--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "test error" in printed and "the published FCN  0.000" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    assert 0.0 <= results["test_error"] <= 1.0 and results["epochs"] == 2
    model_line = [line for line in printed.splitlines() if line.startswith("model file: ")]
    model = tg.load_model(model_line[0].removeprefix("model file: "))
    assert isinstance(model, tg.models.FCN1d) and model._input_size == (1, 150)
    for picture in ("cam.png", "training.png"):
        assert (tmp_path / picture).stat().st_size > 0


def test_sequence_command_refuses_an_unknown_dataset_listing_the_known(capsys):
    assert main(["sequence", "--dataset", "NoSuchArchive"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("sequence: unknown dataset 'NoSuchArchive'; choose one of ")
    assert "GunPoint" in error and "JapaneseVowels" in error and "\n" not in error
