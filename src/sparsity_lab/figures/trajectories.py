"""Figure 2: the seed note's 1-D gradient-descent trajectories under L1 and L2."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import (
    integer_axis,
    legend_outside,
    new_figure,
    require_columns,
)
from sparsity_lab.figures.style import model_color, theme
from sparsity_lab.metrics import first_exact_zero

LINESTYLES = ("-", "--", ":", "-.")
#: One marker per rule, so rules stay apart without colour.
RULE_MARKERS = ("o", "s", "^", "D", "v")
#: The linear panel shows at least this many steps, or twice the last exact-zero hit.
MIN_LINEAR_STEPS = 20


def plot_trajectories(trajectories: pd.DataFrame) -> Figure:
    """w against step for each update rule: linear scale (left), log10 |w| (right).

    The left panel shows the first steps, where the L1 rule lands on 0.0 (marked); the right one
    shows every step, where repeated halving is a straight line, with a vertical line at the step
    where a rule first reaches 0.0 exactly (for L2 in float64 that is an underflow, if it
    happens within the steps run).

    Parameters
    ----------
    trajectories : DataFrame, shape (n_rows, >= 3)
        Columns ``rule``, ``step``, ``w``; an optional ``dtype`` column gives one line per
        (rule, dtype) with its own line style.

    Returns
    -------
    Figure
        Two panels; each has one line per trajectory; the right one a vertical line per
        trajectory that reaches 0.0 exactly, the left one a marker per such step it shows.
    """
    require_columns(trajectories, ["rule", "step", "w"], "trajectories table")
    by = ["rule", "dtype"] if "dtype" in trajectories.columns else ["rule"]
    dtypes = sorted(trajectories["dtype"].astype(str).unique()) if "dtype" in by else [None]
    series = []
    for key, part in trajectories.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values("step")
        steps, w = part["step"].to_numpy(), part["w"].to_numpy(dtype=np.float64)
        series.append((key, steps, w, first_exact_zero(steps, w)))
    hits = [hit for *_, hit in series if hit is not None]
    rules = sorted({key[0] for key, *_ in series})
    max_step = int(trajectories["step"].max())
    # The linear panel zooms on the first landing on 0.0; later ones show on the log panel.
    linear_end = min(max_step, max(MIN_LINEAR_STEPS, 2 * min(hits, default=0)))

    with theme():
        fig, (lin, log) = new_figure(2, ncols=2, panel_width=4.0)
        fig.get_layout_engine().set(wspace=0.08)
        vlines = 0
        for key, steps, w, hit in series:
            rule = key[0]
            style = LINESTYLES[dtypes.index(str(key[1])) % len(LINESTYLES)] if len(key) > 1 else "-"
            name = ", ".join(map(str, key))
            if hit is not None:
                reach = f"0.0 exactly from step {hit}"
            else:
                reach = f"never exactly 0 in {steps[-1]} steps (min |w| = {np.abs(w).min():.2g})"
            color = model_color(rule)
            marker = RULE_MARKERS[rules.index(rule) % len(RULE_MARKERS)]
            shown = steps <= linear_end
            lin.plot(steps[shown], w[shown], color=color, ls=style, marker=marker, ms=4,
                     mfc="none", label=f"{name}: {reach}")  # fmt: skip
            nonzero = w != 0
            log.plot(steps[nonzero], np.log10(np.abs(w[nonzero])), color=color, ls=style)
            if hit is not None and hit <= linear_end:
                lin.plot([hit], [0.0], ls="none", marker="o", ms=11, mfc="none", mec="black",
                         mew=1.5, label="first w == 0.0")  # fmt: skip
            if hit is not None:
                label = "dotted: first w == 0.0" if not vlines else "_nolegend_"
                vlines += 1
                log.axvline(hit, color=color, ls=":", lw=1.2, label=label)
        lin.axhline(0, color="0.6", lw=0.8, zorder=0)
        integer_axis(lin.xaxis)
        integer_axis(log.xaxis)
        lin.set_xlabel("gradient step")
        lin.set_ylabel("weight w")
        lin.set_title(f"first {linear_end} steps")
        log.set_xlabel("gradient step")
        log.set_ylabel("log10 |w|")
        log.set_title(f"all {max_step} steps, log10 |w|")
        fig.suptitle(f"Gradient descent on the penalty alone, from w = {_start(series)}")
        legend_outside(fig, [lin, log], below=True)
    return fig


def _start(series) -> str:
    return f"{series[0][2][0]:g}" if series else "?"
