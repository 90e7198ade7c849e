"""Shared test helpers: gradient checks and side-by-side comparison with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import tinygradcnn as tg
from tinygradcnn.backend import kernels_for


def tensors(*arrays, device: str = "cpu", dtype=np.float64, requires_grad: bool = True):
    """NumPy arrays -> tensors that require grad (integer arrays stay integer, no grad)."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            out.append(tg.tensor(a, device=device))
        else:
            out.append(tg.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad))
    return out


def check_gradients(fn, *arrays, device: str = "cpu", atol: float = 1e-5, rtol: float = 1e-3):
    """``tg.gradcheck`` of ``fn`` on float64 copies of ``arrays`` (integer arrays pass as is)."""
    assert tg.gradcheck(fn, tensors(*arrays, device=device), atol=atol, rtol=rtol)


def simulated(device: str) -> bool:
    """Whether ``device`` is numba's CUDA simulator, where every GPU thread is a Python thread
    and a test keeps its shapes small."""
    return device == "cuda" and tg.cuda.is_simulator()


def to_device(array: np.ndarray, device: str):
    """A NumPy array as ``device``'s kernels take it (a device array on "cuda")."""
    return kernels_for(device).from_numpy(np.ascontiguousarray(array))


def to_numpy(array) -> np.ndarray:
    """A kernel's result (NumPy or device array) as a NumPy array."""
    return array if isinstance(array, np.ndarray) else kernels_for("cuda").to_numpy(array)


def require_kernels(device: str, *names: str) -> None:
    """Skip (with the reason) when ``device``'s backend does not have these kernels yet."""
    kernels = kernels_for(device)
    missing = [name for name in names if not hasattr(kernels, name)]
    if missing:
        pytest.skip(f"{device} backend has no {', '.join(missing)} yet")


def torch_or_skip():
    """The torch module, or skip the test with a message when it is not installed."""
    return pytest.importorskip("torch", reason="PyTorch is an optional oracle: pip install torch")


def compare_with_torch(
    tg_fn,
    torch_fn,
    *arrays,
    device: str = "cpu",
    dtype=np.float32,
    atol: float | None = None,
    rtol: float | None = None,
    grad: bool = True,
    reference=None,
):
    """Run ``tg_fn`` and ``torch_fn`` on the same data and compare outputs and gradients.

    Float arrays become tensors that require grad in both libraries; integer arrays are
    passed as integer tensors. The output is projected on a fixed random tensor before
    backward, so every element's gradient is compared.

    ``reference``, for a case where PyTorch is known to misbehave (crash, or corrupt its own
    memory), replaces PyTorch as the oracle: a NumPy function ``reference(*arrays,
    grad_output=projection)`` returning the output and the list of input gradients.
    """
    if atol is None:
        atol = 1e-5 if dtype == np.float32 else 1e-10
    if rtol is None:
        rtol = 1e-4 if dtype == np.float32 else 1e-8
    ours = tensors(*arrays, device=device, dtype=dtype, requires_grad=grad)
    out = tg_fn(*ours)
    projection = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    if reference is None:
        expected, expected_grads = _run_torch(torch_fn, arrays, dtype, grad, projection)
    else:
        cast = [a if np.asarray(a).dtype.kind in "iub" else np.asarray(a, dtype) for a in arrays]
        expected, expected_grads = reference(*cast, grad_output=projection)
    np.testing.assert_allclose(out.numpy(), expected, atol=atol, rtol=rtol)
    if not grad:
        return
    (out * tg.tensor(projection, device=device)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, expected_grads, strict=True)):
        if b is None and a.grad is None:
            continue
        assert a.grad is not None, f"input {i}: the oracle has a gradient, tinygradcnn has none"
        np.testing.assert_allclose(
            a.grad.numpy(), b, atol=atol * 10, rtol=rtol * 10, err_msg=f"gradient of input {i}",
        )


def _run_torch(torch_fn, arrays, dtype, grad: bool, projection):
    """PyTorch's output and input gradients (None where it has none) as NumPy arrays."""
    torch = torch_or_skip()
    theirs = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            theirs.append(torch.from_numpy(a.astype(np.int64) if a.dtype.kind != "b" else a))
        else:
            theirs.append(torch.tensor(a.astype(dtype), requires_grad=grad))
    expected = torch_fn(*theirs)
    if not grad:
        return expected.detach().numpy(), []
    (expected * torch.from_numpy(projection)).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in theirs]
    return expected.detach().numpy(), grads


# ---------------------------------------------------------------------------------------------
# Pooling windows with no input element. PyTorch 2.13's CPU max pooling gives them -inf, as
# we do, but names an index past the input as their maximum, and its backward writes the
# gradient there: its heap is corrupted (`free(): invalid next size`, or a silent wrong
# result). The pool tests compare such cases with the NumPy reference below instead.
# ---------------------------------------------------------------------------------------------


def _window_taps(size: int, out: int, kernel: int, stride: int, pad: int, dilation: int):
    """Per output position along one axis: the list of its window's taps inside the input."""
    return [[t for t in range(o * stride - pad, o * stride - pad + dilation * kernel, dilation)
             if 0 <= t < size] for o in range(out)]


def _pool_geometry(shape, kernel_size, stride, padding, dilation, ceil_mode):
    from tinygradcnn.kernels.shapes import pool_output_size

    return [_window_taps(shape[2 + a], pool_output_size(shape[2 + a], kernel_size[a],
                                                        stride[a], padding[a], dilation[a],
                                                        ceil_mode),
                         kernel_size[a], stride[a], padding[a], dilation[a]) for a in range(2)]


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def pool_window_without_input(shape, kernel_size, stride=None, padding=0, dilation=1,
                              ceil_mode=False) -> bool:
    """Whether some window of a 2-d pool over an (N, C, H, W) input lies wholly in the
    padding (the case PyTorch's max pooling mishandles)."""
    kernel_size = _pair(kernel_size)
    rows, cols = _pool_geometry(shape, kernel_size, _pair(stride or kernel_size),
                                _pair(padding), _pair(dilation), ceil_mode)
    return any(not taps for taps in rows) or any(not taps for taps in cols)


def max_pool2d_reference(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                         grad_output=None):
    """NumPy max pooling (N, C, H, W) -> (N, C, OH, OW) by PyTorch's rules, and the input
    gradient for ``grad_output``: each window's first maximum (NaN wins) takes the window's
    gradient (the last NaN, if any, as in PyTorch); a window with no input element gives -inf
    and passes no gradient."""
    x = np.asarray(x)
    kernel_size = _pair(kernel_size)
    rows, cols = _pool_geometry(x.shape, kernel_size, _pair(stride or kernel_size),
                                _pair(padding), _pair(dilation), ceil_mode)
    out = np.full((*x.shape[:2], len(rows), len(cols)), -np.inf, x.dtype)
    grad = np.zeros_like(x)
    for n, c in np.ndindex(*x.shape[:2]):
        for oh, hs in enumerate(rows):
            for ow, ws in enumerate(cols):
                best = None
                for h in hs:
                    for w in ws:
                        v = x[n, c, h, w]
                        # as PyTorch: the first tap to start, then strictly greater or NaN
                        if best is None or v > out[n, c, oh, ow] or np.isnan(v):
                            out[n, c, oh, ow], best = v, (h, w)
                if best is not None and grad_output is not None:
                    grad[(n, c, *best)] += grad_output[n, c, oh, ow]
    return out, [grad]


def _lift_1d(x, params):
    """A 1-d pool's input (N, C, L) and int parameters as the 2-d pool over (N, C, 1, L)."""
    pairs = {"kernel_size": 1, "stride": 1, "padding": 0, "dilation": 1}
    lifted = {name: (pairs[name], value) if name in pairs and value is not None else value
              for name, value in params.items()}
    return x[:, :, None, :], lifted


def compare_pool_with_torch(name: str, x, device: str = "cpu", dtype=np.float64, **params):
    """``F.<name>`` (max_pool2d, avg_pool2d, max_pool1d, avg_pool1d) against PyTorch's on
    ``x``, outputs and gradients; a max pool with a window wholly in the padding, where
    PyTorch corrupts its heap, is compared with `max_pool2d_reference` instead."""
    import tinygradcnn.nn.functional as F

    x2d, params2d = _lift_1d(x, params) if name.endswith("1d") else (x, params)
    reference = None
    if name.startswith("max_pool") and pool_window_without_input(x2d.shape, **params2d):
        def reference(x, grad_output):
            squeeze = name.endswith("1d")
            out, (grad,) = max_pool2d_reference(
                x[:, :, None] if squeeze else x, **params2d,
                grad_output=grad_output[:, :, None] if squeeze else grad_output)
            return (out[:, :, 0], [grad[:, :, 0]]) if squeeze else (out, [grad])

    def torch_fn(t):
        import torch

        return getattr(torch.nn.functional, name)(t, **params)

    compare_with_torch(lambda t: getattr(F, name)(t, **params), torch_fn, x, device=device,
                       dtype=dtype, reference=reference)


def check_module_gradients(module, shape, seed: int = 0) -> None:
    """Float64 gradcheck of a whole block, with respect to its input and every parameter.

    BatchNorm's affine parameters are moved off (1, 0) first, so that their gradients are
    checked at a generic point.
    """
    tg.manual_seed(seed)
    module = module.double()
    for layer in module.modules():
        if isinstance(layer, tg.nn.BatchNorm2d):
            tg.nn.init.uniform_(layer.weight, 0.5, 1.5)
            tg.nn.init.uniform_(layer.bias, -0.5, 0.5)
    names = [name for name, _ in module.named_parameters()]
    owners = dict(module.named_modules())

    def fn(x, *values):
        for name, value in zip(names, values, strict=True):
            owner, _, leaf = name.rpartition(".")
            owners[owner]._parameters[leaf] = value
        return module(x)

    params = [p.numpy().copy() for p in module.parameters()]
    x = np.random.default_rng(seed).standard_normal(shape)
    check_gradients(fn, x, *params, atol=1e-5, rtol=1e-3)
