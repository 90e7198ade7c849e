"""The training loop: history, early stopping, atomic checkpoints, exact resume, the CLI."""

import json
import os

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import data, nn, optim
from tinygradcnn.__main__ import main
from tinygradcnn.data import transforms as T
from tinygradcnn.train import EarlyStopping, ModelCheckpoint, Trainer


@pytest.fixture(scope="module")
def digits():
    train, val = data.train_val_split(data.Digits(train=True), 0.2, seed=0)
    return train, val


def mlp(dropout=0.0):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(48, 10))


def run(digits, epochs, checkpoint=None, resume=None, callbacks=()):
    """A run with every source of randomness in play: init, shuffling, augmentation,
    dropout, momentum and a schedule."""
    tg.manual_seed(0)
    train, val = digits
    loader = data.DataLoader(train, 32, shuffle=True, transform=T.RandomAffine(10, 0.1))
    model = mlp(dropout=0.3)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = optim.StepLR(optimizer, step_size=2, gamma=0.5)
    callbacks = list(callbacks)
    if checkpoint is not None:
        callbacks.append(ModelCheckpoint(checkpoint))
    history = tg.fit(model, loader, epochs, optimizer, validation_data=data.DataLoader(val, 128),
                     callbacks=callbacks, scheduler=schedule, verbose=0, resume_from=resume)
    return model, optimizer, history


def test_fit_learns_digits_and_records_history(digits):
    tg.manual_seed(0)
    model = mlp()
    train, val = digits
    history = tg.fit(model, data.DataLoader(train, 32, shuffle=True, seed=0), 4,
                     optim.Adam(model.parameters(), lr=3e-3), validation_data=val, verbose=0)
    assert len(history) == 4 and history.epoch == [0, 1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "images_per_second"):
        assert len(history[key]) == 4, key
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.85
    assert tg.evaluate(model, val)["accuracy"] == history["val_accuracy"][-1]


def test_resume_continues_bit_for_bit(digits, tmp_path):
    straight, straight_opt, straight_history = run(digits, 4)
    run(digits, 2, checkpoint=tmp_path / "ckpt.npz")
    resumed, resumed_opt, resumed_history = run(digits, 4, resume=tmp_path / "ckpt.npz")
    for name, value in straight.state_dict().items():
        assert np.array_equal(value, resumed.state_dict()[name]), name
    assert straight_history.history["val_loss"] == resumed_history.history["val_loss"]
    assert straight_opt.param_groups[0]["lr"] == resumed_opt.param_groups[0]["lr"]


class ScriptedTrainer:
    """Just what EarlyStopping touches: a model, an epoch counter, a stop flag and a log."""

    def __init__(self):
        self.model = nn.Linear(2, 1)
        self.epoch = 0
        self.stop_training = False
        self.resumed = False
        self.messages = []

    def log(self, message):
        self.messages.append(message)


def test_early_stopping_waits_patience_epochs_and_restores_the_best_weights():
    trainer = ScriptedTrainer()
    stopper = EarlyStopping("val_loss", patience=2, min_delta=0.01)
    stopper.on_train_begin(trainer)
    best_weights = None
    for epoch, val_loss in enumerate([1.0, 0.5, 0.495, 0.6, 0.3]):
        with tg.no_grad():
            trainer.model.weight.fill_(float(epoch))
        if epoch == 1:
            best_weights = trainer.model.state_dict()
        trainer.epoch = epoch + 1
        stopper.on_epoch_end(trainer, epoch, {"val_loss": val_loss})
        if trainer.stop_training:
            break
    assert epoch == 3 and stopper.best_epoch == 1  # 0.495 is not better by min_delta
    stopper.on_train_end(trainer)
    assert np.array_equal(trainer.model.weight.numpy(), best_weights["weight"])
    assert "epoch 2" in trainer.messages[-1]


def test_early_stopping_ends_fit_early(digits):
    tg.manual_seed(0)
    model = mlp()
    train, val = digits
    optimizer = optim.SGD(model.parameters(), lr=0.0)  # nothing improves
    history = tg.fit(model, data.DataLoader(train, 64), 20, optimizer, validation_data=val,
                     callbacks=[EarlyStopping(patience=2, verbose=False)], verbose=0)
    assert len(history) == 3


def test_early_stopping_names_missing_metrics():
    trainer = ScriptedTrainer()
    with pytest.raises(KeyError, match="'val_loss' is not in the logs"):
        EarlyStopping().on_epoch_end(trainer, 0, {"loss": 1.0})


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


def test_model_checkpoint_formats_the_epoch_and_can_save_weights_only(digits, tmp_path):
    model = mlp()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      None, [], "cpu", 0.0, 0)
    checkpoint = ModelCheckpoint(tmp_path / "w-{epoch}.npz", save_weights_only=True)
    checkpoint.on_epoch_end(trainer, 2, {"val_loss": 1.0})
    loaded = tg.load(tmp_path / "w-3.npz")
    assert list(loaded) == list(model.state_dict())
    best_only = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    best_only.on_epoch_end(trainer, 0, {"val_loss": 1.0})
    os.remove(tmp_path / "best.npz")
    best_only.on_epoch_end(trainer, 1, {"val_loss": 2.0})
    assert not (tmp_path / "best.npz").exists()


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


def test_history_plot_and_json(tmp_path):
    pytest.importorskip("matplotlib")
    history = tg.History()
    for epoch in range(3):
        history.append(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + 0.1 * epoch,
                               "val_loss": 1.2 / (epoch + 1), "val_accuracy": 0.5})
    history.plot(tmp_path / "curves.png")
    history.to_json(tmp_path / "history.json")
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert json.loads((tmp_path / "history.json").read_text())["epoch"] == [0, 1, 2]


def test_cli_trains_digits_for_one_epoch(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "confusion matrix" in printed
    for name in ("weights.npz", "checkpoint.npz", "history.json", "results.json",
                 "confusion_matrix.txt"):
        assert (out / name).exists(), name
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] > 0.3
    matrix = np.array(results["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == len(data.Digits(train=False))
    assert np.trace(matrix) / matrix.sum() == pytest.approx(results["test_accuracy"])
    assert results["args"]["image_size"] == 28 and results["args"]["augment"] is True
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    for name in ("learning_curves.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 1000, name
    weights = tg.load(out / "weights.npz")
    assert "features.0.weight" in weights


def test_cli_summary_prints_the_layer_table(capsys):
    assert main(["summary", "--model", "lenet5", "--input-size", "8"]) == 0
    assert "Total params: 21,386" in capsys.readouterr().out


def test_fit_accepts_a_data_set_and_the_keras_loss_alias(digits):
    tg.manual_seed(0)
    model = mlp()
    train, _ = digits
    history = tg.fit(model, train, 1, optim.SGD(model.parameters(), lr=0.1),
                     loss=nn.CrossEntropyLoss(label_smoothing=0.1), verbose=0, batch_size=128)
    assert len(history) == 1 and "val_loss" not in history.history
