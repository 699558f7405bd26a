"""End to end through the `sparsity-lab` command, in a temporary working directory."""

import json

import pandas as pd
import pytest

from conftest import results_line, run_cli
from sparsity_lab import cli, results

SMALL = ["dataset.n_samples=120", "dataset.n_features=15", "dataset.n_informative=3", "grid.num=6"]


def test_multirun_collects_every_job_into_one_run_dir(tmp_path):
    sweep = ["dataset=diabetes,synthetic", "model=lasso,ridge", "seed=0,1"]
    proc = run_cli(["run", "-m", *sweep, "grid.num=5", "dataset.test_size=0.2"], cwd=tmp_path)
    run_dir = tmp_path / results_line(proc.stdout)
    assert run_dir.parent.name == "adhoc" and run_dir.parent.parent.name == "results"
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    assert tuple(fits.columns) == results.FITS_COLUMNS
    assert len(fits) == 2 * 2 * 2 * 5
    assert not fits.duplicated(list(results.FIT_KEY)).any()
    assert [d.name for d in results.job_dirs(run_dir)] == [f"{i:04d}" for i in range(8)]
    coefs = pd.read_parquet(run_dir / results.COEFS_FILE)
    assert len(coefs) == 2 * 2 * 5 * 10 + 2 * 2 * 5 * 100
    info = json.loads((run_dir / results.RUN_FILE).read_text())
    assert {"command", "overrides", "git_commit", "versions", "start", "end"} <= set(info)
    assert "exact zeros" in proc.stdout


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_single_run_and_resume_with_the_same_run_id(tmp_path):
    args = ["run", "model=lasso", "run_id=fixed", *SMALL]
    first = run_cli(args, cwd=tmp_path)
    run_dir = tmp_path / results_line(first.stdout)
    assert run_dir == tmp_path / "results" / "adhoc" / "fixed"
    job = run_dir / "jobs" / "0000"
    stamp = (job / results.FITS_FILE).stat().st_mtime_ns
    again = run_cli(args, cwd=tmp_path)
    # per-job lines go to the job's log, not to the terminal (unless verbose)
    assert "complete already, skipped" in (job / "job.log").read_text()
    assert "complete already" not in again.stdout + again.stderr
    assert (job / results.FITS_FILE).stat().st_mtime_ns == stamp
    changed = run_cli([*args, "grid.num=7"], cwd=tmp_path)  # another config: recomputed
    assert len(pd.read_parquet(tmp_path / results_line(changed.stdout) / "fits.parquet")) == 7


def test_explicit_alpha_values(tmp_path):
    proc = run_cli(["run", "grid=values", "grid.values=[0.5,0.05]", *SMALL[:3]], cwd=tmp_path)
    fits = pd.read_parquet(tmp_path / results_line(proc.stdout) / "fits.parquet")
    assert fits["alpha"].tolist() == [0.5, 0.05]


#: CI runs these; `make test` (under 5 minutes from a fresh clone) leaves them out.
SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "grid.num=0"], "grid.num"),
        # the same errors in-process: tests/test_bad_input.py; each process here costs 3 s
        pytest.param(["run", "grid=values", "grid.values=[-1]"], "grid.values", marks=SLOW),
        pytest.param(["run", "dataset.test_size=1.5"], "test_size", marks=SLOW),
        pytest.param(["run", "dataset.n_informative=500"], "n_informative", marks=SLOW),
        (["nosuchverb"], "unknown verb"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    proc = run_cli(args, cwd=tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_models_verb_lists_the_configs(tmp_path):
    out = run_cli(["models"], cwd=tmp_path).stdout
    for name in ("lasso", "ridge", "elasticnet"):
        assert name in out


@pytest.mark.parametrize("verb", ["models", "datasets"])
def test_catalogs_fit_the_terminal_width(verb, capsys, monkeypatch):
    def listing(columns: int) -> list[str]:
        monkeypatch.setenv("COLUMNS", str(columns))
        assert cli.main([verb]) == 0
        return capsys.readouterr().out.splitlines()

    wide, narrow = listing(300), listing(72)
    table = [line for line in narrow if line and not line.startswith("parameters:")]
    assert max(map(len, table)) <= 72 < max(map(len, wide))
    names = [line.split()[0] for line in wide if line][: len(table)]
    assert [line.split()[0] for line in table] == names  # the same rows, names intact
    assert any(line.rstrip().endswith("...") for line in table)


def test_collect_rebuilds_the_run_tables(tmp_path):
    run_dir = tmp_path / results_line(run_cli(["run", *SMALL], cwd=tmp_path).stdout)
    before = pd.read_parquet(run_dir / "fits.parquet")
    (run_dir / "fits.parquet").unlink()
    run_cli(["collect", str(run_dir)], cwd=tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "fits.parquet"), before)


def test_seed_toy_writes_trajectories_and_reports_the_zero_steps(tmp_path):
    proc = run_cli(["run", "experiment=seed_toy", "toy.dtypes=[float64]"], cwd=tmp_path)
    run_dir = tmp_path / results_line(proc.stdout)
    traj = pd.read_parquet(run_dir / "trajectories.parquet")
    assert {"rule", "step", "w", "dtype"} <= set(traj.columns)
    l1 = traj[traj["rule"] == "l1"].set_index("step")["w"]
    # the note's arithmetic, independent of the suite: 5 - 10 * 0.5 == 0 and sign(0) == 0
    assert l1.loc[10] == 0.0 and (l1.loc[10:] == 0.0).all() and (l1.loc[:9] > 0).all()
    assert "l1           step 10" in proc.stdout
    assert pd.read_parquet(run_dir / "fits.parquet").empty


def test_bare_run_cfg_job_prints_the_quickstart_study_a_bare_run_launches(tmp_path):
    proc = run_cli(["run", "--cfg", "job"], cwd=tmp_path)
    assert "study: quickstart" in proc.stdout.splitlines()
    proc = run_cli(["run", "--cfg", "job", "dataset=diabetes"], cwd=tmp_path)
    assert "study: adhoc" in proc.stdout.splitlines()  # the command line alone says what runs
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-m"],
        ["--cfg", "job"],
        ["results_dir=elsewhere", "run_id=first"],
        ["report=false", "verbose=true", "max_memory_gb=2"],
        ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
        ["++hydra.launcher.n_jobs=2", "hydra/job_logging=none"],
    ],
)
def test_where_results_go_and_how_jobs_run_leave_the_quickstart(args):
    assert cli.runs_default_study(args)


@pytest.mark.parametrize(
    "args",
    [
        ["dataset=diabetes"],
        ["model=lasso", "results_dir=elsewhere"],
        ["grid.num=5"],
        ["grid=values"],
        ["seed=1", "run_id=x"],
        ["experiment=l1_vs_l2"],
        ["+dataset.noise=2.0"],
        ["~dataset.test_size"],
        ["zero_tol=1e-6", "report=false"],
        ["-m", "hydra.launcher.n_jobs=2", "model=lasso,ridge"],
    ],
)
def test_what_runs_is_said_by_the_work_keys_alone(args):
    assert not cli.runs_default_study(args)


def test_settings_alone_run_the_quickstart_and_work_keys_an_adhoc_run(tmp_path):
    settings = ["results_dir=elsewhere", "run_id=r1", "report=false", "hydra.launcher.n_jobs=2"]
    proc = run_cli(["run", "--cfg", "job", *settings], cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert "study: quickstart" in lines and "results_dir: elsewhere" in lines
    proc = run_cli(["run", "--cfg", "job", *settings, "seed=3"], cwd=tmp_path)
    assert "study: adhoc" in proc.stdout.splitlines()
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "results").exists()


def test_the_quick_exit_does_what_an_exit_does_that_can_be_seen(tmp_path):
    """`exit_quickly` skips the modules' teardown only: its code, the other threads joined,
    atexit handlers run after them, logging's files and the piped stdout complete."""
    import subprocess
    import sys

    log_file = tmp_path / "job.log"
    script = f"""
import atexit, logging, sys, threading, time
from sparsity_lab.startup import exit_quickly
handler = logging.FileHandler({str(log_file)!r})
logging.getLogger("t").addHandler(handler)
logging.getLogger("t").warning("logged before the exit")
atexit.register(lambda: print("atexit handler ran", flush=False))
threading.Thread(target=lambda: (time.sleep(0.3), print("thread joined"))).start()
sys.stdout.write("x" * 200_000)  # more than a pipe's buffer, left unflushed
exit_quickly(3)
print("never printed")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith("x" * 200_000)
    assert proc.stdout[200_000:].splitlines() == ["thread joined", "atexit handler ran"]
    assert "never printed" not in proc.stdout
    assert log_file.read_text() == "logged before the exit\n"


def test_the_console_script_keeps_main_s_exit_codes_and_output(tmp_path, capsys):
    """`python -m sparsity_lab.cli` (the console script's entry) against `main` in-process."""
    assert cli.main(["datasets", "--format", "csv"]) == 0
    in_process = capsys.readouterr().out
    proc = run_cli(["datasets", "--format", "csv"], cwd=tmp_path)
    assert proc.stdout == in_process
    proc = run_cli(["no-such-verb"], cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown verb 'no-such-verb'")


def test_imports_run_with_the_collector_paused_then_frozen():
    import gc

    from sparsity_lab.startup import gc_paused

    frozen = gc.get_freeze_count()
    with gc_paused():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]  # what an import leaves alive
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(made)
    gc.disable()
    try:  # a caller that had it disabled keeps it so
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def _probe_module(tmp_path, monkeypatch, name):
    """A module that records, when imported, its thread, whether the collector ran and how many
    forked children this process had (the sweep's composers)."""
    import sys

    (tmp_path / f"{name}.py").write_text(
        "import gc, multiprocessing, threading\n"
        "RECORD = (threading.current_thread().name, gc.isenabled(),"
        " len(multiprocessing.active_children()))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_deferred_imports_happen_once_in_a_thread_with_the_collector_paused(tmp_path, monkeypatch):
    """What the console script defers is imported at the first `import_deferred`, in a thread of
    its own (a fresh Python stack) with the GC paused; later calls, and callers whose entry point
    deferred nothing (tests, notebooks), import nothing; an import error reaches the caller."""
    import gc
    import sys
    import threading

    from sparsity_lab import startup

    _probe_module(tmp_path, monkeypatch, "deferred_probe")
    monkeypatch.setattr(startup, "_DEFERRED", [])
    try:
        startup.import_deferred()  # nothing deferred: nothing happens
        assert "deferred_probe" not in sys.modules
        startup.defer_imports(["deferred_probe"])
        startup.import_deferred()
        name, collecting, _ = sys.modules["deferred_probe"].RECORD
        assert name == "sparsity-lab-imports" and name != threading.current_thread().name
        assert not collecting and gc.isenabled()
        assert startup._DEFERRED == []
        startup.import_deferred()  # once only
        startup.defer_imports(["no_such_module_deferred"])
        with pytest.raises(ModuleNotFoundError, match="no_such_module_deferred"):
            startup.import_deferred()
    finally:
        gc.unfreeze()
