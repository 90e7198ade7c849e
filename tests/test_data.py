"""Data sets, checksums, downloads, loaders and splits."""

import gzip
import hashlib
import os
import struct

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import data
from tinygradcnn.data import datasets
from tinygradcnn.data.idx import parse_idx, read_idx


def write_idx(path, array: np.ndarray) -> str:
    """Write `array` (uint8) as a gzip IDX file and return its MD5."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return hashlib.md5(open(path, "rb").read()).hexdigest()


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A 12-image MNIST-layout folder whose MD5s are registered as the expected ones."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    checksums = {}
    for prefix, n in (("train", 12), ("t10k", 5)):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = np.arange(n) % 10
        checksums[f"{prefix}-images-idx3-ubyte.gz"] = write_idx(
            folder / f"{prefix}-images-idx3-ubyte.gz", images)
        checksums[f"{prefix}-labels-idx1-ubyte.gz"] = write_idx(
            folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    monkeypatch.setattr(data.MNIST, "files", checksums)
    return tmp_path


def test_read_idx_returns_the_stored_array(tmp_path):
    array = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(np.uint8)
    write_idx(tmp_path / "x.gz", array)
    out = read_idx(tmp_path / "x.gz")
    assert out.dtype == np.uint8 and np.array_equal(out, array)


def test_parse_idx_refuses_a_truncated_payload():
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10)
    with pytest.raises(ValueError, match="payload is 9 bytes"):
        parse_idx(header + bytes(9), "short.idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        parse_idx(b"\x1f\x8b\x08\x00", "raw.gz")


def test_mnist_reads_root_and_root_slash_mnist_layouts(fake_mnist):
    nested = data.MNIST(fake_mnist, train=True, download=False)
    flat = data.MNIST(fake_mnist / "mnist", train=False, download=False)
    assert len(nested) == 12 and nested.image_shape == (1, 28, 28)
    assert len(flat) == 5
    images, labels = nested[np.array([0, 3])]
    assert images.dtype == np.float32 and images.shape == (2, 1, 28, 28)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == np.int64 and labels.tolist() == [0, 3]


def test_root_comes_from_the_environment_variable(fake_mnist, monkeypatch):
    monkeypatch.setenv("TINYGRADCNN_DATA", str(fake_mnist))
    assert data.data_root() == str(fake_mnist)
    assert len(data.MNIST(train=False, download=False)) == 5
    monkeypatch.delenv("TINYGRADCNN_DATA")
    assert data.data_root().endswith(os.path.join(".cache", "tinygradcnn"))


def test_a_corrupt_file_is_refused_before_it_is_parsed(fake_mnist, monkeypatch):
    path = fake_mnist / "mnist" / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    parsed = []
    monkeypatch.setattr(datasets, "read_idx", lambda p: parsed.append(p))
    with pytest.raises(data.ChecksumError) as error:
        data.MNIST(fake_mnist, train=False, download=False)
    message = str(error.value)
    expected = data.MNIST.files["t10k-images-idx3-ubyte.gz"]
    assert "t10k-images-idx3-ubyte.gz" in message and expected in message
    assert hashlib.md5(bytes(raw)).hexdigest() in message
    assert parsed == []


def test_missing_files_are_downloaded_verified_and_renamed(fake_mnist, tmp_path, monkeypatch):
    mirror = (fake_mnist / "mnist").as_uri() + "/"
    monkeypatch.setattr(data.MNIST, "mirrors", ("file:///nonexistent/", mirror))
    cache = tmp_path / "cache"
    test_set = data.MNIST(cache, train=False, download=True)
    assert len(test_set) == 5
    assert sorted(os.listdir(cache / "mnist")) == ["t10k-images-idx3-ubyte.gz",
                                                   "t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(FileNotFoundError, match="train-images"):
        data.MNIST(tmp_path / "empty", train=True, download=False)


def test_a_download_with_a_wrong_checksum_leaves_nothing_behind(fake_mnist, tmp_path,
                                                                  monkeypatch):
    files = dict(data.MNIST.files)
    files["t10k-images-idx3-ubyte.gz"] = "0" * 32
    monkeypatch.setattr(data.MNIST, "files", files)
    monkeypatch.setattr(data.MNIST, "mirrors", ((fake_mnist / "mnist").as_uri() + "/",))
    cache = tmp_path / "cache"
    with pytest.raises(data.ChecksumError, match="0{32}"):
        data.MNIST(cache, train=False)
    assert os.listdir(cache / "mnist") == []


def test_real_mnist_test_split_has_the_published_class_counts():
    root = os.environ.get("TINYGRADCNN_DATA")
    if not root:
        pytest.skip("set TINYGRADCNN_DATA to the folder holding mnist/ to read real MNIST")
    test_set = data.MNIST(root, train=False, download=False)
    assert np.bincount(test_set.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958,
                                                     1028, 974, 1009]


def test_digits_split_is_disjoint_stratified_and_scaled():
    train, test = data.Digits(train=True), data.Digits(train=False)
    assert len(train) + len(test) == 1797
    assert train.image_shape == (1, 8, 8)
    assert np.all(np.abs(np.bincount(test.labels) - 0.2 * np.bincount(
        np.concatenate([train.labels, test.labels]))) <= 1)
    images, _ = train[:]
    assert images.min() == 0.0 and images.max() == 1.0
    train_rows = {row.tobytes() for row in train.images}
    assert sum(row.tobytes() in train_rows for row in test.images) < 5  # a few exact duplicates
    big = data.Digits(train=False, size=28)
    assert big.image_shape == (1, 28, 28) and big.images.max() <= 1.0


def test_digits_are_the_table_sklearn_load_digits_reads():
    # Digits reads scikit-learn's CSV without importing scikit-learn (1.5-2.5 s of a first run)
    load_digits = pytest.importorskip("sklearn.datasets").load_digits
    bunch = load_digits()
    train, test = data.Digits(train=True), data.Digits(train=False)
    images = np.concatenate([train.images, test.images])[:, 0] * 16.0
    labels = np.concatenate([train.labels, test.labels])
    order = np.lexsort(images.reshape(len(images), -1).T[::-1])
    expected_order = np.lexsort(bunch.images.reshape(len(images), -1).T[::-1])
    np.testing.assert_array_equal(images[order], bunch.images[expected_order])
    np.testing.assert_array_equal(labels[order], bunch.target[expected_order])


def test_loader_yields_batches_of_tensors():
    dataset = data.ArrayDataset(np.arange(10 * 4, dtype=np.uint8).reshape(10, 1, 2, 2),
                                np.arange(10))
    loader = data.DataLoader(dataset, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape for b in batches] == [(4, 1, 2, 2)] * 2 + [
        (2, 1, 2, 2)]
    images, labels = batches[0]
    assert isinstance(images, tg.Tensor) and images.dtype == np.float32
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2, 3]
    assert np.allclose(images.numpy().reshape(-1), np.arange(16) / 255.0)
    assert len(data.DataLoader(dataset, 4, drop_last=True)) == 2
    assert len(list(data.DataLoader(dataset, 4, drop_last=True))) == 2


def test_shuffle_order_depends_only_on_seed_and_epoch():
    dataset = data.ArrayDataset(np.zeros((50, 1, 1, 1), np.float32), np.arange(50))
    loader = data.DataLoader(dataset, batch_size=8, shuffle=True, seed=3)
    epoch0 = np.concatenate([labels.numpy() for _, labels in loader])
    epoch1 = np.concatenate([labels.numpy() for _, labels in loader])
    assert sorted(epoch0.tolist()) == list(range(50)) and not np.array_equal(epoch0, epoch1)
    loader.set_epoch(1)
    again = np.concatenate([labels.numpy() for _, labels in loader])
    assert np.array_equal(again, epoch1)
    fresh = data.DataLoader(dataset, batch_size=8, shuffle=True, seed=3)
    assert np.array_equal(np.concatenate(fresh.batch_indices(0)), epoch0)


def test_unseeded_shuffle_is_reproducible_under_manual_seed():
    dataset = data.ArrayDataset(np.zeros((20, 1, 1, 1), np.float32), np.arange(20))
    orders = []
    for _ in range(2):
        tg.manual_seed(7)
        loader = data.DataLoader(dataset, batch_size=20, shuffle=True)
        orders.append(next(iter(loader))[1].numpy())
    assert np.array_equal(*orders)


def test_random_split_is_a_disjoint_cover():
    dataset = data.ArrayDataset(np.zeros((101, 1, 2, 2), np.uint8), np.arange(101))
    parts = data.random_split(dataset, [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in parts] == [51, 30, 20]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(101))
    train, val = data.train_val_split(dataset, 0.1, seed=1)
    assert (len(train), len(val)) == (91, 10)
    _, labels = val[np.arange(3)]
    assert labels.tolist() == val.indices[:3].tolist()
    assert val.image_shape == (1, 2, 2)
    with pytest.raises(ValueError, match="do not add up"):
        data.random_split(dataset, [50, 50])
