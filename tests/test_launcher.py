"""The suite's local launcher: parent and forked workers share the jobs; a worker that dies
costs only its job."""

from __future__ import annotations

import os
import time

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from sparsity_lab import launcher, sweep
from sparsity_lab.errors import ConfigError


class FakeRun(launcher.LocalRun):
    """Jobs of 0.2 s that return (job, pid); a worker dies on the first job it takes."""

    def __init__(self, n: int, die_in_worker: bool = False) -> None:
        configs = [
            OmegaConf.create({"hydra": {"overrides": {"task": [f"seed={i}"]}}}) for i in range(n)
        ]
        super().__init__(None, None, configs)
        self.order = list(range(n))
        self.parent = os.getpid()
        self.die_in_worker = die_in_worker

    def run(self, i: int):
        if self.die_in_worker and os.getpid() != self.parent:
            os._exit(9)
        time.sleep(0.2)
        return JobReturn(status=JobStatus.COMPLETED, _return_value=(i, os.getpid()))


def test_parent_and_worker_share_the_jobs_in_order_of_the_results():
    returns = launcher._run_parallel(FakeRun(8), n_workers=1)
    values = [r.return_value for r in returns]
    assert [i for i, _ in values] == list(range(8))
    pids = {pid for _, pid in values}
    assert os.getpid() in pids and len(pids) == 2  # both worked


def test_a_dead_worker_fails_only_the_job_it_held():
    returns = launcher._run_parallel(FakeRun(6, die_in_worker=True), n_workers=1)
    failed = [i for i, r in enumerate(returns) if r.status == JobStatus.FAILED]
    assert len(failed) == 1
    assert "worker process died" in str(returns[failed[0]]._return_value)
    assert returns[failed[0]].overrides == [f"seed={failed[0]}"]
    assert all(r.return_value[1] == os.getpid() for i, r in enumerate(returns) if i not in failed)


def test_largest_jobs_are_taken_first(compose_cfg, monkeypatch):
    from sparsity_lab.sweeper import job_cost

    monkeypatch.setattr(sweep, "DATA_SIZES", {})
    sizes = [(100, 10), (2000, 1000), (300, 50), (2000, 1000)]
    configs = [
        compose_cfg([f"dataset.n_samples={n}", f"dataset.n_features={p}", "grid.num=5"])
        for n, p in sizes
    ]
    configs.append(compose_cfg(["dataset=diabetes", "grid=values", "grid.values=[1,2]"]))
    assert job_cost(configs[1]) == 2000 * 1000 * 5
    assert job_cost(configs[4]) == 0  # diabetes, not prepared by a check here
    run = launcher.LocalRun(None, None, configs, [job_cost(c) for c in configs])
    assert run.order == [1, 3, 2, 0, 4]  # ties keep the job order
    assert launcher.LocalRun(None, None, configs).order == [0, 1, 2, 3, 4]  # no costs: Hydra's
    # what the pre-launch check prepared counts: diabetes' training set, 2 alphas
    sweep.check_job_config(configs[4], set())
    assert job_cost(configs[4]) == 332 * 10 * 2  # 442 rows, 110 held out


def test_n_processes():
    cores = os.cpu_count() or 1
    assert launcher.n_processes(2, 20) == 2
    assert launcher.n_processes(4, 3) == 3  # never more processes than jobs
    assert launcher.n_processes(-1, 100) == cores
    assert launcher.n_processes(-2, 100) == max(1, cores - 1)
    for bad in (0, 1.5, "2", True, None):
        with pytest.raises(ConfigError, match=r"hydra\.launcher\.n_jobs=.*allowed values"):
            launcher.n_processes(bad, 4)


def test_a_fork_while_the_progress_thread_draws_gets_a_free_lock(tmp_path, monkeypatch):
    """The local launcher forks while the progress line may be drawing: the child must not
    inherit its lock held (its first print would block forever)."""
    import io
    import sys
    import threading

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("SPARSITY_LAB_PROGRESS", "1")
    progress = sweep.Progress(1, lambda: None, stream=Terminal(), interval=60)
    with progress:
        drawing = threading.Event()

        def draw_slowly():  # the progress thread in the middle of a redraw
            with progress.lock:
                drawing.set()
                time.sleep(0.3)

        thread = threading.Thread(target=draw_slowly)
        thread.start()
        drawing.wait()
        pid = os.fork()
        if pid == 0:  # the child prints through the progress stream, then ends
            print("child", file=sys.stderr)
            os._exit(0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child blocked on the progress lock")
        thread.join()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# a job of a few seconds (the exact Lasso path on 3000 x 600 correlated features), so that a
# worker is caught mid-job
SLOW_JOBS = [
    "-m", "hydra.launcher.n_jobs=2", "run_id=r", "report=false", "model=lasso",
    "dataset.n_samples=3000", "dataset.n_features=600", "dataset.rho=0.9", "grid.num=60",
]  # fmt: skip


def _start_run(tmp_path, seeds: int):
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "SPARSITY_LAB_REPORT": "0"}
    argv = [sys.executable, "-m", "sparsity_lab.cli", "run", *SLOW_JOBS]
    argv.append("seed=" + ",".join(map(str, range(seeds))))
    return subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _job_in_a_worker(tmp_path, parent: int, timeout: float = 180):
    """(job dir, worker pid) of a job a forked worker is running, once one is."""
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in sorted((tmp_path / "results" / "adhoc" / "r" / "jobs").glob("*/job.json")):
            try:
                info = json.loads(record.read_text())
            except (OSError, ValueError):
                continue
            if info.get("status") == "running" and info.get("pid") not in (None, parent):
                return record.parent, info["pid"]
        time.sleep(0.05)
    raise AssertionError("no job ran in a worker")


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has ended
    except FileNotFoundError:
        return True


@pytest.mark.slow  # real processes and signals: 20 to 60 s
def test_a_killed_worker_fails_only_its_job_and_the_run_is_collected(tmp_path):
    import json
    import signal

    import pandas as pd

    proc = _start_run(tmp_path, seeds=4)
    job_dir, worker = _job_in_a_worker(tmp_path, proc.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    record = json.loads((job_dir / "job.json").read_text())
    assert record["status"] == "failed"
    assert record["error"] == "job not finished: its worker process died (SIGKILL)"
    assert f"job {job_dir.name}: job not finished: its worker process died (SIGKILL)" in err
    run_dir = job_dir.parents[1]
    others = [d for d in sorted((run_dir / "jobs").iterdir()) if d != job_dir]
    assert [json.loads((d / "job.json").read_text())["status"] for d in others] == ["complete"] * 3
    fits = pd.read_parquet(run_dir / "fits.parquet")  # job i is seed=i
    assert sorted(fits["seed"].unique()) == [int(d.name) for d in others]
    assert out.strip().splitlines()[-1] == "results: results/adhoc/r"


@pytest.mark.slow  # real processes and signals: 10 to 40 s
def test_after_kill_9_of_run_its_workers_end_and_start_nothing(tmp_path):
    import signal

    proc = _start_run(tmp_path, seeds=8)
    _, worker = _job_in_a_worker(tmp_path, proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 5
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(worker), "the worker outlived its sweep by more than 5 s"
    jobs = tmp_path / "results" / "adhoc" / "r" / "jobs"
    started = sorted(jobs.iterdir())
    time.sleep(2)
    assert sorted(jobs.iterdir()) == started and len(started) < 8


def test_n_jobs_null_is_one_line_and_leaves_no_run_dir(tmp_path, monkeypatch, capsys):
    from sparsity_lab import cli

    monkeypatch.chdir(tmp_path)
    args = ["run", "-m", "hydra.launcher.n_jobs=null", "seed=0,1", "dataset=diabetes"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: hydra.launcher.n_jobs=None: allowed values are integers >= 1 (processes) or "
        "<= -1 (-1 = every core, -2 = all but one, ...)\n"
    )
    assert not (tmp_path / "results").exists()
