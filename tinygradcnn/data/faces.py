"""The Olivetti faces (the ORL database, AT&T Laboratories Cambridge, 1992-1994).

400 grey images (1, 64, 64) of 40 people, 10 each, in order: image `i` shows person
`i // 10`. Read from the MATLAB v5 file `olivettifaces.mat` (one variable `faces`, uint8
(4096, 400), each column an image flattened in column-major order), looked up like the
other data sets (`root`, else $TINYGRADCNN_DATA, else ~/.cache/tinygradcnn; in `root/` or
`root/olivetti-faces/`) and checked against its SHA-256 before it is parsed. Two copies
exist: Sam Roweis' original and the one scikit-learn's `fetch_olivetti_faces` downloads
(figshare), whose bytes differ; both are accepted, and a missing file is downloaded from
figshare when `download=True`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import numpy as np

from .datasets import DATA_ENV_VAR, ArrayDataset, ChecksumError, data_root, download_url

FILENAME = "olivettifaces.mat"
FOLDER = "olivetti-faces"
URL = "https://ndownloader.figshare.com/files/5976027"
SHA256 = {
    "b1988d02c72fe5b8ee82b5ef3bb7982eafc74f1e1ff0ae0ade35061ad0af534d": "Roweis' original",
    "b612fb967f2dc77c9c62d3e1266e0c73d5fca46a4b8906c18e454d41af987794": "scikit-learn's copy",
}
PEOPLE, IMAGES_PER_PERSON, SIDE = 40, 10, 64


def sha256sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: str | os.PathLike, accepted: dict[str, str]) -> None:
    """Raise ChecksumError unless the file's SHA-256 is one of `accepted`."""
    actual = sha256sum(path)
    if actual not in accepted:
        raise ChecksumError(
            f"{os.fspath(path)}: SHA-256 checksum mismatch (expected one of "
            f"{', '.join(accepted)}, got {actual}); the file is corrupt or incomplete - "
            "delete it and download it again"
        )


def read_olivetti_mat(path: str | os.PathLike) -> np.ndarray:
    """The faces of a verified `olivettifaces.mat` as uint8 (400, 64, 64), upright."""
    try:
        import scipy.io
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("OlivettiFaces needs scipy to read the .mat file: "
                          "pip install 'tinygradcnn[datasets]'") from err
    faces = scipy.io.loadmat(os.fspath(path))["faces"]
    expected = (SIDE * SIDE, PEOPLE * IMAGES_PER_PERSON)
    if faces.shape != expected:
        raise ValueError(f"OlivettiFaces: {os.fspath(path)} holds faces of shape {faces.shape}, "
                         f"expected {expected}")
    # columns are images flattened in MATLAB's column-major order: transpose back
    return np.ascontiguousarray(faces.T.reshape(-1, SIDE, SIDE).transpose(0, 2, 1))


class OlivettiFaces(ArrayDataset):
    """The 400 Olivetti faces: images (400, 1, 64, 64), float32 in [0, 1] when read, labels
    0..39 (image `i` is person `i // 10`).

    Args:
        root: folder holding `olivettifaces.mat` (or `olivetti-faces/olivettifaces.mat`);
            default $TINYGRADCNN_DATA, else ~/.cache/tinygradcnn.
        download: fetch scikit-learn's copy into `root/olivetti-faces/` when missing (its
            SHA-256 is checked before it is kept).
        transform, target_transform: per-item transforms, as in `ArrayDataset`.

    Use `olivetti_split` for the fixed train/test split of 5 images per person each.
    """

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        download: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
    ) -> None:
        self.root = data_root(root)
        images = read_olivetti_mat(self._verified_file(download))
        labels = np.arange(images.shape[0], dtype=np.int64) // IMAGES_PER_PERSON
        super().__init__(images, labels, scale=255.0,
                         classes=[f"person {k}" for k in range(PEOPLE)],
                         transform=transform, target_transform=target_transform)

    def _verified_file(self, download: bool) -> str:
        candidates = [os.path.join(self.root, FILENAME),
                      os.path.join(self.root, FOLDER, FILENAME)]
        for path in candidates:
            if os.path.isfile(path):
                check_sha256(path, SHA256)
                return path
        if not download:
            raise FileNotFoundError(
                f"OlivettiFaces: {FILENAME} not found in {candidates[0]} or {candidates[1]} "
                f"(pass root=..., set ${DATA_ENV_VAR}, or download=True)"
            )
        target = candidates[1]
        partial = target + ".download"
        try:
            download_url(URL, partial)
            check_sha256(partial, SHA256)
        except BaseException:
            if os.path.exists(partial):
                os.remove(partial)
            raise
        os.replace(partial, target)
        return target


def olivetti_split(labels: np.ndarray, train_per_person: int = 5, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, seeded split: for every person, `train_per_person` of their images to train
    and the rest to test. labels (N,) -> (train indices, test indices), each sorted; the same
    seed always gives the same split."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for person in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == person))
        if not 0 < train_per_person < members.size:
            raise ValueError(f"olivetti_split: train_per_person must be in 1..{members.size - 1} "
                             f"(person {person} has {members.size} images), got "
                             f"{train_per_person}")
        train.append(members[:train_per_person])
        test.append(members[train_per_person:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
