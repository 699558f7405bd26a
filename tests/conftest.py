"""Shared fixtures: composing the real config tree, running the CLI in a subprocess."""

from __future__ import annotations

import os

# scikit-learn's estimator checks include a NumPy-only array-API check that skips itself unless
# SciPy's array-API mode is on; it must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# Runs inside the test process write no figures or report either (as run_cli's subprocesses);
# the report's own tests turn it on.
os.environ.setdefault("SPARSITY_LAB_REPORT", "0")
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from sparsity_lab.paths import config_dir, register_resolvers

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def compose_cfg():
    """compose_cfg(overrides) -> the composed config (with its hydra node)."""

    def _compose(overrides=(), **kw):
        register_resolvers()  # what `sparsity-lab run` does before composing
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            return compose("config", overrides=list(overrides), return_hydra_config=True, **kw)

    return _compose


def run_cli(args, cwd: Path, check: bool = True, timeout: float = 300, env=None):
    """Run `sparsity-lab ARGS` in a fresh process; returns the CompletedProcess.

    Runs write no figures or report (SPARSITY_LAB_REPORT=0) unless ``env`` says otherwise.
    """
    env = {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONWARNINGS": "ignore",
           "SPARSITY_LAB_REPORT": "0", **(env or {})}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "sparsity_lab.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def fit_objective(X, y, coef, intercept, alpha, penalty) -> float:
    """The shared objective at one fit with an intercept (the suite's formula, per fit)."""
    from sparsity_lab.metrics import objective

    residual = y - X @ coef - intercept
    rss = np.array([residual @ residual])
    return float(objective(rss, coef[None, :], [alpha], penalty.l1_ratio, len(y))[0])


def results_line(stdout: str) -> Path:
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("results: "), last
    return Path(last.removeprefix("results: "))
