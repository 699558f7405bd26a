"""One job: config -> data -> fits along the grid -> tidy rows. No file I/O here."""

from __future__ import annotations

import json
import logging
from functools import lru_cache

import numpy as np
import pandas as pd
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from sparsity_lab import metrics, schema, selection, solvers
from sparsity_lab.datasets import DataError, Dataset, PreparedData, check_test_size, prepare
from sparsity_lab.errors import ConfigError, UserError
from sparsity_lab.gridpoints import nearest_index
from sparsity_lab.instantiate import instantiate
from sparsity_lab.paths import config_dir
from sparsity_lab.penalties import Penalty
from sparsity_lab.regularization import (
    FitCallback,
    GridError,
    PathResult,
    TrainingData,
    alpha_max,
    check_alphas,
    fit_path,
    log_grid_ratios,
    objective_l1_ratio,
    objective_penalty,
)

log = logging.getLogger(__name__)
#: Seeds are 0 <= seed < SEED_LIMIT.
SEED_LIMIT = 2**32


def build(group: str, node):
    """instantiate() with the loader's or estimator's own error as the message.

    The suite's user errors (DataError, ...) pass unchanged; a wrong target, wrong arguments
    (TypeError) or a parameter value the class rejects (ValueError, scikit-learn's convention)
    become a ConfigError naming the group; any other exception is a bug and propagates.
    """
    try:
        return instantiate(node)
    except UserError:
        raise
    except (TypeError, ValueError) as exc:  # a flat config's target, called directly
        raise _config_error(group, exc) from None
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, UserError):  # already one line
            raise cause from None
        if cause is not None and not isinstance(cause, TypeError | ValueError | ImportError):
            raise cause from exc  # a bug in the loader or estimator: its traceback shows
        raise _config_error(group, cause or exc) from None


def _config_error(group: str, cause: BaseException) -> ConfigError:
    """``<group>: <the last line of the cause>`` (the loader's or estimator's own words)."""
    text = str(cause).strip()
    return ConfigError(f"{group}: {text.splitlines()[-1] if text else repr(cause)}")


def load_dataset(cfg: DictConfig) -> tuple[Dataset, float]:
    """Instantiate the dataset's loader: (dataset, test_size)."""
    params = OmegaConf.to_container(cfg.dataset, resolve=True)
    test_size = params.pop("test_size", 0.25)  # the runner's key; the rest go to the loader
    check_test_size(test_size)
    return build("dataset", params), float(test_size)


def validation_size(cfg: DictConfig) -> float | int:
    """The validation rows ``select=validation`` holds out of the training rows (0: none)."""
    select = cfg.get("select")
    if select is None or select.get("kind") != "validation":
        return 0
    return select.get("validation_size")


def prepare_for_job(dataset: Dataset, test_size: float, cfg: DictConfig) -> PreparedData:
    """``prepare`` with the job's seed and validation rows; with ``select=cv`` the folds must
    fit in the training rows."""
    prep = prepare(dataset, test_size=test_size, seed=int(cfg.seed),
                   validation_size=validation_size(cfg))  # fmt: skip
    select = cfg.get("select")
    if select is not None and select.get("kind") == "cv":
        selection.cv_folds(prep.n_samples, select.n_folds, int(cfg.seed))  # its one check
    return prep


def load_prepared(cfg: DictConfig) -> tuple[str, PreparedData]:
    """Instantiate the dataset's loader and preprocess it: (dataset name, prepared data)."""
    dataset, test_size = load_dataset(cfg)
    return dataset.name, prepare_for_job(dataset, test_size, cfg)


def grid_alphas(grid: DictConfig, amax: float) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, alpha_ratios), largest alpha first, from a `log` or `values` grid config."""
    kind = grid.get("kind")
    if kind == "log":
        ratios = log_grid_ratios(grid.num, grid.min_ratio)
        return ratios * amax, ratios
    if kind == "values":
        if OmegaConf.is_missing(grid, "values"):
            raise GridError("grid.values is missing: give e.g. grid.values=[0.1,1.0]")
        alphas = check_alphas(grid["values"])
        return alphas, alphas / amax if amax > 0 else np.full(alphas.shape, np.nan)
    raise GridError(f"grid.kind={kind!r}: allowed values are log, values")


def _canonical(value) -> str:
    """A parameter value as text: floats by their shortest round-trip form (1e-4 -> 0.0001)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


@lru_cache(maxsize=64)
def _model_file(path: str, mtime_ns: int, size: int) -> dict:
    """A model config file's values, unresolved (parsed once per version of the file: every
    job of a sweep reads its model's file)."""
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


def model_variant(model: DictConfig, model_name: str) -> str:
    """The model's parameters that differ from its config file ``configs/model/<name>.yaml``,
    as ``key=value`` sorted by key and joined by ``,`` (``""`` when none, or when no such
    file exists); a key the job removed is ``~key``.

    Part of a fit's identity (the ``variant`` column), so that a sweep over a model parameter
    (``model.tol=1e-4,1e-6``) gives distinct rows.
    """
    file = config_dir() / "model" / f"{model_name}.yaml"
    try:
        stat = file.stat()
    except OSError:
        return ""
    # unresolved on both sides: ``random_state: ${seed}`` is the file's value, not a change
    default = _model_file(str(file), stat.st_mtime_ns, stat.st_size)
    actual = OmegaConf.to_container(model, resolve=False)
    parts = [
        f"{key}={_canonical(value)}"
        for key, value in actual.items()
        if key not in default or default[key] != value
    ]
    parts += [f"~{key}" for key in default if key not in actual]
    return ",".join(sorted(parts, key=lambda part: part.lstrip("~")))


def check_alpha_max(name: str, amax: float, y_train: np.ndarray, grid: DictConfig) -> None:
    """A grid relative to alpha_max needs alpha_max > 0: a constant target (or one orthogonal
    to every feature) would put every grid point at alpha = 0."""
    if grid.get("kind") == "log" and (np.ptp(y_train) == 0 or not amax > 0):
        raise DataError(
            f"dataset {name}: alpha_max = 0 (the target is constant on the training rows, or "
            "orthogonal to every feature), so a grid relative to it has no scale; give absolute "
            "alphas with grid=values grid.values=[...]"
        )


def check_config(cfg: DictConfig) -> None:
    """Top-level values every job needs."""
    seed = cfg.get("seed")
    # numpy takes larger seeds, but the SGD shuffling (uint32) and the int64 tables do not
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"seed={seed!r}: allowed values are integers 0 <= seed < 2**32")
    zero_tol = cfg.get("zero_tol")
    if (
        isinstance(zero_tol, bool)
        or not isinstance(zero_tol, int | float)
        or not 0 <= zero_tol < float("inf")
    ):
        raise ConfigError(f"zero_tol={zero_tol!r}: allowed values are finite numbers >= 0")
    if cfg.get("select") is not None:
        selection.check_select(cfg.select)


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
    prep = prepare_for_job(dataset, test_size, cfg)
    estimator = build("model", cfg.model)
    data = TrainingData(prep.X_train, prep.y_train)
    l1_ratio = objective_l1_ratio(estimator)
    amax = alpha_max(data.X, data.y, l1_ratio, centred=True)
    check_alpha_max(name, amax, prep.y_train, cfg.grid)
    alphas, ratios = grid_alphas(cfg.grid, amax)
    log.info(
        "%s / %s: n=%d p=%d, %d alphas from %.4g", name, model_name,
        data.n_samples, data.n_features, len(alphas), alphas[0],
    )  # fmt: skip
    for note in prep.notes:
        log.info("%s: %s", name, note)
    path = fit_path(estimator, data, alphas, on_fit=on_fit)
    ratios = row_ratios(path, ratios)
    variant = model_variant(cfg.model, model_name)
    ident = {"study": cfg.study, "dataset": name, "model": model_name, "variant": variant,
             "seed": int(cfg.seed)}  # fmt: skip
    fits = path_fits_table(path, ratios, data, prep, l1_ratio, float(cfg.zero_tol), ident,
                           penalty=objective_penalty(estimator))  # fmt: skip
    coefs = path_coefs_table(path, ratios, prep, ident)
    tables = {"fits": fits, "coefs": coefs, "notes": notes_table(cfg.study, name, prep.notes)}
    if cfg.get("summary_ratios") is not None:  # studies freeze a few grid points of the path
        tables["summary"] = summary_table(fits, list(cfg.summary_ratios))
    if cfg.get("select") is not None:
        family = selection.path_family(model_name, estimator, alphas, ratios, path)
        full = selection.FamilyFit(path.coefs, list(path.status))
        select = OmegaConf.to_container(cfg.select, resolve=True)
        rows = selection.selected_rows(family, full, prep, select, int(cfg.seed))
        tables["selected"] = selected_table(rows, ident)
    return tables


def row_ratios(path: PathResult, ratios: np.ndarray) -> np.ndarray:
    """Each row's alpha / alpha_max: the grid's ratio of its alpha (NaN on a path over k)."""
    if path.grid_index is None:
        return np.asarray(ratios, dtype=np.float64)
    index = np.asarray(path.grid_index)
    return np.where(index >= 0, np.asarray(ratios, dtype=np.float64)[np.maximum(index, 0)], np.nan)


def path_point(path: PathResult) -> dict:
    """The path-point columns of each row: ``path_param``, ``k``, ``gamma``."""
    K = len(path.alphas)
    nan = np.full(K, np.nan)
    return {
        "path_param": path.path_param,
        "k": nan if path.k is None else np.asarray(path.k, dtype=np.float64),
        "gamma": nan if path.gamma is None else np.asarray(path.gamma, dtype=np.float64),
    }


def notes_table(study: str, dataset: str, notes: list[str]) -> pd.DataFrame:
    """What the loader and the preprocessing did to the data (``Dataset.notes`` and
    ``PreparedData.notes``), one row per note."""
    return pd.DataFrame(
        {"study": study, "dataset": dataset, "note": list(notes)}, columns=list(schema.NOTES.names)
    )


#: Columns of a study's ``summary`` table (``schema.SUMMARY``): the keys and the counts it
#: freezes.
SUMMARY_COLUMNS: tuple[str, ...] = schema.SUMMARY.names


def summary_table(fits: pd.DataFrame, ratios: list[float]) -> pd.DataFrame:
    """The fits rows at the grid points nearest to ``ratios`` (alpha / alpha_max), with the
    asked ratio as ``alpha_ratio`` so that runs on different grids line up: per gamma of a
    relaxed lasso; none of a path over k (no grid point).

    Parameters
    ----------
    fits : DataFrame
        One job's fits table (one dataset, model and seed).
    ratios : list of float
        Ratios to keep; each must lie within 1% (relative) of a grid point.
    """
    rows = []
    on_grid = fits[fits["alpha_ratio"].notna()]  # a path over k has no grid point
    for _, part in on_grid.groupby("gamma", sort=False, dropna=False):  # relaxed: each gamma
        grid = part["alpha_ratio"].to_numpy(dtype=np.float64)
        for ratio in ratios:
            k = nearest_index(grid, ratio)
            if not np.isclose(grid[k], ratio, rtol=1e-2, atol=0.0):
                raise ConfigError(
                    f"summary_ratios: {ratio} is not on the grid (nearest {grid[k]:.4g}); use a "
                    "log grid that contains it, e.g. grid.num=31 grid.min_ratio=1e-3 for the "
                    "decades"
                )
            rows.append(part.iloc[k].to_dict() | {"alpha_ratio": float(ratio)})
    return pd.DataFrame(rows, columns=fits.columns)[list(SUMMARY_COLUMNS)]


def path_fits_table(
    path: PathResult,
    ratios: np.ndarray,
    data: TrainingData,
    prep: PreparedData,
    l1_ratio: float,
    zero_tol: float,
    ident: dict,
    optimum: np.ndarray | None = None,
    penalty: Penalty | None = None,
) -> pd.DataFrame:
    """One row per alpha with every column of the fits contract.

    ``optimum``: the optimum's coefficients at ``path.alphas`` (shape (K, p), NaN rows where
    not reached) when the caller has them already; otherwise they are solved for when needed.
    ``penalty``: the objective's penalty when it is not of the elastic-net family (MCP, SCAD):
    its objective, stationarity and convexity certificate (:func:`nonconvex_certificates`).
    """
    W, alphas, n = path.coefs, path.alphas, data.n_samples
    XtR, rss = data.residual_products(np.nan_to_num(W, nan=0.0))
    finite = np.isfinite(W).all(axis=1)
    precision, recall, f1 = metrics.support_scores(W, prep.true_coef)
    Y_test = prep.X_test @ W.T + prep.y_offset
    convex = pd.array([pd.NA] * len(alphas), dtype="boolean")
    if penalty is not None and penalty.concavity > 0:  # MCP, SCAD: no duality gap
        obj, kkt, certified, boundary, convex = nonconvex_certificates(
            W, XtR, rss, alphas, data, penalty
        )
        gap = np.full(len(alphas), np.nan)
    elif np.isfinite(l1_ratio):
        # the lasso problem that proves the zeros: the rows' own, or the one they derive from
        # (relaxed lasso: the lasso at the row's alpha; adaptive lasso: rescaled columns)
        cdata, CW = path.certificate or (data, W)
        cXtR, crss = (
            (XtR, rss)
            if cdata is data and CW is W
            else cdata.residual_products(np.nan_to_num(CW, nan=0.0))
        )
        obj = metrics.objective(crss, CW, alphas, l1_ratio, n)
        gap = metrics.duality_gap(CW, cXtR, crss, cdata.Xty, cdata.yty, alphas, l1_ratio, n)
        kkt = metrics.kkt_violation(CW, cXtR, alphas, l1_ratio, n)
        col_sq_norms = np.einsum("ij,ij->j", cdata.X, cdata.X)
        safe = metrics.gap_safe_zeros(CW, cXtR, gap, col_sq_norms, alphas, l1_ratio, n)
        certified = metrics.count_certified_zeros(CW, safe).astype(np.float64)
        boundary = metrics.boundary_zeros(CW, cXtR, alphas, l1_ratio, n).sum(axis=1)
        convex[:] = True
    else:  # a penalty the suite does not know: no certificate
        obj = gap = kkt = certified = boundary = np.full(len(alphas), np.nan)
    vs_optimum = {k: np.where(finite, v, np.nan)
                  for k, v in optimum_columns(path, data, l1_ratio, optimum).items()}  # fmt: skip
    nan_where_broken = lambda v: np.where(finite, v, np.nan)  # noqa: E731
    fits = pd.DataFrame(
        {
            **ident,
            "alpha": alphas,
            "alpha_ratio": ratios,
            **path_point(path),
            "n_samples": n,
            "n_features": data.n_features,
            "n_zero": metrics.count_exact_zeros(W),
            "n_zero_certified": nan_where_broken(certified),
            "n_zero_boundary": nan_where_broken(boundary),
            **vs_optimum,
            "zero_set_is_optimum": same_zero_set(vs_optimum),
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
            "stationarity": nan_where_broken(kkt),
            "objective_convex": convex,
            "n_iter": path.n_iter,
            "converged": path.converged,
            "fit_seconds": path.fit_seconds,
            "status": path.status,
            "optimality": path.optimality or "",
            "message": path.message,
        }
    )
    return fits[list(schema.FITS.names)]


def smallest_eigenvalue(data: TrainingData) -> float:
    """The smallest eigenvalue of X^T X / n (0 when p >= n: centred data have rank < n)."""
    if data.gram is None:
        return 0.0
    import scipy.linalg

    value = scipy.linalg.eigh(data.gram / data.n_samples, eigvals_only=True,
                              subset_by_index=[0, 0])  # fmt: skip
    return max(float(value[0]), 0.0)


def nonconvex_certificates(
    W: np.ndarray,
    XtR: np.ndarray,
    rss: np.ndarray,
    alphas: np.ndarray,
    data: TrainingData,
    penalty: Penalty,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(objective, stationarity, certified zeros, boundary zeros, convex) per row of a path of
    a non-convex penalty (MCP, SCAD).

    Stationarity is the largest distance of 0 to a coordinate's subdifferential (the penalty's
    own formula). The objective is convex on this design when the smallest eigenvalue of
    X^T X / n exceeds the penalty's concavity (MCP 1/gamma, SCAD 1/(gamma - 1)); there the
    zeros are proven by :func:`sparsity_lab.metrics.convex_safe_zeros`. Elsewhere they are the
    zeros of a stationary point: none is certified (``objective_convex`` False says why).
    Boundary zeros: |X_j^T r| / n within the tie tolerance of alpha.
    """
    n = data.n_samples
    obj = metrics.objective(rss, W, alphas, penalty, n)
    distance = penalty.subdiff_distance(W, -XtR / n, np.asarray(alphas)[:, None])
    stationarity = np.max(distance, axis=1, initial=0.0)
    lowest = smallest_eigenvalue(data)
    convex = penalty.is_convex_on(lowest)
    boundary = metrics.boundary_zeros(W, XtR, alphas, 1.0, n).sum(axis=1)
    if convex:
        modulus = lowest - penalty.concavity
        col_norms = np.linalg.norm(data.gram, axis=0)
        safe = metrics.convex_safe_zeros(
            W, XtR, np.linalg.norm(distance, axis=1), modulus, col_norms, alphas,
            penalty.concavity, n,
        )  # fmt: skip
        certified = metrics.count_certified_zeros(W, safe).astype(np.float64)
    else:
        certified = np.zeros(len(alphas))
    flags = pd.array(np.full(len(alphas), convex), dtype="boolean")
    return obj, stationarity, certified, boundary, flags


def optimum_columns(
    path: PathResult, data: TrainingData, l1_ratio: float, optimum: np.ndarray | None = None
) -> dict:
    """``n_zero_optimum``, ``n_false_zero``, ``n_missed_zero`` of each fit: against itself on the
    exact route, against the optimum at the same alphas on the same rows for every other model
    whose penalty has an L1 part (SGD, solver=cd, LassoLars, the peers: any estimator that
    :func:`objective_l1_ratio` gives a positive l1_ratio); NaN without an L1 part (Ridge, SGD
    L2) and where the optimum is not reached.

    ``optimum``: the optimum's coefficients at ``path.alphas`` (K, p), NaN rows where it was not
    reached, when the caller has solved for them already (:func:`optimum_path`).
    """
    W, K = path.coefs, len(path.alphas)
    if not (np.isfinite(l1_ratio) and l1_ratio > 0):
        return {k: np.full(K, np.nan) for k in ("n_zero_optimum", "n_false_zero", "n_missed_zero")}
    if path.exact:
        counts = metrics.optimum_zero_counts(W, W)
        ok = np.asarray(path.converged)
    else:
        if optimum is None:
            optimum = optimum_path(data, path.alphas, l1_ratio)
        counts = metrics.optimum_zero_counts(W, optimum)
        ok = np.isfinite(optimum).all(axis=1)
    return {k: np.where(ok, v, np.nan) for k, v in counts.items()}


def optimum_path(data: TrainingData, alphas: np.ndarray, l1_ratio: float) -> np.ndarray:
    """The optimum's coefficients at every alpha (K, p) by the suite's exact route; NaN rows
    where it is not reached."""
    opt = solvers.exact_path(data.X, data.y, data.Xty, data.gram, alphas, l1_ratio)
    return np.where(np.asarray(opt.converged)[:, None], opt.coefs, np.nan)


def same_zero_set(vs_optimum: dict) -> pd.arrays.BooleanArray:
    """Whether each fit's exact zeros are exactly the optimum's (no false and no missed zero);
    missing (<NA>) where the counts are NaN (no L1 part, optimum not reached, broken fit)."""
    false, missed = vs_optimum["n_false_zero"], vs_optimum["n_missed_zero"]
    known = np.isfinite(false) & np.isfinite(missed)
    same = (np.nan_to_num(false) == 0) & (np.nan_to_num(missed) == 0)
    return pd.arrays.BooleanArray(same, ~known)


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
            **{key: np.repeat(v, p) if np.ndim(v) else v for key, v in path_point(path).items()},
            "feature": np.tile(np.asarray(prep.feature_names, dtype=object), K),
            "coef": path.coefs.ravel(),
            "true_coef": np.tile(true, K),
        }
    )
    return coefs[list(schema.COEFS.names)]


def selected_table(rows: list[dict], ident: dict) -> pd.DataFrame:
    """The ``selected`` table (``schema.SELECTED``) of one job's selection rows."""
    frame = pd.DataFrame([ident | row for row in rows])
    return frame[list(schema.SELECTED.names)]
