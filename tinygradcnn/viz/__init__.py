"""Pictures of training and of models: plain functions that take histories, models, tensors
and arrays, return matplotlib Figures, and save nothing unless given a path.

    tg.viz.plot_learning_curves(history, "curves.png")
    tg.viz.plot_confusion_matrix(matrix, "confusion.png", class_names)

The teaching views compute plain data and draw it apart: `conv_steps` / `pool_steps`
(steps.py, pictures in steps_render.py), `layer_shapes` (shapes.py), `feature_maps` and the
filters (maps.py), `softmax_ledger` (softmax.py); `python -m tinygradcnn explain VIEW` runs
them on a trained model (explain.py holds the views by name, report.py the HTML page).

Needs matplotlib (the `plot` extra; `viz` adds Pillow for animated GIFs), imported only
when a picture is drawn.
"""

from .attribution import GradCAM as GradCAM
from .attribution import compute_grad_cam as compute_grad_cam
from .attribution import grad_cam as grad_cam
from .attribution import plot_attribution as plot_attribution
from .attribution import saliency as saliency
from .board import Board as Board
from .board import BoardRun as BoardRun
from .board import overfitting_board as overfitting_board
from .board import plot_overfitting_board as plot_overfitting_board
from .confusion import plot_confusion_matrix as plot_confusion_matrix
from .curves import plot_learning_curves as plot_learning_curves
from .graph import GraphNode as GraphNode
from .graph import model_graph as model_graph
from .graph import plot_model_graph as plot_model_graph
from .maps import classic_kernels as classic_kernels
from .maps import feature_maps as feature_maps
from .maps import filter_responses as filter_responses
from .maps import plot_feature_maps as plot_feature_maps
from .maps import plot_filters as plot_filters
from .maximise import channel_activations as channel_activations
from .maximise import maximise_activation as maximise_activation
from .maximise import maximise_channels as maximise_channels
from .maximise import plot_maximised as plot_maximised
from .report import write_report as write_report
from .shapes import format_layer_shapes as format_layer_shapes
from .shapes import layer_shapes as layer_shapes
from .shapes import plot_layer_shapes as plot_layer_shapes
from .softmax import format_softmax_ledger as format_softmax_ledger
from .softmax import plot_softmax_ledger as plot_softmax_ledger
from .softmax import softmax_ledger as softmax_ledger
from .steps import conv_steps as conv_steps
from .steps import format_conv_steps as format_conv_steps
from .steps import format_pool_steps as format_pool_steps
from .steps import output_map as output_map
from .steps import pool_steps as pool_steps
from .steps_render import plot_pool_steps as plot_pool_steps
from .steps_render import render_conv_steps as render_conv_steps
