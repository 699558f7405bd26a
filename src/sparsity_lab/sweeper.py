"""`hydra/sweeper=sparsity_lab`, the default sweeper: expand, check every job, then launch.

Hydra's sweeper plugin interface (``hydra.plugins.sweeper.Sweeper``) does the work a sweep
needs before anything runs, on Hydra's public API only:

- expands the sweep as Hydra's basic sweeper does: the cartesian product of the config's
  ``hydra.sweeper.params`` and the command line (which wins for a repeated key), in Hydra's job
  order (:func:`expand`);
- composes each job's config once (``ConfigLoader.load_sweep_config``, what Hydra's launchers
  call) and checks it (:func:`sparsity_lab.sweep.check_job_config`): bad input stops before any
  job starts and before the run dir exists, with one line naming the field (exit 2);
- records the run's start (run.json, :func:`sparsity_lab.provenance.record_run_start`);
- hands the composed configs to the suite's ``local`` launcher
  (:meth:`~sparsity_lab.launcher.LocalLauncher.launch_configs`, the costliest jobs first), or
  the overrides to any other launcher (Hydra's ``launch``: joblib and submitit compose in their
  workers).

A failed job does not stop the sweep: `sparsity-lab run` collects the run and reports it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sparsity_lab import sweep
from sparsity_lab.provenance import record_run_start
from sparsity_lab.startup import import_deferred


def expand(params: Mapping[str, str], arguments: Sequence[str], loader) -> list[list[str]]:
    """Each job's overrides: the cartesian product of ``params`` (``key: a,b``) then
    ``arguments`` (a repeated key keeps its first place and its last values), as Hydra's basic
    sweeper makes them.

    Raises
    ------
    SweepConfigError
        A sweep Hydra's basic sweeper does not run either (an interval: ``interval(0,1)``).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{key}={value}" for key, value in params.items()] + list(arguments)
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(lines)
    choices: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise sweep.SweepConfigError(
                f"{override.input_line}: allowed sweeps are lists of values (a,b,c), range() "
                "and choice()"
            )
    return [list(job) for job in itertools.product(*choices.values())]


def job_cost(cfg: DictConfig) -> float:
    """A guess of a job's size for ordering: training entries (n * p) times grid points; 0 when
    unknown. n * p comes from the config (generated data) or from the pre-launch check, which
    prepared every small dataset."""
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


def plan_sweep(
    primary: DictConfig, loader, params: Mapping[str, str], arguments: Sequence[str]
) -> tuple[sweep.RunPlan, list[DictConfig]]:
    """The sweep of ``primary`` (Hydra's multirun config) and each job's config, composed and
    checked.

    Raises
    ------
    ValueError
        ``SweepConfigError`` (composition), or the suite's one-line errors (``DataError``,
        ``GridError``, ``ConfigError``) for the first job whose config is not allowed.
    """
    from hydra.errors import HydraException

    def allowed_keys(parent: str) -> list[str]:
        node = OmegaConf.select(primary, parent) if parent else primary
        return sorted(k for k in node if k != "hydra") if OmegaConf.is_dict(node) else []

    try:
        # the run id is drawn once (a cached resolver), here: each job's config copies the
        # primary's resolver cache, so every job lands in this run
        str(primary.run_id)
        jobs = expand(params, arguments, loader)
        plan = sweep.RunPlan(
            multirun=True,
            jobs=jobs,
            launcher=str(primary.hydra.runtime.choices.get("hydra/launcher", "basic")),
        )
        sweep.check_launcher(primary)
        checked: set[str] = set()
        configs = []
        with closing(compose_jobs(primary, loader, jobs)) as composed_configs:
            for job, composed in zip(jobs, composed_configs, strict=True):
                cfg = composed if composed is not None else loader.load_sweep_config(primary, job)
                sweep.check_job_config(cfg, checked, plan)
                configs.append(cfg)
    except HydraException as exc:
        raise sweep.SweepConfigError(sweep.hydra_error_line(exc, allowed_keys)) from None
    except OmegaConfBaseException as exc:
        raise sweep.SweepConfigError(sweep.omegaconf_line(exc)) from None
    return plan, configs


#: ``SPARSITY_LAB_PARALLEL_COMPOSE=0``: every job composed in the caller (bench_startup measures
#: what the forked composers save).
PARALLEL_COMPOSE = "SPARSITY_LAB_PARALLEL_COMPOSE"

#: What a forked composer needs: (Hydra's config loader, the primary config), set before the fork.
_COMPOSING: list = []


def _compose_in_child(job: list[str]) -> DictConfig | None:
    """In a forked composer: the job's config as Hydra composes it, None when that fails (the
    parent composes it again and reports the error in job order)."""
    loader, primary = _COMPOSING[0]
    try:
        return loader.load_sweep_config(primary, job)
    except Exception:
        return None


def _quiet_child() -> None:
    # the parent's progress line wraps stdout/stderr and its lock may be held at the fork
    import sys

    sys.stdout = getattr(sys.stdout, "_stream", sys.stdout)
    sys.stderr = getattr(sys.stderr, "_stream", sys.stderr)


def _claim(ends, from_end: bool) -> int | None:
    """The next job not claimed yet: the parent takes from the start (``ends[0]``), the
    composers from the end (``ends[1]``, one past the last unclaimed job); None when they met."""
    with ends.get_lock():
        if ends[0] >= ends[1]:
            return None
        if from_end:
            ends[1] -= 1
            return ends[1]
        ends[0] += 1
        return ends[0] - 1


def _composer(jobs: list[list[str]], ends, holding, slot: int, results) -> None:
    """A forked composer: jobs from the end of the sweep until it meets the parent; each
    config goes back pickled (None: the parent composes that job itself)."""
    import pickle

    _quiet_child()
    while (i := _claim(ends, from_end=True)) is not None:
        holding[slot] = i
        cfg = _compose_in_child(jobs[i])
        try:
            payload = pickle.dumps(cfg)
        except Exception:  # the parent composes it
            payload = pickle.dumps(None)
        results.put((i, payload))
        holding[slot] = -1


def compose_jobs(primary: DictConfig, loader, jobs: list[list[str]]):
    """Yield each job's config in job order (None: compose it in the caller).

    Under ``hydra/launcher=local`` with ``n_jobs`` > 1 the jobs' compositions (about 40 ms each
    with Hydra's public ``load_sweep_config`` and the config cache) are shared: ``n_jobs - 1``
    forked composers take jobs from the end of the sweep while the caller composes and checks
    jobs from the start, until they meet, so neither waits for a fixed half of the other (the
    check that must precede the launch does not run on one core alone). The caller checks
    every job, in job order; a job whose composer failed or died is composed by the caller.
    Once the composers are forked the caller first imports the path job's modules that the
    console script deferred (:func:`sparsity_lab.startup.import_deferred`; the check needs
    them, the composers do not), so that about 0.5 s of imports overlaps their work.
    Elsewhere, with fewer than 4 jobs, without ``fork`` or under
    ``SPARSITY_LAB_PARALLEL_COMPOSE=0``, every job is composed in the caller.
    """
    import multiprocessing as mp
    import pickle
    import queue

    from sparsity_lab.launcher import POLL_SECONDS, n_processes

    processes = 1
    if primary.hydra.runtime.choices.get("hydra/launcher") == "local":
        try:
            processes = n_processes(primary.hydra.launcher.n_jobs, len(jobs))
        except (TypeError, ValueError):  # check_launcher reports a bad n_jobs
            processes = 1
    if os.environ.get(PARALLEL_COMPOSE, "1") == "0":  # the bench's comparison
        processes = 1
    if processes < 2 or len(jobs) < 4 or "fork" not in mp.get_all_start_methods():
        yield from (None for _ in jobs)
        return
    ctx = mp.get_context("fork")
    ends = ctx.Array("l", [0, len(jobs)])
    holding = ctx.Array("l", [-1] * (processes - 1))
    results = ctx.Queue()
    _COMPOSING[:] = [(loader, primary)]
    args = ([list(job) for job in jobs], ends, holding)
    composers = [
        ctx.Process(target=_composer, args=(*args, w, results), daemon=True)
        for w in range(processes - 1)
    ]
    try:
        for proc in composers:
            proc.start()
        # this process's share while they compose: the path job's modules, which the check of
        # the first job needs (the composers never do); the console script defers them
        import_deferred()
        composed: dict[int, DictConfig | None] = {}

        def receive() -> bool:
            try:
                i, payload = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                return False
            composed[i] = pickle.loads(payload)
            return True

        for k in range(len(jobs)):
            if _claim(ends, from_end=False) == k:  # not taken by a composer: compose it here
                yield None
                continue
            while k not in composed:
                if receive():
                    continue
                alive = [proc.is_alive() for proc in composers]
                if any(not a and holding[w] == k for w, a in enumerate(alive)):
                    composed[k] = None  # its composer died while composing it
                elif not any(alive):
                    while receive():  # what the composers sent before they ended
                        pass
                    composed.setdefault(k, None)  # never sent: compose it here
            yield composed.pop(k)
    finally:
        for proc in composers:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=POLL_SECONDS)
        _COMPOSING.clear()


def record_lost_job(cfg: DictConfig, reason: str) -> None:
    """A job whose process died mid-job (the local launcher's worker, killed): its record says
    ``failed`` with ``reason`` instead of ``running``, unless it completed already."""
    from sparsity_lab import results

    job_dir = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
    record = results.read_json_or_empty(job_dir / results.JOB_FILE)
    if record.get("status") == "complete":
        return
    try:
        results.mark_job_failed(job_dir, {**record, "user_error": False}, reason)
    except OSError:  # the run reports the job as not complete anyway
        pass


class CheckingSweeper:
    """Mixed into the Hydra plugin class of ``hydra_plugins.sparsity_lab_sweeper``."""

    def __init__(self, params: Mapping[str, str] | None = None) -> None:
        self.params = dict(params or {})
        self.config: DictConfig | None = None
        self.hydra_context = None
        self.launcher = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list:
        plan, configs = plan_sweep(
            self.config, self.hydra_context.config_loader, self.params, arguments
        )
        record_run_start(self.config, plan)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")  # as Hydra's basic sweeper
        launch_configs = getattr(self.launcher, "launch_configs", None)
        if launch_configs is not None:
            costs = [job_cost(cfg) for cfg in configs]
            return [launch_configs(configs, 0, costs, on_lost=record_lost_job)]
        del configs  # other launchers compose in their workers
        return [self.launcher.launch(plan.jobs, initial_job_idx=0)]
