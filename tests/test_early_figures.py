"""Figures drawn while the jobs run (early.py): what the drawer draws is the picture the
report would draw from the run's table, byte for byte; a figure drawn from other rows is never
used; the drawer starts only where a core is idle and never outlives `run`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import results_line, run_cli
from sparsity_lab import early, results
from sparsity_lab.figures.coefficients import CoefRows
from sparsity_lab.figures.make import (
    EARLY_NOTE,
    dataset_figures,
    figure_key,
    first_zero_tol,
    make_figures,
)
from sparsity_lab.report import REPORT_DPI

SWEEP = ["run", "-m", "dataset=diabetes,prostate", "model=lasso,ridge", "grid.num=5"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A finished sweep of 4 jobs, 2 per dataset (diabetes first), without its report."""
    cwd = tmp_path_factory.mktemp("early")
    return cwd / results_line(run_cli(SWEEP, cwd).stdout)


def keys(rows: CoefRows, zero_tol) -> dict[str, str]:
    found = {}
    for dataset in rows.distinct(["dataset"])["dataset"]:
        for stem, figure in dataset_figures(rows, dataset, zero_tol):
            found[stem] = figure_key(stem, figure.read(), REPORT_DPI)
    return found


def test_the_jobs_tables_give_the_keys_of_the_runs_table(run):
    zero_tol = first_zero_tol(results.read_fits(run))
    jobs = results.job_dirs(run)
    assert len(jobs) == 4
    from_run = keys(CoefRows(run), zero_tol)
    assert sorted(from_run) == [
        "coef_log10abs_histogram_diabetes", "coef_log10abs_histogram_prostate",
        "coef_paths_diabetes", "coef_paths_prostate",
    ]  # fmt: skip
    assert keys(CoefRows(jobs), zero_tol) == from_run
    # two jobs of diabetes only: other rows, other keys (both figures)
    partial = keys(CoefRows(jobs[:1]), zero_tol)
    assert all(partial[stem] != from_run[stem] for stem in partial)
    assert keys(CoefRows(jobs), 1e-3) != from_run  # the histogram draws zero_tol


def test_figure_key_follows_every_input():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"feature": ["a", "b"], "coef": [0.0, 1.5]})
    key = figure_key("s", (frame, 2), 100)
    assert figure_key("s", (frame.copy(), 2), 100) == key
    assert figure_key("t", (frame, 2), 100) != key
    assert figure_key("s", (frame, 3), 100) != key
    assert figure_key("s", (frame, 2), 150) != key
    assert figure_key("s", (frame.assign(coef=[0.0, 1.5000001]), 2), 100) != key
    assert figure_key("s", (frame.astype({"coef": "float32"}), 2), 100) != key
    assert figure_key("s", (frame.iloc[::-1], 2), 100) != key
    array = np.arange(4.0)
    assert figure_key("s", {"a": array}, 100) != figure_key("s", {"a": array[::-1]}, 100)


def test_the_drawer_draws_done_datasets_and_the_report_copies_them(run, tmp_path):
    folder = tmp_path / "drawn"
    folder.mkdir()
    drawer = early.Drawer(run, folder)
    assert drawer.step() == 2  # diabetes; prostate's last job may have more to come
    assert drawer.step() == 0  # drawn once
    assert sorted(p.name.split(".")[0] for p in folder.iterdir()) == [
        "coef_log10abs_histogram_diabetes", "coef_paths_diabetes",
    ]  # fmt: skip
    lines: list[str] = []
    with_early = make_figures(run, tmp_path / "a", ("png",), lines.append, 1, REPORT_DPI, folder)
    fresh = make_figures(run, tmp_path / "b", ("png",), lambda line: None, 1, REPORT_DPI)
    copied = sorted(Path(line.split()[1]).name for line in lines if line.endswith(EARLY_NOTE))
    assert copied == ["coef_log10abs_histogram_diabetes.png", "coef_paths_diabetes.png"]
    assert [p.name for p in with_early] == [p.name for p in fresh]
    for a, b in zip(with_early, fresh, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_a_figure_drawn_from_other_rows_is_not_used(run, tmp_path):
    # a drawer that saw diabetes's lasso job only (ridge's not yet written, say): its
    # diabetes figures are of other rows than the run's, so the report draws them again
    partial = tmp_path / "partial"
    for i, job in enumerate(results.job_dirs(run)[::2]):  # diabetes lasso, prostate lasso
        shutil.copytree(job, partial / "jobs" / f"{i:04d}")
    folder = tmp_path / "drawn"
    folder.mkdir()
    assert early.Drawer(partial, folder).step() == 2
    lines: list[str] = []
    make_figures(run, tmp_path / "out", ("png",), lines.append, 1, REPORT_DPI, folder)
    assert not any(line.endswith(EARLY_NOTE) for line in lines)


@pytest.mark.parametrize(
    ("overrides", "env", "expected"),
    [
        (["experiment=l1_vs_l2"], {}, True),
        (["-m", "seed=0,1"], {}, True),
        (["dataset=diabetes"], {}, False),  # one job: nothing is ever done before the end
        (["experiment=l1_vs_l2", "report=false"], {}, False),
        (["experiment=l1_vs_l2", "report=no"], {}, False),
        (["experiment=l1_vs_l2", "hydra.launcher.n_jobs=64"], {}, False),
        (["experiment=l1_vs_l2", "hydra/launcher=joblib"], {}, False),
        (["experiment=l1_vs_l2", "--cfg", "job"], {}, False),
        (["experiment=l1_vs_l2"], {"SPARSITY_LAB_EARLY_FIGURES": "0"}, False),
        (["experiment=l1_vs_l2"], {"SPARSITY_LAB_REPORT": "false"}, False),
    ],
)
def test_the_drawer_starts_only_where_a_core_is_idle(monkeypatch, overrides, env, expected):
    monkeypatch.delenv("SPARSITY_LAB_REPORT", raising=False)
    monkeypatch.delenv(early.ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from sparsity_lab import threads

    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    assert early.wanted(overrides) is expected
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    assert early.wanted(overrides) is False


def drawers(cwd: Path) -> list[int]:
    """Pids of the drawer processes running now in ``cwd`` (a drawer works in its run's)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            where = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue
        if b"sparsity_lab.early" in command and where == cwd:
            found.append(int(pid))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_drawer_exits_when_run_is_killed(tmp_path):
    script = (
        "from sparsity_lab import early\n"
        "import time\n"
        "drawer = early.EarlyFigures()\n"
        "drawer.start()\n"
        "drawer.watch(lambda: None)\n"
        "print(drawer.proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    pid = int(parent.stdout.readline())
    assert pid in drawers(tmp_path)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while pid in drawers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid not in drawers(tmp_path)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_run_with_its_drawer_leaves_no_process_and_no_scratch(tmp_path):
    proc = run_cli([*SWEEP, "seed=0,1"], tmp_path, env={"SPARSITY_LAB_REPORT": "1"})
    run = tmp_path / results_line(proc.stdout)
    assert "figures: " in proc.stdout
    names = {p.name for p in (run / "figures").iterdir()}
    assert {f"coef_paths_{d}.png" for d in ("diabetes", "prostate")} <= names
    assert not [name for name in names if name.startswith(early.SCRATCH_PREFIX)]
    assert not drawers(tmp_path)


def test_a_drawer_never_started_gives_no_folder(tmp_path):
    drawer = early.EarlyFigures()  # not wanted (one job, joblib, report=false, ...)
    drawer.watch(lambda: tmp_path)
    assert drawer.stop() is None
    drawer.close()
