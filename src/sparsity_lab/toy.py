"""The seed note's 1-D example: gradient descent on the penalty Omega alone.

From ``w0`` with step ``eta`` the L1 rule subtracts ``eta * sign(w)`` (sign(0) = 0) and reaches
exactly 0.0 after ``w0 / eta`` steps when that is an integer; the L2 rule multiplies by
``1 - eta`` and in exact arithmetic never reaches 0. In floating point it does, once the
iterates underflow; how and when depends on how the L2 step is written, so each spelling is
its own rule:

- ``l1``:           ``w - eta * sign(w)``
- ``l2``:           ``w - eta * w``        (the gradient step on 1/2 w^2)
- ``l2_factored``:  ``w * (1 - eta)``      (the same step, factored)

Every operation is done in the requested dtype (numpy scalars), so float32 shows float32 facts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RULES = ("l1", "l2", "l2_factored")
DTYPES = {"float64": np.float64, "float32": np.float32}


def _step(rule: str, w, eta, one):
    if rule == "l1":
        return w - eta * np.sign(w)
    if rule == "l2":
        return w - eta * w
    return w * (one - eta)


def trajectories(
    w0: float = 5.0,
    eta: float = 0.5,
    n_steps: int = 1100,
    dtype: str = "float64",
    rules: tuple[str, ...] = RULES,
) -> pd.DataFrame:
    """Iterates of each rule from ``w0``, as a tidy table.

    Parameters
    ----------
    w0 : float
        Starting weight.
    eta : float
        Step size, > 0.
    n_steps : int
        Number of steps (the table has ``n_steps + 1`` rows per rule, step 0 being ``w0``).
        The default reaches float64's underflow of the L2 rules (after about 1075 halvings).
    dtype : {"float64", "float32"}
        Arithmetic of every operation.
    rules : tuple of str
        Subset of :data:`RULES`.

    Returns
    -------
    DataFrame with columns rule (str), step (int), w (float64, the exact iterate widened),
    dtype (str), is_zero (bool, w == 0.0 exactly), is_subnormal (bool), w0, eta.
    """
    _check(w0, eta, n_steps, dtype, rules)
    kind = DTYPES[dtype]
    tiny = np.finfo(kind).tiny
    frames = []
    for rule in rules:
        w, step_size, one = kind(w0), kind(eta), kind(1.0)
        values = np.empty(n_steps + 1, dtype=kind)
        values[0] = w
        for k in range(1, n_steps + 1):
            w = _step(rule, w, step_size, one)
            values[k] = w
        frames.append(
            pd.DataFrame(
                {
                    "rule": rule,
                    "step": np.arange(n_steps + 1),
                    "w": values.astype(np.float64),
                    "dtype": dtype,
                    "is_zero": values == 0.0,
                    "is_subnormal": (values != 0.0) & (np.abs(values) < tiny),
                    "w0": float(w0),
                    "eta": float(eta),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def first_exact_zero(table: pd.DataFrame) -> dict[str, int | None]:
    """First step at which each rule's iterate is exactly 0.0, or None if it never is.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`trajectories` (columns rule, step, w).

    Returns
    -------
    dict mapping rule -> step (int) or None.
    """
    result: dict[str, int | None] = {}
    for rule, group in table.groupby("rule", sort=False):
        zeros = group.loc[group["w"] == 0.0, "step"]
        result[str(rule)] = int(zeros.min()) if len(zeros) else None
    return result


def _check(w0, eta, n_steps, dtype, rules) -> None:
    if not np.isfinite(w0):
        raise ValueError(f"w0={w0!r}: allowed values are finite reals")
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"eta={eta!r}: allowed values are finite reals > 0")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 0:
        raise ValueError(f"n_steps={n_steps!r}: allowed values are integers >= 0")
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: allowed values are {sorted(DTYPES)}")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ValueError(f"rules={unknown!r}: allowed values are {list(RULES)}")
