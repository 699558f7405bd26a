"""Exact support recovery by L1 minimisation on Gaussian designs: the Donoho-Tanner phase diagram.

For ``y = X beta`` with ``X`` an ``n x p`` matrix of i.i.d. N(0, 1) entries and ``beta``
``k``-sparse with random signs, basis pursuit ``min ||b||_1 s.t. X b = y`` recovers ``beta``
when ``rho = k/n`` lies below a curve ``rho_DT(delta)`` of ``delta = n/p`` and fails above it,
with a transition that sharpens as ``p`` grows (Donoho & Tanner 2009, the weak threshold of
the cross-polytope). This module computes that curve and measures the empirical success rate
over a grid of ``(delta, rho)``.

The curve
---------
Amelunxen, Lotz, McCoy & Tropp (2014), "Living on the edge", Prop. 4.5 / eq. (4.3): L1
recovery of a ``k``-sparse vector in R^p from ``n`` Gaussian measurements switches from
failure to success at ``n/p = psi(k/p)``, where

    psi(eps) = inf_{tau >= 0}  eps (1 + tau^2) + (1 - eps) * 2 E[(Z - tau)_+^2],   Z ~ N(0, 1)

and ``E[(Z - tau)_+^2] = (1 + tau^2) Q(tau) - tau phi(tau)`` (``Q`` the normal upper tail,
``phi`` its density; ``2 E[...]`` is the issue's ``sqrt(2/pi) int_tau^inf (u-tau)^2 e^{-u^2/2}
du``). Setting the derivative in ``tau`` to zero gives the minimiser in closed form as a
function of ``tau``::

    eps(tau) = 2 (phi(tau) - tau Q(tau)) / (tau + 2 (phi(tau) - tau Q(tau)))

so the curve is parametric in ``tau`` in (0, inf): ``delta(tau) = psi(eps(tau))``,
``rho(tau) = eps(tau) / delta(tau)``; ``delta`` decreases from 1 to 0 as ``tau`` grows, and
``rho_DT(delta)`` is one root-find in ``tau``. Donoho, Maleki & Montanari (2009, PNAS, eq. 5)
derive the same curve from state evolution of message passing as
``max_z (1 - (2/delta) E[(Z-z)_+^2]) / (1 + z^2 - 2 E[(Z-z)_+^2])``; the tests check the two
agree, and against published values (``rho_DT(0.5) = 0.386``, ``rho_DT(0.19) = 0.238``).

Success
-------
The LP ``min 1'(u + v) s.t. X (u - v) = y, u, v >= 0`` is solved by HiGHS (scipy's
``linprog``); a trial succeeds when ``||b - beta||_2 / ||beta||_2 < rel_tol`` (default 1e-4)
**and** the recovered support ``{j : |b_j| > support_tol * max|beta|}`` (default 1e-6) equals
the true one. The threshold is needed: a simplex vertex has ``n`` basic variables, and at a
successful recovery ``n - k`` of them are degenerate, coming out near 1e-13 instead of 0.0.
How often the LP's *exact* zeros (``b_j == 0.0``) match the support is recorded as well
(``exact_zero_support_rate``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.errors import ConfigError
from sparsity_lab.schema import columns
from sparsity_lab.studies.base import FigureSpec, Study, StudyTable

#: Distributions of the nonzero entries of beta.
COEF_KINDS = ("gaussian", "sign")
#: tau range of the parametric curve: 1 - delta(TAU_MIN) and delta(TAU_MAX) are below 1e-8.
TAU_MIN, TAU_MAX = 1e-9, 20.0
PHASE = StudyTable(
    "phase",
    "one row per (delta, rho) cell: the recovery rate",
    columns(
        "study:str seed:int coef:str delta_target:float rho_target:float n:int p:int k:int "
        "delta:float rho:float rho_theory:float n_trials:int n_success:int success_rate:float "
        "exact_zero_support_rate:float median_rel_error:float seconds:float"
    ),
)
PHASE_CURVE = StudyTable(
    "phase_curve",
    "the theoretical Donoho-Tanner curve rho_DT(delta)",
    columns("delta:float rho_theory:float"),
)
PHASE_COLUMNS: tuple[str, ...] = PHASE.names


# ---------------------------------------------------------------------------- the curve
def _tail2(tau):
    """E[(Z - tau)_+^2] for Z ~ N(0, 1), elementwise."""
    from scipy import stats

    tau = np.asarray(tau, dtype=np.float64)
    return (1.0 + tau**2) * stats.norm.sf(tau) - tau * stats.norm.pdf(tau)


def statistical_dimension_ratio(eps) -> np.ndarray:
    """psi(eps): the statistical dimension of the L1 descent cone at an eps*p-sparse point, / p.

    Parameters
    ----------
    eps : array_like, shape (m,)
        Sparsity fractions k/p in [0, 1].

    Returns
    -------
    ndarray, shape (m,)
        ``inf_{tau >= 0} eps (1 + tau^2) + 2 (1 - eps) E[(Z - tau)_+^2]`` (ALMT 2014, eq. 4.3),
        minimised numerically in ``tau`` (bounded scalar minimisation, no closed form used).
    """
    from scipy import optimize

    eps = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if np.any((eps < 0) | (eps > 1)) or not np.all(np.isfinite(eps)):
        raise ValueError("eps: allowed values are numbers in [0, 1]")
    out = np.empty_like(eps)
    for i, e in enumerate(eps):
        if e == 0.0 or e == 1.0:
            out[i] = e  # tau -> inf gives 0; tau = 0 gives 1
            continue
        res = optimize.minimize_scalar(
            lambda t, e=e: e * (1 + t * t) + 2 * (1 - e) * _tail2(t),
            bounds=(0.0, TAU_MAX), method="bounded", options={"xatol": 1e-12},
        )  # fmt: skip
        out[i] = res.fun
    return out


def _curve_at_tau(tau):
    """(delta, rho) of the parametric curve at threshold(s) tau > 0."""
    from scipy import stats

    g = stats.norm.pdf(tau) - tau * stats.norm.sf(tau)  # = -1/2 d/dtau E[(Z - tau)_+^2] > 0
    eps = 2 * g / (tau + 2 * g)
    delta = eps * (1 + tau**2) + 2 * (1 - eps) * _tail2(tau)
    return delta, eps / np.maximum(delta, np.finfo(np.float64).tiny)


def rho_dt(delta) -> np.ndarray:
    """The weak phase transition of L1 minimisation for signed sparse vectors, rho_DT(delta).

    Below the curve (``k/n < rho_DT(n/p)``) basis pursuit recovers a typical k-sparse vector
    from n Gaussian measurements with probability -> 1 as p -> inf; above it, -> 0.

    Parameters
    ----------
    delta : array_like, shape (m,)
        Undersampling ratios n/p in [0, 1].

    Returns
    -------
    ndarray, shape (m,)
        rho = k/n on the curve; 0 at delta = 0 and 1 at delta = 1.
    """
    from scipy import optimize

    delta = np.atleast_1d(np.asarray(delta, dtype=np.float64))
    if np.any((delta < 0) | (delta > 1)) or not np.all(np.isfinite(delta)):
        raise ValueError("delta: allowed values are numbers in [0, 1]")
    out = np.empty_like(delta)
    d_hi, _ = _curve_at_tau(TAU_MIN)
    d_lo, _ = _curve_at_tau(TAU_MAX)
    for i, d in enumerate(delta):
        if d <= d_lo:
            out[i] = 0.0
        elif d >= d_hi:
            out[i] = 1.0
        else:
            tau = optimize.brentq(lambda t, d=d: _curve_at_tau(t)[0] - d, TAU_MIN, TAU_MAX,
                                  xtol=1e-14, rtol=1e-14)  # fmt: skip
            out[i] = _curve_at_tau(tau)[1]
    return out


def curve_table(num: int = 199) -> pd.DataFrame:
    """The curve on ``delta = 1/(num+1), ..., num/(num+1)`` plus its end points (0, 0), (1, 1).

    Returns
    -------
    DataFrame, shape (num + 2, 2)
        Columns ``delta``, ``rho_theory``; what the phase-diagram figure draws.
    """
    delta = np.linspace(0.0, 1.0, num + 2)
    return pd.DataFrame({"delta": delta, "rho_theory": rho_dt(delta)})


# ---------------------------------------------------------------------------- the experiment
def recover(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Basis pursuit ``argmin ||b||_1 s.t. X b = y`` as an LP solved by HiGHS.

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (p,)
        The LP's vertex solution ``u - v`` (NaN everywhere if HiGHS reports no optimum).
    """
    from scipy import optimize

    p = X.shape[1]
    res = optimize.linprog(
        np.ones(2 * p), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs"
    )
    if res.status != 0:
        return np.full(p, np.nan)
    return res.x[:p] - res.x[p:]


def _trial(rng: np.random.Generator, n: int, p: int, k: int, coef: str):
    """One draw of (X, beta) and its recovery: (relative l2 error, beta, recovered b)."""
    X = rng.standard_normal((n, p))
    support = rng.choice(p, size=k, replace=False)
    beta = np.zeros(p)
    signs = rng.choice([-1.0, 1.0], size=k)
    beta[support] = signs * (np.abs(rng.standard_normal(k)) if coef == "gaussian" else 1.0)
    b = recover(X, X @ beta)
    return float(np.linalg.norm(b - beta) / np.linalg.norm(beta)), beta, b


def run_cell(
    n: int,
    p: int,
    k: int,
    n_trials: int,
    seed_key: Sequence[int],
    coef: str = "gaussian",
    rel_tol: float = 1e-4,
    support_tol: float = 1e-6,
) -> dict:
    """``n_trials`` independent recoveries at one (n, p, k); the counts of one table row.

    Parameters
    ----------
    n, p, k : int
        Measurements, dimension, sparsity (1 <= k <= n <= p).
    n_trials : int
    seed_key : sequence of int
        Entropy of this cell's generator (the run's seed plus the cell's grid indices), so a
        cell's draws do not depend on which other cells run or in which order.
    coef : {"gaussian", "sign"}
        Nonzero entries: random sign times |N(0, 1)|, or random sign (+-1).
    rel_tol, support_tol : float
        Success: relative l2 error < ``rel_tol`` and ``{|b_j| > support_tol * max|beta|}``
        equals the true support.

    Returns
    -------
    dict
        ``n_success``, ``success_rate``, ``exact_zero_support_rate``, ``median_rel_error``.
    """
    rng = np.random.default_rng(list(seed_key))
    n_success = n_exact = 0
    errors = np.empty(n_trials)
    for t in range(n_trials):
        rel, beta, b = _trial(rng, n, p, k, coef)
        errors[t], truth = rel, beta != 0
        support_ok = bool(np.array_equal(np.abs(b) > support_tol * np.abs(beta).max(), truth))
        n_success += bool(rel < rel_tol) and support_ok
        n_exact += bool(np.array_equal(b != 0.0, truth))
    return {
        "n_success": n_success,
        "success_rate": n_success / n_trials,
        "exact_zero_support_rate": n_exact / n_trials,
        "median_rel_error": float(np.nanmedian(errors)) if np.isfinite(errors).any() else np.nan,
    }


def grid_cells(n_features: int, deltas: Sequence[float], rhos: Sequence[float]) -> pd.DataFrame:
    """Integer (n, k) of every grid cell: n = round(delta p), k = round(rho n), both >= 1."""
    rows = []
    for i, d in enumerate(deltas):
        n = min(n_features, max(1, round(d * n_features)))
        for j, r in enumerate(rhos):
            k = min(n, max(1, round(r * n)))
            rows.append(
                {"i_delta": i, "i_rho": j, "delta_target": float(d), "rho_target": float(r),
                 "n": n, "k": k}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _check_grid(name: str, values: Sequence[float]) -> list[float]:
    allowed = f"phase.{name}={list(values)}: allowed values are a non-empty list in (0, 1]"
    try:
        values = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ConfigError(allowed) from None
    if not values or any(not (0 < v <= 1) for v in values):
        raise ConfigError(allowed)
    return values


def _check_params(n_features, deltas, rhos, n_trials, coef, n_jobs) -> None:
    """One line naming the first ``phase.*`` value that is not allowed."""
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 2:
        raise ConfigError(f"phase.n_features={n_features!r}: allowed values are integers >= 2")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"phase.n_trials={n_trials!r}: allowed values are integers >= 1")
    if coef not in COEF_KINDS:
        raise ConfigError(f"phase.coef={coef!r}: allowed values are {', '.join(COEF_KINDS)}")
    if isinstance(n_jobs, bool) or not (isinstance(n_jobs, int) and n_jobs >= 1):
        raise ConfigError(f"phase.n_jobs={n_jobs!r}: allowed values are integers >= 1")
    _check_grid("deltas", deltas)
    _check_grid("rhos", rhos)


def phase_diagram(
    n_features: int,
    deltas: Sequence[float],
    rhos: Sequence[float],
    n_trials: int,
    seed: int = 0,
    coef: str = "gaussian",
    rel_tol: float = 1e-4,
    support_tol: float = 1e-6,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Empirical success rate of basis pursuit on every (delta, rho) cell, next to the curve.

    Parameters
    ----------
    n_features : int
        p, the dimension of beta.
    deltas, rhos : sequence of float, shapes (n_deltas,), (n_rhos,)
        Target n/p and k/n in (0, 1]; each cell uses n = round(delta p), k = round(rho n).
    n_trials : int
        Independent (X, beta) draws per cell.
    seed : int
        The run's seed; cell (i, j) draws from ``default_rng([seed, i, j])``.
    coef, rel_tol, support_tol
        See :func:`run_cell`.
    n_jobs : int
        Processes (joblib); the table is the same for any value.

    Returns
    -------
    DataFrame, shape (n_deltas * n_rhos, 16)
        ``PHASE_COLUMNS`` without ``study``: ``delta = n/p`` and ``rho = k/n`` are the
        achieved ratios, ``rho_theory = rho_DT(delta)``.
    """
    _check_params(n_features, deltas, rhos, n_trials, coef, n_jobs)
    cells = grid_cells(n_features, _check_grid("deltas", deltas), _check_grid("rhos", rhos))

    def one(row) -> dict:
        start = time.perf_counter()
        key = (seed, int(row.i_delta), int(row.i_rho))
        out = run_cell(
            int(row.n), n_features, int(row.k), n_trials, key, coef, rel_tol, support_tol
        )
        return {**out, "seconds": time.perf_counter() - start}

    rows = list(cells.itertuples(index=False))
    if n_jobs == 1:
        results = [one(r) for r in rows]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(one)(r) for r in rows)
    table = pd.concat([cells, pd.DataFrame(results)], axis=1)
    table["p"] = n_features
    table["delta"] = table["n"] / n_features
    table["rho"] = table["k"] / table["n"]
    theory = dict(zip(np.unique(table["delta"]), rho_dt(np.unique(table["delta"])), strict=True))
    table["rho_theory"] = table["delta"].map(theory)
    table["n_trials"] = n_trials
    table["seed"] = seed
    table["coef"] = coef
    return table[[c for c in PHASE_COLUMNS if c != "study"]]


def empirical_transition(phase: pd.DataFrame, level: float = 0.5) -> pd.DataFrame:
    """Where the success rate crosses ``level`` along rho, per delta (linear interpolation).

    Parameters
    ----------
    phase : DataFrame
        A phase table (columns ``delta``, ``rho``, ``success_rate``, ``rho_theory``).
    level : float

    Returns
    -------
    DataFrame, shape (n_deltas, 3)
        ``delta``, ``rho_empirical`` (NaN where the rate never crosses ``level`` within the
        grid), ``rho_theory``. The crossing is the first rho at which the rate drops below
        ``level``, interpolated with the grid point before it.
    """
    rows = []
    for delta, g in phase.groupby("delta", sort=True):
        g = g.sort_values("rho")
        rho, rate = g["rho"].to_numpy(), g["success_rate"].to_numpy()
        below = np.flatnonzero(rate < level)
        crossing = np.nan
        if below.size and below[0] > 0:
            i = below[0]
            t = (rate[i - 1] - level) / (rate[i - 1] - rate[i])
            crossing = rho[i - 1] + t * (rho[i] - rho[i - 1])
        rows.append({"delta": delta, "rho_empirical": crossing,
                     "rho_theory": float(g["rho_theory"].iloc[0])})  # fmt: skip
    return pd.DataFrame(rows)


class PhaseTransition(Study):
    """Exact recovery by basis pursuit over (delta, rho) against the Donoho-Tanner curve.

    No dataset and no model: the fits and coefs tables are empty. Config keys under ``phase``:
    ``n_features``, ``deltas``, ``rhos``, ``n_trials``, ``coef``, ``rel_tol``, ``support_tol``,
    ``n_jobs``; the run's ``seed`` seeds the draws.
    """

    name = "phase_transition"
    tables = (PHASE, PHASE_CURVE)
    uses_path = False

    def check(self, cfg: DictConfig) -> None:
        ph = cfg.phase
        _check_params(
            ph.n_features, list(ph.deltas), list(ph.rhos), ph.n_trials, ph.coef, ph.get("n_jobs", 1)
        )

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab.results import empty_fit_tables

        ph = cfg.phase
        phase = phase_diagram(
            n_features=ph.n_features, deltas=list(ph.deltas), rhos=list(ph.rhos),
            n_trials=ph.n_trials, seed=int(cfg.seed), coef=ph.coef, rel_tol=float(ph.rel_tol),
            support_tol=float(ph.support_tol), n_jobs=ph.get("n_jobs", 1),
        )  # fmt: skip
        phase.insert(0, "study", cfg.study)
        return {**empty_fit_tables(), "phase": phase, "phase_curve": curve_table()}

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        crossing = empirical_transition(tables["phase"])
        return [
            "",
            "50% recovery crossing rho = k/n per delta = n/p, against the Donoho-Tanner curve:",
            crossing.round(3).to_string(index=False),
        ]

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        from sparsity_lab.figures.phase_diagram import plot_phase_diagram

        phase, curve = tables["phase"], tables.get("phase_curve")
        yield "phase_diagram_l1_recovery", lambda: plot_phase_diagram(phase, curve), None


STUDY = PhaseTransition()
