"""Figures from the fits table: exact zeros, the error paid for sparsity, support recovery."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import (
    NotSupported,
    band_of,
    bottom_xlabels_only,
    gamma_labels,
    integer_axis,
    legend_outside,
    new_figure,
    path_points,
    require_columns,
    seed_bands,
    seed_note,
    set_alpha_axis,
)
from sparsity_lab.figures.style import model_style, ordered_models, theme

SUPPORT_METRICS = {"support_precision": "precision", "support_recall": "recall"}
#: At most about this many markers per line (a marker at every grid point clutters).
MAX_MARKERS = 15
#: Marker size of the first model drawn; later ones are smaller, so coinciding lines still
#: show every model's (hollow) marker.
MARKER_SIZE = 7.0


def plot_model_line(ax, x, y, model: str, rank: int = 0, **kwargs) -> None:
    """One model's line: its colour, marker and line style, hollow markers shrinking with
    ``rank`` so that models drawn on top of one another all stay visible."""
    style = model_style(model)
    every = max(1, -(-len(x) // MAX_MARKERS))
    ax.plot(
        x, y, color=style["color"], ls=style["ls"], marker=style["marker"],
        ms=max(4.5, MARKER_SIZE - 0.8 * rank), mfc="none", mew=1.1, lw=1.4, label=model,
        markevery=(rank % every, every), **kwargs,
    )  # fmt: skip


def _line_with_band(ax, band: pd.DataFrame, x: str, model: str, rank: int) -> None:
    band = band.sort_values(x)
    plot_model_line(ax, band[x], band["mean"], model, rank)
    if (band["n_seeds"] > 1).any():
        ax.fill_between(
            band[x], band["low"], band["high"], color=model_style(model)["color"], alpha=0.15,
            lw=0,
        )  # fmt: skip


def plot_zero_fraction(fits: pd.DataFrame) -> Figure:
    """Fraction of coefficients exactly 0.0 against alpha / alpha_max.

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_zero``,
        ``n_features``.

    Returns
    -------
    Figure
        One panel per dataset (shared axes), one line per model (its seed, or the mean over
        seeds) and, with several seeds, one band (min to max over seeds) per model.
    """
    require_columns(
        fits, ["dataset", "model", "alpha_ratio", "seed", "n_zero", "n_features"], "fits table"
    )
    fits = fits.assign(zero_fraction=fits["n_zero"] / fits["n_features"])
    fits = fits.dropna(subset=["zero_fraction"])
    if fits.empty:
        raise NotSupported("fits table has no fit with a zero count (all failed?)")
    datasets = sorted(fits["dataset"].unique())
    with theme():
        fig, axes = new_figure(len(datasets), sharex=True, sharey=True)
        bands = seed_bands(fits, ["alpha_ratio"], "zero_fraction")
        for ax, dataset in zip(axes, datasets, strict=True):
            part = fits[fits["dataset"] == dataset]
            for rank, model in enumerate(ordered_models(part["model"].unique())):
                band = band_of(bands, (dataset, model), ["alpha_ratio"])
                _line_with_band(ax, band, "alpha_ratio", model, rank)
            set_alpha_axis(ax, fits["alpha_ratio"])
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{dataset} (p = {int(part['n_features'].max())})")
        bottom_xlabels_only(axes, ncols=3)
        axes[0].set_ylabel("coefficients exactly 0.0 (fraction)")
        fig.suptitle(f"Fraction of coefficients exactly 0.0 along the grid ({seed_note(fits)})")
        legend_outside(fig, axes, title="model")
    return fig


def plot_error_vs_nonzeros(fits: pd.DataFrame) -> Figure:
    """Test error against the number of nonzero coefficients: the price of sparsity.

    Each model's points follow its path: the alpha grid, or the sizes k of best subset and
    forward stepwise (one seed, or the mean over seeds per path point); a relaxed lasso draws
    one line per gamma. The error axis is linear in every panel.

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_nonzero``,
        ``test_mse`` (and ``k``, ``gamma`` where present).

    Returns
    -------
    Figure
        One panel per dataset, one line per model.
    """
    return _vs_nonzeros(fits, "test_mse", "test MSE (squared units of y)", "Test error")


def plot_support_f1_vs_nonzeros(fits: pd.DataFrame) -> Figure:
    """Support recovery (F1 of the nonzeros against the true support) against the number of
    nonzero coefficients, on the datasets with a known support: every method at matched
    sparsity, whatever its path walks (alpha, k, gamma).

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_nonzero``,
        ``support_f1`` (NaN without a known support: such datasets are left out).

    Raises
    ------
    NotSupported
        No dataset has a known support.
    """
    if "support_f1" in fits.columns and fits["support_f1"].isna().all():
        raise NotSupported("no dataset with a known true support (support_f1 all NaN)")
    return _vs_nonzeros(fits, "support_f1", "support F1 (fraction)", "Support recovery")


def _vs_nonzeros(fits: pd.DataFrame, column: str, ylabel: str, what: str) -> Figure:
    require_columns(
        fits, ["dataset", "model", "alpha_ratio", "seed", "n_nonzero", column], "fits table"
    )
    fits = gamma_labels(fits.dropna(subset=["n_nonzero", column]))
    if fits.empty:
        raise NotSupported(f"fits table has no fit with both a nonzero count and {column}")
    datasets = sorted(fits["dataset"].unique())
    points = path_points(fits)
    # per (dataset, model), in the path's order: alpha / alpha_max, or k, up (one groupby)
    means = fits.groupby(["dataset", "model", *points], sort=True, dropna=False)
    means = means[["n_nonzero", column]].mean()
    panels = {key: m.droplevel([0, 1]) for key, m in means.groupby(level=[0, 1], sort=False)}
    with theme():
        fig, axes = new_figure(len(datasets))
        for ax, dataset in zip(axes, datasets, strict=True):
            part = fits[fits["dataset"] == dataset]
            for rank, model in enumerate(ordered_models(part["model"].unique())):
                mine = panels[dataset, model]
                plot_model_line(ax, mine["n_nonzero"], mine[column], model, rank)
            integer_axis(ax.xaxis)
            ax.set_title(f"{dataset} (p = {int(part['n_features'].max())})")
            ax.set_xlabel("nonzero coefficients (count)")
            ax.set_ylabel(ylabel)
        fig.suptitle(
            f"{what} against the number of nonzeros (points: each model's path, "
            f"{seed_note(fits, band=False)})"
        )
        legend_outside(fig, axes, title="model")
    return fig


def plot_support_recovery(fits: pd.DataFrame) -> Figure:
    """Support precision and recall against alpha / alpha_max, where a true support is known.

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``,
        ``support_precision``, ``support_recall`` (NaN for data without a known support;
        such datasets are left out).

    Returns
    -------
    Figure
        Two panels (precision, recall) per dataset with a known support (shared axes), one line
        per model and, with several seeds, one band per model.

    Raises
    ------
    NotSupported
        No dataset has a known support.
    """
    require_columns(
        fits, ["dataset", "model", "alpha_ratio", "seed", *SUPPORT_METRICS], "fits table"
    )
    known = fits.dropna(subset=list(SUPPORT_METRICS), how="all")
    if known.empty:
        raise NotSupported("no dataset with a known true support (support_* columns all NaN)")
    datasets = sorted(known["dataset"].unique())
    with theme():
        fig, axes = new_figure(2 * len(datasets), ncols=2, sharex=True, sharey=True)
        bands = {c: seed_bands(known, ["alpha_ratio"], c) for c in SUPPORT_METRICS}
        for i, dataset in enumerate(datasets):
            part = known[known["dataset"] == dataset]
            panels = axes[2 * i : 2 * i + 2]
            for ax, (column, name) in zip(panels, SUPPORT_METRICS.items(), strict=True):
                for rank, model in enumerate(ordered_models(part["model"].unique())):
                    band = band_of(bands[column], (dataset, model), ["alpha_ratio"])
                    if len(band):
                        _line_with_band(ax, band, "alpha_ratio", model, rank)
                set_alpha_axis(ax, known["alpha_ratio"])
                ax.set_ylim(-0.03, 1.03)
                ax.set_title(f"{dataset}: {name}")
                ax.set_ylabel(f"support {name} (fraction)")
        bottom_xlabels_only(axes, ncols=2)
        fig.suptitle(f"Recovery of the true support ({seed_note(known)})")
        legend_outside(fig, axes, title="model")
    return fig
