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
