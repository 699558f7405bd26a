"""One self-contained HTML page per run (``report.html``) and per comparison of two runs.

The page needs no network: figures are embedded as base64 PNG, the style sheet is inline and the
only script is a few inline lines that record whether every image decoded (``data-images`` on
``<body>``: ``ok`` or ``broken``), which the browser test reads. It shows, in this order: the
run's provenance (``run.json``), its status (failed, diverged and not converged first), the
end-of-run summary and the study's own tables, the exact-vs-certified zeros table, and every
figure the run's tables support (with the reason for each one skipped).
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from sparsity_lab import results, schema
from sparsity_lab.gridpoints import SUMMARY_RATIOS, fit_groups, nearest_point

REPORT_FILE = "report.html"
COMPARE_REPORT_FILE = "compare_report.html"
#: Rows shown of a long table (the page says how many were left out).
MAX_ROWS = 200
#: Tables longer than this are folded (<details>) so the page stays readable.
FOLD_ROWS = 25
#: Status order: what needs attention first.
STATUS_ORDER = ("failed", "diverged", "not_converged", "ok")
JOB_STATUS_ORDER = ("failed", "corrupt", "running", "missing", "complete")
#: Resolution of the report's PNG figures (and of ``<run>/figures`` written by ``run``): a
#: browser shows them at most 1200 px wide; ``sparsity-lab figures RUN`` writes 150 dpi PNG and
#: PDF (``--formats pdf,svg,png``) for print.
REPORT_DPI = 100
ZERO_COLUMNS = ("n_zero", "n_zero_certified", "n_zero_boundary", "n_tiny")

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.6em}h3{margin-bottom:.3em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.2em .6em;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}td.text,th.text{text-align:left}
tr.failed td{background:#fbe3e1}tr.diverged td{background:#fdf0d5}
tr.not_converged td{background:#fff8dc}
.note{color:#555;font-size:.9em}.bad{color:#a40000;font-weight:bold}.good{color:#1a6e1a}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}code{background:#f5f5f5;padding:0 .2em}
nav a{margin-right:1em}
"""
# Records on <body> whether every image decoded; a test reads it from the dumped DOM.
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-images', ok ? 'ok' : 'broken');
  document.body.setAttribute('data-n-images', String(imgs.length));
});
"""


# ---------------------------------------------------------------------------- HTML pieces
def _esc(value) -> str:
    return html.escape(str(value))


def _cell(value) -> tuple[str, bool]:
    """Text of a table cell and whether it is text (left-aligned) rather than a number."""
    if isinstance(value, bool):
        return str(value), True
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value)}", False
    if isinstance(value, float):
        return ("" if pd.isna(value) else f"{value:.4g}"), False
    return str(value), True


def html_table(frame: pd.DataFrame, row_class: str | None = None, max_rows: int = MAX_ROWS) -> str:
    """An HTML table of ``frame`` (escaped), at most ``max_rows`` rows with a note on the rest.

    ``row_class`` names a column whose value becomes each row's CSS class (e.g. ``status``).
    """
    shown = frame.head(max_rows)
    head = "".join(
        f'<th class="{"" if pd.api.types.is_numeric_dtype(shown[c]) else "text"}">{_esc(c)}</th>'
        for c in shown.columns
    )
    rows = []
    for record in shown.to_dict("records"):
        cells = []
        for column in shown.columns:
            text, is_text = _cell(record[column])
            cells.append(f'<td class="{"text" if is_text else ""}">{_esc(text)}</td>')
        css = f' class="{_esc(record[row_class])}"' if row_class in record else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f'<p class="note">{len(frame) - max_rows} more rows not shown.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'


def page(title: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """A complete HTML document: ``sections`` are (anchor, heading, body HTML)."""
    nav = " ".join(f'<a href="#{a}">{_esc(h)}</a>' for a, h, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{_esc(h)}</h2>{b}</section>' for a, h, b in sections)
    stamp = datetime.now().isoformat(timespec="seconds")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head>"
        f"<body><h1>{_esc(title)}</h1>"
        f'<p class="note">written by sparsity-lab {stamp}</p><nav>{nav}</nav>{body}</body></html>\n'
    )


# ---------------------------------------------------------------------------- run content
def provenance_html(info: dict) -> str:
    """run.json as a two-column table (lists and dicts as compact JSON)."""
    if not info:
        return '<p class="note">no run.json in this run dir</p>'
    rows = []
    for key, value in info.items():
        if key == "versions" and isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif key == "command" and isinstance(value, list):
            value = " ".join(map(str, value))
        elif isinstance(value, list | dict):
            value = json.dumps(value) if value else "none"
        rows.append({"key": key, "value": str(value)})
    return html_table(pd.DataFrame(rows), max_rows=len(rows))


def job_statuses(run_dir: Path) -> pd.DataFrame:
    """One row per job dir: job, status, error (failed ones first)."""
    rows = []
    for job in results.job_dirs(run_dir):
        record = results.read_json_or_empty(job / results.JOB_FILE)
        rows.append(
            {
                "job": job.name,
                "status": results.job_status(job),
                "overrides": " ".join(record.get("overrides", [])),
                "error": record.get("error", ""),
            }
        )
    frame = pd.DataFrame(rows, columns=["job", "status", "overrides", "error"])
    rank = {s: i for i, s in enumerate(JOB_STATUS_ORDER)}
    order = frame["status"].map(lambda s: rank.get(s, 0))
    return frame.assign(_rank=order).sort_values(["_rank", "job"]).drop(columns="_rank")


def status_html(run_dir: Path, fits: pd.DataFrame | None) -> str:
    """Jobs by state, then the fits that are not ok (failed, diverged, not converged first)."""
    parts = []
    jobs = job_statuses(run_dir)
    if len(jobs):
        counts = jobs["status"].value_counts()
        line = ", ".join(f"{n} {s}" for s, n in counts.items())
        css = "good" if set(counts.index) == {"complete"} else "bad"
        parts.append(f'<p class="{css}">jobs: {_esc(line)}</p>')
        bad = jobs[jobs["status"] != "complete"]
        if len(bad):
            parts.append(html_table(bad, row_class="status"))
    if fits is not None and len(fits) and "status" in fits.columns:
        counts = fits["status"].value_counts()
        ordered = [s for s in STATUS_ORDER if s in counts] + [
            s for s in counts.index if s not in STATUS_ORDER
        ]
        line = ", ".join(f"{counts[s]} {s}" for s in ordered)
        css = "good" if ordered == ["ok"] else "bad"
        parts.append(f'<p class="{css}">fits: {_esc(line)}</p>')
        bad = fits[fits["status"] != "ok"]
        if len(bad):
            rank = {s: i for i, s in enumerate(STATUS_ORDER)}
            bad = bad.assign(_rank=bad["status"].map(lambda s: rank.get(s, -1)))
            columns = ["status", "dataset", "model", "alpha_ratio", "seed", "message"]
            bad = bad.sort_values(["_rank", "dataset", "model", "alpha_ratio"])
            parts.append(html_table(bad[[c for c in columns if c in bad.columns]], "status"))
    return "".join(parts) or '<p class="note">no jobs and no fits in this run</p>'


def nearest_ratios(fits: pd.DataFrame, ratios: Sequence[float] = SUMMARY_RATIOS) -> pd.DataFrame:
    """Per (dataset, model, variant), the fits at the grid points nearest ``ratios`` (exact
    ratio kept), picked as the terminal summary picks them (:mod:`sparsity_lab.gridpoints`).

    Several seeds are averaged; the ``seeds`` column says over how many.
    """
    keep = [c for c in ZERO_COLUMNS if c in fits.columns]
    by = fit_groups(fits)
    rows = []
    for key, part in fits.groupby(by, sort=True):
        grid = part["alpha_ratio"].unique()
        for ratio in ratios:
            nearest = nearest_point(grid, ratio)
            at = part[part["alpha_ratio"] == nearest]
            row = dict(zip(by, key, strict=True)) | {"alpha_ratio": nearest}
            row["p"] = int(at["n_features"].max()) if "n_features" in at else None
            for column in keep:
                row[column] = float(at[column].mean())
            row["seeds"] = int(at["seed"].nunique())
            rows.append(row)
    frame = pd.DataFrame(rows).drop_duplicates(subset=[*by, "alpha_ratio"])
    if "variant" in frame and not frame["variant"].astype(bool).any():
        frame = frame.drop(columns="variant")  # every model at its config's defaults, as summary
    if "n_zero_certified" in frame.columns:
        # neither proved by the gap-safe test nor a tie on the KKT boundary (which no test decides)
        ties = frame["n_zero_boundary"] if "n_zero_boundary" in frame.columns else 0
        frame["unproved"] = frame["n_zero"] - frame["n_zero_certified"] - ties
    return frame


def zeros_html(fits: pd.DataFrame | None) -> str:
    if fits is not None and "alpha_ratio" in fits.columns:
        fits = fits[fits["alpha_ratio"].notna()]  # paths over k: in the summary's own table
    if fits is None or fits.empty or "n_zero" not in fits.columns:
        return '<p class="note">no fits with zero counts in this run</p>'
    frame = nearest_ratios(fits.dropna(subset=["n_zero"]))
    totals = fits.groupby(fit_groups(fits), sort=True)[
        [c for c in ZERO_COLUMNS if c in fits.columns]
    ].sum()
    if "variant" in totals.index.names and not any(totals.index.get_level_values("variant")):
        totals = totals.droplevel("variant")
    note = (
        "<p>exact zeros (coef == 0.0), the exact zeros the gap-safe test proves are zeros of the "
        "optimum (certified), the exact zeros on the KKT boundary (ties, which no certificate "
        "can decide), those neither certified nor ties (unproved), and tiny coefficients "
        "(0 &lt; |coef| &le; zero_tol), at the grid "
        "points nearest alpha/alpha_max = 1, 0.1, 0.01, 0.001 (the exact ratio is shown; counts "
        "are means over the seeds column).</p>"
    )
    total_note = "<h3>Over the whole grid (sums over alphas and seeds)</h3>"
    return note + html_table(frame) + total_note + html_table(totals.reset_index())


def study_tables_html(run_dir: Path) -> str:
    """Every table of the run beside fits and coefs (the study's own and its summary); a table
    without rows (``notes`` when the loaders changed nothing) is left out."""
    parts = []
    for file in sorted(run_dir.glob("*.parquet")):
        if file.name in (results.FITS_FILE, results.COEFS_FILE):
            continue
        try:
            frame = pd.read_parquet(file)
        except Exception as exc:  # one unreadable table must not cost the whole page
            parts.append(f'<p class="bad">{_esc(file.name)}: unreadable ({_esc(exc)})</p>')
            continue
        if frame.empty:
            continue
        frame = frame.drop(columns="study", errors="ignore")
        parts.append(f"<h3>{_esc(file.stem)} <span class='note'>({len(frame)} rows)</span></h3>")
        if len(frame) > FOLD_ROWS:
            parts.append(f"<details><summary>show the table</summary>{html_table(frame)}</details>")
        else:
            parts.append(html_table(frame))
    return "".join(parts) or '<p class="note">this run has no study tables</p>'


def summary_lines(fits: pd.DataFrame | None, tables: dict[str, pd.DataFrame]) -> str:
    """The end-of-run summary the terminal showed, as preformatted text."""
    from sparsity_lab.summary import summary_text

    text = summary_text({"fits": fits if fits is not None else pd.DataFrame(), **tables})
    return f"<pre>{_esc(text.strip())}</pre>" if text.strip() else ""


#: What the figures from the coefs table read (shown above the figures when one is drawn).
COEF_FIGURES_NOTE = (
    "The coefficient figures read the coefs table in parts, never whole: each coefficient "
    "path figure only the rows it draws (the largest features, by |coef| anywhere along the "
    "path, of the smallest seed: its title says how many of how many), each histogram counts "
    "accumulated over every coefficient batch by batch."
)


def figures_html(figures: Sequence[tuple[str, bytes | None, str | None]]) -> str:
    parts, skipped = [], []
    if any(stem.startswith("coef_") and png is not None for stem, png, _ in figures):
        parts.append(f'<p class="note">{_esc(COEF_FIGURES_NOTE)}</p>')
    for stem, png, reason in figures:
        if png is None:
            skipped.append(f"<li><code>{_esc(stem)}</code>: {_esc(reason)}</li>")
            continue
        parts.append(f"<figure>{_img(png, stem)}<figcaption>{_esc(stem)}</figcaption></figure>")
    if skipped:
        parts.append(f"<h3>Figures not drawn</h3><ul>{''.join(skipped)}</ul>")
    return "".join(parts) or '<p class="note">no figure</p>'


def render_figures(
    run_dir: Path, out: Path | None = None, n_jobs: int | None = None, drawn: Path | None = None
):
    """(stem, PNG bytes or None, reason) for every figure of the run, drawn by
    ``make_figures`` (``n_jobs`` processes, ``REPORT_DPI``; ``drawn``: PNGs drawn while the jobs
    ran, used where their inputs are the run's) into ``out`` (default: a temporary folder)."""
    return _render(run_dir, out, n_jobs, drawn)[0]


def _render(run_dir: Path, out: Path | None, n_jobs: int | None, drawn: Path | None):
    """:func:`render_figures`'s figures, and how many were copied from ``drawn``."""
    with tempfile.TemporaryDirectory() as tmp:
        written, skipped, n_early = figure_files(run_dir, Path(out or tmp), n_jobs, drawn)
        figures = _figure_list(written, skipped)
    return figures, n_early


def figure_files(
    run_dir: Path, out: Path, n_jobs: int | None, drawn: Path | None
) -> tuple[list[Path], list[tuple[str, str]], int]:
    """The report's figures written into ``out`` by ``make_figures`` (PNG, ``REPORT_DPI``):
    (the files, (stem, reason) of each figure skipped, how many were copied from ``drawn``)."""
    from sparsity_lab.figures.make import EARLY_NOTE, make_figures

    lines: list[str] = []
    written = make_figures(
        run_dir, out=out, formats=("png",), log=lines.append, n_jobs=n_jobs, dpi=REPORT_DPI,
        drawn=drawn,
    )  # fmt: skip
    skipped = [
        tuple(line.removeprefix("skipped ").partition(": ")[::2])
        for line in lines
        if line.startswith("skipped ")
    ]
    return written, skipped, sum(line.endswith(EARLY_NOTE) for line in lines)


def _figure_list(written: Sequence[Path], skipped: Sequence[tuple[str, str]]):
    """(stem, PNG bytes or None, reason): the files' bytes, then the figures skipped."""
    return [(p.stem, p.read_bytes(), None) for p in written] + [
        (stem, None, reason) for stem, reason in skipped
    ]


def _read_run(run_dir: Path):
    """The fits and the study's tables; not the coefs (millions of rows in a large run): the
    page shows them only through the figures, which read the rows they draw."""
    fits = None
    if (run_dir / results.FITS_FILE).is_file():
        fits = results.read_fits(run_dir)
    tables = {}
    for file in sorted(run_dir.glob("*.parquet")):
        if file.name not in (results.FITS_FILE, results.COEFS_FILE):
            tables[file.stem] = pd.read_parquet(file)
    return fits, tables


def write_report(
    run_dir: Path | str,
    out: Path | str | None = None,
    figures: Sequence[tuple[str, bytes | None, str | None]] | None = None,
    n_jobs: int | None = None,
) -> Path:
    """Write the run's self-contained ``report.html``.

    Parameters
    ----------
    run_dir : path
        A run dir (``results/<study>/<run id>``).
    out : path, optional
        The file to write; default ``<run_dir>/report.html``.
    figures : sequence of (stem, PNG bytes or None, reason), optional
        Figures already drawn (see :func:`render_figures`); default: draw them now.
    n_jobs : int, optional
        Processes drawing the figures (see :func:`sparsity_lab.figures.make_figures`).

    Returns
    -------
    Path
        The page written.

    Raises
    ------
    ResultsError
        ``run_dir`` is not a run dir.
    """
    run_dir = results.resolve_run(run_dir)
    if not run_dir.is_dir():
        raise results.ResultsError(f"{run_dir}: no such directory")
    info = results.read_json_or_empty(run_dir / results.RUN_FILE)
    if not info and not results.job_dirs(run_dir) and not any(run_dir.glob("*.parquet")):
        raise results.ResultsError(f"{run_dir}: not a run dir (no run.json, jobs or tables)")
    fits, tables = _read_run(run_dir)
    if figures is None:
        figures = render_figures(run_dir, n_jobs=n_jobs)
    study = info.get("study", run_dir.parent.name)
    sections = [
        ("provenance", "Provenance", provenance_html(info)),
        ("status", "Status", status_html(run_dir, fits)),
        ("summary", "Summary", summary_lines(fits, tables) + study_tables_html(run_dir)),
        ("zeros", "Exact vs certified zeros", zeros_html(fits)),
        ("figures", "Figures", figures_html(figures)),
    ]
    path = Path(out) if out is not None else run_dir / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(f"sparsity-lab: {study} / {run_dir.name}", sections), encoding="utf-8")
    return path


def report_enabled(run_dir: Path) -> bool:
    """Whether ``run`` writes figures and the report at its end: the config key ``report``
    (default true; ``report=false`` for large sweeps), unless the environment variable
    ``SPARSITY_LAB_REPORT`` (a boolean: ``0`` or ``1``, ``false``, ``yes``, ...; empty is
    unset) says otherwise. Both read as YAML booleans (:func:`sparsity_lab.paths.yaml_bool`),
    which the pre-launch check enforces: ``report=no`` is false."""
    import os

    from sparsity_lab.paths import yaml_bool

    forced = os.environ.get("SPARSITY_LAB_REPORT")
    if forced:
        return yaml_bool(forced, "SPARSITY_LAB_REPORT")
    from omegaconf import OmegaConf

    for job in results.job_dirs(run_dir):
        config = job / ".hydra" / "config.yaml"
        if config.is_file():
            return yaml_bool(OmegaConf.load(config).get("report", True), "report")
    return True


def write_run_figures_and_report(
    run_dir: Path | str, drawn: Path | None = None
) -> tuple[Path, int, int]:
    """What ``run`` does at its end: the figures (PNG) into ``<run>/figures`` and the report
    (``drawn``: the folder of figures drawn while the jobs ran, :mod:`sparsity_lab.early`).

    Returns
    -------
    path : Path
        The report written.
    n_figures : int
        Figures written.
    n_early : int
        Of them, those drawn while the jobs ran (copied from ``drawn``).
    """
    run_dir = Path(run_dir)
    written, skipped, n_early = figure_files(run_dir, run_dir / schema.FIGURES_DIR, None, drawn)
    figures = _figure_list(written, skipped)
    return write_report(run_dir, figures=figures), len(written), n_early


def write_comparison_report(
    a: Path | str,
    b: Path | str,
    verdict: Sequence[str],
    tables: Sequence[tuple[str, pd.DataFrame]],
    figures: Sequence[tuple[str, bytes | None, str | None]],
    rows: pd.DataFrame,
    out: Path | str,
) -> Path:
    """A comparison page, differences first: the verdict, A and B in one figure, the tables of
    what differs, every compared row (folded), and both runs' provenance.

    Parameters
    ----------
    a, b : path
        The two sides as given to ``compare`` (run dirs or table files).
    verdict : sequence of str
        The verdict's lines as ``compare`` prints them (the first one is the answer).
    tables : sequence of (title, DataFrame)
        What differs, as ``compare`` shows it (per dataset and model, the rows that differ, the
        rows on one side only); an empty table is said so.
    figures : sequence of (stem, PNG bytes or None, reason)
        The A-vs-B figures (or why one could not be drawn).
    rows : DataFrame
        Every compared row as ``compare --all`` shows it.
    out : path
        The file to write.
    """
    head, *rest = verdict
    body = f"<p><b>{_esc(head)}</b></p>"
    if rest:
        body += "<p>" + "<br>".join(_esc(line.strip()) for line in rest) + "</p>"
    sections = [("verdict", "Verdict", body)]
    sections.append(("figures", "A and B", figures_html(figures)))
    parts = []
    for title, frame in tables:
        table = html_table(frame) if len(frame) else '<p class="note">none</p>'
        parts.append(f"<h3>{_esc(title)}</h3>{table}")
    sections.append(("differences", "What differs", "".join(parts)))
    folded = f"<details><summary>show the {len(rows)} rows</summary>{html_table(rows)}</details>"
    sections.append(("rows", "Every compared row", folded))
    for side, path in (("A", results.resolve_run(a)), ("B", results.resolve_run(b))):
        body = f"<p><code>{_esc(path)}</code></p>"
        if path.is_dir():
            body += provenance_html(results.read_json_or_empty(path / results.RUN_FILE))
        sections.append((f"side-{side}", f"Run {side}", body))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    title = f"sparsity-lab compare: {Path(a).name} vs {Path(b).name}"
    path.write_text(page(title, sections), encoding="utf-8")
    return path


def cli_main(argv: list[str], log: Callable[[str], None] = print) -> int:
    """``sparsity-lab report RUN [--out FILE] [--jobs N]``: 0 when written, 2 on bad input."""
    import argparse
    import sys

    from sparsity_lab.figures.cli import add_jobs_argument

    parser = argparse.ArgumentParser(
        prog="sparsity-lab report",
        description="Write one self-contained HTML page of a run: provenance, status, summary "
        "tables, exact-vs-certified zeros and every figure (images embedded, no network).",
    )
    parser.add_argument("run", metavar="RUN", help="run dir, e.g. results/quickstart/<run id>")
    parser.add_argument("--out", default=None, help="output file (default: RUN/report.html)")
    add_jobs_argument(parser)
    args = parser.parse_args(argv)
    try:
        run_dir = results.resolve_run(args.run)
        if args.out or run_dir.is_dir():  # else write_report says what RUN is not
            results.check_output_file(args.out or run_dir / "report.html", "--out")
        path = write_report(args.run, out=args.out, n_jobs=args.jobs)
    except ValueError as exc:  # ResultsError included
        print(f"sparsity-lab report: error: {exc}", file=sys.stderr)
        return 2
    log(f"report: {path}")
    return 0
