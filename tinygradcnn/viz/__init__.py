"""Pictures of training and of models: plain functions that take histories, models, tensors
and arrays, return matplotlib Figures, and save nothing unless given a path.

    tg.viz.plot_learning_curves(history, "curves.png")
    tg.viz.plot_confusion_matrix(matrix, "confusion.png", class_names)

Needs matplotlib (the `plot` extra), imported only when a picture is drawn.
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
from .maximise import channel_activations as channel_activations
from .maximise import maximise_activation as maximise_activation
from .maximise import maximise_channels as maximise_channels
from .maximise import plot_maximised as plot_maximised
