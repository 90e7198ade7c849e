"""Batch augmentation: the kernels' geometry and the transforms' reproducibility."""

import numpy as np
import pytest
from conftest import DEVICES

import tinygradcnn as tg
from tinygradcnn import data
from tinygradcnn.backend import kernels_for
from tinygradcnn.data import transforms as T
from tinygradcnn.kernels.cpu import affine_warp, crop, erase, horizontal_flip


@pytest.fixture
def batch():
    return np.random.default_rng(0).random((6, 2, 9, 11), dtype=np.float32)


def identity(n):
    matrices = np.zeros((n, 2, 3))
    matrices[:, 0, 0] = matrices[:, 1, 1] = 1.0
    return matrices


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_warp_copies_the_images(batch, dtype):
    images = batch.astype(dtype)
    out = affine_warp(images, identity(6))
    assert out.dtype == dtype and np.array_equal(out, images)


def test_integer_translation_shifts_content_and_fills_the_border(batch):
    matrices = identity(6)
    matrices[:, 0, 2], matrices[:, 1, 2] = -2, 1  # content moves 2 right and 1 up
    out = affine_warp(batch, matrices, fill=-1.0)
    assert np.array_equal(out[:, :, :-1, 2:], batch[:, :, 1:, :-2])
    assert np.all(out[..., :2] == -1.0) and np.all(out[:, :, -1, :] == -1.0)


def test_rotation_by_90_degrees_matches_rot90():
    square = np.random.default_rng(1).random((3, 1, 7, 7), dtype=np.float32)
    matrices = T.affine_matrices(np.full(3, np.pi / 2), np.ones(3), np.zeros((3, 2)), (7, 7))
    out = affine_warp(square, matrices)
    np.testing.assert_allclose(out, np.rot90(square, 1, axes=(2, 3)), atol=1e-6)


def test_zoom_keeps_the_centre_pixel():
    image = np.zeros((1, 1, 9, 9), np.float32)
    image[0, 0, 4, 4] = 1.0
    out = affine_warp(image, T.affine_matrices(np.zeros(1), np.full(1, 2.0), np.zeros((1, 2)),
                                               (9, 9)))
    assert out[0, 0, 4, 4] == 1.0 and 0 < out.sum() <= 4.0


def test_padded_crop_matches_numpy_pad_and_slice(batch):
    offsets = np.array([[0, 0], [4, 4], [2, 3], [1, 0], [0, 4], [3, 1]])
    out = crop(batch, offsets, (9, 11), padding=2, fill=0.5)
    padded = np.pad(batch, ((0, 0), (0, 0), (2, 2), (2, 2)), constant_values=0.5)
    for n, (top, left) in enumerate(offsets):
        assert np.array_equal(out[n], padded[n, :, top:top + 9, left:left + 11])


def test_flip_mirrors_only_flagged_images(batch):
    flags = np.array([True, False, True, False, False, True])
    out = horizontal_flip(batch, flags)
    for n, flag in enumerate(flags):
        assert np.array_equal(out[n], batch[n, :, :, ::-1] if flag else batch[n])


def test_erase_fills_each_box_and_leaves_the_rest(batch):
    boxes = np.array([[0, 0, 2, 3], [4, 5, 3, 6], [0, 0, 0, 0], [1, 2, 1, 1], [3, 0, 4, 11],
                      [0, 10, 7, 1]])
    out = erase(batch, boxes, 0.25)
    for n, (top, left, height, width) in enumerate(boxes):
        expected = batch[n].copy()
        expected[:, top:top + height, left:left + width] = 0.25
        assert np.array_equal(out[n], expected)


def test_random_erasing_draws_boxes_of_the_asked_area_and_ratio():
    erasing = T.RandomErasing(p=0.5, scale=(0.05, 0.2), ratio=(0.5, 2.0), value=-1.0)
    boxes = erasing.boxes(2000, 28, 28, np.random.default_rng(0))
    erased = boxes[:, 2] > 0
    assert 0.45 < erased.mean() < 0.55               # p
    top, left, height, width = boxes[erased].T
    assert np.all((top + height <= 28) & (left + width <= 28) & (top >= 0) & (left >= 0))
    area = height * width / 28 ** 2                  # rounding moves the edges half a pixel
    assert area.min() > 0.03 and area.max() < 0.25 and 0.09 < area.mean() < 0.16
    aspect = height / width
    assert aspect.min() > 0.35 and aspect.max() < 2.9
    images = np.ones((16, 3, 28, 28), np.float32)
    out = T.RandomErasing(p=1.0, value=-1.0)(images, seed=3)
    erased_pixels = (out == -1).all(axis=1).sum(axis=(1, 2)) / 28 ** 2
    assert np.all((erased_pixels > 0.01) & (erased_pixels < 0.4))   # every image, one box
    assert np.array_equal(T.RandomErasing(p=0.0)(images, seed=3), images)
    with pytest.raises(ValueError, match="RandomErasing: p must be in"):
        T.RandomErasing(p=1.5)


def test_resize_aligns_corners():
    image = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    out = T.resize(image, (3, 3))[0, 0]
    np.testing.assert_allclose(out, [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])


TRANSFORMS = [
    T.RandomRotation(15), T.RandomAffine(10, translate=0.1, scale=(0.8, 1.2)),
    T.RandomScale(), T.RandomTranslate(0.2), T.RandomCrop((9, 11), padding=2),
    T.RandomHorizontalFlip(), T.RandomErasing(0.7), T.GaussianNoise(0.1),
    T.GaussianNoise(0.3, clip=(0.0, 1.0)),
    T.Compose([T.RandomRotation(5), T.GaussianNoise(0.05), T.Normalize(0.5, 0.25)]),
]


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_transforms_are_reproducible_under_a_seed(batch, transform):
    first, again, other = transform(batch, seed=1), transform(batch, seed=1), transform(
        batch, seed=2)
    assert first.shape == batch.shape and first.dtype == batch.dtype
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    tg.manual_seed(5)
    unseeded = transform(batch)
    tg.manual_seed(5)
    assert np.array_equal(unseeded, transform(batch))


def test_each_image_gets_its_own_parameters():
    same = np.repeat(np.random.default_rng(0).random((1, 1, 8, 8), np.float32), 4, axis=0)
    out = T.RandomRotation(30)(same, seed=0)
    assert len({image.tobytes() for image in out}) == 4


def test_transforms_accept_and_return_tensors(batch):
    out = T.RandomRotation(10)(tg.tensor(batch), seed=0)
    assert isinstance(out, tg.Tensor) and np.array_equal(
        out.numpy(), T.RandomRotation(10)(batch, seed=0))


@pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_a_gpu_batch_is_augmented_on_the_gpu_as_on_the_cpu(batch, transform):
    on_gpu = transform(tg.tensor(batch, device="cuda"), seed=3)
    assert on_gpu.device == "cuda"
    np.testing.assert_allclose(on_gpu.numpy(), transform(batch, seed=3), rtol=1e-6, atol=1e-7)


def test_normalize_is_per_channel(batch):
    out = T.Normalize([0.5, 0.25], [2.0, 4.0])(batch)
    np.testing.assert_allclose(out[:, 1], (batch[:, 1] - 0.25) / 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="3/3 values"):
        T.Normalize([0, 0, 0], [1, 1, 1])(batch)


def test_gaussian_noise_has_the_requested_spread():
    zeros = np.zeros((64, 1, 16, 16), np.float32)
    noise = T.GaussianNoise(0.2)(zeros, seed=0)
    assert abs(noise.std() - 0.2) < 0.01
    assert T.GaussianNoise(0.2, clip=(0, 1))(zeros, seed=0).min() == 0.0


def test_a_crop_larger_than_the_padded_image_is_an_error(batch):
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(20, padding=2)(batch)


def test_a_transform_must_define_apply():
    with pytest.raises(TypeError, match="abstract"):
        T.Transform()

    class Invert(T.Transform):
        def apply(self, images, rng):
            return 1.0 - images

    images = np.zeros((2, 1, 3, 3), np.float32)
    assert np.array_equal(Invert()(images), np.ones_like(images))


@pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")
def test_a_gpu_loader_augments_its_batches_on_the_gpu_as_on_the_cpu(batch, monkeypatch):
    cpu = kernels_for("cpu")
    dataset = data.ArrayDataset(batch, np.arange(6))
    augment = T.Compose([T.RandomRotation(10), T.RandomHorizontalFlip()])
    on_cpu = list(data.DataLoader(dataset, 4, transform=augment, seed=1))

    def refuse(*args, **kwargs):
        raise AssertionError("a GPU batch was augmented by a CPU kernel")

    monkeypatch.setattr(cpu, "affine_warp", refuse)
    monkeypatch.setattr(cpu, "horizontal_flip", refuse)
    on_gpu = data.DataLoader(dataset, 4, transform=augment, seed=1, device="cuda")
    for (cpu_images, _), (gpu_images, gpu_labels) in zip(on_cpu, on_gpu, strict=True):
        assert gpu_images.device == gpu_labels.device == "cuda"
        np.testing.assert_allclose(gpu_images.numpy(), cpu_images.numpy(), rtol=1e-6, atol=1e-7)
