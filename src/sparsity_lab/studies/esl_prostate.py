"""ESL Table 3.3 (Hastie, Tibshirani, Friedman, 2nd ed.): least squares and the lasso on the
prostate data, the way the book computes them.

The book standardises the predictors on all 97 rows (R's ``scale``: mean 0, sd with ddof = 1),
fits on its 67 training rows with an unpenalised intercept and reports coefficients in those
units, the mean squared error on the 30 test rows and its standard error (sd of the squared
errors / sqrt(30)). Its lasso is chosen by 10-fold cross-validation in the constraint form,
parametrised by the shrinkage factor s = ||beta_lasso||_1 / ||beta_LS||_1.

Here the lasso is the shared objective's (1/(2n) ||y - Xw - b||^2 + alpha ||w||_1) at the alpha
whose solution has a given shrinkage s (found by root finding on the monotone map
alpha -> ||w(alpha)||_1), so that the book's own s can be matched; :func:`esl_lasso_cv` redoes
the book's cross-validation with seeded folds (the book's folds are not published).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.datasets import DataError, Dataset
from sparsity_lab.errors import ConfigError
from sparsity_lab.schema import columns
from sparsity_lab.studies.base import Study, StudyTable, table_lines

#: Columns of both tables (long form: one row per method and term).
_COLUMNS = columns(
    "study:str dataset:str method:str term:str value:float alpha:float alpha_ratio:float "
    "shrinkage:float"
)
#: Coordinate-descent tolerance: tight enough for three published decimals.
TOL = 1e-12


def _esl_design(dataset: Dataset):
    if dataset.train_index is None:
        raise DataError(
            "esl: the dataset has no fixed split; allowed: dataset=prostate dataset.split=esl"
        )
    X = (dataset.X - dataset.X.mean(axis=0)) / dataset.X.std(axis=0, ddof=1)
    train = np.sort(np.asarray(dataset.train_index))
    test = np.setdiff1d(np.arange(dataset.n_samples), train)
    return X[train], dataset.y[train], X[test], dataset.y[test]


def _lasso(Xc: np.ndarray, yc: np.ndarray, alpha: float) -> np.ndarray:
    from sklearn.linear_model import Lasso

    est = Lasso(alpha=alpha, fit_intercept=False, tol=TOL, max_iter=1_000_000)
    return est.fit(Xc, yc).coef_


def _test_errors(beta0, beta, X_te, y_te) -> tuple[float, float]:
    sq = (y_te - beta0 - X_te @ beta) ** 2
    return float(sq.mean()), float(sq.std(ddof=1) / np.sqrt(sq.size))


def _rows(method, names, beta0, beta, X_te, y_te, alpha, alpha_max, shrinkage) -> pd.DataFrame:
    err, se = _test_errors(beta0, beta, X_te, y_te)
    terms = ["intercept", *names, "test_error", "std_error"]
    values = [beta0, *beta, err, se]
    return pd.DataFrame(
        {
            "dataset": "prostate",
            "method": method,
            "term": terms,
            "value": values,
            "alpha": alpha,
            "alpha_ratio": alpha / alpha_max if alpha_max > 0 else np.nan,
            "shrinkage": shrinkage,
        }
    )


def esl_table(dataset: Dataset, shrinkage: float) -> pd.DataFrame:
    """Table 3.3's LS and lasso columns, long form.

    Parameters
    ----------
    dataset : Dataset
        The prostate data with the book's split (``load_prostate(split="esl")``).
    shrinkage : float in (0, 1)
        The lasso's s = ||beta_lasso||_1 / ||beta_LS||_1.

    Returns
    -------
    DataFrame, shape (2 * (n_features + 3), 7)
        ``dataset, method (ls | lasso), term (intercept, <feature>, test_error, std_error),
        value, alpha, alpha_ratio, shrinkage`` (alpha in the shared scale; 0 for LS).
    """
    from scipy.optimize import brentq

    from sparsity_lab.regularization import alpha_max

    if not 0.0 < float(shrinkage) < 1.0:
        raise ConfigError(f"esl.shrinkage={shrinkage!r}: allowed values are 0 < shrinkage < 1")
    X_tr, y_tr, X_te, y_te = _esl_design(dataset)
    x_bar, y_bar = X_tr.mean(axis=0), y_tr.mean()
    Xc, yc = X_tr - x_bar, y_tr - y_bar
    amax = alpha_max(Xc, yc, centred=True)
    beta_ls = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    budget = float(shrinkage) * np.abs(beta_ls).sum()
    # ||w(alpha)||_1 decreases from ||beta_LS||_1 (alpha -> 0) to 0 (alpha_max): one root
    alpha = brentq(
        lambda a: np.abs(_lasso(Xc, yc, a)).sum() - budget,
        1e-8 * amax, amax, xtol=1e-14, rtol=1e-12,
    )  # fmt: skip
    beta = _lasso(Xc, yc, alpha)
    names = dataset.feature_names
    return pd.concat(
        [
            _rows("ls", names, y_bar - x_bar @ beta_ls, beta_ls, X_te, y_te, 0.0, amax, 1.0),
            _rows("lasso", names, y_bar - x_bar @ beta, beta, X_te, y_te, alpha, amax,
                  np.abs(beta).sum() / np.abs(beta_ls).sum()),
        ],
        ignore_index=True,
    )  # fmt: skip


def esl_lasso_cv(
    dataset: Dataset, n_folds: int = 10, seed: int = 0, n_alphas: int = 100
) -> pd.DataFrame:
    """The book's selection rule redone: K-fold CV on the training rows over a log grid of
    alpha, keeping the CV minimum (``lasso_cv_min``) and the largest alpha within one standard
    error of it (``lasso_cv_1se``, the book's rule). Same long form as :func:`esl_table`."""
    from sklearn.model_selection import KFold

    from sparsity_lab.regularization import alpha_max

    X_tr, y_tr, X_te, y_te = _esl_design(dataset)
    x_bar, y_bar = X_tr.mean(axis=0), y_tr.mean()
    Xc, yc = X_tr - x_bar, y_tr - y_bar
    amax = alpha_max(Xc, yc, centred=True)
    alphas = amax * np.logspace(0, -3, n_alphas)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(X_tr)
    errors = np.empty((n_folds, n_alphas))
    for f, (fit, val) in enumerate(folds):
        xm, ym = X_tr[fit].mean(axis=0), y_tr[fit].mean()
        for k, alpha in enumerate(alphas):
            w = _lasso(X_tr[fit] - xm, y_tr[fit] - ym, alpha)
            errors[f, k] = np.mean((y_tr[val] - ym - (X_tr[val] - xm) @ w) ** 2)
    mean, se = errors.mean(axis=0), errors.std(axis=0, ddof=1) / np.sqrt(n_folds)
    best = int(np.argmin(mean))
    one_se = int(np.flatnonzero(mean <= mean[best] + se[best])[0])  # largest such alpha
    beta_ls_l1 = np.abs(np.linalg.lstsq(Xc, yc, rcond=None)[0]).sum()
    parts = []
    for method, k in (("lasso_cv_min", best), ("lasso_cv_1se", one_se)):
        beta = _lasso(Xc, yc, alphas[k])
        parts.append(
            _rows(method, dataset.feature_names, y_bar - x_bar @ beta, beta, X_te, y_te,
                  alphas[k], amax, np.abs(beta).sum() / beta_ls_l1)
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


class EslProstate(Study):
    """ESL Table 3.3's least-squares and lasso columns on the prostate data (the book's split),
    beside the model's path on the same split (so the run's figures show the prostate path)."""

    name = "esl_prostate"
    tables = (
        StudyTable(
            "esl_table_3_3", "the LS and lasso columns of ESL Table 3.3, long form", _COLUMNS
        ),
        StudyTable("esl_lasso_cv", "the book's 10-fold CV redone with seeded folds", _COLUMNS),
    )

    def check(self, cfg: DictConfig) -> None:
        esl = cfg.esl
        shrinkage = esl.shrinkage
        if isinstance(shrinkage, bool) or not isinstance(shrinkage, int | float):
            raise ConfigError(f"esl.shrinkage={shrinkage!r}: allowed values are 0 < shrinkage < 1")
        if not 0.0 < float(shrinkage) < 1.0:
            raise ConfigError(f"esl.shrinkage={shrinkage!r}: allowed values are 0 < shrinkage < 1")
        n_folds = esl.n_folds
        if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
            raise ConfigError(f"esl.n_folds={n_folds!r}: allowed values are integers >= 2")

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab.runner import load_dataset, run_path_job

        dataset, test_size = load_dataset(cfg)
        tables = run_path_job(cfg, model_name, on_fit=on_fit, loaded=(dataset, test_size))
        table = esl_table(dataset, shrinkage=cfg.esl.shrinkage)
        cv = esl_lasso_cv(dataset, n_folds=int(cfg.esl.n_folds), seed=int(cfg.seed))
        for frame in (table, cv):
            frame.insert(0, "study", cfg.study)
        return {**tables, "esl_table_3_3": table, "esl_lasso_cv": cv}

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        return table_lines("esl_table_3_3", tables["esl_table_3_3"])


STUDY = EslProstate()
