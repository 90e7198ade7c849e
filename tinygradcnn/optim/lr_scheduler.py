"""Learning-rate schedules with PyTorch's semantics, so the same lines give the same sequence.

    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(epochs):
        train(...)              # optimizer.step() for every batch
        scheduler.step()        # then once per epoch (OneCycleLR: once per batch)

A scheduler writes each group's `optimizer.param_groups[i]["lr"]`; construction sets
`initial_lr` in every group and performs step 0. Most compute the next lr from the current
one (PyTorch's recursive, "chainable" form: `CosineAnnealingLR` multiplies by a ratio of
cosines rather than evaluating the closed form), so two schedulers on one optimizer compose
and the floating-point sequence is PyTorch's, step for step. `last_epoch` counts the steps
taken; `get_last_lr()` is the lrs the last step set. `ReduceLROnPlateau` is stepped with the
monitored metric instead.
"""

from .composite import ChainedScheduler as ChainedScheduler
from .composite import SequentialLR as SequentialLR
from .one_cycle import OneCycleLR as OneCycleLR
from .plateau import ReduceLROnPlateau as ReduceLROnPlateau
from .scheduler import LRScheduler as LRScheduler
from .schedules import ConstantLR as ConstantLR
from .schedules import CosineAnnealingLR as CosineAnnealingLR
from .schedules import CosineAnnealingWarmRestarts as CosineAnnealingWarmRestarts
from .schedules import ExponentialLR as ExponentialLR
from .schedules import LambdaLR as LambdaLR
from .schedules import LinearLR as LinearLR
from .schedules import MultiplicativeLR as MultiplicativeLR
from .schedules import MultiStepLR as MultiStepLR
from .schedules import PolynomialLR as PolynomialLR
from .schedules import StepLR as StepLR
