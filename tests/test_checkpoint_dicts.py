"""tg.save/tg.load of checkpoint dicts as PyTorch users write them: what was saved comes
back (Tensors as Tensors, tuples, int keys), map_location, weights_only, file objects."""

import io

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import nn, optim


def _checkpoint():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = ((model(tg.randn(5, 4)) ** 2).mean())
    loss.backward()
    optimizer.step()
    return model, {"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "loss": 0.25, "last_loss": loss.detach(), "done": False, "note": None,
                   "sizes": (4, 3, 2), "history": [1.5, 0.5], "by_class": {0: "zero", 7: 7.0},
                   "pairs": {(0, 1): "edge"}, "mask": np.array([True, False])}


@pytest.mark.parametrize("name", ["ckpt.pt", "ckpt.pth", "ckpt.npz"])
def test_a_pytorch_style_checkpoint_round_trips(tmp_path, name):
    model, checkpoint = _checkpoint()
    tg.save(checkpoint, tmp_path / name)
    loaded = tg.load(tmp_path / name)
    assert loaded.keys() == checkpoint.keys()
    for key in ("epoch", "loss", "done", "note", "sizes", "history", "by_class", "pairs"):
        assert loaded[key] == checkpoint[key] and type(loaded[key]) is type(checkpoint[key])
    assert isinstance(loaded["last_loss"], tg.Tensor)
    assert loaded["last_loss"].item() == checkpoint["last_loss"].item()
    assert loaded["mask"].dtype == bool and loaded["mask"].tolist() == [True, False]
    fresh = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    fresh.load_state_dict(loaded["model"])
    x = tg.randn(2, 4)
    assert np.array_equal(fresh(x).numpy(), model(x).numpy())
    optimizer = optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    optimizer.load_state_dict(loaded["optimizer"])
    assert optimizer.state_dict().keys() == checkpoint["optimizer"].keys()


def test_map_location_and_weights_only_are_accepted(tmp_path):
    path = tmp_path / "t.pt"
    tg.save({"w": tg.ones(2), "b": np.zeros(1)}, path)
    for where in ("cpu", {"cpu": "cpu"}, lambda storage, location: storage):
        loaded = tg.load(path, map_location=where, weights_only=True)
        assert isinstance(loaded["w"], tg.Tensor) and loaded["w"].device == "cpu"
        assert isinstance(loaded["b"], np.ndarray)
    assert tg.load(path, weights_only=False)["w"].tolist() == [1.0, 1.0]


def test_save_and_load_through_a_file_object():
    buffer = io.BytesIO()
    tg.save({"epoch": 1, "w": tg.arange(3)}, buffer)
    buffer.seek(0)
    loaded = tg.load(buffer)
    assert loaded["epoch"] == 1 and loaded["w"].tolist() == [0, 1, 2]


def test_a_damaged_checkpoint_is_one_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    tg.save(_checkpoint()[1], path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="ckpt.pt .* is not a readable .npz file"):
        tg.load(path)
