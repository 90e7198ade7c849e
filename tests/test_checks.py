"""Argument checks (ops/_checks.py): one exception type per kind of mistake, as in PyTorch,
and messages that name the op, the argument and the offending value."""

import re
import warnings

import numpy as np
import pytest
from helpers import torch_or_skip

import tinygradcnn as tg
import tinygradcnn.nn.functional as F
from tinygradcnn import nn

X = tg.ones(2, 3)

BAD_DIMS = [
    ("sum", lambda: X.sum(2), "dim 2"),
    ("mean", lambda: X.mean(-3), "dim -3"),
    ("var", lambda: X.var((0, 5)), "dim 5"),
    ("std", lambda: X.std(2), "dim 2"),
    ("max", lambda: X.max(2), "dim 2"),
    ("min", lambda: X.min(dim=-3), "dim -3"),
    ("max", lambda: X.amax(3), "dim 3"),
    ("argmax", lambda: X.argmax(2), "dim 2"),
    ("argmin", lambda: X.argmin(2), "dim 2"),
    ("softmax", lambda: F.softmax(X, dim=2), "dim 2"),
    ("log_softmax", lambda: F.log_softmax(X, dim=-3), "dim -3"),
    ("softmax", lambda: nn.Softmax(dim=3)(X), "dim 3"),
    ("cat", lambda: tg.cat([X, X], dim=2), "dim 2"),
    ("stack", lambda: tg.stack([X, X], dim=4), "dim 4"),
    ("flatten", lambda: X.flatten(3), "start_dim 3"),
    ("flatten", lambda: X.flatten(0, 2), "end_dim 2"),
    ("flatten", lambda: nn.Flatten(2)(X), "start_dim 2"),
    ("squeeze", lambda: X.squeeze(2), "dim 2"),
    ("unsqueeze", lambda: X.unsqueeze(4), "dim 4"),
    ("transpose", lambda: X.transpose(0, 2), "dim1 2"),
    ("permute", lambda: X.permute(0, 2), "dim 2"),
]


@pytest.mark.parametrize("op, call, named", BAD_DIMS, ids=[f"{c[0]}-{i}" for i, c in
                                                          enumerate(BAD_DIMS)])
def test_a_dim_out_of_range_is_an_index_error_naming_the_op_and_the_dim(op, call, named):
    with pytest.raises(IndexError, match=rf"^{op}: {named} out of range for a tensor with \d "
                                         rf"dimensions \(expected -\d\.\.\d\)"):
        call()


@pytest.mark.parametrize("call", [
    lambda: X.sum(1.0),
    lambda: X.mean((0, 1.5)),
    lambda: F.softmax(X, dim=1.0),
    lambda: tg.cat([X, X], dim=True),
    lambda: X.flatten(0.0),
    lambda: X.argmax(0.5),
    lambda: X.squeeze(0.5),
])
def test_a_dim_that_is_not_an_int_is_a_type_error(call):
    with pytest.raises(TypeError, match="dim must be "):
        call()


def test_numpy_integer_dims_are_ints():
    np.testing.assert_allclose(X.sum(np.int64(1)).numpy(), [3.0, 3.0])
    assert F.softmax(X, dim=np.int32(-1)).shape == (2, 3)
    assert tg.cat([X, X], dim=np.int64(1)).shape == (2, 6)


def test_a_repeated_dim_is_a_value_error():
    with pytest.raises(ValueError, match=r"sum: dim \(1, -1\) repeats a dimension"):
        X.sum((1, -1))


FOUR_BY_FOUR = tg.zeros((1, 1, 4, 4))
SEQUENCE = tg.zeros((1, 1, 8))
WEIGHT = tg.zeros((1, 1, 3, 3))

NOT_INTEGERS = [
    ("max_pool2d", "kernel_size", lambda: F.max_pool2d(FOUR_BY_FOUR, 2.5)),
    ("max_pool2d", "kernel_size", lambda: F.max_pool2d(FOUR_BY_FOUR, (2, 2.0))),
    ("max_pool2d", "stride", lambda: F.max_pool2d(FOUR_BY_FOUR, 2, stride=1.5)),
    ("max_pool2d", "dilation", lambda: F.max_pool2d(FOUR_BY_FOUR, 2, dilation=1.0)),
    ("avg_pool2d", "padding", lambda: F.avg_pool2d(FOUR_BY_FOUR, 2, padding=0.5)),
    ("avg_pool2d", "divisor_override", lambda: F.avg_pool2d(FOUR_BY_FOUR, 2,
                                                            divisor_override=2.0)),
    ("sum_pool2d", "kernel_size", lambda: F.sum_pool2d(FOUR_BY_FOUR, True)),
    ("adaptive_avg_pool2d", "output_size", lambda: F.adaptive_avg_pool2d(FOUR_BY_FOUR, 1.5)),
    ("max_pool1d", "kernel_size", lambda: F.max_pool1d(SEQUENCE, 2.5)),
    ("avg_pool1d", "stride", lambda: F.avg_pool1d(SEQUENCE, 2, stride=(1.5,))),
    ("conv2d", "stride", lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, stride=(1, 1.5))),
    ("conv2d", "padding", lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, padding=0.5)),
    ("conv2d", "dilation", lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, dilation=True)),
    ("conv2d", "groups", lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, groups=1.0)),
    ("conv1d", "stride", lambda: F.conv1d(SEQUENCE, tg.zeros((1, 1, 3)), stride=2.0)),
    ("Conv2d", "kernel_size", lambda: nn.Conv2d(1, 1, 2.5)),
    ("Conv2d", "kernel_size", lambda: nn.Conv2d(1, 1, (3, 2.5))),
    ("Conv2d", "stride", lambda: nn.Conv2d(1, 1, 3, stride=(1.5, 1))),
    ("Conv2d", "in_channels", lambda: nn.Conv2d(1.0, 1, 3)),
    ("Conv1d", "kernel_size", lambda: nn.Conv1d(1, 1, 2.5)),
    ("Conv1d", "padding", lambda: nn.Conv1d(1, 1, 3, padding=1.5)),
    ("MaxPool2d", "kernel_size", lambda: nn.MaxPool2d(2.5)),
    ("MaxPool2d", "dilation", lambda: nn.MaxPool2d(2, dilation=1.5)),
    ("AvgPool2d", "stride", lambda: nn.AvgPool2d(2, stride=1.5)),
    ("SumPool2d", "padding", lambda: nn.SumPool2d(2, padding=0.5)),
    ("MaxPool1d", "kernel_size", lambda: nn.MaxPool1d(2.5)),
    ("AvgPool1d", "kernel_size", lambda: nn.AvgPool1d((2, 2))),
    ("Linear", "in_features", lambda: nn.Linear(2.0, 3)),
]


@pytest.mark.parametrize("op, argument, call", NOT_INTEGERS,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(NOT_INTEGERS)])
def test_sizes_that_are_not_integers_are_refused_not_truncated(op, argument, call):
    error = ValueError if op == "AvgPool1d" else TypeError  # (2, 2) is one value too many
    with pytest.raises(error, match=rf"^{op}: {argument} must be an int"):
        call()


def test_numpy_integers_are_accepted_as_sizes():
    x = tg.tensor(np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4))
    np.testing.assert_allclose(F.max_pool2d(x, np.int64(2)).numpy(),
                               F.max_pool2d(x, 2).numpy())
    conv = nn.Conv2d(np.int64(1), 2, (np.int32(3), 3), stride=np.int64(1))
    assert conv.kernel_size == (3, 3) and type(conv.kernel_size[0]) is int
    assert conv(x).shape == (1, 2, 2, 2)
    assert nn.MaxPool2d(np.int64(2))(x).shape == (1, 1, 2, 2)


@pytest.mark.torch
@pytest.mark.parametrize("kernel, dilation", [(2, 1), (4, 1), ((2, 3), 1), (3, 2), (2, (2, 3)),
                                              ((4, 1), (1, 3))])
def test_conv2d_layer_padding_same_matches_torch_for_even_kernels_and_dilation(kernel,
                                                                              dilation):
    torch = torch_or_skip()
    ours = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    theirs = torch.nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8)).astype(np.float32)
    out = ours(tg.tensor(x))
    assert out.shape == (2, 4, 7, 8)
    np.testing.assert_allclose(out.numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert ours.padding == theirs.padding == "same"


@pytest.mark.torch
@pytest.mark.parametrize("kernel, dilation, padding", [(2, 1, "same"), (4, 3, "same"),
                                                       (5, 2, "same"), (4, 1, "valid")])
def test_conv1d_layer_padding_strings_match_torch(kernel, dilation, padding):
    torch = torch_or_skip()
    ours = nn.Conv1d(2, 3, kernel, padding=padding, dilation=dilation)
    theirs = torch.nn.Conv1d(2, 3, kernel, padding=padding, dilation=dilation)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.numpy()))
    x = np.random.default_rng(1).standard_normal((2, 2, 11)).astype(np.float32)
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_conv_layer_padding_same_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' needs stride 1, got "
                                         r"stride=\(2, 2\)"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"Conv1d: padding='same' needs stride 1"):
        nn.Conv1d(1, 1, 4, stride=2, padding="same")
    with pytest.raises(ValueError, match="Conv2d: padding must be 'same', 'valid' or ints, "
                                         "got 'full'"):
        nn.Conv2d(1, 1, 3, padding="full")


@pytest.mark.torch
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("input_shape, target_shape", [((4, 1), (4,)), ((3,), (1,)),
                                                       ((2, 3), (3,))])
def test_elementwise_losses_warn_when_the_target_size_differs_and_still_broadcast(
        loss, input_shape, target_shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal(input_shape), rng.standard_normal(target_shape)
    message = (rf"{loss}: Using a target size \({re.escape(str(target_shape))}\) that is "
               rf"different to the input size \({re.escape(str(input_shape))}\)\. This will "
               r"likely lead to incorrect results due to broadcasting")
    with pytest.warns(UserWarning, match=message):
        ours = getattr(F, loss)(tg.tensor(x), tg.tensor(t)).item()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(torch.nn.functional, loss)(torch.from_numpy(x),
                                                      torch.from_numpy(t)).item()
    assert ours == pytest.approx(expected, rel=1e-6)


def test_elementwise_losses_warn_through_the_modules_and_not_for_equal_shapes():
    with pytest.warns(UserWarning, match="mse_loss: Using a target size"):
        nn.MSELoss()(tg.ones(4, 1), tg.ones(4))
    with pytest.warns(UserWarning, match="l1_loss: Using a target size"):
        nn.L1Loss(reduction="sum")(tg.ones(4, 1), tg.ones(4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(tg.ones(4, 1), tg.ones(4, 1))
        F.l1_loss(tg.ones(3), tg.ones(3))


def test_elementwise_losses_name_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss: input \(2, 3\) and target \(4,\) do not "
                                         r"broadcast"):
        F.mse_loss(tg.ones(2, 3), tg.ones(4))


MESSAGES = [
    (lambda: F.conv2d(tg.zeros((1, 3, 5, 5)), WEIGHT), ValueError,
     r"conv2d: input has 3 channels, weight expects 1 \(groups=1\)"),
    (lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, stride=(1, 1, 1)), ValueError,
     r"conv2d: stride must be an int or a pair of ints, got 3 values \(1, 1, 1\)"),
    (lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT, padding=-1), ValueError,
     r"conv2d: padding must be >= 0, got -1"),
    (lambda: F.conv2d(FOUR_BY_FOUR, WEIGHT.long()), TypeError,
     r"conv2d: weight must be float32 or float64, got int64"),
    (lambda: F.conv1d(SEQUENCE, tg.zeros((1, 1, 3)), padding="full"), ValueError,
     r"conv1d: padding must be 'same', 'valid' or ints, got 'full'"),
    (lambda: F.max_pool2d(FOUR_BY_FOUR, 0), ValueError,
     r"max_pool2d: kernel_size must be >= 1, got 0"),
    (lambda: F.max_pool1d(SEQUENCE, 0), ValueError, r"max_pool1d: kernel_size must be >= 1"),
    (lambda: F.avg_pool2d(tg.zeros(4, 4), 2), ValueError,
     r"avg_pool2d: input must be \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"),
    (lambda: F.softmax(tg.tensor([1, 2]), 0), TypeError,
     r"softmax: input must be float32 or float64, got int64"),
    (lambda: F.linear(X, tg.ones(4, 3).double()), TypeError,
     r"linear: input is float32 but weight is float64"),
    (lambda: F.cross_entropy(X, tg.tensor([0, 1]), reduction="avg"), ValueError,
     r"cross_entropy: reduction must be 'none', 'mean' or 'sum', got 'avg'"),
    (lambda: F.cross_entropy(X, tg.tensor([0, 1]), ignore_index=1.5), TypeError,
     r"cross_entropy: ignore_index must be an int, got 1.5 \(float\)"),
    (lambda: F.cross_entropy(X, tg.tensor([0, 1]), label_smoothing="0.1"), TypeError,
     r"cross_entropy: label_smoothing must be a number, got '0.1' \(str\)"),
    (lambda: F.dropout(X, p=-0.5), ValueError, r"dropout: p must be in \[0, 1\], got -0.5"),
    (lambda: F.dropout(X, p="half"), TypeError, r"dropout: p must be a number"),
    (lambda: F.gelu(X, approximate="fast"), ValueError,
     r"gelu: approximate must be 'none' or 'tanh', got 'fast'"),
    (lambda: F.leaky_relu(X, negative_slope=None), TypeError,
     r"leaky_relu: negative_slope must be a number, got None"),
    (lambda: F.layer_norm(X, 2.5), TypeError, r"layer_norm: normalized_shape must be ints"),
    (lambda: F.pad(X, (1, 1.5)), TypeError, r"pad: pad must be ints, got 1.5"),
    (lambda: F.pad(X, (1, 1), mode="reflect"), ValueError,
     r"pad: mode must be 'constant', got 'reflect'"),
    (lambda: X.reshape(3, 2.0), TypeError, r"reshape: shape must be ints, got 2.0"),
    (lambda: X.permute(1, 0.0), TypeError, r"permute: dims must be ints"),
    (lambda: nn.Dropout(1.5), ValueError, r"Dropout: p must be in \[0, 1\], got 1.5"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError,
     r"MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: nn.Conv2d(3, 4, 3, groups=0), ValueError, r"Conv2d: groups must be >= 1, got 0"),
    (lambda: nn.Conv2d(3, 4, 0), ValueError, r"Conv2d: kernel_size must be >= 1, got 0"),
    (lambda: nn.MaxPool2d(2, stride=0), ValueError, r"MaxPool2d: stride must be >= 1, got 0"),
    (lambda: nn.LayerNorm(2.5), TypeError, r"LayerNorm: normalized_shape must be ints"),
]


@pytest.mark.parametrize("call, error, message", MESSAGES,
                         ids=[m[2].split(":")[0] + f"-{i}" for i, m in enumerate(MESSAGES)])
def test_messages_name_the_op_the_argument_and_the_value(call, error, message):
    with pytest.raises(error, match="^" + message):
        call()
