"""Batch transforms: normalisation and random augmentation of whole (N, C, H, W) batches.

Every transform is called on a batch, a NumPy array or a `Tensor` (the result has the same
kind), and draws one set of random parameters *per image* from a NumPy generator seeded by:

- the `seed` argument of the call (the `DataLoader` passes one derived from its own seed, the
  epoch and the batch number, so an epoch's augmentations can be replayed exactly), else
- `tinygradcnn.random.next_seed()`, reproducible under `tg.manual_seed(n)`.

The pixel work runs on the batch's device: a NumPy array or a CPU tensor goes through the
Numba kernels of `kernels/cpu/augment.py`, a CUDA tensor through their twins in
`kernels/cuda/augment.py` (loaded on first use, not on import), and stays on the GPU. The
random parameters are drawn on the host either way, so the same seed gives the same batch on
both devices. One affine warp with bilinear sampling serves rotation, scaling and
translation; flip and padded crop have kernels of their own.

    augment = Compose([RandomRotation(10), RandomTranslate(0.1), Normalize(0.1307, 0.3081)])
    images = augment(images)               # (N, 1, 28, 28) -> (N, 1, 28, 28)
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backend import kernels_for

_SEED_MIX = 0x9E3779B97F4A7C15  # golden-ratio constant: spreads consecutive seeds apart


def derive_seed(seed: int, *salts: int) -> int:
    """A new 63-bit seed from `seed` and salts (epoch, batch, position in a Compose)."""
    return int(np.random.SeedSequence([int(seed) % (1 << 64), *salts]).generate_state(
        1, np.uint64)[0] >> np.uint64(1))


def _global_seed() -> int:
    from ..random import next_seed

    return int(next_seed())


def _as_batch(images) -> tuple[Any, Callable]:
    """(array, wrap): the batch as an array on its own device (a NumPy array, or a device
    array for a CUDA tensor), and wrap(result), which restores the caller's kind. One image
    (C, H, W), as a per-item transform inside a data set gets it, is a batch of one."""
    if isinstance(images, np.ndarray):
        array = np.ascontiguousarray(images)
        wrap = _identity
    else:  # a Tensor
        from ..tensor import Tensor

        array = images.data

        def wrap(result, device=images.device):
            return Tensor(result, device=device)

    if len(array.shape) == 3:
        batch_wrap = wrap
        array = array.reshape((1, *array.shape))

        def wrap(result):
            return batch_wrap(result.reshape(tuple(result.shape[1:])))

    if len(array.shape) != 4:
        raise ValueError("transforms work on (N, C, H, W) batches or (C, H, W) images, got "
                         f"shape {tuple(array.shape)}")
    if array.dtype not in (np.float32, np.float64):
        array = _kernels(array).astype(array, np.float32)
    return array, wrap


def _kernels(images):
    """The kernel namespace of the device ``images`` lives on."""
    return kernels_for("cpu" if isinstance(images, np.ndarray) else "cuda")


def _identity(result):
    return result


def _pair(value, name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    if len(value) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {value!r}")
    return float(value[0]), float(value[1])


class Transform(abc.ABC):
    """Base class: subclasses implement `apply(images, rng) -> images` on a float array.

    Called on a batch (N, C, H, W) or on one image (C, H, W), a NumPy array or a Tensor."""

    #: False for transforms without randomness: they draw no seed (cheaper per item)
    draws_random: bool = True

    def __call__(self, images, seed: int | None = None):
        array, wrap = _as_batch(images)
        if seed is None and not self.draws_random:
            return wrap(self.apply(array, None))
        rng = np.random.default_rng(_global_seed() if seed is None else seed)
        return wrap(self.apply(array, rng))

    @abc.abstractmethod
    def apply(self, images, rng: np.random.Generator | None):
        """The transformed batch (N, C, H, W) -> (N, C, H', W'), drawing from `rng`; `images`
        is an array on the batch's device (NumPy or CUDA) and so is the result."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply transforms in order; each gets its own seed derived from the call's seed.

    Members are batch transforms, or any callable of one argument, as in torchvision:
    `Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])` turns a PIL image into a
    normalised (1, 28, 28) Tensor."""

    def __init__(self, transforms: Sequence[Transform | Callable]) -> None:
        self.transforms = list(transforms)

    @property
    def draws_random(self) -> bool:  # type: ignore[override]
        return any(getattr(t, "draws_random", False) for t in self.transforms)

    def __call__(self, images, seed: int | None = None):
        if seed is None and self.draws_random:
            seed = _global_seed()
        if not all(isinstance(t, Transform) for t in self.transforms):
            for position, transform in enumerate(self.transforms):
                if isinstance(transform, Transform):
                    salted = (derive_seed(seed, position)
                              if seed is not None and transform.draws_random else None)
                    images = transform(images, seed=salted)
                else:
                    images = transform(images)
            return images
        # batch transforms only: one trip from and back to the caller's kind of array
        array, wrap = _as_batch(images)
        batch_transforms: list[Transform] = self.transforms  # type: ignore[assignment]
        for position, transform in enumerate(batch_transforms):
            rng = None if seed is None else np.random.default_rng(derive_seed(seed, position))
            array = transform.apply(array, rng)
        return wrap(array)

    def apply(self, images, rng):
        for transform in self.transforms:
            if not isinstance(transform, Transform):
                raise TypeError(f"Compose: {transform!r} is not a batch transform; inside "
                                "another Compose only batch transforms can be nested")
            images = transform.apply(images, rng)
        return images

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


# PIL modes whose pixels are not uint8, and the NumPy type torchvision reads them as
_PIL_DTYPES = {"I": np.int32, "I;16": np.int16, "F": np.float32}


class ToTensor:
    """A picture as torchvision's `ToTensor` takes it -> a float32 Tensor (C, H, W).

    Takes a PIL image or an (H, W) / (H, W, C) NumPy array. uint8 pixels (PIL modes L, RGB,
    ..., and uint8 arrays) are scaled to [0, 1] by 1/255; other types keep their values and
    dtype, as in torchvision (a float array stays unscaled, mode "I" gives int32).
    `ToTensor()(Image.new("L", (28, 28)))` -> (1, 28, 28); an (H, W, 3) array -> (3, H, W).
    """

    def __call__(self, pic):
        from ..tensor import Tensor

        if isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional, got {pic.ndim} "
                                 f"dimensions (shape {pic.shape})")
            array = pic[:, :, None] if pic.ndim == 2 else pic
        elif hasattr(pic, "getbands") and hasattr(pic, "mode"):  # a PIL image
            if pic.mode == "1":
                array = np.array(pic, np.uint8) * np.uint8(255)
            else:
                array = np.array(pic, _PIL_DTYPES.get(pic.mode, np.uint8))
            array = array.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
        else:
            raise TypeError(f"ToTensor: pic should be a PIL Image or a NumPy array, got "
                            f"{type(pic).__name__}")
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        return Tensor._make(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize(Transform):
    """(x - mean) / std per channel; `mean`/`std` are numbers or one value per channel, as
    torchvision takes them: `Normalize(0.1307, 0.3081)`, `Normalize((0.1307,), (0.3081,))`,
    `Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])`. On a batch (N, C, H, W) or
    one image (C, H, W). `inplace` is accepted for torchvision's signature (the result is a
    new array either way)."""

    draws_random = False

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float],
                 inplace: bool = False) -> None:
        if np.any(np.asarray(std, dtype=np.float64) == 0):
            raise ValueError(f"Normalize: std evaluated to zero after conversion, got {std!r}, "
                             "leading to division by zero")
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def apply(self, images, rng):
        mean = np.asarray(self.mean, dtype=images.dtype).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=images.dtype).reshape(1, -1, 1, 1)
        if mean.shape[1] not in (1, images.shape[1]) or std.shape[1] not in (1, images.shape[1]):
            raise ValueError(f"Normalize: mean/std have {mean.shape[1]}/{std.shape[1]} values, "
                             f"images have {images.shape[1]} channels")
        kernels = _kernels(images)
        centred = kernels.binary("sub", images, kernels.from_numpy(mean))
        return kernels.binary("div", centred, kernels.from_numpy(std))


class RandomAffine(Transform):
    """Random rotation, scaling and translation about the image centre, in one warp.

    Args:
        degrees: rotation angle range; a number d means uniform in [-d, d]. Positive angles
            turn the picture counter-clockwise as displayed.
        translate: (fx, fy) maximum shift as a fraction of width and height; None for none.
        scale: (low, high) zoom factor range; None for none.
        fill: value of pixels that come from outside the image.
    """

    def __init__(
        self,
        degrees: float | tuple[float, float] = 0.0,
        translate: float | tuple[float, float] | None = None,
        scale: tuple[float, float] | None = None,
        fill: float = 0.0,
    ) -> None:
        low, high = _pair(degrees, "RandomAffine: degrees")
        self.degrees = (-abs(low), abs(low)) if isinstance(degrees, (int, float)) else (low, high)
        self.translate = None if translate is None else _pair(translate, "translate")
        self.scale = None if scale is None else _pair(scale, "scale")
        if self.scale is not None and min(self.scale) <= 0:
            raise ValueError(f"RandomAffine: scale must be positive, got {scale!r}")
        self.fill = float(fill)

    def apply(self, images, rng):
        n, _, height, width = images.shape
        angle = np.deg2rad(rng.uniform(self.degrees[0], self.degrees[1], n))
        zoom = np.ones(n) if self.scale is None else rng.uniform(*self.scale, n)
        shift = np.zeros((n, 2))
        if self.translate is not None:
            limits = np.array([self.translate[0] * width, self.translate[1] * height])
            shift = rng.uniform(-1.0, 1.0, (n, 2)) * limits
        matrices = affine_matrices(angle, zoom, shift, (height, width))
        return _kernels(images).affine_warp(images, matrices, fill=self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by a uniform angle in [-degrees, degrees] (or the given range)."""

    def __init__(self, degrees: float | tuple[float, float], fill: float = 0.0) -> None:
        super().__init__(degrees=degrees, fill=fill)


class RandomScale(RandomAffine):
    """Zoom each image by a uniform factor in `scale` = (low, high), about its centre."""

    def __init__(self, scale: tuple[float, float] = (0.9, 1.1), fill: float = 0.0) -> None:
        super().__init__(scale=scale, fill=fill)


class RandomTranslate(RandomAffine):
    """Shift each image by up to `translate` = (fx, fy) of its width and height."""

    def __init__(self, translate: float | tuple[float, float] = 0.1, fill: float = 0.0) -> None:
        super().__init__(translate=translate, fill=fill)


class RandomCrop(Transform):
    """Pad by `padding` on every side, then cut a random `size` window from each image.
    `RandomCrop(28, padding=2)` on MNIST shifts digits by up to 2 pixels."""

    def __init__(self, size: int | tuple[int, int], padding: int = 0, fill: float = 0.0) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = int(padding)
        self.fill = float(fill)

    def apply(self, images, rng):
        n, _, height, width = images.shape
        room_h = height + 2 * self.padding - self.size[0]
        room_w = width + 2 * self.padding - self.size[1]
        if room_h < 0 or room_w < 0:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded image "
                             f"({height + 2 * self.padding}, {width + 2 * self.padding})")
        offsets = np.stack([rng.integers(0, room_h + 1, n), rng.integers(0, room_w + 1, n)], 1)
        return _kernels(images).crop(images, offsets, self.size, self.padding, self.fill)


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability `p` (for clothes, not for digits)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def apply(self, images, rng):
        return _kernels(images).horizontal_flip(images, rng.random(images.shape[0]) < self.p)


class RandomErasing(Transform):
    """With probability `p`, blank out one random rectangle of each image (Zhong et al. 2017,
    "Random Erasing Data Augmentation"; torchvision's `RandomErasing`): its area a `scale`
    share of the image, its aspect ratio (height / width) log-uniform in `ratio`, filled with
    `value` in every channel. Up to 10 draws per image look for a rectangle that fits; an
    image with none stays whole. The network must recognise a garment from what is left, an
    occlusion it has not seen, rather than from one tell-tale patch.

    (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p}")
        if not 0.0 < scale[0] <= scale[1] <= 1.0 or not 0.0 < ratio[0] <= ratio[1]:
            raise ValueError(f"RandomErasing: need 0 < scale[0] <= scale[1] <= 1 and "
                             f"0 < ratio[0] <= ratio[1], got scale={scale}, ratio={ratio}")
        self.p, self.value = float(p), float(value)
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))

    def boxes(self, n: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """(N, 4) int64 rectangles top, left, height, width (all 0: no erasing)."""
        boxes = np.zeros((n, 4), dtype=np.int64)
        # all 10 draws of every image at once; each image keeps its first that fits
        area = height * width * rng.uniform(*self.scale, size=(n, 10))
        aspect = np.exp(rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=(n, 10)))
        h = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        w = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        fits = (h > 0) & (h < height) & (w > 0) & (w < width)
        chosen = (rng.random(n) < self.p) & fits.any(axis=1)
        rows = np.flatnonzero(chosen)
        first = fits[rows].argmax(axis=1)
        h, w = h[rows, first], w[rows, first]
        top = (rng.random(rows.size) * (height - h + 1)).astype(np.int64)
        left = (rng.random(rows.size) * (width - w + 1)).astype(np.int64)
        boxes[rows] = np.stack([top, left, h, w], axis=1)
        return boxes

    def apply(self, images, rng):
        n, _, height, width = images.shape
        return _kernels(images).erase(images, self.boxes(n, height, width, rng), self.value)


class GaussianNoise(Transform):
    """Add N(0, std^2) noise to every pixel; `clip=(0, 1)` keeps pixels in range."""

    def __init__(self, std: float = 0.1, clip: tuple[float, float] | None = None) -> None:
        self.std = float(std)
        self.clip = clip

    def apply(self, images, rng):
        # drawn on the host, like every transform's randomness: the same seed, the same noise
        noise = rng.standard_normal(tuple(images.shape), dtype=images.dtype)
        noise *= images.dtype.type(self.std)
        kernels = _kernels(images)
        out = kernels.binary("add", images, kernels.from_numpy(noise))
        if self.clip is not None:
            kernels.unary("clamp", out, self.clip[0], self.clip[1], out=out)
        return out


def affine_matrices(
    angle: np.ndarray, zoom: np.ndarray, shift: np.ndarray, image_size: tuple[int, int]
) -> np.ndarray:
    """Per-image output->input matrices (N, 2, 3) for `affine_warp`.

    The visible motion about the centre c is q = A (p - c) + c + t with
    A = zoom * [[cos a, sin a], [-sin a, cos a]] (counter-clockwise on screen, y pointing
    down); the kernel needs its inverse p = A^-1 (q - c - t) + c.
    """
    height, width = image_size
    centre = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    inverse = np.empty((angle.shape[0], 2, 3))
    inverse[:, 0, 0], inverse[:, 0, 1] = cos, -sin  # A^-1 = R^T / zoom
    inverse[:, 1, 0], inverse[:, 1, 1] = sin, cos
    moved = centre + shift  # where the centre goes
    inverse[:, :, 2] = centre - np.einsum("nij,nj->ni", inverse[:, :, :2], moved)
    return inverse


def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a batch (N, C, H, W) -> (N, C, *size), corners aligned.
    Used to show the 8x8 digits at LeNet-5's 28x28 (or any other size)."""
    images = np.ascontiguousarray(images)
    if images.dtype not in (np.float32, np.float64):
        images = images.astype(np.float32)
    n, _, height, width = images.shape
    out_h, out_w = size
    matrices = np.zeros((n, 2, 3))
    matrices[:, 0, 0] = (width - 1) / max(out_w - 1, 1)
    matrices[:, 1, 1] = (height - 1) / max(out_h - 1, 1)
    warp = kernels_for("cpu").affine_warp
    # in chunks the size of training batches: a whole data set at once would make a first
    # run compile the kernel's multi-threaded build too, for this one call (2 s)
    chunk = 64
    return np.concatenate([warp(images[i:i + chunk], matrices[i:i + chunk], (out_h, out_w))
                           for i in range(0, n, chunk)]) if n else warp(images, matrices,
                                                                        (out_h, out_w))


def after_to_tensor(transform) -> list[Transform] | None:
    """The deterministic batch transforms that follow a leading `ToTensor` in `transform`
    (`ToTensor()` alone: []), or None when `transform` is not of that form.

    Such a per-item transform gives the same numbers applied to a whole batch of pictures
    at once, which is how an `ArrayDataset` serves `dataset[index_array]` with it."""
    steps = transform.transforms if isinstance(transform, Compose) else [transform]
    if not steps or not isinstance(steps[0], ToTensor):
        return None
    rest = steps[1:]
    if not all(isinstance(step, Transform) and not step.draws_random for step in rest):
        return None
    return rest  # type: ignore[return-value]
