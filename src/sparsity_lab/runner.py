"""One job: config -> data -> fits along the grid -> tidy rows. No file I/O here."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from sparsity_lab import metrics, solvers, studies
from sparsity_lab.datasets import DataError, Dataset, PreparedData, prepare
from sparsity_lab.errors import ConfigError
from sparsity_lab.regularization import (
    FitCallback,
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


def load_dataset(cfg: DictConfig) -> tuple[Dataset, float]:
    """Instantiate the dataset's loader: (dataset, test_size)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    test_size = params.pop("test_size", 0.25)  # the runner's key; the rest go to the loader
    try:
        test_size = float(test_size)
    except (TypeError, ValueError):
        raise DataError(
            f"dataset.test_size={test_size!r}: allowed values are numbers 0 <= test_size < 1"
        ) from None
    return build("dataset", params), test_size


def load_prepared(cfg: DictConfig) -> tuple[str, PreparedData]:
    """Instantiate the dataset's loader and preprocess it: (dataset name, prepared data)."""
    dataset, test_size = load_dataset(cfg)
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


def run_job(
    cfg: DictConfig, model_name: str, on_fit: FitCallback | None = None
) -> dict[str, pd.DataFrame]:
    """Run the job the config names (``task``: ``path`` or a study of
    :mod:`sparsity_lab.studies`) and return its tables.

    ``on_fit(k, K)`` is called after each fit along a grid (jobs without a grid ignore it).
    """
    return studies.get(cfg.get("task", "path")).run(cfg, model_name, on_fit=on_fit)


def run_path_job(
    cfg: DictConfig,
    model_name: str,
    on_fit: FitCallback | None = None,
    loaded: tuple[Dataset, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Fit one (dataset, model, seed) along the whole grid and return its tidy tables.

    Parameters
    ----------
    cfg : DictConfig
        A composed job config (dataset, model, grid, seed, zero_tol, study).
    model_name : str
        The model's name in the tables (the config-group choice, e.g. ``lasso``).
    on_fit : callable, optional
        Progress callback, ``on_fit(k, K)``.
    loaded : (Dataset, test_size), optional
        The dataset when the caller has loaded it already (from :func:`load_dataset`).
    """
    check_config(cfg)
    dataset, test_size = loaded if loaded is not None else load_dataset(cfg)
    name = dataset.name
    prep = prepare(dataset, test_size=test_size, seed=int(cfg.seed))
    estimator = build("model", cfg.model)
    data = TrainingData(prep.X_train, prep.y_train)
    l1_ratio = objective_l1_ratio(estimator)
    amax_l1 = float(np.max(np.abs(data.Xty)) / data.n_samples)
    alphas, ratios = grid_alphas(cfg.grid, model_alpha_max(amax_l1, l1_ratio))
    log.info(
        "%s / %s: n=%d p=%d, %d alphas from %.4g", name, model_name,
        data.n_samples, data.n_features, len(alphas), alphas[0],
    )  # fmt: skip
    path = fit_path(estimator, data, alphas, on_fit=on_fit)
    ident = {"study": cfg.study, "dataset": name, "model": model_name, "seed": int(cfg.seed)}
    fits = path_fits_table(path, ratios, data, prep, l1_ratio, float(cfg.zero_tol), ident)
    coefs = path_coefs_table(path, ratios, prep, ident)
    tables = {"fits": fits, "coefs": coefs}
    if cfg.get("summary_ratios") is not None:  # studies freeze a few grid points of the path
        tables["summary"] = summary_table(fits, list(cfg.summary_ratios))
    return tables


#: Columns of a study's ``summary`` table: the keys and the counts it freezes.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "study", "dataset", "model", "alpha_ratio", "seed", "n_features", "n_zero",
    "n_zero_certified", "n_zero_boundary", "n_zero_optimum", "n_false_zero", "n_missed_zero",
    "n_nonzero", "duality_gap", "status",
)  # fmt: skip


def summary_table(fits: pd.DataFrame, ratios: list[float]) -> pd.DataFrame:
    """The fits rows at the grid points nearest to ``ratios`` (alpha / alpha_max), with the
    asked ratio as ``alpha_ratio`` so that runs on different grids line up.

    Parameters
    ----------
    fits : DataFrame
        One job's fits table (one dataset, model and seed).
    ratios : list of float
        Ratios to keep; each must lie within 1% (relative) of a grid point.
    """
    rows = []
    grid = fits["alpha_ratio"].to_numpy(dtype=np.float64)
    for ratio in ratios:
        k = int(np.argmin(np.abs(grid - ratio)))
        if not np.isclose(grid[k], ratio, rtol=1e-2, atol=0.0):
            raise ConfigError(
                f"summary_ratios: {ratio} is not on the grid (nearest {grid[k]:.4g}); use a log "
                "grid that contains it, e.g. grid.num=31 grid.min_ratio=1e-3 for the decades"
            )
        rows.append(fits.iloc[k].to_dict() | {"alpha_ratio": float(ratio)})
    return pd.DataFrame(rows, columns=fits.columns)[list(SUMMARY_COLUMNS)]


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
        boundary = metrics.boundary_zeros(W, XtR, alphas, l1_ratio, n).sum(axis=1)
    else:  # a penalty the suite does not know: no certificate
        obj = gap = kkt = certified = boundary = np.full(len(alphas), np.nan)
    vs_optimum = optimum_columns(path, data, l1_ratio)
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
            "n_zero_boundary": nan_where_broken(boundary),
            **{k: nan_where_broken(v) for k, v in vs_optimum.items()},
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


def optimum_columns(path: PathResult, data: TrainingData, l1_ratio: float) -> dict:
    """``n_zero_optimum``, ``n_false_zero``, ``n_missed_zero`` of each fit: against itself on the
    exact route, against the optimum at the same alphas on the same rows otherwise (SGD, cd);
    NaN without an L1 part (Ridge, SGD L2) and where the optimum is not reached."""
    W, K = path.coefs, len(path.alphas)
    if not (np.isfinite(l1_ratio) and l1_ratio > 0):
        return {k: np.full(K, np.nan) for k in ("n_zero_optimum", "n_false_zero", "n_missed_zero")}
    if path.exact:
        counts = metrics.optimum_zero_counts(W, W)
        ok = np.asarray(path.converged)
    else:
        opt = solvers.exact_path(data.X, data.y, data.Xty, data.gram, path.alphas, l1_ratio)
        counts = metrics.optimum_zero_counts(W, opt.coefs)
        ok = opt.converged
    return {k: np.where(ok, v, np.nan) for k, v in counts.items()}


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
