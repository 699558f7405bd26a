"""Compare two result tables: align rows on their keys, say what differs, show A, B and B - A.

``sparsity-lab compare`` reads only result tables, never re-fits. Besides fits tables it
accepts any table that has the key columns and the compared metrics (``--table`` picks another
table of a run dir, e.g. ``entry_order``): the small frozen summaries of ``experiments/``.

One alignment serves the verdict, the printed table, ``--check``, the figure and the page
(:class:`Alignment`): rows are matched on ``(dataset, model, variant, alpha_ratio, seed)`` by
default, or on ``--on``. A column of ``schema.COMPARE_KEY`` that holds one value in A and
another in B (the variant of ``model.solver=cd``, a seed) names the run, not the row: it is
left out of the alignment and of the compared values, and the output says so in one line.
Float keys are rounded to 12 significant digits first, so the same relative grid matches even
when its values were computed along slightly different floating-point routes. Rows present on
one side only are always listed. With several seeds per group the display shows the mean over
seeds and the half-width of a 95% Student-t interval over seeds; the verdict and ``--check``
always compare the individual rows.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sparsity_lab import schema
from sparsity_lab.errors import UserError
from sparsity_lab.results import (
    FITS_COLUMNS,
    TIMING_COLUMNS,
    ResultsError,
    check_writable_dir,
    read_table,
    resolve_run,
    resolve_table,
    with_variant,
)

DEFAULT_KEYS: tuple[str, ...] = schema.COMPARE_KEY


def with_path_keys(keys: Sequence[str], a: pd.DataFrame, b: pd.DataFrame) -> tuple[str, ...]:
    """The default keys, plus the path point's ``k`` and ``gamma`` (before ``seed``) where
    either table holds a value of one (best subset, relaxed lasso rows); other keys as given."""
    keys = tuple(keys)
    if keys != DEFAULT_KEYS:
        return keys
    extra = tuple(
        k for k in schema.PATH_KEYS
        if any(k in df.columns and df[k].notna().any() for df in (a, b))
    )  # fmt: skip
    return keys[:-1] + extra + keys[-1:]


DEFAULT_METRICS: tuple[str, ...] = ("n_zero", "n_nonzero", "test_mse")
#: Counts compare exactly under ``--check``, whatever the tolerances: the integer columns of
#: the fits, coefs, summary and notes tables.
INTEGER_METRICS: frozenset[str] = frozenset().union(
    *(table.integer_columns for table in schema.CORE_TABLES)
)
FORMATS: tuple[str, ...] = ("table", "markdown", "csv", "latex")
KEY_SIGNIFICANT_DIGITS = 12
CONFIDENCE = 0.95
PRESENT_BOTH, PRESENT_A, PRESENT_B = "both", "only A", "only B"


class CompareError(UserError):
    """Arguments of `compare` that the two tables cannot satisfy (keys, metrics, format)."""


class NoSharedRows(CompareError):
    """A and B share no row on the keys: nothing to compare side by side."""


@dataclass(frozen=True)
class Alignment:
    """How the rows of A and B are matched, for every output of one comparison.

    Attributes
    ----------
    keys : tuple of str
        The key columns of the compared table (``--on``, or ``schema.COMPARE_KEY``), without
        the run columns.
    run_columns : tuple of (column, value in A, value in B)
        Columns of ``schema.COMPARE_KEY`` that hold one value in A and another in B: they name
        the run, not the row, so they are neither keys nor compared values.
    """

    keys: tuple[str, ...]
    run_columns: tuple[tuple[str, object, object], ...] = ()

    @property
    def left_out(self) -> tuple[str, ...]:
        return tuple(column for column, _, _ in self.run_columns)

    def line(self) -> str | None:
        """``aligned ignoring variant: A '', B 'solver=cd,tol=0.01'``, or None."""
        if not self.run_columns:
            return None
        parts = [f"{column}: A {_quoted(x)}, B {_quoted(y)}" for column, x, y in self.run_columns]
        return "aligned ignoring " + "; ".join(parts)


def _quoted(value) -> str:
    return repr(value) if isinstance(value, str) else _format_number(value)


@dataclass
class Comparison:
    """Two tables aligned on their keys.

    Attributes
    ----------
    keys : tuple of str
        Columns the rows were aligned on.
    metrics : tuple of str
        Compared columns.
    rows : DataFrame, shape (n_rows, len(keys) + 1 + 3 * len(metrics))
        One row per key present in A or B (outer join): the keys (floats rounded), ``present``
        (``both``, ``only A``, ``only B``), and per metric ``<m>_A``, ``<m>_B``, ``<m>_diff``
        (B - A).
    differs : DataFrame, shape (n_rows, len(metrics)), bool
        Whether a shared row's metric differs beyond the tolerances (the rule of ``--check``);
        False on rows present on one side only.
    """

    keys: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: pd.DataFrame
    differs: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.differs is None:
            self.differs = pd.DataFrame(False, index=self.rows.index, columns=list(self.metrics))

    @property
    def common(self) -> pd.DataFrame:
        return self.rows[self.rows["present"] == PRESENT_BOTH]

    @property
    def only_a(self) -> pd.DataFrame:
        return self.rows[self.rows["present"] == PRESENT_A]

    @property
    def only_b(self) -> pd.DataFrame:
        return self.rows[self.rows["present"] == PRESENT_B]

    @property
    def row_differs(self) -> pd.Series:
        """Per row: some compared metric differs (False on rows on one side only)."""
        return self.differs.any(axis=1)


# ---------------------------------------------------------------------------- aligning
def _round_significant(values: pd.Series, digits: int = KEY_SIGNIFICANT_DIGITS) -> pd.Series:
    """Round floats to ``digits`` significant digits (0, NaN and inf are kept as they are)."""
    x = values.to_numpy(dtype=np.float64)
    finite = np.isfinite(x) & (x != 0)
    out = x.copy()
    exponent = np.floor(np.log10(np.abs(x[finite])))
    scale = 10.0 ** (digits - 1 - exponent)
    out[finite] = np.round(x[finite] * scale) / scale
    return pd.Series(out, index=values.index, name=values.name)


def _normalise_keys(a: pd.DataFrame, b: pd.DataFrame, keys: Sequence[str]):
    """Give each key column one comparable dtype on both sides."""
    a, b = a.copy(), b.copy()
    for key in keys:
        numeric = pd.api.types.is_numeric_dtype(a[key]) and pd.api.types.is_numeric_dtype(b[key])
        if not numeric:
            a[key], b[key] = a[key].astype(str), b[key].astype(str)
        elif pd.api.types.is_float_dtype(a[key]) or pd.api.types.is_float_dtype(b[key]):
            a[key], b[key] = _round_significant(a[key]), _round_significant(b[key])
    return a, b


def choose_alignment(
    a: pd.DataFrame, b: pd.DataFrame, on: Sequence[str] | None = None
) -> Alignment:
    """The one alignment of a comparison, from its main table (fits, or ``--table``).

    Parameters
    ----------
    a, b : DataFrame
        The two tables (only their key columns are read).
    on : sequence of str, optional
        ``--on``: exactly these keys. Default ``schema.COMPARE_KEY``.

    Returns
    -------
    Alignment
        The keys, less the columns of ``schema.COMPARE_KEY`` that are constant within A and
        within B but differ between them (never a column named by ``--on``, and never every
        key: then no row could be told apart).
    """
    defaults = with_path_keys(DEFAULT_KEYS, a, b)
    keys = tuple(on) if on is not None else defaults
    candidates = defaults if on is None else tuple(k for k in defaults if k not in keys)
    a, b = with_variant(a), with_variant(b)
    present = [k for k in candidates if k in a.columns and k in b.columns]
    ka, kb = _normalise_keys(a[present], b[present], present)
    run_columns = []
    for column in present:
        x, y = ka[column].drop_duplicates(), kb[column].drop_duplicates()
        if len(x) == 1 and len(y) == 1 and not _same_values(x, y, column, 0.0, 0.0).all():
            run_columns.append((column, _plain(x.iloc[0]), _plain(y.iloc[0])))
    if all(k in (c for c, _, _ in run_columns) for k in keys):
        run_columns = [r for r in run_columns if r[0] not in keys]
    left_out = {c for c, _, _ in run_columns}
    return Alignment(tuple(k for k in keys if k not in left_out), tuple(run_columns))


def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_columns(df: pd.DataFrame, columns: Sequence[str], side: str, option: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CompareError(
            f"{option}: {', '.join(missing)} not a column of {side} "
            f"(columns: {', '.join(map(str, df.columns))})"
        )


def _check_unique(df: pd.DataFrame, keys: Sequence[str], side: str) -> None:
    duplicated = df.duplicated(list(keys), keep=False)
    if duplicated.any():
        example = df.loc[duplicated, list(keys)].iloc[0].to_dict()
        raise CompareError(
            f"--on: keys ({', '.join(keys)}) do not identify the rows of {side} uniquely "
            f"({int(duplicated.sum())} rows share a key, e.g. {example}); add keys with --on"
        )


def _exact_metric(a: pd.Series, b: pd.Series, column: str) -> bool:
    """Counts, integers and booleans compare exactly; other numbers within the tolerances."""
    return column in INTEGER_METRICS or not (
        pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b)
    )


def align(
    a: pd.DataFrame,
    b: pd.DataFrame,
    on: Sequence[str] | Alignment = DEFAULT_KEYS,
    metrics: Sequence[str] = DEFAULT_METRICS,
    rtol: float = 1e-6,
    atol: float = 1e-12,
) -> Comparison:
    """Align two tables on their keys and put their ``metrics`` side by side.

    Parameters
    ----------
    a, b : DataFrame, shape (n_fits_a, n_columns), (n_fits_b, n_columns)
        Fits tables (``sparsity_lab.results.FITS_COLUMNS``; extra columns allowed) or any
        tables with the keys and the metrics.
    on : sequence of str or Alignment
        Key columns (together they must identify each row of either table), or the alignment
        chosen by :func:`choose_alignment`.
    metrics : sequence of str
        Numeric columns to compare.
    rtol, atol : float
        Tolerances of ``Comparison.differs`` (counts, integers and booleans exactly; other
        numbers ``|B - A| <= atol + rtol * |A|``; NaN equals NaN), as ``--check``.

    Returns
    -------
    Comparison
        The outer join, with rows present on one side only marked, never dropped.

    Raises
    ------
    CompareError
        A key or metric is not a column, a metric is not numeric, the keys are not unique, or the
        tables share no key.
    """
    keys = on.keys if isinstance(on, Alignment) else with_path_keys(on, a, b)
    metrics = tuple(dict.fromkeys(metrics))
    a, b = with_variant(a), with_variant(b)
    if not keys:
        raise CompareError("--on: name at least one key column")
    for df, side in ((a, "A"), (b, "B")):
        _check_columns(df, keys, side, "--on")
        _check_columns(df, metrics, side, "--metrics")
        for m in metrics:
            if not (pd.api.types.is_numeric_dtype(df[m]) or pd.api.types.is_bool_dtype(df[m])):
                raise CompareError(f"--metrics: {m} is not numeric in {side} (dtype {df[m].dtype})")
    exact = {m: _exact_metric(a[m], b[m], m) for m in metrics}
    a, b = _normalise_keys(a[list(keys + metrics)], b[list(keys + metrics)], keys)
    _check_unique(a, keys, "A")
    _check_unique(b, keys, "B")
    left = a.rename(columns={m: f"{m}_A" for m in metrics})
    right = b.rename(columns={m: f"{m}_B" for m in metrics})
    rows = left.merge(right, on=list(keys), how="outer", indicator="present", sort=True)
    if not (rows["present"] == "both").any():
        raise NoSharedRows(
            f"A and B share no rows on keys ({', '.join(keys)}): "
            f"A has {len(a)} rows, B has {len(b)}; check the keys with --on"
        )
    rows["present"] = (
        rows["present"]
        .astype(str)
        .map({"both": PRESENT_BOTH, "left_only": PRESENT_A, "right_only": PRESENT_B})
    )
    columns = [*keys, "present"]
    for m in metrics:
        rows[f"{m}_A"] = rows[f"{m}_A"].astype(np.float64)
        rows[f"{m}_B"] = rows[f"{m}_B"].astype(np.float64)
        rows[f"{m}_diff"] = rows[f"{m}_B"] - rows[f"{m}_A"]
        columns += [f"{m}_A", f"{m}_B", f"{m}_diff"]
    rows = rows[columns].reset_index(drop=True)
    both = (rows["present"] == PRESENT_BOTH).to_numpy()
    differs = pd.DataFrame(False, index=rows.index, columns=list(metrics))
    for m in metrics:
        x, y = rows[f"{m}_A"].to_numpy(), rows[f"{m}_B"].to_numpy()
        same = _same_numbers(x, y, exact[m], rtol, atol)
        differs[m] = both & ~same
    return Comparison(keys=keys, metrics=metrics, rows=rows, differs=differs)


# ---------------------------------------------------------------------------- seeds
def t_half_width(values: np.ndarray, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t confidence interval of the mean (NaN below two values)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    n = values.size
    if n < 2:
        return math.nan
    sem = values.std(ddof=1) / math.sqrt(n)
    return float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * sem)


def summarise_over_seeds(comparison: Comparison, seed: str = "seed") -> pd.DataFrame:
    """Mean and 95% t-interval half-width over seeds of the rows present on both sides.

    Parameters
    ----------
    comparison : Comparison
        Must be keyed on ``seed`` among other keys.
    seed : str
        The key aggregated over.

    Returns
    -------
    DataFrame, shape (n_groups, n_keys - 1 + 2 + 6 * n_metrics)
        Group keys, ``n_seeds``, ``n_differ`` (seeds whose row differs, see
        ``Comparison.differs``), and per metric ``<m>_A``, ``<m>_A_ci95``, ``<m>_B``,
        ``<m>_B_ci95``, ``<m>_diff``, ``<m>_diff_ci95`` (the diff interval is the paired one,
        over the per-seed differences B - A).
    """
    group_keys = [k for k in comparison.keys if k != seed]
    common = comparison.common.assign(_differs=comparison.row_differs)
    records = []
    for key, group in common.groupby(group_keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        record = dict(zip(group_keys, key, strict=True))
        record["n_seeds"] = len(group)
        record["n_differ"] = int(group["_differs"].sum())
        for m in comparison.metrics:
            for side in ("A", "B", "diff"):
                values = group[f"{m}_{side}"].to_numpy()
                record[f"{m}_{side}"] = np.nanmean(values) if np.isfinite(values).any() else np.nan
                record[f"{m}_{side}_ci95"] = t_half_width(values)
        records.append(record)
    return pd.DataFrame.from_records(records)


def has_several_seeds(comparison: Comparison, seed: str = "seed") -> bool:
    if seed not in comparison.keys or len(comparison.keys) < 2:
        return False
    group_keys = [k for k in comparison.keys if k != seed]
    return bool((comparison.common.groupby(group_keys, dropna=False).size() > 1).any())


# ---------------------------------------------------------------------------- checking
#: Key columns a table is aligned on, where both sides have them, besides the alignment's keys
#: (a coefficient is one row per feature of a fit).
CHECK_KEY_CANDIDATES: tuple[str, ...] = ("feature",)
#: Columns of a ``--check`` difference report.
DIFFERENCE_COLUMNS: tuple[str, ...] = ("table", "key", "column", "A", "B", "present")


def _check_keys(
    a: pd.DataFrame,
    b: pd.DataFrame,
    on: Sequence[str],
    leave_out: Sequence[str] = (),
    constant: Sequence[str] = (),
) -> list[str]:
    """The key columns of one table pair: ``on`` and ``CHECK_KEY_CANDIDATES`` where both have
    them (``leave_out`` aside), and ``#`` (the occurrence within a key, or the row number without
    keys) when they do not identify the rows uniquely (``constant`` keys, one value in A and
    B, need not be looked at for that)."""
    keys = [
        k
        for k in dict.fromkeys([*on, *CHECK_KEY_CANDIDATES])
        if k in a and k in b and k not in leave_out
    ]
    varying = [k for k in keys if k not in constant] or keys
    if keys and not (a.duplicated(varying).any() or b.duplicated(varying).any()):
        return keys
    return [*keys, "#"]


def _with_occurrence(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if "#" not in keys:
        return df
    df = df.copy()
    named = [k for k in keys if k != "#"]
    df["#"] = df.groupby(named, dropna=False).cumcount() if named else np.arange(len(df))
    return df


def _same_numbers(x: np.ndarray, y: np.ndarray, exact: bool, rtol: float, atol: float):
    """Elementwise equality of two float64 arrays: exactly, or ``|y - x| <= atol + rtol * |x|``;
    NaN equals NaN."""
    if exact:
        return (x == y) | (np.isnan(x) & np.isnan(y))
    return np.isclose(y, x, rtol=rtol, atol=atol, equal_nan=True)


def _same_values(a: pd.Series, b: pd.Series, column: str, rtol: float, atol: float) -> np.ndarray:
    """Elementwise equality of one column on the shared rows: counts, integers, booleans and
    strings exactly (an empty string equals a missing value), other numbers within
    ``|B - A| <= atol + rtol * |A|``; NaN equals NaN."""
    numeric = all(pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) for s in (a, b))
    if numeric:
        x, y = a.to_numpy(dtype=np.float64), b.to_numpy(dtype=np.float64)
        return _same_numbers(x, y, _exact_metric(a, b, column), rtol, atol)
    x, y = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    # an empty string is written to CSV as nothing and read back as NaN: the same value
    missing = (pd.isna(x) | (x == "")) & (pd.isna(y) | (y == ""))
    if all(isinstance(s.dtype, pd.StringDtype) for s in (a, b)):  # str or missing: no 1 == 1.0
        equal = pd.Series(a.to_numpy()).eq(pd.Series(b.to_numpy())).fillna(False)
        return missing | equal.to_numpy(dtype=bool)
    equal = [type(u) is type(v) and u == v for u, v in zip(x, y, strict=True)]
    return missing | np.array(equal, dtype=bool)


def _key_text(frame: pd.DataFrame, keys: list[str]) -> list[str]:
    return [
        " ".join(f"{k}={_format_number(v)}" for k, v in zip(keys, row, strict=True))
        for row in frame[keys].itertuples(index=False)
    ]


def check_tables(
    a: pd.DataFrame,
    b: pd.DataFrame,
    on: Sequence[str] | Alignment = DEFAULT_KEYS,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    ignore: Sequence[str] = (),
    table: str = "fits",
    all_columns: bool = True,
) -> pd.DataFrame:
    """Every value of two tables that differs, every row (and column) on one side only.

    Rows are aligned on ``on`` (an :class:`Alignment`, or key columns; floats rounded as for the
    display) plus ``feature`` where both tables have it; the alignment's run columns are neither
    keys nor compared. Every other column is compared except the timings
    (``results.TIMING_COLUMNS``) and ``ignore``. Counts (``INTEGER_METRICS``), integers,
    booleans and strings must be equal exactly; other numbers within
    ``|B - A| <= atol + rtol * |A|`` (``numpy.isclose``). NaN equals NaN; NaN against a number
    differs. With ``all_columns`` a column on one side only is a difference; without, the
    shared columns are compared (a frozen summary holds the columns it freezes).

    Returns
    -------
    DataFrame, shape (n_differences, 6)
        ``DIFFERENCE_COLUMNS``: ``table``, ``key`` (the row's keys as text, empty for a column on
        one side only), ``column`` (``row`` for a row on one side only), ``A``, ``B``,
        ``present`` (``both``, ``only A``, ``only B``).
    """
    records = _check_records(a, b, on, rtol, atol, ignore, all_columns)
    return _difference_frame(records, table)


def _difference_frame(records: list[dict], table: str) -> pd.DataFrame:
    out = pd.DataFrame.from_records(records, columns=list(DIFFERENCE_COLUMNS))
    out["table"] = table
    return out


def _check_records(
    a: pd.DataFrame,
    b: pd.DataFrame,
    on: Sequence[str] | Alignment,
    rtol: float,
    atol: float,
    ignore: Sequence[str],
    all_columns: bool,
    constant: Sequence[str] = (),
) -> list[dict]:
    """The records of :func:`check_tables`, in its order, each with ``_order``: (section, key
    values) where section is 0 for a column on one side only, 1 and 2 for rows only in A and
    in B, 3 + i for differences in the i-th compared column (what sorts the records of a
    table checked in parts as one check of the whole table orders them). ``constant``: key
    columns that hold one and the same value in A and B (a part's), left out of the join."""
    alignment = on if isinstance(on, Alignment) else Alignment(with_path_keys(on, a, b))
    skip = {*TIMING_COLUMNS, *ignore, *alignment.left_out}
    keys = _check_keys(a, b, alignment.keys, alignment.left_out, constant)
    a, b = _with_occurrence(a, keys), _with_occurrence(b, keys)
    a, b = _normalise_keys(a, b, keys)
    records = []
    for column, side in _one_sided_columns(a, b, skip) if all_columns else ():
        records.append({"key": "", "column": column, "present": f"column {side}", "_order": (0,)})
    columns = [c for c in a if c in b and c not in keys and c not in skip]
    fixed = [k for k in keys if k in constant and (len(a) or len(b))]
    joined = [k for k in keys if k not in fixed]
    if not joined:
        joined, fixed = keys, []
    rows = a[[*joined, *columns]].merge(
        b[[*joined, *columns]], on=joined, how="outer", suffixes=("_A", "_B"), indicator="present"
    )
    source = a if len(a) else b
    for key in fixed:  # the join's rows, ordered as by every key: these are one value
        rows[key] = source[key].iloc[0]
    for section, (present, side) in enumerate(
        (("left_only", PRESENT_A), ("right_only", PRESENT_B)), start=1
    ):
        one_side = rows[rows["present"] == present]
        for text, key in zip(_key_text(one_side, keys), _key_values(one_side, keys), strict=True):
            records.append(
                {"key": text, "column": "row", "present": side, "_order": (section, key)}
            )
    both = rows[rows["present"] == "both"]
    for section, column in enumerate(columns, start=3):
        same = _same_values(both[f"{column}_A"], both[f"{column}_B"], column, rtol, atol)
        if same.all():
            continue
        bad = both[~same]
        for text, key, x, y in zip(
            _key_text(bad, keys), _key_values(bad, keys), bad[f"{column}_A"], bad[f"{column}_B"],
            strict=True,
        ):  # fmt: skip
            records.append(
                {"key": text, "column": column, "A": x, "B": y, "present": PRESENT_BOTH,
                 "_order": (section, key)}
            )  # fmt: skip
    return records


def _one_sided_columns(a: pd.DataFrame, b: pd.DataFrame, skip) -> list[tuple[str, str]]:
    sided = [(c, PRESENT_A) for c in a if c not in b] + [(c, PRESENT_B) for c in b if c not in a]
    return [(c, side) for c, side in sided if c not in skip]


def _key_values(frame: pd.DataFrame, keys: list[str]) -> list[tuple]:
    return list(frame[keys].itertuples(index=False, name=None))


#: Tables ``--check`` compares one group of fits at a time when both sides are parquet files
#: (a run's coefs: hundreds of millions of rows), never holding the whole table.
CHECKED_IN_PARTS: tuple[str, ...] = ("coefs",)
#: The keys a table checked in parts is split on (those of the alignment): a job's fits.
PART_KEYS: tuple[str, ...] = ("dataset", "model", "variant", "seed")


def check_table_in_parts(
    path_a,
    path_b,
    name: str,
    on: Sequence[str] | Alignment = DEFAULT_KEYS,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    ignore: Sequence[str] = (),
    all_columns: bool = True,
) -> tuple[pd.DataFrame, set[str]]:
    """:func:`check_tables` of two parquet tables, read one group of rows at a time (the
    distinct values of the alignment's keys among ``PART_KEYS``: a job's rows, which its
    row groups hold): memory follows the largest group, not the table. The differences are
    those of the whole table at once, in the same order; only the occurrence key ``#``
    (rows the keys do not tell apart) is decided per group. Returns (the differences, the
    columns of A and B)."""
    from sparsity_lab.results import distinct_rows

    file = f"{name}.parquet"
    if not isinstance(on, Alignment):
        points = [_path_points(distinct_rows(p, file, ["path_param"])) for p in (path_a, path_b)]
        on = with_path_keys(on, *points)
    alignment = on if isinstance(on, Alignment) else Alignment(tuple(on))
    heads = [read_table(p, file, where={"dataset": []}) for p in (path_a, path_b)]
    group = [k for k in PART_KEYS if k in alignment.keys and all(k in h for h in heads)]
    skip = {*TIMING_COLUMNS, *ignore, *alignment.left_out}
    records = []
    if all_columns:
        for column, side in _one_sided_columns(*heads, skip):
            records.append(
                {"key": "", "column": column, "present": f"column {side}", "_order": (0,)}
            )
    found = [distinct_rows(p, file, group) for p in (path_a, path_b)] if group else []
    parts = pd.concat(found, ignore_index=True).drop_duplicates() if group else [None]
    for values in parts.itertuples(index=False, name=None) if group else parts:
        where = dict(zip(group, values, strict=True)) if group else None
        a, b = (read_table(p, file, where=where) for p in (path_a, path_b))
        records += _check_records(
            a, b, alignment, rtol, atol, ignore, all_columns=False, constant=group
        )
        del a, b
    records.sort(key=lambda record: record["_order"])
    return _difference_frame(records, name), {*heads[0].columns, *heads[1].columns}


def _path_points(params: pd.DataFrame) -> pd.DataFrame:
    """A stand-in row for :func:`with_path_keys` from a table's distinct ``path_param``: a
    value in ``k`` (``gamma``) where some job walks a path over k (the relaxation), so a table
    checked in parts gets the keys the whole table would, without reading its rows."""
    walked = set(params["path_param"]) if "path_param" in params.columns else set()
    return pd.DataFrame(
        {
            "k": [1.0 if "k" in walked else np.nan],
            "gamma": [1.0 if "alpha,gamma" in walked else np.nan],
        }
    )


def run_tables(path) -> list[str]:
    """The tables of a run dir (``<name>.parquet`` beside ``run.json``): fits, coefs, then the
    study's own, by name."""
    names = sorted(p.stem for p in Path(path).glob("*.parquet"))
    first = [n for n in ("fits", "coefs") if n in names]
    return [*first, *(n for n in names if n not in first)]


def compared_tables(path_a, path_b, table: str | None = None) -> list[str]:
    """The tables a comparison checks: two run dirs every table either has (without
    ``table``), otherwise the one table (``fits`` by default)."""
    a, b = resolve_run(path_a), resolve_run(path_b)
    if table is None and a.is_dir() and b.is_dir():
        return list(dict.fromkeys([*run_tables(a), *run_tables(b)]))
    return [table or "fits"]


def check_paths(
    path_a,
    path_b,
    table: str | None = None,
    on: Sequence[str] | Alignment = DEFAULT_KEYS,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    ignore: Sequence[str] = (),
    loaded: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> pd.DataFrame:
    """``--check``: two run dirs compare every table either has (fits, coefs and the study's
    tables), every column; otherwise (``--table``, or a table file such as a frozen summary) the
    one table, and with a file on its shared columns. One alignment (``on``) serves every
    table. See :func:`check_tables`; ``loaded`` holds tables already read, by name.

    Raises
    ------
    CompareError
        A table is unreadable, or ``ignore`` names a column no compared table has.
    """
    path_a, path_b = resolve_run(path_a), resolve_run(path_b)
    both_runs = path_a.is_dir() and path_b.is_dir()
    names = compared_tables(path_a, path_b, table)
    parts, seen = [], set()
    for name in names:
        found = [not p.is_dir() or (p / f"{name}.parquet").is_file() for p in (path_a, path_b)]
        if not all(found):
            side = PRESENT_A if found[0] else PRESENT_B
            parts.append(
                pd.DataFrame([{"table": name, "key": "", "column": "table", "present": side}])
            )
            continue
        if loaded and name in loaded:
            a, b = loaded[name]
        elif name in CHECKED_IN_PARTS and all(
            resolve_table(p, f"{name}.parquet").suffix == ".parquet" for p in (path_a, path_b)
        ):
            found, columns = check_table_in_parts(
                path_a, path_b, name, on, rtol, atol, ignore, all_columns=both_runs
            )
            seen.update(columns)
            parts.append(found)
            continue
        else:
            a = read_table(path_a, f"{name}.parquet")
            b = read_table(path_b, f"{name}.parquet")
        seen.update(a.columns, b.columns)
        parts.append(check_tables(a, b, on, rtol, atol, ignore, table=name, all_columns=both_runs))
    unknown = [c for c in ignore if c not in seen]
    if unknown:
        raise CompareError(
            f"--ignore: {', '.join(unknown)} not a column of the compared tables "
            f"({', '.join(names)})"
        )
    parts = [p.reindex(columns=list(DIFFERENCE_COLUMNS)) for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(DIFFERENCE_COLUMNS))
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------- rendering
def _format_number(value, integer: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN" if value is not None else ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if integer and float(value).is_integer():
            return str(int(value))
        return f"{float(value):.6g}"
    return str(value)


def display_frame(
    comparison: Comparison, aggregate: bool, pm: str = "±", only_differing: bool = False
) -> pd.DataFrame:
    """The human-facing table of the shared rows: one string cell per value,
    ``mean ± half-width`` when aggregated over seeds (then ``differ`` counts the seeds whose row
    differs). ``only_differing`` keeps the rows (groups) where some compared metric differs."""
    if not aggregate:
        frame = comparison.common
        if only_differing:
            frame = frame[comparison.row_differs.loc[frame.index]]
        out = frame[list(comparison.keys)].map(_format_number)
        for m in comparison.metrics:
            for side in ("A", "B", "diff"):
                out[f"{m} {side}"] = [
                    _format_number(v, m in INTEGER_METRICS) for v in frame[f"{m}_{side}"]
                ]
        return out.reset_index(drop=True)
    summary = summarise_over_seeds(comparison)
    if only_differing:
        summary = summary[summary["n_differ"] > 0]
    group_keys = [k for k in comparison.keys if k != "seed"]
    out = summary[[*group_keys, "n_seeds", "n_differ"]].map(_format_number)
    out = out.rename(columns={"n_differ": "differ"})
    for m in comparison.metrics:
        for side in ("A", "B", "diff"):
            means, widths = summary[f"{m}_{side}"], summary[f"{m}_{side}_ci95"]
            out[f"{m} {side}"] = [
                _format_number(mu) if math.isnan(w) else f"{mu:.4g} {pm} {w:.2g}"
                for mu, w in zip(means, widths, strict=True)
            ]
    return out.reset_index(drop=True)


#: Key columns that name a group of rows in the per-group summary (the rest: grid and seed).
GROUP_KEYS: tuple[str, ...] = ("dataset", "model", "variant")


def group_summary(comparison: Comparison) -> pd.DataFrame:
    """Per dataset and model (and variant where one is set): the shared rows, how many of them
    differ, the rows on one side only, and per metric the largest ``|B - A|`` over the shared
    rows (NaN where both sides are NaN everywhere).

    Returns
    -------
    DataFrame, shape (n_groups, n_group_keys + 4 + n_metrics)
        Group keys, ``rows``, ``differ``, ``only A``, ``only B``, then one column per metric.
    """
    rows = comparison.rows.assign(_differs=comparison.row_differs)
    keys = [k for k in GROUP_KEYS if k in comparison.keys]
    if "variant" in keys and (rows["variant"].astype(str) == "").all():
        keys.remove("variant")
    records = []
    groups = rows.groupby(keys, sort=True, dropna=False) if keys else [((), rows)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        record = dict(zip(keys, key, strict=True)) if keys else {"rows of": "all"}
        present = group["present"]
        record["rows"] = int((present == PRESENT_BOTH).sum())
        record["differ"] = int(group["_differs"].sum())
        record[PRESENT_A] = int((present == PRESENT_A).sum())
        record[PRESENT_B] = int((present == PRESENT_B).sum())
        shared = group[present == PRESENT_BOTH]
        for m in comparison.metrics:
            diff = shared[f"{m}_diff"].abs()
            record[m] = diff.max() if diff.notna().any() else np.nan
        records.append(record)
    return pd.DataFrame.from_records(records)


def _group_summary_text(comparison: Comparison) -> pd.DataFrame:
    summary = group_summary(comparison)
    out = summary.copy().astype(object)
    for column in summary.columns:
        integer = column not in comparison.metrics or column in INTEGER_METRICS
        out[column] = [_format_number(v, integer) for v in summary[column]]
    return out


def _text_table(frame: pd.DataFrame, n_fixed: int = 0, width: int | None = None) -> str:
    """Aligned text; wider than ``width`` characters, it is cut into column blocks, each
    repeating the first ``n_fixed`` (key) columns."""
    if width is not None and n_fixed < frame.shape[1]:
        full = _text_table(frame)
        if max(map(len, full.splitlines()), default=0) > width:
            blocks, chunk = [], []
            fixed = list(frame.columns[:n_fixed])
            for column in frame.columns[n_fixed:]:
                trial = _text_table(frame[fixed + chunk + [column]])
                if chunk and max(map(len, trial.splitlines())) > width:
                    blocks.append(_text_table(frame[fixed + chunk]))
                    chunk = []
                chunk.append(column)
            blocks.append(_text_table(frame[fixed + chunk]))
            return "\n\n".join(blocks)
        return full
    header = list(map(str, frame.columns))
    cells = frame.astype(str).to_numpy().tolist()
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    numeric = [all(_looks_numeric(r[i]) for r in cells) for i in range(len(header))]

    def line(values):
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, cells)])


def _looks_numeric(text: str) -> bool:
    head = text.split(" ")[0]
    try:
        float(head)
    except ValueError:
        return False
    return True


def _markdown_table(frame: pd.DataFrame) -> str:
    def row(values):
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    cells = frame.astype(str).to_numpy().tolist()
    return "\n".join([row(frame.columns), row(["---"] * frame.shape[1]), *map(row, cells)])


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}  # fmt: skip


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def _latex_table(frame: pd.DataFrame, caption: str) -> str:
    """A booktabs tabular (needs ``\\usepackage{booktabs}``); ``±`` becomes ``$\\pm$``."""

    def cell(text):
        return _latex_escape(text).replace("±", r"$\pm$")

    align_spec = "".join(
        "r" if all(_looks_numeric(str(v)) for v in frame[c]) else "l" for c in frame.columns
    )
    lines = [
        f"% {caption}",
        rf"\begin{{tabular}}{{{align_spec}}}",
        r"\toprule",
        " & ".join(cell(c) for c in frame.columns) + r" \\",
        r"\midrule",
        *(" & ".join(cell(v) for v in row) + r" \\" for row in frame.astype(str).to_numpy()),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines)


def _one_side_frame(comparison: Comparison, present: str) -> pd.DataFrame:
    rows = comparison.rows[comparison.rows["present"] == present]
    side = "A" if present == PRESENT_A else "B"
    out = rows[list(comparison.keys)].map(_format_number)
    for m in comparison.metrics:
        out[m] = [_format_number(v, m in INTEGER_METRICS) for v in rows[f"{m}_{side}"]]
    return out.reset_index(drop=True)


def _csv_frame(comparison: Comparison, aggregate: bool) -> pd.DataFrame:
    """Numbers only, one header: compared rows (``present=both``) then one-side rows."""
    if aggregate:
        main = summarise_over_seeds(comparison).drop(columns="n_differ")
    else:
        main = comparison.common.drop(columns="present")
    main.insert(0, "present", PRESENT_BOTH)
    one_side = pd.concat([comparison.only_a, comparison.only_b])
    one_side = one_side[[c for c in one_side.columns if not c.endswith("_diff")]]
    return pd.concat([main, one_side], ignore_index=True)


def describe(aggregate: bool) -> str:
    what = "diff = B - A"
    if aggregate:
        what += "; mean ± half-width of the 95% Student-t interval over seeds (paired for diff)"
    return what


def render(
    comparison: Comparison,
    fmt: str = "table",
    aggregate: bool | None = None,
    only_differing: bool = False,
) -> str:
    """Render a comparison as a terminal table, markdown, csv or LaTeX (booktabs).

    Parameters
    ----------
    comparison : Comparison
    fmt : {"table", "markdown", "csv", "latex"}
    aggregate : bool, optional
        Summarise over seeds; default: when some (dataset, model, variant, alpha_ratio) has
        several seeds.
    only_differing : bool
        Terminal table only: the shared rows where a compared metric differs (the rows on one
        side only are always shown); otherwise every row, those that differ marked.
    """
    if fmt not in FORMATS:
        raise CompareError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if aggregate is None:
        aggregate = has_several_seeds(comparison)
    if fmt == "csv":
        return _csv_frame(comparison, aggregate).to_csv(index=False)
    only_differing = only_differing and fmt == "table"
    main = display_frame(comparison, aggregate, only_differing=only_differing)
    n_common = len(comparison.common)
    if only_differing:
        n_differ = int(comparison.row_differs.sum())
        title = f"rows that differ ({n_differ} of {n_common}; --all shows every row)"
    else:
        title = f"rows in both ({n_common})"
        if fmt == "table" and not aggregate:
            marks = comparison.row_differs.loc[comparison.common.index]
            main.insert(len(comparison.keys), "differs", np.where(marks, "yes", ""))
    sections = [(f"{title}; {describe(aggregate)}", main)] if len(main) else []
    for present in (PRESENT_A, PRESENT_B):
        frame = _one_side_frame(comparison, present)
        if len(frame):
            sections.append((f"rows {present} ({len(frame)})", frame))
    blocks = []
    for title, frame in sections:
        if fmt == "table":
            n_fixed = sum(c in comparison.keys for c in frame.columns)
            width = shutil.get_terminal_size().columns
            blocks.append(f"{title}:\n{_text_table(frame, n_fixed, width)}")
        elif fmt == "markdown":
            blocks.append(f"**{title}**\n\n{_markdown_table(frame)}")
        else:
            blocks.append(_latex_table(frame, title))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def render_differences(differences: pd.DataFrame, rtol: float, atol: float) -> str:
    """The ``--check`` verdict, then one line per differing (table, column): how many rows
    differ and the first of them."""
    rule = f"counts, integers and strings exact, other numbers within rtol={rtol:g}, atol={atol:g}"
    if differences.empty:
        return f"check: OK (every column but the timings; {rule})"
    lines = [f"check: FAILED, {len(differences)} differences ({rule}):"]
    groups = differences.groupby(["table", "column", "present"], sort=False, dropna=False)
    for (table, column, present), group in groups:
        first = group.iloc[0]
        if column == "table":
            lines.append(f"  {table}: table {present}")
        elif str(present).startswith("column"):
            lines.append(f"  {table}.{column}: {present}")
        elif column == "row":
            lines.append(f"  {table}: {len(group)} row(s) {present}, first {first['key']}")
        else:
            lines.append(
                f"  {table}.{column}: {len(group)} row(s) differ, first {first['key']}: "
                f"A={_format_number(first['A'])} B={_format_number(first['B'])}"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- figures
#: Columns drawn by ``--figures`` and on the page unless ``--figure-metrics`` names others.
DEFAULT_FIGURE_METRICS: tuple[str, ...] = ("n_zero",)
#: Keys that are the x axis and the averaged dimension of the A-vs-B figure, not its panels.
FIGURE_AXIS_KEYS: tuple[str, ...] = ("alpha_ratio", "seed")


def _panel_labels(rows: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """``synthetic / lasso [solver=cd]`` per row: the panel's keys, a variant in brackets."""
    if not keys:
        return ["all rows"] * len(rows)
    labels = []
    for values in rows[list(keys)].itertuples(index=False):
        words = []
        for key, value in zip(keys, values, strict=True):
            text = _format_number(value)
            if key == "variant":
                if text:
                    words[-1:] = [f"{words[-1]} [{text}]" if words else f"[{text}]"]
            elif key in schema.PATH_KEYS:  # a path point: named, and absent where NaN
                if not pd.isna(value):
                    words.append(f"{key}={text}")
            else:
                words.append(text)
        labels.append(" / ".join(words))
    return labels


def figure_data(comparison: Comparison, metric: str) -> pd.DataFrame:
    """The plot data of the A-vs-B figure of one compared column.

    Returns
    -------
    DataFrame, shape (n_points, 8)
        Per panel (the keys but alpha_ratio and seed), grid point and side (``A``, ``B``,
        ``B - A``): the mean over seeds, the 95% Student-t interval over seeds (``low``,
        ``high``; paired for ``B - A``; the mean itself for one seed), ``n_seeds`` and, for
        ``B - A``, whether some seed's row differs beyond the tolerances (``differs``). A and B
        include their rows on one side only; B - A is drawn from the shared rows.

    Raises
    ------
    CompareError
        The rows are not aligned on ``alpha_ratio``, or ``metric`` is not compared.
    """
    if "alpha_ratio" not in comparison.keys:
        raise CompareError(
            "figure: the rows are not aligned on alpha_ratio (keys: "
            f"{', '.join(comparison.keys)}), so there is no alpha / alpha_max axis"
        )
    if metric not in comparison.metrics:
        raise CompareError(f"figure: {metric} is not a compared column")
    on_grid = comparison.rows["alpha_ratio"].notna().to_numpy()  # paths over k: no alpha axis
    rows = comparison.rows[on_grid]
    panel_keys = [
        k for k in comparison.keys
        if k not in FIGURE_AXIS_KEYS and not (k in schema.PATH_KEYS and rows[k].isna().all())
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "panel": _panel_labels(rows, panel_keys),
            "alpha_ratio": rows["alpha_ratio"],
            "A": rows[f"{metric}_A"],
            "B": rows[f"{metric}_B"],
            "B - A": rows[f"{metric}_diff"],
            "differs": comparison.differs[metric][on_grid],
        }
    )
    records = []
    for (panel, ratio), group in frame.groupby(["panel", "alpha_ratio"], sort=False):
        for side in ("A", "B", "B - A"):
            values = group[side].to_numpy(dtype=np.float64)
            values = values[~np.isnan(values)]
            if not values.size:
                continue
            mean, half = float(values.mean()), t_half_width(values)
            half = 0.0 if math.isnan(half) else half
            records.append(
                {
                    "panel": panel, "alpha_ratio": ratio, "side": side, "mean": mean,
                    "low": mean - half, "high": mean + half, "n_seeds": int(values.size),
                    "differs": side == "B - A" and bool(group["differs"].any()),
                }
            )  # fmt: skip
    return pd.DataFrame.from_records(records)


def _seed_note(comparison: Comparison) -> str:
    if "seed" not in comparison.keys:
        return ""
    seeds = comparison.rows["seed"].drop_duplicates()
    if len(seeds) == 1:
        return f"seed {_format_number(seeds.iloc[0])}"
    return f"mean over {len(seeds)} seeds, band: 95% t-interval"


def draw_figures(
    comparison: Comparison, metrics: Sequence[str], labels: tuple[str, str]
) -> list[tuple[str, object, str | None]]:
    """The A-vs-B figure of each of ``metrics``: (file stem, Figure or None, the reason it
    could not be drawn)."""
    from sparsity_lab.figures.compare import plot_a_vs_b

    drawn = []
    for metric in metrics:
        stem = f"a_vs_b_{metric}_vs_alpha"
        try:
            data = figure_data(comparison, metric)
        except CompareError as exc:
            drawn.append((stem, None, str(exc).removeprefix("figure: ")))
            continue
        integer = metric in INTEGER_METRICS
        figure = plot_a_vs_b(data, metric, labels, integer, note=_seed_note(comparison))
        drawn.append((stem, figure, None))
    return drawn


def save_figure(figure, path: Path) -> bytes:
    """Write ``figure`` as PNG to ``path`` (when given) and return the PNG bytes."""
    import io

    from sparsity_lab.figures.style import theme

    buffer = io.BytesIO()
    with theme():
        figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    return png


def side_label(path) -> str:
    """How a side is named in the figure's legend: the run dir's name, or parent/file."""
    path = resolve_run(path)
    return path.name if path.is_dir() else f"{path.parent.name}/{path.name}"


# ---------------------------------------------------------------------------- reading
def read_comparable(path, table: str, keys: Sequence[str]) -> pd.DataFrame:
    """A run dir's ``<table>.parquet`` or a table file, with at least the key columns.

    A fits table need not carry every contract column: a summary with the keys and the compared
    metrics is enough.
    """
    df = read_table(path, f"{table}.parquet")
    missing = [k for k in keys if k not in df.columns]
    if missing and table == "fits" and tuple(keys) == DEFAULT_KEYS:
        absent = [c for c in FITS_COLUMNS if c not in df.columns]
        raise ResultsError(f"{path} is not a fits table: missing columns {', '.join(absent)}")
    return df


def compared_metrics(a: pd.DataFrame, b: pd.DataFrame, extra: Sequence[str]) -> list[str]:
    """The default metrics both tables have, then the ones asked for (checked by ``align``)."""
    defaults = [m for m in DEFAULT_METRICS if m in a.columns and m in b.columns]
    metrics = list(dict.fromkeys([*defaults, *extra]))
    if not metrics:
        raise CompareError(
            f"--metrics: the tables share none of {', '.join(DEFAULT_METRICS)}; name the columns "
            "to compare"
        )
    return metrics


# ---------------------------------------------------------------------------- command line
def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsity-lab compare",
        description=(
            "Compare two result tables (run dirs or .parquet/.csv files) row by row. "
            "The verdict first (what --check would answer), then per dataset and model what "
            "differs, then the rows that differ: A, B and B - A; rows on one side only are "
            "listed. With several seeds per (dataset, model, variant, alpha_ratio), shows mean "
            "± 95% Student-t half-width over seeds."
        ),
    )
    parser.add_argument("a", metavar="A", help="run dir or fits table (.parquet, .csv)")
    parser.add_argument("b", metavar="B", help="run dir or fits table (.parquet, .csv)")
    parser.add_argument(
        "--on",
        type=_split,
        default=None,
        help="comma-separated key columns, for the table, the verdict and --check (default: "
        + ",".join(DEFAULT_KEYS)
        + ", less a column that holds one value in A and another in B: it names the run)",
    )
    parser.add_argument(
        "--metrics",
        type=_split,
        default=[],
        help="extra comma-separated numeric columns to compare (always, where both tables "
        "have them: " + ", ".join(DEFAULT_METRICS) + ")",
    )
    parser.add_argument(
        "--table",
        default=None,
        help="which table of a run dir: <table>.parquet (default: fits; --check on two run dirs "
        "without --table checks every table of the runs); files are read as they are",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", dest="fmt")
    parser.add_argument(
        "--per-seed", action="store_true", help="show every row instead of the mean over seeds"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        dest="show_all",
        help="terminal table: show every row, not only those that differ (csv, markdown and "
        "latex always hold every row)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare every column (timings aside) of every table (fits, coefs, the study's): "
        "exit 1 and list differences beyond tolerance (counts, integers, strings exactly), "
        "else exit 0",
    )
    parser.add_argument(
        "--ignore",
        type=_split,
        default=[],
        help="comma-separated columns the verdict and --check leave out (besides the timings: "
        + ", ".join(TIMING_COLUMNS)
        + ")",
    )
    parser.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (%(default)s)")
    parser.add_argument(
        "--report", nargs="?", const="compare_report.html", default=None, metavar="FILE",
        help="also write a self-contained HTML comparison page (default file: %(const)s)",
    )  # fmt: skip
    parser.add_argument(
        "--atol", type=float, default=1e-12, help="absolute tolerance (%(default)s)"
    )
    parser.add_argument(
        "--figures", default=None, metavar="DIR",
        help="also draw A and B in one figure per --figure-metrics column into DIR (PNG)",
    )  # fmt: skip
    parser.add_argument(
        "--figure-metrics",
        type=_split,
        default=None,
        help="columns drawn by --figures and on the --report page (default: "
        + ",".join(DEFAULT_FIGURE_METRICS)
        + "); each is compared too",
    )
    return parser


def check_tolerances(rtol: float, atol: float) -> None:
    """``--rtol``/``--atol`` are finite numbers >= 0 (NaN would make every test false)."""
    for option, value in (("--rtol", rtol), ("--atol", atol)):
        if not math.isfinite(value) or value < 0:
            raise CompareError(
                f"{option}: {value} is not allowed; a tolerance is a finite number >= 0"
            )


def check_output_file(path: Path | str, option: str) -> None:
    """An output file that can be written: not a folder, its folder creatable and writable."""
    path = Path(path)
    if path.is_dir():
        raise CompareError(
            f"{option}: {path} is a directory; name the file, e.g. {path / 'compare_report.html'}"
        )
    check_writable_dir(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise CompareError(f"{option}: cannot write {path}: permission denied")


#: At most this many columns are named in one line of the verdict.
MAX_NAMED_COLUMNS = 6


def _counts_text(counts: pd.Series) -> str:
    """``objective 20, n_iter 20, ... and 3 more`` from a count per column."""
    named = [f"{column} {int(n)}" for column, n in counts.head(MAX_NAMED_COLUMNS).items()]
    more = len(counts) - MAX_NAMED_COLUMNS
    return ", ".join(named) + (f" and {more} more" if more > 0 else "")


def _table_differences_text(name: str, part: pd.DataFrame) -> str:
    """One table's differences in a few words: a table or columns on one side only, rows that
    differ (in which columns), rows on one side only."""
    if (part["column"] == "table").any():
        return f"{name}: table {part['present'].iloc[0]}"
    words = []
    values = part[part["present"] == PRESENT_BOTH]
    if len(values):
        columns = values.groupby("column", sort=False).size()
        words.append(f"{values['key'].nunique()} rows differ ({_counts_text(columns)})")
    for side in (PRESENT_A, PRESENT_B):
        n = int(((part["column"] == "row") & (part["present"] == side)).sum())
        if n:
            words.append(f"{n} rows {side}")
    columns = part[part["present"].astype(str).str.startswith("column")]
    words += [f"column {c} {str(p).removeprefix('column ')}" for c, p in zip(
        columns["column"], columns["present"], strict=True)]  # fmt: skip
    return f"{name}: " + ", ".join(words)


def verdict_lines(
    comparison: Comparison,
    differences: pd.DataFrame,
    table: str,
    tables: Sequence[str],
    rtol: float,
    atol: float,
) -> list[str]:
    """The comparison's answer, printed before any table: ``same`` exactly when ``--check``
    would pass, else how many shared rows differ in the compared columns (the rows the table
    shows), per column, and what else differs.

    Parameters
    ----------
    comparison : Comparison
        The main table, aligned.
    differences : DataFrame
        :func:`check_paths` of the same inputs and alignment.
    table, tables : str, sequence of str
        The main table's name; every table compared.
    """
    rule = f"counts exact, others within rtol={rtol:g}, atol={atol:g}"
    n_common = len(comparison.common)
    if differences.empty:
        return [
            f"verdict: same: the {n_common} shared rows agree on every column of "
            f"{', '.join(tables)} but the timings ({rule})"
        ]
    n_a, n_b = len(comparison.only_a), len(comparison.only_b)
    sides = f"{n_a} rows only A, {n_b} only B" if n_a or n_b else "none on one side only"
    n_differ = int(comparison.row_differs.sum())
    per_metric = pd.Series({m: comparison.differs[m].sum() for m in comparison.metrics})
    lines = [
        f"verdict: different: {n_differ} of {n_common} shared rows differ, {sides}",
        f"  rows differing in {_counts_text(per_metric)} ({rule})",
    ]
    mine = differences[differences["table"] == table]
    other = mine[(mine["present"] == PRESENT_BOTH) & ~mine["column"].isin(comparison.metrics)]
    if len(other):
        per_column = other.groupby("column", sort=False).size()
        lines.append(
            f"  other {table} columns that differ (rows): {_counts_text(per_column)} "
            "(--metrics shows them)"
        )
    one_sided = mine[mine["present"].astype(str).str.startswith("column")]
    for column, present in zip(one_sided["column"], one_sided["present"], strict=True):
        lines.append(f"  {table}: column {column} {str(present).removeprefix('column ')}")
    for name in tables:
        part = differences[differences["table"] == name]
        if name != table and len(part):
            lines.append(f"  also {_table_differences_text(name, part)}")
    return lines


def few_seeds_warning(comparison: Comparison, aggregate: bool) -> str | None:
    """A warning when a shown interval rests on fewer than 3 seeds (too wide to read)."""
    if not aggregate:
        return None
    n_seeds = summarise_over_seeds(comparison)["n_seeds"]
    few = int((n_seeds < 3).sum())
    if not few:
        return None
    return (
        f"warning: {few} of {len(n_seeds)} intervals rest on fewer than 3 seeds "
        f"(min {int(n_seeds.min())}); read them as rough, or rerun with more seeds"
    )


def cli_main(argv: list[str]) -> int:
    """``sparsity-lab compare A B [...]``: returns 0, 1 (``--check`` found differences) or 2.

    The verdict comes first; then, on the terminal, the differences per dataset and model and
    the rows that differ; with ``--check`` only the differing columns (csv: the table on stdout,
    the verdict on stderr, so stdout stays one parseable table).
    """
    args = build_parser().parse_args(argv)
    table = args.table or "fits"
    try:
        check_tolerances(args.rtol, args.atol)
        if args.report is not None:  # before any work: a bad path must not cost the comparison
            check_output_file(args.report, "--report")
        if args.figures is not None:
            check_writable_dir(Path(args.figures))
        a = read_comparable(args.a, table, args.on or DEFAULT_KEYS)
        b = read_comparable(args.b, table, args.on or DEFAULT_KEYS)
        alignment = choose_alignment(a, b, args.on)
        figure_metrics = _figure_metrics(a, b, args, alignment)
        skipped = {*args.ignore, *alignment.left_out}
        extra = [*args.metrics, *figure_metrics]
        metrics = [m for m in compared_metrics(a, b, extra) if m not in skipped]
        comparison, no_shared = None, None
        try:
            comparison = align(a, b, alignment, metrics, args.rtol, args.atol)
        except NoSharedRows as exc:
            if not args.check:  # nothing to show; under --check it is a failed check
                raise
            no_shared = str(exc)
        differences = check_paths(
            args.a, args.b, args.table, alignment, args.rtol, args.atol, args.ignore,
            loaded={table: (a, b)},
        )  # fmt: skip
        tables = compared_tables(args.a, args.b, args.table)
        aggregate = False if args.per_seed else None
        # csv: stdout stays one parseable table, so the verdict goes to stderr
        stream = sys.stderr if args.fmt == "csv" else sys.stdout
        if no_shared:
            print(f"sparsity-lab compare: {no_shared}", file=stream)
        if args.check:
            lines = render_differences(differences, args.rtol, args.atol).splitlines()
        else:
            lines = verdict_lines(comparison, differences, table, tables, args.rtol, args.atol)
        if alignment.line():  # after the verdict's lines; --check: before its long list
            lines.insert(1 if args.check else len(lines), alignment.line())
        shown = lines
        if not args.check:  # the verdict fits the terminal like the tables
            shown = _wrap(lines, shutil.get_terminal_size().columns)
        print("\n".join(shown), file=stream)
        shown_aggregate, shown_rows = False, False
        if comparison is not None:
            shown_aggregate = has_several_seeds(comparison) if aggregate is None else aggregate
        if args.fmt == "csv" and comparison is not None:
            sys.stdout.write(render(comparison, args.fmt, aggregate=aggregate))
            shown_rows = True
        elif not args.check and args.fmt == "table":
            shown_rows = _print_terminal_tables(comparison, differences, aggregate, args.show_all)
        elif not args.check:
            print()
            sys.stdout.write(render(comparison, args.fmt, aggregate=aggregate))
            shown_rows = True
        if comparison is not None and shown_rows and not args.check:
            warning = few_seeds_warning(comparison, shown_aggregate)
            if warning:
                print(warning, file=sys.stderr)
        drawn = []
        if comparison is not None and (args.figures is not None or args.report is not None):
            labels = (side_label(args.a), side_label(args.b))
            drawn = draw_figures(comparison, figure_metrics, labels)
        pngs = []
        for stem, figure, reason in drawn:
            path = None if args.figures is None else Path(args.figures) / f"{stem}.png"
            pngs.append((stem, None if figure is None else save_figure(figure, path), reason))
            if path is not None and figure is not None:
                print(f"figure: {path}", file=stream)
        if args.report is not None and comparison is not None:
            from sparsity_lab.report import write_comparison_report

            page = write_comparison_report(
                args.a, args.b, lines, _page_tables(comparison, shown_aggregate), pngs,
                display_frame(comparison, shown_aggregate), args.report,
            )  # fmt: skip
            print(f"report: {page}", file=stream)
    except UserError as exc:  # ResultsError included: one line, exit 2
        print(f"sparsity-lab compare: error: {exc}", file=sys.stderr)
        return 2
    if not args.check:
        return 0
    return 1 if len(differences) else 0


def _figure_metrics(a: pd.DataFrame, b: pd.DataFrame, args, alignment: Alignment) -> list[str]:
    """The columns drawn: ``--figure-metrics`` (each a column of both tables), else the
    default ones both tables have; an explicit ``--figures`` needs an alpha_ratio key."""
    if args.figures is not None and "alpha_ratio" not in alignment.keys:
        raise CompareError(
            "--figures: the rows are not aligned on alpha_ratio (keys: "
            f"{', '.join(alignment.keys)}): there is no alpha / alpha_max axis to draw against"
        )
    if args.figure_metrics is None:
        return [m for m in DEFAULT_FIGURE_METRICS if m in a.columns and m in b.columns]
    missing = [m for m in args.figure_metrics if m not in a.columns or m not in b.columns]
    if missing:
        raise CompareError(f"--figure-metrics: {', '.join(missing)} not a column of A and B")
    return list(args.figure_metrics)


def _page_tables(comparison: Comparison, aggregate: bool) -> list[tuple[str, pd.DataFrame]]:
    """The comparison page's tables, differences first: per dataset and model, the rows that
    differ, the rows on one side only."""
    n_differ = int(comparison.row_differs.sum())
    tables = [
        ("Differences per dataset and model (largest |B - A| per column)",
         _group_summary_text(comparison)),
        (f"Rows that differ ({n_differ} of {len(comparison.common)}; {describe(aggregate)})",
         display_frame(comparison, aggregate, only_differing=True)),
    ]  # fmt: skip
    for present in (PRESENT_A, PRESENT_B):
        frame = _one_side_frame(comparison, present)
        if len(frame):
            tables.append((f"Rows {present} ({len(frame)})", frame))
    return tables


def _wrap(lines: list[str], width: int) -> list[str]:
    """Each line cut at spaces to ``width`` characters, continued with a deeper indent."""
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()) + 4)
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False)
    return out


def _print_terminal_tables(
    comparison: Comparison, differences: pd.DataFrame, aggregate: bool | None, show_all: bool
) -> bool:
    """The differences first: per dataset and model, then the rows that differ (every row with
    ``show_all``). Returns whether a table of shared rows was printed."""
    n_common = len(comparison.common)
    keys = ", ".join(comparison.keys)
    if differences.empty and not show_all:
        print(f"{n_common} rows aligned on {keys}; --all shows them")
        return False
    width = shutil.get_terminal_size().columns
    if not differences.empty:
        summary = _group_summary_text(comparison)
        n_fixed = sum(c in GROUP_KEYS for c in summary.columns)
        print("\nper dataset and model: rows that differ, largest |B - A| per compared column:")
        print(_text_table(summary, n_fixed, width))
    text = render(comparison, "table", aggregate=aggregate, only_differing=not show_all)
    differing = bool(comparison.row_differs.any())
    if not show_all and not differing:
        print(f"\nno compared column differs in a shared row; --all shows the {n_common} rows")
    if text:
        print()
        sys.stdout.write(text)
    return show_all or differing
