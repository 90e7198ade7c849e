"""Data sets, batching and augmentation: `tinygradcnn.data` (PyTorch's `torch.utils.data`
names, and torchvision's `datasets` and `transforms` modules)."""

from . import datasets as datasets
from . import transforms as transforms
from .collate import default_collate as default_collate
from .collate import default_convert as default_convert
from .dataset import ConcatDataset as ConcatDataset
from .dataset import Dataset as Dataset
from .dataset import Subset as Subset
from .dataset import TensorDataset as TensorDataset
from .dataset import random_split as random_split
from .dataset import train_val_split as train_val_split
from .datasets import MNIST as MNIST
from .datasets import ArrayDataset as ArrayDataset
from .datasets import ChecksumError as ChecksumError
from .datasets import Digits as Digits
from .datasets import FashionMNIST as FashionMNIST
from .datasets import data_root as data_root
from .detection import DetectionCanvas as DetectionCanvas
from .detection import detection_collate as detection_collate
from .faces import OlivettiFaces as OlivettiFaces
from .faces import olivetti_split as olivetti_split
from .idx import read_idx as read_idx
from .loader import DataLoader as DataLoader
from .sampler import BatchSampler as BatchSampler
from .sampler import RandomSampler as RandomSampler
from .sampler import Sampler as Sampler
from .sampler import SequentialSampler as SequentialSampler
from .sampler import SubsetRandomSampler as SubsetRandomSampler
from .sampler import WeightedRandomSampler as WeightedRandomSampler
from .ucr import UCRDataset as UCRDataset
from .ucr import parse_ts as parse_ts
from .workers import WorkerInfo as WorkerInfo
from .workers import get_worker_info as get_worker_info
