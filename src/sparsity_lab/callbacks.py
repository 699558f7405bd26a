"""The Hydra callback of `sparsity-lab run` (``hydra.callbacks.collect`` in configs/config.yaml).

Its own module so that the verbs which launch nothing never import Hydra's callback machinery.
"""

from __future__ import annotations

import sys

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sparsity_lab.provenance import record_run_start, run_dir_of


class StartRefused(BaseException):
    """A single run's check failed in :meth:`CollectCallback.on_run_start`: ``error`` is what it
    raised. A BaseException, since Hydra turns a callback's exceptions into warnings; `run`
    raises ``error`` again (a UserError: one line, exit 2; anything else: its traceback)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class CollectCallback(Callback):
    """Checks a single run's config, then writes run.json, when it starts (a sweep is checked
    and recorded by the suite's sweeper, :mod:`sparsity_lab.sweeper`). Collecting happens in
    `run_hydra` once Hydra returns or raises, since Hydra 1.3 skips ``on_multirun_end`` when
    any job failed."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        from sparsity_lab import results, sweep

        # a single run runs in this process, whatever hydra/launcher says
        plan = sweep.RunPlan(multirun=False, jobs=[list(config.hydra.overrides.task)])
        try:
            try:
                sweep.check_job_config(config, set(), plan)
            except HydraException as exc:
                raise sweep.SweepConfigError(sweep.hydra_error_line(exc)) from None
            except OmegaConfBaseException as exc:
                raise sweep.SweepConfigError(sweep.omegaconf_line(exc)) from None
        except Exception as exc:
            raise StartRefused(exc) from exc
        try:
            record_run_start(config, plan)
        except OSError as exc:  # SystemExit passes through Hydra's error report
            print(f"error: {results.io_error_line(exc, run_dir_of(config))}", file=sys.stderr)
            raise SystemExit(1) from None
