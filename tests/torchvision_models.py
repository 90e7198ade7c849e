"""torchvision.models as an oracle for the zoo's parity tests, or None when it cannot be had.

The torchvision 0.28 wheel is a CUDA build: beside CPU torch its C ops (nms, roi_align...)
do not load, and ``import torchvision`` fails in ``torch.library.register_fake`` while it
registers their fake kernels. The models are pure Python and need none of those ops, so the
registration is made a no-op for the length of the import and then restored.
"""

import functools


@functools.cache
def torchvision_models():
    """Return the ``torchvision.models`` module, or None when torch or torchvision is missing."""
    try:
        import torch
        import torch.library
    except ImportError:
        return None
    original = torch.library.register_fake

    def register_nothing(*args, **kwargs):
        if args and callable(args[0]) and not isinstance(args[0], str):
            return args[0]
        return lambda fn: fn

    torch.library.register_fake = register_nothing
    try:
        import torchvision.models as models
    except Exception:  # an absent or broken torchvision: the parity tests skip
        return None
    finally:
        torch.library.register_fake = original
    return models
