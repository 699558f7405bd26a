"""Every Lasso and elastic-net row of the frozen study summaries against a reference that is not
the suite's: scikit-learn's LARS-lasso homotopy (``lars_path``, Lasso rows) and scikit-learn's
coordinate descent at tol 1e-15 (elastic-net rows; the L2 part makes it converge fast).

The frozen counts are exact zeros of the optimum; the reference's zeros are its coefficients
below 1e-9 of its largest (its iterates stop at rounding, not at 0.0).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, lars_path

from conftest import REPO

EXPERIMENTS = REPO / "experiments"
SLOW = {"highdim", "tecator", "permeability_qsar"}


def reference_zero_counts(X, y, alphas, l1_ratio):
    """Zero counts of scikit-learn's optimum at each alpha (largest first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if l1_ratio == 1.0:
            knots, _, path = lars_path(X, y, method="lasso", alpha_min=float(min(alphas)))
            W = []
            for a in alphas:
                k = int(np.searchsorted(-knots, -a))
                if k == 0:
                    W.append(path[:, 0])
                    continue
                k = min(k, len(knots) - 1)
                t = (knots[k - 1] - a) / (knots[k - 1] - knots[k])
                W.append(path[:, k - 1] + t * (path[:, k] - path[:, k - 1]))
        else:
            W = [
                ElasticNet(alpha=a, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-15,
                           max_iter=10**6).fit(X, y).coef_
                for a in alphas
            ]  # fmt: skip
    W = np.array(W)
    scale = np.maximum(np.abs(W).max(axis=1, keepdims=True), 1e-300)
    return (np.abs(W) <= 1e-9 * scale).sum(axis=1)


def frozen_rows(study):
    frozen = pd.read_csv(EXPERIMENTS / study / "expected_summary.csv")
    rows = frozen[frozen["model"].isin(["lasso", "elasticnet"])]
    return [
        pytest.param(study, dataset, model, marks=[pytest.mark.slow] if dataset in SLOW else [])
        for (dataset, model) in rows[["dataset", "model"]].drop_duplicates().values
    ]


@pytest.mark.parametrize(
    ("study", "dataset", "model"), frozen_rows("l1_vs_l2") + frozen_rows("sgd_exact_zeros")
)
def test_frozen_rows_are_the_reference_optimum(compose_cfg, study, dataset, model):
    from sparsity_lab.runner import load_prepared

    cfg = compose_cfg([f"dataset={dataset}", f"model={model}", "seed=0"])
    _, prep = load_prepared(cfg)
    X, y = prep.X_train, prep.y_train
    l1_ratio = float(cfg.model.get("l1_ratio", 1.0))
    amax = np.max(np.abs(X.T @ y)) / X.shape[0] / l1_ratio
    frozen = pd.read_csv(EXPERIMENTS / study / "expected_summary.csv")
    rows = frozen[(frozen["dataset"] == dataset) & (frozen["model"] == model)]
    rows = rows.sort_values("alpha_ratio", ascending=False)
    expected = reference_zero_counts(X, y, rows["alpha_ratio"].to_numpy() * amax, l1_ratio)
    assert rows["n_zero"].tolist() == expected.tolist()
    # every frozen zero of the optimum is proved (gap-safe) or a tie on the KKT boundary
    assert (rows["n_zero_certified"] + rows["n_zero_boundary"] == rows["n_zero"]).all()
