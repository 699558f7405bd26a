"""Sweeps: check every job's config before launching, then show progress while they run.

The suite's sweeper (:mod:`sparsity_lab.sweeper`) and, for a single run, the Hydra callback
(:mod:`sparsity_lab.callbacks`) call :func:`check_job_config` on every job's composed config,
so that bad input stops before any job starts with one line naming the field and the allowed
values.

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

import errno
import json
import math
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
from sparsity_lab.errors import ConfigError, UserError
from sparsity_lab.paths import yaml_bool
from sparsity_lab.startup import import_deferred
from sparsity_lab.threads import thread_pools

#: Datasets up to this many entries in X are loaded and prepared by the pre-launch check.
CHECK_MAX_ELEMENTS = 2_000_000
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


def omegaconf_line(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if exc.__class__.__name__ == "MissingMandatoryValue" and key:
        return f"{key} is missing: give {key}=<value> on the command line"
    return f"{key}: {first}" if key and key not in first else first


#: Hydra's output dirs, which the suite derives from results_dir, study and run_id: a run is
#: read back (collect, resume, report) from <results_dir>/<study>/<run_id>/jobs/NNNN.
RUN_DIR_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweep.subdir")


def check_run_dir_overrides(overrides: list[str]) -> None:
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
def check_launcher(primary: DictConfig) -> None:
    """The launcher's own values that fail only once it starts (``n_jobs``: the suite's local
    launcher and Hydra's joblib)."""
    from sparsity_lab.launcher import check_n_jobs

    if "n_jobs" in primary.hydra.launcher:
        check_n_jobs(primary.hydra.launcher.n_jobs)


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

    import_deferred()  # the console script's path job modules (startup.py)
    from sparsity_lab import studies
    from sparsity_lab.datasets.base import check_test_size
    from sparsity_lab.errors import ConfigError
    from sparsity_lab.regularization import alpha_max
    from sparsity_lab.runner import check_alpha_max, check_config, grid_alphas, load_prepared

    missing = sorted(task_missing_keys(cfg))
    if missing:
        raise SweepConfigError(f"{missing[0]} is missing: give {missing[0]}=<value>")
    study = studies.get(cfg.get("task", "path"))
    check_path_components(cfg)
    check_job(cfg, checked, plan)
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
    check_grid(cfg, plan.launcher if plan is not None else "basic")
    grid_alphas(cfg.grid, 1.0)  # the grid's one check (regularization.log_grid_ratios)
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
    check_loaded_memory(cfg, plan.launcher if plan is not None else "basic", prep)
    amax = alpha_max(prep.X_train, prep.y_train - prep.y_train.mean(), centred=True)
    check_alpha_max(name, amax, prep.y_train, cfg.grid)
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


#: The progress lines being shown in this process (the fork handlers below hold their locks).
_SHOWN: list[Progress] = []


def _hold_locks_for_fork() -> None:
    for progress in _SHOWN:
        progress.lock.acquire()


def _release_locks_after_fork() -> None:
    for progress in reversed(_SHOWN):
        progress.lock.release()


def _release_locks_in_child() -> None:
    """A forked worker gets the locks free and shows no progress of its own."""
    _release_locks_after_fork()
    _SHOWN.clear()


# a fork (the local launcher's workers) never happens while the progress thread holds its lock:
# the child would inherit it held and block on its first print
os.register_at_fork(
    before=_hold_locks_for_fork,
    after_in_parent=_release_locks_after_fork,
    after_in_child=_release_locks_in_child,
)


class Progress:
    """Jobs done / total of a run, with an ETA, redrawn on one terminal line.

    It watches the jobs' records (``job.json``), so it works for every launcher: jobs in this
    process, in joblib workers or on SLURM nodes. Jobs whose dir exists but whose record does
    not yet say ``running`` (a worker still importing, a SLURM task starting) count as starting.
    Quiet when the stream is not a terminal. While it is shown, anything written to
    ``sys.stdout`` or ``sys.stderr`` first clears the progress line, so log lines never share it.

    Parameters
    ----------
    total : int or callable
        Number of jobs the run launches (or a callable returning it, once the run started).
    run_dir : callable
        Returns the run dir once known (the run's start names it), else None; nothing is drawn
        before (a command that launches nothing, e.g. ``--cfg``, shows no progress).
    stream : text stream, default sys.stderr
    interval : float
        Seconds between redraws.
    """

    def __init__(self, total: int | Callable[[], int], run_dir: Callable[[], Path | None],
                 stream=None, interval: float = 1.0) -> None:  # fmt: skip
        self._total = total
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

    @property
    def total(self) -> int:
        return self._total() if callable(self._total) else self._total

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
        total = self.total
        self._best = done = min(max(done, self._best), total)
        elapsed = time.time() - self.started
        left = total - done
        eta = _clock(elapsed / fresh * left) if fresh and left else ("0:00:00" if not left else "?")
        if total == 1 and self.fits and not done:  # one job: its fits tell the ETA
            fits_done, fits_total = map(int, self.fits[0].split("/"))
            if fits_done:
                eta = _clock(elapsed * (fits_total - fits_done) / fits_done)
        fits = f" (fits {', '.join(self.fits[:4])})" if self.fits else ""
        starting = f", {self.starting} starting" if self.starting else ""
        return (
            f"jobs {done}/{total} done, {running} running{fits}{starting}, "
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
            if self.run_dir() is not None:
                self._draw()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._saved = (sys.stdout, sys.stderr)
            sys.stdout = _ClearingStream(sys.stdout, self)
            sys.stderr = _ClearingStream(sys.stderr, self)
            self._thread = threading.Thread(target=self._loop, daemon=True)
            _SHOWN.append(self)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            _SHOWN.remove(self)
            if self._saved is not None:
                sys.stdout, sys.stderr = self._saved
            if self.run_dir() is not None:
                self._draw(end="\n")


# ------------------------------------------------ keeping a run inside results_dir
#: ``results/<study>/latest`` is the readers' name for a study's newest run.
RESERVED_RUN_IDS = ("latest",)
#: The job log Hydra writes, as config.yaml leaves it: ``jobs/<n>/job.log``.
JOB_LOG = "${hydra.runtime.output_dir}/${hydra.job.name}.log"
#: Where Hydra writes each job's composed config; `report` and `collect` read it there.
OUTPUT_SUBDIR = ".hydra"


def check_job(cfg: DictConfig, checked: set[str], plan: RunPlan | None = None) -> None:
    """Every check of this module that needs the job's config only (see the module's doc)."""
    run_dir = Path(str(cfg.results_dir)) / str(cfg.study) / str(cfg.run_id)
    if f"tree:{run_dir}" not in checked:
        checked.add(f"tree:{run_dir}")
        check_results_tree(cfg)
    check_booleans(cfg)
    check_max_memory_gb(cfg)
    check_hydra_outputs(cfg)
    check_distinct_jobs(cfg, plan)


def check_booleans(cfg: DictConfig) -> None:
    """``report`` and ``verbose`` (and $SPARSITY_LAB_REPORT) are booleans: ``report=no`` must
    not write a report because the word is not empty."""
    for key in ("report", "verbose"):
        if key in cfg:
            yaml_bool(cfg.get(key), key)
    forced = os.environ.get("SPARSITY_LAB_REPORT")
    if forced:  # empty: unset
        yaml_bool(forced, "SPARSITY_LAB_REPORT")


def check_hydra_outputs(cfg: DictConfig) -> None:
    """Hydra writes each job's config to ``jobs/<n>/.hydra`` and its log to ``jobs/<n>/job.log``:
    settings that would put them elsewhere (outside ``results_dir``, or where `report` does
    not find ``report=false``) are refused."""
    from omegaconf import OmegaConf

    hydra = cfg.get("hydra")
    if hydra is None:  # a job's own config (Hydra removed its node): nothing of Hydra's to check
        return
    if hydra.get("output_subdir") != OUTPUT_SUBDIR:
        raise ConfigError(
            f"hydra.output_subdir={hydra.get('output_subdir')!r}: not settable; each job's "
            f"config is written to jobs/<n>/{OUTPUT_SUBDIR}, where `report` and `collect` read it"
        )
    name = str(hydra.job.get("name"))
    if not PATH_COMPONENT.fullmatch(name) or name in (".", ".."):
        raise ConfigError(
            f"hydra.job.name={name!r}: allowed values are one file name of letters, digits, "
            "'.', '_' and '-' (the job log is jobs/<n>/<name>.log)"
        )
    for section in ("job_logging", "hydra_logging"):
        handlers = OmegaConf.to_container(hydra.get(section) or {}, resolve=False)
        for handler, settings in (handlers.get("handlers") or {}).items():
            filename = settings.get("filename") if isinstance(settings, dict) else None
            if filename is not None and filename != JOB_LOG:
                raise ConfigError(
                    f"hydra.{section}.handlers.{handler}.filename={filename!r}: not settable; "
                    "each job logs to jobs/<n>/job.log inside the run dir"
                )


def _name_max(folder: Path) -> int:
    """The longest file name the file system of ``folder`` (or its nearest existing ancestor)
    allows (255 where unknown)."""
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_results_tree(cfg: DictConfig) -> None:
    """The run dir ``<results_dir>/<study>/<run_id>`` can hold a run and everything it writes
    stays under ``results_dir``: ``results_dir`` is not empty (that would be the file system's
    root for Hydra) and resolves; ``run_id`` is not a reserved name and fits the file system;
    no symbolic link inside the results tree (the study's folder, the run dir and anything in
    it: a link would make the run write where it points); an existing run's ``jobs``, job dirs
    and their ``.hydra`` are folders and its ``run.json`` a file. ``results_dir`` itself may be
    a link (a results root on another disk)."""
    results_dir, study, run_id = str(cfg.results_dir), str(cfg.study), str(cfg.run_id)
    if not results_dir.strip():
        raise ConfigError(
            "results_dir='': allowed values are a folder path (default: results, relative to "
            "the working directory)"
        )
    if run_id in RESERVED_RUN_IDS:
        raise ConfigError(
            f"run_id={run_id!r}: reserved (results/<study>/{run_id} names the study's newest "
            "run); choose another folder name"
        )
    root = Path(results_dir)
    limit = _name_max(root)
    for key, value in (("study", study), ("run_id", run_id)):
        if len(os.fsencode(value)) > limit:
            raise ConfigError(
                f"{key}: {len(os.fsencode(value))} characters; allowed: one folder name of at "
                f"most {limit} bytes"
            )
    run_dir = root / study / run_id
    try:
        os.stat(run_dir)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.ENOTDIR:  # a file in the path: check_writable_dir says so
            raise ConfigError(
                f"results_dir={results_dir}: {run_dir}: {exc.strerror}; allowed: a folder path"
            ) from None
    _refuse_link(results_dir, root / study, root.resolve())
    # where the run dir is when nothing under the study's folder is a link
    home = (root / study).resolve() / run_id
    _refuse_link(results_dir, run_dir, home)
    if not run_dir.is_dir():
        return
    for folder, dirs, files in os.walk(run_dir):
        for name in dirs + files:
            _refuse_link(results_dir, Path(folder) / name, home)
    jobs = run_dir / "jobs"
    folders = [jobs]  # each must be a folder when it exists
    if jobs.is_dir():
        numbered = [job for job in jobs.iterdir() if job.name.isdigit()]
        folders += numbered + [job / OUTPUT_SUBDIR for job in numbered]
    for path in folders:
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"results_dir={results_dir}: {path} is a file where the run keeps a folder; "
                "move it away or choose another run_id"
            )
    if (run_dir / "run.json").exists() and not (run_dir / "run.json").is_file():
        raise ConfigError(
            f"results_dir={results_dir}: {run_dir / 'run.json'} is not a file; move it away or "
            "choose another run_id"
        )


def _refuse_link(results_dir: str, path: Path, inside: Path) -> None:
    """A symbolic link at ``path`` that leads out of ``inside`` (or nowhere: a loop) is
    refused. Links within (submitit's ``.submitit/.submission_file_*.sh`` of a SLURM run point
    into the run dir) are harmless."""
    if not path.is_symlink():
        return
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop
        target = None
    if target is None or target == inside or not target.is_relative_to(inside):
        raise ConfigError(
            f"results_dir={results_dir}: {path} is a symbolic link (to {os.readlink(path)}); "
            "no link inside the results tree may lead out of its run (the run would write "
            "where it points): remove it or choose another run_id"
        )


def check_distinct_jobs(cfg: DictConfig, plan: RunPlan | None) -> None:
    """No two jobs of a sweep have the same job key (``-m model=lasso,lasso``): they would
    compute the same fits twice and give the tables duplicate fit keys. Records each job's key
    in ``plan.job_keys`` (``collect`` takes only records of those keys)."""
    from sparsity_lab.provenance import job_key

    if plan is None:
        return
    key = job_key(cfg)
    if key in plan.job_keys:
        first = plan.jobs[plan.job_keys.index(key)]
        this = plan.jobs[len(plan.job_keys)] if len(plan.job_keys) < len(plan.jobs) else []
        raise ConfigError(
            f"jobs {plan.job_keys.index(key):04d} ({' '.join(first)}) and "
            f"{len(plan.job_keys):04d} ({' '.join(this)}) are the same job: their fits would "
            "repeat; allowed: distinct values in a sweep"
        )
    plan.job_keys.append(key)


def check_distinct_alphas(cfg: DictConfig) -> None:
    """``grid=values``: each alpha once (a repeated alpha gives two rows of one fit key)."""
    grid = cfg.get("grid")
    if grid is None or grid.get("kind") != "values":
        return
    try:
        values = [float(v) for v in grid.get("values") or ()]
    except (TypeError, ValueError):  # not numbers: `regularization.grid_alphas` says so
        return
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        from sparsity_lab.regularization import GridError

        raise GridError(
            f"grid.values: {repeated[0]:g} appears {values.count(repeated[0])} times; allowed: "
            "distinct alphas (each is one row per model and seed)"
        )


def check_max_memory_gb(cfg: DictConfig) -> float | None:
    """``max_memory_gb``: a number > 0 or null (every job, whatever it fits)."""
    limit_gb = cfg.get("max_memory_gb")
    bad = isinstance(limit_gb, bool) or not isinstance(limit_gb, Real)
    if limit_gb is not None and (bad or not 0 < limit_gb < math.inf):
        raise ConfigError(f"max_memory_gb={limit_gb!r}: allowed values are numbers > 0, null")
    return limit_gb


def memory_limit(cfg: DictConfig, launcher: str) -> tuple[float, str] | None:
    """(bytes, what they are) a job may use: ``max_memory_gb`` (checked: a number > 0) or this
    machine's available memory for local launchers; None when nothing limits it."""

    limit_gb = check_max_memory_gb(cfg)
    if limit_gb is not None:
        return float(limit_gb) * 2**30, f"max_memory_gb={limit_gb}"
    if launcher not in LOCAL_LAUNCHERS:
        return None
    available = available_memory_bytes()
    if available is None:
        return None
    return available, f"{_gb(available)} available on this machine"


def n_alphas(cfg: DictConfig) -> int:
    grid = cfg.grid
    if grid.get("kind") == "log":
        num = grid.get("num")
        return int(num) if isinstance(num, Integral) and not isinstance(num, bool) else 1
    return len(grid.get("values") or ())


def check_grid(cfg: DictConfig, launcher: str) -> None:
    """A path job's grid, before it is built: distinct alphas, and not too large for memory."""
    check_distinct_alphas(cfg)
    check_grid_memory(cfg, launcher)


def check_grid_memory(cfg: DictConfig, launcher: str) -> None:
    """Before the grid is built: ``max_memory_gb`` is valid for every dataset, and a grid too
    large for any data (one sample, one feature) is refused (``grid.num=1000000000`` on a real
    dataset whose shape the config does not give)."""
    limit = memory_limit(cfg, launcher)
    if limit is None:
        return
    params = cfg.dataset
    n, p = params.get("n_samples"), params.get("n_features")
    sized = all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in (n, p))
    if sized:  # check_memory estimates it
        return
    shape = LOADED_SHAPES.get(_dataset_ident(cfg))
    if shape is not None:  # an earlier job of the sweep loaded this dataset
        _refuse_if_larger(cfg, *shape, limit, "about ")
    else:  # the dataset's shape is known once loaded: the grid alone, at n = p = 1
        _refuse_if_larger(cfg, 1, 1, limit, "at least ")


#: (rows, features) of the datasets the check loaded, by :func:`dataset_ident`.
LOADED_SHAPES: dict[str, tuple[int, int]] = {}


def _dataset_ident(cfg: DictConfig) -> str:
    from omegaconf import OmegaConf

    return dataset_ident(OmegaConf.to_container(cfg.dataset, resolve=True), cfg.seed)


def check_loaded_memory(cfg: DictConfig, launcher: str, prep) -> None:
    """Once the check loaded and prepared the dataset (``prep``, a
    :class:`~sparsity_lab.datasets.base.PreparedData`): a job of its real shape (training and
    test rows) fits in the memory limit."""
    shape = (prep.X_train.shape[0] + prep.X_test.shape[0], prep.n_features)
    LOADED_SHAPES[_dataset_ident(cfg)] = shape
    limit = memory_limit(cfg, launcher)
    if limit is not None:
        _refuse_if_larger(cfg, *shape, limit, "about ")


def _refuse_if_larger(
    cfg: DictConfig, n: int, p: int, limit: tuple[float, str], about: str
) -> None:

    k = n_alphas(cfg)
    need = estimate_job_bytes(n, p, k)
    if need > limit[0]:
        from omegaconf import OmegaConf

        name = OmegaConf.select(cfg, "hydra.runtime.choices.dataset", default="the dataset")
        shape = f"({n} x {p})" if about == "about " else "(of any shape)"
        raise ConfigError(
            f"dataset {name} {shape}, {k} alphas: a job needs {about}{_gb(need)} "
            f"(estimate), more than {limit[1]}; make the grid or the data smaller, or set "
            "max_memory_gb=<GB> to allow up to that much"
        )


#: Hydra's flags of which one command takes one (Hydra 1.3's documented command line).
_MODE_FLAGS = (
    ("run", ("-r", "--run")),
    ("multirun", ("-m", "--multirun")),
    ("cfg", ("-c", "--cfg")),
    ("info", ("-i", "--info")),
    ("shell_completion", ("-sc", "--shell-completion")),
)


def check_hydra_flags(argv: list[str], config_dir: Path) -> None:
    """Hydra's own flags, which Hydra would report with a traceback: one mode at a time
    (``--cfg job -m ...``), and for ``--cfg`` a config that composes and, with ``--resolve``,
    whose values resolve (``run_id=${oc.env:NOPE}``). ``argv`` is `run`'s command line; the
    config is composed with Hydra's public ``compose`` API."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    given = [name for name, flags in _MODE_FLAGS if any(f in argv for f in flags)]
    if len(given) > 1:
        raise ConfigError(
            f"{' and '.join('--' + g.replace('_', '-') for g in given)} cannot be combined: "
            "allowed one of --run, --multirun (-m), --cfg, --info, --shell-completion"
        )
    tree_flags = ("-cd", "--config-dir", "-cp", "--config-path", "-cn", "--config-name")
    if given != ["cfg"] or any(f in argv for f in tree_flags):
        return
    overrides = [a for a in argv if "=" in a and not a.startswith("-")]
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose("config", overrides=overrides)
        if "--resolve" in argv:  # the task's keys; Hydra's runtime values exist only once it runs
            for key in cfg:
                value = cfg[key]  # a plain value resolves as it is read
                if OmegaConf.is_config(value):
                    OmegaConf.to_container(value, resolve=True)
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc)) from None
    except OmegaConfBaseException as exc:
        raise ConfigError(omegaconf_line(exc)) from None
