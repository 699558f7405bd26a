"""The Hydra config tree: where it is, and the resolvers its files use."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from sparsity_lab.errors import ConfigError


def config_dir() -> Path:
    """The Hydra config tree: $SPARSITY_LAB_CONFIG_DIR, else the repository's configs/."""
    env = os.environ.get("SPARSITY_LAB_CONFIG_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "configs"
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"no Hydra config tree at {path}; install the package in editable mode from the "
            "repository (make setup) or set SPARSITY_LAB_CONFIG_DIR"
        )
    return path


def new_run_id() -> str:
    """A timestamp plus a random suffix: distinct even for two runs started in the same second."""
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def register_resolvers() -> None:
    """Register the resolvers ``configs/config.yaml`` uses (``sl_run_id``, ``sl_pad``).

    Call it before composing or resolving a config of the tree (idempotent).
    """
    # use_cache: a run id is drawn once per config; Hydra copies the cache into each job's config
    OmegaConf.register_new_resolver("sl_run_id", new_run_id, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("sl_pad", lambda num: f"{int(num):04d}", replace=True)
    # the terminal's log level: INFO with verbose=true, else warnings only (job.log keeps INFO)
    OmegaConf.register_new_resolver("sl_log_level", _log_level, replace=True)


def _log_level(verbose) -> str:
    """The terminal's log level for the config key ``verbose`` (a YAML boolean: ``off`` is
    false; anything else that is not a boolean is refused before launch)."""
    from sparsity_lab.checks import yaml_bool

    try:
        return "INFO" if yaml_bool(verbose, "verbose") else "WARNING"
    except ConfigError:  # the pre-launch check reports it; `--cfg` prints the config as is
        return "WARNING"
