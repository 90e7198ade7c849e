"""The model graph (boxes, shapes, parameter counts, skips) and the overfitting board."""

from __future__ import annotations

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn import nn
from tinygradcnn.models import LeNet5
from tinygradcnn.viz import board as board_module
from tinygradcnn.viz.board import STRATEGIES, overfitting_board, plot_overfitting_board
from tinygradcnn.viz.explain_types import ExplainContext
from tinygradcnn.viz.graph import (
    INPUT,
    format_model_graph,
    model_graph,
    plot_model_graph,
    view_graph,
)


class BasicBlock(nn.Module):
    """A ResNet basic block: two 3x3 convs, the input (or its 1x1 projection) added back."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class PlainBlock(nn.Module):
    """Named like a block, but nothing skips: it must not be drawn with a skip."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu()


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(4, 4), BasicBlock(4, 8, stride=2))
        self.plain = PlainBlock()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.plain(self.layer1(self.stem(x)))
        return self.fc(self.pool(x).flatten(1))


def test_lenet_graph_is_a_chain_with_its_shapes_and_parameter_counts():
    model = LeNet5(input_size=28)
    nodes = model_graph(model, (1, 28, 28))
    assert [n.name for n in nodes][:3] == ["features.0", "features.1", "features.2"]
    assert [n.kind for n in nodes] == ["Conv2d", "ReLU", "MaxPool2d"] * 2 + [
        "Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert nodes[0].sources == [INPUT]
    assert all(n.sources == [n.index - 1] for n in nodes[1:])
    assert nodes[3].output_shape == (16, 10, 10) and nodes[3].parameters == 5 * 5 * 6 * 16 + 16
    assert nodes[6].output_shape == (400,)
    assert sum(n.parameters for n in nodes) == model.num_parameters()
    assert not any(n.residual or n.merge for n in nodes)


def test_residual_blocks_collapse_with_their_skip_and_expand_into_additions():
    tg.manual_seed(0)
    model = TinyResNet()
    model.train()
    collapsed = model_graph(model, (3, 8, 8))
    assert [(n.name, n.kind, n.residual) for n in collapsed] == [
        ("stem", "Conv2d", False), ("layer1.0", "BasicBlock", True),
        ("layer1.1", "BasicBlock", True), ("plain", "PlainBlock", False),
        ("pool", "AdaptiveAvgPool2d", False), ("fc", "Linear", False)]
    assert collapsed[2].output_shape == (8, 4, 4) and collapsed[2].layers == 7
    assert sum(n.parameters for n in collapsed) == model.num_parameters()

    expanded = model_graph(model, (3, 8, 8), expand=True)
    by_name = {n.name: n for n in expanded}
    # the second call of the block's ReLU adds the block's output and its input
    first_add = by_name["layer1.0.relu #2"]
    assert first_add.merge == "add"
    assert first_add.sources == [by_name["stem"].index, by_name["layer1.0.bn2"].index]
    second_add = by_name["layer1.1.relu #2"]
    assert second_add.sources == [by_name["layer1.1.bn2"].index,
                                  by_name["layer1.1.downsample.1"].index]
    assert by_name["layer1.1.downsample.0"].sources == [first_add.index]
    assert sum(n.parameters for n in expanded) == model.num_parameters()
    assert model.training and all(p.grad is None for p in model.parameters())


def test_graph_pictures_and_table(tmp_path):
    tg.manual_seed(0)
    nodes = model_graph(TinyResNet(), (3, 8, 8), expand=True)
    figure = plot_model_graph(nodes, tmp_path / "g.png", title="tiny", input_shape=(3, 8, 8),
                              rows_per_column=10)
    assert (tmp_path / "g.png").stat().st_size > 5000
    assert figure.get_size_inches()[0] > 2 * figure.get_size_inches()[1] / 3  # columns
    table = format_model_graph(nodes)
    assert "add(" in table and "layer1.0.relu #2" in table


def test_graph_view(tmp_path):
    tg.manual_seed(0)
    ctx = ExplainContext(LeNet5(input_size=8).eval(), np.zeros((2, 1, 8, 8), np.float32),
                         np.array([0, 1]), index=0, class_names=list("0123456789"),
                         out_dir=tmp_path)
    result = view_graph(ctx)
    assert result.name == "graph" and result.files == [tmp_path / "graph.png"]
    assert "features.3" in result.text and "12 boxes" in result.text


def test_graph_of_a_model_ending_in_an_op_outside_any_layer():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv(x).relu().flatten(1)

    nodes = model_graph(Net(), np.zeros((1, 5, 5), np.float32))
    assert [n.name for n in nodes] == ["conv", "output"] and nodes[1].sources == [0]
    assert nodes[1].output_shape == (18,)
    with pytest.raises(ValueError, match="one image"):
        model_graph(Net(), np.zeros((2, 1, 5, 5), np.float32))


@pytest.fixture(scope="module")
def quick_board():
    return overfitting_board(quick=True)


def test_quick_board_runs_the_baseline_and_eight_strategies(quick_board):
    board = quick_board
    assert [run.strategy for run in board.runs] == list(STRATEGIES) and len(board.runs) == 8
    lines = board.table().splitlines()
    assert len(lines) == 2 + 9 and lines[2].startswith("baseline")
    assert [line.split("  ")[0].strip() for line in lines[3:]] == list(STRATEGIES)
    for run in [board.baseline, *board.runs]:
        assert 1 <= run.epochs <= board.epochs
        assert len(run.loss) == len(run.accuracy) == len(run.val_accuracy) == run.epochs
    by_name = {run.strategy: run for run in board.runs}
    assert by_name["pooling"].parameters < board.baseline.parameters
    assert by_name["batch norm"].parameters == board.baseline.parameters + 2 * (8 + 16)


def test_baseline_gap_is_its_clean_training_accuracy_minus_its_validation_accuracy(quick_board):
    board = quick_board
    baseline = board.baseline
    train = tg.evaluate(baseline.model, board.train_set)["accuracy"]
    val = tg.evaluate(baseline.model, board.val_set)["accuracy"]
    assert baseline.accuracy[-1] == pytest.approx(train)
    assert baseline.val_accuracy[-1] == pytest.approx(val) == baseline.final_val_accuracy
    assert baseline.gap == pytest.approx(train - val)
    assert baseline.best_epoch == int(np.argmin(baseline.val_loss))
    assert f"{100 * (train - val):+.1f}" in board.table().splitlines()[2]


def test_every_run_starts_from_the_same_weights_and_early_stopping_keeps_its_best(quick_board):
    board = quick_board
    early = next(run for run in board.runs if run.strategy == "early stopping")
    n = early.epochs
    np.testing.assert_allclose(early.val_loss, board.baseline.val_loss[:n])
    assert early.final_val_accuracy == pytest.approx(early.val_accuracy[early.best_epoch])


def test_board_picture_and_view(quick_board, tmp_path, monkeypatch):
    figure = plot_overfitting_board(quick_board, tmp_path / "board.png")
    assert len(figure.axes) == 10 and (tmp_path / "board.png").stat().st_size > 20000
    calls = []

    def fake_board(dataset, **kwargs):
        calls.append((dataset, kwargs))
        return quick_board

    monkeypatch.setattr(board_module, "overfitting_board", fake_board)
    ctx = ExplainContext(None, np.zeros((4, 1, 8, 8), np.float32), np.zeros(4, np.int64),
                         index=0, class_names=list("0123456789"), out_dir=tmp_path,
                         quick=True, seed=3)
    result = board_module.view_overfitting(ctx)
    assert calls == [(None, {"quick": True, "seed": 3, "image_size": None, "verbose": False})]
    assert result.name == "overfitting" and result.files == [tmp_path / "overfitting.png"]
    assert "early stopping" in result.text and "best remedy here" in result.text


def test_board_refuses_unknown_strategies_and_too_little_data():
    with pytest.raises(ValueError, match="unknown strategies.*valid: dropout"):
        overfitting_board(quick=True, strategies=["mixup"])
    few = tg.data.ArrayDataset(np.zeros((10, 1, 8, 8), np.float32), np.zeros(10, np.int64))
    with pytest.raises(ValueError, match="has 10 images, fewer than"):
        overfitting_board(few, quick=True)
