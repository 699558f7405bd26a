"""beyond_lasso's figure: every method's test error relative to the Lasso's at the same number
of nonzeros, per dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from sparsity_lab.figures._common import (
    NotSupported,
    legend_outside,
    new_figure,
    require_columns,
    seed_note,
    spans_decades,
)
from sparsity_lab.figures.style import model_style, ordered_models, theme

#: Ratios labelled on a log axis (plain numbers: 0.5 reads better than 5 x 10^-1).
RATIO_TICKS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


def plot_matched_errors(matched: pd.DataFrame) -> Figure:
    """Test MSE over the Lasso's at matched nonzeros: one panel per size m, one row per dataset,
    one marker per method (a vertical line at 1: the Lasso). Left of it a method predicts better
    with as many nonzeros; the mean over seeds where there are several.

    Parameters
    ----------
    matched : DataFrame
        ``beyond_lasso``'s matched table with ``method`` and ``mse_vs_lasso``
        (:func:`sparsity_lab.studies.beyond_lasso.relative_errors`).

    Raises
    ------
    NotSupported
        No size at which the Lasso and another method both have a fit.
    """
    require_columns(matched, ["dataset", "method", "m", "mse_vs_lasso", "seed"], "matched table")
    data = matched.dropna(subset=["mse_vs_lasso"])
    data = data[data["method"] != "lasso"]
    if data.empty:
        raise NotSupported("no size m where the Lasso and another method both have a fit")
    sizes = sorted(data["m"].unique())
    datasets = sorted(data["dataset"].unique())
    methods = ordered_models(data["method"].unique())
    means = data.groupby(["m", "dataset", "method"])["mse_vs_lasso"].mean()
    log = spans_decades(means.to_numpy())
    offsets = np.linspace(-0.3, 0.3, len(methods)) if len(methods) > 1 else np.zeros(1)
    with theme():
        fig, axes = new_figure(len(sizes), ncols=min(len(sizes), 3), sharey=True)
        for ax, m in zip(axes, sizes, strict=True):
            for i, method in enumerate(methods):
                ys, xs = [], []
                for j, dataset in enumerate(datasets):
                    if (m, dataset, method) in means.index:
                        ys.append(j + offsets[i])
                        xs.append(means[(m, dataset, method)])
                style = model_style(method)
                ax.plot(xs, ys, ls="none", marker=style["marker"], color=style["color"],
                        mfc="none", ms=6, mew=1.3, label=method)  # fmt: skip
            ax.axvline(1.0, color="0.3", lw=1.0, zorder=0, label="lasso (= 1)")
            ax.margins(x=0.08)
            if log:
                ax.set_xscale("log")
                lo, hi = ax.get_xlim()
                ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
                ax.xaxis.set_major_locator(FixedLocator(ticks))
                ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
                ax.xaxis.set_minor_locator(NullLocator())
            ax.set_yticks(range(len(datasets)), datasets)
            ax.set_ylim(len(datasets) - 0.5, -0.5)
            ax.set_title(f"m = {int(m)} nonzeros")
            ax.set_xlabel("test MSE / Lasso's (ratio)" + (", log scale" if log else ""))
        fig.suptitle(
            "Test error at matched sparsity, relative to the Lasso "
            f"({seed_note(data, band=False)}; no marker: no fit with exactly m nonzeros)"
        )
        legend_outside(fig, axes, title="method")
    return fig
