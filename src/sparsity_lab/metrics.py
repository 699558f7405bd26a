"""Pure functions on coefficient matrices: zero counts, support recovery, errors, certificates.

Coefficients come as a matrix W of shape (K, p): one row per fit along a grid.
The shared objective (DESIGN.md) with the elastic-net family of penalties:

    L(w) = 1/(2n) ||y - Xw||^2 + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)

l1_ratio = 1 is the Lasso, l1_ratio = 0 Ridge.
"""

from __future__ import annotations

import numpy as np

from sparsity_lab.penalties import ElasticNet, Penalty


def count_exact_zeros(W: np.ndarray) -> np.ndarray:
    """Number of coefficients equal to 0.0 exactly (-0.0 included, NaN not), per row."""
    return np.sum(np.atleast_2d(W) == 0.0, axis=1)


def count_tiny(W: np.ndarray, zero_tol: float) -> np.ndarray:
    """Number of coefficients with 0 < |coef| <= zero_tol, per row."""
    A = np.abs(np.atleast_2d(W))
    return np.sum((A > 0.0) & (A <= zero_tol), axis=1)


def first_exact_zero(steps: np.ndarray, w: np.ndarray) -> int | None:
    """The first step at which w == 0.0 exactly (-0.0 included), or None if it never is.

    ``steps`` and ``w`` are one trajectory, in step order.
    """
    hits = np.flatnonzero(np.asarray(w) == 0)
    return int(np.asarray(steps)[hits[0]]) if hits.size else None


def count_nonzero(W: np.ndarray) -> np.ndarray:
    """Number of coefficients that are not exactly 0.0 (NaN counts as nonzero), per row."""
    W = np.atleast_2d(W)
    return W.shape[1] - count_exact_zeros(W)


def support_scores(
    W: np.ndarray, true_coef: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of the estimated support {j: w_j != 0} against the true one.

    All NaN without a true support. An empty estimated support has precision 1 (it selects
    nothing wrong) and recall 0; F1 is 0 when precision + recall is 0.
    """
    W = np.atleast_2d(W)
    K = W.shape[0]
    if true_coef is None:
        nan = np.full(K, np.nan)
        return nan, nan.copy(), nan.copy()
    est = W != 0.0
    truth = np.asarray(true_coef) != 0.0
    tp = np.sum(est & truth[None, :], axis=1)
    n_est = est.sum(axis=1)
    n_true = truth.sum()
    precision = np.where(n_est > 0, tp / np.maximum(n_est, 1), 1.0)
    recall = tp / n_true if n_true > 0 else np.full(K, np.nan)
    denom = precision + recall
    with np.errstate(invalid="ignore"):
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    f1 = np.where(np.isnan(recall), np.nan, f1)
    return precision, recall, f1


def objective(
    rss: np.ndarray,
    W: np.ndarray,
    alphas: np.ndarray,
    l1_ratio: float | Penalty,
    n_samples: int,
) -> np.ndarray:
    """The shared objective from the residual sum of squares ``rss = ||y - Xw||^2``, per row
    of ``W``: the penalty's own value (:mod:`sparsity_lab.penalties`), an elastic net of
    ``l1_ratio`` or any :class:`~sparsity_lab.penalties.Penalty`."""
    penalty = l1_ratio if isinstance(l1_ratio, Penalty) else ElasticNet(l1_ratio)
    return rss / (2.0 * n_samples) + penalty.row_values(W, alphas)


def stationarity(
    W: np.ndarray, XtR: np.ndarray, alphas: np.ndarray, penalty: Penalty, n_samples: int
) -> np.ndarray:
    """Largest distance of 0 to a coordinate's subdifferential of the objective, per row: the
    first-order stationarity of each fit (0 at every stationary point; the KKT violation of a
    convex penalty), from the penalty's own formula (``Penalty.subdiff_distance``).

    Parameters
    ----------
    W : ndarray of shape (K, p)
    XtR : ndarray of shape (K, p)
        X^T (y - X w) for every row w of W (the data term's gradient is -X^T r / n).
    alphas : ndarray of shape (K,)
    penalty : Penalty
    n_samples : int
    """
    W = np.atleast_2d(W)
    alphas = np.asarray(alphas, dtype=np.float64)[:, None]
    distance = penalty.subdiff_distance(W, -XtR / n_samples, alphas)
    return np.max(distance, axis=1, initial=0.0)


def duality_gap(
    W: np.ndarray,
    XtR: np.ndarray,
    rss: np.ndarray,
    Xty: np.ndarray,
    yty: float,
    alphas: np.ndarray,
    l1_ratio: float,
    n_samples: int,
) -> np.ndarray:
    """Duality gap of the shared objective at each row of W (>= 0, 0 at the optimum).

    Elastic net (l1_ratio > 0): the dual point is the residual rescaled into the dual feasible
    set, as in scikit-learn's coordinate descent. Ridge (l1_ratio = 0): the dual point is the
    residual, where the gap is ||X^T r/n - alpha w||^2 / (2 alpha). NaN at alpha = 0.
    ``Xty`` and ``yty`` are not needed by the formula (y^T r = ||r||^2 + w^T X^T r) and are
    accepted for the callers' convenience.
    """
    W = np.atleast_2d(W)
    n = n_samples
    alphas = np.asarray(alphas, dtype=np.float64)
    l1 = alphas * l1_ratio * n  # n-scaled penalties, scikit-learn's convention
    l2 = alphas * (1.0 - l1_ratio) * n
    with np.errstate(divide="ignore", invalid="ignore"):
        if l1_ratio > 0:
            XtA = XtR - l2[:, None] * W
            dual_norm = np.max(np.abs(XtA), axis=1)
            const = ElasticNet(l1_ratio).dual_scaling(dual_norm, alphas * n)
            # scikit-learn's gap 1/2 rss (1 + c^2) - c r^T y + l1 |w|_1 + l2/2 (1 + c^2) |w|^2
            # with r^T y = rss + w^T X^T r: the terms of size ||y||^2 cancel exactly, so the
            # sum is taken per coordinate (each term vanishes at the optimum) and the gap is
            # accurate to rounding of X^T r, not of ||y||^2 (sharper gap-safe certificates)
            c = const[:, None]
            per_coord = (
                l1[:, None] * np.abs(W) - c * W * XtR + 0.5 * l2[:, None] * (1 + c**2) * W**2
            )
            gap = 0.5 * rss * (1.0 - const) ** 2 + per_coord.sum(axis=1)
        else:
            grad = XtR - l2[:, None] * W
            gap = np.sum(grad * grad, axis=1) / (2.0 * l2)
        gap = gap / n
    return np.where(alphas > 0, np.maximum(gap, 0.0), np.nan)


def kkt_violation(
    W: np.ndarray, XtR: np.ndarray, alphas: np.ndarray, l1_ratio: float, n_samples: int
) -> np.ndarray:
    """Largest violation of the optimality conditions of the shared objective, per row.

    With g = X^T r / n - alpha (1 - l1_ratio) w: |g_j - alpha l1_ratio sign(w_j)| where
    w_j != 0, and max(0, |g_j| - alpha l1_ratio) where w_j == 0.
    """
    return stationarity(W, XtR, alphas, ElasticNet(l1_ratio), n_samples)


#: |X_j^T r| / n within this relative distance of the L1 weight alpha l1_ratio: on the KKT
#: boundary to within rounding. The gap-safe test certifies only below it.
BOUNDARY_RTOL = 1e-9


def gap_safe_zeros(
    W: np.ndarray,
    XtR: np.ndarray,
    gap: np.ndarray,
    col_sq_norms: np.ndarray,
    alphas: np.ndarray,
    l1_ratio: float,
    n_samples: int,
) -> np.ndarray:
    """Coordinates that the gap-safe sphere test proves zero at the optimum, per row.

    The gap-safe rule of Fercoq, Gramfort and Salmon (ICML 2015), written in the shared scale.
    The elastic net is a Lasso on the augmented design ``[X; sqrt(n mu) I]`` (mu = alpha
    (1 - l1_ratio)), with lam = alpha l1_ratio. With g = X^T r / n - mu w (``g_j = X_j^T r / n``
    where w_j = 0), the dual point is the rescaled residual and the test reads

        |g_j| min(1, lam / ||g||_inf) + sqrt(2 gap (||X_j||^2 / n + mu)) < lam (1 - BOUNDARY_RTOL).

    The factor ``1 - BOUNDARY_RTOL`` guards against rounding: at a gap of 0.0 a tie on the KKT
    boundary (|g_j| = lam, e.g. duplicate columns) would otherwise pass by rounding alone.

    Any (w, gap) with ``gap`` the duality gap at w gives a proof that the optimum's w*_j is 0,
    whatever produced w: the sphere of radius sqrt(2 gap) / lam (dual scale) holds the dual
    optimum. The margin below lam therefore grows like sqrt(gap): at a loose fit nothing is
    certified, at a tight one every zero with |g_j| clearly below lam is.

    Parameters
    ----------
    W : ndarray of shape (K, p)
    XtR : ndarray of shape (K, p)
        X^T (y - X w) for every row w of W.
    gap : ndarray of shape (K,)
        Duality gap of each row in the shared scale (:func:`duality_gap`).
    col_sq_norms : ndarray of shape (p,)
        ||X_j||^2 (n for standardised features).
    alphas : ndarray of shape (K,)
    l1_ratio : float
        No zero can be certified for L2 (l1_ratio = 0): all False.
    n_samples : int

    Returns
    -------
    ndarray of shape (K, p), bool
        True where the optimum's coordinate is provably 0; False at NaN gaps.
    """
    W = np.atleast_2d(W)
    alphas = np.asarray(alphas, dtype=np.float64)[:, None]
    lam = alphas * l1_ratio
    mu = alphas * (1.0 - l1_ratio)
    g = XtR / n_samples - mu * W
    dual_norm = np.max(np.abs(g), axis=1, keepdims=True)
    scale = ElasticNet(l1_ratio).dual_scaling(dual_norm, alphas)
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.sqrt(
            2.0 * np.asarray(gap, dtype=np.float64)[:, None] * (col_sq_norms / n_samples + mu)
        )
        certified = np.abs(g) * scale + margin < lam * (1.0 - BOUNDARY_RTOL)
    return certified & (lam > 0)


def boundary_zeros(
    W: np.ndarray, XtR: np.ndarray, alphas: np.ndarray, l1_ratio: float, n_samples: int
) -> np.ndarray:
    """Exact zeros of W on the KKT boundary: |X_j^T r| / n equal to lam = alpha l1_ratio within
    ``BOUNDARY_RTOL * lam`` (ties: the optimum there is not unique, or not decidable in floating
    point; :func:`gap_safe_zeros` never certifies them), per row.

    Parameters
    ----------
    W : ndarray of shape (K, p)
    XtR : ndarray of shape (K, p)
        X^T (y - X w) for every row w of W.
    alphas : ndarray of shape (K,)
    l1_ratio : float
    n_samples : int

    Returns
    -------
    ndarray of shape (K, p), bool
    """
    W = np.atleast_2d(W)
    lam = np.asarray(alphas, dtype=np.float64)[:, None] * l1_ratio
    near = np.abs(np.abs(XtR) / n_samples - lam) <= BOUNDARY_RTOL * lam
    return (W == 0.0) & near & (lam > 0)


def convex_safe_zeros(
    W: np.ndarray,
    XtR: np.ndarray,
    distance_norm: np.ndarray,
    modulus: float,
    gram_col_norms: np.ndarray,
    alphas: np.ndarray,
    concavity: float,
    n_samples: int,
) -> np.ndarray:
    """Coordinates proven zero at the optimum of a strongly convex objective with a penalty of
    slope alpha at 0 (MCP and SCAD where the design makes them convex), per row.

    With ``modulus`` mu = lambda_min(X^T X / n) - concavity > 0 and ``distance_norm`` the
    2-norm of the vector of subdifferential distances at w (the distance of 0 to the
    subdifferential of the convex objective), ``||w - w*|| <= delta = distance_norm / mu``.
    Then ``|c_j(w*) - c_j(w)| <= ||X^T X_j|| / n * delta`` (c = X^T r / n), and a nonzero w*_j
    would need ``|c_j(w*)| = |p'(w*_j)| >= alpha - concavity |w*_j| >= alpha - concavity
    delta``. So w_j = 0 is proven where

        |c_j(w)| + (||X^T X_j|| / n + concavity) delta < alpha (1 - BOUNDARY_RTOL).

    Parameters
    ----------
    W, XtR : ndarray of shape (K, p)
    distance_norm : ndarray of shape (K,)
    modulus : float
        Strong convexity modulus; nothing is certified unless it is > 0.
    gram_col_norms : ndarray of shape (p,)
        ||X^T X_j||_2 (column norms of the Gram matrix).
    alphas : ndarray of shape (K,)
    concavity : float
    n_samples : int

    Returns
    -------
    ndarray of shape (K, p), bool
    """
    W = np.atleast_2d(W)
    if not modulus > 0:
        return np.zeros(W.shape, dtype=bool)
    alphas = np.asarray(alphas, dtype=np.float64)[:, None]
    delta = np.asarray(distance_norm, dtype=np.float64)[:, None] / modulus
    with np.errstate(invalid="ignore"):
        bound = np.abs(XtR) / n_samples + (gram_col_norms / n_samples + concavity) * delta
        return (W == 0.0) & (bound < alphas * (1.0 - BOUNDARY_RTOL)) & (alphas > 0)


def count_certified_zeros(W: np.ndarray, certified: np.ndarray) -> np.ndarray:
    """Exact zeros of W (w_j == 0.0) that :func:`gap_safe_zeros` proves zero at the optimum.

    Always <= :func:`count_exact_zeros`; the difference are zeros the fit has but the duality
    gap cannot vouch for (a loose fit, or a zero the optimum does not have).
    """
    return np.sum((np.atleast_2d(W) == 0.0) & certified, axis=1)


def optimum_zero_counts(W: np.ndarray, W_opt: np.ndarray) -> dict[str, np.ndarray]:
    """Exact zeros of the fits W against those of the optimum W_opt at the same alphas, per row.

    Returns
    -------
    dict of ndarray of shape (K,)
        ``n_zero_optimum`` (zeros of W_opt), ``n_false_zero`` (0.0 in W, nonzero in W_opt) and
        ``n_missed_zero`` (0.0 in W_opt, nonzero in W; NaN coefficients count as nonzero).
    """
    zero, zero_opt = np.atleast_2d(W) == 0.0, np.atleast_2d(W_opt) == 0.0
    return {
        "n_zero_optimum": zero_opt.sum(axis=1),
        "n_false_zero": (zero & ~zero_opt).sum(axis=1),
        "n_missed_zero": (zero_opt & ~zero).sum(axis=1),
    }


def entry_alphas(W: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Largest alpha at which each coefficient is nonzero along a path (NaN if never).

    Parameters
    ----------
    W : ndarray of shape (K, p)
        Coefficients along the path, one row per alpha.
    alphas : ndarray of shape (K,)

    Returns
    -------
    ndarray of shape (p,)
    """
    W = np.atleast_2d(W)
    alphas = np.asarray(alphas, dtype=np.float64)
    active = W != 0.0
    return np.array([alphas[a].max() if a.any() else np.nan for a in active.T])


def entry_ranks(first_alphas: np.ndarray) -> np.ndarray:
    """1 for the coefficient that enters the path first (largest entry alpha), 2 next, ...;
    ties share the smaller rank, never-entering coefficients get 0."""
    first = np.asarray(first_alphas, dtype=np.float64)
    entered = np.isfinite(first)
    ranks = np.zeros(first.shape, dtype=np.int64)
    for j in np.flatnonzero(entered):
        ranks[j] = 1 + int(np.sum(first[entered] > first[j]))
    return ranks


def count_exits(W: np.ndarray) -> np.ndarray:
    """Times each coefficient goes from nonzero back to exactly zero along the rows of W."""
    active = np.atleast_2d(W) != 0.0
    return np.sum(active[:-1] & ~active[1:], axis=0)


def mse(y: np.ndarray, Y_pred: np.ndarray) -> np.ndarray:
    """Mean squared error of each column of Y_pred (n, K) against y (n,); NaN when n = 0."""
    if y.shape[0] == 0:
        return np.full(Y_pred.shape[1], np.nan)
    return np.mean((y[:, None] - Y_pred) ** 2, axis=0)


def r2(y: np.ndarray, Y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination of each column of Y_pred; NaN for fewer than 2 rows."""
    if y.shape[0] < 2:
        return np.full(Y_pred.shape[1], np.nan)
    ss_tot = np.sum((y - y.mean()) ** 2)
    ss_res = np.sum((y[:, None] - Y_pred) ** 2, axis=0)
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else np.full(Y_pred.shape[1], np.nan)


def prediction_risk(
    W: np.ndarray, intercepts: np.ndarray, true_coef: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """Exact risk E[(b + x^T w - x^T beta)^2] of each fit for x ~ N(0, cov):
    ``(w - beta)^T cov (w - beta) + b^2`` (Hastie, Tibshirani and Tibshirani 2020, with the
    intercept's share as their ``sim.master`` adds it).

    Parameters
    ----------
    W : ndarray of shape (K, p)
        Coefficients in the units of the raw features.
    intercepts : ndarray of shape (K,)
        Intercepts in the units of the raw target (the truth has none: x has mean 0).
    true_coef : ndarray of shape (p,)
    cov : ndarray of shape (p, p)
    """
    delta = np.atleast_2d(W) - np.asarray(true_coef)[None, :]
    return np.einsum("kj,kj->k", delta @ cov, delta) + np.asarray(intercepts, float) ** 2


def exact_test_errors(risk: np.ndarray, signal_var: float, noise_var: float) -> dict:
    """The paper's test-error measures from the exact risk.

    ``relative_risk`` = risk / (beta^T Sigma beta); ``relative_test_error`` = (risk + sigma^2) /
    sigma^2 (1 is perfect, 1 + SNR the null model's); ``pve`` (proportion of variance
    explained) = 1 - (risk + sigma^2) / (beta^T Sigma beta + sigma^2) (SNR / (1 + SNR) at
    best, 0 for the null model).
    """
    risk = np.asarray(risk, dtype=np.float64)
    return {
        "risk": risk,
        "relative_risk": risk / signal_var,
        "relative_test_error": (risk + noise_var) / noise_var,
        "pve": 1.0 - (risk + noise_var) / (signal_var + noise_var),
    }
