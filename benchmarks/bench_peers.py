"""The suite's exact Lasso path beside the peers (issue 26), in one run: scikit-learn's
lasso_path at tol 1e-6 and each installed peer of the extra ``peers`` (celer's celer_path and
skglm's AndersonCD path at tol 1e-8), on the issue's four Toeplitz designs, 100 alphas from
alpha_max to alpha_max/1000. Each line gives the time, the ratio to the exact path's time and
how many of the 100 zero sets differ from the exact path's.

Default sizes keep the bench to a few minutes on 2 cores: the two designs the issue runs at
p > n 400 x 20000 and n > p 20000 x 2000 run at 400 x 10000 and 10000 x 1000;
``SPARSITY_LAB_BENCH_FULL=1`` runs the issue's sizes (lasso_path alone took 116 s there).
adelie is not timed: it pins numpy < 2 and does not install beside the suite's numpy.
No target: the exact route's speed targets are bench_exact's.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lasso_path

from benchmarks.bench_exact import toeplitz
from sparsity_lab.models import Lasso
from sparsity_lab.regularization import TrainingData, fit_path

NUM = 100
FULL = os.environ.get("SPARSITY_LAB_BENCH_FULL", "") not in ("", "0")
CASES = [  # (name, n, p, rho): the issue's, then the default where it is smaller
    ("p > n", 200, 5_000, 0.5),
    ("p > n", 400, 20_000 if FULL else 10_000, 0.5),
    ("n > p", 20_000 if FULL else 10_000, 2_000 if FULL else 1_000, 0.5),
    ("rho 0.95", 500, 300, 0.95),
]


def exact(X, y, alphas) -> np.ndarray:
    return fit_path(Lasso(), TrainingData(X, y), alphas).coefs


def sklearn_cd(X, y, alphas) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return lasso_path(X, y, alphas=alphas, tol=1e-6, max_iter=10_000)[1].T


def celer(X, y, alphas) -> np.ndarray:
    from celer import celer_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return celer_path(X, y, "lasso", alphas=alphas, tol=1e-8)[1].T


def skglm(X, y, alphas) -> np.ndarray:
    from skglm.datafits import Quadratic
    from skglm.penalties import L1
    from skglm.solvers import AndersonCD

    solver = AndersonCD(tol=1e-8, fit_intercept=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return solver.path(np.asfortranarray(X), y, Quadratic(), L1(1.0), alphas)[1].T


#: (label, function, module it needs or None)
ROUTES = [
    ("lasso_path(tol=1e-6)", sklearn_cd, None),
    ("celer(tol=1e-8)", celer, "celer"),
    ("skglm(tol=1e-8)", skglm, "skglm"),
]


def installed(module: str | None) -> bool:
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def warm_up() -> None:
    """numba compiles here (the exact route's coordinate descent, skglm), not in a timing."""
    X, y = toeplitz(40, 10, 0.5)
    alphas = np.max(np.abs(X.T @ y)) / 40 * np.logspace(0, -1, 3)
    fit_path(Lasso(solver="cd_exact"), TrainingData(X, y), alphas)
    for _, route, module in ROUTES:
        if installed(module):
            route(X, y, alphas)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench_case(name: str, n: int, p: int, rho: float) -> None:
    X, y = toeplitz(n, p, rho)
    alphas = np.max(np.abs(X.T @ y)) / n * np.logspace(0, -3, NUM)
    ref, t_exact = timed(lambda: exact(X, y, alphas))
    parts = [f"{name} {n} x {p} (rho {rho}): exact {t_exact:.2f} s"]
    for label, route, module in ROUTES:
        if not installed(module):
            parts.append(f"{label} not installed (pip install 'sparsity-lab[peers]')")
            continue
        coefs, t = timed(lambda route=route: route(X, y, alphas))
        wrong = int(np.sum(np.any((coefs == 0.0) != (ref == 0.0), axis=1)))
        parts.append(f"{label} {t:.2f} s = {t / t_exact:.1f}x exact, {wrong} of {NUM} wrong")
    print("\n    ".join(parts), flush=True)


def main() -> bool:
    warm_up()
    print(f"sizes: {'the issue' if FULL else 'default (SPARSITY_LAB_BENCH_FULL=1: the issue)'}")
    for case in CASES:
        bench_case(*case)
    print("adelie: not timed (pins numpy < 2; does not install beside the suite's numpy)")
    return True
