"""Data sets, batching and augmentation: `tinygradcnn.data`."""

from . import transforms as transforms
from .datasets import MNIST as MNIST
from .datasets import ArrayDataset as ArrayDataset
from .datasets import ChecksumError as ChecksumError
from .datasets import Digits as Digits
from .datasets import FashionMNIST as FashionMNIST
from .datasets import data_root as data_root
from .idx import read_idx as read_idx
from .loader import DataLoader as DataLoader
from .loader import Subset as Subset
from .loader import random_split as random_split
from .loader import train_val_split as train_val_split
