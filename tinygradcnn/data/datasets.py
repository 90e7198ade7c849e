"""Image classification data sets held as NumPy arrays.

Every data set here is an `ArrayDataset`: `images` of shape (N, 1, H, W) (uint8 as stored on
disk, or float32) and `labels` of shape (N,) int64. Indexing with an int, a slice or an
index array returns `(images, labels)` already scaled to float32 in [0, 1], so a loader
builds a whole batch with one fancy-indexing call.

MNIST and Fashion-MNIST are read from the original IDX `.gz` files. Where to look:

1. the `root` argument, else
2. the environment variable `TINYGRADCNN_DATA`, else
3. the cache folder `~/.cache/tinygradcnn`.

Both `root/<file>` and `root/<name>/<file>` (`root/mnist/train-images-idx3-ubyte.gz`) are
accepted. A missing file is downloaded into `root/<name>/` when `download=True`. Every file is
checked against its published MD5 *before* it is parsed; a file that fails is refused with a
`ChecksumError` naming the file and both checksums.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .idx import read_idx
from .transforms import after_to_tensor

DATA_ENV_VAR = "TINYGRADCNN_DATA"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "tinygradcnn")


class ChecksumError(ValueError):
    """A data file whose MD5 differs from the published one."""


class ArrayDataset(Dataset):
    """A labelled image data set held in memory.

    Args:
        images: (N, C, H, W) array (a (N, H, W) array gets a channel axis); uint8 or float.
        labels: (N,) integer class labels.
        scale: images are divided by this when read (255 for uint8 pixels, 1 for [0, 1]).
        classes: optional class names, index = label.
        transform, target_transform: per-item transforms, as torchvision's data sets take
            them (`transform=ToTensor()`); see below.

    Without transforms, `dataset[index]` -> (images float32 (n, C, H, W) in [0, 1], labels
    int64 (n,)) for an index array or slice (the loader's fast path), and one image (C, H, W)
    and a 0-d label for an int. With a transform, as in torchvision, `dataset[i]` ->
    `(transform(picture), target_transform(label))` for an int `i`: the picture is a PIL image
    (mode L or RGB) when the pixels are uint8 and Pillow is installed, else an (H, W) or
    (H, W, C) array scaled to [0, 1]; the label a Python int.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        scale: float | None = None,
        classes: Sequence[str] | None = None,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must be (N, C, H, W), got {images.shape}")
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"ArrayDataset: labels shape {labels.shape} does not match "
                f"{images.shape[0]} images"
            )
        if scale is None:
            scale = 255.0 if images.dtype == np.uint8 else 1.0
        self.images = np.asarray(images, order="C")
        self.labels = np.asarray(labels, dtype=np.int64, order="C")
        self.scale = float(scale)
        self.classes = list(classes) if classes is not None else None
        self.transform = transform
        self.target_transform = target_transform

    @property
    def indexable_by_array(self) -> bool:  # type: ignore[override]
        """True when `dataset[index_array]` gives a whole batch: without transforms, or with
        a transform that works on batches too (`Compose([ToTensor(), Normalize(...)])`)."""
        if self.target_transform is not None:
            return False
        return self.transform is None or after_to_tensor(self.transform) is not None

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index) -> tuple[Any, Any]:
        is_int = isinstance(index, (int, np.integer)) and not isinstance(index, bool)
        if self.transform is None and self.target_transform is None:
            images = self.images[index].astype(np.float32)
            if self.scale != 1.0:
                images *= np.float32(1.0 / self.scale)
            return images, self.labels[index]
        if is_int:
            return self._transformed_item(int(index))
        steps = None if self.target_transform is not None else after_to_tensor(self.transform)
        if steps is None:
            raise TypeError(f"{type(self).__name__}: with this transform, items are read one "
                            f"at a time by an int index, got {type(index).__name__}")
        # the batch the per-item ToTensor and transforms would have stacked, in one pass
        images = self.images[index].astype(np.float32) / np.float32(self._picture_scale())
        for step in steps:
            images = step(images)
        return images, self.labels[index]

    def _picture_scale(self) -> float:
        """What ToTensor divides a picture by: 255 for a PIL image, else the data's scale."""
        return 255.0 if self._as_pil() else self.scale

    def _as_pil(self) -> bool:
        if self.images.dtype != np.uint8 or self.images.shape[1] not in (1, 3):
            return False
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            return False
        return True

    def _transformed_item(self, index: int) -> tuple[Any, Any]:
        image, label = self.picture(index), int(self.labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def picture(self, index: int) -> Any:
        """Image `index` as a torchvision data set hands it to its transform: a PIL image for
        uint8 pixels with 1 or 3 channels (when Pillow is installed), else an (H, W) or
        (H, W, C) array in [0, 1]."""
        pixels = self.images[index]
        pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        if self._as_pil():
            from PIL import Image

            return Image.fromarray(np.ascontiguousarray(pixels))
        return pixels.astype(np.float32) / np.float32(self.scale)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes) if self.classes is not None else int(self.labels.max()) + 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, image_shape={self.image_shape})"


# --------------------------------------------------------------------------- IDX data sets

_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


def data_root(root: str | os.PathLike | None = None) -> str:
    """The folder data sets are read from: `root`, else $TINYGRADCNN_DATA, else the cache."""
    if root is None:
        root = os.environ.get(DATA_ENV_VAR) or DEFAULT_CACHE_DIR
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def md5sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex MD5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(path: str | os.PathLike, expected: str) -> None:
    """Raise ChecksumError unless the file at `path` has MD5 `expected`."""
    actual = md5sum(path)
    if actual != expected:
        raise ChecksumError(
            f"{os.fspath(path)}: MD5 checksum mismatch (expected {expected}, got {actual}); "
            "the file is corrupt or incomplete - delete it and download it again"
        )


def download_url(url: str, path: str, md5: str | None = None, timeout: float = 60.0) -> None:
    """Download `url` to `path` atomically: a temporary file in the same folder is written,
    checked against `md5` and only then renamed, so `path` never holds a partial file."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".part",
                                    dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        if md5 is not None:
            try:
                check_md5(tmp_path, md5)
            except ChecksumError as err:
                raise ChecksumError(f"download of {url} for {path} failed: {err}") from None
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


class _IDXDataset(ArrayDataset):
    """MNIST-layout data set: four IDX files with known MD5s, fetched from `mirrors`."""

    name: str = ""
    files: dict[str, str] = {}
    mirrors: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        train: bool = True,
        download: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self.root = data_root(root)
        self.train = train
        prefix = "train" if train else "t10k"
        images = read_idx(self._verified_file(f"{prefix}-images-idx3-ubyte.gz", download))
        labels = read_idx(self._verified_file(f"{prefix}-labels-idx1-ubyte.gz", download))
        super().__init__(images, labels.astype(np.int64), scale=255.0, classes=self.class_names,
                         transform=transform, target_transform=target_transform)

    def _verified_file(self, filename: str, download: bool) -> str:
        """Path of `filename` after its MD5 check; downloads it if missing and allowed."""
        candidates = [os.path.join(self.root, filename),
                      os.path.join(self.root, self.name, filename)]
        for path in candidates:
            if os.path.isfile(path):
                check_md5(path, self.files[filename])
                return path
        if not download:
            raise FileNotFoundError(
                f"{type(self).__name__}: {filename} not found in {candidates[0]} or "
                f"{candidates[1]} (pass root=..., set ${DATA_ENV_VAR}, or download=True)"
            )
        target = candidates[1]
        errors = []
        for mirror in self.mirrors:
            url = mirror + filename
            try:
                download_url(url, target, md5=self.files[filename])
                return target
            except ChecksumError:
                raise
            except OSError as err:  # URLError is an OSError: try the next mirror
                errors.append(f"{url}: {err}")
        raise RuntimeError(f"{type(self).__name__}: could not download {filename}:\n  "
                           + "\n  ".join(errors))


class MNIST(_IDXDataset):
    """The MNIST handwritten digits: 60,000 training / 10,000 test images (1, 28, 28), 10
    classes. `MNIST(root=None, train=True, download=True, transform=None,
    target_transform=None)`, torchvision's arguments (`download` is True by default: every
    file is checked against its MD5); see the module docstring for where files are looked
    up, and `ArrayDataset` for what an item is with and without a transform."""

    name = "mnist"
    files = _MNIST_FILES
    mirrors = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    class_names = tuple(str(digit) for digit in range(10))


class FashionMNIST(_IDXDataset):
    """Fashion-MNIST (Zalando): 60,000 / 10,000 grayscale product photos (1, 28, 28), 10
    classes. Same interface as `MNIST`; files live in `root/fashion-mnist/` or `root/`."""

    name = "fashion-mnist"
    files = _FASHION_MNIST_FILES
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


# --------------------------------------------------------------------------- embedded digits


class Digits(ArrayDataset):
    """The 1,797 8x8 handwritten digits that scikit-learn ships (no download), 10 classes.

    Args:
        train: the training part (True) or the held-out test part (False) of a fixed split.
        size: side of the returned images; 8 keeps them as is, a larger value (28 for
            LeNet-5) upscales them with bilinear interpolation.
        test_fraction: share of each class held out for the test part.
        seed: seed of the split (the same seed always gives the same split).

    Pixels are scaled from sklearn's 0..16 to [0, 1].
    """

    def __init__(
        self, train: bool = True, size: int = 8, test_fraction: float = 0.2, seed: int = 0
    ) -> None:
        table = _sklearn_digits_table()
        images = (table[:, :64] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
        labels = table[:, 64].astype(np.int64)
        test_mask = _stratified_test_mask(labels, test_fraction, seed)
        keep = ~test_mask if train else test_mask
        images, labels = images[keep], labels[keep]
        if size != 8:
            from .transforms import resize

            images = resize(images, (size, size))
        super().__init__(images, labels, scale=1.0,
                         classes=[str(digit) for digit in range(10)])
        self.train = train


def _sklearn_digits_table() -> np.ndarray:
    """scikit-learn's ``datasets/data/digits.csv.gz``, (1797, 65): 64 pixels in 0..16, then the
    label; what ``sklearn.datasets.load_digits`` reads. Found without importing scikit-learn,
    which takes 1.5-2.5 s (SciPy with it) of a first run that lasts a few seconds."""
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as stream:
                table = np.loadtxt(stream, delimiter=",")
            if table.shape != (1797, 65):
                raise ValueError(f"Digits: {path} holds a {table.shape} table, expected "
                                 f"(1797, 65): a damaged scikit-learn install")
            return table
    raise ImportError("Digits needs scikit-learn, whose package ships the 8x8 digits: "
                      "pip install 'tinygradcnn[datasets]'")


def _stratified_test_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask choosing round(test_fraction * count) items of every class."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"Digits: test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        chosen = rng.permutation(members)[: int(round(test_fraction * members.size))]
        mask[chosen] = True
    return mask
