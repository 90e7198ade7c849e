"""Optimizers, learning-rate schedules and the L1 penalty, with PyTorch's names, arguments
and update rules, so that a model trains the same here and there.

- `optimizer.py`: the `Optimizer` base (parameter groups, state, `state_dict`);
- `sgd.py`, `adam.py` (Adam, AdamW, NAdam), `adadelta.py`, `adagrad.py`, `rmsprop.py`: one
  optimizer family a file, each update one fused kernel per parameter;
- `lr_scheduler` (as `torch.optim.lr_scheduler`): the schedules, from `scheduler.py` (the
  base), `schedules.py`, `composite.py`, `one_cycle.py` and `plateau.py`;
- `penalty.py`: `l1_penalty`.

The schedules are also importable from here (`optim.StepLR`), as they always were.
"""

from . import lr_scheduler as lr_scheduler
from .adadelta import Adadelta as Adadelta
from .adagrad import Adagrad as Adagrad
from .adam import Adam as Adam
from .adam import AdamW as AdamW
from .adam import NAdam as NAdam
from .lr_scheduler import ChainedScheduler as ChainedScheduler
from .lr_scheduler import ConstantLR as ConstantLR
from .lr_scheduler import CosineAnnealingLR as CosineAnnealingLR
from .lr_scheduler import CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts
from .lr_scheduler import ExponentialLR as ExponentialLR
from .lr_scheduler import LambdaLR as LambdaLR
from .lr_scheduler import LinearLR as LinearLR
from .lr_scheduler import LRScheduler as LRScheduler
from .lr_scheduler import MultiplicativeLR as MultiplicativeLR
from .lr_scheduler import MultiStepLR as MultiStepLR
from .lr_scheduler import OneCycleLR as OneCycleLR
from .lr_scheduler import PolynomialLR as PolynomialLR
from .lr_scheduler import ReduceLROnPlateau as ReduceLROnPlateau
from .lr_scheduler import SequentialLR as SequentialLR
from .lr_scheduler import StepLR as StepLR
from .optimizer import Optimizer as Optimizer
from .penalty import l1_penalty as l1_penalty
from .rmsprop import RMSprop as RMSprop
from .sgd import SGD as SGD
