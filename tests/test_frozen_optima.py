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


def distinct_columns(X):
    """X without columns that repeat an earlier one up to sign (permeability_qsar's binary
    fingerprints: 1000 columns, 278 distinct on its training rows)."""
    first = np.argmax(np.abs(X) > 1e-12, axis=0)
    sign = np.sign(X[first, np.arange(X.shape[1])])
    _, keep = np.unique(np.round(X * sign, 10), axis=1, return_index=True)
    return X[:, np.sort(keep)]


def reference_zero_counts(X, y, alphas, l1_ratio):
    """Zero counts of scikit-learn's optimum at each alpha (largest first).

    Lasso: LARS on the distinct columns. A Lasso optimum puts a group of identical columns'
    weight on one of them (the others are ties, zeros on the KKT boundary), so its zeros are
    p minus the nonzeros of the problem without the repeats (LARS itself stops early on the
    repeats). The elastic net splits such weight evenly: no reduction.
    """
    p = X.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if l1_ratio == 1.0:
            X = distinct_columns(X)
            knots, _, path = lars_path(X, y, method="lasso", alpha_min=float(min(alphas)))
            W = []
            for a in alphas:
                k = int(np.searchsorted(-knots, -a))
                if k == 0 or a >= knots[0] * (1 - 1e-12):  # alpha_max (up to rounding): all 0
                    W.append(np.zeros(X.shape[1]))
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
    return p - (np.abs(W) > 1e-9 * scale).sum(axis=1)


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
