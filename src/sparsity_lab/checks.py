"""Pre-launch checks of a job's config that keep a run inside ``results_dir`` and its tables
unambiguous: where it writes (the results tree, Hydra's output files), the booleans, the
memory of jobs on real data, and that no two jobs of a sweep compute the same thing.

`sweep.check_job_config` calls :func:`check_job` for every job of a sweep (and
:func:`check_loaded_memory` once a dataset is loaded); each check raises the suite's one-line
:class:`~sparsity_lab.errors.ConfigError` (exit 2). Only the standard library is imported at
the top: :func:`yaml_bool` serves the config tree's resolvers too.
"""

from __future__ import annotations

import errno
import math
import os
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING

from sparsity_lab.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from sparsity_lab.sweep import RunPlan

#: ``results/<study>/latest`` is the readers' name for a study's newest run.
RESERVED_RUN_IDS = ("latest",)
#: What YAML (1.1) calls a boolean, plus 1 and 0 (``SPARSITY_LAB_REPORT=0``), lower-cased.
TRUE_WORDS = ("true", "yes", "on", "y", "1")
FALSE_WORDS = ("false", "no", "off", "n", "0")
#: The job log Hydra writes, as config.yaml leaves it: ``jobs/<n>/job.log``.
JOB_LOG = "${hydra.runtime.output_dir}/${hydra.job.name}.log"
#: Where Hydra writes each job's composed config; `report` and `collect` read it there.
OUTPUT_SUBDIR = ".hydra"


def yaml_bool(value, name: str) -> bool:
    """``value`` as a boolean when YAML calls it one (true/false, yes/no, on/off, y/n, any
    case) or it is 1 or 0; else :class:`ConfigError` naming ``name`` and the allowed values."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Integral) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(
        f"{name}={value!r}: allowed values are true or false (also yes/no, on/off, 1/0)"
    )


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

    from sparsity_lab.sweep import PATH_COMPONENT

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
    from sparsity_lab.cli import job_key

    if plan is None:
        return
    _PLANNED[:] = [plan]
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


#: The sweep this process checked last (`run` checks one): its keys go to run.json at its start.
_PLANNED: list[RunPlan] = []


def planned_run_fields() -> dict:
    """run.json's ``n_jobs`` and ``job_keys`` of the sweep this process checked (every job
    keyed), for the run's record when it starts: ``collect`` during the sweep, or after it was
    killed, takes only its jobs. {} when no sweep was checked."""
    if not _PLANNED or len(_PLANNED[0].job_keys) != _PLANNED[0].n_jobs:
        return {}
    return {"n_jobs": _PLANNED[0].n_jobs, "job_keys": list(_PLANNED[0].job_keys)}


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
    from sparsity_lab import sweep

    limit_gb = check_max_memory_gb(cfg)
    if limit_gb is not None:
        return float(limit_gb) * 2**30, f"max_memory_gb={limit_gb}"
    if launcher not in sweep.LOCAL_LAUNCHERS:
        return None
    available = sweep.available_memory_bytes()
    if available is None:
        return None
    return available, f"{sweep._gb(available)} available on this machine"


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
    if sized:  # sweep.check_memory estimates it
        return
    shape = LOADED_SHAPES.get(_dataset_ident(cfg))
    if shape is not None:  # an earlier job of the sweep loaded this dataset
        _refuse_if_larger(cfg, *shape, limit, "about ")
    else:  # the dataset's shape is known once loaded: the grid alone, at n = p = 1
        _refuse_if_larger(cfg, 1, 1, limit, "at least ")


#: (rows, features) of the datasets the check loaded, by :func:`sweep.dataset_ident`.
LOADED_SHAPES: dict[str, tuple[int, int]] = {}


def _dataset_ident(cfg: DictConfig) -> str:
    from omegaconf import OmegaConf

    from sparsity_lab.sweep import dataset_ident

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
    from sparsity_lab import sweep

    k = n_alphas(cfg)
    need = sweep.estimate_job_bytes(n, p, k)
    if need > limit[0]:
        from omegaconf import OmegaConf

        name = OmegaConf.select(cfg, "hydra.runtime.choices.dataset", default="the dataset")
        shape = f"({n} x {p})" if about == "about " else "(of any shape)"
        raise ConfigError(
            f"dataset {name} {shape}, {k} alphas: a job needs {about}{sweep._gb(need)} "
            f"(estimate), more than {limit[1]}; make the grid or the data smaller, or set "
            "max_memory_gb=<GB> to allow up to that much"
        )


#: Hydra's flags of which one command takes one (hydra/_internal/utils.py, _run_hydra).
_MODE_FLAGS = (
    ("run", "--run"),
    ("multirun", "--multirun"),
    ("cfg", "--cfg"),
    ("info", "--info"),
    ("shell_completion", "--shell-completion"),
)


def check_hydra_flags(args, config_dir: Path) -> None:
    """Hydra's own flags, which Hydra would report with a traceback: one mode at a time
    (``--cfg job -m ...``), and for ``--cfg`` a config that composes and, with ``--resolve``,
    whose values resolve (``run_id=${oc.env:NOPE}``). ``args`` are Hydra's parsed arguments."""
    from hydra.errors import HydraException
    from hydra.types import RunMode
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from sparsity_lab import sweep

    given = [name for flag, name in _MODE_FLAGS if getattr(args, flag, None)]
    if len(given) > 1:
        raise ConfigError(
            f"{' and '.join(given)} cannot be combined: allowed one of --run, --multirun (-m), "
            "--cfg, --info, --shell-completion"
        )
    if not getattr(args, "cfg", None) or args.config_dir or args.config_path:
        return
    loader = sweep._loader(config_dir)
    try:
        cfg = loader.load_configuration(
            args.config_name or "config", list(args.overrides), run_mode=RunMode.RUN
        )
        if args.resolve:  # the task's keys; Hydra's runtime values exist only once it runs
            for key in (k for k in cfg if k != "hydra"):
                value = cfg[key]  # a plain value resolves as it is read
                if OmegaConf.is_config(value):
                    OmegaConf.to_container(value, resolve=True)
    except HydraException as exc:
        raise ConfigError(sweep.hydra_error_line(exc)) from None
    except OmegaConfBaseException as exc:
        raise ConfigError(sweep._omegaconf_line(exc)) from None


def check_output_file(path: Path | str, flag: str) -> None:
    """A file a verb will write (``report --out``, default ``RUN/report.html``), checked
    before any work: not a folder, and its folder can be created and written. Raises
    :class:`~sparsity_lab.results.ResultsError` (one line, exit 2)."""
    from sparsity_lab import results

    path = Path(path)
    if path.is_dir():
        raise results.ResultsError(
            f"{flag} {path}: is a folder; allowed: a file path (e.g. {path / 'report.html'})"
        )
    try:
        results.check_writable_dir(path.parent)
    except results.ResultsError as exc:
        raise results.ResultsError(f"{flag} {path}: {exc}") from None
