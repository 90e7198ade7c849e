"""LeNet-5 on a slice of real MNIST, within a couple of minutes (`pytest -m slow`).

Needs the IDX files: TINYGRADCNN_DATA=../shared/data (the folder holding mnist/); without
it the test looks in ../shared/data beside the checkout, and skips when that is missing too."""

import time

import pytest

import tinygradcnn as tg
from tinygradcnn import data, optim
from tinygradcnn.models import LeNet5


@pytest.mark.slow
def test_lenet5_learns_a_slice_of_real_mnist(mnist_root):
    tg.manual_seed(0)
    train = data.Subset(data.MNIST(mnist_root, train=True, download=False), range(6000))
    test = data.Subset(data.MNIST(mnist_root, train=False, download=False), range(2000))
    model = LeNet5()
    started = time.perf_counter()
    tg.fit(model, data.DataLoader(train, 64, shuffle=True, seed=0), 2,
           optim.Adam(model.parameters(), lr=2e-3), verbose=2)
    accuracy = tg.evaluate(model, data.DataLoader(test, 500))["accuracy"]
    seconds = time.perf_counter() - started
    print(f"LeNet-5, 6000 MNIST images, 2 epochs: test accuracy {accuracy:.4f} in {seconds:.1f}s")
    assert accuracy > 0.9, f"test accuracy {accuracy:.3f} (chance is 0.1)"
