"""Render every figure a run's tables support into files; say why each other one is skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import NotSupported, slug
from sparsity_lab.figures.coefficients import plot_coef_histogram, plot_coef_paths
from sparsity_lab.figures.penalties import penalty_table, plot_penalties
from sparsity_lab.figures.style import theme
from sparsity_lab.figures.sweeps import (
    plot_error_vs_nonzeros,
    plot_support_recovery,
    plot_zero_fraction,
)
from sparsity_lab.results import (
    COEFS_FILE,
    FITS_FILE,
    ResultsError,
    read_coefs,
    read_fits,
    read_table,
)

FIGURES_DIR = "figures"
DEFAULT_FORMATS: tuple[str, ...] = ("png", "pdf")


def _read_optional(read: Callable[[Path], pd.DataFrame], run_dir: Path, file: str):
    """The table, or the one-line reason it cannot be used."""
    if not (run_dir / file).is_file():
        return None, f"run has no {file}"
    try:
        return read(run_dir), None
    except ResultsError as exc:
        return None, str(exc)


def _study_tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Every study table (of any study in the registry) present in the run dir."""
    from sparsity_lab import studies

    found: dict[str, pd.DataFrame] = {}
    for study in studies.all_studies():
        for table in study.tables:
            if (run_dir / table.file).is_file():
                found[table.name] = read_table(run_dir, table.file)
    return found


def _figures(
    fits: pd.DataFrame | None,
    coefs: pd.DataFrame | None,
    study_tables: dict[str, pd.DataFrame],
    missing: dict[str, str],
) -> Iterator[tuple[str, Callable[[], Figure] | None, str | None]]:
    """(file stem, a thunk drawing the figure or None, reason when None) for every figure."""
    from sparsity_lab import studies

    yield "penalties_l1_l2_with_subgradients", lambda: plot_penalties(penalty_table()), None
    tables = dict(study_tables)
    if fits is not None:
        tables["fits"] = fits
    for study in studies.all_studies():
        if study.owns(tables):
            yield from study.figures(tables)
    for stem, plot in (
        ("exact_zero_fraction_vs_alpha", plot_zero_fraction),
        ("test_error_vs_nonzero_count", plot_error_vs_nonzeros),
        ("support_precision_recall_vs_alpha", plot_support_recovery),
    ):
        if fits is None:
            yield stem, None, missing["fits"]
        else:
            yield stem, (lambda plot=plot: plot(fits)), None
    if coefs is None or coefs.empty:
        reason = missing.get("coefs") or "coefs table is empty"
        yield "coef_paths_<dataset>", None, reason
        yield "coef_log10abs_histogram_<dataset>", None, reason
        return
    zero_tol = None
    if fits is not None and "zero_tol" in fits.columns and fits["zero_tol"].notna().any():
        zero_tol = float(fits["zero_tol"].dropna().iloc[0])
    for dataset, part in coefs.groupby("dataset", sort=True):
        yield f"coef_paths_{slug(dataset)}", (lambda part=part: plot_coef_paths(part)), None
        yield (
            f"coef_log10abs_histogram_{slug(dataset)}",
            (lambda part=part: plot_coef_histogram(part, zero_tol=zero_tol)),
            None,
        )


def make_figures(
    run_dir: Path | str,
    out: Path | str | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Render every figure that the run's tables support.

    Reads ``fits.parquet``, ``coefs.parquet`` and the study tables of the registry
    (:mod:`sparsity_lab.studies`) where present (never re-fits); each study draws its own.
    Each figure that cannot be drawn is reported through ``log`` as one line saying why; the
    penalty figure needs no data and is always drawn.

    Parameters
    ----------
    run_dir : path
        A run dir (``results/<study>/<run id>``).
    out : path, optional
        Output folder; default ``<run_dir>/figures``.
    formats : sequence of str
        File formats, each one matplotlib can write (e.g. ``png``, ``pdf``, ``svg``).
    log : callable
        Receives one line per written file and per skipped figure.

    Returns
    -------
    list of Path
        The files written, in figure order.

    Raises
    ------
    ResultsError
        ``run_dir`` is missing or holds none of the tables.
    ValueError
        A format matplotlib cannot write.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        what = "no such directory" if not run_dir.exists() else "not a run dir"
        raise ResultsError(f"{run_dir}: {what}")
    supported = Figure().canvas.get_supported_filetypes()
    formats = [f.lower().lstrip(".") for f in formats]
    bad = [f for f in formats if f not in supported]
    if bad or not formats:
        raise ValueError(
            f"--formats: {', '.join(bad) or 'none given'}; allowed: {', '.join(sorted(supported))}"
        )
    fits, fits_why = _read_optional(read_fits, run_dir, FITS_FILE)
    coefs, coefs_why = _read_optional(read_coefs, run_dir, COEFS_FILE)
    study_tables = _study_tables(run_dir)
    if fits is None and coefs is None and not study_tables:
        raise ResultsError(
            f"{run_dir}: not a run dir (no {FITS_FILE}, {COEFS_FILE} or study table)"
        )
    missing = {"fits": fits_why, "coefs": coefs_why}
    out = Path(out) if out is not None else run_dir / FIGURES_DIR
    written: list[Path] = []
    for stem, draw, reason in _figures(fits, coefs, study_tables, missing):
        if draw is not None:
            try:
                fig = draw()
            except NotSupported as exc:
                draw, reason = None, str(exc)
        if draw is None:
            log(f"skipped {stem}: {reason}")
            continue
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            path = out / f"{stem}.{fmt}"
            with theme():  # the theme's savefig settings (dpi, tight box) apply when saving
                fig.savefig(path, format=fmt)
            written.append(path)
            log(f"wrote {path}")
    return written
