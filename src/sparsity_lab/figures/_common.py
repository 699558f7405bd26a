"""Helpers shared by the figure functions: panels, seed bands, axes, legends."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator

from sparsity_lab.errors import UserError
from sparsity_lab.figures.style import PANEL_ASPECT, PANEL_WIDTH

#: alpha / alpha_max in plain text (Greek and subscript letters, no mathtext to parse)
ALPHA_LABEL = "\u03b1 / \u03b1\u2098\u2090\u2093 (dimensionless)"
#: A quantity spanning at least this ratio gets a log axis.
DECADE_SPAN = 10.0


class NotSupported(UserError):
    """The table given cannot support this figure (the message says why, in one line)."""


def require_columns(df: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise NotSupported(f"{table} has no column {', '.join(missing)}")
    if df.empty:
        raise NotSupported(f"{table} is empty")


def new_figure(
    n_panels: int,
    ncols: int | None = None,
    sharex: bool | str = False,
    sharey: bool | str = False,
    panel_width: float = PANEL_WIDTH,
) -> tuple[Figure, list[Axes]]:
    """A figure with exactly ``n_panels`` axes on a grid, rendered by Agg (no display needed).

    The figure size follows the panels only; legends go outside it (``legend_outside``) and the
    tight bounding box on saving makes room for them, so a legend never shrinks the plot area.
    """
    ncols = min(n_panels, ncols or 3)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(
        figsize=(panel_width * ncols + 0.6, panel_width * PANEL_ASPECT * nrows + 0.9),
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    if sharex:  # a panel with no panel below it (last row, or above a gap) keeps its x ticks
        for ax in axes[max(0, n_panels - ncols) : n_panels]:
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig, list(axes[:n_panels])


def bottom_xlabels_only(axes: Sequence[Axes], ncols: int) -> None:
    """With a shared x axis, the x label once per column, under its lowest panel."""
    n = len(axes)
    for i, ax in enumerate(axes):
        if i + ncols < n:
            ax.set_xlabel("")


def spans_decades(values) -> bool:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 1 and values.max() / values.min() >= DECADE_SPAN


#: mathtext of a log axis's tick label, ``$\mathdefault{2\times10^{-3}}$``: (mantissa, exponent)
_MATHTEXT_POWER = re.compile(r"\$\\mathdefault\{(?:([0-9.]+)\\times)?10\^\{(-?[0-9]+)\}\}\$")
_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


class PowerLabels(LogFormatterSciNotation):
    """matplotlib's log-axis labels (``10^-3``, ``2x10^-1``) as plain text with Unicode
    superscripts (10⁻³, 2×10⁻¹) rather than mathtext: the same label, without the mathtext
    parser (an eighth of the drawing time of the suite's figures). Labels of any other form
    stay as matplotlib writes them."""

    def __call__(self, x, pos=None) -> str:
        label = super().__call__(x, pos)
        match = _MATHTEXT_POWER.fullmatch(label)
        if match is None:
            return label
        mantissa, exponent = match.groups()
        power = "10" + exponent.translate(_SUPERSCRIPT)
        return f"{mantissa}\u00d7{power}" if mantissa else power


def log_axis(axis) -> None:
    """Give a log-scaled axis (``ax.xaxis`` after ``set_xscale("log")``) the suite's tick labels
    (:class:`PowerLabels`, major and minor, as matplotlib's log scale sets them)."""
    axis.set_major_formatter(PowerLabels(10))
    axis.set_minor_formatter(PowerLabels(10))


def set_alpha_axis(ax: Axes, alpha_ratios) -> None:
    """x = alpha / alpha_max, log-scaled when the grid spans a decade or more."""
    if spans_decades(alpha_ratios):
        if ax.get_xscale() != "log":  # a shared x axis: the first panel set every sibling's
            ax.set_xscale("log")
        log_axis(ax.xaxis)
        ax.set_xlabel(f"{ALPHA_LABEL}, log scale")
    else:
        ax.set_xlabel(ALPHA_LABEL)


def seed_band(df: pd.DataFrame, by: Sequence[str], y: str) -> pd.DataFrame:
    """Mean, min and max of ``y`` over seeds, per ``by`` (NaN values ignored).

    Returns
    -------
    DataFrame, shape (n_groups, len(by) + 4)
        ``by`` columns, ``mean``, ``low``, ``high``, ``n_seeds``.
    """
    grouped = df.dropna(subset=[y]).groupby(list(by), sort=True)[y]
    out = grouped.agg(mean="mean", low="min", high="max", n_seeds="count")
    return out.reset_index()


def seed_bands(
    df: pd.DataFrame, by: Sequence[str], y: str, panel: Sequence[str] = ("dataset", "model")
) -> dict[tuple, pd.DataFrame]:
    """:func:`seed_band` of every ``panel`` key (dataset, model) from one groupby, instead of
    one groupby per panel: ``seed_bands(df, by, y)[key]`` is ``seed_band`` of the rows with
    that key (a key whose ``y`` is all NaN is absent: its band would be empty)."""
    panel = list(panel)
    bands = seed_band(df, [*panel, *by], y)
    return {
        key: part.drop(columns=panel).reset_index(drop=True)
        for key, part in bands.groupby(panel, sort=False)
    }


def band_of(bands: dict[tuple, pd.DataFrame], key: tuple, by: Sequence[str]) -> pd.DataFrame:
    """The band of ``key`` in :func:`seed_bands`, or an empty band (no row with a value)."""
    if key in bands:
        return bands[key]
    return pd.DataFrame(columns=[*by, "mean", "low", "high", "n_seeds"])


def seed_note(df: pd.DataFrame, band: bool = True) -> str:
    """What a line shows over seeds: ``seed 3`` for a one-seed table, else the mean over n
    seeds (with the min-max band when ``band``)."""
    seeds = sorted(df["seed"].dropna().unique()) if "seed" in df.columns else []
    if len(seeds) <= 1:
        return f"seed {int(seeds[0])}" if seeds else "one seed"
    extra = ", band: min-max" if band else ""
    return f"mean over {len(seeds)} seeds{extra}"


def integer_axis(axis) -> None:
    """Counts get integer ticks only (no 2.5 coefficients)."""
    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def legend_outside(
    fig: Figure,
    axes: Sequence[Axes],
    title: str | None = None,
    below: bool = False,
    handles: Sequence | None = None,
    ncols: int | None = None,
) -> None:
    """One legend for the whole figure, right of (or below) the panels: it never covers data.

    The legend is anchored outside the figure box, where the constrained layout does not look
    (it places only "outside" legends), so the panels keep the size the figure gave them; saving
    with a tight bounding box takes the legend in. Only
    drawn artists with a label get an entry (``handles`` overrides that list).
    """
    seen: dict[str, object] = {}
    if handles is not None:
        seen = {h.get_label(): h for h in handles}
    else:
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                if not label.startswith("_"):
                    seen.setdefault(label, handle)
    if seen:
        fig.legend(
            list(seen.values()),
            list(seen.keys()),
            loc="upper center" if below else "center left",
            bbox_to_anchor=(0.5, 0.0) if below else (1.0, 0.5),
            ncols=ncols or (2 if below else 1),
            title=title,
        )


def on_alpha_grid(df: pd.DataFrame) -> pd.DataFrame:
    """The rows on the alpha grid: a path over k (best subset, forward stepwise) has no alpha
    (its ``alpha_ratio`` is NaN) and is drawn against its size instead."""
    return df[df["alpha_ratio"].notna()] if "alpha_ratio" in df.columns else df


def on_k_path(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of paths over k (``k`` not NaN); none in tables written before issue 22."""
    return df[df["k"].notna()] if "k" in df.columns else df.iloc[:0]


def gamma_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Fold a path's second parameter into the model label (``relaxed_lasso [gamma=0.5]``),
    so a figure draws one line per relaxation; rows without one keep their label."""
    if "gamma" not in df.columns or not df["gamma"].notna().any():
        return df
    labels = [m if pd.isna(g) else f"{m} [gamma={g:g}]"
              for m, g in zip(df["model"], df["gamma"], strict=True)]  # fmt: skip
    return df.assign(model=labels)


def path_points(df: pd.DataFrame) -> list[str]:
    """The columns that place a row on its path, of those present: ``alpha_ratio`` and ``k``
    (``gamma`` goes into the label, :func:`gamma_labels`)."""
    return [c for c in ("alpha_ratio", "k") if c in df.columns]


def slug(text: str) -> str:
    """A file-name-safe version of a dataset or model name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "unnamed"
