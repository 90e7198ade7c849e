"""Loss modules: thin wrappers that hold the options of the functional losses."""

from __future__ import annotations

from ..ops._checks import one_of
from ..tensor import Tensor
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        one_of(type(self).__name__, "reduction", reduction, ("mean", "sum", "none"))
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None, reduction: str) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits (N, C) against class indices (N,) int64 -> scalar
    (or (N,) with reduction="none"): mean over i of -log softmax(logits_i)[target_i].

    `weight` (C,) rescales classes, targets equal to `ignore_index` are skipped, and
    `label_smoothing` = eps trains against (1 - eps) * onehot + eps / C.
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,) -> scalar
    (or (N,) with reduction="none"); `NLLLoss()(log_softmax(x, 1), t)` equals
    `CrossEntropyLoss()(x, t)`."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, log_probs, target):
        return F.nll_loss(log_probs, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error between two tensors of one shape: (*), (*) -> scalar (or (*) with
    reduction="none"); shapes that differ broadcast, with PyTorch's warning."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error between two tensors of one shape: (*), (*) -> scalar (or (*)
    with reduction="none"); shapes that differ broadcast, with PyTorch's warning."""

    def forward(self, prediction, target):
        return F.l1_loss(prediction, target, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of logits against targets in [0, 1], computed stably:
    (*), (*) -> scalar (or (*) with reduction="none"); `weight` rescales elements,
    `pos_weight` the positive term (per class)."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.weight, self.reduction,
                                                  self.pos_weight)
