"""Helpers around a model's parameters, at PyTorch's import paths (`nn.utils.clip_grad_norm_`).

- `clip_grad.py`: `clip_grad_norm_`, `clip_grad_value_`, `get_total_norm`,
  `clip_grads_with_norm_` (gradient clipping before `optimizer.step()`).
- `convert_parameters.py`: `parameters_to_vector`, `vector_to_parameters` (all weights as
  one flat vector, for second-order methods and weight-space experiments).
"""

from .clip_grad import clip_grad_norm_ as clip_grad_norm_
from .clip_grad import clip_grad_value_ as clip_grad_value_
from .clip_grad import clip_grads_with_norm_ as clip_grads_with_norm_
from .clip_grad import get_total_norm as get_total_norm
from .convert_parameters import parameters_to_vector as parameters_to_vector
from .convert_parameters import vector_to_parameters as vector_to_parameters
