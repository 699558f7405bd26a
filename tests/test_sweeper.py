"""The suite's sweeper and launcher are Hydra plugins on Hydra's public API: the sweep is
Hydra's basic grid, every job is checked before any starts, and nothing of Hydra is patched."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from sparsity_lab import sweep, sweeper

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize(
    ("params", "arguments"),
    [
        ({}, ["model=lasso,ridge", "seed=0,1,2", "grid.num=3"]),
        ({"model": "lasso,ridge", "seed": "range(3)"}, ["seed=5,6", "dataset=diabetes"]),
        ({"dataset": "diabetes,prostate"}, ["model=choice(lasso,ridge)", "+x=1", "~zero_tol"]),
        ({}, ["seed=0"]),
    ],
    ids=["command line", "params then command line", "choice, add, delete", "one job"],
)
def test_the_sweep_is_hydras_basic_grid(params, arguments):
    """Hydra's basic sweeper's jobs, in its order (a repeated key: first place, last values)."""
    lines = [f"{k}={v}" for k, v in params.items()] + arguments
    hydras = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(lines), None)
    assert sweeper.expand(params, arguments, None) == hydras[0]


def test_an_interval_sweep_is_one_line():
    with pytest.raises(sweep.SweepConfigError, match=r"zero_tol=interval\(0,1\): allowed"):
        sweeper.expand({}, ["zero_tol=interval(0,1)"], None)


def test_the_plugins_are_found_and_are_the_defaults(compose_cfg):
    from hydra.core.plugins import Plugins
    from hydra.plugins.launcher import Launcher
    from hydra.plugins.sweeper import Sweeper

    cfg = compose_cfg([])
    assert cfg.hydra.runtime.choices["hydra/sweeper"] == "sparsity_lab"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "local"
    names = {f"{p.__module__}.{p.__name__}" for p in Plugins.instance().discover(Sweeper)}
    assert cfg.hydra.sweeper._target_ in names
    names = {f"{p.__module__}.{p.__name__}" for p in Plugins.instance().discover(Launcher)}
    assert cfg.hydra.launcher._target_ in names


def test_nothing_of_hydra_or_omegaconf_is_patched():
    """The issue's grep: no assignment to a Hydra or OmegaConf attribute in src/, and no private
    Hydra name outside the one adapter module (none today)."""
    pattern = (
        r"setattr\((hydra|omegaconf|OmegaConf)|^\s*(hydra|omegaconf)\.[A-Za-z_.]+\s*=[^=]"
        r"|__dict__\["
    )
    found = subprocess.run(
        ["grep", "-rnE", "--include=*.py", pattern, str(SRC)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1, found.stdout
    private = re.compile(r"\b(hydra\._internal|omegaconf\._|_internal\.)")
    users = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert users == []


def _compose_sweep(tmp_path, overrides, slow_caller: float = 0.0):
    """(what compose_jobs yields, each job's config as the sweeper ends up with it, Hydra's own
    load_sweep_config of each job, the run id): the caller composes a job when None comes, and
    takes ``slow_caller`` seconds more for each (its check)."""
    import time

    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    from sparsity_lab.paths import config_dir, register_resolvers

    register_resolvers()
    overrides = [f"results_dir={tmp_path}", *overrides]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        primary = loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)
        run_id = str(primary.run_id)
        jobs = sweeper.expand({}, overrides, loader)
        yielded, configs = [], []
        for job, cfg in zip(jobs, sweeper.compose_jobs(primary, loader, jobs), strict=True):
            yielded.append(cfg)
            configs.append(cfg if cfg is not None else loader.load_sweep_config(primary, job))
            time.sleep(slow_caller)
        direct = [loader.load_sweep_config(primary, job) for job in jobs]
    return yielded, configs, direct, run_id


SWEEP = ["dataset=diabetes", "model=lasso,ridge,elasticnet", "seed=0,1"]


def test_forked_composers_give_hydras_configs_in_job_order(tmp_path):
    """Under local n_jobs=2 a forked composer takes jobs from the end of the sweep while the
    caller composes from the start: each config is what Hydra's own load_sweep_config gives in
    this process, in job order, and lands in the same run (the run id drawn once)."""
    from omegaconf import OmegaConf

    yielded, configs, direct, run_id = _compose_sweep(
        tmp_path, ["hydra.launcher.n_jobs=2", *SWEEP], slow_caller=0.3
    )
    assert len(configs) == 6 and yielded[0] is None  # the caller starts at once
    assert yielded[-1] is not None  # the composer's first job: the last one
    for cfg, same in zip(configs, direct, strict=True):
        assert OmegaConf.to_yaml(cfg) == OmegaConf.to_yaml(same)
        assert str(cfg.run_id) == run_id
    # the default launcher with n_jobs: 1 composes nothing in other processes
    yielded, *_ = _compose_sweep(tmp_path, SWEEP)
    assert yielded == [None] * 6


@pytest.mark.parametrize("how", ["dies", "fails"])
def test_a_composers_lost_jobs_are_composed_by_the_caller(tmp_path, monkeypatch, how):
    """A composer that dies (killed, out of memory) or cannot compose its job: the caller
    composes the jobs it did not send, and the sweep's configs are Hydra's, in job order."""
    import os

    from omegaconf import OmegaConf

    def compose_or_die(job):
        if how == "dies":
            os._exit(1)
        return None

    monkeypatch.setattr(sweeper, "_compose_in_child", compose_or_die)  # inherited by the fork
    yielded, configs, direct, _ = _compose_sweep(
        tmp_path, ["hydra.launcher.n_jobs=2", *SWEEP], slow_caller=0.3
    )
    assert yielded == [None] * 6
    for cfg, same in zip(configs, direct, strict=True):
        assert OmegaConf.to_yaml(cfg) == OmegaConf.to_yaml(same)


def test_the_caller_imports_what_the_console_script_deferred_while_composers_compose(
    tmp_path, monkeypatch
):
    """Under local n_jobs=2 the caller imports the deferred path job modules (startup.py) once
    the composers are forked, so the imports overlap their work; without composers the first
    check imports them."""
    import gc
    import sys

    from sparsity_lab import startup

    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "deferred_probe.py").write_text(
        "import multiprocessing\nCHILDREN = len(multiprocessing.active_children())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    monkeypatch.delitem(sys.modules, "deferred_probe", raising=False)
    monkeypatch.setattr(startup, "_DEFERRED", ["deferred_probe"])
    try:
        _compose_sweep(tmp_path, ["hydra.launcher.n_jobs=2", *SWEEP])
        assert sys.modules["deferred_probe"].CHILDREN >= 1
        assert startup._DEFERRED == []
        monkeypatch.delitem(sys.modules, "deferred_probe")
        startup.defer_imports(["deferred_probe"])
        _compose_sweep(tmp_path, SWEEP)  # sequential: compose_jobs imports nothing
        assert "deferred_probe" not in sys.modules and startup._DEFERRED == ["deferred_probe"]
    finally:
        gc.unfreeze()
