"""The figures of ``best_subset_vs_lasso`` in the style of Hastie, Tibshirani and Tibshirani
(2020): a metric of the validation-selected model against the SNR, one line per method."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sparsity_lab.figures._common import (
    NotSupported,
    bottom_xlabels_only,
    integer_axis,
    legend_outside,
    new_figure,
    require_columns,
)
from sparsity_lab.figures.style import model_style, ordered_models, theme

#: y-axis label and title of each metric.
METRICS: dict[str, tuple[str, str]] = {
    "relative_test_error": (
        "relative test error",
        "Relative test error (risk + sigma^2) / sigma^2 (1 is perfect)",
    ),
    "pve": ("proportion of variance explained", "Proportion of variance explained"),
    "n_nonzero": ("nonzero coefficients (count)", "Number of nonzeros"),
}
#: Setting panels in the paper's order.
SETTINGS = ("low", "medium", "high5", "high10")


def plot_metric_vs_snr(table: pd.DataFrame, metric: str, rule: str = "min") -> Figure:
    """``metric`` of the selected model against the SNR (log axis), one line per method (the
    mean over repetitions, a band of one standard error either side), one panel per setting
    (columns) and rho (rows).

    Parameters
    ----------
    table : DataFrame
        The ``best_subset_vs_lasso`` table.
    metric : {"relative_test_error", "pve", "n_nonzero"}
    rule : str
        The selection rule drawn (``min``: the paper's).
    """
    need = ["setting", "rho", "snr", "method", "rule", "s", "rep", metric]
    require_columns(table, need, "best_subset_vs_lasso table")
    part = table[table["rule"] == rule].dropna(subset=[metric])
    if part.empty:
        raise NotSupported(f"best_subset_vs_lasso table has no {metric} for rule {rule}")
    settings = [s for s in SETTINGS if s in set(part["setting"])]
    rhos = sorted(part["rho"].unique())
    ylabel, title = METRICS[metric]
    n_reps = part.groupby(["setting", "rho", "snr", "method"])["rep"].nunique()
    with theme():
        fig, axes = new_figure(len(settings) * len(rhos), ncols=len(settings), sharex=True)
        for i, rho in enumerate(rhos):
            for j, setting in enumerate(settings):
                ax = axes[i * len(settings) + j]
                cell = part[(part["setting"] == setting) & (part["rho"] == rho)]
                if cell.empty:  # a partial sweep: this (setting, rho) was not run
                    ax.set_title(f"{setting}, rho={rho:g}: not run", fontsize=9)
                    ax.set_xscale("log")
                    continue
                for method in ordered_models(cell["method"].unique()):
                    mine = cell[cell["method"] == method].groupby("snr")[metric]
                    mean, se = mine.mean(), mine.std() / np.sqrt(mine.count())
                    style = model_style(method)
                    ax.plot(mean.index, mean.to_numpy(), color=style["color"], ls=style["ls"],
                            marker=style["marker"], mfc="none", ms=5, lw=1.4,
                            label=method)  # fmt: skip
                    ax.fill_between(mean.index, (mean - se).to_numpy(), (mean + se).to_numpy(),
                                    color=style["color"], alpha=0.18, lw=0)  # fmt: skip
                snr = np.geomspace(cell["snr"].min(), cell["snr"].max(), 50)
                if metric == "pve":
                    ax.plot(snr, snr / (1 + snr), color="black", ls=":", lw=1,
                            label="perfect: SNR / (1 + SNR)")  # fmt: skip
                if metric == "n_nonzero":
                    ax.axhline(cell["s"].iloc[0], color="black", ls=":", lw=1,
                               label="true nonzeros s")  # fmt: skip
                    integer_axis(ax.yaxis)
                ax.set_xscale("log")
                ax.set_xlabel("SNR, log scale")
                n, p, s = (int(cell[c].iloc[0]) for c in ("n", "p", "s"))
                ax.set_title(f"{setting}: n={n}, p={p}, s={s}, rho={rho:g}", fontsize=9)
                if j == 0:
                    ax.set_ylabel(ylabel)
        bottom_xlabels_only(axes, ncols=len(settings))
        reps = (f"{n_reps.min()} repetitions" if n_reps.min() == n_reps.max()
                else f"{n_reps.min()} to {n_reps.max()} repetitions")  # fmt: skip
        beta_types = ", ".join(str(b) for b in sorted(part["beta_type"].unique()))
        fig.suptitle(
            f"{title}\nof the validation-selected model: mean over {reps}, band +-1 s.e.; "
            f"beta type {beta_types}"
        )
        handles = {h.get_label(): h for ax in axes for h in ax.get_lines()
                   if not h.get_label().startswith("_")}  # fmt: skip
        for h in handles.values():
            if isinstance(h, Line2D):
                h.set_markerfacecolor("none")
        legend_outside(fig, axes, handles=list(handles.values()))
    return fig
