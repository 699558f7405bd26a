"""Seconds per epoch of every SGD rule against scikit-learn's SGDRegressor, in one run.

Dense data, n = 20000, p = 2000, per-sample updates, constant step, 3 epochs each. Ratios
compare times measured in this same process: every L1 rule against SGDRegressor(penalty="l1")
(target <= 0.33) and sgd_l2 against SGDRegressor(penalty="l2") (target <= 1.0). numba's compile
time is reported apart: the first call in a fresh process (loading the on-disk cache, or
compiling when there is none) against a call with the kernel already loaded.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor

from sparsity_lab.models import SGDL2, SGDCumulative, SGDProx, SGDSubgradient, SGDTruncated

N_SAMPLES, N_FEATURES, N_EPOCHS = 20_000, 2_000, 3
ALPHA, ETA0 = 1e-3, 1e-5

RULES = {
    "sgd_subgradient": SGDSubgradient,
    "sgd_prox": SGDProx,
    "sgd_truncated": SGDTruncated,
    "sgd_cumulative": SGDCumulative,
    "sgd_l2": SGDL2,
}
L1_TARGET, L2_TARGET = 0.33, 1.0


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    coef = np.zeros(N_FEATURES)
    coef[:20] = rng.choice([-1.0, 1.0], 20)
    return X, X @ coef + rng.standard_normal(N_SAMPLES)


def _ours(cls, n_epochs: int):
    return cls(
        alpha=ALPHA, eta0=ETA0, learning_rate="constant", max_epochs=n_epochs, tol=None,
        random_state=0,
    )  # fmt: skip


def _seconds_per_epoch(model, X, y, n_epochs: int) -> float:
    start = time.perf_counter()
    model.fit(X, y)
    return (time.perf_counter() - start) / n_epochs


def main() -> None:
    """Print ms per epoch and ratios for every rule; compile time apart."""
    X, y = _data()
    small_X, small_y = X[:50, :10].copy(), y[:50].copy()

    start = time.perf_counter()
    _ours(SGDProx, 1).fit(small_X, small_y)
    first_call = time.perf_counter() - start
    start = time.perf_counter()
    _ours(SGDProx, 1).fit(small_X, small_y)
    warm_call = time.perf_counter() - start
    print(
        f"numba first call (cache load or compile): {first_call * 1e3:.0f} ms; "
        f"warm call: {warm_call * 1e3:.2f} ms"
    )

    reference = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for penalty in ("l1", "l2"):
            sk = SGDRegressor(
                penalty=penalty, alpha=ALPHA, eta0=ETA0, learning_rate="constant",
                max_iter=N_EPOCHS, tol=None, random_state=0,
            )  # fmt: skip
            reference[penalty] = _seconds_per_epoch(sk, X, y, N_EPOCHS)
            print(f"SGDRegressor({penalty}) epoch: {reference[penalty] * 1e3:.1f} ms")

    stream = time.perf_counter()
    float(X.sum())
    print(f"streaming X once (floor): {(time.perf_counter() - stream) * 1e3:.1f} ms")

    for name, cls in RULES.items():
        _ours(cls, 1).fit(small_X, small_y)  # compile or load this rule's cache outside the timing
        seconds = _seconds_per_epoch(_ours(cls, N_EPOCHS), X, y, N_EPOCHS)
        penalty, target = ("l2", L2_TARGET) if name == "sgd_l2" else ("l1", L1_TARGET)
        ratio = seconds / reference[penalty]
        verdict = "OK" if ratio <= target else "SLOW"
        print(
            f"{name} epoch: {seconds * 1e3:.1f} ms  ratio to SGDRegressor({penalty}): "
            f"{ratio:.2f}  (target <= {target}) {verdict}"
        )


if __name__ == "__main__":
    main()
