"""One job: config -> data -> fits along the grid -> tidy rows. No file I/O here."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from sparsity_lab import metrics
from sparsity_lab.datasets import DataError, PreparedData, prepare
from sparsity_lab.regularization import (
    GridError,
    PathResult,
    TrainingData,
    check_alphas,
    fit_path,
    log_grid_ratios,
    model_alpha_max,
    objective_l1_ratio,
)
from sparsity_lab.results import COEFS_COLUMNS, FITS_COLUMNS

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config value outside what is allowed."""


def build(group: str, node):
    """instantiate() with the loader's or estimator's own error as the message."""
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, ValueError):  # DataError and friends: already one line
            raise exc.__cause__ from None
        cause = exc.__cause__ or exc
        first = str(cause).strip().splitlines()[-1] if str(cause).strip() else repr(cause)
        raise ConfigError(f"{group}: {first}") from None


def load_prepared(cfg: DictConfig) -> tuple[str, PreparedData]:
    """Instantiate the dataset's loader and preprocess it: (dataset name, prepared data)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    test_size = params.pop("test_size", 0.25)  # the runner's key; the rest go to the loader
    try:
        test_size = float(test_size)
    except (TypeError, ValueError):
        raise DataError(
            f"dataset.test_size={test_size!r}: allowed values are numbers 0 <= test_size < 1"
        ) from None
    dataset = build("dataset", params)
    return dataset.name, prepare(dataset, test_size=test_size, seed=int(cfg.seed))


def grid_alphas(grid: DictConfig, amax: float) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, alpha_ratios), largest alpha first, from a `log` or `values` grid config."""
    kind = grid.get("kind")
    if kind == "log":
        ratios = log_grid_ratios(grid.num, float(grid.min_ratio))
        return ratios * amax, ratios
    if kind == "values":
        if OmegaConf.is_missing(grid, "values"):
            raise GridError("grid.values is missing: give e.g. grid.values=[0.1,1.0]")
        alphas = check_alphas(grid["values"])
        return alphas, alphas / amax if amax > 0 else np.full(alphas.shape, np.nan)
    raise GridError(f"grid.kind={kind!r}: allowed values are log, values")


def check_config(cfg: DictConfig) -> None:
    """Top-level values every job needs."""
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed={seed!r}: allowed values are integers >= 0")
    zero_tol = cfg.get("zero_tol")
    if isinstance(zero_tol, bool) or not isinstance(zero_tol, int | float) or zero_tol < 0:
        raise ConfigError(f"zero_tol={zero_tol!r}: allowed values are numbers >= 0")


def run_job(cfg: DictConfig, model_name: str, study: str | None = None) -> dict[str, pd.DataFrame]:
    """Run the job the config names (``task``, default ``path``) and return its tables."""
    task = cfg.get("task", "path")
    if task not in TASKS:
        raise ConfigError(f"task={task!r}: allowed values are {', '.join(TASKS)}")
    return TASKS[task](cfg, model_name, study)


def run_path_job(
    cfg: DictConfig, model_name: str, study: str | None = None
) -> dict[str, pd.DataFrame]:
    """Fit one (dataset, model, seed) along the whole grid and return its tidy tables.

    Parameters
    ----------
    cfg : DictConfig
        A composed job config (dataset, model, grid, seed, zero_tol, study).
    model_name : str
        The model's name in the tables (the config-group choice, e.g. ``lasso``).
    study : str, optional
        Defaults to ``cfg.study``.
    """
    check_config(cfg)
    study = study or cfg.study
    dataset_name, prep = load_prepared(cfg)
    estimator = build("model", cfg.model)
    data = TrainingData(prep.X_train, prep.y_train)
    l1_ratio = objective_l1_ratio(estimator)
    amax_l1 = float(np.max(np.abs(data.Xty)) / data.n_samples)
    alphas, ratios = grid_alphas(cfg.grid, model_alpha_max(amax_l1, l1_ratio))
    log.info(
        "%s / %s: n=%d p=%d, %d alphas from %.4g", dataset_name, model_name,
        data.n_samples, data.n_features, len(alphas), alphas[0],
    )  # fmt: skip
    path = fit_path(estimator, data, alphas)
    ident = {"study": study, "dataset": dataset_name, "model": model_name, "seed": int(cfg.seed)}
    fits = path_fits_table(path, ratios, data, prep, l1_ratio, float(cfg.zero_tol), ident)
    coefs = path_coefs_table(path, ratios, prep, ident)
    return {"fits": fits, "coefs": coefs}


def path_fits_table(
    path: PathResult,
    ratios: np.ndarray,
    data: TrainingData,
    prep: PreparedData,
    l1_ratio: float,
    zero_tol: float,
    ident: dict,
) -> pd.DataFrame:
    """One row per alpha with every column of the fits contract."""
    W, alphas, n = path.coefs, path.alphas, data.n_samples
    XtR, rss = data.residual_products(np.nan_to_num(W, nan=0.0))
    finite = np.isfinite(W).all(axis=1)
    precision, recall, f1 = metrics.support_scores(W, prep.true_coef)
    Y_test = prep.X_test @ W.T + prep.y_offset
    if np.isfinite(l1_ratio):
        obj = metrics.objective(rss, W, alphas, l1_ratio, n)
        gap = metrics.duality_gap(W, XtR, rss, data.Xty, data.yty, alphas, l1_ratio, n)
        kkt = metrics.kkt_violation(W, XtR, alphas, l1_ratio, n)
        col_sq_norms = np.einsum("ij,ij->j", data.X, data.X)
        safe = metrics.gap_safe_zeros(W, XtR, gap, col_sq_norms, alphas, l1_ratio, n)
        certified = metrics.count_certified_zeros(W, safe).astype(np.float64)
    else:  # a penalty the suite does not know: no certificate
        obj = gap = kkt = certified = np.full(len(alphas), np.nan)
    nan_where_broken = lambda v: np.where(finite, v, np.nan)  # noqa: E731
    fits = pd.DataFrame(
        {
            **ident,
            "alpha": alphas,
            "alpha_ratio": ratios,
            "n_samples": n,
            "n_features": data.n_features,
            "n_zero": metrics.count_exact_zeros(W),
            "n_zero_certified": nan_where_broken(certified),
            "n_nonzero": metrics.count_nonzero(W),
            "n_tiny": metrics.count_tiny(W, zero_tol),
            "zero_tol": zero_tol,
            "support_precision": precision,
            "support_recall": recall,
            "support_f1": f1,
            "train_mse": nan_where_broken(rss / n),
            "test_mse": metrics.mse(prep.y_test, Y_test),
            "test_r2": metrics.r2(prep.y_test, Y_test),
            "objective": nan_where_broken(obj),
            "duality_gap": nan_where_broken(gap),
            "kkt_violation": nan_where_broken(kkt),
            "n_iter": path.n_iter,
            "converged": path.converged,
            "fit_seconds": path.fit_seconds,
            "status": path.status,
            "message": path.message,
        }
    )
    return fits[list(FITS_COLUMNS)]


def path_coefs_table(
    path: PathResult, ratios: np.ndarray, prep: PreparedData, ident: dict
) -> pd.DataFrame:
    """Long form: one row per coefficient of every fit (standardised-feature scale)."""
    K, p = path.coefs.shape
    true = prep.true_coef if prep.true_coef is not None else np.full(p, np.nan)
    coefs = pd.DataFrame(
        {
            **ident,
            "alpha": np.repeat(path.alphas, p),
            "alpha_ratio": np.repeat(ratios, p),
            "feature": np.tile(np.asarray(prep.feature_names, dtype=object), K),
            "coef": path.coefs.ravel(),
            "true_coef": np.tile(true, K),
        }
    )
    return coefs[list(COEFS_COLUMNS)]


def run_toy_job(
    cfg: DictConfig, model_name: str, study: str | None = None
) -> dict[str, pd.DataFrame]:
    """The seed note's 1-D example: trajectories of the L1 and L2 rules in every dtype asked.

    No dataset and no model: the fits and coefs tables are empty.
    """
    from sparsity_lab.toy import trajectories

    toy = cfg.toy
    dtypes = [toy.dtypes] if isinstance(toy.dtypes, str) else list(toy.dtypes)
    table = pd.concat(
        [trajectories(toy.w0, toy.eta, toy.n_steps, dtype) for dtype in dtypes], ignore_index=True
    )
    table.insert(0, "study", study or cfg.study)
    empty = {name: pd.DataFrame({c: [] for c in cols}) for name, cols in
             (("fits", FITS_COLUMNS), ("coefs", COEFS_COLUMNS))}  # fmt: skip
    return {**empty, "trajectories": table}


#: What a job can be (config key ``task``).
TASKS = {"path": run_path_job, "seed_toy": run_toy_job}
