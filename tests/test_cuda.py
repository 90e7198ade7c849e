"""GPU-specific checks: every CUDA kernel family against its CPU twin, gradients on the GPU,
random-number parity, zero-copy interop, device errors and a training step on both devices.

Under numba's CUDA simulator (no GPU) these run on small shapes; on a GPU they run for real.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import DEVICES
from helpers import check_gradients

import tinygradcnn as tg
import tinygradcnn.nn.functional as F

pytestmark = pytest.mark.skipif("cuda" not in DEVICES, reason="no GPU and no CUDA simulator")


@pytest.fixture(scope="module")
def kernels():
    from tinygradcnn.kernels import cpu, cuda

    return cpu, cuda


def _rand(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _same(gpu, cpu_value, rtol=1e-5, atol=1e-6):
    """Compare a (tuple of) device result(s) with the CPU's, dtype and shape included."""
    from tinygradcnn.kernels import cuda

    if isinstance(cpu_value, tuple):
        for g, c in zip(gpu, cpu_value, strict=True):
            _same(g, c, rtol, atol)
        return
    if isinstance(cpu_value, float):
        return
    host = cuda.to_numpy(gpu)
    assert host.shape == np.shape(cpu_value)
    assert host.dtype == np.asarray(cpu_value).dtype
    np.testing.assert_allclose(host, cpu_value, rtol=rtol, atol=atol)


def _both(kernels, name, *args, **kwargs):
    """Run kernel ``name`` on both devices (NumPy arrays are moved to the GPU) and compare."""
    cpu, cuda = kernels
    moved = [cuda.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]
    _same(getattr(cuda, name)(*moved, **kwargs), getattr(cpu, name)(*args, **kwargs))


def test_memory_kernels_match_the_cpu(kernels):
    cpu, cuda = kernels
    _same(cuda.full((2, 3), 1.5, np.float32), cpu.full((2, 3), 1.5, np.float32))
    _same(cuda.zeros((4,), np.int64), cpu.zeros((4,), np.int64))
    _same(cuda.arange(1, 8, 3, np.int64), cpu.arange(1, 8, 3, np.int64))
    x = _rand(3, 4)
    _both(kernels, "astype", x, np.float64)
    _both(kernels, "copy", x)
    target = cuda.zeros((3, 4), np.float64)
    cuda.copy_into(target, cuda.from_numpy(x))
    np.testing.assert_allclose(cuda.to_numpy(target), x)


def test_elementwise_kernels_match_the_cpu(kernels):
    x, y = _rand(2, 3, 4), np.abs(_rand(3, 1, seed=1)) + 0.5
    for op in ("exp", "tanh", "gelu", "silu", "elu", "clamp"):
        _both(kernels, "unary", op, x, -0.5, 0.5)
        out = kernels[0].unary(op, x, -0.5, 0.5)
        _both(kernels, "unary_backward", op, x, out, x, -0.5, 0.5)
    for op in ("add", "div", "pow", "maximum", "ge"):
        _both(kernels, "binary", op, np.abs(x), y)
    _both(kernels, "binary_backward", "pow", np.abs(x) + 0.1, y, x)
    _both(kernels, "where", x > 0, x, y)
    _both(kernels, "expand", y, (2, 3, 4))


def test_reduction_kernels_match_the_cpu(kernels):
    x = _rand(3, 5, 6)
    for op in ("sum", "max", "min"):
        for axes in ((0,), (2,), (0, 2), (0, 1, 2)):
            _both(kernels, "reduce", op, x, axes, keepdim=axes == (2,))
    _both(kernels, "reduce", "sum", np.arange(12).reshape(3, 4), (1,))
    _both(kernels, "argmax", x, 1)
    _both(kernels, "argmax", x, 2, keepdim=True)


@pytest.mark.parametrize("transpose", [(False, False), (True, False), (False, True), (True, True)])
def test_tiled_matmul_matches_the_cpu_with_transpose_flags(kernels, transpose):
    ta, tb = transpose
    a = _rand(2, 9, 5) if ta else _rand(2, 5, 9)
    b = _rand(7, 9, seed=1) if tb else _rand(9, 7, seed=1)
    _both(kernels, "matmul", a, b, ta, tb)
    _both(kernels, "linear_forward", _rand(4, 9), _rand(7, 9, seed=2), _rand(7, seed=3))


def test_shape_kernels_match_the_cpu(kernels):
    x = _rand(3, 4, 5)
    _both(kernels, "permute", x, (2, 0, 1))
    for key in [(slice(1, 3), 2), (Ellipsis, slice(None, None, -2)), (1,), (None, 0)]:
        _both(kernels, "getitem", x, key)
        _both(kernels, "getitem_backward", kernels[0].getitem(x, key), x.shape, key)
    repeated = (np.array([0, 2, 0, 0]),)
    _both(kernels, "getitem", x, repeated)
    _both(kernels, "getitem_backward", kernels[0].getitem(x, repeated), x.shape, repeated)
    _both(kernels, "cat", [x, x[:, :2]], 1)
    _both(kernels, "pad", x, [(0, 0), (1, 2), (2, 0)], 0.5)


def test_softmax_and_loss_kernels_match_the_cpu(kernels):
    cpu, cuda = kernels
    x = _rand(6, 5)
    for name in ("softmax", "log_softmax"):
        _both(kernels, f"{name}_forward", x, 1)
        y = getattr(cpu, f"{name}_forward")(x, 1)
        _both(kernels, f"{name}_backward", y, x, 1)
    target = np.array([0, 4, 2, 2, -100, 1])
    weight = np.abs(_rand(5, seed=4)) + 0.1
    for reduction in ("none", "mean", "sum"):
        loss, logp, total = cuda.cross_entropy_forward(
            cuda.from_numpy(x), cuda.from_numpy(target), cuda.from_numpy(weight), -100, 0.1,
            reduction,
        )
        ref_loss, ref_logp, ref_total = cpu.cross_entropy_forward(x, target, weight, -100, 0.1,
                                                                  reduction)
        _same((loss, logp), (ref_loss, ref_logp))
        grad = np.ones_like(ref_loss)
        _same(
            cuda.cross_entropy_backward(cuda.from_numpy(grad), logp, cuda.from_numpy(target),
                                        cuda.from_numpy(weight), -100, 0.1, reduction, total),
            cpu.cross_entropy_backward(grad, ref_logp, target, weight, -100, 0.1, reduction,
                                       ref_total),
        )
    probs = np.abs(_rand(6, 5, seed=5))
    _both(kernels, "cross_entropy_probs_forward", x, probs, None, 0.0, "mean")
    _both(kernels, "bce_with_logits_forward", x, (probs > 0.5).astype(np.float32), None,
          weight, "sum")


def test_norm_kernels_match_the_cpu(kernels):
    cpu, cuda = kernels
    x, weight, bias = _rand(4, 3, 2, 5) + 3.0, _rand(3, seed=1), _rand(3, seed=2)
    running = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    device_running = [cuda.from_numpy(r) for r in running]
    y, mean, invstd = cuda.batch_norm_forward_train(
        cuda.from_numpy(x), cuda.from_numpy(weight), cuda.from_numpy(bias), 1e-5,
        *device_running, 0.1,
    )
    expected = cpu.batch_norm_forward_train(x, weight, bias, 1e-5, *running, 0.1)
    _same((y, mean, invstd), expected, rtol=1e-4, atol=1e-5)
    _same(tuple(device_running), tuple(running))
    grad = _rand(*x.shape, seed=3)
    _both(kernels, "batch_norm_backward", grad, x, expected[1], expected[2], weight)
    _both(kernels, "batch_norm_forward_eval", x, running[0], running[1], weight, bias, 1e-5)
    _both(kernels, "batch_norm_backward_eval", grad, x, running[0], running[1], weight, 1e-5)
    rows = _rand(6, 10)
    _both(kernels, "layer_norm_forward", rows, 10, _rand(10, seed=1), None, 1e-5)
    _, m, r = cpu.layer_norm_forward(rows, 10, None, None, 1e-5)
    _both(kernels, "layer_norm_backward", _rand(6, 10, seed=2), rows, m, r, _rand(10, seed=1))


def test_conv_and_pool_kernels_match_the_cpu(kernels):
    x, w, b = _rand(2, 4, 6, 5), _rand(6, 2, 3, 2, seed=1), _rand(6, seed=2)
    geometry = ((2, 1), (1, 0, 2, 1), (1, 2), 2)  # stride, asymmetric padding, dilation, groups
    out = kernels[0].conv2d_forward(x, w, b, *geometry)
    grad = _rand(*out.shape, seed=3)
    _both(kernels, "conv2d_forward", x, w, b, *geometry)
    _both(kernels, "conv2d_backward_input", grad, w, x.shape, *geometry)
    _both(kernels, "conv2d_backward_weight", grad, x, w.shape, *geometry)
    _both(kernels, "conv2d_backward_bias", grad)
    _both(kernels, "max_pool2d_forward", x, (2, 2), (2, 1), (1, 0), (1, 1), True)
    _, argmax = kernels[0].max_pool2d_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), False)
    _both(kernels, "max_pool2d_backward", _rand(*argmax.shape), argmax, x.shape)
    _both(kernels, "avg_pool2d_forward", x, (3, 2), (2, 2), (1, 1), False, False, None)
    _both(kernels, "adaptive_avg_pool2d_backward", _rand(2, 4, 2, 3), x.shape)


def test_augment_and_optimizer_kernels_match_the_cpu(kernels):
    cpu, cuda = kernels
    images = _rand(2, 1, 5, 6)
    matrices = np.array([[[1.0, 0.1, -1.0], [0.0, 0.9, 0.5]], [[0.8, 0.0, 0.3], [0.2, 1.0, 0.0]]])
    _both(kernels, "affine_warp", images, matrices, (4, 5), 0.0)
    _both(kernels, "horizontal_flip", images, np.array([True, False]))
    _both(kernels, "crop", images, np.array([[0, 1], [2, 3]]), (4, 4), 1, 0.0)
    _both(kernels, "erase", images, np.array([[1, 2, 3, 2], [0, 0, 0, 0]]), 0.5)
    param, grad = _rand(10), _rand(10, seed=1)
    state_cpu = [param.copy(), np.zeros(10, np.float32), np.zeros(10, np.float32)]
    state_gpu = [cuda.from_numpy(a) for a in state_cpu]
    for step in (1, 2):
        cpu.adam_step(state_cpu[0], grad, state_cpu[1], state_cpu[2], step, 1e-2, weight_decay=0.1)
        cuda.adam_step(state_gpu[0], cuda.from_numpy(grad), state_gpu[1], state_gpu[2], step,
                       1e-2, weight_decay=0.1)
        cpu.sgd_step(state_cpu[0], grad, state_cpu[1], 0.1, 0.9, first_step=step == 1)
        cuda.sgd_step(state_gpu[0], cuda.from_numpy(grad), state_gpu[1], 0.1, 0.9,
                      first_step=step == 1)
    _same(tuple(state_gpu), tuple(state_cpu))


def test_random_numbers_are_bit_identical_on_both_devices(kernels):
    cpu, cuda = kernels
    for dtype in (np.float32, np.float64):
        np.testing.assert_array_equal(cuda.to_numpy(cuda.uniform((257,), dtype, 42)),
                                      cpu.uniform((257,), dtype, 42))
        np.testing.assert_array_equal(cuda.to_numpy(cuda.dropout_mask((257,), 0.3, dtype, 7)),
                                      cpu.dropout_mask((257,), 0.3, dtype, 7))
        np.testing.assert_allclose(cuda.to_numpy(cuda.normal((257,), dtype, 42)),
                                   cpu.normal((257,), dtype, 42), rtol=1e-6, atol=1e-12)
    tg.manual_seed(3)
    on_gpu = tg.rand(5, 4, device="cuda").numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(on_gpu, tg.rand(5, 4).numpy())


def test_composite_functions_pass_gradcheck_on_the_gpu():
    x, w, b = _rand(3, 4, dtype=np.float64), _rand(5, 4, seed=1), _rand(5, seed=2)
    check_gradients(lambda x, w, b: F.log_softmax(F.linear(x, w, b).tanh(), dim=1), x, w, b,
                    device="cuda")
    images, kernel = _rand(1, 2, 4, 4, dtype=np.float64), _rand(2, 1, 2, 2, seed=3)
    if hasattr(F, "conv2d"):
        check_gradients(lambda x, k: F.conv2d(x, k, stride=1, padding=1, groups=2).relu(),
                        images, kernel, device="cuda")
    check_gradients(lambda x: F.batch_norm(x, None, None, training=True).sigmoid() * x, images,
                    device="cuda")


class _Exposes:
    """A stand-in for a CuPy array or a PyTorch CUDA tensor: only the interface."""

    def __init__(self, interface):
        self.__cuda_array_interface__ = interface


def test_cuda_array_interface_round_trip_shares_memory():
    a = tg.arange(6, dtype=tg.float32, device="cuda").reshape(2, 3)
    interface = a.__cuda_array_interface__
    assert interface["shape"] == (2, 3) and interface["typestr"].endswith("f4")
    b = tg.tensor(_Exposes(interface), device="cuda")
    np.testing.assert_array_equal(b.numpy(), a.numpy())
    with tg.no_grad():
        a.add_(10.0)
    np.testing.assert_array_equal(b.numpy(), a.numpy())  # same memory: no copy was made
    assert not hasattr(tg.ones(2), "__cuda_array_interface__")


def test_torch_cuda_tensor_is_shared_without_copy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or tg.cuda.is_simulator():
        pytest.skip("needs PyTorch with a real CUDA device")
    source = torch.arange(4, dtype=torch.float32, device="cuda")
    ours = tg.tensor(source, device="cuda")
    source += 1
    np.testing.assert_array_equal(ours.numpy(), source.cpu().numpy())


def test_mixing_devices_in_one_op_is_a_clear_error():
    with pytest.raises(ValueError, match="all inputs must be on one device"):
        tg.ones(2, device="cuda") * tg.ones(2)
    with pytest.raises(ValueError, match="all inputs must be on one device"):
        F.linear(tg.ones(1, 3), tg.ones(2, 3, device="cuda"))


def test_availability_answers_and_require_explains(monkeypatch):
    assert tg.cuda.is_available() is True
    assert isinstance(tg.cuda.is_simulator(), bool)
    monkeypatch.setattr(tg.cuda, "_unavailable_reason", lambda: "no NVIDIA driver found")
    assert tg.cuda.is_available() is False
    with pytest.raises(RuntimeError, match="device 'cuda' is not available: no NVIDIA driver"):
        tg.zeros(2, device="cuda")


def test_importing_tinygradcnn_does_not_load_numba_cuda():
    code = "import sys, tinygradcnn; print('numba.cuda' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_a_training_step_on_the_gpu_matches_the_cpu():
    nn = tg.nn

    def build(device):
        tg.manual_seed(0)
        layers = [nn.Linear(12, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 3)]
        if hasattr(nn, "Conv2d") and hasattr(F, "conv2d"):
            layers = [nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                      nn.Linear(8, 12), *layers]
        return nn.Sequential(*layers).to(device)

    images = _rand(4, 1, 4, 4, seed=7)
    labels = np.array([0, 2, 1, 2])
    results = []
    for device in ("cpu", "cuda"):
        model = build(device)
        optimizer = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        tg.manual_seed(1)
        for _ in range(2):
            x = tg.tensor(images, device=device)
            if not hasattr(nn, "Conv2d") or not hasattr(F, "conv2d"):
                x = x.reshape(4, 16)[:, :12]
            loss = F.cross_entropy(model(x), tg.tensor(labels, device=device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        results.append([loss.item()] + [p.numpy() for p in model.parameters()])
    for cpu_value, gpu_value in zip(*results, strict=True):
        np.testing.assert_allclose(gpu_value, cpu_value, rtol=1e-4, atol=1e-5)
