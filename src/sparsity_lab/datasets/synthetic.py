"""Synthetic regression problems with a known sparse truth."""

from __future__ import annotations

import numpy as np

from sparsity_lab.datasets.base import DataError, Dataset


def toeplitz_design(n_samples: int, n_features: int, rho: float, rng: np.random.Generator):
    """Gaussian design with unit variances and corr(X_i, X_j) = rho^|i-j|.

    Built as an AR(1) recursion over the columns, O(n p), so no p x p Cholesky is needed.
    """
    X = rng.standard_normal((n_samples, n_features))
    if rho != 0.0:
        scale = np.sqrt(1.0 - rho**2)
        for j in range(1, n_features):
            X[:, j] = rho * X[:, j - 1] + scale * X[:, j]
    return X


def make_synthetic(
    n_samples: int = 500,
    n_features: int = 100,
    n_informative: int = 10,
    rho: float = 0.5,
    noise: float = 1.0,
    random_state: int = 0,
    name: str = "synthetic",
) -> Dataset:
    """Sparse linear model ``y = X beta + noise * eps`` on a Toeplitz-correlated Gaussian design.

    ``beta`` has ``n_informative`` nonzero entries, at random positions, equal to +-1 with
    random signs. The truth is kept in ``Dataset.true_coef`` for support recovery.
    """
    _check_int("n_samples", n_samples, 2)
    _check_int("n_features", n_features, 1)
    _check_int("n_informative", n_informative, 0)
    if n_informative > n_features:
        raise DataError(
            f"dataset.n_informative={n_informative} exceeds dataset.n_features={n_features}; "
            "allowed: 0 <= n_informative <= n_features"
        )
    if not -1.0 < rho < 1.0:
        raise DataError(f"dataset.rho={rho}: allowed values are -1 < rho < 1")
    if noise < 0:
        raise DataError(f"dataset.noise={noise}: allowed values are noise >= 0")

    rng = np.random.default_rng(random_state)
    X = toeplitz_design(n_samples, n_features, rho, rng)
    beta = np.zeros(n_features)
    support = rng.choice(n_features, size=n_informative, replace=False)
    beta[support] = rng.choice([-1.0, 1.0], size=n_informative)
    y = X @ beta + noise * rng.standard_normal(n_samples)
    width = len(str(n_features - 1))
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=[f"x{j:0{width}d}" for j in range(n_features)],
        true_coef=beta,
        target="y",
    )


def _check_int(field: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DataError(f"dataset.{field}={value!r}: allowed values are integers >= {minimum}")
