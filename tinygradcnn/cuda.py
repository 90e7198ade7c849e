"""Is there a GPU to run on? Answers without raising; ``require()`` explains a "no"."""

import functools


@functools.cache
def _unavailable_reason() -> str | None:
    try:
        from numba import cuda
    except ImportError:  # pragma: no cover - numba always ships numba.cuda or numba-cuda
        return "the numba CUDA target is not installed (pip install 'tinygradcnn[cuda]')"
    try:
        if cuda.is_available():
            return None
        cuda.detect()
    except Exception as error:  # the driver raises many kinds when it is missing
        return f"no usable CUDA GPU: {error}"
    return "no usable CUDA GPU (no NVIDIA driver, or no GPU visible to this process)"


def is_available() -> bool:
    """True when tensors can be put on ``"cuda"`` (a GPU, or numba's CUDA simulator)."""
    return _unavailable_reason() is None


def is_simulator() -> bool:
    """True when numba's CUDA simulator stands in for a GPU (``NUMBA_ENABLE_CUDASIM=1``)."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)  # type: ignore[attr-defined]


def require() -> None:
    """Raise a clear RuntimeError if ``"cuda"`` cannot be used here, saying why."""
    reason = _unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"device 'cuda' is not available: {reason}")
