"""What a study is: the job it runs, the tables it adds, its pre-launch check, its summary
lines and its figures. The generic ``path`` job is the base class; every study module of this
package defines ``STUDY``, an instance of a subclass named like its config and its
``experiments/`` folder.

runner, cli, sweep and figures only loop over the registry (:mod:`sparsity_lab.studies`); none
of them names a study.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd
from omegaconf import DictConfig

#: A figure a study can draw: (file stem, thunk returning a matplotlib Figure or None, reason).
FigureSpec = tuple[str, Callable[[], object] | None, str | None]


@dataclass(frozen=True)
class StudyTable:
    """A run-level table a study writes beside ``fits`` and ``coefs``.

    ``name`` is the key in the job's table dict; the file is ``<name>.parquet``.
    """

    name: str
    description: str

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"


class Study:
    """The generic job (config ``task: path``): one (dataset, model, seed) along the grid.

    Subclasses override what differs. Heavy imports stay inside the methods, so listing the
    registry costs no scikit-learn import.
    """

    #: The config value ``task`` that selects this study.
    name: str = "path"
    #: Tables this study writes besides fits and coefs (and ``summary`` when the config has
    #: ``summary_ratios``).
    tables: tuple[StudyTable, ...] = ()
    #: Whether the job reads ``dataset``, ``model`` and ``grid`` (checked before launch).
    uses_path: bool = True

    # ------------------------------------------------------------------ before launch
    def check(self, cfg: DictConfig) -> None:
        """Study-specific checks of a job config before anything runs (raise ConfigError)."""

    # ------------------------------------------------------------------ in the job
    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        """The job's tables (``fits``, ``coefs`` and the study's own)."""
        from sparsity_lab.runner import run_path_job

        return run_path_job(cfg, model_name, on_fit=on_fit)

    # ------------------------------------------------------------------ after the run
    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        """Lines the end-of-run summary prints for this study's own tables."""
        return []

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        """The study's own figures, drawn from its tables (never by re-fitting)."""
        return iter(())

    def owns(self, tables: dict[str, pd.DataFrame]) -> bool:
        """Whether a run's tables come from this study: its first (main) table is there or, for
        a study that adds none, the fits name it."""
        if self.tables:
            return self.tables[0].name in tables
        fits = tables.get("fits")
        return fits is not None and "study" in fits and bool((fits["study"] == self.name).any())


def table_lines(title: str, frame: pd.DataFrame, max_rows: int = 40) -> list[str]:
    """A titled plain-text table for the end-of-run summary (nothing when too long)."""
    if len(frame) > max_rows or frame.empty:
        return []
    return ["", f"{title}:", frame.drop(columns="study", errors="ignore").to_string(index=False)]
