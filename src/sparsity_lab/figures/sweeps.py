"""Figures from the fits table: exact zeros, the error paid for sparsity, support recovery."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import (
    NotSupported,
    band_note,
    legend_outside,
    new_figure,
    require_columns,
    seed_band,
    set_alpha_axis,
    spans_decades,
)
from sparsity_lab.figures.style import model_color, ordered_models, theme

SUPPORT_METRICS = {"support_precision": "precision", "support_recall": "recall"}


def _line_with_band(ax, band: pd.DataFrame, x: str, model: str) -> None:
    band = band.sort_values(x)
    color = model_color(model)
    ax.plot(band[x], band["mean"], color=color, marker=".", label=model)
    if (band["n_seeds"] > 1).any():
        ax.fill_between(band[x], band["low"], band["high"], color=color, alpha=0.2, lw=0)


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
        One panel per dataset, one line per model (mean over seeds) and, with several seeds,
        one band (min to max over seeds) per model.
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
        fig, axes = new_figure(len(datasets), sharey=True)
        for ax, dataset in zip(axes, datasets, strict=True):
            part = fits[fits["dataset"] == dataset]
            for model in ordered_models(part["model"].unique()):
                band = seed_band(part[part["model"] == model], ["alpha_ratio"], "zero_fraction")
                _line_with_band(ax, band, "alpha_ratio", model)
            set_alpha_axis(ax, part["alpha_ratio"])
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{dataset} (p = {int(part['n_features'].max())})")
        axes[0].set_ylabel("coefficients exactly 0.0 (fraction)")
        fig.suptitle(f"Exact zeros along the grid ({band_note(fits)})")
        legend_outside(fig, axes, title="model")
    return fig


def plot_error_vs_nonzeros(fits: pd.DataFrame) -> Figure:
    """Test error against the number of nonzero coefficients: the price of sparsity.

    Each model's points follow its alpha grid (mean over seeds per alpha / alpha_max).

    Parameters
    ----------
    fits : DataFrame, shape (n_fits, n_columns)
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_nonzero``,
        ``test_mse``.

    Returns
    -------
    Figure
        One panel per dataset, one line per model.
    """
    require_columns(
        fits, ["dataset", "model", "alpha_ratio", "seed", "n_nonzero", "test_mse"], "fits table"
    )
    fits = fits.dropna(subset=["n_nonzero", "test_mse"])
    if fits.empty:
        raise NotSupported("fits table has no fit with both a nonzero count and a test error")
    datasets = sorted(fits["dataset"].unique())
    with theme():
        fig, axes = new_figure(len(datasets))
        for ax, dataset in zip(axes, datasets, strict=True):
            part = fits[fits["dataset"] == dataset]
            for model in ordered_models(part["model"].unique()):
                mine = part[part["model"] == model]
                means = mine.groupby("alpha_ratio", sort=True)[["n_nonzero", "test_mse"]].mean()
                ax.plot(
                    means["n_nonzero"], means["test_mse"], color=model_color(model),
                    marker="o", ms=4, label=model,
                )  # fmt: skip
            if spans_decades(part["test_mse"]):
                ax.set_yscale("log")
            ax.set_title(dataset)
            ax.set_xlabel("nonzero coefficients (count)")
            ax.set_ylabel("test MSE (squared units of y)")
        fig.suptitle("Test error against sparsity (points: the alpha grid, mean over seeds)")
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
        Two panels (precision, recall) per dataset with a known support, one line per model
        and, with several seeds, one band per model.

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
        fig, axes = new_figure(2 * len(datasets), ncols=2)
        for i, dataset in enumerate(datasets):
            part = known[known["dataset"] == dataset]
            panels = axes[2 * i : 2 * i + 2]
            for ax, (column, name) in zip(panels, SUPPORT_METRICS.items(), strict=True):
                for model in ordered_models(part["model"].unique()):
                    band = seed_band(part[part["model"] == model], ["alpha_ratio"], column)
                    if len(band):
                        _line_with_band(ax, band, "alpha_ratio", model)
                set_alpha_axis(ax, part["alpha_ratio"])
                ax.set_ylim(-0.03, 1.03)
                ax.set_title(f"{dataset}: {name}")
                ax.set_ylabel(f"support {name} (fraction)")
        fig.suptitle(f"Support recovery ({band_note(known)})")
        legend_outside(fig, axes, title="model")
    return fig
