"""LeNet-5 on a slice of real MNIST, within a couple of minutes (`pytest -m slow`).

Needs the IDX files: TINYGRADCNN_DATA=../shared/data (the folder holding mnist/)."""

import os
import time

import pytest

import tinygradcnn as tg
from tinygradcnn import data, optim
from tinygradcnn.models import LeNet5


@pytest.mark.slow
def test_lenet5_learns_a_slice_of_real_mnist():
    root = os.environ.get("TINYGRADCNN_DATA")
    if not root:
        pytest.skip("set TINYGRADCNN_DATA to the folder holding mnist/ (e.g. ../shared/data)")
    tg.manual_seed(0)
    train = data.Subset(data.MNIST(root, train=True, download=False), range(6000))
    test = data.Subset(data.MNIST(root, train=False, download=False), range(2000))
    model = LeNet5()
    started = time.perf_counter()
    tg.fit(model, data.DataLoader(train, 64, shuffle=True, seed=0), 2,
           optim.Adam(model.parameters(), lr=2e-3), verbose=2)
    accuracy = tg.evaluate(model, data.DataLoader(test, 500))["accuracy"]
    assert time.perf_counter() - started < 180
    assert accuracy > 0.9, f"test accuracy {accuracy:.3f} (chance is 0.1)"
