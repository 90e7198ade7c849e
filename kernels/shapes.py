"""Output sizes of sliding-window ops, shared by the CPU and GPU kernels (plain Python).

One axis at a time, for an input of ``size`` with a window of ``kernel`` taps ``dilation``
apart, moved ``stride`` at a time over the input with its padding.
"""


def conv2d_output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                       dilation: int) -> int:
    """Output length of a convolution along one axis (floor mode)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling output length: with ``ceil_mode`` a partial last window counts, but
    it must start inside the input or its left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the right padding
    return out
