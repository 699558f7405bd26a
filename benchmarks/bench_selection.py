"""Selection on a path job (issue 25): ``select=cv`` with K folds costs at most (K + 1)x the
unselected job (every fold path warm started and exact), ``select=validation`` at most 2x.

Both are timed in the same process, interleaved, against the same job without ``select``: the
whole path job (load, prepare, fits, tables), as ``sparsity-lab run`` runs it.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from benchmarks._timing import interleaved, met, verdict
from sparsity_lab.runner import run_path_job

K = 5
DESIGNS = {
    "synthetic 500 x 100 (lasso)": {
        "_target_": "sparsity_lab.datasets.make_synthetic", "n_samples": 500, "n_features": 100,
        "n_informative": 10, "rho": 0.5, "noise": 1.0, "random_state": 0, "test_size": 0.25,
    },
    "hastie2020 high-5, 100 x 1000 (lasso)": {
        "_target_": "sparsity_lab.datasets.make_hastie2020", "n_samples": 100,
        "n_features": 1000, "n_nonzero": 5, "beta_type": 2, "rho": 0.35, "snr": 1.0,
        "random_state": 0, "test_size": 0.0,
    },
}  # fmt: skip


def _cfg(dataset: dict, select: dict | None):
    return OmegaConf.create({
        "study": "bench", "seed": 0, "zero_tol": 1e-8, "task": "path", "dataset": dataset,
        "model": {"_target_": "sparsity_lab.models.Lasso"},
        "grid": {"kind": "log", "num": 50, "min_ratio": 1e-3}, "select": select,
    })  # fmt: skip


def main() -> bool:
    ok = True
    for name, dataset in DESIGNS.items():
        cv = {"kind": "cv", "n_folds": K, "rules": ["min", "1se"]}
        val = {"kind": "validation", "validation_size": 0.5, "rules": ["min", "1se"]}
        jobs = {kind: _cfg(dataset, sel) for kind, sel in
                (("plain", None), ("cv", cv), ("validation", val))}  # fmt: skip
        run_path_job(jobs["cv"], "lasso")  # warm: imports, numba caches
        times = interleaved({k: (lambda c=c: run_path_job(c, "lasso")) for k, c in jobs.items()})
        r_cv, r_val = times["cv"] / times["plain"], times["validation"] / times["plain"]
        print(
            f"{name}: job {times['plain']:.3f} s; select=cv K={K} {times['cv']:.3f} s, ratio "
            f"{r_cv:.2f} {verdict(r_cv, K + 1)}; select=validation {times['validation']:.3f} s, "
            f"ratio {r_val:.2f} {verdict(r_val, 2.0)}",
            flush=True,
        )
        ok &= met(r_cv, K + 1) and met(r_val, 2.0)
    return ok
