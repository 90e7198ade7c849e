"""The installed package holds every subpackage of the source tree (pyproject lists them by hand,
because kernels/ is mapped to tinygradcnn.kernels)."""

import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _source_packages() -> set[str]:
    found = set()
    trees = ((ROOT / "tinygradcnn", "tinygradcnn"), (ROOT / "kernels", "tinygradcnn.kernels"))
    for top, prefix in trees:
        for init in top.rglob("__init__.py"):
            relative = init.parent.relative_to(top)
            if relative.parts[:1] == ("kernels",) or "__pycache__" in relative.parts:
                continue  # a checkout's tinygradcnn/kernels link to kernels/, counted once
            found.add(".".join((prefix, *relative.parts)))
    return found


def test_pyproject_lists_every_subpackage():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    assert _source_packages() - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - _source_packages() == set(), "these are listed but do not exist"
