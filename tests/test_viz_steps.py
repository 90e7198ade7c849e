"""The teaching views' numbers: conv/pool steps against F.conv2d and the pools, the shape
arithmetic and receptive fields, feature maps, the softmax ledger."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn import nn
from tinygradcnn.viz import steps as S


def _conv_reference(image, kernel, stride, padding, dilation, bias):
    x = tg.tensor(image.reshape(-1, *image.shape[-2:])[None], dtype=np.float64)
    w = tg.tensor(kernel.reshape(-1, *kernel.shape[-2:])[None], dtype=np.float64)
    b = tg.tensor(np.array([bias]), dtype=np.float64)
    return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation).numpy()[0, 0]


@given(st.data())
def test_conv_steps_make_the_map_of_conv2d(data):
    channels = data.draw(st.sampled_from([None, 1, 2]), label="channels")
    height, width = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    k_h, k_w = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    assume(height + 2 * padding[0] >= dilation[0] * (k_h - 1) + 1)
    assume(width + 2 * padding[1] >= dilation[1] * (k_w - 1) + 1)
    lead = () if channels is None else (channels,)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    image = rng.normal(size=(*lead, height, width))
    kernel = rng.normal(size=(*lead, k_h, k_w))
    bias = float(rng.normal())
    steps = S.conv_steps(image, kernel, stride, padding, bias, dilation)
    expected = _conv_reference(image, kernel, stride, padding, dilation, bias)
    assert len(steps) == expected.size
    assert [(s.row, s.col) for s in steps] == [(r, c) for r in range(expected.shape[0])
                                               for c in range(expected.shape[1])]
    np.testing.assert_allclose(S.output_map(steps), expected, rtol=1e-10, atol=1e-10)
    for step in steps:
        assert step.window.shape == kernel.shape
        np.testing.assert_allclose(step.products, step.window * kernel)
        assert step.value == pytest.approx(step.products.sum() + bias)


def test_conv_steps_window_reads_dilated_taps_and_zero_padding():
    image = np.arange(25.0).reshape(5, 5)
    steps = S.conv_steps(image, np.ones((2, 2)), padding=1, dilation=2)
    first = steps[0]
    # the window's corner is the padding: taps at padded (0,0), (0,2), (2,0), (2,2)
    np.testing.assert_array_equal(first.window, [[0.0, 0.0], [0.0, image[1, 1]]])
    assert (first.top, first.left) == (0, 0)
    assert S.output_map(steps).shape == (5, 5)


def test_conv_steps_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"conv_steps: .*image \(5, 5\) and kernel \(2, 3, 3\)"):
        S.conv_steps(np.zeros((5, 5)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="does not fit the padded image 2x2"):
        S.conv_steps(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(TypeError, match="conv_steps: stride"):
        S.conv_steps(np.zeros((4, 4)), np.zeros((3, 3)), stride=1.5)


POOLS = {"max": F.max_pool2d, "avg": F.avg_pool2d, "sum": F.sum_pool2d}


@given(st.data())
def test_pool_steps_match_the_pools(data):
    kind = data.draw(st.sampled_from(sorted(POOLS)), label="kind")
    kernel = data.draw(st.integers(1, 3), label="kernel")
    stride = data.draw(st.sampled_from([None, 1, 2, 3]), label="stride")
    height, width = data.draw(st.integers(kernel, 7)), data.draw(st.integers(kernel, 7))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    fmap = rng.normal(size=(height, width))
    steps = S.pool_steps(fmap, kind, kernel, stride)
    x = tg.tensor(fmap[None, None], dtype=np.float64)
    expected = POOLS[kind](x, kernel, stride).numpy()[0, 0]
    np.testing.assert_allclose(S.output_map(steps), expected, rtol=1e-12)
    for step in steps:
        if kind == "max":
            assert fmap[step.winner] == step.value
            row, col = step.winner
            assert step.top <= row < step.top + kernel and step.left <= col < step.left + kernel
        else:
            assert step.winner is None


def test_max_pool_steps_winner_is_the_gradients_target():
    fmap = np.array([[1.0, 2, 5, 6], [3, 4, 7, 8], [9, 0, 2, 1], [6, 5, 4, 3]])
    steps = S.pool_steps(fmap)
    x = tg.tensor(fmap[None, None], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert sorted(s.winner for s in steps) == sorted(zip(*np.nonzero(x.grad.numpy()[0, 0]),
                                                         strict=True))
    assert [s.value for s in steps] == [4, 8, 9, 4]


def test_pool_steps_refuse_bad_kinds_and_shapes():
    with pytest.raises(ValueError, match="pool_steps: kind"):
        S.pool_steps(np.zeros((4, 4)), "median")
    with pytest.raises(ValueError, match=r"pool_steps: feature_map must be \(H, W\)"):
        S.pool_steps(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="larger than the map 2x2"):
        S.pool_steps(np.zeros((2, 2)), kernel_size=3)


def test_format_conv_steps_writes_the_sums():
    steps = S.conv_steps(np.arange(9.0).reshape(3, 3), np.eye(2), bias=-1.0)
    text = S.format_conv_steps(steps)
    assert "0.00 + 0.00 + 0.00 + 4.00 - 1.00 = 3.000" in text
    assert "output map 2x2" in text
    fmap = np.array([[0.0, 1.0], [3.0, 2.0]])
    assert "-> 3.000  winner at (1, 0)" in S.format_pool_steps(S.pool_steps(fmap), "max")


def test_conv_step_pictures_write_a_gif_and_a_strip(tmp_path):
    pytest.importorskip("matplotlib")
    PIL = pytest.importorskip("PIL.Image")
    from tinygradcnn.viz.steps_render import plot_pool_steps, render_conv_steps

    image = np.arange(16.0).reshape(4, 4) / 15
    figure = render_conv_steps(image, np.eye(3), padding=1, png_path=tmp_path / "s.png",
                               gif_path=tmp_path / "s.gif", frames=3)
    assert len(figure.axes) == 3 * 5  # three steps of five panels
    with PIL.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 3
    assert (tmp_path / "s.png").stat().st_size > 0
    plot_pool_steps(np.arange(16.0).reshape(4, 4), path=tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0


# -- shapes and receptive fields ---------------------------------------------------------

def test_layer_shapes_fill_in_the_formulas_for_lenet():
    from tinygradcnn.models import LeNet5
    from tinygradcnn.viz.shapes import format_layer_shapes, layer_shapes

    model = LeNet5()
    rows = layer_shapes(model, (1, 28, 28))
    by_name = {row.name: row for row in rows}
    conv1, pool1, fc1 = by_name["features.0"], by_name["features.2"], by_name["classifier.1"]
    assert conv1.output_shape == (6, 28, 28)
    assert conv1.formula == "⌊(28 + 2·2 - 1·(5-1) - 1) / 1⌋ + 1 = 28"
    assert conv1.params_formula == "5·5·1·6 + 6 = 156"
    assert pool1.formula == "⌊(28 + 2·0 - 1·(2-1) - 1) / 2⌋ + 1 = 14"
    assert fc1.params_formula == "400·120 + 120 = 48,120" and fc1.receptive_field is None
    assert [by_name[f"features.{i}"].receptive_field[0] for i in range(6)] == [5, 5, 6, 14,
                                                                                14, 16]
    assert sum(row.params for row in rows) == model.num_parameters()
    assert "total parameters: 61,706" in format_layer_shapes(rows)


def test_receptive_field_is_where_the_gradient_reaches():
    from tinygradcnn.viz.shapes import layer_shapes

    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3, dilation=2),
                          nn.Conv2d(2, 1, 3, stride=2, padding=1))
    rows = layer_shapes(model, (1, 40, 40))
    x = tg.tensor(np.ones((1, 1, 40, 40)), dtype=np.float32, requires_grad=True)
    out = model(x)
    _, _, height, width = out.shape
    out[:, :, height // 2, width // 2].sum().backward()
    rows_hit, cols_hit = np.nonzero(x.grad.numpy()[0, 0])
    extent = (rows_hit.max() - rows_hit.min() + 1, cols_hit.max() - cols_hit.min() + 1)
    assert rows[-1].receptive_field == extent
    assert rows[-1].jump == (4, 4)
    assert rows[-1].output_shape == tuple(out.shape[1:])


# -- softmax ledger ----------------------------------------------------------------------

def test_softmax_ledger_matches_softmax_and_survives_large_logits():
    from tinygradcnn.viz.softmax import format_softmax_ledger, softmax_ledger

    logits = np.array([2.0, 1.0, 0.1, -3.0])
    ledger = softmax_ledger(logits, ["a", "b", "c", "d"])
    expected = F.softmax(tg.tensor(logits, dtype=np.float64), dim=0).numpy()
    np.testing.assert_allclose(ledger.probabilities, expected, rtol=1e-12)
    assert ledger.exps.max() == 1.0 and ledger.shifted.max() == 0.0
    shifted = softmax_ledger(logits + 1000.0)
    np.testing.assert_allclose(shifted.probabilities, ledger.probabilities, rtol=1e-12)
    assert np.isinf(shifted.naive_exps).all()
    assert "naive exp(z) already overflows" in format_softmax_ledger(shifted)
    text = format_softmax_ledger(ledger, true_class=1)
    assert "<- predicted" in text.splitlines()[1] and "(true class)" in text.splitlines()[2]


# -- feature maps and filters -------------------------------------------------------------

def test_feature_maps_are_each_layers_output_in_order():
    from tinygradcnn.viz.maps import feature_maps

    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    maps = feature_maps(model, x)
    assert list(maps) == ["0", "1", "2", "3", "4"]
    assert maps["0"].shape == (2, 3, 8, 8) and maps["4"].shape == (2, 5)
    conv = model[0](tg.tensor(x)).numpy()
    np.testing.assert_allclose(maps["0"], conv, rtol=1e-6)
    np.testing.assert_array_equal(maps["1"], np.maximum(conv, 0))
    assert model.training  # the mode is restored


def test_classic_kernels_answer_to_their_edges():
    from tinygradcnn.viz.maps import classic_kernels, filter_responses

    image = np.zeros((6, 6))
    image[:, 3:] = 1.0  # a vertical edge
    kernels = classic_kernels()
    responses = dict(zip(kernels, filter_responses(image, kernels.values()), strict=True))
    assert responses["Sobel x"][2:4, 2:4].min() > 0  # the edge, away from the border
    assert np.abs(responses["Sobel y"][1:-1, :]).max() == 0
    np.testing.assert_allclose(responses["blur (average)"][2, 2], 3 / 9)
