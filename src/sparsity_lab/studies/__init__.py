"""The catalog's studies, one module each (named like its config ``configs/experiment/<name>``
and its folder ``experiments/<name>/``), and the registry that runner, cli, sweep and figures
loop over.

Adding a study: a module here defining ``STUDY`` (a :class:`~sparsity_lab.studies.base.Study`
subclass whose ``name`` is the module's name), a config with ``task: <name>``, and its
``experiments/`` folder. Nothing else names it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import TYPE_CHECKING

from sparsity_lab.errors import ConfigError
from sparsity_lab.schema import CORE_TABLES, Table
from sparsity_lab.studies.base import Study, StudyTable

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

__all__ = ["Study", "StudyTable", "all_studies", "all_tables", "get", "names", "run_job"]

_GENERIC = Study()


@cache
def names() -> tuple[str, ...]:
    """Every value ``task`` may take: ``path`` (the generic job) and each study module."""
    modules = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return (_GENERIC.name, *(m for m in modules if m != "base"))


def get(name: str) -> Study:
    """The study that ``task: <name>`` selects.

    Raises
    ------
    ConfigError
        ``name`` is not a study.
    """
    if name == _GENERIC.name:
        return _GENERIC
    if name not in names():
        raise ConfigError(f"task={name!r}: allowed values are {', '.join(names())}")
    study = importlib.import_module(f"{__name__}.{name}").STUDY
    assert study.name == name, f"studies/{name}.py defines STUDY named {study.name!r}"
    return study


def all_studies() -> list[Study]:
    """Every study, the generic path job first."""
    return [get(name) for name in names()]


def run_job(cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
    """Run the job the config names (``task``: ``path`` or a study of this package) and return
    its tables.

    ``on_fit(k, K)`` is called after each fit along a grid (jobs without a grid ignore it).
    """
    return get(cfg.get("task", "path")).run(cfg, model_name, on_fit=on_fit)


def all_tables() -> dict[str, Table]:
    """Every table the suite writes: the core tables (:mod:`sparsity_lab.schema`), then each
    study's, by name."""
    tables = {t.name: t for t in CORE_TABLES}
    for study in all_studies():
        tables.update({t.name: t for t in study.tables})
    return tables
