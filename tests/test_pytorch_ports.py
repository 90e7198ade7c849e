"""The two ported PyTorch programs (examples/pytorch_ports/) run unchanged for a few batches.

Each runs as written, on the real data files, with its data set cut to its first items (the
data-set class is swapped for one that returns a `Subset`), so a run takes seconds; the full
runs and their accuracy are the documented commands in the ports' headers.
"""

import importlib.util
import os
import runpy
import sys

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import data
from tinygradcnn.data import datasets

PORTS = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "pytorch_ports")
DATA = os.environ.get("TINYGRADCNN_DATA", "")

pytestmark = pytest.mark.skipif(
    not (os.path.isdir(os.path.join(DATA, "mnist"))
         and os.path.isdir(os.path.join(DATA, "fashion-mnist"))),
    reason="needs MNIST and Fashion-MNIST in $TINYGRADCNN_DATA")


def _first_items(dataset_class, n_train, n_test):
    """A stand-in for `dataset_class` that keeps the first items of the real data set."""

    def make(*args, **kwargs):
        full = dataset_class(*args, **kwargs)
        return data.Subset(full, np.arange(n_train if full.train else n_test))

    return make


def test_mnist_main_trains_tests_and_saves_a_state_dict(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("mnist_main",
                                                  os.path.join(PORTS, "mnist_main.py"))
    mnist_main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mnist_main)
    monkeypatch.setattr(mnist_main.datasets, "MNIST", _first_items(datasets.MNIST, 80, 120))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["mnist_main.py", "--no-cuda", "--epochs", "2",
                                      "--log-interval", "1", "--test-batch-size", "100",
                                      "--save-model"])
    mnist_main.main()
    out = capsys.readouterr().out
    # batch_idx * len(data): the last batch has 16 images, so torch prints 16/80 too
    assert out.count("Train Epoch: 1 [") == 2 and "Train Epoch: 2 [16/80 (50%)]" in out
    assert out.count("Test set: Average loss:") == 2 and "/120 (" in out
    model = mnist_main.Net()
    model.load_state_dict(tg.load(tmp_path / "mnist_cnn.pt"))
    assert model(tg.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_mnist_main_dry_run_stops_after_one_batch(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("mnist_main",
                                                  os.path.join(PORTS, "mnist_main.py"))
    mnist_main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mnist_main)
    monkeypatch.setattr(mnist_main.datasets, "MNIST", _first_items(datasets.MNIST, 640, 100))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["mnist_main.py", "--no-cuda", "--dry-run", "--epochs",
                                      "1"])
    mnist_main.main()
    out = capsys.readouterr().out
    assert out.count("Train Epoch:") == 1 and "Accuracy:" in out
    assert not os.path.exists(tmp_path / "mnist_cnn.pt")


def test_quickstart_runs_its_five_epochs_saves_loads_and_predicts(tmp_path, monkeypatch,
                                                                  capsys):
    monkeypatch.setattr(datasets, "FashionMNIST", _first_items(datasets.FashionMNIST, 192, 64))
    monkeypatch.setattr(tg.cuda, "is_available", lambda: False)  # not the CUDA simulator
    monkeypatch.chdir(tmp_path)
    runpy.run_path(os.path.join(PORTS, "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Shape of X [N, C, H, W]: (64, 1, 28, 28)" in out
    assert "Shape of y: (64,) int64" in out and "Using cpu device" in out
    assert out.count("Test Error:") == 5 and "Done!" in out
    assert "Saved PyTorch Model State to model.pth" in out
    assert 'Predicted: "' in out and 'Actual: "Ankle boot"' in out
    assert os.path.exists(tmp_path / "model.pth")
