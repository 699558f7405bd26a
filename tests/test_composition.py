"""Compositions reused within one command are Hydra's own compositions, value for value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.errors import ConfigCompositionException
from hydra.types import RunMode
from omegaconf import OmegaConf

from sparsity_lab import composition, sweep
from sparsity_lab.paths import config_dir

MASTER = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "dataset=diabetes"]
JOBS = [
    ["model=lasso", "seed=0"],
    ["model=lasso", "seed=3", "grid.num=7"],
    ["seed=4", "model=ridge", "dataset.test_size=0.5"],
    ["experiment=l1_vs_l2", "dataset=prostate", "model=elasticnet", "zero_tol=1e-6"],
    ["dataset=synthetic", "dataset.n_samples=150", "+extra=1", "seed=2"],
    ["dataset={_target_: sparsity_lab.datasets.load_diabetes, test_size: 0.1}"],
]


def _yaml(cfg) -> str:
    return OmegaConf.to_yaml(cfg, resolve=False)


@pytest.fixture(scope="module")
def hydra_configs():
    """Each job's config as Hydra composes it, without the cache."""
    loader = sweep._loader(config_dir())
    master = loader.load_configuration("config", MASTER, RunMode.MULTIRUN)
    return master, [_yaml(loader.load_sweep_config(master, job)) for job in JOBS]


def test_job_configs_equal_hydras_and_are_composed_once_per_group_choice(
    hydra_configs, monkeypatch
):
    master, expected = hydra_configs
    calls = []
    original = ConfigLoaderImpl.load_configuration

    def counting(self, config_name, overrides, *args, **kwargs):
        calls.append(list(overrides))
        return original(self, config_name, overrides, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counting)
    loader = sweep._loader(config_dir())
    with composition.reuse_compositions():
        for _ in range(2):  # the check, then Hydra: the second pass composes nothing
            got = [_yaml(loader.load_sweep_config(master, job)) for job in JOBS]
            assert got == expected
            # each call returns its own copy: changing one leaves the next untouched
            loader.load_sweep_config(master, JOBS[0]).seed = 99
    assert ConfigLoaderImpl.load_configuration is counting  # restored on exit
    # lasso+diabetes twice, then ridge, experiment, synthetic (with its +extra), a dict value
    assert len(calls) == 5, calls


def test_a_single_run_composes_once_for_the_check_and_hydra():
    loader = sweep._loader(config_dir())
    argv = ["dataset=diabetes", "grid.num=5", "hydra.job.chdir=false"]
    expected = _yaml(loader.load_configuration("config", [*argv, "hydra.mode=RUN"], RunMode.RUN))
    plain = _yaml(loader.load_configuration("config", argv, RunMode.RUN))
    with composition.reuse_compositions():
        # the check: the primary (for the mode), the job; then Hydra: the mode, the run
        loader.load_configuration("config", argv, RunMode.MULTIRUN, validate_sweep_overrides=False)
        assert _yaml(loader.load_configuration("config", argv, RunMode.RUN)) == plain
        loader.load_configuration("config", argv, RunMode.MULTIRUN, validate_sweep_overrides=False)
        got = loader.load_configuration("config", [*argv, "hydra.mode=RUN"], RunMode.RUN)
        assert len(composition._kept) == 1
    assert _yaml(got) == expected


def test_errors_are_hydras(hydra_configs):
    master, _ = hydra_configs
    loader = sweep._loader(config_dir())
    for bad in (["seed=1", "nokey=1"], ["model=lasso", "model.nokey=2"], ["seed=1,2"]):
        with pytest.raises(ConfigCompositionException) as plain:
            loader.load_sweep_config(master, bad)
        with composition.reuse_compositions(), pytest.raises(ConfigCompositionException) as got:
            loader.load_sweep_config(master, bad)
        assert str(got.value) == str(plain.value)


def _all_claimed() -> None:
    """``meanwhile``: wait until the workers have taken every composition (deterministic
    counts: this process then composes none)."""
    import time

    deadline = time.monotonic() + 60
    while not all(composition._WORK["claimed"]) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_compositions_made_in_forked_workers_are_hydras(hydra_configs):
    """compose_in_parallel: each distinct job config composed once, and what the parent reads
    is Hydra's composition, flags included, whichever process made it."""
    master, expected = hydra_configs
    loader = sweep._loader(config_dir())
    direct = loader.load_sweep_config(master, JOBS[0])
    jobs = [*JOBS, ["model=lasso", "seed=9"]]  # shares a composition with JOBS[0]
    for meanwhile in (_all_claimed, None):  # the workers make all of them; or both processes
        with composition.reuse_compositions():
            with composition.compose_in_parallel(
                master, jobs, loader, n_processes=2, meanwhile=meanwhile
            ) as counts:
                got = [loader.load_sweep_config(master, job) for job in jobs]
            kept = set(composition._kept)
            again = [loader.load_sweep_config(master, job) for job in jobs]
            assert [_yaml(cfg) for cfg in again] == [_yaml(cfg) for cfg in got]
            assert set(composition._kept) == kept  # nothing composed again
        # the five distinct group choices, none twice
        assert counts["received"] + counts["here"] == 5
        if meanwhile is not None:
            assert counts == {"received": 5, "here": 0}
        assert [_yaml(cfg) for cfg in got[: len(JOBS)]] == expected
        for cfg in got:
            assert OmegaConf.is_struct(cfg) == OmegaConf.is_struct(direct)
            assert OmegaConf.is_readonly(cfg.hydra) == OmegaConf.is_readonly(direct.hydra)


def test_a_job_a_worker_cannot_compose_or_a_dead_worker_is_left_to_the_parent(
    hydra_configs, monkeypatch
):
    """The check composes what the workers did not, and reports its error itself."""
    master, expected = hydra_configs
    loader = sweep._loader(config_dir())
    bad = ["model=nope"]
    with composition.reuse_compositions():
        with composition.compose_in_parallel(
            master, [bad, *JOBS], loader, n_processes=2, meanwhile=_all_claimed
        ) as counts:
            with pytest.raises(ConfigCompositionException, match="nope"):
                loader.load_sweep_config(master, bad)  # the worker failed it: composed here
            got = [loader.load_sweep_config(master, job) for job in JOBS]
    assert counts == {"received": 5, "here": 0}
    assert [_yaml(cfg) for cfg in got] == expected
    monkeypatch.setattr(composition, "_worker", lambda: os._exit(1))
    with composition.reuse_compositions():  # the worker dies at once: this process does all
        with composition.compose_in_parallel(master, JOBS, loader, n_processes=2) as counts:
            got = [loader.load_sweep_config(master, job) for job in JOBS]
    assert counts == {"received": 0, "here": 5}
    assert [_yaml(cfg) for cfg in got] == expected


def test_while_a_worker_makes_the_awaited_job_the_parent_composes_the_last_ones(
    hydra_configs, monkeypatch
):
    """The worker takes job 0 and is slow: the check, waiting for it, composes the others."""
    import pickle
    import time

    master, expected = hydra_configs
    loader = sweep._loader(config_dir())

    def slow_first_job_only():
        assert composition._claim(0)
        time.sleep(0.5)
        before = set(composition._kept)
        loader.load_sweep_config(master, composition._WORK["todo"][0])
        made = {k: pickle.dumps(v) for k, v in composition._kept.items() if k not in before}
        composition._WORK["results"].put((0, made))

    def until_job_0_is_taken():
        deadline = time.monotonic() + 60
        while not composition._WORK["claimed"][0] and time.monotonic() < deadline:
            time.sleep(0.01)

    monkeypatch.setattr(composition, "_worker", slow_first_job_only)
    with composition.reuse_compositions():
        with composition.compose_in_parallel(
            master, JOBS, loader, n_processes=2, meanwhile=until_job_0_is_taken
        ) as counts:
            got = [loader.load_sweep_config(master, job) for job in JOBS]
    assert counts == {"received": 1, "here": 4}
    assert [_yaml(cfg) for cfg in got] == expected


def test_a_failing_check_stops_the_workers(hydra_configs):
    master, _ = hydra_configs
    loader = sweep._loader(config_dir())
    with composition.reuse_compositions(), pytest.raises(RuntimeError, match="bad job"):
        with composition.compose_in_parallel(master, JOBS, loader, n_processes=2):
            workers = list(composition._WORK["workers"])
            raise RuntimeError("bad job")
    assert workers and not any(w.is_alive() for w in workers)
    assert not composition._WORK


def test_parallel_composition_is_skipped_when_it_cannot_pay(hydra_configs):
    master, _ = hydra_configs
    loader = sweep._loader(config_dir())
    seeds = [["model=lasso", f"seed={i}"] for i in range(20)]  # one composition for all
    nothing = {"received": 0, "here": 0}
    with composition.reuse_compositions():
        with composition.compose_in_parallel(master, seeds, loader, n_processes=2) as counts:
            assert not composition._WORK
        assert counts == nothing
        with composition.compose_in_parallel(master, JOBS, loader, n_processes=1) as counts:
            assert not composition._WORK
    with composition.compose_in_parallel(master, JOBS, loader, n_processes=2):  # outside
        assert not composition._WORK


def test_the_checks_job_configs_are_handed_to_the_launcher_once(hydra_configs):
    """What the check composes (handing_over) is what the launcher gets, composed once; a job
    the sweep repeats gets its own config; outside the check nothing is kept."""
    master, expected = hydra_configs
    loader = sweep._loader(config_dir())
    jobs = [JOBS[0], JOBS[1], JOBS[0]]  # a sweep may repeat a job (`-m seed=0,0`)
    with composition.reuse_compositions():
        with composition.handing_over():
            checked = [loader.load_sweep_config(master, job) for job in jobs]
        assert checked[0] is checked[2]  # the check reads the one it composed
        assert len(composition._handed) == 2
        launched = [loader.load_sweep_config(master, job) for job in jobs]
        assert launched[0] is checked[0] and launched[1] is checked[1]
        assert launched[2] is not launched[0]  # the repeat is composed again, not shared
        assert not composition._handed
        assert [_yaml(c) for c in launched] == [expected[0], expected[1], expected[0]]
        loader.load_sweep_config(master, JOBS[1])  # no check around it: nothing is kept
        assert not composition._handed


def test_hydras_batch_validation_skips_only_the_jobs_the_check_composed(hydra_configs, monkeypatch):
    from hydra.plugins.sweeper import Sweeper

    master, _ = hydra_configs
    loader = sweep._loader(config_dir())
    validated = []
    original = ConfigLoaderImpl.load_sweep_config

    def spy(self, master_config, sweep_overrides):
        validated.append(list(sweep_overrides))
        return original(self, master_config, sweep_overrides)

    class Probe:  # what Sweeper.validate_batch_is_legal reads from the sweeper
        hydra_context = None
        config_loader = loader
        config = master

    bad = ["seed=1", "nokey=1"]
    with composition.reuse_compositions():
        with composition.handing_over():
            loader.load_sweep_config(master, JOBS[0])
        monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", spy)
        with pytest.raises(ConfigCompositionException, match="nokey"):
            Sweeper.validate_batch_is_legal(Probe(), [JOBS[0], JOBS[1], bad])
        assert validated == [JOBS[1], bad]  # the bad job is still Hydra's error
        assert len(composition._handed) == 1  # JOBS[0] still waits for the launcher


def test_config_files_are_parsed_once_per_command_from_a_fresh_process():
    """In a fresh process Hydra's first plugin scan executes its config source modules again;
    the files must still be parsed once (the patched classes are the registered ones)."""
    code = """
from hydra.types import RunMode
from omegaconf import OmegaConf
from sparsity_lab import composition, sweep
from sparsity_lab.paths import config_dir, register_resolvers
register_resolvers()
jobs = [["dataset=diabetes", "model=lasso"], ["dataset=prostate", "model=ridge"]]
with composition.reuse_compositions():
    loader = sweep._loader(config_dir())
    got = [OmegaConf.to_yaml(loader.load_configuration("config", j, RunMode.RUN)) for j in jobs]
    parsed = dict(composition._loaded)
plain = [OmegaConf.to_yaml(loader.load_configuration("config", j, RunMode.RUN)) for j in jobs]
assert got == plain
files = {key[-3] for key in parsed if key[0] == "FileConfigSource"}
assert {"config", "model/lasso", "model/ridge", "dataset/prostate"} <= files, files
assert any(key[0] == "ImportlibResourcesConfigSource" for key in parsed)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
