"""Efron, Hastie, Johnstone and Tibshirani (2004), Least Angle Regression: the order in which
the 10 diabetes variables enter the Lasso path.

The job is the generic path job plus ``entry_order``: the order in which the features become
nonzero as alpha decreases along the grid (rank 1 first; ties share a rank, so the grid must be
fine enough to separate the entries), and how often each leaves the active set again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.studies.base import Study, StudyTable, table_lines


class LarsDiabetes(Study):
    name = "lars_diabetes"
    tables = (
        StudyTable("entry_order", "one row per feature: its entry rank and alpha along the path"),
    )

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab import metrics
        from sparsity_lab.runner import run_path_job

        tables = run_path_job(cfg, model_name, on_fit=on_fit)
        coefs = tables["coefs"]
        alphas = coefs["alpha"].unique()
        features = list(dict.fromkeys(coefs["feature"]))
        W = coefs.pivot(index="alpha", columns="feature", values="coef").loc[alphas, features]
        first = metrics.entry_alphas(W.to_numpy(), alphas)
        amax = float(coefs["alpha"].iloc[0] / coefs["alpha_ratio"].iloc[0])
        tables["entry_order"] = pd.DataFrame(
            {
                "study": coefs["study"].iloc[0],
                "dataset": coefs["dataset"].iloc[0],
                "model": model_name,
                "feature": features,
                "feature_index": np.arange(1, len(features) + 1),
                "entry_rank": metrics.entry_ranks(first),
                "entry_alpha_ratio": first / amax,
                "n_exits": metrics.count_exits(W.to_numpy()),
            }
        )
        return tables

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        return table_lines("entry_order", tables["entry_order"])


STUDY = LarsDiabetes()
