"""Render every figure a run's tables support into files; say why each other one is skipped."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab import schema
from sparsity_lab.errors import UserError
from sparsity_lab.figures._common import NotSupported, on_alpha_grid, slug
from sparsity_lab.figures.coefficients import (
    CoefRows,
    coef_histogram_counts,
    coef_path_rows,
    draw_coef_histogram,
    plot_coef_paths,
)
from sparsity_lab.figures.save import save_figure
from sparsity_lab.figures.selection import plot_selected_zeros
from sparsity_lab.figures.sweeps import (
    plot_error_vs_nonzeros,
    plot_support_f1_vs_nonzeros,
    plot_support_recovery,
    plot_zero_fraction,
)
from sparsity_lab.figures.zero_sets import plot_sgd_zero_sets, plot_zero_kinds
from sparsity_lab.results import (
    COEFS_COLUMNS,
    COEFS_FILE,
    FITS_FILE,
    ResultsError,
    read_fits,
    read_table,
    resolve_run,
    table_columns,
)
from sparsity_lab.threads import usable_cores

FIGURES_DIR = schema.FIGURES_DIR
DEFAULT_FORMATS: tuple[str, ...] = ("png", "pdf")
#: What ``make_figures`` logs after a file copied from the figures drawn while the jobs ran.
EARLY_NOTE = " (drawn while the jobs ran)"
MAX_FIGURE_WORKERS = 8  # a figure takes 0.3 to 3 s to draw; more processes than this rarely pay

# (stem, thunk or None, reason) of the figures being drawn, read by forked workers by index.
_PLAN: list[tuple[str, Callable[[], Figure] | None, str | None]] = []


def _read_optional(read: Callable[[Path], pd.DataFrame], run_dir: Path, file: str):
    """The table, or the one-line reason it cannot be used."""
    if not (run_dir / file).is_file():
        return None, f"run has no {file}"
    try:
        return read(run_dir), None
    except ResultsError as exc:
        return None, str(exc)


def _coefs_header(run_dir: Path) -> list[str]:
    """The coefs table's columns, checked against the contract, without reading a row."""
    columns = table_columns(run_dir, COEFS_FILE)
    missing = [c for c in COEFS_COLUMNS if c not in columns]
    if missing:
        raise ResultsError(f"{run_dir} is not a coefs table: missing columns {', '.join(missing)}")
    return columns


def variant_labels(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Fold a non-empty ``variant`` into the ``model`` label (``lasso [tol=1e-06]``), so that
    every figure draws one line per fit identity (dataset, model, variant) without knowing
    about variants."""
    if df is None or "variant" not in df.columns or not df["variant"].astype(bool).any():
        return df
    labels = [f"{m} [{v}]" if v else m for m, v in zip(df["model"], df["variant"], strict=True)]
    return df.assign(model=labels)


def _study_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Every study table (of any study in the registry) present in the run dir, and the
    ``selected`` table of a run with ``select``."""
    from sparsity_lab import studies

    found: dict[str, pd.DataFrame] = {}
    for study in studies.all_studies():
        for table in study.tables:
            if (run_dir / table.file).is_file():
                found[table.name] = read_table(run_dir, table.file)
    if (run_dir / "selected.parquet").is_file():  # a run with select=... (a core table)
        found["selected"] = read_table(run_dir, "selected.parquet")
    return found


def _figures(
    fits: pd.DataFrame | None,
    coefs: pd.DataFrame | Path | None,
    study_tables: dict[str, pd.DataFrame],
    missing: dict[str, str],
) -> Iterator[tuple[str, Callable[[], Figure] | None, str | None]]:
    """(file stem, a thunk drawing the figure or None, reason when None) for every figure.

    ``coefs`` is a frame, or a run dir whose coefs table the figures read in parts (each in
    the process drawing it): never the whole table."""
    from sparsity_lab import studies

    tables = dict(study_tables)
    if fits is not None:
        tables["fits"] = fits
    if fits is not None and "selected" in study_tables:
        selected = variant_labels(study_tables["selected"])
        yield "exact_zeros_at_selected_model", (lambda: plot_selected_zeros(fits, selected)), None
    for study in studies.all_studies():
        if study.owns(tables):
            yield from study.figures(tables)
    # support recovery against the nonzeros only where some path is not the alpha grid (on
    # the grid, support_precision_recall_vs_alpha shows it; a run's figures stay as many)
    off_grid = fits is not None and len(on_alpha_grid(fits)) < len(fits)
    for stem, plot, rows in (
        ("exact_zero_fraction_vs_alpha", plot_zero_fraction, on_alpha_grid),
        ("exact_certified_tiny_zeros_vs_alpha", plot_zero_kinds, on_alpha_grid),
        ("sgd_zero_sets_vs_optimum", plot_sgd_zero_sets, on_alpha_grid),
        ("test_error_vs_nonzero_count", plot_error_vs_nonzeros, None),
        *([("support_f1_vs_nonzero_count", plot_support_f1_vs_nonzeros, None)] * off_grid),
        ("support_precision_recall_vs_alpha", plot_support_recovery, on_alpha_grid),
    ):
        if fits is None:
            yield stem, None, missing["fits"]
        elif rows is not None and rows(fits).empty:
            yield stem, None, "no fit on the alpha grid (paths over k only)"
        else:
            shown = fits if rows is None else rows(fits)
            yield stem, (lambda plot=plot, shown=shown: plot(shown)), None
    rows = None if coefs is None else CoefRows(coefs)
    datasets = [] if rows is None else rows.distinct(["dataset"])["dataset"].tolist()
    if not datasets:
        reason = missing.get("coefs") or "coefs table is empty"
        yield "coef_paths_<dataset>", None, reason
        yield "coef_log10abs_histogram_<dataset>", None, reason
        return
    zero_tol = first_zero_tol(fits)
    for dataset in sorted(datasets):
        for stem, figure in dataset_figures(rows, dataset, zero_tol):
            yield stem, figure, None


@dataclass(frozen=True)
class ReadThenDraw:
    """A figure drawn from what it reads first: ``read()`` gives its inputs (the rows or
    counts it draws), ``draw(inputs)`` the figure; calling it does both. Split so that a
    figure drawn earlier from the same inputs (:func:`figure_key`) can be used instead."""

    read: Callable[[], object]
    draw: Callable[[object], Figure]

    def __call__(self) -> Figure:
        return self.draw(self.read())


def first_zero_tol(fits: pd.DataFrame | None) -> float | None:
    """The ``zero_tol`` the histograms draw: the fits table's first one, if any."""
    if fits is None or "zero_tol" not in fits.columns or not fits["zero_tol"].notna().any():
        return None
    return float(fits["zero_tol"].dropna().iloc[0])


def dataset_figures(
    rows: CoefRows, dataset: str, zero_tol: float | None
) -> Iterator[tuple[str, ReadThenDraw]]:
    """(file stem, figure) of the coefficient figures of one dataset: its paths over alpha
    and over k (those its rows walk) and its histogram of log10|coef|."""
    kinds = rows.path_kinds(dataset)
    for kind, name in (("alpha", "coef_paths"), ("k", "coef_paths_over_k")):
        if kind in kinds:
            x = "k" if kind == "k" else "alpha_ratio"
            yield (
                f"{name}_{slug(dataset)}",
                ReadThenDraw(
                    lambda kind=kind: coef_path_rows(rows, dataset, kind=kind),
                    lambda read, x=x: plot_coef_paths(read[0], x=x, n_features=read[1]),
                ),
            )
    yield (
        f"coef_log10abs_histogram_{slug(dataset)}",
        ReadThenDraw(lambda: coef_histogram_counts(rows, dataset, zero_tol), draw_coef_histogram),
    )


def figure_key(stem: str, inputs: object, dpi: float | None) -> str:
    """A digest of what a figure is drawn from: its stem, its inputs (frames, arrays,
    dataclasses, containers and scalars, their types, order and values) and the resolution.
    Two figures with the same key are the same picture (the drawing functions read nothing
    else), so a PNG drawn earlier under it can be used."""
    digest = hashlib.sha256()

    def feed(obj: object) -> None:
        digest.update(type(obj).__qualname__.encode() + b"\0")
        if isinstance(obj, pd.DataFrame):
            feed([str(c) for c in obj.columns])
            feed([str(t) for t in obj.dtypes])
            feed(obj.shape)
            digest.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
        elif isinstance(obj, pd.Series):
            feed(obj.to_frame())
        elif isinstance(obj, np.ndarray):
            feed((str(obj.dtype), obj.shape))
            digest.update(np.ascontiguousarray(obj).tobytes())
        elif is_dataclass(obj):
            feed([(f.name, getattr(obj, f.name)) for f in fields(obj)])
        elif isinstance(obj, dict):
            feed(list(obj.items()))
        elif isinstance(obj, list | tuple):
            digest.update(str(len(obj)).encode())
            for item in obj:
                feed(item)
        else:
            digest.update(repr(obj).encode() + b"\0")

    feed((stem, inputs, dpi))
    return digest.hexdigest()[:32]


def make_figures(
    run_dir: Path | str,
    out: Path | str | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    log: Callable[[str], None] = print,
    n_jobs: int | None = None,
    dpi: float | None = None,
    drawn: Path | None = None,
) -> list[Path]:
    """Render every figure that the run's tables support.

    Reads ``fits.parquet``, ``coefs.parquet`` and the study tables of the registry
    (:mod:`sparsity_lab.studies`) where present (never re-fits); each study draws its own.
    Each figure that cannot be drawn is reported through ``log`` as one line saying why.

    Parameters
    ----------
    run_dir : path
        A run dir (``results/<study>/<run id>``).
    out : path, optional
        Output folder; default ``<run_dir>/figures``.
    formats : sequence of str
        File formats, each one matplotlib can write (e.g. ``png``, ``pdf``, ``svg``).
    log : callable
        Receives one line per written file and per skipped figure, in figure order.
    n_jobs : int, optional
        Processes drawing figures at once; default the usable cores, at most
        ``MAX_FIGURE_WORKERS``. The files do not depend on it (each figure is drawn by one
        process, as it would be alone); 1 draws in this process.
    dpi : float, optional
        Resolution of the raster formats (PNG); default the theme's ``savefig.dpi`` (150).
    drawn : path, optional
        A folder of PNGs drawn earlier (:mod:`sparsity_lab.early`), each named by the
        :func:`figure_key` of its inputs: a figure whose key is there is copied, not drawn.

    Returns
    -------
    list of Path
        The files written, in figure order.

    Raises
    ------
    ResultsError
        ``run_dir`` is missing or holds none of the tables.
    UserError
        A format matplotlib cannot write.
    """
    run_dir = resolve_run(run_dir)
    if not run_dir.is_dir():
        what = "no such directory" if not run_dir.exists() else "not a run dir"
        raise ResultsError(f"{run_dir}: {what}")
    supported = Figure().canvas.get_supported_filetypes()
    formats = [f.lower().lstrip(".") for f in formats]
    bad = [f for f in formats if f not in supported]
    if bad or not formats:
        raise UserError(
            f"--formats: {', '.join(bad) or 'none given'}; allowed: {', '.join(sorted(supported))}"
        )
    fits, fits_why = _read_optional(read_fits, run_dir, FITS_FILE)
    # the columns only (no rows): the coefs figures read what they draw, batch by batch
    header, coefs_why = _read_optional(_coefs_header, run_dir, COEFS_FILE)
    coefs = None if header is None else run_dir
    fits = variant_labels(fits)
    study_tables = _study_tables(run_dir)
    if fits is None and header is None and not study_tables:
        raise ResultsError(
            f"{run_dir}: not a run dir (no {FITS_FILE}, {COEFS_FILE} or study table)"
        )
    missing = {"fits": fits_why, "coefs": coefs_why}
    out = Path(out) if out is not None else run_dir / FIGURES_DIR
    plan = list(_figures(fits, coefs, study_tables, missing))
    written: list[Path] = []
    for stem, paths, reason, copied in _draw_all(plan, out, formats, n_jobs, dpi, drawn):
        if reason is not None:
            log(f"skipped {stem}: {reason}")
        for path in paths:
            written.append(path)
            log(f"wrote {path}{EARLY_NOTE if path in copied else ''}")
    return written


def _draw_one(
    index: int,
    out: Path,
    formats: Sequence[str],
    dpi: float | None = None,
    drawn: Path | None = None,
) -> tuple[str, list[Path], str | None, list[Path]]:
    """Draw ``_PLAN[index]`` and save it in every format: (stem, files written, reason skipped,
    files copied). A :class:`ReadThenDraw` figure whose PNG is in ``drawn`` under its
    :func:`figure_key` (drawn earlier from the same inputs) is copied from there, not drawn."""
    stem, draw, reason = _PLAN[index]
    if draw is None:
        return stem, [], reason, []
    fig = inputs = None
    reused: list[Path] = []
    try:
        if isinstance(draw, ReadThenDraw):
            inputs = draw.read()
        else:
            fig = draw()
        paths = []
        for fmt in formats:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{stem}.{fmt}"
            paths.append(path)
            if fig is None and fmt == "png" and drawn is not None:
                early = drawn / f"{stem}.{figure_key(stem, inputs, dpi)}.png"
                try:
                    shutil.copyfile(early, path)
                    reused.append(path)
                    continue
                except FileNotFoundError:  # not drawn early (or not from these inputs)
                    pass
            if fig is None:
                fig = draw.draw(inputs)
            save_figure(fig, path, fmt, dpi=dpi)
    except NotSupported as exc:
        return stem, [], str(exc), []
    return stem, paths, None, reused


def _draw_task(
    args: tuple[int, Path, Sequence[str], float | None, Path | None],
) -> tuple[str, list[Path], str | None, list[Path]]:
    return _draw_one(*args)


def figure_workers(n_figures: int, n_jobs: int | None = None) -> int:
    """How many processes draw ``n_figures`` figures: ``n_jobs``, or the usable cores (at most
    ``MAX_FIGURE_WORKERS``), never more than the figures; 1 where ``fork`` is missing."""
    if n_jobs is not None and n_jobs < 1:
        raise UserError(f"--jobs: {n_jobs}; allowed: an integer >= 1")
    if "fork" not in mp.get_all_start_methods():
        return 1
    if n_jobs is None:
        n_jobs = min(usable_cores(), MAX_FIGURE_WORKERS)
    return max(1, min(n_jobs, n_figures))


def _draw_all(
    plan,
    out: Path,
    formats: Sequence[str],
    n_jobs: int | None,
    dpi: float | None,
    drawn: Path | None = None,
):
    """Yield ``_draw_one``'s result for every figure of ``plan``, in plan order.

    Figures are independent, so forked workers draw them side by side: they inherit the tables
    and the imported matplotlib, and only file paths come back. A bug in a drawing function
    raises here with the worker's traceback attached.
    """
    global _PLAN
    drawable = sum(draw is not None for _, draw, _ in plan)
    workers = figure_workers(drawable, n_jobs)
    _PLAN = plan
    try:
        if workers == 1:
            for index in range(len(plan)):
                yield _draw_one(index, out, formats, dpi, drawn)
            return
        # Largest first would balance better, but the figures' cost is not known before drawing;
        # chunks of one keep both workers busy to the end.
        with mp.get_context("fork").Pool(workers) as pool:
            tasks = [(index, out, tuple(formats), dpi, drawn) for index in range(len(plan))]
            yield from pool.imap(_draw_task, tasks, chunksize=1)
    finally:
        _PLAN = []
