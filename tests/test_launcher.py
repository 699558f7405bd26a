"""The suite's local launcher: parent and forked workers share the jobs; a worker that dies
costs only its job."""

from __future__ import annotations

import os
import time

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from sparsity_lab import launcher, sweep
from sparsity_lab.paths import config_dir


class FakeRun(launcher.LocalRun):
    """Jobs of 0.2 s that return (job, pid); a worker dies on the first job it takes."""

    def __init__(self, n: int, die_in_worker: bool = False) -> None:
        configs = [
            OmegaConf.create({"hydra": {"overrides": {"task": [f"seed={i}"]}}}) for i in range(n)
        ]
        super().__init__(None, None, configs)
        self.order = list(range(n))
        self.parent = os.getpid()
        self.die_in_worker = die_in_worker

    def run(self, i: int):
        if self.die_in_worker and os.getpid() != self.parent:
            os._exit(9)
        time.sleep(0.2)
        return JobReturn(status=JobStatus.COMPLETED, _return_value=(i, os.getpid()))


def test_parent_and_worker_share_the_jobs_in_order_of_the_results():
    returns = launcher._run_parallel(FakeRun(8), n_workers=1)
    values = [r.return_value for r in returns]
    assert [i for i, _ in values] == list(range(8))
    pids = {pid for _, pid in values}
    assert os.getpid() in pids and len(pids) == 2  # both worked


def test_a_dead_worker_fails_only_the_job_it_held():
    returns = launcher._run_parallel(FakeRun(6, die_in_worker=True), n_workers=1)
    failed = [i for i, r in enumerate(returns) if r.status == JobStatus.FAILED]
    assert len(failed) == 1
    assert "worker process died" in str(returns[failed[0]]._return_value)
    assert returns[failed[0]].overrides == [f"seed={failed[0]}"]
    assert all(r.return_value[1] == os.getpid() for i, r in enumerate(returns) if i not in failed)


def test_largest_jobs_are_taken_first(compose_cfg, monkeypatch):
    monkeypatch.setattr(sweep, "DATA_SIZES", {})
    sizes = [(100, 10), (2000, 1000), (300, 50), (2000, 1000)]
    configs = [
        compose_cfg([f"dataset.n_samples={n}", f"dataset.n_features={p}", "grid.num=5"])
        for n, p in sizes
    ]
    configs.append(compose_cfg(["dataset=diabetes", "grid=values", "grid.values=[1,2]"]))
    run = launcher.LocalRun(None, None, configs)
    assert launcher.job_cost(configs[1]) == 2000 * 1000 * 5
    assert launcher.job_cost(configs[4]) == 0  # diabetes, not prepared by a check here
    assert run.order == [1, 3, 2, 0, 4]  # ties keep the job order
    # what the pre-launch check prepared counts: diabetes' training set, 2 alphas
    sweep.plan_run(["dataset=diabetes", "grid=values", "grid.values=[1,2]"], config_dir())
    assert launcher.job_cost(configs[4]) == 332 * 10 * 2  # 442 rows, 110 held out


def test_n_processes():
    cores = os.cpu_count() or 1
    assert launcher.n_processes(2, 20) == 2
    assert launcher.n_processes(4, 3) == 3  # never more processes than jobs
    assert launcher.n_processes(-1, 100) == cores
    assert launcher.n_processes(-2, 100) == max(1, cores - 1)
    for bad in (0, 1.5, "2", True):
        with pytest.raises(ValueError, match=r"hydra\.launcher\.n_jobs"):
            launcher.n_processes(bad, 4)


class _Recorder:
    """A Hydra callback that records what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_job_start(self, config, **kwargs) -> None:
        self.calls.append(("start", int(config.hydra.job.num), kwargs["task_function"].__name__))

    def on_job_end(self, config, job_return, **kwargs) -> None:
        self.calls.append(("end", int(config.hydra.job.num), job_return.status))


def _task(cfg):
    """What a task sees: its config, the Hydra config's output dir, cwd and env_set."""
    from hydra.core.hydra_config import HydraConfig

    if cfg.seed == 13:
        raise RuntimeError("job 13 fails")
    return (
        OmegaConf.to_yaml(cfg),
        HydraConfig.get().runtime.output_dir,
        HydraConfig.get().job.num,
        os.getcwd(),
        os.environ.get("SPARSITY_LAB_TEST_ENV"),
    )


@pytest.mark.parametrize(
    ("extra", "single"),
    [
        (["seed=3"], False),
        (["seed=13"], False),
        (["seed=4", "hydra.job.chdir=true", "+hydra.job.env_set.X=1"], False),
        (["seed=5"], True),
    ],
    ids=["plain", "failing task", "chdir and env_set", "single run"],
)
def test_run_job_is_hydras_run_job(tmp_path, monkeypatch, extra, single):
    """The launcher's run_job (fewer copies of the config) against Hydra 1.3's own: the same
    files, JobReturn, task view, callbacks, and the process state restored."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import run_job as hydras_run_job
    from hydra.core.utils import setup_globals
    from hydra.types import HydraContext, RunMode

    from sparsity_lab.paths import register_resolvers

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPARSITY_LAB_TEST_ENV", "outside")
    extra = [
        e.replace("hydra.job.env_set.X", "hydra.job.env_set.SPARSITY_LAB_TEST_ENV") for e in extra
    ]
    register_resolvers()
    setup_globals()
    loader = sweep._loader(config_dir())
    master = loader.load_configuration(
        "config", ["run_id=r", "hydra.mode=MULTIRUN"], RunMode.MULTIRUN
    )
    outcomes = []
    for run in (hydras_run_job, launcher.run_job):
        cfg = loader.load_sweep_config(master, ["dataset=diabetes", "run_id=r", *extra])
        cfg.hydra.job.id = cfg.hydra.job.num = 7
        recorder = _Recorder()
        callbacks = Callbacks()
        callbacks.callbacks.append(recorder)
        before = HydraConfig.instance().cfg
        ret = run(
            hydra_context=HydraContext(config_loader=loader, callbacks=callbacks),
            task_function=_task,
            config=cfg,
            # a single run: Hydra's own keys and no logging setup (Hydra.run's arguments)
            job_dir_key="hydra.run.dir" if single else "hydra.sweep.dir",
            job_subdir_key=None if single else "hydra.sweep.subdir",
            **({"configure_logging": False} if single else {}),
        )
        assert os.getcwd() == str(tmp_path) and HydraConfig.instance().cfg is before
        assert os.environ["SPARSITY_LAB_TEST_ENV"] == "outside"
        job_dir = tmp_path / "results" / "adhoc" / "r" / "jobs" / ("0000" if single else "0007")
        files = {f.name: f.read_text() for f in sorted((job_dir / ".hydra").iterdir())}
        value = ret._return_value
        outcomes.append(
            {
                "files": files,
                "status": ret.status,
                "value": repr(value) if isinstance(value, Exception) else value,
                "cfg": OmegaConf.to_yaml(ret.cfg),
                "hydra_cfg": OmegaConf.to_yaml(ret.hydra_cfg),
                "overrides": ret.overrides,
                "working_dir": ret.working_dir,
                "task_name": ret.task_name,
                "callbacks": recorder.calls,
            }
        )
        (job_dir / ".hydra" / "config.yaml").unlink()  # the next run writes its own
    hydras, ours = outcomes
    assert set(hydras["files"]) == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    assert ours == hydras
    if "seed=13" in extra:
        assert hydras["status"] == JobStatus.FAILED and "job 13 fails" in hydras["value"]
    else:
        assert hydras["value"][1].endswith("jobs/0000" if single else "jobs/0007")
        assert hydras["value"][2] == 7
        chdir = "hydra.job.chdir=true" in extra
        assert (hydras["value"][3] == hydras["value"][1]) == chdir
        assert hydras["value"][4] == ("1" if chdir else "outside")


def test_the_job_files_yaml_is_omegaconfs(compose_cfg):
    """launcher.to_yaml (libyaml's emitter) writes OmegaConf.to_yaml's text: every study's
    whole config (Hydra's node included), and values that need quoting or block styles."""
    for path in sorted((config_dir() / "experiment").glob("*.yaml")):
        cfg = compose_cfg([f"experiment={path.stem}"])
        name = path.stem
        assert launcher.to_yaml(cfg) == OmegaConf.to_yaml(cfg), name
    tricky = OmegaConf.create(
        {
            "numbers_as_text": ["1", "1.5", "1e-3", "true", "null", "no", "0x1F", ".inf"],
            "text": ["", " lead", "trail ", "a: b", "# c", "tab\there", "x" * 200, "é ü 中"],
            "lines": "one\ntwo\n", "interp": "${seed}", "none": None, "empty": {}, "list": [],
            "nested": {"deep": [{"a": 1.0e-300, "b": -0.0, "c": True}]},
        }
    )  # fmt: skip
    assert launcher.to_yaml(tricky) == OmegaConf.to_yaml(tricky)


def test_single_runs_go_through_the_launchers_run_job():
    import hydra._internal.hydra as hydra_app
    from hydra.core.utils import run_job as hydras

    assert hydra_app.run_job is hydras
    with launcher.single_runs_too():
        assert hydra_app.run_job is launcher.run_job
    assert hydra_app.run_job is hydras
