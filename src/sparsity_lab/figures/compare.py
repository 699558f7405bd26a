"""A and B in one figure: a compared column against alpha / alpha_max, and B - A below it.

The plot data comes from :func:`sparsity_lab.compare.figure_data` (one row per panel, side and
grid point, with the seed interval already computed), so this module only draws.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sparsity_lab.figures._common import (
    NotSupported,
    integer_axis,
    legend_outside,
    require_columns,
    set_alpha_axis,
)
from sparsity_lab.figures.style import PANEL_WIDTH, theme

#: Line styles of the two runs: they differ in colour, line style and marker, so they stay apart
#: in greyscale and where they coincide (B's small filled marker sits inside A's hollow one).
SIDE_STYLES = {
    "A": {"color": "#222222", "ls": "-", "marker": "o", "ms": 7.0, "mfc": "none", "lw": 1.6},
    "B": {"color": "#d55e00", "ls": "--", "marker": "s", "ms": 3.6, "lw": 1.4},
}
DIFF_COLOR = "#0072b2"
#: Labels of the usual compared columns (others are shown by name).
METRIC_LABELS = {
    "n_zero": "coefficients exactly 0.0",
    "n_nonzero": "nonzero coefficients",
    "n_zero_certified": "certified exact zeros",
    "test_mse": "test MSE",
    "train_mse": "train MSE",
}
#: Panels per row of the figure.
MAX_COLUMNS = 3
DATA_COLUMNS = ("panel", "alpha_ratio", "side", "mean", "low", "high", "n_seeds", "differs")


def _band(ax, part: pd.DataFrame, color: str) -> None:
    if (part["n_seeds"] > 1).any() and (part["high"] > part["low"]).any():
        ax.fill_between(
            part["alpha_ratio"], part["low"], part["high"], color=color, alpha=0.18, lw=0
        )


def plot_a_vs_b(
    data: pd.DataFrame,
    metric: str,
    labels: tuple[str, str] = ("A", "B"),
    integer: bool = False,
    note: str = "",
) -> Figure:
    """One compared column of runs A and B against alpha / alpha_max, and B - A below.

    Parameters
    ----------
    data : DataFrame, shape (n_points, 8)
        ``DATA_COLUMNS``: ``panel`` (its title, e.g. ``synthetic / lasso``), ``alpha_ratio``,
        ``side`` (``A``, ``B`` or ``B - A``), ``mean`` over seeds, ``low``/``high`` (the seed
        interval; equal to ``mean`` for one seed), ``n_seeds``, ``differs`` (``B - A`` rows:
        some seed differs beyond the comparison's tolerances).
    metric : str
        The compared column (axis label).
    labels : (str, str)
        What A and B are (run names), for the legend.
    integer : bool
        The column is a count: integer ticks.
    note : str
        What the lines show over seeds (title), e.g. ``seed 0``.

    Returns
    -------
    Figure
        Per panel (dataset and model) A and B as two styled lines (seed bands where there are
        several seeds), and below it B - A with the zero line; points that differ beyond the
        tolerances are filled.
    """
    require_columns(data, DATA_COLUMNS, "comparison")
    panels = list(dict.fromkeys(data["panel"]))
    ncols = min(len(panels), MAX_COLUMNS)
    nrows = math.ceil(len(panels) / ncols)
    label = METRIC_LABELS.get(metric, metric)
    with theme():
        fig = Figure(figsize=(PANEL_WIDTH * ncols + 0.6, 4.3 * nrows + 0.6), layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(2 * nrows, ncols, height_ratios=[2.2, 1.0] * nrows)
        top_axes, diff_axes = [], []
        for i, panel in enumerate(panels):
            row, col = divmod(i, ncols)
            share = top_axes[0] if top_axes else None
            ax = fig.add_subplot(grid[2 * row, col], sharex=share)
            dax = fig.add_subplot(grid[2 * row + 1, col], sharex=ax)
            part = data[data["panel"] == panel].sort_values("alpha_ratio")
            for side, name in zip(("A", "B"), labels, strict=True):
                line = part[part["side"] == side]
                style = SIDE_STYLES[side]
                _band(ax, line, style["color"])
                ax.plot(line["alpha_ratio"], line["mean"], label=f"{side}: {name}", **style)
            diff = part[part["side"] == "B - A"]
            _band(dax, diff, DIFF_COLOR)
            dax.axhline(0.0, color="#888888", lw=0.8, zorder=1)
            dax.plot(diff["alpha_ratio"], diff["mean"], color=DIFF_COLOR, lw=1.2, zorder=2)
            differs = diff["differs"].astype(bool).to_numpy()
            for mask, face in ((differs, DIFF_COLOR), (~differs, "white")):
                dax.plot(
                    diff["alpha_ratio"][mask], diff["mean"][mask], ls="none", marker="o", ms=4.5,
                    mec=DIFF_COLOR, mfc=face, zorder=3,
                )  # fmt: skip
            if integer:  # counts: whole ticks, never a range narrower than one count
                integer_axis(ax.yaxis)
                integer_axis(dax.yaxis)
                values = part.loc[part["side"] != "B - A", "mean"]
                if len(values) and values.max() - values.min() < 1:  # one count: one tick
                    ax.set_ylim(values.min() - 0.5, values.max() + 0.5)
                    ax.set_yticks(sorted({round(v) for v in values}))
                low, high = dax.get_ylim()
                dax.set_ylim(min(low, -1.0), max(high, 1.0))
            ax.set_title(panel)
            ax.tick_params(labelbottom=False)
            set_alpha_axis(dax, data["alpha_ratio"])
            if row < nrows - 1 and i + ncols < len(panels):
                dax.set_xlabel("")
            if col == 0:
                ax.set_ylabel(label)
                dax.set_ylabel("B - A")
            top_axes.append(ax)
            diff_axes.append(dax)
        title = f"{label}: A and B along the grid"
        fig.suptitle(f"{title} ({note})" if note else title)
        handles = [
            *(
                Line2D([], [], label=f"{s}: {n}", **SIDE_STYLES[s])
                for s, n in zip("AB", labels, strict=True)
            ),
            Line2D([], [], color=DIFF_COLOR, marker="o", mfc=DIFF_COLOR, label="B - A: differs"),
            Line2D(
                [], [], color=DIFF_COLOR, marker="o", mfc="white", label="B - A: within tolerance"
            ),
        ]
        if (data["n_seeds"] > 1).any():
            handles.append(Patch(color="#888888", alpha=0.3, label="95% t-interval over seeds"))
        legend_outside(fig, top_axes + diff_axes, handles=handles)
    return fig


__all__ = ["DATA_COLUMNS", "NotSupported", "plot_a_vs_b"]
