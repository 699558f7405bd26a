"""Figures from the coefs table: coefficient paths and the magnitude of what is left.

A run's coefs table may hold hundreds of millions of rows: the figures read it through
:class:`CoefRows`, which reads a run's table file batch by batch with projection and filters
(or filters a frame in memory), so a figure holds only the rows it draws (paths: the largest
features of one seed) or counts accumulated batch by batch (histograms).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import AutoLocator, FixedLocator, FuncFormatter

from sparsity_lab import schema
from sparsity_lab.figures._common import (
    NotSupported,
    gamma_labels,
    integer_axis,
    legend_outside,
    log_axis,
    require_columns,
    set_alpha_axis,
)
from sparsity_lab.figures.style import (
    EXACT_ZERO_COLOR,
    PANEL_ASPECT,
    feature_style,
    model_color,
    ordered_models,
    theme,
)

#: The ``path_param`` of a relaxed lasso's rows (the only ones with a ``gamma``).
RELAXED = schema.PATH_PARAMS[2]
#: Paths of more features than this are unreadable; the largest ones are drawn.
MAX_PATH_FEATURES = 20
HISTOGRAM_BINS = 30
#: Width of one coefficient-path panel, in inches.
PATH_PANEL_WIDTH = 4.6
#: Width of one histogram panel (the exact-zero bar's slot takes ZERO_PANEL_SHARE of its x axis).
HISTOGRAM_PANEL_WIDTH = 4.2
ZERO_PANEL_SHARE = 0.16


class CoefRows:
    """The coefs rows a figure reads: a frame in memory, or a run dir's (or a file's) coefs
    table read batch by batch (:func:`sparsity_lab.results.table_batches`), never whole.

    ``model`` is the fit's label: a non-empty ``variant`` is folded into it (``lasso
    [tol=1e-06]``), as every figure shows it; filters name the table's own ``model`` and
    ``variant``. A relaxed lasso is drawn at its smallest gamma only (least squares on the
    lasso's support at gamma = 0; gamma = 1 is the lasso's own panel), labelled
    ``relaxed_lasso [gamma=0]`` (:func:`~sparsity_lab.figures._common.gamma_labels`).
    """

    def __init__(self, source: pd.DataFrame | Path | str | Sequence[Path]) -> None:
        from sparsity_lab import results

        self.frame = None if not isinstance(source, pd.DataFrame) else source
        #: the table files (or dirs holding them) read one after another, as one table: a
        #: run's, or the job dirs whose tables the run's concatenates in this order
        self.paths: list[Path] = []
        if self.frame is None:
            many = isinstance(source, list | tuple)
            self.paths = [Path(p) for p in source] if many else [Path(source)]
            if not self.paths:
                raise ValueError("CoefRows: no table to read")
        if self.frame is not None and "variant" not in self.frame.columns:
            self.frame = self.frame.assign(variant="")
        self._results = results
        self._least: dict[str, float] | None = None
        self._columns: list[str] | None = None
        self._distinct: dict[tuple[str, ...], pd.DataFrame] = {}

    def columns(self) -> list[str]:
        """The table's columns (from the file's schema, without reading a row)."""
        if self.frame is not None:
            return list(self.frame.columns)
        if self._columns is None:
            self._columns = self._results.table_columns(self.paths[0], self._results.COEFS_FILE)
        return list(self._columns)

    def least_gamma(self) -> dict[str, float]:
        """The smallest gamma of each fit label (model and variant) that has one."""
        if self._least is None:
            self._least = {}
            columns = self.columns()
            where: dict = {}
            if "path_param" in columns:  # only relaxed-lasso jobs have a gamma: read theirs
                if RELAXED not in set(self.distinct(["path_param"])["path_param"]):
                    return self._least
                where = {"path_param": RELAXED}
            if "gamma" in columns:
                for part in self._batches(["model", "gamma"], where):
                    part = part.dropna(subset=["gamma"])
                    for label, low in part.groupby("model")["gamma"].min().items():
                        self._least[label] = min(low, self._least.get(label, np.inf))
        return self._least

    def label(self, model: str, variant: str) -> str:
        """The label a figure gives a fit: :func:`fit_labels`, and the gamma drawn."""
        label = fit_labels([model], [variant])[0]
        least = self.least_gamma().get(label)
        return label if least is None else f"{label} [gamma={least:g}]"

    def distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        """The distinct combinations of ``columns`` (those the table has); read once per
        combination of columns (the figures of every dataset ask the same)."""
        key = tuple(columns)
        if key not in self._distinct:
            self._distinct[key] = self._read_distinct(columns)
        return self._distinct[key].copy()

    def _read_distinct(self, columns: Sequence[str]) -> pd.DataFrame:
        if self.frame is not None:
            present = [c for c in columns if c in self.frame.columns]
            return self.frame[present].drop_duplicates().reset_index(drop=True)
        seen = [
            self._results.distinct_rows(path, self._results.COEFS_FILE, columns)
            for path in self.paths
        ]
        if len(seen) == 1:
            return seen[0]
        return pd.concat(seen, ignore_index=True).drop_duplicates().reset_index(drop=True)

    def batches(
        self, columns: Sequence[str], where: dict, kind: str | None = None
    ) -> Iterator[pd.DataFrame]:
        """Frames of ``columns`` of the rows matching ``where`` (a value or a list of values
        per column) that a figure draws, ``model`` labelled with its variant and gamma.
        ``kind``: ``alpha`` keeps the rows on the alpha grid (``alpha_ratio`` not NaN), ``k``
        those of paths over k (``k`` not NaN), None both."""
        have = self.columns()
        point = [c for c in ("alpha_ratio", "k", "gamma") if c in have]
        least = self.least_gamma()
        if not least and kind is None:
            yield from self._batches(columns, where)
            return
        read = list(dict.fromkeys([*columns, "model", *point]))
        for part in self._batches(read, where):
            keep = np.ones(len(part), dtype=bool)
            if least:
                low = part["model"].map(least).to_numpy(dtype=np.float64)
                gamma = part["gamma"].to_numpy(dtype=np.float64)
                keep &= np.isnan(gamma) | (gamma == low)
            if kind == "alpha" and "alpha_ratio" in part.columns:
                keep &= part["alpha_ratio"].notna().to_numpy()
            elif kind == "k":
                keep &= part["k"].notna().to_numpy() if "k" in part.columns else False
            part = gamma_labels(part[keep]) if least else part[keep]
            yield part[[c for c in columns if c in part.columns]]

    def _batches(self, columns: Sequence[str], where: dict) -> Iterator[pd.DataFrame]:
        read = list(dict.fromkeys([*columns, *(["variant"] if "model" in columns else [])]))
        if self.frame is not None:
            keep = np.ones(len(self.frame), dtype=bool)
            for column, value in where.items():
                values = value if isinstance(value, list) else [value]
                keep &= self.frame[column].isin(values).to_numpy()
            parts = iter([self.frame.loc[keep, [c for c in read if c in self.frame]]])
        else:
            parts = self._file_batches(read, where)
        for part in parts:
            if "model" in columns:
                part = part.assign(model=fit_labels(part["model"], part["variant"]))
            yield part[[c for c in columns if c in part.columns]]

    def _file_batches(self, columns: list[str], where: dict) -> Iterator[pd.DataFrame]:
        """The files' batches in order, as one table's: an empty frame (what a file yields
        when no row matches) only when no file has a matching row."""
        empty, found = None, False
        for path in self.paths:
            for part in self._results.table_batches(path, columns=columns, where=where):
                if len(part):
                    found = True
                    yield part
                elif empty is None:
                    empty = part
        if not found and empty is not None:
            yield empty

    def path_kinds(self, dataset: str) -> list[str]:
        """The kinds of path a dataset's rows walk: ``alpha`` (the alpha grid) and ``k``."""
        if "path_param" not in self.columns():
            return ["alpha"]
        seen = self.distinct(["dataset", "path_param"])
        params = set(seen.loc[seen["dataset"] == dataset, "path_param"])
        return [kind for kind, has in (("alpha", params - {"k"}), ("k", "k" in params)) if has]


def fit_labels(models: pd.Series, variants: pd.Series) -> list[str]:
    """``model [variant]`` where the variant is not empty, else the model.

    Formats only the rows with a variant (a batch of a run without variants, the usual case,
    is its model column as it is: no Python loop over its rows)."""
    models = np.asarray(models, dtype=object)
    variants = np.asarray(variants, dtype=object)
    if models.shape != variants.shape:
        raise ValueError(f"{models.size} models and {variants.size} variants")
    has = variants.astype(bool)
    if not has.any():
        return models.tolist()
    labels = models.copy()
    labels[has] = [f"{m} [{v}]" for m, v in zip(models[has], variants[has], strict=True)]
    return labels.tolist()


def _single_dataset(coefs: pd.DataFrame) -> str:
    datasets = coefs["dataset"].unique()
    if len(datasets) != 1:
        raise NotSupported(f"coefs table must hold one dataset, got {len(datasets)}")
    return str(datasets[0])


def _grid(n_panels: int, panel_width: float) -> tuple[Figure, int, int]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ncols = min(n_panels, 3)
    nrows = -(-n_panels // ncols)
    fig = Figure(
        figsize=(panel_width * ncols + 0.6, panel_width * PANEL_ASPECT * nrows + 1.0),
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    return fig, nrows, ncols


def entry_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the knots where a path leaves 0.0 as alpha decreases: coef == 0.0 exactly
    there and nonzero at the next smaller alpha (an entry, or a re-entry after an exit).

    Parameters
    ----------
    x : ndarray, shape (k,)
        alpha / alpha_max, increasing.
    y : ndarray, shape (k,)
        The coefficient at each x.
    """
    zero = y == 0
    return np.flatnonzero(zero[1:] & ~zero[:-1]) + 1


def coef_path_rows(
    rows: CoefRows, dataset: str, max_features: int = MAX_PATH_FEATURES, kind: str = "alpha"
) -> tuple[pd.DataFrame, int]:
    """The rows :func:`plot_coef_paths` draws for one dataset, read without the others: its
    smallest seed, and of it the ``max_features`` features with the largest |coef| anywhere
    (ties: by name), every model and path point of ``kind`` (``alpha``: the alpha grid, ``k``:
    paths over k; :meth:`CoefRows.batches`). Returns (those rows, the number of features)."""
    seeds = rows.distinct(["dataset", "seed"])
    seed = seeds.loc[seeds["dataset"] == dataset, "seed"].min()
    where = {"dataset": dataset, "seed": seed}
    size = None
    for part in rows.batches(["feature", "coef"], where, kind):
        top = part.assign(abs_coef=part["coef"].abs()).groupby("feature")["abs_coef"].max()
        size = top if size is None else pd.concat([size, top]).groupby(level=0).max()
    if size is None or size.empty:
        raise NotSupported(f"coefs table has no rows of {dataset}")
    features = list(size.sort_values(ascending=False, kind="stable").index[:max_features])
    x = "k" if kind == "k" else "alpha_ratio"
    columns = ["dataset", "model", x, "seed", "feature", "coef"]
    drawn = pd.concat(list(rows.batches(columns, {**where, "feature": features}, kind)))
    return drawn.reset_index(drop=True), len(size)


def plot_coef_paths(
    coefs: pd.DataFrame,
    max_features: int = MAX_PATH_FEATURES,
    x: str = "alpha_ratio",
    n_features: int | None = None,
) -> Figure:
    """Coefficient against alpha / alpha_max, one panel per model, for one dataset and seed.

    With ``x="k"``: against the size k of a path over k (best subset, forward stepwise), a
    feature's dot at the largest size without it.

    Each feature has its own colour and line style (the same in every panel) and its name in
    the legend, in the order in which the features enter the first panel's path as alpha
    decreases. Where a coefficient is exactly 0.0 the path is not drawn (it would lie on the
    y = 0 line); the grid point where it leaves 0.0 (its entry, or a re-entry) is marked with a
    dot on y = 0. Features: the ``max_features`` with the largest |coef| anywhere; seed: the
    smallest. The panels share both axes.

    Parameters
    ----------
    coefs : DataFrame, shape (n_coefs, n_columns)
        Coefs table of one dataset: ``dataset``, ``model``, ``alpha_ratio``, ``seed``,
        ``feature``, ``coef``.
    max_features : int
        Most features drawn per panel.
    n_features : int, optional
        How many features the dataset has, when ``coefs`` holds only those drawn (the rows of
        :func:`coef_path_rows`); default: the features of ``coefs``.

    Returns
    -------
    Figure
        One panel per model with one line per drawn feature and one marker per entry.
    """
    require_columns(coefs, ["dataset", "model", x, "seed", "feature", "coef"], "coefs table")
    over_k = x == "k"
    dataset = _single_dataset(coefs)
    seed = coefs["seed"].min()
    coefs = coefs[coefs["seed"] == seed]
    size = coefs.assign(abs_coef=coefs["coef"].abs()).groupby("feature")["abs_coef"].max()
    features = list(size.sort_values(ascending=False, kind="stable").index[:max_features])
    coefs = coefs[coefs["feature"].isin(features)]
    models = ordered_models(coefs["model"].unique())
    # legend order: entry along the first model's path (largest alpha first), then the others
    first = coefs[(coefs["model"] == models[0]) & (coefs["coef"] != 0)]
    entry = -first.groupby("feature")["k"].min() if over_k else first.groupby("feature")[x].max()
    order = sorted(features, key=lambda f: (-entry.get(f, -np.inf), features.index(f)))
    styles = {f: feature_style(i) for i, f in enumerate(order)}
    with theme():
        fig, nrows, ncols = _grid(len(models), PATH_PANEL_WIDTH)
        grid = fig.add_gridspec(nrows, ncols)
        axes, marked = [], False
        for i, model in enumerate(models):
            share = axes[0] if axes else None
            ax = fig.add_subplot(grid[i // ncols, i % ncols], sharex=share, sharey=share)
            axes.append(ax)
            part = coefs[coefs["model"] == model]
            n_reach = 0
            paths, knots = [], []
            for feature, path in part.groupby("feature", sort=False):
                # the sparse end last: alpha / alpha_max up, or k down (as entry_points reads)
                path = path.sort_values(x, ascending=not over_k)
                xs, y = path[x].to_numpy(), path["coef"].to_numpy(dtype=np.float64)
                # the path leaves the axis at its entry knot: keep the zero just before a nonzero
                keep = (y != 0) | np.r_[y[1:] != 0, False] | np.r_[False, y[:-1] != 0]
                paths.append((feature, xs, np.where(keep, y, np.nan)))
                at = entry_points(xs, y)
                n_reach += bool((y == 0).any())
                knots += [(feature, xs[i], y[i]) for i in at]
            _draw_paths(ax, paths, knots, styles)
            marked = marked or bool(knots)
            if over_k:
                integer_axis(ax.xaxis)
                ax.set_xlabel("size k (nonzero coefficients at most)")
            else:
                set_alpha_axis(ax, coefs["alpha_ratio"])
            ax.axhline(0, color="0.5", lw=0.8, zorder=0)
            ax.set_title(f"{model}: {n_reach} of {part['feature'].nunique()} reach 0.0 exactly")
            if i % ncols == 0:
                ax.set_ylabel("coefficient (y units per std. feature)")
        handles = [Line2D([], [], lw=1.5, label=str(f), **styles[f]) for f in order]
        if marked:
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="o",
                    ms=5,
                    color="0.3",
                    mec="white",
                    label="leaves 0.0 (entry)",
                )
            )
        legend_outside(fig, axes, title="feature, by entry", handles=handles,
                       ncols=1 if len(handles) <= 12 else 2)  # fmt: skip
        total = len(size) if n_features is None else n_features
        shown = f"{len(features)} largest of {total} features"
        if total <= max_features:
            shown = f"all {total} features"
        over = " over the size k" if over_k else ""
        fig.suptitle(f"Coefficient paths{over} on {dataset} ({shown}, seed {seed})")
    return fig


def _draw_paths(ax, paths, knots, styles: dict) -> None:
    """A panel's coefficient paths as one collection of lines, and its entry knots as one
    collection of dots: what one ``plot`` per feature and per feature's knots drew (the same
    points, styles and order: lines in feature order, the dots above them), with two artists
    instead of one or two per feature (a fifth of a path figure's drawing time).

    ``paths``: (feature, x, y) with NaN where the path is not drawn; ``knots``: (feature, x, y)
    of each dot; ``styles``: :func:`feature_style` per feature."""
    from matplotlib.collections import LineCollection

    if paths:
        lines = LineCollection(
            [np.column_stack([xs, y]) for _, xs, y in paths],
            colors=[styles[f]["color"] for f, _, _ in paths],
            linestyles=[styles[f]["ls"] for f, _, _ in paths],
            linewidths=1.5,
            label="_coefficient paths",
        )
        ax.add_collection(lines)  # updates the data limits (NaN points ignored)
        ax.autoscale_view()
    if knots:
        ax.scatter(
            [kx for _, kx, _ in knots], [ky for _, _, ky in knots], s=5.0**2, marker="o",
            c=[styles[f]["color"] for f, _, _ in knots], edgecolors="white", linewidths=0.6,
            zorder=4, label="_entries",
        )  # fmt: skip


def _histogram_bars(ax, edges: np.ndarray, counts: np.ndarray, color: str) -> None:
    """The bars of a histogram as one collection of rectangles from 0 to each count: what
    ``ax.bar(edges[:-1], counts, width, align="edge")`` draws (the same rectangles, colour,
    white edges of the theme and data limits), as one artist instead of one patch per bin."""
    from matplotlib.collections import PolyCollection

    left, right = edges[:-1], edges[1:]
    zero = np.zeros_like(left, dtype=np.float64)
    height = np.asarray(counts, dtype=np.float64)
    sides = ((left, zero), (left, height), (right, height), (right, zero))
    corners = np.stack([np.column_stack(side) for side in sides], axis=1)  # (bins, 4, 2)
    bars = PolyCollection(
        corners, facecolors=color, edgecolors=mpl.rcParams["patch.edgecolor"],
        linewidths=mpl.rcParams["patch.linewidth"], label="0 < |coef| (per bin)",
    )  # fmt: skip
    bars.sticky_edges.y.append(0.0)  # as a bar's bottom: no margin below 0
    ax.add_collection(bars, autolim=False)
    ax.update_datalim(corners.reshape(-1, 2))  # the rectangles' corners, as ax.bar adds them


def _break_marks(ax, where: float) -> None:
    """The two slanted ticks of a broken x axis on the bottom spine, at ``where`` (in axes
    widths): between the exact-zero bar and the log10 axis."""
    kwargs = {"marker": [(-1, -1.5), (1, 1.5)], "markersize": 8, "ls": "none", "color": "0.3",
              "mec": "0.3", "mew": 1, "clip_on": False}  # fmt: skip
    gap = 0.008  # axes widths each side of the break
    (marks,) = ax.plot([where - gap, where + gap], [0, 0], transform=ax.transAxes, **kwargs)
    marks.set_in_layout(False)  # marks on the spine: no decoration to make room for


def plot_coef_histogram(
    coefs: pd.DataFrame, zero_tol: float | None = None, bins: int = HISTOGRAM_BINS
) -> Figure:
    """Histogram of log10|coef| per model, with exact zeros as a separate bar left of a break.

    Pools every alpha and seed of one dataset, so exact zeros and merely tiny coefficients can be
    told apart. Each model's panel shows, left of a break in its x axis, the exact-zero bar
    (under the tick ``0.0``) and right of it the log10|coef| histogram. All panels share the
    bins and the count axis, which is logarithmic (stated on the axis) so the exact zeros and a
    handful of tiny coefficients show in the same panel.

    Parameters
    ----------
    coefs : DataFrame, shape (n_coefs, n_columns)
        Coefs table of one dataset: ``dataset``, ``model``, ``coef``.
    zero_tol : float, optional
        The "tiny" threshold of the fits table, drawn as a dashed line with a legend entry.
    bins : int
        Number of bins of log10|coef| over the nonzero coefficients.

    Returns
    -------
    Figure
        Per model, one axes with the zero bar and ``bins`` bars (one axes, not two: a
        third less drawing time, the same picture).
    """
    require_columns(coefs, ["dataset", "model", "coef"], "coefs table")
    dataset = _single_dataset(coefs)
    return draw_coef_histogram(coef_histogram_counts(CoefRows(coefs), dataset, zero_tol, bins))


@dataclass
class HistogramCounts:
    """What :func:`plot_coef_histogram` draws of one dataset, counted batch by batch."""

    dataset: str
    zero_tol: float | None
    #: bin edges of log10|coef|, shared by every model
    edges: np.ndarray
    models: list[str]
    #: per model: counts per bin of the nonzero finite coefficients, exact zeros, finite ones
    counts: dict[str, np.ndarray]
    n_zero: dict[str, int]
    n_finite: dict[str, int]
    seeds: list


def coef_histogram_counts(
    rows: CoefRows, dataset: str, zero_tol: float | None = None, bins: int = HISTOGRAM_BINS
) -> HistogramCounts:
    """The histogram of log10|coef| per model of one dataset (every alpha and seed pooled),
    accumulated over the rows batch by batch: one pass for the bins' range, one per model for
    its counts. The counts are those of the whole table at once (the same bins, each value
    binned alone)."""
    where = {"dataset": dataset}
    low, high = np.inf, -np.inf
    for part in rows.batches(["coef"], where):
        values = part["coef"].to_numpy(dtype=np.float64)
        nonzero = values[np.isfinite(values) & (values != 0)]
        if nonzero.size:
            logs = np.log10(np.abs(nonzero))
            low, high = min(low, logs.min()), max(high, logs.max())
    logs = np.array([low, high]) if np.isfinite(low) else np.array([-1.0, 0.0])
    if zero_tol is not None and zero_tol > 0:
        logs = np.append(logs, np.log10(zero_tol))  # keep the threshold line among the bins
    lo, hi = np.floor(logs.min()), np.ceil(logs.max())
    hi = max(hi, lo + 1)
    edges = np.linspace(lo, hi, bins + 1)
    keys = rows.distinct(["dataset", "model", "variant", "seed"])
    keys = keys[keys["dataset"] == dataset]
    seeds = sorted(keys["seed"].unique()) if "seed" in keys.columns else []
    fits = keys[["model", "variant"]].drop_duplicates()
    labels = [rows.label(m, v) for m, v in zip(fits["model"], fits["variant"], strict=True)]
    counts, n_zero, n_finite = {}, {}, {}
    for label, (model, variant) in zip(labels, fits.itertuples(index=False), strict=True):
        counts.setdefault(label, np.zeros(bins, dtype=np.int64))
        n_zero.setdefault(label, 0)
        n_finite.setdefault(label, 0)
        for part in rows.batches(["coef"], {**where, "model": model, "variant": variant}):
            c = part["coef"].to_numpy(dtype=np.float64)
            c = c[np.isfinite(c)]
            counts[label] += np.histogram(np.log10(np.abs(c[c != 0])), bins=edges)[0]
            n_zero[label] += int((c == 0).sum())
            n_finite[label] += c.size
    return HistogramCounts(
        dataset, zero_tol, edges, ordered_models(labels), counts, n_zero, n_finite, seeds
    )


def draw_coef_histogram(data: HistogramCounts) -> Figure:
    """The figure of :func:`plot_coef_histogram` from its counts."""
    dataset, zero_tol, edges, models, seeds = (
        data.dataset, data.zero_tol, data.edges, data.models, data.seeds
    )  # fmt: skip
    lo, hi = edges[0], edges[-1]
    width = edges[1] - edges[0]
    # one axes per model: the bins over [lo - width, hi + width], and left of them a slot
    # of ZERO_PANEL_SHARE of the panel for the exact-zero bar, past a break of the x axis
    start = lo - width
    span = hi + width - start
    slot = span * ZERO_PANEL_SHARE / (1 - ZERO_PANEL_SHARE)
    zero_x = start - slot / 2
    ticks = [t for t in AutoLocator().tick_values(start, hi + width) if start <= t <= hi + width]

    def tick_label(value: float, _pos) -> str:
        return "0.0" if value == zero_x else f"{value:g}".replace("-", "\N{MINUS SIGN}")

    with theme():
        fig, nrows, ncols = _grid(len(models), HISTOGRAM_PANEL_WIDTH)
        grid = fig.add_gridspec(nrows, ncols)
        axes = []
        for i, model in enumerate(models):
            share = axes[0] if axes else None
            ax = fig.add_subplot(grid[i // ncols, i % ncols], sharex=share, sharey=share)
            axes.append(ax)
            counts, n_zero = data.counts[model], data.n_zero[model]
            _histogram_bars(ax, edges, counts, model_color(model))
            ax.bar([zero_x], [n_zero], width=slot * 0.8 / 1.4, color=EXACT_ZERO_COLOR,
                   hatch="//", edgecolor="white", label="coef = 0.0 exactly")  # fmt: skip
            # the x grid at the log10 ticks only (none through the zero bar)
            ax.grid(False, axis="x")
            ax.vlines(ticks, 0, 1, transform=ax.get_xaxis_transform(),
                      colors=mpl.rcParams["grid.color"], linewidths=mpl.rcParams["grid.linewidth"],
                      zorder=0.5, label="_grid")  # fmt: skip
            ax.xaxis.set_major_locator(FixedLocator([zero_x, *ticks]))
            ax.xaxis.set_major_formatter(FuncFormatter(tick_label))
            ax.set_xlim(start - slot, hi + width)
            _break_marks(ax, slot / (slot + span))
            if zero_tol is not None and zero_tol > 0:
                ax.axvline(np.log10(zero_tol), color="0.2", ls="--", lw=1.2,
                           label=f"zero_tol = {zero_tol:g} (tiny at or left of it)")  # fmt: skip
            if ax.get_yscale() != "log":  # shared count axis: set once for every panel
                ax.set_yscale("log")
            log_axis(ax.yaxis)
            ax.set_title(f"{model}: {n_zero} of {data.n_finite[model]} exactly 0.0", loc="right")
            ax.set_xlabel("log10 |coef|")
            if i % ncols == 0:
                ax.set_ylabel("coefficients (count, log scale)")
            else:
                ax.tick_params(axis="y", labelleft=False)
        top = max(axes[0].get_ylim()[1], 2.0)  # one count axis: every panel's bars
        axes[0].set_ylim(0.7, top * 1.5)
        handles = [
            Patch(facecolor=EXACT_ZERO_COLOR, hatch="//", edgecolor="white",
                  label="coef = 0.0 exactly"),
            Patch(facecolor="0.55", label="0 < |coef| (per bin, model colour)"),
        ]  # fmt: skip
        if zero_tol is not None and zero_tol > 0:
            tol_label = f"zero_tol = {zero_tol:g} (tiny at or left of it)"
            handles.append(Line2D([], [], color="0.2", ls="--", lw=1.2, label=tol_label))
        legend_outside(fig, axes, handles=handles)
        pooled = (
            f"all alphas and {len(seeds)} seeds pooled"
            if len(seeds) > 1
            else f"all alphas pooled, seed {seeds[0]}"
            if seeds
            else "all alphas pooled"
        )
        fig.suptitle(
            f"Magnitude of the coefficients on {dataset} ({pooled}; coef in y units per "
            "std. feature)"
        )
    return fig
