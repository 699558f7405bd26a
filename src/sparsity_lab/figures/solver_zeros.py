"""The solver_zeros study's figures: each solver's zero sets against the optimum's, over its
ladder of tolerances and against its time, one panel per dataset, the exact path as reference.

Input is the study's ``solver_zeros`` table (one row per path): ``dataset``, ``solver``,
``tol`` (NaN for the exact path and solvers without a tolerance), ``n_alphas``,
``n_wrong_zero_sets``, ``n_false_zero``, ``n_missed_zero``, ``path_seconds``, ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from sparsity_lab.figures._common import (
    NotSupported,
    integer_axis,
    legend_outside,
    new_figure,
    require_columns,
    seed_note,
)
from sparsity_lab.figures.style import model_style, theme

#: The exact path's label in the table (the reference point of every panel).
EXACT = "exact"
#: The study's solvers, apart in colour, marker and line style (greyscale too); other names
#: take their model style.
SOLVER_STYLES: dict[str, dict] = {
    "sklearn_cd": {"color": "#0072b2", "marker": "o", "ls": "-"},
    "celer": {"color": "#e69f00", "marker": "s", "ls": "--"},
    "skglm": {"color": "#7b3294", "marker": "D", "ls": "-."},
    "lasso_lars": {"color": "#009e73", "marker": "^", "ls": ":"},
}
TOL_LABEL = "tol, log scale (tighter: right)"
WRONG_LABEL = "wrong zero sets (alphas)"
EXACT_STYLE = {"color": "black", "marker": "*", "ls": "none", "markersize": 12}
#: What the y axis can show: (label, y label); ``false_missed`` is n_false_zero + n_missed_zero.
METRICS = {
    "n_wrong_zero_sets": ("wrong zero sets (alphas whose zero set is not the optimum's)",
                          WRONG_LABEL),
    "false_missed": ("false + missed zeros, summed", "false + missed"),
}  # fmt: skip


def solver_style(solver: str) -> dict:
    """Colour, marker and line style of a solver in every figure of the study."""
    return dict(SOLVER_STYLES.get(solver) or model_style(solver))


NCOLS = 4


def _metric(table: pd.DataFrame, metric: str) -> pd.Series:
    if metric == "false_missed":
        return table["n_false_zero"] + table["n_missed_zero"]
    return table[metric]


def _panels(table: pd.DataFrame) -> list[str]:
    """Datasets in the table's order (the sweep's)."""
    return list(dict.fromkeys(table["dataset"]))


def _title(table: pd.DataFrame, what: str) -> str:
    n_alphas = sorted(table["n_alphas"].unique())
    alphas = f"{n_alphas[0]} alphas" if len(n_alphas) == 1 else "alphas per path"
    return f"{what} along each path ({alphas}), {seed_note(table, band=False)}"


def _check(table: pd.DataFrame, metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: allowed values are {', '.join(METRICS)}")
    require_columns(
        table,
        ["dataset", "solver", "tol", "n_alphas", "n_wrong_zero_sets", "n_false_zero",
         "n_missed_zero", "path_seconds", "seed"],
        "solver_zeros",
    )  # fmt: skip
    if table["tol"].isna().all():
        raise NotSupported("solver_zeros has no path with a tolerance")


def _mean(part: pd.DataFrame, by: str, y: pd.Series) -> pd.DataFrame:
    """Mean over seeds of y and path_seconds, per value of ``by``."""
    frame = part.assign(y=y.loc[part.index])
    return frame.groupby(by, sort=True)[["y", "path_seconds"]].mean().reset_index()


def plot_vs_tolerance(table: pd.DataFrame, metric: str = "n_wrong_zero_sets") -> Figure:
    """``metric`` of each solver's path against its tolerance, one panel per dataset.

    A solver with a tolerance is a line over its ladder (loosest left, tightest right); the
    exact path (the reference, 0 by definition) and solvers without a tolerance (LassoLars) are
    horizontal lines at their value.

    Parameters
    ----------
    table : DataFrame
        The study's ``solver_zeros`` table.
    metric : {"n_wrong_zero_sets", "false_missed"}
    """
    _check(table, metric)
    label, ylabel = METRICS[metric]
    datasets = _panels(table)
    y_all = _metric(table, metric)
    with theme():
        fig, axes = new_figure(len(datasets), ncols=NCOLS, sharex=True)
        for ax, dataset in zip(axes, datasets, strict=True):
            part = table[table["dataset"] == dataset]
            for solver in dict.fromkeys(part["solver"]):
                rows = part[part["solver"] == solver]
                if rows["tol"].notna().all():
                    line = _mean(rows, "tol", y_all)
                    ax.plot(line["tol"], line["y"], label=solver, **solver_style(solver))
                elif solver == EXACT:
                    ax.axhline(float(y_all.loc[rows.index].mean()), color="black", lw=1.2,
                               label="exact path (reference)")  # fmt: skip
                else:
                    style = solver_style(solver)
                    ax.axhline(float(y_all.loc[rows.index].mean()), color=style["color"],
                               ls="--", lw=1.2, label=f"{solver} (no tolerance)")  # fmt: skip
            ax.set_xscale("log")
            ax.set_title(dataset, fontsize="small")
            if metric == "false_missed":
                ax.set_yscale("symlog", linthresh=1.0)
                # counts: no negative decades; room above the largest count for its marker
                ax.set_ylim(-0.3, _symlog_top(ax, -0.3))
                ylabel_here = f"{ylabel} (symlog)"
            else:
                integer_axis(ax.yaxis)
                ax.set_ylim(bottom=-0.5)
                ylabel_here = ylabel
            ax.set_ylabel(ylabel_here if axes.index(ax) % NCOLS == 0 else "")
            ax.set_xlabel(TOL_LABEL)
        axes[0].invert_xaxis()  # shared: every panel, loosest tolerance left
        for i, ax in enumerate(axes):  # shared x: one label per column, under its last panel
            if i + NCOLS < len(axes):
                ax.set_xlabel("")
        fig.suptitle(_title(table, label.capitalize()))
        legend_outside(fig, axes, title="solver")
    return fig


#: Room above the largest value of a symlog panel, as a share of its transformed height.
TOP_MARGIN = 0.06


def _symlog_top(ax, bottom: float) -> float:
    """The top of a panel's y axis that leaves ``TOP_MARGIN`` of its height above the largest
    value its lines draw (a marker there is not cut by the frame), in the axis's own scale."""
    ys = [np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()]
    ys = np.concatenate([y[np.isfinite(y)] for y in ys] or [np.zeros(0)])
    high = max(float(ys.max()) if ys.size else 1.0, bottom + 1.0)
    scale = ax.yaxis.get_transform()
    low_t, high_t = scale.transform([bottom, high])
    return float(scale.inverted().transform(high_t + TOP_MARGIN * (high_t - low_t)))


def plot_vs_fit_time(table: pd.DataFrame) -> Figure:
    """Wrong zero sets of each path against the path's fit time, one panel per dataset.

    A solver with a tolerance is a line through its ladder (each point one tolerance, loosest
    first); the exact path is a black star (0 wrong by definition) and a solver without a
    tolerance one point.
    """
    _check(table, "n_wrong_zero_sets")
    datasets = _panels(table)
    y_all = table["n_wrong_zero_sets"]
    with theme():
        fig, axes = new_figure(len(datasets), ncols=NCOLS)
        for ax, dataset in zip(axes, datasets, strict=True):
            part = table[table["dataset"] == dataset]
            for solver in dict.fromkeys(part["solver"]):
                rows = part[part["solver"] == solver]
                if solver == EXACT:
                    ax.plot(rows["path_seconds"].mean(), y_all.loc[rows.index].mean(),
                            label="exact path (reference)", **EXACT_STYLE)  # fmt: skip
                    continue
                if rows["tol"].notna().all():
                    line = _mean(rows, "tol", y_all).sort_values("tol", ascending=False)
                    ax.plot(line["path_seconds"], line["y"], label=solver, **solver_style(solver))
                else:
                    style = {**solver_style(solver), "ls": "none", "markersize": 9}
                    ax.plot(rows["path_seconds"].mean(), y_all.loc[rows.index].mean(),
                            label=solver, **style)  # fmt: skip
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: no crowded labels
            integer_axis(ax.yaxis)
            ax.set_ylim(bottom=-0.5)
            ax.set_title(dataset, fontsize="small")
            ax.set_xlabel("path fit time (s), log scale")
            ax.set_ylabel(WRONG_LABEL if axes.index(ax) % NCOLS == 0 else "")
        fig.suptitle(_title(table, "Wrong zero sets (alphas whose zero set is not the "
                            "optimum's) against fit time"))  # fmt: skip
        handles = [
            Line2D([], [], label="exact path (reference)", **EXACT_STYLE),
            *[h for h in _solver_handles(table) if h.get_label() != EXACT],
        ]
        legend_outside(fig, axes, title="solver (points: tolerances)", handles=handles)
    return fig


def _solver_handles(table: pd.DataFrame) -> list[Line2D]:
    handles = []
    for solver in dict.fromkeys(table["solver"]):
        rows = table[table["solver"] == solver]
        style = solver_style(solver)
        if not rows["tol"].notna().all():
            style = {**style, "ls": "none", "markersize": 9}
        handles.append(Line2D([], [], label=solver, **style))
    return handles
