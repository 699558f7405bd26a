"""The config cache (``cached://`` sources, sparsity_lab.config_cache) composes what Hydra's own
sources compose, reads a file changed between runs again, and shows in the run's hydra.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import RunMode
from omegaconf import OmegaConf

from conftest import results_line, run_cli
from sparsity_lab import sweeper
from sparsity_lab.paths import config_dir, register_resolvers

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


def _sweep_configs(overrides: list[str], tree: Path | None = None) -> tuple[list[str], list]:
    """The sources and every job's config of the sweep ``overrides``, composed as the suite's
    sweeper composes them (Hydra's load_sweep_config after the multirun's primary config)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(tree or config_dir()), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        primary = loader.load_configuration("config", overrides, run_mode=RunMode.MULTIRUN)
        node = primary.hydra.sweeper.params
        params = {} if node is None else OmegaConf.to_container(node)
        jobs = sweeper.expand(params, overrides, loader)
        sources = [f"{s.scheme()}://{s.path}" for s in loader.get_sources()]
        return sources, [primary] + [loader.load_sweep_config(primary, job) for job in jobs]


def _tree(cfg) -> dict:
    """The config as plain data (interpolations unresolved), without the node that names the
    sources."""
    tree = OmegaConf.to_container(cfg)
    del tree["hydra"]["runtime"]["config_sources"]
    return tree


@pytest.mark.parametrize("experiment", [None, *EXPERIMENTS])
def test_the_cache_composes_what_hydras_sources_compose(experiment, monkeypatch, tmp_path):
    """Every job of every study (and of a command-line sweep), with the cache and with Hydra's
    own file and package sources: the same configs, the hydra node included."""
    overrides = [f"results_dir={tmp_path}"]
    overrides += (
        [f"experiment={experiment}"]
        if experiment
        else ["model=lasso,ridge", "dataset=diabetes,prostate", "grid.num=4"]
    )
    cached_sources, cached = _sweep_configs(overrides)
    monkeypatch.setenv("SPARSITY_LAB_CONFIG_CACHE", "0")
    hydra_sources, hydras = _sweep_configs(overrides)
    assert [s.split("://")[0] for s in cached_sources] == ["cached", "cached", "structured"]
    assert [s.split("://")[0] for s in hydra_sources] == ["pkg", "file", "structured"]
    assert [s.removeprefix("cached://") for s in cached_sources] == hydra_sources
    assert len(cached) == len(hydras) >= 2
    for a, b in zip(cached, hydras, strict=True):
        assert _tree(a) == _tree(b)


def test_a_file_changed_between_runs_is_read_again(monkeypatch, tmp_path):
    tree = tmp_path / "configs"
    shutil.copytree(config_dir(), tree)
    monkeypatch.setenv("SPARSITY_LAB_CONFIG_DIR", str(tree))
    overrides = ["model=lasso", "seed=0,1", f"results_dir={tmp_path}"]
    sources, before = _sweep_configs(overrides, tree)
    assert sources[1] == f"cached://file://{tree}"
    model = tree / "model" / "lasso.yaml"
    text = model.read_text()
    assert "tol: 1.0e-6" in text
    model.write_text(text.replace("tol: 1.0e-6", "tol: 3.0e-6"))
    _, after = _sweep_configs(overrides, tree)
    assert [float(c.model.tol) for c in before] == [1e-6] * 3
    assert [float(c.model.tol) for c in after] == [3e-6] * 3


def test_other_config_trees_keep_hydras_sources(tmp_path):
    """Only the suite's tree is read through the cache: another Hydra app's is not."""
    (tmp_path / "config.yaml").write_text("a: 1\n")
    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        schemes = [s.scheme() for s in loader.get_sources()]
    assert schemes == ["pkg", "file", "structured"]


def test_the_runs_hydra_yaml_lists_the_cached_sources(tmp_path):
    run = results_line(
        run_cli(["run", "dataset=diabetes", "grid.num=3", "report=false"], cwd=tmp_path).stdout
    )
    hydra_yaml = tmp_path / run / "jobs" / "0000" / ".hydra" / "hydra.yaml"
    sources = yaml.safe_load(hydra_yaml.read_text())["hydra"]["runtime"]["config_sources"]
    paths = {s["provider"]: f"{s['schema']}://{s['path']}" for s in sources}
    assert paths["hydra"] == "cached://pkg://hydra.conf"
    assert paths["main"] == f"cached://file://{config_dir()}"
    assert paths["schema"] == "structured://"
