"""The L1 penalty: a term added to the loss, where L2 regularisation is the optimizers'
`weight_decay`."""

from __future__ import annotations

from ..tensor import Tensor


def l1_penalty(params, weight: float) -> Tensor:
    """weight * sum(|p|) over `params` (a Module or an iterable of Parameters), as a scalar
    Tensor to add to the loss: L1 regularisation, which pushes weights to exactly zero.
    (L2 regularisation is the optimizers' `weight_decay`.)"""
    params = params.parameters() if hasattr(params, "parameters") else params
    total = None
    for param in params:
        if not param.requires_grad:
            continue
        term = param.abs().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l1_penalty: no parameters that require grad")
    return total * weight
