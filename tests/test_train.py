"""The training loop: history, early stopping, atomic checkpoints, exact resume, the CLI."""

import json
import os

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import data, nn, optim
from tinygradcnn.__main__ import main
from tinygradcnn.data import transforms as T
from tinygradcnn.train import EarlyStopping, ModelCheckpoint, Trainer, metrics


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


class NaNAt:
    """CrossEntropyLoss whose value turns NaN at the given (1-based) training call."""

    def __init__(self, call):
        self.call, self.calls = call, 0
        self.loss = nn.CrossEntropyLoss()

    def __call__(self, output, labels):
        self.calls += tg.is_grad_enabled()  # validation runs without gradients
        loss = self.loss(output, labels)
        return loss * float("nan") if self.calls == self.call else loss


def test_fit_stops_at_the_first_nan_loss_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    tg.manual_seed(0)
    train, val = digits
    model = mlp()
    loader = data.DataLoader(train, 128, shuffle=True, seed=0)  # 9 batches an epoch
    checkpoint = tmp_path / "ckpt.npz"
    with pytest.warns(RuntimeWarning, match="loss of batch 3 of epoch 2 is nan"):
        history = tg.fit(model, loader, 4, optim.SGD(model.parameters(), lr=0.1),
                         loss_fn=NaNAt(len(loader) + 3), validation_data=val, verbose=0,
                         callbacks=[ModelCheckpoint(checkpoint)])
    assert len(history) == 1 and all(np.isfinite(history["loss"]))
    assert "batch 3 of epoch 2" in history.notes[-1]
    for name, value in model.state_dict().items():  # the weights of the last finite step
        assert np.all(np.isfinite(value)), name
    saved = tg.load(checkpoint)
    assert saved["epoch"] == 1  # the file of epoch 1, never overwritten with NaN weights
    assert all(np.all(np.isfinite(value)) for value in saved["model"].values())


def test_terminate_on_nan_can_be_switched_off(digits):
    tg.manual_seed(0)
    train, _ = digits
    model = mlp()
    history = tg.fit(model, data.DataLoader(train, 256), 2, optim.SGD(model.parameters(), lr=0.1),
                     loss_fn=NaNAt(2), verbose=0, terminate_on_nan=False)
    assert len(history) == 2 and np.isnan(history["loss"][-1])


def test_fit_draws_the_shuffle_of_a_data_set_from_manual_seed(digits):
    def first_labels(seed):
        tg.manual_seed(seed)
        model = mlp()
        seen = []
        loss = nn.CrossEntropyLoss()

        def recording_loss(output, labels):
            seen.append(labels.numpy().copy())
            return loss(output, labels)

        tg.fit(model, digits[0], 2, optim.SGD(model.parameters(), lr=0.0), verbose=0,
               loss_fn=recording_loss, batch_size=512)
        return np.concatenate(seen)

    assert np.array_equal(first_labels(0), first_labels(0))
    assert not np.array_equal(first_labels(0), first_labels(1))


class Batches:
    """Ready-made (output-shaped) batches: any iterable with a length can feed fit."""

    def __init__(self, images, labels, batch_size):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __len__(self):
        return -(-len(self.images) // self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.images), self.batch_size):
            yield (tg.tensor(self.images[start:start + self.batch_size]),
                   tg.tensor(self.labels[start:start + self.batch_size]))


def test_fit_logs_binary_accuracy_for_bce_with_logits():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(256, 4)).astype(np.float32)
    labels = (images[:, :1] > 0).astype(np.float32)  # (N, 1) float targets
    model = nn.Linear(4, 1)
    batches = Batches(images, labels, 64)
    history = tg.fit(model, batches, 5, optim.SGD(model.parameters(), lr=0.5),
                     loss_fn=nn.BCEWithLogitsLoss(), validation_data=batches, verbose=0)
    assert history["accuracy"][-1] > 0.9 and history["val_accuracy"][-1] > 0.9
    assert history.notes == []


def test_fit_says_once_why_there_is_no_accuracy():
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(128, 4)).astype(np.float32)
    targets = images.sum(axis=1, keepdims=True)  # a regression: (N, 1) float targets
    model = nn.Linear(4, 1)
    batches = Batches(images, targets, 32)
    with pytest.warns(UserWarning, match="no accuracy in the logs.*no class scores") as caught:
        history = tg.fit(model, batches, 3, optim.SGD(model.parameters(), lr=0.05),
                         loss_fn=nn.MSELoss(), verbose=0)
    assert len([w for w in caught if "no accuracy" in str(w.message)]) == 1
    assert "accuracy" not in history.history and len(history.notes) == 1
    with pytest.warns(UserWarning, match="no accuracy"), \
            pytest.raises(KeyError, match="'val_accuracy' is not in the logs.*no class scores"):
        tg.fit(model, batches, 1, optim.SGD(model.parameters(), lr=0.05), loss_fn=nn.MSELoss(),
               validation_data=batches, verbose=0,
               callbacks=[EarlyStopping("val_accuracy", verbose=False)])
    with pytest.warns(UserWarning, match="evaluate: no accuracy"):
        assert set(tg.evaluate(model, batches, nn.MSELoss())) == {"loss"}


def test_count_correct_reads_class_scores_pixels_and_thresholds():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]], np.float32)
    assert metrics.count_correct(logits, np.array([0, 2])) == (1, 2)
    pixels = np.zeros((1, 3, 2, 2), np.float32)
    pixels[0, 2] = 1.0  # every pixel guesses class 2
    assert metrics.count_correct(pixels, np.array([[[2, 2], [0, 2]]])) == (3, 4)
    assert metrics.count_correct(np.array([[1.0], [-1.0]]), np.array([[1.0], [1.0]]),
                                 threshold=0.0) == (1, 2)
    assert metrics.accuracy(tg.tensor(logits), tg.tensor(np.array([0, 1]))) == 1.0
    with pytest.raises(ValueError, match=r"output \(2, 3\) with float32 labels \(2,\) is not "
                                         "classification"):
        metrics.count_correct(logits, np.array([0.0, 1.0], np.float32))
    with pytest.raises(ValueError, match=r"output of shape \(2, 1\) holds no class scores"):
        metrics.count_correct(np.ones((2, 1)), np.array([0, 1]))  # one column: a regression


def test_resume_refuses_callbacks_the_checkpoint_has_no_state_for(digits, tmp_path):
    checkpoint = tmp_path / "ckpt.npz"
    run(digits, 1, checkpoint=checkpoint)
    with pytest.raises(ValueError, match=r"EarlyStopping have no state in the checkpoint, "
                                         r"which holds the state of \[ModelCheckpoint\]"):
        run(digits, 2, checkpoint=tmp_path / "again.npz", resume=checkpoint,
            callbacks=[EarlyStopping(patience=2)])


def test_resume_refuses_an_early_stopping_that_monitors_something_else(digits, tmp_path):
    checkpoint = tmp_path / "ckpt.npz"
    run(digits, 1, checkpoint=checkpoint, callbacks=[EarlyStopping("val_loss")])
    with pytest.raises(ValueError, match="monitors 'val_loss' \\(mode 'min'\\), this callback "
                                         "monitors 'val_accuracy' \\(mode 'max'\\)"):
        run(digits, 2, checkpoint=checkpoint, resume=checkpoint,
            callbacks=[EarlyStopping("val_accuracy")])


def test_resume_restores_each_callback_from_its_own_state(digits, tmp_path):
    """Dropping a callback on resume must not shift the others onto its state."""
    checkpoint = tmp_path / "ckpt.npz"
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    run(digits, 2, checkpoint=checkpoint, callbacks=[EarlyStopping(patience=5), best])
    again = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    tg.manual_seed(0)
    model = mlp(dropout=0.3)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      nn.CrossEntropyLoss(), None, [again], "cpu", 0.0, 0)
    trainer.restore(tg.load(checkpoint))
    assert again.best == best.best and trainer.epoch == 2


def test_plots_live_in_viz_and_stay_importable_from_train(tmp_path):
    pytest.importorskip("matplotlib")
    from tinygradcnn import train, viz

    assert train.plot_confusion_matrix is viz.plot_confusion_matrix
    figure = viz.plot_learning_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]},
                                      tmp_path / "curves.png", title="two epochs")
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert len(figure.axes) == 2
    matrix = metrics.confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    assert matrix.tolist() == [[1, 1], [0, 1]]
    viz.plot_confusion_matrix(matrix, tmp_path / "confusion.png", ["cat", "dog"])
    assert (tmp_path / "confusion.png").stat().st_size > 1000


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_training_functions_name_themselves_for_an_unknown_device(call):
    model = nn.Linear(2, 2)
    run = {
        "fit": lambda: tg.fit(model, [], 1, optim.SGD(model.parameters(), lr=0.1), device="gpu"),
        "evaluate": lambda: tg.evaluate(model, [], device="gpu"),
        "predict": lambda: tg.train.predict(model, [], device="gpu"),
    }[call]
    with pytest.raises(ValueError, match=f"{call}: unknown device 'gpu'"):
        run()
