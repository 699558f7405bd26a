"""Choosing one model along a path: a validation set or K-fold cross-validation, with the
``min`` and ``1se`` rules (glmnet's ``lambda.min`` and ``lambda.1se``).

A method is a :class:`Family`: its candidates over its tuning grid, ordered simplest first
(alpha from the largest down; subset size k from 0 up; the relaxed lasso by alpha from the
largest down, then gamma from 1, the lasso, down to 0, least squares on its support), and a
function fitting every candidate on centred rows. The ``min`` rule takes the candidate of
smallest error (the simplest among ties); ``1se`` the simplest whose error is within one
standard error of that minimum. Validation error is the mean squared error on the validation
rows, its standard error ``sd / sqrt(n_val)`` of the squared errors; the CV error is the mean
over folds of each fold's mean squared error (scikit-learn's ``LassoCV``), its standard error
``sd over folds / sqrt(K)`` (glmnet's ``cvsd`` for equal folds).

Each fold refits the whole path on its rows, centred on them, with the same grid (the same
alphas, not the same ratios), as ``LassoCV`` does: every fold path of the exact lasso is warm
started and solved to its optimum, as the run's own path is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sparsity_lab.errors import ConfigError
from sparsity_lab.threads import thread_pools

#: Values of ``select.kind``.
KINDS: tuple[str, ...] = ("validation", "cv")
#: Values in ``select.rules``.
RULES: tuple[str, ...] = ("min", "1se")


@dataclass
class FamilyFit:
    """Every candidate of a family fitted on one set of centred rows."""

    coefs: np.ndarray  # (M, p)
    status: list[str]  # (M,) ok | not_converged | failed | heuristic (best subset unproven)


@dataclass
class Family:
    """A method over its tuning grid, candidates simplest first.

    ``params``: per candidate the path parameters (``alpha``, ``alpha_ratio``, ``k``, ``gamma``;
    NaN where the method has none); ``fit(X, y)`` fits every candidate on centred rows;
    ``order``: the candidates simplest first when the rows are not (the rules read it).
    """

    name: str
    params: dict[str, np.ndarray]
    fit: Callable[[np.ndarray, np.ndarray], FamilyFit]
    #: Candidate indices simplest first when the rows are not in that order (None: they are).
    order: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(next(iter(self.params.values())))


def one_blas_thread():
    """Least squares on each support is many small factorisations: BLAS threads only contend
    (the relaxed lasso on 500 x 100, 50 alphas: 4.1 s with the default threads on 2 loaded
    cores, 0.29 s with one), as in the exact solver and the subset paths."""
    return thread_pools().limit(limits=1, user_api="blas")


def _params(m: int, **given) -> dict[str, np.ndarray]:
    out = {key: np.full(m, np.nan) for key in ("alpha", "alpha_ratio", "k", "gamma")}
    out.update({key: np.asarray(value, dtype=np.float64) for key, value in given.items()})
    return out


def alpha_family(name: str, estimator, alphas: np.ndarray, ratios: np.ndarray) -> Family:
    """Any model of the suite along an alpha grid (largest first), through ``fit_path``: the
    exact route for the lasso and elastic net (warm started), the eigendecomposition for ridge,
    the estimator's own fits otherwise."""
    from sparsity_lab.regularization import TrainingData, fit_path

    alphas = np.asarray(alphas, dtype=np.float64)

    def fit(X: np.ndarray, y: np.ndarray) -> FamilyFit:
        path = fit_path(estimator, TrainingData(X, y), alphas)
        return FamilyFit(path.coefs, list(path.status))

    return Family(name, _params(len(alphas), alpha=alphas, alpha_ratio=ratios), fit)


def relaxed_lasso_family(
    alphas: np.ndarray, ratios: np.ndarray, gammas, name: str = "relaxed_lasso"
) -> Family:
    """The relaxed lasso over every (alpha, gamma) (:func:`relaxed_lasso_path`)."""
    from sparsity_lab.models.lasso_variants import relaxed_lasso_path

    alphas = np.asarray(alphas, dtype=np.float64)
    gammas = np.sort(np.asarray(gammas, dtype=np.float64))[::-1]  # 1 (the lasso) first
    K, G = len(alphas), len(gammas)

    def fit(X: np.ndarray, y: np.ndarray) -> FamilyFit:
        with one_blas_thread():
            path = relaxed_lasso_path(X, y, alphas, gammas)
        status = np.repeat(np.asarray(path.exact.status, dtype=object), G)
        return FamilyFit(path.coefs.reshape(K * G, -1), list(status))

    return Family(
        name,
        _params(
            K * G,
            alpha=np.repeat(alphas, G),
            alpha_ratio=np.repeat(ratios, G),
            gamma=np.tile(gammas, K),
        ),
        fit,
    )


def subset_family(
    method: str, k_max: int, time_limit: float | None = 60.0, max_exact_features: int = 40
) -> Family:
    """Best subset (``best_subset``) or forward stepwise (``forward_stepwise``) over k = 0 ..
    k_max; a best-subset size the branch and bound did not prove is status ``heuristic``."""
    from sparsity_lab.models.subset import best_subset_path, forward_stepwise_path

    if method not in ("best_subset", "forward_stepwise"):
        raise ConfigError(f"method={method!r}: allowed values are best_subset, forward_stepwise")

    def fit(X: np.ndarray, y: np.ndarray) -> FamilyFit:
        if method == "best_subset":
            path = best_subset_path(X, y, k_max, time_limit, max_exact_features)
            status = ["ok" if proven else "heuristic" for proven in path.proven]
        else:
            path = forward_stepwise_path(X, y, k_max)
            status = ["ok"] * len(path.coefs)
        return FamilyFit(path.coefs, status)

    return Family(method, _params(k_max + 1, k=np.arange(k_max + 1)), fit)


def path_family(name: str, estimator, alphas: np.ndarray, ratios: np.ndarray, path) -> Family:
    """The family of a path job's model, read off the job's own path (``fit_path``'s rows: one
    per alpha of the grid, or, where a route gives them, per size ``k`` or per (alpha,
    ``gamma``), with the path's ``k``, ``gamma`` and ``grid_index`` arrays). ``ratios``: one
    alpha / alpha_max per row, or the grid's, which ``grid_index`` maps to rows. Each fold refits
    through the same ``fit_path``; a fold whose path has fewer rows (a size beyond its rows)
    leaves the missing candidates NaN, never chosen.

    Simplest first is read from the parameters, whatever the row order: the largest alpha,
    then the largest gamma (the lasso end of a relaxation), then the smallest k.
    """
    from sparsity_lab.regularization import TrainingData, fit_path

    M = len(path.coefs)
    given = {"alpha": np.asarray(path.alphas, dtype=np.float64)}
    grid_index = getattr(path, "grid_index", None)
    if len(ratios) == M:  # one ratio per row already (the grid's, or the rows')
        given["alpha_ratio"] = np.asarray(ratios, dtype=np.float64)
    elif grid_index is not None:  # the grid's ratios, rows pointing into the grid
        index = np.asarray(grid_index)
        on_grid = np.asarray(ratios)[np.maximum(index, 0)]
        given["alpha_ratio"] = np.where(index >= 0, on_grid, np.nan)
    for key in ("k", "gamma"):
        if getattr(path, key, None) is not None:
            given[key] = np.asarray(getattr(path, key), dtype=np.float64)
    params = _params(M, **given)
    order = np.lexsort((
        np.nan_to_num(params["k"], nan=0.0),
        -np.nan_to_num(params["gamma"], nan=0.0),
        -np.nan_to_num(params["alpha"], nan=0.0),
    ))  # fmt: skip

    def fit(X: np.ndarray, y: np.ndarray) -> FamilyFit:
        fold = fit_path(estimator, TrainingData(X, y), alphas)
        coefs = np.full((M, fold.coefs.shape[1]), np.nan)
        rows = min(M, len(fold.coefs))
        coefs[:rows] = fold.coefs[:rows]
        return FamilyFit(coefs, list(fold.status[:rows]) + ["failed"] * (M - rows))

    return Family(name, params, fit, order)


# ------------------------------------------------------------------ errors and rules
def squared_errors(
    coefs: np.ndarray, intercepts: np.ndarray, X: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """(n, M) squared prediction errors of every candidate on rows (X, y)."""
    pred = X @ np.nan_to_num(coefs, nan=0.0).T + intercepts[None, :]
    sq = (y[:, None] - pred) ** 2
    broken = ~np.isfinite(coefs).all(axis=1)
    sq[:, broken] = np.nan
    return sq


def validation_curve(
    coefs: np.ndarray, intercepts: np.ndarray, X_val: np.ndarray, y_val: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validation error (mean squared error) of every candidate and its standard error."""
    sq = squared_errors(coefs, intercepts, X_val, y_val)
    n = sq.shape[0]
    se = np.std(sq, axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(sq.shape[1], np.nan)
    return np.mean(sq, axis=0), se


def cv_folds(n_samples: int, n_folds: int, seed: int) -> list[np.ndarray]:
    """Held-out rows of each fold: a random permutation cut into ``n_folds`` consecutive
    blocks, the first ``n_samples % n_folds`` one row longer (scikit-learn's KFold sizes)."""
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ConfigError(f"select.n_folds={n_folds!r}: allowed values are integers >= 2")
    if n_folds > n_samples:
        raise ConfigError(
            f"select.n_folds={n_folds} exceeds the {n_samples} training rows: allowed "
            f"2 <= n_folds <= {n_samples}"
        )
    perm = np.random.default_rng([seed, 2]).permutation(n_samples)
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    return [np.sort(block) for block in np.split(perm, np.cumsum(sizes)[:-1])]


def cv_curve(
    family: Family, X: np.ndarray, y: np.ndarray, folds: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(CV error, its standard error, per-fold errors (K, M)): the family refitted on each
    fold's complement, centred on it, and scored on the fold."""
    n = X.shape[0]
    per_fold = np.empty((len(folds), family.size))
    for f, held in enumerate(folds):
        keep = np.ones(n, dtype=bool)
        keep[held] = False
        x_mean, y_mean = X[keep].mean(axis=0), y[keep].mean()
        fitted = family.fit(X[keep] - x_mean, y[keep] - y_mean)
        intercepts = y_mean - np.nan_to_num(fitted.coefs, nan=0.0) @ x_mean
        per_fold[f] = np.mean(squared_errors(fitted.coefs, intercepts, X[held], y[held]), axis=0)
    K = len(folds)
    return per_fold.mean(axis=0), per_fold.std(axis=0, ddof=1) / np.sqrt(K), per_fold


def choose(errors: np.ndarray, se: np.ndarray, rule: str, order: np.ndarray | None = None) -> int:
    """The candidate a rule selects (NaN errors never chosen).

    ``min``: the smallest error, the simplest among ties; ``1se``: the simplest candidate whose
    error is at most the minimum's error plus its standard error. Candidates are simplest first,
    or in the order of the indices ``order``.
    """
    if order is not None:
        order = np.asarray(order)
        return int(order[choose(np.asarray(errors)[order], np.asarray(se)[order], rule)])
    errors = np.asarray(errors, dtype=np.float64)
    finite = np.isfinite(errors)
    if not finite.any():
        raise ValueError("no candidate has a finite selection error")
    best = int(np.nanargmin(np.where(finite, errors, np.inf)))
    if rule == "min":
        return best
    if rule == "1se":
        bound = errors[best] + (se[best] if np.isfinite(se[best]) else 0.0)
        return int(np.flatnonzero(finite & (errors <= bound))[0])
    raise ConfigError(f"select.rules: {rule!r} is not a rule; allowed values are min, 1se")


def check_select(select) -> None:
    """The ``select`` config (a mapping: kind, rules, n_folds or validation_size): one line,
    exit 2, for anything not allowed. The data-dependent limits (validation rows, folds beyond
    the rows) are checked where the data are loaded."""
    kind = select.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"select.kind={kind!r}: allowed values are {', '.join(KINDS)}")
    rules = select.get("rules")
    if isinstance(rules, str) or not rules or any(r not in RULES for r in rules):
        raise ConfigError(
            f"select.rules={rules!r}: allowed values are a non-empty list of {', '.join(RULES)}"
        )
    if kind == "cv":
        n_folds = select.get("n_folds")
        if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
            raise ConfigError(f"select.n_folds={n_folds!r}: allowed values are integers >= 2")


# ------------------------------------------------------------------ the selected models
def selected_rows(family: Family, full: FamilyFit, prep, select, seed: int) -> list[dict]:
    """One row per rule: the candidate it selects among ``full`` (the family fitted on all the
    training rows of ``prep``, a :class:`~sparsity_lab.datasets.PreparedData`), its path
    parameters, exact zero and nonzero counts, selection error and standard error, test error
    (on the test rows; exact risk measures where the generator knows Sigma) and support scores
    (where the truth is known).

    ``select``: the config mapping (kind, rules, n_folds); with kind ``validation`` the
    validation rows are ``prep.X_val`` / ``prep.y_val``.
    """
    from sparsity_lab import metrics

    kind = select["kind"]
    M = family.size
    if kind == "validation":
        if prep.X_val is None:
            raise ConfigError("select.kind=validation needs validation rows (validation_size)")
        errors, se = validation_curve(full.coefs, np.full(M, prep.y_offset), prep.X_val, prep.y_val)
        n_folds, n_val = np.nan, float(len(prep.y_val))
    else:
        folds = cv_folds(prep.n_samples, int(select["n_folds"]), seed)
        errors, se, _ = cv_curve(family, prep.X_train, prep.y_train, folds)
        n_folds, n_val = float(len(folds)), np.nan
    exact = prep.cov is not None and prep.raw_true_coef is not None and prep.noise_sd is not None
    rows: list[dict] = []
    if exact:
        signal_var = float(prep.raw_true_coef @ prep.cov @ prep.raw_true_coef)
        noise_var = float(prep.noise_sd) ** 2
    for rule in select["rules"]:
        if not np.isfinite(errors).any():  # a result, not a crash: every fit failed or diverged
            rows.append(_no_selection(kind, rule, n_folds, n_val, M, prep))
            continue
        m = choose(errors, se, rule, family.order)
        w = full.coefs[m]
        W = w[None, :]
        precision, recall, f1 = metrics.support_scores(W, prep.true_coef)
        if len(prep.y_test):
            test_mse = float(metrics.mse(prep.y_test, prep.X_test @ W.T + prep.y_offset)[0])
        else:
            test_mse = np.nan
        risk = dict.fromkeys(("risk", "relative_risk", "relative_test_error", "pve"), np.nan)
        if exact and np.isfinite(w).all():
            raw = w / prep.x_scale
            intercept = prep.y_offset - float(prep.x_mean @ raw)
            value = metrics.prediction_risk(raw[None, :], [intercept], prep.raw_true_coef, prep.cov)
            risk = {k: float(v[0]) for k, v in
                    metrics.exact_test_errors(value, signal_var, noise_var).items()}  # fmt: skip
        rows.append(
            {
                "select": kind,
                "rule": rule,
                "n_folds": n_folds,
                "n_fit": float(prep.n_samples),
                "n_validation": n_val,
                **{key: float(values[m]) for key, values in family.params.items()},
                "n_candidates": float(M),
                "n_features": float(prep.n_features),
                "n_zero": float(metrics.count_exact_zeros(W)[0]),
                "n_nonzero": float(metrics.count_nonzero(W)[0]),
                "selection_error": float(errors[m]),
                "selection_se": float(se[m]),
                "test_mse": test_mse,
                **risk,
                "support_precision": float(precision[0]),
                "support_recall": float(recall[0]),
                "support_f1": float(f1[0]),
                "status": full.status[m],
            }
        )
    return rows


def _no_selection(kind, rule, n_folds, n_val, M, prep) -> dict:
    """The row of a rule that found no candidate (every selection error NaN: every fit failed
    or diverged): NaN values, status ``failed``."""
    nan = np.nan
    return {
        "select": kind, "rule": rule, "n_folds": n_folds, "n_fit": float(prep.n_samples),
        "n_validation": n_val, "alpha": nan, "alpha_ratio": nan, "k": nan, "gamma": nan,
        "n_candidates": float(M), "n_features": float(prep.n_features), "n_zero": nan,
        "n_nonzero": nan, "selection_error": nan, "selection_se": nan, "test_mse": nan,
        "risk": nan, "relative_risk": nan, "relative_test_error": nan, "pve": nan,
        "support_precision": nan, "support_recall": nan, "support_f1": nan,
        "status": "failed",
    }  # fmt: skip
