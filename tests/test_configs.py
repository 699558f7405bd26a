"""Every option of every config group composes and instantiates."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.base import clone

from sparsity_lab.datasets import Dataset
from sparsity_lab.paths import config_dir
from sparsity_lab.runner import grid_alphas

REPO = Path(__file__).resolve().parents[1]

GROUPS = {g: sorted(p.stem for p in (config_dir() / g).glob("*.yaml")) for g in
          ("dataset", "model", "grid", "experiment")}  # fmt: skip


def test_groups_are_not_empty():
    assert {"synthetic", "diabetes"} <= set(GROUPS["dataset"])
    assert {"lasso", "ridge", "elasticnet"} <= set(GROUPS["model"])
    assert {"log", "values"} <= set(GROUPS["grid"])
    assert "quickstart" in GROUPS["experiment"]


@pytest.mark.parametrize("name", GROUPS["model"])
def test_every_model_instantiates_as_an_unfitted_estimator(compose_cfg, name):
    cfg = compose_cfg([f"model={name}"])
    est = instantiate(cfg.model)
    # its path's parameter: alpha along the grid, or the size k (best subset, stepwise)
    assert hasattr(est, "fit") and ("alpha" in est.get_params() or "k" in est.get_params())
    clone(est)  # sklearn-compatible parameters
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(est))


@pytest.mark.parametrize("name", GROUPS["model"])
def test_the_suite_s_instantiate_is_hydra_s(compose_cfg, name):
    """Flat configs skip Hydra's instantiate (sparsity_lab.instantiate): same class, same
    parameters, and the call really takes the direct path where the config is flat."""
    from sparsity_lab import instantiate as fast

    cfg = compose_cfg([f"model={name}"])
    est, reference = fast.instantiate(cfg.model), instantiate(cfg.model, _convert_="all")
    assert type(est) is type(reference)
    assert est.get_params() == reference.get_params()
    params = OmegaConf.to_container(cfg.model, resolve=True)
    assert (fast.flat_target(params) is type(est)) == all(
        not isinstance(v, dict | list) for v in params.values()
    )


def _dataset_inputs(name, tmp_path):
    """Overrides that configs with mandatory user input need (a file, the shipped cache)."""
    if name == "table":
        pd.DataFrame(
            {"a": [1.0, 2.0, 3.0, 5.0], "b": [0.0, 1.0, 0.0, 1.0], "t": [1, 2, 3, 4]}
        ).to_csv(tmp_path / "t.csv", index=False)
        return [f"dataset.path={tmp_path / 't.csv'}", "dataset.target=t"]
    if name == "openml":
        shutil.copytree(REPO / "tests" / "data" / "openml", tmp_path / "openml")
        return ["dataset.data_id=561", f"dataset.data_home={tmp_path}"]
    return []


@pytest.mark.parametrize("name", GROUPS["dataset"])
def test_every_dataset_composes_and_its_loader_instantiates(compose_cfg, name, tmp_path):
    cfg = compose_cfg([f"dataset={name}", *_dataset_inputs(name, tmp_path)])
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    assert 0 <= params.pop("test_size", 0.25) < 1
    ds = instantiate(params)
    assert isinstance(ds, Dataset) and ds.n_samples >= 2 and ds.n_features >= 1


def test_grids_give_alphas_largest_first(compose_cfg):
    cfg = compose_cfg(["grid=log", "grid.num=5"])
    alphas, ratios = grid_alphas(cfg.grid, 2.0)
    assert alphas[0] == 2.0 and len(alphas) == 5 and (alphas[:-1] > alphas[1:]).all()
    cfg = compose_cfg(["grid=values", "grid.values=[0.1,1.0]"])
    alphas, ratios = grid_alphas(cfg.grid, 2.0)
    assert list(alphas) == [1.0, 0.1] and list(ratios) == [0.5, 0.05]


@pytest.mark.parametrize("name", GROUPS["experiment"])
def test_every_experiment_composes_with_a_study_name(compose_cfg, name):
    cfg = compose_cfg([f"experiment={name}"])
    assert cfg.study == name


def test_defaults_and_top_level_keys(compose_cfg):
    cfg = compose_cfg()
    assert cfg.seed == 0 and cfg.results_dir == "results" and cfg.zero_tol == 1e-8
    assert cfg.hydra.runtime.choices.model == "lasso"
    assert cfg.hydra.runtime.choices.grid == "log" and cfg.grid.num == 30
    # the run dir layout of DESIGN.md
    assert cfg.hydra.sweep.dir == f"results/adhoc/{cfg.run_id}"
    subdir = OmegaConf.to_container(cfg.hydra.sweep, resolve=False)["subdir"]
    assert subdir.startswith("jobs/")


def test_run_ids_are_distinct_within_one_second(compose_cfg):
    ids = {compose_cfg().run_id for _ in range(5)}
    assert len(ids) == 5


def test_no_experiment_sweep_without_naming_the_experiment(compose_cfg):
    assert not compose_cfg().hydra.sweeper.params
    assert compose_cfg(["experiment=quickstart"]).hydra.sweeper.params


def test_config_tree_is_the_repository_s_or_the_environment_s(monkeypatch, tmp_path):
    from sparsity_lab.errors import ConfigError

    assert config_dir() == REPO / "configs"  # an editable install reads the repository's tree
    monkeypatch.setenv("SPARSITY_LAB_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="no Hydra config tree"):
        config_dir()
    (tmp_path / "config.yaml").write_text("seed: 0\n")
    assert config_dir() == tmp_path


@pytest.mark.parametrize(
    "overrides",
    [[], ["dataset=table"], ["grid=values"], ["+foo.bar=???", "+baz={a: ???, b: [1, ???]}"]],
)
def test_the_check_finds_omegaconf_s_missing_keys_outside_hydra(compose_cfg, overrides):
    from sparsity_lab.sweep import task_missing_keys

    cfg = compose_cfg(overrides)
    task = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    assert task_missing_keys(cfg) == OmegaConf.missing_keys(task)
    assert OmegaConf.is_missing(cfg.hydra.job, "num")  # hydra's own are left out
    assert not any(key.startswith("hydra") for key in task_missing_keys(cfg))
