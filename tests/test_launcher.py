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
