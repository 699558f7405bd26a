"""`hydra/launcher=local`, the default: a sweep's jobs in this process (``n_jobs: 1``) or on this
machine's cores (``hydra.launcher.n_jobs=N``), never slower than sequential.

Why not only Hydra's joblib launcher: it starts ``n_jobs`` fresh loky interpreters that each
import the whole stack (about 2 s on this kind of machine) while the parent waits, sends the
Hydra context with every job and composes every job's config again in its worker, so a sweep of
small jobs runs slower on 2 workers than on one. This launcher

- composes nothing itself: each job's config comes from the composition the pre-launch check
  made (:mod:`sparsity_lab.composition`);
- works in the parent, which has imported everything already, from the first job on, and forks
  ``n_jobs - 1`` workers that start warm (the imports and the check's loaded datasets are
  inherited); parent and workers take the next job from one shared counter, so a short sweep
  ends in the parent before a worker is useful and a long one keeps every core busy;
- caps each process's BLAS/OpenMP pools at ``cpu_count // n_jobs`` threads
  (``SPARSITY_LAB_THREADS``), as joblib does for its workers.

Each job runs through :func:`run_job`, Hydra 1.3's ``run_job`` with one copy of the config
instead of four (job dir, ``.hydra/``, log, callbacks as under Hydra's basic launcher; about
30 ms less per job, a fifth of a tiny job's cost in a sweep). Without ``fork`` (Windows) the
jobs run one after another.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing as mp
import os
import pickle
import queue
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

#: Seconds between checks that the workers are alive while the parent waits for them.
POLL_SECONDS = 0.2


def n_processes(n_jobs: int, n_tasks: int) -> int:
    """Processes to use (the parent included): ``n_jobs`` (-1: one per core, -2: all but one,
    as joblib counts), at most one per job and at least one.

    Raises
    ------
    ValueError
        ``n_jobs`` is 0 or not an integer.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(
            f"hydra.launcher.n_jobs={n_jobs!r}: allowed values are integers >= 1, or -1 for "
            "every core (-2 all but one, ...)"
        )
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


@cache
def _yaml_dumper():
    """OmegaConf's YAML dumper on libyaml's C emitter when PyYAML has it (the same text as
    ``OmegaConf.to_yaml``, which emits in Python: 2.4 against 6.7 ms for a job's hydra.yaml;
    ``tests/test_launcher.py`` compares the two on every study's config)."""
    import yaml
    from omegaconf._utils import get_omega_conf_dumper

    dumper = get_omega_conf_dumper()
    if not getattr(yaml, "__with_libyaml__", False):
        return dumper
    fast = type("OmegaConfCDumper", (yaml.CDumper,), {})
    for kind, represent in dumper.yaml_representers.items():
        fast.add_representer(kind, represent)
    return fast


def to_yaml(cfg) -> str:
    """``OmegaConf.to_yaml(cfg)`` (unresolved), emitted by :func:`_yaml_dumper`."""
    import yaml
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(cfg, resolve=False, enum_to_str=True)
    return yaml.dump(
        container,
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        Dumper=_yaml_dumper(),
    )


def _save_yaml(cfg, filename: str, output_dir: Path) -> None:
    """Hydra's ``_save_config`` through :func:`to_yaml`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / filename, "w", encoding="utf-8") as file:
        file.write(to_yaml(cfg))


def _set_hydra_config(config: DictConfig) -> None:
    """``HydraConfig.instance().set_config(config)`` without its deep copy of the Hydra node
    (9 ms a job): Hydra masks a copy of ``config.hydra`` and sets the copy's parent to
    ``config``, so that interpolations resolve in the job's config; here the mask holds the
    node itself, whose parent is ``config`` already. Each job's config is its own (nothing
    changes it after its job), like the copy Hydra would make."""
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    OmegaConf.set_readonly(config.hydra, True)
    node_type = OmegaConf.get_type(config, "hydra")
    assert node_type is not None and issubclass(node_type, HydraConf)
    mask = DictConfig(content={})
    mask.__dict__["_content"]["hydra"] = config._get_node("hydra")  # shared, not copied
    HydraConfig.instance().cfg = mask


def run_job(
    hydra_context,
    task_function,
    config: DictConfig,
    job_dir_key: str,
    job_subdir_key: str | None,
    configure_logging: bool = True,
):
    """Hydra 1.3's ``hydra.core.utils.run_job``, with one copy of the config instead of four.

    Hydra deep-copies the whole job config for the task, masks a copy of the Hydra node twice
    (before and after it knows the output dir) and deep-copies that mask for the
    ``JobReturn``: four copies of a tree that takes about 10 ms to copy, a third of a tiny job's
    cost in the launcher. Here the mask holds the job's Hydra node itself
    (:func:`_set_hydra_config`) and its output dir is set once, the task's config is the deep
    copy without the Hydra node that Hydra deletes from its copy (the node is not copied), and
    the ``JobReturn`` holds the mask (nothing changes a job's config after its job). The three
    ``.hydra/*.yaml`` files are OmegaConf's text emitted by libyaml (:func:`to_yaml`). The job
    dir, the files' names and place, the job's logging, ``env_set``, ``chdir``, the callbacks
    and the restored state are Hydra's, and ``tests/test_launcher.py`` compares them with
    Hydra's ``run_job``.
    """
    from hydra import version
    from hydra._internal.deprecation_warning import deprecation_warning
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import (
        JobReturn,
        JobRuntime,
        JobStatus,
        _check_hydra_context,
        _flush_loggers,
        configure_log,
        env_override,
    )
    from omegaconf import OmegaConf, read_write

    _check_hydra_context(hydra_context)
    callbacks = hydra_context.callbacks
    old_cwd = os.getcwd()
    orig_hydra_cfg = HydraConfig.instance().cfg
    _set_hydra_config(config)  # ${hydra:...} in the output dir resolves
    output_dir = str(OmegaConf.select(config, job_dir_key))
    if job_subdir_key is not None:
        output_dir = os.path.join(output_dir, str(OmegaConf.select(config, job_subdir_key)))
    hydra_cfg = HydraConfig.instance().cfg  # holds config's own Hydra node
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = os.path.abspath(output_dir)
    _chdir = None
    try:
        ret = JobReturn()
        hydra_node = config._get_node("hydra")
        task_cfg = copy.deepcopy(config, {id(hydra_node): hydra_node})  # deleted next
        with read_write(task_cfg), open_dict(task_cfg):
            del task_cfg["hydra"]
        ret.cfg = task_cfg
        ret.hydra_cfg = hydra_cfg
        ret.overrides = OmegaConf.to_container(config.hydra.overrides.task)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        _chdir = hydra_cfg.hydra.job.chdir
        if _chdir is None and version.base_at_least("1.2"):
            _chdir = False
        if _chdir is None:
            deprecation_warning(  # Hydra's warning, shortened (version_base < 1.2 only)
                message="Future Hydra versions will no longer change working directory at job "
                "runtime by default.",
                stacklevel=2,
            )
            _chdir = True
        if _chdir:
            os.chdir(output_dir)
            ret.working_dir = output_dir
        else:
            ret.working_dir = os.getcwd()
        if configure_logging:
            configure_log(config.hydra.job_logging, config.hydra.verbose)
        if config.hydra.output_subdir is not None:
            hydra_output = Path(config.hydra.runtime.output_dir) / Path(config.hydra.output_subdir)
            _save_yaml(task_cfg, "config.yaml", hydra_output)
            _save_yaml(hydra_cfg, "hydra.yaml", hydra_output)
            _save_yaml(config.hydra.overrides.task, "overrides.yaml", hydra_output)
        with env_override(hydra_cfg.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(task_cfg)
                ret.status = JobStatus.COMPLETED
            except Exception as e:
                ret.return_value = e
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg
        if _chdir:
            os.chdir(old_cwd)


@contextmanager
def single_runs_too() -> Iterator[None]:
    """Within this block a single run (``sparsity-lab run`` without ``-m``, which Hydra runs
    without a launcher) goes through :func:`run_job` as well."""
    import hydra._internal.hydra as hydra_app

    saved = hydra_app.run_job
    hydra_app.run_job = run_job
    try:
        yield
    finally:
        hydra_app.run_job = saved


def job_cost(cfg: DictConfig) -> float:
    """A guess of a job's size for ordering: training entries (n * p) times grid points; 0 when
    unknown. n * p comes from the config (generated data) or from the pre-launch check, which
    prepared every small dataset."""
    from omegaconf import OmegaConf

    from sparsity_lab import sweep

    try:
        params = OmegaConf.to_container(cfg.dataset, resolve=True)
        size = sweep._dataset_size(params) or sweep.DATA_SIZES.get(
            sweep.dataset_ident(params, cfg.seed), 0
        )
        grid = cfg.grid
        points = grid.num if grid.get("kind") == "log" else len(grid.get("values") or [])
        return float(size) * float(points)
    except Exception:  # a guess only: a config it cannot read runs in its place
        return 0.0


class LocalRun:
    """One launch: the jobs' configs, the order they are taken in (largest first, so that a
    long job does not start last), and running job ``i`` in this process."""

    def __init__(self, hydra_context, task_function, configs: list[DictConfig]) -> None:
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.configs = configs
        costs = [job_cost(cfg) for cfg in configs]
        self.order = sorted(range(len(configs)), key=lambda i: -costs[i])

    def take(self, counter) -> int | None:
        """The next job to run (an index into ``configs``), None when all are taken."""
        k = _next(counter)
        return self.order[k] if k < len(self.order) else None

    def run(self, i: int):
        return run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=self.configs[i],
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )

    def worker(self, slot: int, counter, holding, results) -> None:
        """A forked worker: jobs from the shared counter until none is left; ``holding[slot]``
        is the job it is running (-1: none), so that the parent knows what a dead worker held."""
        while (i := self.take(counter)) is not None:
            holding[slot] = i
            try:
                ret = self.run(i)
            except Exception:  # Hydra's run_job failed outside the task (which catches its own)
                ret = _failed(self.configs[i], RuntimeError(traceback.format_exc()))
            results.put((i, _payload(ret)))
            holding[slot] = -1


def launch(launcher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list:
    """Run the batch: Hydra's ``Launcher.launch`` for :class:`LocalLauncher`."""
    from hydra.core.utils import configure_log, filter_overrides, setup_globals

    setup_globals()
    config = launcher.config
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    os.makedirs(str(config.hydra.sweep.dir), exist_ok=True)
    loader = launcher.hydra_context.config_loader
    configs = []
    for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
        cfg = loader.load_sweep_config(config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = idx
            cfg.hydra.job.num = idx
        configs.append(cfg)
    n_procs = n_processes(launcher.n_jobs, len(configs))
    if "fork" not in mp.get_all_start_methods():
        n_procs = 1
    log.info(f"Launching {len(configs)} jobs locally in {n_procs} process(es)")
    for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
    run = LocalRun(launcher.hydra_context, launcher.task_function, configs)
    with _thread_share(n_procs):
        if n_procs == 1:
            returns = [run.run(i) for i in range(len(configs))]
        else:
            returns = _run_parallel(run, n_procs - 1)
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    return returns


def _run_parallel(run: LocalRun, n_workers: int) -> list:
    ctx = mp.get_context("fork")
    counter = ctx.Value("l", 0)
    holding = ctx.Array("l", [-1] * n_workers)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=run.worker, args=(w, counter, holding, results), daemon=True)
        for w in range(n_workers)
    ]
    for w in workers:
        w.start()
    returns: list = [None] * len(run.configs)
    died: set[int] = set()

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
                    died.add(holding[w])
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
            reason = "its worker process died" if i in died else "its result never arrived"
            returns[i] = _failed(run.configs[i], RuntimeError(f"job not finished: {reason}"))
    return returns


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
        return launch(self, job_overrides, initial_job_idx)
