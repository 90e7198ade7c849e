"""tinygradcnn: a small, readable deep-learning engine for CNNs, on Numba CPU and CUDA kernels.

>>> import tinygradcnn as tg
>>> x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad            # d(sum x^2)/dx = 2x
tensor([[2., 4.],
        [6., 8.]])
"""

from . import cuda as cuda
from . import data as data
from . import models as models
from . import nn as nn
from . import optim as optim
from . import viz as viz
from .autograd import Function as Function
from .autograd import enable_grad as enable_grad
from .autograd import is_grad_enabled as is_grad_enabled
from .autograd import no_grad as no_grad
from .creation import arange as arange
from .creation import empty as empty
from .creation import from_numpy as from_numpy
from .creation import full as full
from .creation import full_like as full_like
from .creation import ones as ones
from .creation import ones_like as ones_like
from .creation import rand as rand
from .creation import randint as randint
from .creation import randn as randn
from .creation import zeros as zeros
from .creation import zeros_like as zeros_like
from .gradcheck import GradcheckError as GradcheckError
from .gradcheck import gradcheck as gradcheck
from .models.files import load_model as load_model
from .models.files import save_model as save_model
from .nn.summary import summary as summary
from .ops.activation import relu as relu
from .ops.activation import sigmoid as sigmoid
from .ops.activation import tanh as tanh
from .ops.elementwise import abs as abs
from .ops.elementwise import add as add
from .ops.elementwise import clamp as clamp
from .ops.elementwise import div as div
from .ops.elementwise import eq as eq
from .ops.elementwise import exp as exp
from .ops.elementwise import log as log
from .ops.elementwise import maximum as maximum
from .ops.elementwise import minimum as minimum
from .ops.elementwise import mul as mul
from .ops.elementwise import neg as neg
from .ops.elementwise import pow as pow
from .ops.elementwise import sign as sign
from .ops.elementwise import sqrt as sqrt
from .ops.elementwise import sub as sub
from .ops.elementwise import where as where
from .ops.matmul import matmul as matmul
from .ops.reduce import amax as amax
from .ops.reduce import amin as amin
from .ops.reduce import argmax as argmax
from .ops.reduce import argmin as argmin
from .ops.reduce import max as max
from .ops.reduce import mean as mean
from .ops.reduce import min as min
from .ops.reduce import std as std
from .ops.reduce import sum as sum
from .ops.reduce import var as var
from .ops.shape import cat as cat
from .ops.shape import flatten as flatten
from .ops.shape import pad as pad
from .ops.shape import permute as permute
from .ops.shape import reshape as reshape
from .ops.shape import squeeze as squeeze
from .ops.shape import stack as stack
from .ops.shape import transpose as transpose
from .ops.shape import unsqueeze as unsqueeze
from .random import get_rng_state as get_rng_state
from .random import manual_seed as manual_seed
from .random import set_rng_state as set_rng_state
from .serialization import load as load
from .serialization import save as save
from .tensor import Tensor as Tensor
from .tensor import bool_ as bool_
from .tensor import float32 as float32
from .tensor import float64 as float64
from .tensor import int32 as int32
from .tensor import int64 as int64
from .tensor import tensor as tensor
from .train import EarlyStopping as EarlyStopping
from .train import History as History
from .train import ModelCheckpoint as ModelCheckpoint
from .train import TerminateOnNaN as TerminateOnNaN
from .train import evaluate as evaluate
from .train import fit as fit

__version__ = "0.1.0"
