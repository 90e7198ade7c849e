"""Fit a tiny two-layer network to y = sin(x) with nothing but tensors and autograd.

    python examples/fit_with_the_core.py

No layers, no optimizer class: the weights are tensors that require grad, the update is
``w -= lr * w.grad`` under ``no_grad``. The printed loss falls from about 0.1 to below 0.01.
"""

import numpy as np

import tinygradcnn as tg


def main(steps: int = 500, lr: float = 0.1) -> float:
    tg.manual_seed(0)
    x = tg.tensor(np.linspace(-3, 3, 128, dtype=np.float32).reshape(-1, 1))
    y = tg.tensor(np.sin(x.numpy()))
    w1 = (tg.randn(1, 32) * 0.5).requires_grad_()
    b1 = tg.zeros(32, requires_grad=True)
    w2 = (tg.randn(32, 1) * 0.2).requires_grad_()
    b2 = tg.zeros(1, requires_grad=True)
    for step in range(steps + 1):
        prediction = tg.tanh(x @ w1 + b1) @ w2 + b2
        loss = ((prediction - y) ** 2).mean()
        for parameter in (w1, b1, w2, b2):
            parameter.grad = None
        loss.backward()
        with tg.no_grad():
            for parameter in (w1, b1, w2, b2):
                parameter.sub_(parameter.grad * lr)
        if step % 100 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    return loss.item()


if __name__ == "__main__":
    main()
