"""The suite's own question as figures: which exact zeros are the optimum's.

``plot_zero_kinds``: exact, certified, boundary and tiny zeros against alpha / alpha_max per
model. ``plot_sgd_zero_sets``: the SGD rules' zero sets against the optimum's along the grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import (
    NotSupported,
    integer_axis,
    legend_outside,
    require_columns,
    seed_note,
    set_alpha_axis,
)
from sparsity_lab.figures.style import PANEL_ASPECT, ordered_models, theme
from sparsity_lab.figures.sweeps import MAX_MARKERS, plot_model_line

#: Zero counts of the fits table, in drawing order: (column, legend text, colour, marker, ls).
ZERO_KINDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("n_zero", "exact, coef == 0.0 (n_zero)", "black", "o", "-"),
    ("n_zero_certified", "certified zero of the optimum (n_zero_certified)", "#009e73", "s", "--"),
    ("n_zero_boundary", "on the boundary (n_zero_boundary)", "#e69f00", "^", "-."),
    ("n_tiny", "tiny, 0 < |coef| <= zero_tol (n_tiny)", "#56b4e9", "v", ":"),
)
#: SGD zero sets against the optimum's: (column, panel title, y label).
SGD_ERRORS: tuple[tuple[str, str, str], ...] = (
    ("n_false_zero", "false zeros", "SGD 0.0, optimum nonzero (count)"),
    ("n_missed_zero", "missed zeros", "optimum 0.0, SGD nonzero (count)"),
)
PANEL_WIDTH = 3.2


def _figure(nrows: int, ncols: int, panel_width: float = PANEL_WIDTH):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(
        figsize=(panel_width * ncols + 0.6, panel_width * PANEL_ASPECT * nrows + 1.0),
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey="row", squeeze=False)
    return fig, axes


def _mean_per_ratio(part: pd.DataFrame, column: str) -> pd.Series:
    return part.dropna(subset=[column]).groupby("alpha_ratio", sort=True)[column].mean()


def _means_per_panel(fits: pd.DataFrame, column: str) -> dict[tuple, pd.Series]:
    """``_mean_per_ratio`` of every (dataset, model) from one groupby (a key whose ``column``
    is all NaN is absent)."""
    means = fits.dropna(subset=[column]).groupby(["dataset", "model", "alpha_ratio"], sort=True)
    means = means[column].mean()
    return {key: s.droplevel([0, 1]) for key, s in means.groupby(level=[0, 1], sort=False)}


def plot_zero_kinds(fits: pd.DataFrame) -> Figure:
    """Exact, certified, boundary and tiny zeros against alpha / alpha_max, per model.

    The exact zeros (``n_zero``) split into those the gap-safe test proves are zeros of the
    optimum (``n_zero_certified``) and the rest; ``n_zero_boundary`` (coefficients on the
    boundary of the KKT conditions) and ``n_tiny`` (0 < |coef| <= zero_tol) complete the
    picture. Columns missing from the table are left out and named in the title.

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_features``,
        ``n_zero`` and any of ``n_zero_certified``, ``n_zero_boundary``, ``n_tiny``.

    Returns
    -------
    Figure
        One row per dataset (shared count axis, integer ticks), one column per model, one line
        per zero kind present (one seed, or the mean over seeds).
    """
    require_columns(fits, ["dataset", "model", "alpha_ratio", "seed", "n_zero"], "fits table")
    fits = fits.dropna(subset=["n_zero"])
    if fits.empty:
        raise NotSupported("fits table has no fit with a zero count (all failed?)")
    kinds = [k for k in ZERO_KINDS if k[0] in fits.columns and fits[k[0]].notna().any()]
    absent = [k[0] for k in ZERO_KINDS if k not in kinds]
    datasets = sorted(fits["dataset"].unique())
    models = ordered_models(fits["model"].unique())
    with theme():
        fig, grid = _figure(len(datasets), len(models))
        means = {k[0]: _means_per_panel(fits, k[0]) for k in kinds}
        empty = pd.Series([], dtype=np.float64)
        for r, dataset in enumerate(datasets):
            for c, model in enumerate(models):
                ax = grid[r, c]
                part = fits[(fits["dataset"] == dataset) & (fits["model"] == model)]
                if part.empty:
                    ax.text(0.5, 0.5, "not run", ha="center", va="center",
                            transform=ax.transAxes, color="0.4")  # fmt: skip
                for k, (column, label, color, marker, ls) in enumerate(kinds):
                    series = means[column].get((dataset, model), empty)
                    if len(series):
                        every = max(1, -(-len(series) // MAX_MARKERS))
                        ax.plot(series.index, series.to_numpy(), color=color, marker=marker,
                                ls=ls, ms=4, mfc="none", lw=1.3, label=label,
                                markevery=(k % every, every))  # fmt: skip
                set_alpha_axis(ax, fits["alpha_ratio"])
                integer_axis(ax.yaxis)
                ax.set_title(model if r == 0 else "", fontsize="medium")
                if r < len(datasets) - 1:
                    ax.set_xlabel("")
                if c == 0:
                    rows = fits[fits["dataset"] == dataset]
                    p = rows["n_features"].max() if "n_features" in rows else float("nan")
                    p_text = f" (p = {int(p)})" if pd.notna(p) else ""
                    ax.set_ylabel(f"{dataset}{p_text}\ncoefficients (count)")
                else:
                    ax.set_ylabel("")
        missing = f"; not in this run's fits: {', '.join(absent)}" if absent else ""
        fig.suptitle(f"Exact zeros and the optimum's zeros along the grid ({seed_note(fits)}"
                     f"{missing})")  # fmt: skip
        legend_outside(fig, list(grid.ravel()), title="zeros")
    return fig


def plot_sgd_zero_sets(fits: pd.DataFrame) -> Figure:
    """The SGD rules' exact zeros against the optimum's, along the grid.

    False zeros are coefficients an SGD rule leaves at 0.0 where the optimum of the same
    objective is nonzero; missed zeros are zeros of the optimum the SGD rule does not reach.
    Both are 0 everywhere for a rule whose zero set is the optimum's.

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_false_zero``,
        ``n_missed_zero`` (NaN for non-SGD rows), and optionally ``n_zero_optimum``.

    Returns
    -------
    Figure
        One row per dataset, two panels (false zeros, missed zeros; shared count axis with
        integer ticks), one line per SGD model; the optimum's zero count as a grey reference.

    Raises
    ------
    NotSupported
        The columns are absent, or no SGD row has them.
    """
    need = ["dataset", "model", "alpha_ratio", "seed", *(c for c, *_ in SGD_ERRORS)]
    missing = [c for c in need if c not in fits.columns]
    if missing:
        raise NotSupported(f"fits table has no column {', '.join(missing)} (no optimum zero sets)")
    sgd = fits[fits["model"].astype(str).str.startswith("sgd_")]
    sgd = sgd.dropna(subset=[c for c, *_ in SGD_ERRORS], how="all")
    if sgd.empty:
        raise NotSupported("no SGD fit with n_false_zero / n_missed_zero")
    datasets = sorted(sgd["dataset"].unique())
    models = ordered_models(sgd["model"].unique())
    with theme():
        fig, grid = _figure(len(datasets), len(SGD_ERRORS), panel_width=3.8)
        for r, dataset in enumerate(datasets):
            part = sgd[sgd["dataset"] == dataset]
            for c, (column, title, meaning) in enumerate(SGD_ERRORS):
                ax = grid[r, c]
                if "n_zero_optimum" in part.columns and part["n_zero_optimum"].notna().any():
                    optimum = _mean_per_ratio(part, "n_zero_optimum")
                    ax.plot(optimum.index, optimum.to_numpy(), color="0.6", lw=2.5, alpha=0.6,
                            label="zeros of the optimum", zorder=1)  # fmt: skip
                for rank, model in enumerate(models):
                    series = _mean_per_ratio(part[part["model"] == model], column)
                    if len(series):
                        plot_model_line(ax, series.index, series.to_numpy(), model, rank)
                set_alpha_axis(ax, sgd["alpha_ratio"])
                integer_axis(ax.yaxis)
                ax.set_title(f"{dataset}: {title}", fontsize="medium")
                ax.set_ylabel(meaning)
                ax.yaxis.set_tick_params(labelleft=True)
                if r < len(datasets) - 1:
                    ax.set_xlabel("")
        fig.suptitle(f"SGD zero sets against the optimum's ({seed_note(sgd, band=False)})")
        legend_outside(fig, list(grid.ravel()), title="model")
    return fig
