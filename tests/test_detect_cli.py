"""`python -m tinygradcnn detect`: the --quick smoke run, its outputs, bad options; the full
run on real MNIST canvases behind `-m slow`."""

import json

import pytest

import tinygradcnn as tg
from tinygradcnn.__main__ import main


def test_quick_run_prints_the_table_and_writes_the_model(mnist_root, tmp_path, capsys):
    out = tmp_path / "detect"
    assert main(["detect", "--quick", "--data-dir", mnist_root, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for heading in ("AP@[.5:.95]", "AP@.5 ", "AP@.75", "AP per class"):
        assert heading in printed
    model_line = [line for line in printed.splitlines() if line.startswith("model file: ")]
    assert model_line == [f"model file: {out / 'detector.npz'}"]
    for name in ("detector.npz", "results.json", "detections.png", "precision_recall.png"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    assert 0.0 <= results["map"] <= 1.0 and results["data"] == "mnist"
    detector = tg.load_model(out / "detector.npz")
    found = detector.predict(tg.zeros(1, 1, 64, 64))
    assert set(found[0]) == {"boxes", "scores", "labels"}


def test_bad_options_are_one_line_errors(mnist_root, tmp_path, capsys):
    assert main(["detect", "--quick", "--data-dir", mnist_root, "--epochs", "0",
                 "--out", str(tmp_path)]) == 2
    assert "detect: --epochs must be positive, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["detect", "--data", "cifar10"])


@pytest.mark.full
def test_the_full_run_reaches_the_targets(mnist_root, tmp_path, capsys):
    assert main(["detect", "--data-dir", mnist_root, "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    print(capsys.readouterr().out)
    assert results["map_50"] >= 0.95 and results["map"] >= 0.70, results
