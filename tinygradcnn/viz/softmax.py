"""The softmax ledger: logits -> exp -> normalise, every number shown, in the numerically
stable form that every framework uses (subtract the largest logit first).

    p_i = exp(z_i) / sum_j exp(z_j) = exp(z_i - m) / sum_j exp(z_j - m),  m = max_j z_j

The two forms are equal (the factor exp(-m) cancels), but exp(z) overflows float32 for z above
about 88.7, while every exp(z - m) lies in (0, 1] and the largest is exactly 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..atomic import save_figure
from ._figure import new_figure
from ._grid import HIGHLIGHT, WINNER
from .explain_types import ExplainContext, ViewResult

FLOAT32_EXP_LIMIT = float(np.log(np.finfo(np.float32).max))  # 88.72


@dataclass
class SoftmaxLedger:
    """Every number of one softmax over K classes (float64).

    logits z (K,); max_logit m; shifted z - m; exps exp(z - m); total their sum;
    probabilities exps / total; naive_exps exp(z) computed in float32 as a careless
    implementation would (inf where z > 88.7).
    """

    names: list[str]
    logits: np.ndarray
    max_logit: float
    shifted: np.ndarray
    exps: np.ndarray
    total: float
    probabilities: np.ndarray
    naive_exps: np.ndarray


def softmax_ledger(logits, class_names=None) -> SoftmaxLedger:
    """The ledger of softmax(logits) for one input: logits (K,) -> SoftmaxLedger."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    if z.size == 0:
        raise ValueError("softmax_ledger: logits are empty")
    names = [str(n) for n in class_names] if class_names is not None else [
        str(i) for i in range(z.size)]
    if len(names) != z.size:
        raise ValueError(f"softmax_ledger: {z.size} logits but {len(names)} class names")
    m = float(z.max())
    shifted = z - m
    exps = np.exp(shifted)
    total = float(exps.sum())
    with np.errstate(over="ignore"):
        naive = np.exp(z.astype(np.float32))
    return SoftmaxLedger(names, z, m, shifted, exps, total, exps / total, naive)


def format_softmax_ledger(ledger: SoftmaxLedger, true_class: int | None = None) -> str:
    """The ledger as a terminal table, one row per class, the prediction marked (and the
    true class, if given), then the sums and what the naive form would have done."""
    predicted = int(np.argmax(ledger.probabilities))
    lines = [f"{'class':>8}  {'logit z':>9}  {'z - max':>9}  {'exp(z - max)':>12}  "
             f"{'p = exp / sum':>13}"]
    for i, name in enumerate(ledger.names):
        marks = (" <- predicted" if i == predicted else "") + (
            " (true class)" if true_class == i else "")
        lines.append(f"{name:>8}  {ledger.logits[i]:9.3f}  {ledger.shifted[i]:9.3f}  "
                     f"{ledger.exps[i]:12.6f}  {ledger.probabilities[i]:13.6f}{marks}")
    lines.append(f"max logit m = {ledger.max_logit:.3f}; sum of exp(z - m) = "
                 f"{ledger.total:.6f}; the probabilities sum to "
                 f"{ledger.probabilities.sum():.6f}")
    shifted_up = ledger.max_logit + 100.0
    lines.append(f"stable form: add 100 to every logit (m = {shifted_up:.1f}) and exp(z) "
                 f"overflows float32 (limit z = {FLOAT32_EXP_LIMIT:.1f}), while exp(z - m) "
                 "and the probabilities do not change")
    if not np.all(np.isfinite(ledger.naive_exps)):
        lines.append("here the naive exp(z) already overflows: the stable form is needed")
    return "\n".join(lines)


def plot_softmax_ledger(ledger: SoftmaxLedger, path: str | os.PathLike | None = None,
                        true_class: int | None = None, title: str | None = None):
    """Three bar charts, one per column of the ledger: the logits z (the max marked), the
    exp(z - max) values, and the probabilities in percent (prediction in orange, the true
    class outlined in green). Saved to `path` if given; returns the Figure."""
    predicted = int(np.argmax(ledger.probabilities))
    positions = np.arange(len(ledger.names))
    colors = [HIGHLIGHT if i == predicted else "#9ecae1" for i in positions]
    figure = new_figure("plot_softmax_ledger", figsize=(12, 3.6), layout="constrained")
    logit_axes, exp_axes, prob_axes = figure.subplots(1, 3, sharex=True)
    logit_axes.bar(positions, ledger.logits, color=colors)
    logit_axes.axhline(ledger.max_logit, color="#555555", linestyle="--", linewidth=1)
    logit_axes.axhline(0, color="black", linewidth=0.6)
    logit_axes.set_title(f"1. logits z (dashed: max m = {ledger.max_logit:.2f})", fontsize=10)
    exp_axes.bar(positions, ledger.exps, color=colors)
    exp_axes.set_title("2. exp(z - m): all in (0, 1], the max is 1", fontsize=10)
    exp_axes.set_ylim(0, 1.15)
    bars = prob_axes.bar(positions, 100 * ledger.probabilities, color=colors)
    if true_class is not None:
        bars[true_class].set_edgecolor(WINNER)
        bars[true_class].set_linewidth(2.5)
    for i, p in enumerate(ledger.probabilities):
        if p >= 0.005:
            prob_axes.text(i, 100 * p + 2, f"{100 * p:.1f}%", ha="center", fontsize=7)
    prob_axes.set_ylim(0, 112)
    prob_axes.set_title(f"3. divide by the sum {ledger.total:.3f}: probabilities (%)",
                        fontsize=10)
    for axes in (logit_axes, exp_axes, prob_axes):
        axes.set_xticks(positions, ledger.names, fontsize=8,
                        rotation=45 if max(map(len, ledger.names)) > 2 else 0)
        axes.set_xlabel("class")
        axes.grid(alpha=0.3, axis="y")
    if title:
        figure.suptitle(title, fontsize=11)
    if path is not None:
        save_figure(figure, path, dpi=110)
    return figure


def view_softmax(ctx: ExplainContext) -> ViewResult:
    """The `softmax` view: the model's logits for the chosen image, turned into
    probabilities column by column."""
    from ..tensor import Tensor
    from ._context import model_logits

    logits = model_logits(ctx.model, Tensor(ctx.images[ctx.index:ctx.index + 1]))[0]
    ledger = softmax_ledger(logits, ctx.class_names)
    true_class = int(ctx.labels[ctx.index])
    path = ctx.out_dir / "softmax.png"
    predicted = ledger.names[int(np.argmax(ledger.probabilities))]
    plot_softmax_ledger(ledger, path, true_class,
                        f"image {ctx.index} (true class {ctx.class_names[true_class]}): "
                        f"predicted {predicted}")
    return ViewResult(
        "softmax", "Softmax: from logits to probabilities",
        format_softmax_ledger(ledger, true_class), [path],
        "The last layer gives one number per class, the logit. Softmax turns them into "
        "probabilities in three steps: subtract the largest logit (so no exp can overflow; "
        "the result is the same because the common factor cancels), take exp, divide by "
        "the sum. Notice how a logit only a few units above the others takes almost all of "
        "the probability: exp turns differences into ratios.")
