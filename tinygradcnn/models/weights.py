"""Weight files for the zoo: `weights=` of every builder, and the `convert` command.

    model = models.resnet18(weights="resnet18.safetensors")     # or .npz, or .pth

Nothing is downloaded. torchvision publishes its ImageNet weights as `.pth` files; with
PyTorch installed a `.pth` file is read directly (`torch.load(weights_only=True)`, which
unpickles tensors and containers only), and `python -m tinygradcnn convert X.pth X.safetensors`
turns it once into a file that needs no PyTorch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, TypeVar

import numpy as np

from ..nn.module import Module
from ..serialization import load
from ..tensor import Tensor

TORCHVISION_URL = "https://download.pytorch.org/models/"

# torchvision's IMAGENET1K_V1 file of each model (its `*_Weights` enums list the rest)
TORCHVISION_FILES: dict[str, str] = {
    "alexnet": "alexnet-owt-7be5be79.pth",
    "googlenet": "googlenet-1378be20.pth",
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "resnet101": "resnet101-63fe2227.pth",
    "resnet152": "resnet152-394f9c45.pth",
    "resnext50_32x4d": "resnext50_32x4d-7cdf4587.pth",
    "resnext101_32x8d": "resnext101_32x8d-8ba56ff5.pth",
    "resnext101_64x4d": "resnext101_64x4d-173b62eb.pth",
    "wide_resnet50_2": "wide_resnet50_2-95faca4d.pth",
    "wide_resnet101_2": "wide_resnet101_2-32ee1156.pth",
    "vgg11": "vgg11-8a719046.pth",
    "vgg11_bn": "vgg11_bn-6002323d.pth",
    "vgg13": "vgg13-19584684.pth",
    "vgg13_bn": "vgg13_bn-abd245e5.pth",
    "vgg16": "vgg16-397923af.pth",
    "vgg16_bn": "vgg16_bn-6c64b313.pth",
    "vgg19": "vgg19-dcbb9e9d.pth",
    "vgg19_bn": "vgg19_bn-c79401a0.pth",
}

M = TypeVar("M", bound=Module)

WEIGHT_FORMATS = (".safetensors", ".npz", ".pth", ".pt")


def where_to_get(name: str) -> str:
    """A sentence telling a user where torchvision's weights for `name` are and how to
    convert them."""
    file = TORCHVISION_FILES.get(name)
    if file is None:
        return (f"train {name} here (python -m tinygradcnn train --model {name}) or convert a "
                "PyTorch state dict: python -m tinygradcnn convert MODEL.pth MODEL.safetensors")
    return (f"download torchvision's weights from {TORCHVISION_URL}{file} (tinygradcnn downloads "
            f"nothing) and convert them once: python -m tinygradcnn convert {file} "
            f"{name}.safetensors")


def _read_pth(path: str) -> Any:
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"{path}: a .pth file is read with PyTorch, which is not installed: "
                          "pip install torch, or convert the file where PyTorch is "
                          f"(python -m tinygradcnn convert {os.path.basename(path)} "
                          f"{os.path.splitext(os.path.basename(path))[0]}.safetensors)") from err
    return torch.load(path, map_location="cpu", weights_only=True)


def _as_array(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.numpy()
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def read_state_dict(path: str | os.PathLike, who: str = "load") -> OrderedDict[str, np.ndarray]:
    """{name: NumPy array} from a `.safetensors`, `.npz` or `.pth`/`.pt` file.

    A checkpoint that wraps its weights (`{"state_dict": ...}` or `{"model": ...}`, as
    training scripts and `tg.save_model` write) is unwrapped."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1]
    if extension not in WEIGHT_FORMATS:
        raise ValueError(f"{who}: {path} is not a weight file this library reads (expected "
                         f"{', '.join(WEIGHT_FORMATS)})")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: weight file {path} does not exist")
    content = _read_pth(path) if extension in (".pth", ".pt") else load(path)
    for key in ("state_dict", "model", "weights"):
        if isinstance(content, dict) and isinstance(content.get(key), dict):
            content = content[key]
            break
    if not isinstance(content, dict):
        raise ValueError(f"{who}: {path} holds a {type(content).__name__}, not a state dict "
                         "({name: tensor})")
    state = OrderedDict()
    for key, value in content.items():
        array = _as_array(value)
        if not isinstance(key, str) or array.dtype == object:
            raise ValueError(f"{who}: {path} entry {key!r} is not a named tensor")
        state[key] = array
    return state


def state_dict_from(weights: Any, name: str) -> Any:
    """The state dict that `weights=` names: None, the dict itself, or the contents of a
    weight file. A missing file, or a torchvision enum name, says where torchvision's
    weights are."""
    if weights is None or isinstance(weights, dict):
        return weights
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(f"{name}: weights must be None, a path to a weight file or a state "
                        f"dict, got {type(weights).__name__}")
    path = os.fspath(weights)
    if not os.path.splitext(path)[1]:
        # torchvision's enum names ("DEFAULT", "IMAGENET1K_V1") mean a download
        raise ValueError(f"{name}: weights={path!r} is not a file path; {where_to_get(name)}, "
                         f"then pass weights='{name}.safetensors'")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: weight file {path} does not exist; "
                                f"{where_to_get(name)}")
    return read_state_dict(path, name)


def load_weights(model: M, weights: Any, name: str) -> M:
    """Load `weights` (None: nothing; a path or a {name: array} dict, see `state_dict_from`)
    into `model` built by builder `name`, strictly: every key must fit."""
    if weights is not None:
        model.load_state_dict(state_dict_from(weights, name))
    return model
