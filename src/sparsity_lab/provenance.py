"""Where a run comes from (git commit, package versions, command) and its start: run.json.

A run starts once its jobs are checked: the suite's sweeper (multirun) or the Hydra callback
(a single run) calls :func:`record_run_start`, which creates the run dir, adds this sweep to
run.json and registers the run for `sparsity-lab run`, which collects it when Hydra returns.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sparsity_lab import __version__

PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "numba",
    "hydra-core",
    "omegaconf",
)

#: (run dir, plan) of each run started in this process, the latest last: read by `run`.
#: (Here, not in cli.py: under `python -m sparsity_lab.cli` that module is loaded twice.)
STARTED_RUNS: list[tuple[Path, object]] = []


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
            text=True, timeout=5, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    versions = {"sparsity-lab": __version__, "python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_dir_of(config: DictConfig) -> Path:
    return Path(str(config.results_dir)) / str(config.study) / str(config.run_id)


def record_run_start(config: DictConfig, plan: object) -> Path:
    """Create the run dir of ``config`` (the primary config of a sweep, or a single run's), add
    this sweep to its run.json and register it with ``plan`` in :data:`STARTED_RUNS`.

    Raises
    ------
    OSError
        run.json cannot be written.
    """
    from sparsity_lab import results

    run_dir = run_dir_of(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    STARTED_RUNS.append((run_dir, plan))
    now = datetime.now().isoformat(timespec="seconds")
    this = {
        "command": ["sparsity-lab", *sys.argv[1:]],
        "overrides": list(config.hydra.overrides.task),
        "cwd": str(Path.cwd()),
        "git_commit": git_commit(),
        "start": now,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }

    def add_sweep(info: dict) -> None:
        # a run written before the history existed: its first sweep from the top level
        if "sweeps" not in info:
            old = {k: info[k] for k in ("command", "overrides", "start") if k in info}
            info["sweeps"] = [old] if old else []
        info["sweeps"].append(this)
        info.setdefault("start", now)  # the run's first start

    # the top level describes the latest sweep (whose config the jobs now hold)
    results.update_run_json(
        run_dir,
        add_sweep,
        study=str(config.study),
        run_id=str(config.run_id),
        command=this["command"],
        overrides=this["overrides"],
        cwd=this["cwd"],
        git_commit=this["git_commit"],
        versions=package_versions(),
        **planned_run_fields(plan),
    )
    return run_dir


def job_key(cfg: DictConfig) -> str:
    """What makes a job's result reusable: its resolved config (without where it is written,
    or whether the run ends with a report) and the package version."""
    # key by key: the pre-launch check keys a config that still holds Hydra's node, whose
    # runtime values (hydra.job.num) do not resolve before launch
    skipped = ("run_id", "results_dir", "hydra", "max_memory_gb", "report", "verbose")
    content = {}
    for key in cfg:
        if key in skipped:
            continue
        if OmegaConf.is_missing(cfg, key):  # as to_container gives it
            content[str(key)] = "???"
            continue
        node = cfg[key]
        content[str(key)] = (
            OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        )
    blob = json.dumps({"config": content, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def planned_run_fields(plan: object) -> dict:
    """run.json's ``n_jobs`` and ``job_keys`` of a checked sweep (every job keyed), for the
    run's record when it starts: ``collect`` during the sweep, or after it was killed, takes
    only its jobs. {} when the plan did not key every job."""
    if plan is None or len(plan.job_keys) != plan.n_jobs:
        return {}
    return {"n_jobs": plan.n_jobs, "job_keys": list(plan.job_keys)}
