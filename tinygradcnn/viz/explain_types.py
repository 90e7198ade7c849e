"""What every view of `python -m tinygradcnn explain` receives and returns."""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ExplainContext:
    """The trained model and the data a view works on.

    model: a tinygradcnn nn.Module in eval mode; images: (N, C, H, W) float32, already in the
    form the model takes; labels: (N,) int64; index: the image the views look at;
    class_names: one name per class; out_dir: where views write files; layer: a layer name
    chosen by the user (or None: the view's default); quick: a short version (CI, previews);
    seed: for anything random.
    """

    model: Any
    images: np.ndarray
    labels: np.ndarray
    index: int
    class_names: list[str]
    out_dir: pathlib.Path
    layer: str | None = None
    quick: bool = False
    seed: int = 0


@dataclass
class ViewResult:
    """What a view made: a terminal text, the files it wrote, and a paragraph for the report.

    about: what the picture shows and what to notice (a short paragraph, plain text).
    """

    name: str
    title: str
    text: str
    files: list[pathlib.Path] = field(default_factory=list)
    about: str = ""
