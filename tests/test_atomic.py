"""Files are written all or nothing (tinygradcnn/atomic.py): a failure mid-write keeps the
old file and leaves no temporary file behind."""

import json
import os

import pytest

from tinygradcnn import atomic


def test_a_write_replaces_the_file_and_makes_its_folder(tmp_path):
    path = tmp_path / "new" / "folder" / "results.json"
    atomic.write_json(path, {"test_accuracy": 0.99, "epochs": [1, 2]})
    assert json.loads(path.read_text()) == {"test_accuracy": 0.99, "epochs": [1, 2]}
    atomic.atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert os.listdir(path.parent) == ["results.json"]
    # the mode a plain open() gives, not the temporary file's private 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    path.write_bytes(b"the old file")

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic.atomic_write_bytes(path, b"half a new file")
    assert path.read_bytes() == b"the old file"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_file_object_is_written_to(tmp_path):
    with open(tmp_path / "out.bin", "wb") as f:
        atomic.atomic_write_bytes(f, b"abc")
    assert (tmp_path / "out.bin").read_bytes() == b"abc"


def test_a_figure_is_saved_in_the_format_of_its_extension(tmp_path):
    pytest.importorskip("matplotlib")
    from tinygradcnn.viz._figure import new_figure

    figure = new_figure("test", figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    atomic.save_figure(figure, tmp_path / "line.png", dpi=50)
    atomic.save_figure(figure, tmp_path / "line.svg", dpi=50)
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "line.svg").read_bytes()[:500]

    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("renderer failed")

    with pytest.raises(RuntimeError, match="renderer failed"):
        atomic.save_figure(Broken(), tmp_path / "line.png", dpi=50)
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["line.png", "line.svg"]
