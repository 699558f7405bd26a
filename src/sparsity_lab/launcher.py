"""`hydra/launcher=local`, the default: a sweep's jobs in this process (``n_jobs: 1``) or on this
machine's cores (``hydra.launcher.n_jobs=N``).

Why not only Hydra's joblib launcher: it starts ``n_jobs`` fresh loky interpreters that each
import the whole stack (about 2 s on this kind of machine) while the parent waits, sends the
Hydra context with every job and composes every job's config again in its worker, so a sweep of
small jobs runs slower on 2 workers than on one. This launcher

- composes nothing itself when the suite's sweeper hands it the configs its pre-launch check
  composed (:meth:`LocalLauncher.launch_configs`); Hydra's ``launch`` interface composes each
  job with Hydra's ``load_sweep_config``;
- works in the parent, which has imported everything already, from the first job on, and forks
  ``n_jobs - 1`` workers that start warm (the imports and the check's loaded datasets are
  inherited); parent and workers take the next job from one shared counter, so a short sweep
  ends in the parent before a worker is useful and a long one keeps every core busy;
- caps each process's BLAS/OpenMP pools at ``cpu_count // n_jobs`` threads
  (``SPARSITY_LAB_THREADS``), as joblib does for its workers.

Each job runs through Hydra's own ``hydra.core.utils.run_job``, as under Hydra's basic launcher.
Without ``fork`` (Windows) the jobs run one after another. The Hydra plugin class is
``hydra_plugins.sparsity_lab_launcher.local_launcher.LocalLauncher``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import contextmanager

from omegaconf import DictConfig, open_dict

from sparsity_lab.errors import ConfigError

log = logging.getLogger(__name__)

#: Seconds between checks that the workers are alive while the parent waits for them.
POLL_SECONDS = 0.2


def check_n_jobs(n_jobs) -> None:
    """The one check of ``hydra.launcher.n_jobs`` (this launcher's and joblib's), before launch.

    Raises
    ------
    ConfigError
        ``n_jobs`` is 0, null or not an integer.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ConfigError(
            f"hydra.launcher.n_jobs={n_jobs!r}: allowed values are integers >= 1 (processes) or "
            "<= -1 (-1 = every core, -2 = all but one, ...)"
        )


def n_processes(n_jobs: int, n_tasks: int) -> int:
    """Processes to use (the parent included): ``n_jobs`` (-1: one per core, -2: all but one,
    as joblib counts), at most one per job and at least one.

    Raises
    ------
    ConfigError
        ``n_jobs`` is not allowed (:func:`check_n_jobs`).
    """
    check_n_jobs(n_jobs)
    cores = os.cpu_count() or 1
    wanted = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
    return max(1, min(wanted, n_tasks))


@contextmanager
def _thread_share(n_procs: int):
    """Every process of the launch gets ``cpu_count // n_procs`` BLAS threads (at least 1)."""
    if n_procs == 1:
        yield
        return
    saved = os.environ.get("SPARSITY_LAB_THREADS")
    os.environ["SPARSITY_LAB_THREADS"] = str(max(1, (os.cpu_count() or 1) // n_procs))
    try:
        yield
    finally:
        if saved is None:
            del os.environ["SPARSITY_LAB_THREADS"]
        else:
            os.environ["SPARSITY_LAB_THREADS"] = saved


def _next(counter) -> int:
    with counter.get_lock():
        idx = counter.value
        counter.value += 1
    return idx


def _failed(config: DictConfig, error: BaseException):
    from hydra.core.utils import JobReturn, JobStatus

    ret = JobReturn(overrides=list(config.hydra.overrides.task), status=JobStatus.FAILED)
    ret.return_value = error
    return ret


def _payload(ret) -> bytes:
    """The job's return, pickled here (a worker's queue would drop an unpicklable one)."""
    try:
        return pickle.dumps(ret)
    except Exception as exc:  # e.g. an exception holding a lock: keep its text
        ret.return_value = RuntimeError(f"{type(exc).__name__} while returning the job: {exc}")
        return pickle.dumps(ret)


class LocalRun:
    """One launch: the jobs' configs, the order they are taken in (largest first, so that a
    long job does not start last), and running job ``i`` in this process."""

    def __init__(
        self,
        hydra_context,
        task_function,
        configs: list[DictConfig],
        costs: Sequence[float] | None = None,
    ) -> None:
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.configs = configs
        costs = [0.0] * len(configs) if costs is None else list(costs)
        self.order = sorted(range(len(configs)), key=lambda i: -costs[i])

    def take(self, counter) -> int | None:
        """The next job to run (an index into ``configs``), None when all are taken."""
        k = _next(counter)
        return self.order[k] if k < len(self.order) else None

    def run(self, i: int):
        from hydra.core.utils import run_job

        return run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=self.configs[i],
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )

    def worker(self, slot: int, counter, holding, results, parent: int) -> None:
        """A forked worker: jobs from the shared counter until none is left; ``holding[slot]``
        is the job it is running (-1: none), so that the parent knows what a dead worker held.
        It ends, mid-job too, within a poll interval of its parent's death (``kill -9`` of
        `run`): a queued job never starts without the sweep that collects it."""
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
        while os.getppid() == parent and (i := self.take(counter)) is not None:
            holding[slot] = i
            try:
                ret = self.run(i)
            except Exception:  # Hydra's run_job failed outside the task (which catches its own)
                ret = _failed(self.configs[i], RuntimeError(traceback.format_exc()))
            results.put((i, _payload(ret)))
            holding[slot] = -1


def _exit_with(parent: int) -> None:
    """In a forked worker: end the process as soon as ``parent`` is no longer its parent."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(1)


def launch_configs(
    launcher,
    configs: list[DictConfig],
    initial_job_idx: int,
    costs: Sequence[float] | None,
    on_lost: Callable[[DictConfig, str], None] | None = None,
) -> list:
    """Run the jobs whose configs are composed already (``load_sweep_config``), numbered from
    ``initial_job_idx`` in Hydra's order, the costliest first."""
    from hydra.core.utils import configure_log, filter_overrides, setup_globals

    setup_globals()
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    os.makedirs(str(config.hydra.sweep.dir), exist_ok=True)
    for idx, cfg in enumerate(configs, start=initial_job_idx):
        with open_dict(cfg):
            cfg.hydra.job.id = idx
            cfg.hydra.job.num = idx
    n_procs = n_processes(launcher.n_jobs, len(configs))
    if "fork" not in mp.get_all_start_methods():
        n_procs = 1
    log.info(f"Launching {len(configs)} jobs locally in {n_procs} process(es)")
    for idx, cfg in enumerate(configs, start=initial_job_idx):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(cfg.hydra.overrides.task))}")
    run = LocalRun(launcher.hydra_context, launcher.task_function, configs, costs)
    with _thread_share(n_procs):
        if n_procs == 1:
            returns = [run.run(i) for i in range(len(configs))]
        else:
            returns = _run_parallel(run, n_procs - 1, on_lost)
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    return returns


def _run_parallel(
    run: LocalRun, n_workers: int, on_lost: Callable[[DictConfig, str], None] | None = None
) -> list:
    """The jobs of ``run`` in this process and ``n_workers`` forked workers; a job whose worker
    died (killed, out of memory) returns failed with the reason, given to ``on_lost(config,
    reason)`` too (the suite records it in the job's record)."""
    ctx = mp.get_context("fork")
    counter = ctx.Value("l", 0)
    holding = ctx.Array("l", [-1] * n_workers)
    results = ctx.Queue()
    args = (counter, holding, results, os.getpid())
    workers = [
        ctx.Process(target=run.worker, args=(w, *args), daemon=True) for w in range(n_workers)
    ]
    for w in workers:
        w.start()
    returns: list = [None] * len(run.configs)
    died: dict[int, int | None] = {}  # job -> its worker's exit code

    def drain(block: bool) -> bool:
        try:
            i, payload = results.get(timeout=POLL_SECONDS) if block else results.get_nowait()
        except queue.Empty:
            return False
        returns[i] = pickle.loads(payload)
        return True

    try:
        while (i := run.take(counter)) is not None:
            returns[i] = run.run(i)
            while drain(block=False):
                pass
        while any(r is None for r in returns):
            if drain(block=True):
                continue
            for w, proc in enumerate(workers):
                if not proc.is_alive() and holding[w] >= 0:
                    died[holding[w]] = proc.exitcode
                    holding[w] = -1
            if not any(proc.is_alive() for proc in workers):
                while drain(block=False):
                    pass
                break
    finally:
        for proc in workers:
            proc.join(timeout=None if all(r is not None for r in returns) else 0)
            if proc.is_alive():
                proc.terminate()
    for i, ret in enumerate(returns):  # a worker that died (killed, out of memory) mid-job
        if ret is None:
            reason = _death(died[i]) if i in died else "its result never arrived"
            returns[i] = _failed(run.configs[i], RuntimeError(f"job not finished: {reason}"))
            if on_lost is not None:
                on_lost(run.configs[i], f"job not finished: {reason}")
    return returns


def _death(exitcode: int | None) -> str:
    """Why a worker ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"its worker process died ({name})"
    return f"its worker process died (exit code {exitcode})"


class LocalLauncher:
    """Mixed into the Hydra plugin class of ``hydra_plugins.sparsity_lab_launcher``."""

    def __init__(self, n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function = None
        self.hydra_context = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list:
        """Hydra's launcher interface: compose each job's config (Hydra's
        ``load_sweep_config``), then :meth:`launch_configs`."""
        loader = self.hydra_context.config_loader
        configs = [loader.load_sweep_config(self.config, list(job)) for job in job_overrides]
        return self.launch_configs(configs, initial_job_idx)

    def launch_configs(
        self,
        configs: list[DictConfig],
        initial_job_idx: int,
        costs: Sequence[float] | None = None,
        on_lost: Callable[[DictConfig, str], None] | None = None,
    ) -> list:
        """The jobs of ``configs``, composed already (by the suite's sweeper, which checked
        them); ``costs`` orders them, the costliest first (default: Hydra's order);
        ``on_lost(config, reason)`` hears of a job whose worker died."""
        return launch_configs(self, configs, initial_job_idx, costs, on_lost)
