"""PyTorch's `torch.utils` path, so that ported code imports unchanged but for its root:
`from tinygradcnn.utils.data import DataLoader`."""

from . import data as data
