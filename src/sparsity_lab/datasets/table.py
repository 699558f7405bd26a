"""User data: a CSV or parquet table (or a DataFrame) with a numeric target column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sparsity_lab.datasets.base import DataError, Dataset
from sparsity_lab.datasets.real import _one_hot

MISSING_POLICIES = ("error", "drop_rows")


def apply_missing_policy(frame: pd.DataFrame, missing: str, what: str) -> tuple[pd.DataFrame, int]:
    """Apply a missing-value policy to ``frame``.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_columns)
    missing : {"error", "drop_rows"}
        "error" raises a DataError naming the first column with a missing value; "drop_rows"
        drops every row with one.
    what : str
        Dataset description used in the message.

    Returns
    -------
    frame : DataFrame
        ``frame`` without incomplete rows (index reset).
    n_dropped : int
    """
    if missing not in MISSING_POLICIES:
        raise DataError(
            f"dataset.missing={missing!r}: allowed values are {', '.join(MISSING_POLICIES)}"
        )
    counts = frame.isna().sum()
    if not counts.any():
        return frame, 0
    if missing == "error":
        column = counts[counts > 0].index[0]
        raise DataError(
            f"{what}: column {column!r} has {counts[column]} missing value(s); set "
            "dataset.missing=drop_rows to drop incomplete rows (allowed: error, drop_rows)"
        )
    kept = frame.dropna().reset_index(drop=True)
    return kept, len(frame) - len(kept)


def from_frame(
    frame: pd.DataFrame,
    target: str,
    name: str = "table",
    missing: str = "error",
    drop_columns: list[str] | tuple[str, ...] = (),
) -> Dataset:
    """A regression dataset from a DataFrame: ``target`` is y, every other column a feature.

    Parameters
    ----------
    frame : DataFrame of shape (n_samples, n_columns)
    target : str
        Numeric column to predict.
    name : str
        Name written to the result tables.
    missing : {"error", "drop_rows"}
        Missing-value policy (see ``apply_missing_policy``).
    drop_columns : list of str
        Columns to leave out (identifiers, leaks).

    Returns
    -------
    Dataset
        Numeric columns as they are; text and categorical columns one-hot with the first level
        dropped; feature names kept.
    """
    for column in (target, *drop_columns):
        if column not in frame.columns:
            raise DataError(
                f"dataset {name}: no column {column!r}; allowed: "
                f"{', '.join(map(str, frame.columns))}"
            )
    if target in drop_columns:
        raise DataError(
            f"dataset.drop_columns: {target!r} is the target (dataset.target); allowed: "
            "feature columns"
        )
    frame = frame.drop(columns=list(drop_columns))
    if not pd.api.types.is_numeric_dtype(frame[target]):
        raise DataError(f"dataset {name}: target {target!r} is not numeric (allowed: numbers)")
    frame, dropped = apply_missing_policy(frame, missing, f"dataset {name}")
    notes = [f"{name}: dropped {dropped} row(s) with missing values"] if dropped else []
    X = _one_hot(frame.drop(columns=target))
    return Dataset(
        name=name,
        X=X.to_numpy(dtype=np.float64),
        y=frame[target].to_numpy(dtype=np.float64),
        feature_names=list(X.columns),
        target=target,
        notes=notes,
        source="user table",
        licence="user's",
    )


def load_table(
    path: str,
    target: str,
    name: str = "table",
    missing: str = "error",
    drop_columns: list[str] | tuple[str, ...] = (),
) -> Dataset:
    """A regression dataset from a ``.csv`` or ``.parquet`` file (see ``from_frame``).

    Parameters
    ----------
    path : str
        File to read; relative paths are relative to the working directory.
    target, name, missing, drop_columns
        As in ``from_frame``.
    """
    if path is None or str(path) in ("", "???"):
        raise DataError("dataset=table needs dataset.path=<file.csv or file.parquet>")
    file = Path(path)
    if file.is_dir():
        raise DataError(f"dataset.path={path!r}: a folder; give a .csv or .parquet file")
    if not file.is_file():
        raise DataError(f"dataset.path={path!r}: no such file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(file)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        else:
            raise DataError(f"dataset.path={path!r}: allowed file types are .csv, .parquet")
    except pd.errors.EmptyDataError:
        raise DataError(f"dataset.path={path!r}: the file is empty (no header, no rows)") from None
    if frame.empty:
        raise DataError(
            f"dataset.path={path!r}: no rows (columns: {', '.join(map(str, frame.columns))})"
        )
    return from_frame(frame, target, name=name, missing=missing, drop_columns=drop_columns)
