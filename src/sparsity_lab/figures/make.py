"""Render every figure a run's tables support into files; say why each other one is skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sparsity_lab.figures._common import NotSupported, slug
from sparsity_lab.figures.coefficients import plot_coef_histogram, plot_coef_paths
from sparsity_lab.figures.penalties import penalty_table, plot_penalties
from sparsity_lab.figures.phase import plot_phase_diagram
from sparsity_lab.figures.style import theme
from sparsity_lab.figures.sweeps import (
    plot_error_vs_nonzeros,
    plot_support_recovery,
    plot_zero_fraction,
)
from sparsity_lab.figures.trajectories import plot_trajectories
from sparsity_lab.results import (
    COEFS_FILE,
    FITS_FILE,
    ResultsError,
    read_coefs,
    read_fits,
    read_table,
)

TRAJECTORIES_FILE = "trajectories.parquet"
PHASE_FILE = "phase.parquet"
PHASE_CURVE_FILE = "phase_curve.parquet"
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


def _figures(
    fits: pd.DataFrame | None,
    coefs: pd.DataFrame | None,
    trajectories: pd.DataFrame | None,
    missing: dict[str, str],
    phase: pd.DataFrame | None = None,
    phase_curve: pd.DataFrame | None = None,
) -> Iterator[tuple[str, Callable[[], Figure] | None, str | None]]:
    """(file stem, a thunk drawing the figure or None, reason when None) for every figure."""
    yield "penalties_l1_l2_with_subgradients", lambda: plot_penalties(penalty_table()), None
    if trajectories is None:
        yield "trajectories_1d_gd_l1_vs_l2", None, missing["trajectories"]
    else:
        yield "trajectories_1d_gd_l1_vs_l2", lambda: plot_trajectories(trajectories), None
    # Only phase_transition runs have a phase table; other runs do not list this figure.
    if phase is not None:
        yield "phase_diagram_l1_recovery", lambda: plot_phase_diagram(phase, phase_curve), None
    elif missing.get("phase") != f"run has no {PHASE_FILE}":
        yield "phase_diagram_l1_recovery", None, missing.get("phase")
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

    Reads ``fits.parquet``, ``coefs.parquet``, ``trajectories.parquet`` and ``phase.parquet``
    (with ``phase_curve.parquet``) where present (never
    re-fits). Each figure that cannot be drawn is reported through ``log`` as one line saying
    why; the penalty figure needs no data and is always drawn.

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
    trajectories, traj_why = _read_optional(
        lambda d: read_table(d, TRAJECTORIES_FILE), run_dir, TRAJECTORIES_FILE
    )
    phase, phase_why = _read_optional(lambda d: read_table(d, PHASE_FILE), run_dir, PHASE_FILE)
    phase_curve, _ = _read_optional(
        lambda d: read_table(d, PHASE_CURVE_FILE), run_dir, PHASE_CURVE_FILE
    )
    if fits is None and coefs is None and trajectories is None and phase is None:
        raise ResultsError(
            f"{run_dir}: not a run dir (none of {FITS_FILE}, {COEFS_FILE}, {TRAJECTORIES_FILE}, "
            f"{PHASE_FILE})"
        )
    missing = {"fits": fits_why, "coefs": coefs_why, "trajectories": traj_why, "phase": phase_why}
    out = Path(out) if out is not None else run_dir / FIGURES_DIR
    written: list[Path] = []
    for stem, draw, reason in _figures(fits, coefs, trajectories, missing, phase, phase_curve):
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
