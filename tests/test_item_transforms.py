"""torchvision-style per-item transforms: ToTensor, Normalize on one image, Compose of any
callables, and data sets with transform= (whose batches must equal the stacked items)."""

import os

import numpy as np
import pytest
from conftest import DEVICES
from torchvision_models import torchvision_models

import tinygradcnn as tg
from tinygradcnn import data
from tinygradcnn.data import datasets
from tinygradcnn.data import transforms as T


def _torchvision_transforms():
    if torchvision_models() is None:
        pytest.skip("torchvision is not available")
    import torchvision.transforms as tv_transforms

    return tv_transforms


def _pictures():
    from PIL import Image

    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    floats = rng.random((5, 7, 2)).astype(np.float32)
    return [gray, rgb, floats, Image.fromarray(gray), Image.fromarray(rgb),
            Image.fromarray(gray).convert("1"), Image.fromarray(gray.astype(np.int32))]


def test_to_tensor_matches_torchvision_on_pil_images_and_arrays():
    tv = _torchvision_transforms()
    for picture in _pictures():
        ours, theirs = T.ToTensor()(picture), tv.ToTensor()(picture)
        assert isinstance(ours, tg.Tensor) and ours.shape == tuple(theirs.shape)
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
        assert np.array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="2 or 3 dimensional"):
        T.ToTensor()(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="PIL Image or a NumPy array"):
        T.ToTensor()([1, 2])


@pytest.mark.parametrize("mean, std", [((0.1307,), (0.3081,)), (0.5, 0.25),
                                       ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
def test_normalize_takes_torchvisions_argument_shapes_per_image_and_per_batch(mean, std):
    tv = _torchvision_transforms()
    import torch

    channels = 3 if isinstance(mean, list) else 1
    image = np.random.default_rng(1).random((channels, 4, 5)).astype(np.float32)
    expected = tv.Normalize(mean, std)(torch.tensor(image)).numpy()
    one = T.Normalize(mean, std)(tg.tensor(image))
    assert isinstance(one, tg.Tensor) and one.shape == image.shape
    assert np.allclose(one.numpy(), expected, atol=1e-6)
    batch = T.Normalize(mean, std)(np.stack([image, image]))
    assert batch.shape == (2, *image.shape) and np.allclose(batch[1], expected, atol=1e-6)
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize(0.5, 0.0)


def test_compose_runs_any_callables_in_order_as_torchvision():
    tv = _torchvision_transforms()
    import torch

    picture = _pictures()[3]
    ours = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,)), lambda x: x * 2])(picture)
    theirs = tv.Compose([tv.ToTensor(), tv.Normalize((0.5,), (0.5,)), lambda x: x * 2])(picture)
    assert np.allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
    assert isinstance(theirs, torch.Tensor)
    # a random batch transform on one image: the same seed, the same picture
    crop = T.Compose([T.ToTensor(), T.RandomCrop(5, padding=1)])
    assert np.array_equal(crop(picture, seed=3).numpy(), crop(picture, seed=3).numpy())


def _fake_images(n=10):
    rng = np.random.default_rng(2)
    return rng.integers(0, 256, (n, 1, 6, 6), dtype=np.uint8), np.arange(n) % 3


def test_a_dataset_with_transform_gives_torchvision_style_items():
    images, labels = _fake_images()
    seen = []
    dataset = data.ArrayDataset(images, labels, transform=lambda pic: seen.append(pic) or 0,
                                target_transform=lambda y: y + 100)
    assert dataset[3] == (0, labels[3] + 100) and isinstance(dataset[3][1], int)
    assert type(seen[0]).__module__.startswith("PIL")
    assert not dataset.indexable_by_array
    with pytest.raises(TypeError, match="int index"):
        dataset[np.arange(2)]


def test_batches_of_a_to_tensor_normalize_dataset_equal_its_stacked_items():
    images, labels = _fake_images()
    transform = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    dataset = data.ArrayDataset(images, labels, transform=transform)
    assert dataset.indexable_by_array  # the one-call batch path
    fast = list(data.DataLoader(dataset, batch_size=4))
    per_item = list(data.DataLoader(dataset, batch_size=4, collate_fn=data.default_collate))
    for (x_fast, y_fast), (x_item, y_item) in zip(fast, per_item, strict=True):
        assert np.array_equal(x_fast.numpy(), x_item.numpy())
        assert y_fast.tolist() == y_item.tolist() and y_fast.dtype == np.int64
    random_transform = T.Compose([T.ToTensor(), T.RandomHorizontalFlip()])
    assert not data.ArrayDataset(images, labels, transform=random_transform).indexable_by_array


@pytest.mark.skipif(not os.path.isdir(os.environ.get("TINYGRADCNN_DATA", "")),
                    reason="needs the MNIST files in $TINYGRADCNN_DATA")
def test_mnist_with_to_tensor_matches_torchvisions_first_item():
    train = datasets.MNIST(train=False, download=False, transform=T.ToTensor())
    image, label = train[0]
    assert image.shape == (1, 28, 28) and label == 7 and isinstance(label, int)
    plain = datasets.MNIST(train=False, download=False)
    assert np.allclose(image.numpy(), plain[0][0], atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_a_batch_transform_on_one_image_keeps_its_device(device):
    image = np.random.default_rng(3).random((2, 3, 4)).astype(np.float32)
    out = T.Normalize([0.5, 0.25], [2.0, 4.0])(tg.tensor(image, device=device))
    assert out.device == device and out.shape == (2, 3, 4)
    expected = (image - np.array([0.5, 0.25])[:, None, None]) / np.array([2.0, 4.0])[:, None, None]
    assert np.allclose(out.numpy(), expected, atol=1e-6)
    flipped = T.RandomHorizontalFlip(p=1.0)(tg.tensor(image, device=device))
    assert np.array_equal(flipped.numpy(), image[:, :, ::-1])
