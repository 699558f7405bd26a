"""Sweeps: expand and check every job before launching, then show progress while they run.

`plan_run` reproduces what Hydra will launch for a command line (the mode, an experiment's
``hydra.sweeper.params`` merged with the command line as Hydra 1.3's BasicSweeper does, and each
job's composed config) and checks every job's config, so that bad input stops before any job
starts with one line naming the field and the allowed values.

What the check covers, per job: composition (unknown group options or keys), ``task`` (the
study), ``run_id`` and ``study`` (one folder name each), that the run dir can be written,
``seed``, ``zero_tol``, the study's own parameters (its ``check``), and for every job
that fits a path (every study whose ``uses_path`` is true) the grid (``grid.num``,
``grid.min_ratio``, ``grid.values``), ``dataset.test_size``, the model's constructor and its
own parameter checks, the memory a job of the dataset's shape needs (``check_memory``), and the
dataset: its loader is called and the data prepared (split,
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
from sparsity_lab.composition import compose_in_parallel, handing_over, reuse_compositions
from sparsity_lab.errors import UserError
from sparsity_lab.threads import thread_pools

#: Datasets up to this many entries in X are loaded and prepared by the pre-launch check.
CHECK_MAX_ELEMENTS = 2_000_000
#: Hydra's own flags after which `run` does not launch jobs (help, printing configs, ...).
_NON_RUN_FLAGS = ("help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun")
#: Run dirs whose run started in this process: set by the Hydra callback, read by `run_hydra`.
#: (Here, not in cli.py: under `python -m sparsity_lab.cli` that module is loaded twice.)
STARTED_RUNS: list[Path] = []
#: Training-set entries (n * p) of the datasets the check prepared, by :func:`dataset_ident`: the
#: local launcher starts the largest jobs first.
DATA_SIZES: dict[str, int] = {}


class SweepConfigError(UserError):
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
    #: each checked job's key (`cli.job_key`), in job order: `collect` takes only these records
    job_keys: list[str] = field(default_factory=list)

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
    if text.startswith("Error parsing override"):  # e.g. a path with a space the shell split
        first = text.splitlines()[0]
        return (
            f"{first}; every argument is key=value: quote a value with spaces or special "
            "characters for the shell, e.g. 'dataset.path=my data.csv'"
        )
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
    """Yield each job's composed config, as Hydra's launcher will compose it. Under
    :func:`~sparsity_lab.composition.reuse_compositions` jobs that choose the same config-group
    options share one composition (and Hydra reuses them when it launches the jobs)."""
    for job in jobs:
        yield loader.load_sweep_config(primary, job)


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

    from sparsity_lab import checks
    from sparsity_lab.paths import register_resolvers

    register_resolvers()  # configs/config.yaml uses them
    args = get_args_parser().parse_args(argv)
    checks.check_hydra_flags(args, config_dir)
    if any(getattr(args, flag, None) for flag in _NON_RUN_FLAGS):
        return None
    if args.config_dir or args.config_path:
        return None
    with reuse_compositions():
        return _plan(args, config_dir)


def _plan(args, config_dir: Path) -> RunPlan:
    from hydra.errors import HydraException
    from hydra.types import RunMode

    config_name = args.config_name or "config"
    overrides = list(args.overrides)
    _check_run_dir_overrides(overrides)
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
        # the overrides Hydra composes with: it names the mode the command line asks for when
        # the config sets none, and MULTIRUN for `-m` over a config's RUN
        # (hydra/_internal/utils.py, _run_app); the same arguments let Hydra reuse the
        # compositions made here
        if multirun:
            mode = [] if primary.hydra.mode == RunMode.MULTIRUN else ["hydra.mode=MULTIRUN"]
            primary = loader.load_configuration(
                config_name, overrides + mode, run_mode=RunMode.MULTIRUN
            )
            jobs = expand_sweep(primary, loader)
            processes = _local_processes(primary, len(jobs))
        else:
            mode = [] if primary.hydra.mode is not None else ["hydra.mode=RUN"]
            jobs, processes = [overrides], 1
        plan = RunPlan(
            multirun=multirun,
            jobs=jobs,
            launcher=str(primary.hydra.runtime.choices.get("hydra/launcher", "basic")),
        )
        _check_launcher(primary)
        checked: set[str] = set()
        # forked workers compose the jobs' configs while this process imports what the check
        # needs (about 2 s), then checks the jobs in order as their configs arrive;
        # handing_over: each job's config, as checked, is the one Hydra launches
        parallel = compose_in_parallel(
            primary, jobs, loader, processes, meanwhile=_import_job_modules
        )
        with parallel, handing_over():
            if multirun:
                configs = _job_configs(primary, jobs, loader)
            else:
                configs = iter(
                    [loader.load_configuration(config_name, overrides + mode, RunMode.RUN)]
                )
            for cfg in configs:
                check_job_config(cfg, checked, plan)
    except HydraException as exc:
        raise SweepConfigError(hydra_error_line(exc, allowed_keys)) from None
    except OmegaConfBaseException as exc:
        raise SweepConfigError(_omegaconf_line(exc)) from None
    return plan


def _import_job_modules() -> None:
    """Import the modules the check and the jobs use (scikit-learn, the solvers), with the
    garbage collector paused (:func:`sparsity_lab.startup.gc_paused`)."""
    from sparsity_lab.startup import gc_paused

    with gc_paused():
        import sparsity_lab.runner  # noqa: F401


def _local_processes(primary: DictConfig, n_jobs_in_sweep: int) -> int:
    """The processes ``hydra/launcher=local`` will use for this sweep (1 for other launchers or
    a bad ``n_jobs``, which the check reports): they may compose the job configs too."""
    from sparsity_lab.launcher import n_processes

    if primary.hydra.runtime.choices.get("hydra/launcher") != "local":
        return 1
    try:
        return n_processes(primary.hydra.launcher.n_jobs, n_jobs_in_sweep)
    except ValueError:
        return 1


#: Hydra's output dirs, which the suite derives from results_dir, study and run_id: a run is
#: read back (collect, resume, report) from <results_dir>/<study>/<run_id>/jobs/NNNN.
RUN_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir")


def _check_run_dir_overrides(overrides: list[str]) -> None:
    """An override of Hydra's output dirs would scatter the jobs where the run never looks."""
    from sparsity_lab.errors import ConfigError

    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if "=" in override and key in RUN_DIR_KEYS:
            raise ConfigError(
                f"{key}: not settable; a run's dir is <results_dir>/<study>/<run_id> with its "
                "jobs in jobs/NNNN: set results_dir=, study= or run_id= instead"
            )


# ------------------------------------------------------------------ checking one job's config
def _check_launcher(primary: DictConfig) -> None:
    """The launcher's own values that fail only once it starts (joblib's ``n_jobs``)."""
    from sparsity_lab.errors import ConfigError

    if "n_jobs" not in primary.hydra.launcher:
        return
    n_jobs = primary.hydra.launcher.n_jobs
    bad = isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0
    if n_jobs is not None and bad:
        raise ConfigError(
            f"hydra.launcher.n_jobs={n_jobs!r}: allowed values are integers >= 1 (workers) or "
            "<= -1 (-1 = every core, -2 = all but one, ...)"
        )


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
            raise ConfigError(_model_error_line(str(exc))) from None


def _model_error_line(text: str) -> str:
    """An estimator's parameter error as ``model.<key>=<value>: ...`` (scikit-learn says: The
    'tol' parameter of Lasso must be a float in the range [0.0, inf). Got -1 instead.)"""
    message = text.strip().splitlines()[0] if text.strip() else "invalid parameter"
    sklearn = re.match(r"The '(\w+)' parameter of \w+ must be (.*)\. Got (.*) instead\.$", message)
    if sklearn:
        key, allowed, got = sklearn.groups()
        return f"model.{key}={got}: allowed values are {allowed}"
    return message if message.startswith("model") else f"model.{message}"


#: A run id or study name: one folder name of these characters (not '.' or '..').
PATH_COMPONENT = re.compile(r"[A-Za-z0-9._-]+")


def check_path_components(cfg: DictConfig) -> None:
    """``run_id`` and ``study`` name folders under ``results_dir``: each must be one path
    component of safe characters, so a run cannot write outside its folder."""
    from sparsity_lab.errors import ConfigError

    for key in ("run_id", "study"):
        value = str(cfg.get(key))
        if not PATH_COMPONENT.fullmatch(value) or value in (".", ".."):
            raise ConfigError(
                f"{key}={value!r}: allowed values are one folder name of letters, digits, "
                "'.', '_' and '-' (not '.' or '..')"
            )


#: Peak memory of a path job beyond the interpreter's own (~240 MB), measured with
#: /usr/bin/time on Lasso and Ridge paths (n x p = 20000 x 500, 2000 x 5000, 200 x 50000; 10
#: and 50 alphas): 2.3 to 6 times X (X is n * p float64; its split and standardised copies, an
#: SVD's factors), about 150 bytes per row of the coefs table (K * p rows), and the Gram
#: matrix and its decomposition (2 * min(n, p)^2 float64). The estimate takes the worst of each.
X_COPIES = 6
BYTES_PER_COEF_ROW = 160
#: Launchers whose jobs run on this machine (their memory is this machine's).
LOCAL_LAUNCHERS = ("basic", "joblib", "local")


def estimate_job_bytes(n_samples: int, n_features: int, n_alphas: int) -> int:
    """Memory a path job of this shape needs at its peak, in bytes (a conservative estimate).

    Parameters
    ----------
    n_samples, n_features : int
        The dataset's shape (all rows, before the split).
    n_alphas : int
        Grid points K (the coefs table has K * n_features rows).
    """
    n, p = int(n_samples), int(n_features)
    return X_COPIES * 8 * n * p + BYTES_PER_COEF_ROW * int(n_alphas) * p + 2 * 8 * min(n, p) ** 2


def available_memory_bytes() -> int | None:
    """This machine's available memory (``MemAvailable`` of /proc/meminfo), None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GB"


def check_memory(cfg: DictConfig, launcher: str) -> None:
    """Refuse a path job whose estimated memory (:func:`estimate_job_bytes`) exceeds
    ``max_memory_gb`` when set, else the available memory of this machine (local launchers;
    a cluster job's memory is not this machine's, so without ``max_memory_gb`` it is not
    checked). Datasets whose shape the config does not give (real data, tables) are not
    estimated."""
    from sparsity_lab.errors import ConfigError

    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    n, p = params.get("n_samples"), params.get("n_features")
    if isinstance(n, bool) or isinstance(p, bool):
        return
    if not (isinstance(n, Integral) and isinstance(p, Integral) and n > 0 and p > 0):
        return
    grid = cfg.grid
    k = grid.get("num") if grid.get("kind") == "log" else len(grid.get("values") or ())
    need = estimate_job_bytes(n, p, int(k or 1))
    limit_gb = cfg.get("max_memory_gb")
    if limit_gb is not None:
        if isinstance(limit_gb, bool) or not isinstance(limit_gb, Real) or not limit_gb > 0:
            raise ConfigError(f"max_memory_gb={limit_gb!r}: allowed values are numbers > 0, null")
        limit, where = float(limit_gb) * 2**30, f"max_memory_gb={limit_gb}"
    elif launcher in LOCAL_LAUNCHERS:
        limit = available_memory_bytes()
        if limit is None:
            return
        where = f"{_gb(limit)} available on this machine"
    else:
        return
    if need > limit:
        raise ConfigError(
            f"dataset.n_samples={n}, dataset.n_features={p}, {k} alphas: a job needs about "
            f"{_gb(need)} (estimate), more than {where}; make the data or the grid smaller, "
            "or set max_memory_gb=<GB> to allow up to that much"
        )


def _dataset_size(params: dict) -> int | None:
    n, p = params.get("n_samples"), params.get("n_features")
    if isinstance(n, Integral) and isinstance(p, Integral):
        return int(n) * int(p)
    return None


def dataset_ident(params: dict, seed) -> str:
    """A dataset config (resolved) and seed as one string: what the check loads once."""
    return json.dumps({"dataset": params, "seed": seed}, sort_keys=True, default=str)


def task_missing_keys(cfg: DictConfig) -> set[str]:
    """``OmegaConf.missing_keys`` of the job's own keys (all but ``hydra``), read in place: a
    masked copy of them cost two thirds of the check of a job whose data is loaded already."""
    missing: set[str] = set()
    for key in cfg:
        if key == "hydra":
            continue
        if OmegaConf.is_missing(cfg, key):
            missing.add(str(key))
        elif OmegaConf.is_config(cfg[key]):
            missing |= OmegaConf.missing_keys(cfg[key])
    return missing


def check_job_config(cfg: DictConfig, checked: set[str], plan: RunPlan | None = None) -> None:
    """Raise the suite's one-line ValueError for the first value of ``cfg`` that is not allowed.

    ``checked`` holds the dataset configs (as JSON) already loaded and the run dirs already
    probed, so a sweep loads each distinct dataset and probes its run dir once.
    """
    import numpy as np

    from sparsity_lab import checks, studies
    from sparsity_lab.datasets.base import check_test_size
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.runner import check_alpha_max, check_config, grid_alphas, load_prepared

    missing = sorted(task_missing_keys(cfg))
    if missing:
        raise SweepConfigError(f"{missing[0]} is missing: give {missing[0]}=<value>")
    study = studies.get(cfg.get("task", "path"))
    check_path_components(cfg)
    checks.check_job(cfg, checked, plan)
    run_dir = Path(str(cfg.results_dir)) / str(cfg.study) / str(cfg.run_id)
    if str(run_dir) not in checked:
        checked.add(str(run_dir))
        try:
            results.check_writable_dir(run_dir)
        except results.ResultsError as exc:
            raise ConfigError(f"results_dir={cfg.results_dir}: {exc}") from None
    check_config(cfg)
    study.check(cfg)
    if not study.uses_path:
        return
    checks.check_grid(cfg, plan.launcher if plan is not None else "basic")
    _check_grid(cfg.grid)
    grid_alphas(cfg.grid, 1.0)
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    test_size = params.get("test_size", 0.25)
    check_test_size(test_size)
    _check_model(cfg)
    check_memory(cfg, plan.launcher if plan is not None else "basic")
    ident = dataset_ident(params, cfg.seed)
    if ident in checked:
        return
    checked.add(ident)
    size = _dataset_size(params)
    if size is not None and size > CHECK_MAX_ELEMENTS:
        if plan is not None:
            plan.n_skipped_datasets += 1
        return
    name, prep = load_prepared(cfg)
    checks.check_loaded_memory(cfg, plan.launcher if plan is not None else "basic", prep)
    amax = np.max(np.abs(prep.X_train.T @ (prep.y_train - prep.y_train.mean()))) / prep.n_samples
    check_alpha_max(name, float(amax), prep.y_train, cfg.grid)
    DATA_SIZES[ident] = prep.X_train.size
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
    with thread_pools().limit(limits=limit):
        yield


def threads_in_use() -> int | None:
    """The largest thread count among this process's BLAS/OpenMP pools (None if none; the pools
    are found once, :mod:`sparsity_lab.threads`)."""
    counts = [pool["num_threads"] for pool in thread_pools().info()]
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
        try:
            results.mark_job_running(
                self.job_dir, {**self.meta, "fits_done": done, "fits_total": total}
            )
        except OSError:  # progress is a courtesy; the job's own write reports a full disk
            pass


class _ClearingStream:
    """A text stream that first clears the progress line: log lines and prints start on a line
    of their own, and the next redraw puts the progress line back below them."""

    def __init__(self, stream, progress: Progress) -> None:
        self._stream = stream
        self._progress = progress

    def write(self, text: str) -> int:
        with self._progress.lock:
            self._progress.clear()
            return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class Progress:
    """Jobs done / total of a run, with an ETA, redrawn on one terminal line.

    It watches the jobs' records (``job.json``), so it works for every launcher: jobs in this
    process, in joblib workers or on SLURM nodes. Jobs whose dir exists but whose record does
    not yet say ``running`` (a worker still importing, a SLURM task starting) count as starting.
    Quiet when the stream is not a terminal. While it is shown, anything written to
    ``sys.stdout`` or ``sys.stderr`` first clears the progress line, so log lines never share it.

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
        self.lock = threading.RLock()
        self._drawn = False
        self._saved: tuple | None = None
        self.starting = 0

    def counts(self) -> tuple[int, int, int]:
        """(done, done in this launch, running) among the run's job records; the fits done /
        total of running jobs go to ``self.fits``, jobs without a record yet to
        ``self.starting``."""
        run_dir = self.run_dir()
        done = fresh = running = 0
        self.fits: list[str] = []
        self.starting = 0
        if run_dir is None:
            return 0, 0, 0
        for job in results.job_dirs(run_dir):
            record = job / results.JOB_FILE
            try:
                info = results.read_json(record)
                recent = record.stat().st_mtime >= self.started
            except (OSError, ValueError):
                self.starting += job.stat().st_mtime >= self.started
                continue
            status = info.get("status")
            if status == "running":
                running += 1
                if "fits_total" in info:
                    self.fits.append(f"{info['fits_done']}/{info['fits_total']}")
            elif status == "complete" or (status == "failed" and recent):
                done += 1
                fresh += recent
            elif recent:  # a record of an earlier launch rewritten now: starting again
                self.starting += 1
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
        starting = f", {self.starting} starting" if self.starting else ""
        return (
            f"jobs {done}/{self.total} done, {running} running{fits}{starting}, "
            f"{_clock(elapsed)} elapsed, ETA {eta}"
        )

    def clear(self) -> None:
        """Erase the progress line (if drawn) so that the next output starts on a clean line."""
        with self.lock:
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._drawn = False

    def _draw(self, end: str = "") -> None:
        line = self.line()
        with self.lock:
            self.stream.write("\r" + line + "\033[K" + end)
            self.stream.flush()
            self._drawn = not end

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout = _ClearingStream(sys.stdout, self)
            sys.stderr = _ClearingStream(sys.stderr, self)
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self._saved is not None:
                sys.stdout, sys.stderr = self._saved
            self._draw(end="\n")
