"""Weight initialisation, in place, with PyTorch's names and formulas.

Values are drawn on the host from `tinygradcnn.random.generator()` (reproducible under
`tg.manual_seed`) and copied to the tensor's device.

The default of Conv and Linear layers is PyTorch's: `kaiming_uniform_(w, a=sqrt(5))`, which
works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import no_grad
from ..random import generator
from ..tensor import Tensor


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    with no_grad():
        tensor.copy_(np.asarray(values, dtype=tensor.dtype, order="C"))  # 0-d stays 0-d
    return tensor


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight (out, in, *kernel): in * prod(kernel), out * prod(kernel)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out needs a weight with >= 2 dims, got shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:], dtype=np.int64))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d")
NONLINEARITIES = (*_LINEAR, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
MODES = ("fan_in", "fan_out")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an activation (PyTorch's table); `param` is leaky_relu's
    negative slope (default 0.01): sqrt(2 / (1 + slope^2))."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        # bool is an int: True is not a slope
        if param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}, "
                     f"expected one of {', '.join(NONLINEARITIES)}")


def _fan(who: str, tensor: Tensor, mode: str, nonlinearity: str) -> int:
    """The fan that `mode` names, after checking `mode` and `nonlinearity`."""
    for argument, value, allowed in (("mode", mode, MODES),
                                     ("nonlinearity", nonlinearity, NONLINEARITIES)):
        if value not in allowed:
            raise ValueError(f"{who}: {argument} {value!r} is not supported, expected one "
                             f"of {', '.join(allowed)}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(coefficients: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    poly = np.full_like(t, coefficients[0])
    for c in coefficients[1:]:
        poly *= t
        poly += c
    return poly


def _erfinv(y: np.ndarray) -> np.ndarray:
    """The inverse error function on [-1, 1], elementwise: M. Giles' polynomial
    approximation ("Approximating the erfinv function", 2010; the one CUDA's erfinvf uses),
    relative error below 4e-7, ample for drawing float32 weights; erfinv(+-1) = +-inf."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        # the central branch (w < 5, |y| < 0.9966) serves nearly every draw: computed for all,
        # then the few tail values are redone with the tail polynomial
        w -= 2.5
        result = _horner(_ERFINV_CENTRAL, w)
        result *= y
        tail = w >= 2.5
        if tail.any():
            result[tail] = _horner(_ERFINV_TAIL, np.sqrt(w[tail] + 2.5) - 3.0) * y[tail]
    edge = np.abs(y) >= 1.0
    result[edge] = np.copysign(np.inf, y[edge])
    return result


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as PyTorch's), by
    PyTorch's inverse-CDF method: u ~ U(2 Phi(alpha) - 1, 2 Phi(beta) - 1) with
    alpha = (a - mean) / std, beta = (b - mean) / std, then mean + std * sqrt(2) erfinv(u),
    clamped to [a, b]. Warns, as PyTorch does, when mean is more than 2 std outside [a, b].
    ConvNeXt initialises with std=0.02 (bounds +-2, so effectively untruncated)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)

    def normal_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    low, high = normal_cdf((a - mean) / std), normal_cdf((b - mean) / std)
    u = generator().uniform(2 * low - 1, 2 * high - 1, tensor.shape)
    values = _erfinv(u) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, np.clip(values, a, b))


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, np.full(tensor.shape, value))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He initialisation: U(-b, b) with b = gain * sqrt(3 / fan), gain from `nonlinearity`
    (one of `NONLINEARITIES`, `a` the leaky_relu slope), fan from `mode` ("fan_in" keeps
    the forward variance, "fan_out" the backward one)."""
    fan = _fan("kaiming_uniform_", tensor, mode, nonlinearity)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """He initialisation: N(0, std^2) with std = gain / sqrt(fan); `mode` and
    `nonlinearity` as in `kaiming_uniform_`."""
    fan = _fan("kaiming_normal_", tensor, mode, nonlinearity)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)
