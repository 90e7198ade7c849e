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
