"""Path fitting: the suite against scikit-learn's lasso_path and a per-alpha Ridge loop, and
`sparsity-lab run` end to end against a hand-written script doing the same work."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from functools import partial
from pathlib import Path

from sklearn.linear_model import Lasso, lasso_path
from sklearn.linear_model import Ridge as SkRidge

from benchmarks._timing import interleaved, met, verdict
from sparsity_lab.datasets import make_synthetic, prepare
from sparsity_lab.models import Ridge
from sparsity_lab.regularization import TrainingData, alpha_max, fit_path, log_grid_ratios
from sparsity_lab.runner import path_coefs_table, path_fits_table

N, P, NUM, TOL = 20_000, 1_000, 100, 1e-6


def suite_path(prep, alphas, estimator, l1_ratio):
    """What one job does after loading: products, path, every metric, both tables."""
    data = TrainingData(prep.X_train, prep.y_train)
    path = fit_path(estimator, data, alphas)
    ident = {"study": "b", "dataset": "synthetic", "model": "m", "variant": "", "seed": 0}
    path_fits_table(path, alphas / alphas[0], data, prep, l1_ratio, 1e-8, ident)
    path_coefs_table(path, alphas / alphas[0], prep, ident)


def bench_lasso() -> bool:
    prep = prepare(make_synthetic(N, P, 20, random_state=0), test_size=0.0)
    X, y = prep.X_train, prep.y_train
    alphas = log_grid_ratios(NUM, 1e-3) * alpha_max(X, y, centred=True)
    t = interleaved(
        {
            "suite": lambda: suite_path(prep, alphas, Lasso(tol=TOL, max_iter=10_000), 1.0),
            "sklearn": lambda: lasso_path(X, y, alphas=alphas, tol=TOL, max_iter=10_000),
        },
        repeat=3,
    )
    ratio = t["suite"] / t["sklearn"]
    print(
        f"lasso path n={N} p={P} {NUM} alphas: suite {t['suite']:.2f} s (fits + metrics + "
        f"tables), lasso_path {t['sklearn']:.2f} s; ratio {ratio:.2f} {verdict(ratio, 1.10)}"
    )
    return met(ratio, 1.10)


def ridge_loop(X, y, alphas):
    n = X.shape[0]
    return [SkRidge(alpha=a * n, fit_intercept=False).fit(X, y) for a in alphas]


def bench_ridge() -> bool:
    ok = True
    for n, p in [(2_000, 500), (5_000, 1_000)]:
        prep = prepare(make_synthetic(n, p, 20, random_state=0), test_size=0.0)
        X, y = prep.X_train, prep.y_train
        alphas = log_grid_ratios(30, 1e-3) * alpha_max(X, y, centred=True)
        t = interleaved(
            {
                "suite": partial(fit_path, Ridge(), TrainingData(X, y), alphas),
                "loop": partial(ridge_loop, X, y, alphas),
            },
            repeat=3,
        )
        speedup = t["loop"] / t["suite"]
        print(
            f"ridge grid n={n} p={p} 30 alphas: suite {t['suite'] * 1e3:.0f} ms, Ridge loop "
            f"{t['loop'] * 1e3:.0f} ms; speedup {speedup:.1f}x {verdict(speedup, 10, False)}"
        )
        ok &= met(speedup, 10, False)
    return ok


HAND_SCRIPT = textwrap.dedent(
    f"""
    import numpy as np, pandas as pd
    from sklearn.linear_model import lasso_path
    rng = np.random.default_rng(0)
    n, p, rho = {N}, {P}, 0.5
    X = rng.standard_normal((n, p))
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    beta = np.zeros(p); beta[rng.choice(p, 20, replace=False)] = rng.choice([-1.0, 1.0], 20)
    y = X @ beta + rng.standard_normal(n)
    X = (X - X.mean(0)) / X.std(0); y = y - y.mean()
    amax = np.abs(X.T @ y).max() / n
    alphas = amax * np.logspace(0, -3, {NUM})
    _, coefs, _ = lasso_path(X, y, alphas=alphas, tol={TOL}, max_iter=10000)
    pd.DataFrame({{"alpha": alphas, "n_zero": (coefs == 0).sum(0)}}).to_parquet("zeros.parquet")
    """
)


def bench_end_to_end() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "hand.py"
        script.write_text(HAND_SCRIPT)
        suite_cmd = [
            sys.executable, "-m", "sparsity_lab.cli", "run", "model=lasso",
            f"dataset.n_samples={N}", f"dataset.n_features={P}", "dataset.n_informative=20",
            "dataset.test_size=0", f"grid.num={NUM}", "hydra/job_logging=none",
            "hydra/hydra_logging=none",
        ]  # fmt: skip
        run = lambda cmd: subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)  # noqa: E731
        t = interleaved(
            {"suite": lambda: run(suite_cmd), "hand": lambda: run([sys.executable, "hand.py"])},
            repeat=3,
        )
    ratio = t["suite"] / t["hand"]
    print(
        f"end to end (n={N}, p={P}, {NUM} alphas): sparsity-lab run {t['suite']:.2f} s, "
        f"hand-written script {t['hand']:.2f} s; ratio {ratio:.2f} {verdict(ratio, 1.25)}"
    )
    return met(ratio, 1.25)


def main() -> bool:
    return all([bench_lasso(), bench_ridge(), bench_end_to_end()])
