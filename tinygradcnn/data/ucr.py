"""UCR/UEA time-series classification archives in the `.ts` format (sktime's and aeon's).

A `.ts` file is a header of `@` lines, then one case per line after `@data`:
dimensions separated by `:`, values in a dimension by `,`, the class label last:

    @problemName GunPoint
    @univariate true
    @equalLength true
    @classLabel true 1 2
    @data
    -0.65,-0.64,-0.64,...,-0.64:2

`UCRDataset(name)` looks for `<name>/<name>_TRAIN.ts` and `_TEST.ts` in `root`, else in
$TINYGRADCNN_DATA (also under `ucr/`), else inside an installed aeon, whose wheel ships a
few archives (GunPoint, ArrowHead, JapaneseVowels, ItalyPowerDemand, BasicMotions, OSULeaf,
...) in `aeon/datasets/data/`. aeon is found with `importlib.util.find_spec` and never
imported: aeon 1.6 pins numba < 0.64, which clashes with ours, so it is installed with
`pip install --no-deps aeon==1.6.0` (pyproject.toml says why there is no extra) and only its
data files are read.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from .dataset import Dataset
from .datasets import DATA_ENV_VAR

# archives inside the aeon 1.6.0 wheel that the `sequence` command knows
AEON_ARCHIVES = ("ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand",
                 "JapaneseVowels", "OSULeaf")


def parse_ts(lines) -> tuple[list[np.ndarray], list[str], dict[str, str]]:
    """Parse the text of a `.ts` file (an iterable of lines).

    Returns (series, labels, header): one float32 (C, T_i) array per case (lengths may differ
    when `@equalLength false`), the class label of each case as written, and the header's
    `@key value` pairs (keys lower-case, without the `@`). Missing values (`?`) become NaN.
    """
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise ValueError(f"parse_ts: line {number} is neither a @ header line nor "
                                 f"after @data: {line[:60]!r}")
            key, _, value = line[1:].partition(" ")
            if key.lower() == "data":
                in_data = True
            else:
                header[key.lower()] = value.strip()
            continue
        *dimensions, label = line.split(":")
        if not dimensions:
            raise ValueError(f"parse_ts: line {number} has no ':' before its class label")
        try:
            values = [np.array([np.nan if v.strip() == "?" else float(v)
                                for v in d.split(",")], dtype=np.float32)
                      for d in dimensions]
        except ValueError as err:
            raise ValueError(f"parse_ts: line {number}: {err}") from None
        if len({len(v) for v in values}) != 1:
            raise ValueError(f"parse_ts: line {number}: its {len(values)} dimensions have "
                             f"different lengths {[len(v) for v in values]}")
        series.append(np.stack(values))
        labels.append(label.strip())
    if not in_data:
        raise ValueError("parse_ts: no @data line")
    if header.get("classlabel", "true").split()[0].lower() != "true":
        raise ValueError("parse_ts: '@classLabel false': not a classification problem")
    if len({s.shape[0] for s in series}) > 1:
        raise ValueError("parse_ts: cases have different numbers of dimensions")
    return series, labels, header


def pad_series(series: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Stack (C, T_i) series into (N, C, length) float32, shorter ones padded at the end with
    their last value repeated (`length` defaults to the longest). Repeating the last value
    rather than zeros keeps a padded series from ending in a step that the convolutions
    would read as a feature (zeros are a real level in z-normalised data)."""
    length = max(s.shape[1] for s in series) if length is None else int(length)
    out = np.empty((len(series), series[0].shape[0], length), dtype=np.float32)
    for k, s in enumerate(series):
        t = min(s.shape[1], length)
        out[k, :, :t] = s[:, :t]
        out[k, :, t:] = s[:, t - 1:t]
    return out


def aeon_data_dir() -> str | None:
    """The `datasets/data` folder of an installed aeon, found without importing aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")


def available_archives(root: str | os.PathLike | None = None) -> list[str]:
    """Names of the archives found where `UCRDataset` looks (sorted)."""
    names: set[str] = set()
    for folder in _search_folders(root):
        if os.path.isdir(folder):
            names.update(name for name in os.listdir(folder)
                         if os.path.isfile(os.path.join(folder, name, f"{name}_TRAIN.ts")))
    return sorted(names)


def _search_folders(root) -> list[str]:
    folders = []
    for base in ([os.fspath(root)] if root is not None else []) + (
            [os.environ[DATA_ENV_VAR]] if os.environ.get(DATA_ENV_VAR) else []):
        folders += [base, os.path.join(base, "ucr")]
    aeon = aeon_data_dir()
    return folders + ([aeon] if aeon else [])


def find_ts_file(name: str, split: str, root: str | os.PathLike | None = None) -> str:
    """Path of `<name>/<name>_<split>.ts` (split TRAIN or TEST) in `root`, $TINYGRADCNN_DATA
    (or its `ucr/`), then aeon's data folder; a clear error when it is in none of them."""
    folders = _search_folders(root)
    for folder in folders:
        for path in (os.path.join(folder, name, f"{name}_{split}.ts"),
                     os.path.join(folder, f"{name}_{split}.ts")):
            if os.path.isfile(path):
                return path
    known = available_archives(root)
    hint = "" if aeon_data_dir() else (" (aeon's wheel ships some: pip install --no-deps "
                                       "aeon==1.6.0)")
    raise FileNotFoundError(f"UCRDataset: no {name}_{split}.ts in {', '.join(folders) or 'any'}"
                            f" folder; found: {', '.join(known) or 'none'}{hint}")


class UCRDataset(Dataset):
    """A UCR/UEA classification archive: `dataset[i]` -> ((C, T) float32 series, int64 label).

    Args:
        name: the archive, as the files are named (GunPoint, ArrowHead, JapaneseVowels, ...).
        train: the `_TRAIN` split, else `_TEST`.
        root: a folder holding `<name>/<name>_TRAIN.ts` (or the files themselves); default
            $TINYGRADCNN_DATA, then an installed aeon's data folder.
        length: pad (or cut) every series to this length; default the longest of the split.
            Unequal-length archives (JapaneseVowels: 7 to 29 frames) are padded by repeating
            each series' last value (`pad_series`); pass the train split's `length` to the
            test split so both have the same T.

    Attributes: `series` (N, C, T) float32, `labels` (N,) int64 (0..K-1 in the order of the
    header's `@classLabel` list), `classes` (the K labels as written), `lengths` (N,) the
    true lengths, `header` the `@` lines. Indexing by an array gives whole batches.
    """

    indexable_by_array = True

    def __init__(self, name: str, train: bool = True, root: str | os.PathLike | None = None,
                 length: int | None = None) -> None:
        self.name, self.train = name, train
        self.path = find_ts_file(name, "TRAIN" if train else "TEST", root)
        with open(self.path, encoding="utf-8", errors="replace") as f:
            series, labels, self.header = parse_ts(f)
        declared = self.header.get("classlabel", "").split()[1:]
        self.classes = declared or sorted(set(labels))
        unknown = sorted(set(labels) - set(self.classes))
        if unknown:
            raise ValueError(f"UCRDataset: {self.path} has labels {unknown} not in its "
                             f"@classLabel list {self.classes}")
        index = {label: k for k, label in enumerate(self.classes)}
        self.labels = np.array([index[label] for label in labels], dtype=np.int64)
        self.lengths = np.array([s.shape[1] for s in series], dtype=np.int64)
        self.series = pad_series(series, length)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.series[index], self.labels[index]

    def __repr__(self) -> str:
        n, c, t = self.series.shape
        return (f"UCRDataset({self.name!r}, train={self.train}: {n} series, {c} channel(s), "
                f"length {t}, {self.num_classes} classes)")
