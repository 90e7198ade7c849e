"""The views of `python -m tinygradcnn explain`, by name, and running them.

Each view is `view_NAME(ctx: ExplainContext) -> ViewResult` in the file of its kind; the
registry names the module and the function, imported only when the view runs, so a view
whose module is missing fails alone, with a message, and the others still run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .explain_types import ExplainContext, ViewResult

# view name -> (module in tinygradcnn.viz, function): the teaching order of `all`
VIEWS: dict[str, tuple[str, str]] = {
    "shapes": ("shapes", "view_shapes"),
    "conv": ("steps", "view_conv"),
    "pool": ("steps", "view_pool"),
    "filters": ("maps", "view_filters"),
    "layers": ("maps", "view_layers"),
    "softmax": ("softmax", "view_softmax"),
    "gradcam": ("attribution", "view_gradcam"),
    "saliency": ("attribution", "view_saliency"),
    "maximise": ("maximise", "view_maximise"),
    "graph": ("graph", "view_graph"),
    "overfitting": ("board", "view_overfitting"),
}
VIEW_CHOICES = [*VIEWS, "all"]


class ViewUnavailable(RuntimeError):
    """A registered view whose module is not installed in this build."""


def view_function(name: str) -> Callable[[ExplainContext], ViewResult]:
    """The function of view `name`; ValueError for an unknown name (listing the valid ones),
    ViewUnavailable when its module is missing."""
    if name not in VIEWS:
        raise _unknown(name)
    module_name, function_name = VIEWS[name]
    try:
        module = importlib.import_module(f"{__package__}.{module_name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.{module_name}":
            raise  # a missing dependency inside the module, not the module itself
        raise ViewUnavailable(f"explain {name}: this build has no tinygradcnn.viz."
                              f"{module_name} (the {name} view is not installed)") from err
    function = getattr(module, function_name, None)
    if function is None:
        raise ViewUnavailable(f"explain {name}: tinygradcnn.viz.{module_name} has no "
                              f"{function_name}")
    return function


def run_view(name: str, ctx: ExplainContext) -> ViewResult:
    """Run one view: its files go to ctx.out_dir (created if needed)."""
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    return view_function(name)(ctx)


def expand(view: str) -> list[str]:
    """The view names that `view` stands for: all of them for "all"."""
    if view == "all":
        return list(VIEWS)
    if view not in VIEWS:
        raise _unknown(view)
    return [view]


def _unknown(name: str) -> ValueError:
    return ValueError(f"explain: unknown view {name!r}; choose one of: "
                      f"{', '.join(VIEW_CHOICES)}")
