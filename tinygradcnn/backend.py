"""Which kernels run an op: the tensor's device decides, never a global switch."""

from types import ModuleType

DEVICES = ("cpu", "cuda")


def normalize_device(device) -> str:
    """``"cpu"``, ``"cuda"`` or ``"cuda:0"`` (one GPU for now) -> ``"cpu"`` or ``"cuda"``."""
    name = str(device)
    base = name.split(":", 1)[0]
    if base not in DEVICES or (base == "cuda" and name not in ("cuda", "cuda:0")):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return base


def kernels_for(device: str) -> ModuleType:
    """The kernel namespace of ``device``: ``tinygradcnn.kernels.cpu`` or ``.cuda``."""
    if device == "cpu":
        from tinygradcnn.kernels import cpu

        return cpu
    from tinygradcnn import cuda

    cuda.require()
    from tinygradcnn.kernels import cuda as cuda_kernels

    return cuda_kernels
