"""The Hydra callback of `sparsity-lab run` (``hydra.callbacks.collect`` in configs/config.yaml).

Its own module so that the verbs which launch nothing never import Hydra's callback machinery.
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sparsity_lab.cli import git_commit, package_versions, run_dir_of


class CollectCallback(Callback):
    """Writes run.json when a run starts. Collecting happens in `run_hydra` once Hydra returns
    or raises, since Hydra 1.3 skips ``on_multirun_end`` when any job failed."""

    def _start(self, config: DictConfig) -> None:
        from sparsity_lab import checks, results, sweep

        run_dir = run_dir_of(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        sweep.STARTED_RUNS.append(run_dir)
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
            **checks.planned_run_fields(),
        )

    def _start_or_exit(self, config: DictConfig) -> None:
        from sparsity_lab import results

        try:
            self._start(config)
        except OSError as exc:  # SystemExit passes through Hydra's error report
            print(f"error: {results.io_error_line(exc, run_dir_of(config))}", file=sys.stderr)
            raise SystemExit(1) from None

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        self._start_or_exit(config)

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        self._start_or_exit(config)
