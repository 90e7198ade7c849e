"""Weight files: atomic writes, nested checkpoints, clear errors for damaged files, and
state dicts from older PyTorch versions."""

import os

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import nn


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    model = mlp()
    tg.save(model.state_dict(), path)
    good = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        tg.save(mlp().state_dict(), path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["weights.npz"]


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_save_and_load_nested_state(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    state = {"epoch": 3, "model": mlp().state_dict(), "rng": tg.get_rng_state(),
             "optimizer": {"state": {0: {"step": 2, "buf": np.ones(3)}}, "betas": (0.9, 0.99)},
             "note": None}
    tg.save(state, tmp_path / f"ckpt{suffix}")
    loaded = tg.load(tmp_path / f"ckpt{suffix}")
    assert loaded["epoch"] == 3 and loaded["note"] is None and loaded["rng"] == state["rng"]
    assert loaded["optimizer"]["state"][0]["step"] == 2
    assert loaded["optimizer"]["betas"] == (0.9, 0.99)
    assert np.array_equal(loaded["optimizer"]["state"][0]["buf"], np.ones(3))
    for name, value in state["model"].items():
        assert np.array_equal(loaded["model"][name], value)
    flat = mlp().state_dict()
    tg.save(flat, tmp_path / f"flat{suffix}")
    assert list(tg.load(tmp_path / f"flat{suffix}")) == list(flat)


def _damaged(good: bytes, how: str) -> bytes:
    middle = len(good) // 2
    return {"truncated": good[:middle], "last byte lost": good[:-1], "empty": b"",
            "not this format": b"hello, world\n" * 20,
            "a flipped byte": good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1:],
            }[how]


DAMAGES = ["truncated", "last byte lost", "empty", "not this format"]


# a flipped byte is caught by the zip archive's CRC; safetensors has no checksum, so there
# a flipped data byte just loads as another value
@pytest.mark.parametrize("suffix,how", [(".npz", how) for how in [*DAMAGES, "a flipped byte"]]
                         + [(".safetensors", how) for how in DAMAGES])
@pytest.mark.parametrize("nested", [False, True])
def test_a_damaged_weight_file_is_one_clear_value_error(tmp_path, suffix, how, nested):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    path = tmp_path / f"weights{suffix}"
    state = mlp().state_dict()
    tg.save({"model": state, "epoch": 2} if nested else state, path)
    path.write_bytes(_damaged(path.read_bytes(), how))
    with pytest.raises(ValueError, match=f"load: .*weights\\{suffix} .* is not a readable "
                                         f"\\{suffix} file") as error:
        tg.load(path)
    assert "truncated" in str(error.value)


def test_a_missing_weight_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "nothing.npz")


def test_load_state_dict_accepts_a_file_without_num_batches_tracked():
    """PyTorch < 0.4.1 wrote BatchNorm without num_batches_tracked; PyTorch loads such a
    file even with strict=True, keeping the buffer's value. Other missing keys still fail."""
    source = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    source.train()
    source(tg.randn(4, 1, 5, 5))
    old = {name: value for name, value in source.state_dict().items()
           if not name.endswith("num_batches_tracked")}
    target = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    result = target.load_state_dict(old)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert np.array_equal(target[1].running_mean.numpy(), source[1].running_mean.numpy())
    assert int(target[1].num_batches_tracked.item()) == 0
    del old["1.running_var"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "1.running_var"'):
        target.load_state_dict(old)


def test_num_batches_tracked_is_optional_as_in_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(2)
    state = {name: value for name, value in theirs.state_dict().items()
             if name != "num_batches_tracked"}
    theirs.load_state_dict(state)  # PyTorch accepts it under strict=True
    ours = nn.BatchNorm2d(2)
    ours.load_state_dict({name: value.numpy() for name, value in state.items()})
