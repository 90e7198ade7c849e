"""Training: the loop (`fit`, `evaluate`, `predict`), its callbacks, the `History` it
returns, and the metrics of a classifier. The pictures live in `tinygradcnn.viz`.

    loop.py       fit, evaluate, predict, Trainer (what callbacks see)
    checkpoint.py what a checkpoint holds, and resuming from one
    callbacks.py  Callback, TerminateOnNaN, EarlyStopping, ModelCheckpoint
    history.py    History: the per-epoch record
    metrics.py    accuracy, count_correct, confusion_matrix, format_confusion_matrix,
                  roc_curve, roc_auc_score, equal_error_rate (verification)
    detection_metrics.py  mean_average_precision (COCO box AP), format_detection_metrics
"""

# importable from here, where it lived before the pictures moved to viz
from ..viz.confusion import plot_confusion_matrix as plot_confusion_matrix
from .callbacks import Callback as Callback
from .callbacks import EarlyStopping as EarlyStopping
from .callbacks import ModelCheckpoint as ModelCheckpoint
from .callbacks import TerminateOnNaN as TerminateOnNaN
from .checkpoint import CHECKPOINT_FORMAT as CHECKPOINT_FORMAT
from .detection_metrics import format_detection_metrics as format_detection_metrics
from .detection_metrics import mean_average_precision as mean_average_precision
from .history import History as History
from .loop import Trainer as Trainer
from .loop import evaluate as evaluate
from .loop import fit as fit
from .loop import predict as predict
from .metrics import accuracy as accuracy
from .metrics import confusion_matrix as confusion_matrix
from .metrics import count_correct as count_correct
from .metrics import equal_error_rate as equal_error_rate
from .metrics import format_confusion_matrix as format_confusion_matrix
from .metrics import roc_auc_score as roc_auc_score
from .metrics import roc_curve as roc_curve
