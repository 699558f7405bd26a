"""The zeros of the model a validation set or cross-validation selects, on the grid's curve."""

from __future__ import annotations

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
    seed_band,
    seed_note,
    set_alpha_axis,
)
from sparsity_lab.figures.style import model_style, ordered_models, theme

#: Marker of each selection rule (filled, drawn over the model's hollow line markers).
RULE_MARKERS = {"min": "*", "1se": "D"}


def plot_selected_zeros(fits: pd.DataFrame, selected: pd.DataFrame) -> Figure:
    """Exact zeros along the grid (one line per model) and at the models the rules select.

    Parameters
    ----------
    fits : DataFrame
        Fits table (``dataset``, ``model``, ``alpha_ratio``, ``seed``, ``n_zero``).
    selected : DataFrame
        The ``selected`` table; its rows with an ``alpha_ratio`` (models over an alpha grid).

    Returns
    -------
    Figure
        One panel per dataset; per model its grid curve (mean over seeds) and one filled marker
        per rule and seed at the selected alpha / alpha_max and its exact zero count.
    """
    require_columns(fits, ["dataset", "model", "alpha_ratio", "seed", "n_zero"], "fits table")
    require_columns(
        selected, ["dataset", "model", "alpha_ratio", "rule", "n_zero", "select"], "selected table"
    )
    chosen = selected.dropna(subset=["alpha_ratio", "n_zero"])
    if chosen.empty:
        raise NotSupported("selected table has no model chosen along an alpha grid")
    datasets = sorted(chosen["dataset"].unique())
    with theme():
        fig, axes = new_figure(len(datasets), sharex=True)
        for ax, dataset in zip(axes, datasets, strict=True):
            part = fits[fits["dataset"] == dataset]
            mine = chosen[chosen["dataset"] == dataset]
            for rank, model in enumerate(ordered_models(mine["model"].unique())):
                style = model_style(model)
                band = seed_band(part[part["model"] == model], ["alpha_ratio"], "n_zero")
                ax.plot(band["alpha_ratio"], band["mean"], color=style["color"], ls=style["ls"],
                        lw=1.4, label=model, zorder=2)  # fmt: skip
                for rule, marker in RULE_MARKERS.items():
                    at = mine[(mine["model"] == model) & (mine["rule"] == rule)]
                    ax.plot(at["alpha_ratio"], at["n_zero"], ls="none", marker=marker,
                            ms=11 - 2 * (marker == "D") - 0.8 * rank, color=style["color"],
                            mec="black", mew=0.7, zorder=3)  # fmt: skip
            set_alpha_axis(ax, part["alpha_ratio"])
            integer_axis(ax.yaxis)
            ax.set_title(f"{dataset} (p = {int(mine['n_features'].max())})")
            ax.set_ylabel("coefficients exactly 0.0 (count)")
        bottom_xlabels_only(axes, ncols=3)
        kinds = ", ".join(
            "cross-validation" if k == "cv" else "validation set" for k in chosen["select"].unique()
        )
        several = chosen["seed"].nunique() > 1
        which = f"{seed_note(fits, band=False)}, a marker per seed" if several else seed_note(fits)
        fig.suptitle(f"Exact zeros along the grid and at the selected model ({kinds}; {which})")
        rules = [
            Line2D([], [], ls="none", marker=m, color="grey", mec="black", ms=9, label=f"{r} rule")
            for r, m in RULE_MARKERS.items()
            if (chosen["rule"] == r).any()
        ]
        lines = [h for ax in axes for h in ax.get_lines() if not h.get_label().startswith("_")]
        models = {h.get_label(): h for h in lines}
        legend_outside(fig, axes, handles=[*models.values(), *rules])
    return fig
