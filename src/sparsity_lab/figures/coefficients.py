"""Figures from the coefs table: coefficient paths and the magnitude of what is left."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sparsity_lab.figures._common import (
    NotSupported,
    new_figure,
    require_columns,
    set_alpha_axis,
)
from sparsity_lab.figures.style import EXACT_ZERO_COLOR, model_color, ordered_models, theme

#: Paths of more features than this are unreadable; the largest ones are drawn.
MAX_PATH_FEATURES = 20
HISTOGRAM_BINS = 30


def _single_dataset(coefs: pd.DataFrame) -> str:
    datasets = coefs["dataset"].unique()
    if len(datasets) != 1:
        raise NotSupported(f"coefs table must hold one dataset, got {len(datasets)}")
    return str(datasets[0])


def plot_coef_paths(coefs: pd.DataFrame, max_features: int = MAX_PATH_FEATURES) -> Figure:
    """Coefficient against alpha / alpha_max, one panel per model, for one dataset and seed.

    A feature whose coefficient is 0.0 exactly somewhere on the grid is a solid line and each
    exact zero a black dot; a feature that never reaches 0.0 is a thin dotted line, however small
    it gets. Features: the ``max_features`` with the largest |coef| anywhere, the same in every
    panel; seed: the smallest.

    Parameters
    ----------
    coefs : DataFrame, shape (n_coefs, n_columns)
        Coefs table of one dataset: ``dataset``, ``model``, ``alpha_ratio``, ``seed``,
        ``feature``, ``coef``.
    max_features : int
        Most features drawn per panel.

    Returns
    -------
    Figure
        One panel per model with one line per drawn feature.
    """
    require_columns(
        coefs, ["dataset", "model", "alpha_ratio", "seed", "feature", "coef"], "coefs table"
    )
    dataset = _single_dataset(coefs)
    seed = coefs["seed"].min()
    coefs = coefs[coefs["seed"] == seed]
    size = coefs.assign(abs_coef=coefs["coef"].abs()).groupby("feature")["abs_coef"].max()
    features = size.sort_values(ascending=False, kind="stable").index[:max_features]
    coefs = coefs[coefs["feature"].isin(features)]
    models = ordered_models(coefs["model"].unique())
    with theme():
        fig, axes = new_figure(len(models), sharey=True)
        for ax, model in zip(axes, models, strict=True):
            part = coefs[coefs["model"] == model]
            color = model_color(model)
            for _, path in part.groupby("feature", sort=True):
                path = path.sort_values("alpha_ratio")
                x, y = path["alpha_ratio"].to_numpy(), path["coef"].to_numpy()
                zero = y == 0
                if zero.any():
                    ax.plot(x, y, color=color, lw=1.4)
                    ax.scatter(x[zero], y[zero], s=12, color=EXACT_ZERO_COLOR, zorder=3)
                else:
                    ax.plot(x, y, color=color, lw=0.9, ls=":", alpha=0.8)
            set_alpha_axis(ax, part["alpha_ratio"])
            ax.axhline(0, color="0.6", lw=0.8, zorder=0)
            n_zero_paths = part.groupby("feature")["coef"].apply(lambda c: (c == 0).any()).sum()
            ax.set_title(f"{model} ({n_zero_paths}/{part['feature'].nunique()} reach 0.0)")
        axes[0].set_ylabel("coefficient (y units per std. feature)")
        handles = [
            Line2D([], [], color="0.3", lw=1.4, label="reaches 0.0 exactly"),
            Line2D([], [], color="0.3", lw=0.9, ls=":", label="never exactly 0.0"),
            Line2D([], [], ls="none", marker="o", ms=4, color=EXACT_ZERO_COLOR,
                   label="coef == 0.0"),
        ]  # fmt: skip
        fig.legend(handles=handles, loc="outside right center")
        shown = f"{len(features)} largest of {len(size)} features"
        if len(size) <= max_features:
            shown = f"all {len(size)} features"
        fig.suptitle(f"Coefficient paths on {dataset} ({shown}, seed {seed})")
    return fig


def plot_coef_histogram(
    coefs: pd.DataFrame, zero_tol: float | None = None, bins: int = HISTOGRAM_BINS
) -> Figure:
    """Histogram of log10|coef| per model, with exact zeros as a separate bar on the left.

    Pools every alpha and seed of one dataset, so exact zeros and merely tiny coefficients can be
    told apart. The bins are shared by all panels.

    Parameters
    ----------
    coefs : DataFrame, shape (n_coefs, n_columns)
        Coefs table of one dataset: ``dataset``, ``model``, ``coef``.
    zero_tol : float, optional
        The "tiny" threshold of the fits table, drawn as a vertical line.
    bins : int
        Number of bins of log10|coef| over the nonzero coefficients.

    Returns
    -------
    Figure
        One panel per model with ``bins`` bars plus one bar for exact zeros.
    """
    require_columns(coefs, ["dataset", "model", "coef"], "coefs table")
    dataset = _single_dataset(coefs)
    values = coefs["coef"].to_numpy(dtype=np.float64)
    nonzero = values[np.isfinite(values) & (values != 0)]
    logs = np.log10(np.abs(nonzero)) if nonzero.size else np.array([-1.0, 0.0])
    if zero_tol is not None and zero_tol > 0:
        logs = np.append(logs, np.log10(zero_tol))  # keep the threshold line among the bins
    lo, hi = np.floor(logs.min()), np.ceil(logs.max())
    hi = max(hi, lo + 1)
    edges = np.linspace(lo, hi, bins + 1)
    width = edges[1] - edges[0]
    # Exact zeros have no place on a log axis: their bar stands apart, left of every bin.
    zero_width = max(2 * width, 0.05 * (hi - lo))
    zero_x = lo - 2 * zero_width
    step = max(1, int(np.ceil((hi - lo) / 5)))
    ticks = np.arange(np.ceil(lo / step) * step, hi + 0.5, step)
    models = ordered_models(coefs["model"].unique())
    with theme():
        fig, axes = new_figure(len(models), sharex=True)
        for ax, model in zip(axes, models, strict=True):
            c = coefs.loc[coefs["model"] == model, "coef"].to_numpy(dtype=np.float64)
            c = c[np.isfinite(c)]
            counts, _ = np.histogram(np.log10(np.abs(c[c != 0])), bins=edges)
            n_zero = int((c == 0).sum())
            ax.bar(edges[:-1], counts, width=width, align="edge", color=model_color(model),
                   label="0 < |coef|")  # fmt: skip
            ax.bar([zero_x], [n_zero], width=zero_width, color=EXACT_ZERO_COLOR, hatch="//",
                   edgecolor="white", label="coef == 0.0")  # fmt: skip
            if zero_tol is not None and zero_tol > 0:
                ax.axvline(np.log10(zero_tol), color="0.3", ls="--", lw=1)
            if max(counts.max(initial=0), n_zero) > 50 * max(1, counts[counts > 0].min(initial=1)):
                ax.set_yscale("log")
            ax.set_xticks([zero_x, *ticks], ["0.0", *(f"{t:g}" for t in ticks)])
            ax.set_title(f"{model}: {n_zero} of {c.size} exactly 0.0")
            ax.set_xlabel("log10 |coef|")
        axes[0].set_ylabel("coefficients (count)")
        tol = f", dashed: zero_tol = {zero_tol:g}" if zero_tol else ""
        fig.suptitle(
            f"Magnitude of coefficients on {dataset}, all alphas and seeds pooled\n"
            f"(coef in units of y per standardised feature; black: exact zeros{tol})"
        )
    return fig
