"""Figure 1: the penalties |w| and w²/2 next to their (sub)gradients."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import legend_outside, new_figure, require_columns
from sparsity_lab.figures.style import EXACT_ZERO_COLOR, RULE_COLORS, theme

PENALTY_LABELS = {"l1": "L1: Ω(w) = |w|", "l2": "L2: Ω(w) = w²/2"}
#: Legend text of (value, gradient) per penalty.
CURVE_LABELS = {"l1": ("|w|", "sign(w), w ≠ 0"), "l2": ("w²/2", "w")}


def penalty_table(w_max: float = 2.0, num: int = 401) -> pd.DataFrame:
    """Values and (sub)gradients of both penalties on a symmetric grid of w.

    The L1 gradient is NaN at w = 0, where it is not a number but the set [-1, 1]
    (``plot_penalties`` draws that set).

    Returns
    -------
    DataFrame, shape (2 * num, 4)
        Columns ``penalty`` ("l1", "l2"), ``w``, ``value``, ``gradient``.
    """
    from sparsity_lab.penalties import L1, L2

    w = np.linspace(-w_max, w_max, num)
    frames = []
    for name, penalty in (("l1", L1()), ("l2", L2())):
        gradient = penalty.subgradient(w)
        if name == "l1":  # not a number at 0 but the set [-1, 1]
            gradient = np.where(w == 0, np.nan, gradient)
        value = penalty.elementwise(w, 1.0)  # the penalty's own formula, per coordinate
        frames.append(pd.DataFrame({"penalty": name, "w": w, "value": value, "gradient": gradient}))
    return pd.concat(frames, ignore_index=True)


def plot_penalties(table: pd.DataFrame) -> Figure:
    """One panel per penalty: Ω(w) solid, its (sub)gradient dashed.

    Parameters
    ----------
    table : DataFrame, shape (n_points, 4)
        As from :func:`penalty_table`: ``penalty``, ``w``, ``value``, ``gradient``.

    Returns
    -------
    Figure
        One panel per penalty, three lines each (value, gradient, the axis y = 0); the L1 panel
        adds the subdifferential [-1, 1] at w = 0 as a fourth, vertical line.
    """
    require_columns(table, ["penalty", "w", "value", "gradient"], "penalty table")
    penalties = [p for p in ("l1", "l2") if p in set(table["penalty"])]
    penalties += sorted(set(table["penalty"]) - set(penalties))
    with theme():
        fig, axes = new_figure(len(penalties), ncols=len(penalties), sharey=True)
        for ax, penalty in zip(axes, penalties, strict=True):
            part = table[table["penalty"] == penalty].sort_values("w")
            color = RULE_COLORS.get(penalty, "gray")
            value_label, gradient_label = CURVE_LABELS.get(penalty, ("Ω(w)", "∂Ω(w)"))
            ax.plot(part["w"], part["value"], color=color, lw=2, label=f"Ω = {value_label}")
            ax.plot(
                part["w"], part["gradient"], color=color, lw=2, ls="--",
                label=f"∂Ω = {gradient_label}",
            )  # fmt: skip
            if penalty == "l1":
                # At 0 the subdifferential is the whole interval: any step toward 0 can stop there.
                ax.plot(
                    [0, 0], [-1, 1], color=EXACT_ZERO_COLOR, lw=3, solid_capstyle="butt",
                    label="subdifferential at 0: [-1, 1]",
                )  # fmt: skip
            ax.axhline(0, color="0.6", lw=0.8, zorder=0)
            ax.set_title(PENALTY_LABELS.get(penalty, penalty))
            ax.set_xlabel("weight w (dimensionless)")
        axes[0].set_ylabel("Ω(w) and ∂Ω(w)")
        legend_outside(fig, axes)
    return fig
