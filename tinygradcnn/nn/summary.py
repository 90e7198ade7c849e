"""`summary(model, input_shape)`: a per-layer table of output shapes and parameter counts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .module import Module


def summary(
    model: Module,
    input_shape: tuple[int, ...],
    batch_size: int = 1,
    device: str = "cpu",
    print_fn: Callable[[str], None] | None = print,
) -> str:
    """Run one forward pass on zeros of shape (batch_size, *input_shape) and tabulate every
    leaf layer: its name, type, output shape (batch shown as -1) and own parameter count,
    then the totals. Prints the table (unless `print_fn=None`) and returns it.

    The pass runs in eval mode without gradients, so batch-norm statistics are untouched.

        >>> model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
        >>> _ = summary(model, (1, 28, 28))
        Sequential summary, input (1, 28, 28)
        =========================================
        Layer (type)   Output Shape       Param #
        =========================================
        0 (Conv2d)     [-1, 6, 24, 24]        156
        1 (ReLU)       [-1, 6, 24, 24]          0
        2 (MaxPool2d)  [-1, 6, 12, 12]          0
        =========================================
        Total params: 156
        Trainable params: 156
        Non-trainable params: 0
        Output shape: [1, 6, 12, 12]
        Parameter memory: 0.00 MiB (float32)
        =========================================
    """
    rows: list[tuple[str, str, str]] = []
    handles = []

    def record(name: str):
        def hook(module, inputs, output):
            shape = list(output.shape) if isinstance(output, Tensor) else "?"
            if isinstance(shape, list) and shape:
                shape[0] = -1
            count = sum(p.numel() for p in module.parameters(recurse=False))
            kind = type(module).__name__
            rows.append((f"{name} ({kind})" if name else kind, str(shape), f"{count:,}"))
        return hook

    for name, module in model.named_modules():
        # a model without children (one Linear, a layer of one's own) is its own only row
        is_leaf = next(module.children(), None) is None
        if is_leaf:
            handles.append(module.register_forward_hook(record(name)))
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        with no_grad():
            output = model(Tensor(np.zeros((batch_size, *input_shape), np.float32),
                                  device=device))
    finally:
        for handle in handles:
            handle.remove()
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    headers = ("Layer (type)", "Output Shape", "Param #")
    widths = [max([len(headers[k]), *(len(row[k]) for row in rows)]) + 2 for k in range(3)]
    width = sum(widths)

    def line(cells) -> str:
        return cells[0].ljust(widths[0]) + cells[1].ljust(widths[1]) + cells[2].rjust(widths[2])

    output_shape = list(output.shape) if isinstance(output, Tensor) else "?"
    lines = [f"{type(model).__name__} summary, input {tuple(input_shape)}", "=" * width,
             line(headers), "=" * width, *(line(row) for row in rows), "=" * width,
             f"Total params: {total:,}", f"Trainable params: {trainable:,}",
             f"Non-trainable params: {total - trainable:,}",
             f"Output shape: {output_shape}",
             f"Parameter memory: {4 * total / 2**20:.2f} MiB (float32)", "=" * width]
    table = "\n".join(lines)
    if print_fn is not None:
        print_fn(table)
    return table
