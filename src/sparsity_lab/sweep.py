"""Sweeps: expand and check every job before launching, then show progress while they run.

`plan_run` reproduces what Hydra will launch for a command line (the mode, an experiment's
``hydra.sweeper.params`` merged with the command line as Hydra 1.3's BasicSweeper does, and each
job's composed config) and checks every job's config, so that bad input stops before any job
starts with one line naming the field and the allowed values.

What the check covers, per job: composition (unknown group options or keys), ``task`` (the
study), ``seed``, ``zero_tol``, the study's own parameters (its ``check``), and for every job
that fits a path (every study whose ``uses_path`` is true) the grid (``grid.num``,
``grid.min_ratio``, ``grid.values``), ``dataset.test_size``, the model's constructor and its
own parameter checks, and the dataset: its loader is called and the data prepared (split,
standardisation), once per distinct dataset config, when it is small
(``n_samples * n_features <= CHECK_MAX_ELEMENTS``, real datasets included). Larger generated
datasets are checked in the job itself (a failed job, not an exit).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sparsity_lab import results

#: Datasets up to this many entries in X are loaded and prepared by the pre-launch check.
CHECK_MAX_ELEMENTS = 2_000_000
#: Hydra's own flags after which `run` does not launch jobs (help, printing configs, ...).
_NON_RUN_FLAGS = ("help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun")
#: Run dirs whose run started in this process: set by the Hydra callback, read by `run_hydra`.
#: (Here, not in cli.py: under `python -m sparsity_lab.cli` that module is loaded twice.)
STARTED_RUNS: list[Path] = []


class SweepConfigError(ValueError):
    """A command line or config that no job of the sweep may start with."""


@dataclass
class RunPlan:
    """What `sparsity-lab run` will launch.

    Attributes
    ----------
    multirun : bool
        Hydra multirun (``-m`` or an experiment's ``hydra.mode: MULTIRUN``).
    jobs : list of list of str
        Each job's overrides, in Hydra's job order (one entry for a single run).
    launcher : str
        The ``hydra/launcher`` choice (``basic``, ``joblib``, ``slurm``, ...).
    n_checked_datasets, n_skipped_datasets : int
        Distinct dataset configs loaded by the check, and those too large to load.
    """

    multirun: bool
    jobs: list[list[str]]
    launcher: str = "basic"
    n_checked_datasets: int = 0
    n_skipped_datasets: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n_jobs(self) -> int:
        return len(self.jobs)


# ------------------------------------------------------------------ Hydra's errors in one line
def hydra_error_line(exc: BaseException, allowed_keys: Callable[[str], list[str]] | None = None):
    """Hydra's multi-line composition errors as one line naming the field and what is allowed."""
    missing = getattr(exc, "missing_cfg_file", None)
    options = getattr(exc, "options", None)
    if missing and options is not None:
        group, _, name = str(missing).rpartition("/")
        return f"{group}={name}: unknown; allowed: {', '.join(options)}"
    text = str(exc).strip()
    match = re.match(r"Could not override '([^']+)'", text)
    if match:
        key = match.group(1)
        parent = key.rpartition(".")[0]
        where = f"keys of {parent}" if parent else "top-level keys"
        names = allowed_keys(parent) if allowed_keys else []
        listed = f"; allowed {where}: {', '.join(names)}" if names else ""
        return f"{key}: unknown key{listed} (add a new key with +{key}=...)"
    lines = []
    for line in text.splitlines():
        if line.startswith(("Config search path", "See https")):
            break
        if line.strip():
            lines.append(line.strip())
    return "; ".join(lines) or exc.__class__.__name__


def _omegaconf_line(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if exc.__class__.__name__ == "MissingMandatoryValue" and key:
        return f"{key} is missing: give {key}=<value> on the command line"
    return f"{key}: {first}" if key and key not in first else first


# ------------------------------------------------------------------ expanding the sweep
def _loader(config_dir: Path):
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_automatic_config_search_path

    search_path = create_automatic_config_search_path(None, None, str(config_dir))
    return ConfigLoaderImpl(config_search_path=search_path)


def expand_sweep(primary: DictConfig, loader) -> list[list[str]]:
    """Each job's overrides, as Hydra 1.3's BasicSweeper makes them: the config's
    ``hydra.sweeper.params`` first, then the command line (which wins for a repeated key)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = primary.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(primary.hydra.overrides.task)
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, None)[0]


def _job_configs(primary: DictConfig, jobs: list[list[str]], loader):
    """Yield each job's composed config. A full composition per job costs ~0.1 s, so jobs that
    choose the same config-group options share one composition and get their value overrides
    applied on a copy, which is what Hydra's composition does after merging the defaults."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create(config_loader=loader)
    bases: dict[tuple[str, ...], DictConfig] = {}
    for job in jobs:
        parsed = parser.parse_overrides(job)
        groups, values = [], []
        for o in parsed:
            is_group = loader.repository.group_exists(o.key_or_group)
            is_value = (
                o.package is None
                and not (o.is_add() or o.is_delete() or o.is_force_add())
                and (isinstance(o.value(), dict) or not is_group)
            )
            (values if is_value else groups).append(o)
        key = tuple(o.input_line for o in groups)
        if key not in bases:
            bases[key] = loader.load_sweep_config(primary, list(key))
        cfg = bases[key].copy()
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        yield cfg


def plan_run(argv: list[str], config_dir: Path) -> RunPlan | None:
    """Expand ``sparsity-lab run ARGV`` as Hydra will and check every job's config.

    Returns None when Hydra will not launch jobs (``--help``, ``--cfg``, ``--info``, ...) or
    the config tree is not the default one (``--config-dir`` / ``--config-path``).

    Raises
    ------
    ValueError
        ``SweepConfigError`` (composition), or the suite's own one-line errors (``DataError``,
        ``GridError``, ``ConfigError``) for the first job whose config is not allowed.
    """
    from hydra._internal.utils import get_args_parser
    from hydra.errors import HydraException
    from hydra.types import RunMode

    args = get_args_parser().parse_args(argv)
    if any(getattr(args, flag, None) for flag in _NON_RUN_FLAGS):
        return None
    if args.config_dir or args.config_path:
        return None
    config_name = args.config_name or "config"
    overrides = list(args.overrides)
    loader = _loader(config_dir)

    def allowed_keys(parent: str) -> list[str]:
        try:  # the group choices only: every value override may be the culprit
            kept = [o for o in overrides if "=" in o and "." not in o.split("=")[0]]
            kept = [o for o in kept if loader.repository.group_exists(o.split("=")[0])]
            cfg = loader.load_configuration(
                config_name, kept, run_mode=RunMode.MULTIRUN, validate_sweep_overrides=False
            )
            node = OmegaConf.select(cfg, parent) if parent else cfg
            return sorted(k for k in node if k != "hydra")
        except Exception:  # the listing is a courtesy; the error line stands without it
            return []

    try:
        primary = loader.load_configuration(
            config_name, overrides, run_mode=RunMode.MULTIRUN, validate_sweep_overrides=False
        )
        multirun = bool(args.multirun) or primary.hydra.mode == RunMode.MULTIRUN
        if multirun:
            primary = loader.load_configuration(config_name, overrides, run_mode=RunMode.MULTIRUN)
            jobs = expand_sweep(primary, loader)
            configs = _job_configs(primary, jobs, loader)
        else:
            jobs = [overrides]
            configs = iter([loader.load_configuration(config_name, overrides, RunMode.RUN)])
        plan = RunPlan(
            multirun=multirun,
            jobs=jobs,
            launcher=str(primary.hydra.runtime.choices.get("hydra/launcher", "basic")),
        )
        checked: set[str] = set()
        for cfg in configs:
            check_job_config(cfg, checked, plan)
    except HydraException as exc:
        raise SweepConfigError(hydra_error_line(exc, allowed_keys)) from None
    except OmegaConfBaseException as exc:
        raise SweepConfigError(_omegaconf_line(exc)) from None
    return plan


# ------------------------------------------------------------------ checking one job's config
def _check_grid(grid: DictConfig) -> None:
    from sparsity_lab.regularization import GridError

    if grid.get("kind") == "log":
        num, min_ratio = grid.get("num"), grid.get("min_ratio")
        if isinstance(num, bool) or not isinstance(num, Integral) or num < 1:
            raise GridError(f"grid.num={num!r}: allowed values are integers >= 1")
        if isinstance(min_ratio, bool) or not isinstance(min_ratio, Real):
            raise GridError(f"grid.min_ratio={min_ratio!r}: allowed values are 0 < min_ratio < 1")


def _check_model(cfg: DictConfig) -> None:
    """The estimator's constructor, then its own parameter checks (no data needed)."""
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.runner import build

    estimator = build("model", cfg.model)
    for check in ("_check_params", "_check_rule_params", "_validate_params"):
        method = getattr(estimator, check, None)
        if method is None or (
            check == "_validate_params" and not hasattr(estimator, "_parameter_constraints")
        ):
            continue
        try:
            method()
        except ValueError as exc:
            message = str(exc).strip().splitlines()[0]
            prefix = "" if message.startswith("model") else "model."
            raise ConfigError(f"{prefix}{message}") from None


def _dataset_size(params: dict) -> int | None:
    n, p = params.get("n_samples"), params.get("n_features")
    if isinstance(n, Integral) and isinstance(p, Integral):
        return int(n) * int(p)
    return None


def check_job_config(cfg: DictConfig, checked: set[str], plan: RunPlan | None = None) -> None:
    """Raise the suite's one-line ValueError for the first value of ``cfg`` that is not allowed.

    ``checked`` holds the dataset configs (as JSON) already loaded, so a sweep loads each
    distinct dataset once.
    """
    from sparsity_lab import studies
    from sparsity_lab.datasets.base import check_test_size
    from sparsity_lab.runner import check_config, grid_alphas, load_prepared

    task_keys = [k for k in cfg if k != "hydra"]
    missing = sorted(OmegaConf.missing_keys(OmegaConf.masked_copy(cfg, task_keys)))
    if missing:
        raise SweepConfigError(f"{missing[0]} is missing: give {missing[0]}=<value>")
    study = studies.get(cfg.get("task", "path"))
    check_config(cfg)
    study.check(cfg)
    if not study.uses_path:
        return
    _check_grid(cfg.grid)
    grid_alphas(cfg.grid, 1.0)
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    test_size = params.get("test_size", 0.25)
    check_test_size(test_size)
    _check_model(cfg)
    ident = json.dumps({"dataset": params, "seed": cfg.seed}, sort_keys=True, default=str)
    if ident in checked:
        return
    checked.add(ident)
    size = _dataset_size(params)
    if size is not None and size > CHECK_MAX_ELEMENTS:
        if plan is not None:
            plan.n_skipped_datasets += 1
        return
    load_prepared(cfg)
    if plan is not None:
        plan.n_checked_datasets += 1


# ------------------------------------------------------------------ inside a job
def worker_thread_limit() -> int | None:
    """BLAS/OpenMP threads one job may use: $SPARSITY_LAB_THREADS, else what the launcher set
    ($OMP_NUM_THREADS: joblib's loky workers get cpu_count // n_jobs), else SLURM's
    $SLURM_CPUS_PER_TASK; None (no limit) for a plain single run."""
    for var in ("SPARSITY_LAB_THREADS", "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


@contextmanager
def limited_threads():
    """Cap the BLAS/OpenMP pools of this process at :func:`worker_thread_limit`."""
    limit = worker_thread_limit()
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit):
        yield


def threads_in_use() -> int | None:
    """The largest thread count among this process's BLAS/OpenMP pools (None if none)."""
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info()]
    return max(counts) if counts else None


# ------------------------------------------------------------------ progress
def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_enabled(stream) -> bool:
    """On for a terminal; $SPARSITY_LAB_PROGRESS=0/1 forces it; never under pytest."""
    forced = os.environ.get("SPARSITY_LAB_PROGRESS")
    if forced in ("0", "1"):
        return forced == "1"
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class FitReporter:
    """Records fits done / total of a running job in its ``job.json``, at most once a second,
    so that `Progress` can show it whichever process or node runs the job."""

    def __init__(self, job_dir: Path, meta: dict, interval: float = 1.0) -> None:
        self.job_dir = Path(job_dir)
        self.meta = meta
        self.interval = interval
        self._last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or done == total:
            return  # the job's final record follows right after the last fit
        self._last = now
        results.mark_job_running(
            self.job_dir, {**self.meta, "fits_done": done, "fits_total": total}
        )


class Progress:
    """Jobs done / total of a run, with an ETA, redrawn on one terminal line.

    It watches the jobs' records (``job.json``), so it works for every launcher: jobs in this
    process, in joblib workers or on SLURM nodes. Quiet when the stream is not a terminal.

    Parameters
    ----------
    total : int
        Number of jobs the run launches.
    run_dir : callable
        Returns the run dir once known (Hydra names it when the run starts), else None.
    stream : text stream, default sys.stderr
    interval : float
        Seconds between redraws.
    """

    def __init__(self, total: int, run_dir: Callable[[], Path | None], stream=None,
                 interval: float = 1.0) -> None:  # fmt: skip
        self.total = total
        self.run_dir = run_dir
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.enabled = progress_enabled(self.stream)
        self.started = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._best = 0

    def counts(self) -> tuple[int, int, int]:
        """(done, done in this launch, running) among the run's job records; the fits done /
        total of running jobs go to ``self.fits``."""
        run_dir = self.run_dir()
        done = fresh = running = 0
        self.fits: list[str] = []
        if run_dir is None:
            return 0, 0, 0
        for job in results.job_dirs(run_dir):
            record = job / results.JOB_FILE
            try:
                info = results.read_json(record)
                recent = record.stat().st_mtime >= self.started
            except (OSError, ValueError):
                continue
            status = info.get("status")
            if status == "running":
                running += 1
                if "fits_total" in info:
                    self.fits.append(f"{info['fits_done']}/{info['fits_total']}")
            elif status == "complete" or (status == "failed" and recent):
                done += 1
                fresh += recent
        return done, fresh, running

    def line(self) -> str:
        done, fresh, running = self.counts()
        self._best = done = min(max(done, self._best), self.total)
        elapsed = time.time() - self.started
        left = self.total - done
        eta = _clock(elapsed / fresh * left) if fresh and left else ("0:00:00" if not left else "?")
        if self.total == 1 and self.fits and not done:  # one job: its fits tell the ETA
            fits_done, fits_total = map(int, self.fits[0].split("/"))
            if fits_done:
                eta = _clock(elapsed * (fits_total - fits_done) / fits_done)
        fits = f" (fits {', '.join(self.fits[:4])})" if self.fits else ""
        return (
            f"jobs {done}/{self.total} done, {running} running{fits}, "
            f"{_clock(elapsed)} elapsed, ETA {eta}"
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.stream.write("\r" + self.line() + "\033[K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r" + self.line() + "\033[K\n")
            self.stream.flush()
