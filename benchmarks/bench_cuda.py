# ruff: noqa: B023 -- each timed closure is called inside the loop that defines it
"""GPU benchmark: tinygradcnn's CUDA kernels against PyTorch CUDA (cuDNN, TF32 off).

    python benchmarks/bench_cuda.py            # on a machine with an NVIDIA GPU
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_cuda.py --smoke   # tiny shapes, no GPU

Prints one table: for each op (the CPU table's convolutions and pooling, a 3x3 depthwise
convolution, a ResNet-like stack at batch 128) the forward and forward+backward times of
both libraries and their ratio, then LeNet-5 and a small ResNet's training throughput in
images/s, and the first-run (compile) time of each. Timings bracket the work with
``cuda.synchronize()`` / ``torch.cuda.synchronize()`` and take the median of several runs
after warm-up, so asynchronous launches are not mistaken for finished work.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tinygradcnn as tg
import tinygradcnn.nn.functional as F

# (name, input shape, weight shape, padding, groups) -- the CPU table's convolutions
CONVS = [
    ("conv 5x5 LeNet-1", (64, 1, 28, 28), (6, 1, 5, 5), 2, 1),
    ("conv 5x5 LeNet-2", (64, 6, 14, 14), (16, 6, 5, 5), 0, 1),
    ("conv 3x3 64ch", (32, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    ("conv 3x3 64ch b128", (128, 64, 32, 32), (64, 64, 3, 3), 1, 1),
    ("conv 3x3 depthwise", (64, 64, 32, 32), (64, 1, 3, 3), 1, 64),
]
SMOKE_CONVS = [("conv 3x3 smoke", (2, 2, 5, 5), (2, 2, 3, 3), 1, 1),
               ("conv depthwise smoke", (1, 2, 4, 4), (2, 1, 3, 3), 1, 2)]


def _sync_ours():
    from numba import cuda

    cuda.synchronize()


def _median_time(fn, sync, repeats: int, warmup: int = 2) -> tuple[float, float]:
    """(first call incl. compilation, median of ``repeats`` later calls), in seconds."""
    sync()
    start = time.perf_counter()
    fn()
    sync()
    first = time.perf_counter() - start
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cudnn.allow_tf32 = False  # a fair float32 comparison
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    return torch


def _conv_rows(convs, torch, repeats):
    rows = []
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, padding, groups in convs:
        x_np = rng.standard_normal(x_shape).astype(np.float32)
        w_np = rng.standard_normal(w_shape).astype(np.float32) * 0.1
        x = tg.tensor(x_np, device="cuda", requires_grad=True)
        w = tg.tensor(w_np, device="cuda", requires_grad=True)

        def ours_fwd():
            with tg.no_grad():
                F.conv2d(x, w, padding=padding, groups=groups)

        def ours_bwd():
            F.conv2d(x, w, padding=padding, groups=groups).sum().backward()

        ours = [_median_time(fn, _sync_ours, repeats) for fn in (ours_fwd, ours_bwd)]
        theirs = [(float("nan"), float("nan"))] * 2
        if torch is not None:
            tx = torch.tensor(x_np, device="cuda", requires_grad=True)
            tw = torch.tensor(w_np, device="cuda", requires_grad=True)

            def torch_fwd():
                with torch.no_grad():
                    torch.nn.functional.conv2d(tx, tw, padding=padding, groups=groups)

            def torch_bwd():
                torch.nn.functional.conv2d(tx, tw, padding=padding, groups=groups).sum().backward()

            theirs = [_median_time(torch_fwd, torch.cuda.synchronize, repeats),
                      _median_time(torch_bwd, torch.cuda.synchronize, repeats)]
        rows.append((f"{name} fwd", ours[0], theirs[0]))
        rows.append((f"{name} fwd+bwd", ours[1], theirs[1]))
    return rows


def _pool_rows(shape, torch, repeats):
    x_np = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    x = tg.tensor(x_np, device="cuda", requires_grad=True)

    def ours():
        F.max_pool2d(x, 2).sum().backward()

    theirs = (float("nan"), float("nan"))
    if torch is not None:
        tx = torch.tensor(x_np, device="cuda", requires_grad=True)
        theirs = _median_time(lambda: torch.nn.functional.max_pool2d(tx, 2).sum().backward(),
                              torch.cuda.synchronize, repeats)
    return [(f"max_pool2d 2x2 {shape} fwd+bwd", _median_time(ours, _sync_ours, repeats), theirs)]


def _lenet(nn, channels=1):
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def _resnet(nn, width=16, blocks=2):
    """A small ResNet-like stack: conv-BN-ReLU pairs at one width (no skip op needed for a
    throughput measurement), global average pooling and a classifier."""
    layers = [nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    for _ in range(blocks):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)]
    return nn.Sequential(*layers)


def _training_rows(torch, batch, image, repeats, smoke):
    rows = []
    for name, build, channels in (("LeNet-5", _lenet, 1), ("small ResNet", _resnet, 3)):
        size = 28 if name == "LeNet-5" else image
        if smoke and name == "LeNet-5":
            continue  # LeNet's fixed 28x28 geometry is too big for the simulator
        shape = (batch, channels, size, size)
        x_np = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
        y_np = np.random.default_rng(3).integers(0, 10, batch)
        model = build(tg.nn).to("cuda")
        optimizer = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = tg.tensor(x_np, device="cuda"), tg.tensor(y_np, device="cuda")

        def ours_step():
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        ours = _median_time(ours_step, _sync_ours, repeats)
        theirs = (float("nan"), float("nan"))
        if torch is not None:
            tmodel = _torch_twin(torch, name, channels).cuda()
            toptim = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
            tx = torch.tensor(x_np, device="cuda")
            ty = torch.tensor(y_np, device="cuda")

            def torch_step():
                loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
                toptim.zero_grad()
                loss.backward()
                toptim.step()

            theirs = _median_time(torch_step, torch.cuda.synchronize, repeats)
        rows.append((name, batch, ours, theirs))
    return rows


def _torch_twin(torch, name, channels):
    nn = torch.nn
    if name == "LeNet-5":
        return _lenet(nn, channels)
    return _resnet(nn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny shapes (runs under the simulator)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    tg.cuda.require()
    torch = None if args.smoke else _torch()
    repeats = args.repeats or (1 if args.smoke else 20)
    mode = "simulator" if tg.cuda.is_simulator() else "GPU"
    reference = "cuDNN, TF32 off" if torch else "not run"
    print(f"tinygradcnn CUDA benchmark ({mode}); PyTorch: {reference}")
    print(f"{'op':40s} {'ours ms':>10s} {'torch ms':>10s} {'ratio':>7s} {'first run s':>12s}")
    rows = _conv_rows(SMOKE_CONVS if args.smoke else CONVS, torch, repeats)
    rows += _pool_rows((2, 2, 4, 4) if args.smoke else (64, 6, 28, 28), torch, repeats)
    for name, (first, ours), (_, theirs) in rows:
        print(f"{name:40s} {ours * 1e3:10.3f} {theirs * 1e3:10.3f} {ours / theirs:7.2f} "
              f"{first:12.2f}")
    print(f"\n{'training':20s} {'batch':>6s} {'ours img/s':>12s} {'torch img/s':>12s} "
          f"{'ratio':>7s} {'first step s':>13s}")
    batch = 2 if args.smoke else 128
    image = 4 if args.smoke else 32
    for name, size, (first, ours), (_, theirs) in _training_rows(torch, batch, image, repeats,
                                                                 args.smoke):
        print(f"{name:20s} {size:6d} {size / ours:12.0f} {size / theirs:12.0f} "
              f"{theirs / ours:7.2f} {first:13.2f}")


if __name__ == "__main__":
    main()
