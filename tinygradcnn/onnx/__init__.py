"""ONNX export: ``tinygradcnn.onnx.export(model, example_input, "model.onnx")``.

One eval forward pass is traced through ``Function.apply`` (``trace.py``), each recorded op
is turned into ONNX nodes by its exporter (``exporters.py``, one table keyed by the
Function's name) and the graph is written with the ``onnx`` package (``graph.py``). Needs
the optional ``onnx`` extra (``pip install tinygradcnn[onnx]``).
"""

from .graph import build_model as build_model
from .graph import export as export
from .trace import ExportError as ExportError
