"""ONNX export: ``tinygradcnn.onnx.export(model, example_input, "model.onnx")``.

One eval forward pass is traced through ``Function.apply`` (``trace.py``), each recorded op
is turned into ONNX nodes by its exporter (``exporters.py``, one table keyed by the
Function's name) and the graph is written with the ``onnx`` package (``graph.py``). The
``onnx`` package (the optional ``onnx`` extra: ``pip install tinygradcnn[onnx]``) is
imported on the first export, so ``import tinygradcnn`` does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .trace import ExportError as ExportError

if TYPE_CHECKING:
    import onnx as onnx_package

    from ..nn.module import Module


def _graph():
    try:
        from . import graph
    except ImportError as err:  # the optional extra is missing
        raise ImportError(f"tinygradcnn.onnx needs the onnx package ({err}): pip install "
                          f"'tinygradcnn[onnx]'") from err
    return graph


def export(model: Module, example_input: Any, path: str, opset: int = 17,
           dynamic_batch: bool = True, input_names: Sequence[str] = ("input",),
           output_names: Sequence[str] = ("output",), fold_batchnorm: bool = False) -> dict:
    """Write ``model`` as an ONNX file whose outputs in onnxruntime match the model's eval
    forward: (N, C, H, W) example input -> ``path``. See ``graph.export`` for the details;
    returns ``{"seconds", "bytes", "nodes"}``."""
    return _graph().export(model, example_input, path, opset, dynamic_batch, input_names,
                           output_names, fold_batchnorm)


def build_model(model: Module, example_input: Any, opset: int = 17, dynamic_batch: bool = True,
                input_names: Sequence[str] = ("input",),
                output_names: Sequence[str] = ("output",),
                fold_batchnorm: bool = False) -> onnx_package.ModelProto:
    """The ``onnx.ModelProto`` that ``export`` writes, without writing it."""
    return _graph().build_model(model, example_input, opset, dynamic_batch, input_names,
                                output_names, fold_batchnorm)
