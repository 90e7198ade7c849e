"""`summary(model, input_shape)`: a per-layer table of output shapes, parameter counts and
multiply-adds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .conv import Conv1d, Conv2d
from .linear import Linear
from .module import Module


# the layers whose multiply-adds are counted, and how: one multiply-add per weight tap per
# output element (fvcore's and torchinfo's convention for convolutions and linear layers;
# normalisation, activations, pooling and additions are left out, as they are there)
def _multiply_adds(module: Module, output) -> int:
    if not isinstance(output, Tensor) or not isinstance(module, (Conv1d, Conv2d, Linear)):
        return 0
    weight = module.weight
    if isinstance(module, Linear):
        return output.numel() * weight.shape[1]
    taps_per_output = int(np.prod(weight.shape[1:]))  # C_in / groups * kernel size
    return output.numel() * taps_per_output


def _format_count(value: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value}"


def summary(
    model: Module,
    input_shape: tuple[int, ...],
    batch_size: int = 1,
    device: str = "cpu",
    print_fn: Callable[[str], None] | None = print,
    depth: int | None = None,
) -> str:
    """Run one forward pass on zeros of shape (batch_size, *input_shape) and tabulate the
    layers: name, type, output shape (batch shown as -1), parameters and multiply-adds per
    image, then the totals. Prints the table (unless `print_fn=None`) and returns it.

    `depth` (torchinfo's): show modules nested at most that deep, a module at the limit as
    one row summing its sub-layers (`depth=1` gives ResNet's stem layers and its four
    stages); None shows every leaf layer. Multiply-adds count convolutions and linear
    layers, one per weight tap per output element (as fvcore and torchinfo do: 4.09 G for
    ResNet-50 at 224x224). Modules the pass does not call (GoogLeNet's aux heads in eval)
    show no output shape.

    The pass runs in eval mode without gradients, so batch-norm statistics are untouched.

        >>> model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
        >>> _ = summary(model, (1, 28, 28))
        Sequential summary, input (1, 28, 28)
        ====================================================
        Layer (type)   Output Shape       Param #  Mult-Adds
        ====================================================
        0 (Conv2d)     [-1, 6, 24, 24]        156    86.40 K
        1 (ReLU)       [-1, 6, 24, 24]          0          0
        2 (MaxPool2d)  [-1, 6, 12, 12]          0          0
        ====================================================
        Total params: 156
        Trainable params: 156
        Non-trainable params: 0
        Multiply-adds: 86.40 K per image
        Output shape: [1, 6, 12, 12]
        Parameter memory: 0.00 MiB (float32)
        ====================================================
    """
    shapes: dict[int, str] = {}
    macs: dict[int, int] = {}
    handles = []

    def record(module, inputs, output):
        shape = list(output.shape) if isinstance(output, Tensor) else "?"
        if isinstance(shape, list) and shape:
            shape[0] = -1
        shapes[id(module)] = str(shape)
        macs[id(module)] = macs.get(id(module), 0) + _multiply_adds(module, output)

    for module in model.modules():
        handles.append(module.register_forward_hook(record))
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

    def subtree_macs(module: Module) -> int:
        return sum(macs.get(id(m), 0) for m in module.modules()) // max(batch_size, 1)

    rows: list[tuple[str, str, str, str]] = []
    for name, module in model.named_modules():
        # a model without children (one Linear, a layer of one's own) is its own only row
        is_leaf = next(module.children(), None) is None
        level = name.count(".") + 1 if name else 0
        shown = is_leaf if depth is None else (
            level == depth or (level < depth and is_leaf)) and (level > 0 or is_leaf)
        if not shown:
            continue
        kind = type(module).__name__
        count = sum(p.numel() for p in module.parameters())
        rows.append((f"{name} ({kind})" if name else kind, shapes.get(id(module), "--"),
                     f"{count:,}", _format_count(subtree_macs(module))))

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    headers = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds")
    widths = [max([len(headers[k]), *(len(row[k]) for row in rows)]) + 2 for k in range(4)]
    width = sum(widths)

    def line(cells) -> str:
        return (cells[0].ljust(widths[0]) + cells[1].ljust(widths[1])
                + cells[2].rjust(widths[2]) + cells[3].rjust(widths[3]))

    output_shape = list(output.shape) if isinstance(output, Tensor) else "?"
    lines = [f"{type(model).__name__} summary, input {tuple(input_shape)}", "=" * width,
             line(headers), "=" * width, *(line(row) for row in rows), "=" * width,
             f"Total params: {total:,}", f"Trainable params: {trainable:,}",
             f"Non-trainable params: {total - trainable:,}",
             f"Multiply-adds: {_format_count(subtree_macs(model))} per image",
             f"Output shape: {output_shape}",
             f"Parameter memory: {4 * total / 2**20:.2f} MiB (float32)", "=" * width]
    table = "\n".join(lines)
    if print_fn is not None:
        print_fn(table)
    return table
