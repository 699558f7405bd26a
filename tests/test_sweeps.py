"""Sweeps that scale and survive: launchers, resume after a kill, damaged job files, failed jobs,
progress, and the sweep expansion checked against what Hydra itself launches."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, results_line, run_cli
from sparsity_lab import cli, paths, results, sweep

TINY = ["dataset.n_samples=150", "dataset.n_features=12", "dataset.n_informative=3", "grid.num=4"]
# about one second of coordinate descent per job on this machine, so a kill lands mid-sweep;
# n * p is above sweep.CHECK_MAX_ELEMENTS, so the pre-launch check does not generate it
SLOW_JOB = ["dataset.n_samples=10000", "dataset.n_features=500", "grid.num=50"]


def _sorted_fits(run_dir: Path) -> pd.DataFrame:
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    fits = fits.drop(columns=list(results.TIMING_COLUMNS), errors="ignore")
    return fits.sort_values(list(results.FIT_KEY)).reset_index(drop=True)


def _record_mtimes(run_dir: Path) -> dict[str, int]:
    return {
        d.name: (d / results.JOB_FILE).stat().st_mtime_ns
        for d in results.job_dirs(run_dir)
        if results.job_status(d) == "complete"
    }


@pytest.mark.parametrize(
    "launcher",
    # both run in CI only (14 s; `make test` stays under 5 minutes on a fresh clone); the local
    # launcher's run_job and worker handling are tested in-process in test_launcher.py
    [pytest.param("joblib", marks=pytest.mark.slow), pytest.param("local", marks=pytest.mark.slow)],
)
def test_two_workers_and_sequential_give_identical_tables(tmp_path, launcher):
    # four compositions: the local launcher's two processes compose them side by side first
    sweep_args = ["-m", "model=lasso,ridge,elasticnet,sgd_prox", "seed=0,1", *TINY]
    # sequential: Hydra's own basic launcher and run_job (the suite's default is its local one)
    basic = ["hydra/launcher=basic"]
    seq = tmp_path / results_line(run_cli(["run", *sweep_args, *basic], cwd=tmp_path).stdout)
    par_args = [*sweep_args, f"hydra/launcher={launcher}", "hydra.launcher.n_jobs=2"]
    par = tmp_path / results_line(run_cli(["run", *par_args], cwd=tmp_path).stdout)
    assert seq != par
    # the default run_id (a cached resolver) is the same in every worker: one run dir, all jobs
    assert [d.name for d in results.job_dirs(par)] == [f"{i:04d}" for i in range(8)]
    for job in results.job_dirs(par):
        hydra_cfg = yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())
        assert Path(hydra_cfg["hydra"]["runtime"]["output_dir"]).parent.parent == par.resolve()
    pd.testing.assert_frame_equal(_sorted_fits(seq), _sorted_fits(par))
    assert len(_sorted_fits(par)) == 4 * 2 * 4
    for a, b in zip(results.job_dirs(seq), results.job_dirs(par), strict=True):
        config = Path(".hydra", "config.yaml")
        assert (a / config).read_text() == (b / config).read_text()
    # 2 workers: each worker's BLAS pools hold at most its share of the cores
    share = max(1, (os.cpu_count() or 1) // 2)
    for job in results.job_dirs(par):
        threads = results.read_json(job / results.JOB_FILE)["blas_threads"]
        assert threads is None or threads <= share


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_kill_9_mid_sweep_then_rerun_computes_only_the_rest(tmp_path):
    args = ["run", "-m", "model=lasso", "seed=0,1,2,3,4,5", "run_id=killed", *SLOW_JOB]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparsity_lab.cli", *args], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    run_dir = tmp_path / "results" / "adhoc" / "killed"
    deadline = time.time() + 120
    while len(_record_mtimes(run_dir)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    # collect while the sweep is still running: complete jobs only, each once
    live = results.collect(run_dir)["fits"]
    assert proc.poll() is None, "the sweep ended before the kill"
    assert len(live) >= 2 * 50 and len(live) % 50 == 0
    assert not live.duplicated(list(results.FIT_KEY)).any()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = _record_mtimes(run_dir)
    assert 2 <= len(done_before) < 6, "the kill did not land mid-sweep"
    # the job the killed sweep was running reads as abandoned, not running forever
    statuses = [results.job_status(d) for d in results.job_dirs(run_dir)]
    assert "running" not in statuses and statuses.count("abandoned") <= 1, statuses
    # collect on the killed run: only complete jobs, each once
    partial = results.collect(run_dir)["fits"]
    assert sorted(partial["seed"].unique()) == sorted(int(n) for n in done_before)

    rerun = run_cli([*args, "verbose=true"], cwd=tmp_path)  # verbose: per-job lines shown
    assert results_line(rerun.stdout) == Path("results/adhoc/killed")
    assert {k: v for k, v in _record_mtimes(run_dir).items() if k in done_before} == done_before
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    assert not fits.duplicated(list(results.FIT_KEY)).any()
    assert sorted(fits["seed"].unique()) == [0, 1, 2, 3, 4, 5]
    assert len(fits) == 6 * 50
    assert rerun.stdout.count("complete already, skipped") == len(done_before)


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_two_sweeps_into_one_run_id_compute_each_job_once(tmp_path):
    # verbose: the per-job "running in another sweep" line is shown
    args = ["run", "-m", "model=lasso", "seed=0,1,2,3", "run_id=shared", "verbose=true", *SLOW_JOB]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "sparsity_lab.cli", *args], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    # started together: the sweep that falls behind skips what the other completed and
    # waits for the job the other runs
    first, second = start(), start()
    run_dir = tmp_path / "results" / "adhoc" / "shared"
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "running in another sweep" in "".join(outputs), outputs
    for job in results.job_dirs(run_dir):  # one fit of the path per job, by one of the sweeps
        assert (job / "job.log").read_text().count("alphas from") == 1, job.name
        assert results.job_status(job) == "complete"
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    assert len(fits) == 4 * 50 and not fits.duplicated(list(results.FIT_KEY)).any()


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_damaged_job_files_are_detected_recomputed_and_never_collected(tmp_path):
    args = ["run", "-m", "model=lasso", "seed=0,1,2", "run_id=r", *TINY]
    run_dir = tmp_path / results_line(run_cli(args, cwd=tmp_path).stdout)
    jobs = results.job_dirs(run_dir)
    fits0 = jobs[0] / results.FITS_FILE
    fits0.write_bytes(fits0.read_bytes()[: fits0.stat().st_size // 2])  # truncated table
    (jobs[1] / results.JOB_FILE).write_text('{"status": "compl')  # truncated record
    coefs2 = jobs[2] / results.COEFS_FILE  # one flipped byte inside a page: the footer survives
    data = bytearray(coefs2.read_bytes())
    data[40] ^= 0xFF
    coefs2.write_bytes(bytes(data))
    assert [results.job_status(j) for j in jobs] == ["corrupt"] * 3

    proc = run_cli(["collect", str(run_dir)], cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "3 corrupt" in proc.stdout
    assert "kept its last run-level tables" in proc.stderr  # not replaced by empty ones
    assert results.read_json(run_dir / results.RUN_FILE)["incomplete_jobs"] == [
        "0000", "0001", "0002"
    ]  # fmt: skip

    rerun = run_cli(args, cwd=tmp_path)
    assert "complete already" not in rerun.stdout
    assert [results.job_status(j) for j in jobs] == ["complete"] * 3
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    assert len(fits) == 3 * 4 and not fits.duplicated(list(results.FIT_KEY)).any()


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_a_failed_job_still_gets_the_run_collected_and_a_nonzero_exit(tmp_path):
    # n_informative > n_features on a dataset too large for the pre-launch check: the job fails
    args = ["run", "-m", "dataset.n_informative=3,200", "dataset.n_samples=20001",
            "grid.num=3", "run_id=f"]  # fmt: skip
    first = run_cli(args, cwd=tmp_path, check=False)
    assert first.returncode == 1
    run_dir = tmp_path / results_line(first.stdout)
    assert "1 of 2 job(s) not complete (0001)" in first.stderr and "n_informative" in first.stderr
    assert "Traceback" not in first.stderr
    fits = pd.read_parquet(run_dir / results.FITS_FILE)
    assert len(fits) == 3 and (fits["n_features"] == 100).all()
    record = results.read_json(run_dir / "jobs" / "0001" / results.JOB_FILE)
    assert record["status"] == "failed" and "n_informative" in record["error"]
    # resume: the complete job is kept, the failed one is run again
    before = _record_mtimes(run_dir)
    again = run_cli([*args, "verbose=true"], cwd=tmp_path, check=False)
    assert again.returncode == 1 and again.stdout.count("complete already, skipped") == 1
    assert _record_mtimes(run_dir) == before


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_a_smaller_sweep_into_the_same_run_id_does_not_collect_the_old_extra_jobs(tmp_path):
    small = ["dataset.n_samples=60", "dataset.n_features=8", "dataset.n_informative=2"]
    run_cli(["run", "-m", "seed=0,1,2", "grid.num=3", "run_id=grow", *small], cwd=tmp_path)
    proc = run_cli(["run", "-m", "seed=1,2", "grid.num=3", "run_id=grow", *small], cwd=tmp_path)
    run_dir = tmp_path / results_line(proc.stdout)
    fits = pd.read_parquet(run_dir / "fits.parquet")
    # jobs 0 and 1 now hold seeds 1 and 2; job 2 (seed 2 of the first sweep) is stale
    assert sorted(fits["seed"].unique()) == [1, 2]
    assert not fits.duplicated(list(results.FIT_KEY)).any() and len(fits) == 2 * 3
    info = json.loads((run_dir / results.RUN_FILE).read_text())
    assert info["stale_jobs"] == ["0002"]
    # run.json keeps the history of the sweeps that wrote the run; the top level is the latest
    assert [s["overrides"][0] for s in info["sweeps"]] == ["seed=0,1,2", "seed=1,2"]
    assert [s["n_jobs"] for s in info["sweeps"]] == [3, 2]
    assert all(s["start"] <= s["end"] for s in info["sweeps"])
    assert info["sweeps"][0]["end"] <= info["sweeps"][1]["start"]
    assert info["command"][1:3] == ["-m", "seed=1,2"]
    assert info["start"] == info["sweeps"][0]["start"]


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_two_runs_started_in_the_same_second_get_distinct_run_dirs(tmp_path, monkeypatch):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2024, 1, 2, 3, 4, 5)

    monkeypatch.setattr(paths, "datetime", Frozen)
    ids = {paths.new_run_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("20240102-030405-") for i in ids)
    monkeypatch.undo()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "sparsity_lab.cli", "run", "dataset=prostate", "grid.num=2"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    dirs = {results_line(p.communicate(timeout=120)[0]) for p in procs}
    assert len(dirs) == 2 and all((tmp_path / d / results.FITS_FILE).is_file() for d in dirs)


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_the_sweep_launched_is_hydras_basic_sweep(tmp_path, compose_cfg):
    # an experiment's sweeper params merge with the command line, which wins for a shared key
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    argv = ["experiment=quickstart", "model=lasso,ridge", "grid.num=3"]
    params = compose_cfg(["experiment=quickstart"]).hydra.sweeper.params
    lines = [f"{k}={v}" for k, v in params.items()] + argv
    hydras = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(lines), None)
    run_dir = tmp_path / results_line(run_cli(["run", *argv], cwd=tmp_path).stdout)
    launched = [
        yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        for job in results.job_dirs(run_dir)
    ]
    assert launched == hydras[0] and len(launched) == 4
    assert yaml.safe_load((run_dir / "multirun.yaml").read_text())["study"] == "quickstart"


def test_hydra_flags_launch_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--cfg", "job", "model=ridge"]) == 0
    assert "_target_: sparsity_lab.models.Ridge" in capsys.readouterr().out
    assert cli.main(["run", "--help"]) == 0
    assert not (tmp_path / "results").exists()
    # a config that does not compose is one line, also under --cfg
    assert cli.main(["run", "--cfg", "job", "dataset=nope"]) == 2
    assert capsys.readouterr().err.startswith("error: dataset=nope: unknown; allowed: block")


def test_progress_counts_job_records_and_is_quiet_off_a_terminal(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARSITY_LAB_PROGRESS", raising=False)
    for name, status in [("0000", "complete"), ("0001", "failed"), ("0002", "running")]:
        (tmp_path / "jobs" / name).mkdir(parents=True)
        (tmp_path / "jobs" / name / results.JOB_FILE).write_text(json.dumps({"status": status}))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    progress = sweep.Progress(4, lambda: tmp_path, stream=Terminal())
    progress.started -= 10  # the records above count as written during this launch
    assert progress.line().startswith("jobs 2/4 done, 1 running")
    assert "ETA 0:00:10" in progress.line()  # 2 jobs in 10 s, 2 to go
    monkeypatch.setenv("SPARSITY_LAB_PROGRESS", "1")
    shown = sweep.Progress(4, lambda: tmp_path, stream=Terminal(), interval=0.01)
    shown.started -= 10
    with shown:
        time.sleep(0.05)
    assert "jobs 2/4 done" in shown.stream.getvalue()
    monkeypatch.delenv("SPARSITY_LAB_PROGRESS")
    quiet = sweep.Progress(4, lambda: tmp_path, stream=io.StringIO(), interval=0.01)
    with quiet:
        time.sleep(0.05)
    assert quiet.stream.getvalue() == "" and not quiet.enabled


@pytest.mark.slow
def test_slurm_sweep_for_real(tmp_path):
    if shutil.which("slurmctld", path="/usr/sbin:/usr/bin") is None or os.geteuid() != 0:
        pytest.skip("needs root and the slurm-wlm and munge packages (.ci/run installs them)")
    slurm = tmp_path / "slurm"
    scripts = REPO / "tests" / "slurm"
    subprocess.run(["bash", scripts / "start.sh", slurm], check=True, timeout=60)
    try:
        os.environ["SLURM_CONF"] = str(slurm / "slurm.conf")
        os.environ["PATH"] = f"{slurm / 'bin'}{os.pathsep}{os.environ['PATH']}"
        # verbose: Hydra's launcher line, checked below, is an INFO line
        args = ["run", "-m", "hydra/launcher=slurm", "model=lasso,ridge", "seed=0,1", *TINY]
        args.append("verbose=true")
        proc = run_cli(args, cwd=tmp_path, timeout=300)
        run_dir = tmp_path / results_line(proc.stdout)
        assert "Submitit 'slurm'" in proc.stdout
        fits = pd.read_parquet(run_dir / results.FITS_FILE)
        assert len(fits) == 2 * 2 * 4 and not fits.duplicated(list(results.FIT_KEY)).any()
        # the jobs really went through SLURM: submitit's per-job folders carry SLURM job ids
        assert any((run_dir / ".submitit").iterdir())
        sequential = tmp_path / results_line(
            run_cli(["run", "-m", "model=lasso,ridge", "seed=0,1", *TINY], cwd=tmp_path).stdout
        )
        pd.testing.assert_frame_equal(_sorted_fits(run_dir), _sorted_fits(sequential))
    finally:
        os.environ.pop("SLURM_CONF", None)
        os.environ["PATH"] = os.environ["PATH"].split(os.pathsep, 1)[1]
        subprocess.run(["bash", scripts / "stop.sh", slurm], check=False, timeout=60)


def test_running_jobs_report_their_fits_to_the_progress_line(tmp_path):
    job = tmp_path / "jobs" / "0000"
    reporter = sweep.FitReporter(job, {"key": "k"}, interval=0.0)
    reporter(3, 10)
    progress = sweep.Progress(1, lambda: tmp_path, stream=io.StringIO())
    line = progress.line()
    assert "fits 3/10" in line and "1 running" in line
    reporter(10, 10)  # the last fit leaves the record to the job's final write
    assert results.read_json(job / results.JOB_FILE)["fits_done"] == 3


def test_memory_guard_uses_the_available_memory_and_max_memory_gb_overrides(
    monkeypatch, compose_cfg
):
    def check(overrides, launcher="basic"):  # basic: a single run's
        cfg = compose_cfg(overrides)
        sweep.check_job_config(cfg, set(), sweep.RunPlan(True, [overrides], launcher))

    shape = ["dataset.n_samples=2000", "dataset.n_features=20000", "grid.num=10"]
    need = sweep.estimate_job_bytes(2000, 20000, 10)
    assert need >= sweep.X_COPIES * 8 * 2000 * 20000  # X alone is 320 MB
    monkeypatch.setattr(sweep, "available_memory_bytes", lambda: need - 1)
    with pytest.raises(ValueError, match=r"needs about 1\.88 GB .* available on this machine"):
        check(shape)
    for launcher in ("local", "joblib"):
        with pytest.raises(ValueError, match="available on this machine"):
            check(shape, launcher)
    check([*shape, "max_memory_gb=4"])
    # a cluster job's memory is not this machine's: checked only against max_memory_gb
    check(shape, "slurm")
    with pytest.raises(ValueError, match="more than max_memory_gb=1"):
        check([*shape, "max_memory_gb=1"], "slurm")
    monkeypatch.setattr(sweep, "available_memory_bytes", lambda: need)
    check(shape)


@pytest.mark.slow
def test_memory_estimate_bounds_the_measured_peak(tmp_path):
    """The estimate is at least a real job's peak RSS beyond a tiny job's (this machine)."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest child's over the process's life, so each run
    # is measured from a fresh wrapper process whose only child is that run
    wrapper = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )

    def peak(args):
        command = [sys.executable, "-m", "sparsity_lab.cli", "run", "model=ridge", *args]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "SPARSITY_LAB_REPORT": "0"}
        out = subprocess.run(
            [sys.executable, "-c", wrapper, *command], cwd=tmp_path, env=env,
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return int(out.split()[-1]) * 1024

    base = peak(["dataset.n_samples=100", "dataset.n_features=10", "grid.num=2"])
    big = peak(["dataset.n_samples=2000", "dataset.n_features=5000", "grid.num=10"])
    assert big - base <= sweep.estimate_job_bytes(2000, 5000, 10)


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_loky_workers_of_a_killed_sweep_end_within_seconds_and_start_no_queued_job(tmp_path):
    args = ["run", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "model=lasso",
            "seed=0,1,2,3,4,5", "run_id=orphans", *SLOW_JOB]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparsity_lab.cli", *args], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    run_dir = tmp_path / "results" / "adhoc" / "orphans"

    def group_alive() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if any(results.job_status(d) == "running" for d in results.job_dirs(run_dir)):
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only
        proc.wait()
        started = {d.name for d in results.job_dirs(run_dir) if (d / results.JOB_FILE).exists()}
        killed = time.time()
        while group_alive() and time.time() < killed + 30:
            time.sleep(0.1)
        gone_after = time.time() - killed
        assert not group_alive(), "loky workers outlived their sweep by 30 s"
        assert gone_after < 10, gone_after  # measured: 0.5 to 2 s (the watchdog polls at 0.5 s)
        ran = {d.name for d in results.job_dirs(run_dir) if (d / results.JOB_FILE).exists()}
        # the jobs queued to the workers (joblib dispatches ahead) never start
        assert ran == started and len(ran) <= 2, (started, ran)
        # a job a worker held when it ended is not running any more: a rerun recomputes it
        assert all(results.job_status(run_dir / "jobs" / j) != "running" for j in ran)
    finally:
        if group_alive():
            os.killpg(proc.pid, signal.SIGKILL)


def test_progress_line_is_cleared_before_other_output(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSITY_LAB_PROGRESS", "1")
    (tmp_path / "jobs" / "0000").mkdir(parents=True)  # a job dir without a record: starting
    terminal = io.StringIO()  # stdout and the progress stream are one terminal
    monkeypatch.setattr(sys, "stdout", terminal)
    progress = sweep.Progress(2, lambda: tmp_path, stream=terminal, interval=0.01)
    progress.started -= 10
    with progress:
        time.sleep(0.1)
        print("a log line")
        time.sleep(0.05)
    text = terminal.getvalue()
    assert "1 starting" in text
    # the progress line is erased (\r ESC[K) right before the log line, which starts a line
    before, _, after = text.partition("a log line")
    assert before.endswith("\r\x1b[K") and "jobs 0/2 done" in after
    assert text.endswith("\n")  # the last progress line stays, on its own line


def test_the_kept_thread_pools_limit_what_threadpoolctl_finds_anew():
    """sparsity_lab.threads keeps one controller per set of loaded modules; its limits are
    threadpoolctl's own (checked with a fresh scan of the process's libraries)."""
    import types

    from threadpoolctl import threadpool_info

    from sparsity_lab.threads import thread_pools

    def blas_threads():
        return {
            p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
        }

    before = blas_threads()
    assert before  # numpy's BLAS at least
    assert thread_pools() is thread_pools()
    with thread_pools().limit(limits=1, user_api="blas"):
        assert set(blas_threads().values()) == {1}
    assert blas_threads() == before
    kept = thread_pools()
    sys.modules["_a_module_just_imported"] = types.ModuleType("_a_module_just_imported")
    try:  # a module imported (it may have loaded a library): the pools are found anew
        assert thread_pools() is not kept
    finally:
        del sys.modules["_a_module_just_imported"]
