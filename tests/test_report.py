"""The report page: self-contained HTML with provenance, status (bad first), tables, figures.

The fast tests read the HTML; the slow ones run real studies through the command line and load
each page in headless Chromium (Debian's package): no console error, every image decoded.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from conftest import results_line, run_cli
from sparsity_lab import report
from sparsity_lab.results import write_json, write_table
from sparsity_lab.summary import zero_table
from test_figures import make_tables


def tiny_png() -> bytes:
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture
def run_dir(tmp_path):
    fits, coefs = make_tables()
    fits.loc[3, ["status", "message"]] = ["diverged", "step too large"]
    fits.loc[7, ["status", "message"]] = ["not_converged", "max_iter"]
    run = tmp_path / "results" / "test" / "r1"
    write_table(fits, run / "fits.parquet")
    write_table(coefs, run / "coefs.parquet")
    write_table(pd.DataFrame({"feature": ["x0"], "entry_rank": [1]}), run / "entry_order.parquet")
    write_json({"study": "test", "run_id": "r1", "command": ["sparsity-lab", "run"]},
               run / "run.json")  # fmt: skip
    for i, status in enumerate(("complete", "failed")):
        job = run / "jobs" / f"{i:04d}"
        job.mkdir(parents=True)
        write_json({"status": status, "error": "boom" if status == "failed" else ""},
                   job / "job.json")  # fmt: skip
    return run


def test_report_is_self_contained_with_status_first(run_dir):
    png = tiny_png()
    figures = [("fig_a", png, None), ("fig_b", None, "no column x")]
    path = report.write_report(run_dir, figures=figures)
    assert path == run_dir / "report.html"
    text = path.read_text()
    # no network: no external src/href, the image is the PNG itself
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    (src,) = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert base64.b64decode(src) == png
    assert "fig_b" in text and "no column x" in text  # skipped, with the reason
    sections = [m for m in re.findall(r'<section id="([\w-]+)"', text)]
    assert sections == ["provenance", "status", "summary", "zeros", "figures"]
    status = text[text.index('id="status"') : text.index('id="summary"')]
    assert "1 failed" in status and "boom" in status
    # fits not ok listed, diverged before not converged, before any ok row
    assert status.index('class="diverged"') < status.index('class="not_converged"')
    assert 'class="ok"' not in status
    summary = text[text.index('id="summary"') : text.index('id="zeros"')]
    assert "entry_order" in summary and "mean over 2 seeds" in summary


def test_a_table_without_rows_gets_no_heading(run_dir):
    write_table(pd.DataFrame({"study": [], "dataset": [], "note": []}, dtype=str),
                run_dir / "notes.parquet")  # fmt: skip
    text = report.write_report(run_dir, figures=[]).read_text()
    summary = text[text.index('id="summary"') : text.index('id="zeros"')]
    assert "entry_order" in summary and "notes" not in summary
    write_table(pd.DataFrame({"study": ["t"], "dataset": ["d"], "note": ["dropped 2 rows"]}),
                run_dir / "notes.parquet")  # fmt: skip
    text = report.write_report(run_dir, figures=[]).read_text()
    summary = text[text.index('id="summary"') : text.index('id="zeros"')]
    assert "notes <span class='note'>(1 rows)</span>" in summary and "dropped 2 rows" in summary


def test_exact_vs_certified_table_uses_exact_grid_points(run_dir):
    fits = pd.read_parquet(run_dir / "fits.parquet")
    table = report.nearest_ratios(fits, ratios=(1.0, 0.03))
    grid = np.sort(fits["alpha_ratio"].unique())
    lasso = table[(table["dataset"] == "synthetic") & (table["model"] == "lasso")]
    # 0.03 lies between grid points: the nearest one is shown, exactly
    assert lasso["alpha_ratio"].tolist() == [1.0, grid[np.abs(grid - 0.03).argmin()]]
    at_max = fits[(fits["dataset"] == "synthetic") & (fits["model"] == "lasso")
                  & (fits["alpha_ratio"] == 1.0)]  # fmt: skip
    assert lasso["n_zero"].iloc[0] == at_max["n_zero"].mean()
    unproved = lasso["n_zero"] - lasso["n_zero_certified"] - lasso["n_zero_boundary"]
    assert (lasso["unproved"] == unproved).all()
    assert (lasso["unproved"] == 0).all()  # the exact route: every zero certified or a tie
    assert (lasso["seeds"] == 2).all()


def test_summary_names_the_seed_and_the_exact_ratios():
    fits, _ = make_tables()
    table, title = zero_table(fits[fits["seed"] == 1], ratios=(1.0, 0.1))
    assert "seed 1" in title
    grid = np.sort(fits["alpha_ratio"].unique())
    nearest = grid[np.abs(grid - 0.1).argmin()]
    assert list(table.columns) == ["dataset", "model", "p", "1", f"{nearest:.3g}"]
    table, title = zero_table(fits, ratios=(1.0,))
    assert "mean over 2 seeds" in title
    assert table["1"].str.match(r"^\d+\.\d$").all()  # one number format: one decimal


def test_report_cli_bad_input_is_one_line(tmp_path, capsys):
    assert report.cli_main([str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such directory" in err[0]
    (tmp_path / "empty").mkdir()
    assert report.cli_main([str(tmp_path / "empty")]) == 2
    assert "not a run dir" in capsys.readouterr().err


def test_report_switch(tmp_path, monkeypatch):
    run = tmp_path / "run"
    job = run / "jobs" / "0000" / ".hydra"
    job.mkdir(parents=True)
    (job / "config.yaml").write_text("report: false\n")
    monkeypatch.delenv("SPARSITY_LAB_REPORT", raising=False)
    assert report.report_enabled(run) is False
    (job / "config.yaml").write_text("seed: 0\n")
    assert report.report_enabled(run) is True  # the default
    monkeypatch.setenv("SPARSITY_LAB_REPORT", "0")
    assert report.report_enabled(run) is False


# ---------------------------------------------------------------------------- a real browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def open_in_chromium(page, tmp_path) -> tuple[str, str]:
    """Load ``page`` in headless Chromium: (dumped DOM after load, console messages)."""
    profile = f"--user-data-dir={tmp_path / 'chromium'}"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
              "--virtual-time-budget=10000", profile]  # fmt: skip
    dom = subprocess.run(
        [*common, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    console = "\n".join(line for line in dom.stderr.splitlines() if "CONSOLE" in line)
    shot = tmp_path / f"{page.parent.name}.png"
    subprocess.run(
        [*common, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=180,
    )  # fmt: skip
    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.var() > 0.001  # a rendered page, not blank
    return dom.stdout, console


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
@pytest.mark.parametrize(
    "study, overrides",
    [
        ("quickstart", ["grid.num=8"]),
        ("seed_toy", []),
        ("lars_diabetes", []),
    ],
)
def test_run_report_in_headless_chromium(tmp_path, study, overrides):
    proc = run_cli(["run", f"experiment={study}", *overrides], cwd=tmp_path,
                   env={"SPARSITY_LAB_REPORT": "1"})  # fmt: skip
    lines = proc.stdout.strip().splitlines()
    run_dir = tmp_path / results_line(proc.stdout)
    assert lines[-2] == f"report: {run_dir.relative_to(tmp_path) / 'report.html'}"
    page = run_dir / "report.html"
    n_figures = len(list((run_dir / "figures").glob("*.png")))
    assert n_figures >= 2
    dom, console = open_in_chromium(page, tmp_path)
    assert console == ""  # no console errors (nor any other message)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-images="ok"' in body, body
    assert f'data-n-images="{n_figures}"' in body
    if study == "seed_toy":
        assert (run_dir / "figures" / "penalties_l1_l2_with_subgradients.png").is_file()
    else:  # the fixed illustration belongs to seed_toy only
        assert not (run_dir / "figures" / "penalties_l1_l2_with_subgradients.png").exists()


def test_compare_report_page(run_dir, tmp_path, capsys):
    from sparsity_lab import compare

    fits = pd.read_parquet(run_dir / "fits.parquet")
    b = fits.copy()
    b.loc[0, "n_zero"] += 1
    pa = write_table(fits, tmp_path / "a.parquet")
    pb = write_table(b, tmp_path / "b.parquet")
    out = tmp_path / "cmp.html"
    assert compare.cli_main([str(pa), str(pb), "--report", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "verdict: different: 1 of 60 shared rows differ, none on one side only"
    assert printed[-1] == f"report: {out}"
    text = out.read_text()
    assert "verdict: different: 1 of 60 shared rows differ" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert text.count("<tr>") > len(fits) // 2  # the compared rows (mean over seeds)
    # differences first: the verdict, A and B in one figure, what differs, then the runs
    assert text.count("data:image/png;base64,") == 1
    assert text.index("Verdict") < text.index("A and B") < text.index("What differs")
    assert "Rows that differ (1 of 60" in text


def test_report_of_latest_run(run_dir):
    latest = run_dir.parent / "latest"  # a name the readers resolve, not a directory
    path = report.write_report(latest, figures=[("fig_a", tiny_png(), None)])
    assert path == run_dir / "report.html"
