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

from collections.abc import Iterator

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.errors import ConfigError
from sparsity_lab.studies.base import FigureSpec, Study, StudyTable

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


def _check(w0, eta, n_steps, dtype, rules, prefix: str = "") -> None:
    if isinstance(w0, bool) or not isinstance(w0, int | float | np.number) or not np.isfinite(w0):
        raise ConfigError(f"{prefix}w0={w0!r}: allowed values are finite reals")
    if (
        isinstance(eta, bool)
        or not isinstance(eta, int | float | np.number)
        or not (np.isfinite(eta) and eta > 0)
    ):
        raise ConfigError(f"{prefix}eta={eta!r}: allowed values are finite reals > 0")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int | np.integer) or n_steps < 0:
        raise ConfigError(f"{prefix}n_steps={n_steps!r}: allowed values are integers >= 0")
    if dtype not in DTYPES:
        key = f"{prefix}dtypes" if prefix else "dtype"
        raise ConfigError(f"{key}={dtype!r}: allowed values are {sorted(DTYPES)}")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise ConfigError(f"rules={unknown!r}: allowed values are {list(RULES)}")


def _dtypes(toy: DictConfig) -> list[str]:
    return [toy.dtypes] if isinstance(toy.dtypes, str) else list(toy.dtypes)


class SeedToy(Study):
    """The seed note's 1-D example (config ``toy``): no dataset, no model, no grid."""

    name = "seed_toy"
    tables = (
        StudyTable("trajectories", "one row per (dtype, rule, step): the iterate w"),
        StudyTable("first_zero", "one row per (dtype, rule): first step at exactly 0.0"),
    )
    uses_path = False

    def check(self, cfg: DictConfig) -> None:
        toy = cfg.toy
        for dtype in _dtypes(toy):
            _check(toy.w0, toy.eta, toy.n_steps, dtype, RULES, prefix="toy.")

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab.results import empty_fit_tables

        toy = cfg.toy
        dtypes = _dtypes(toy)
        parts = [trajectories(toy.w0, toy.eta, toy.n_steps, dtype) for dtype in dtypes]
        # one row per (dtype, rule): the first step at exactly 0.0 (-1: never), the last iterate
        first_zero = pd.DataFrame(
            [
                {"dtype": dtype, "rule": rule, "first_zero_step": -1 if step is None else step,
                 "final_w": float(part.loc[part["rule"] == rule, "w"].iloc[-1])}
                for dtype, part in zip(dtypes, parts, strict=True)
                for rule, step in first_exact_zero(part).items()
            ]
        )  # fmt: skip
        table = pd.concat(parts, ignore_index=True)
        for frame in (table, first_zero):
            frame.insert(0, "study", cfg.study)
        return {**empty_fit_tables(), "trajectories": table, "first_zero": first_zero}

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        if "first_zero" not in tables:
            return []
        title = "first step at which w is exactly 0.0 (gradient descent on the penalty alone):"
        lines = ["", title]
        for row in tables["first_zero"].itertuples():
            what = (
                f"step {row.first_zero_step}"
                if row.first_zero_step >= 0
                else f"never (stays at {row.final_w:.3g})"
            )
            lines.append(f"  {row.dtype:<8} {row.rule:<12} {what}")
        return lines

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        from sparsity_lab.figures.trajectories import plot_trajectories

        yield "trajectories_1d_gd_l1_vs_l2", lambda: plot_trajectories(tables["trajectories"]), None


STUDY = SeedToy()
