"""The Hydra config tree: where it is, and the resolvers its files use."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from numbers import Integral
from pathlib import Path

from omegaconf import OmegaConf

from sparsity_lab.errors import ConfigError

#: What YAML (1.1) calls a boolean, plus 1 and 0 (``SPARSITY_LAB_REPORT=0``), lower-cased.
TRUE_WORDS = ("true", "yes", "on", "y", "1")
FALSE_WORDS = ("false", "no", "off", "n", "0")


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
    try:
        return "INFO" if yaml_bool(verbose, "verbose") else "WARNING"
    except ConfigError:  # the pre-launch check reports it; `--cfg` prints the config as is
        return "WARNING"


def yaml_bool(value, name: str) -> bool:
    """``value`` as a boolean when YAML calls it one (true/false, yes/no, on/off, y/n, any
    case) or it is 1 or 0; else :class:`ConfigError` naming ``name`` and the allowed values."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Integral) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(
        f"{name}={value!r}: allowed values are true or false (also yes/no, on/off, 1/0)"
    )
