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
):
    """Run ``tg_fn`` and ``torch_fn`` on the same data and compare outputs and gradients.

    Float arrays become tensors that require grad in both libraries; integer arrays are
    passed as integer tensors. The output is projected on a fixed random tensor before
    backward, so every element's gradient is compared.
    """
    torch = torch_or_skip()
    if atol is None:
        atol = 1e-5 if dtype == np.float32 else 1e-10
    if rtol is None:
        rtol = 1e-4 if dtype == np.float32 else 1e-8
    ours = tensors(*arrays, device=device, dtype=dtype, requires_grad=grad)
    theirs = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            theirs.append(torch.from_numpy(a.astype(np.int64) if a.dtype.kind != "b" else a))
        else:
            theirs.append(torch.tensor(a.astype(dtype), requires_grad=grad))
    out = tg_fn(*ours)
    expected = torch_fn(*theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=atol, rtol=rtol)
    if not grad:
        return
    projection = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    (out * tg.tensor(projection, device=device)).sum().backward()
    (expected * torch.from_numpy(projection)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if b.grad is None and a.grad is None:
            continue
        assert a.grad is not None, f"input {i}: PyTorch has a gradient, tinygradcnn has none"
        np.testing.assert_allclose(
            a.grad.numpy(), b.grad.numpy(), atol=atol * 10, rtol=rtol * 10,
            err_msg=f"gradient of input {i}",
        )
