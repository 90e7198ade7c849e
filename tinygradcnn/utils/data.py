"""`torch.utils.data` under its PyTorch path: the same objects as `tinygradcnn.data`."""

from ..data import BatchSampler as BatchSampler
from ..data import ConcatDataset as ConcatDataset
from ..data import DataLoader as DataLoader
from ..data import Dataset as Dataset
from ..data import RandomSampler as RandomSampler
from ..data import Sampler as Sampler
from ..data import SequentialSampler as SequentialSampler
from ..data import Subset as Subset
from ..data import SubsetRandomSampler as SubsetRandomSampler
from ..data import TensorDataset as TensorDataset
from ..data import WeightedRandomSampler as WeightedRandomSampler
from ..data import WorkerInfo as WorkerInfo
from ..data import default_collate as default_collate
from ..data import default_convert as default_convert
from ..data import get_worker_info as get_worker_info
from ..data import random_split as random_split
