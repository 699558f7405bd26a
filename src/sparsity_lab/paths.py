"""Where the Hydra config tree is, for every module that reads it."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The Hydra config tree: $SPARSITY_LAB_CONFIG_DIR, else the repository's configs/."""
    env = os.environ.get("SPARSITY_LAB_CONFIG_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "configs"
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(
            f"no Hydra config tree at {path}; install the package in editable mode from the "
            "repository (make setup) or set SPARSITY_LAB_CONFIG_DIR"
        )
    return path
