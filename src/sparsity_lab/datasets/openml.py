"""OpenML regression datasets through scikit-learn's ``fetch_openml`` and its on-disk cache.

With internet a dataset is downloaded once into ``<data_home>/openml/openml.org/...`` (gzipped
JSON and ARFF, scikit-learn's layout); from then on it loads offline. A cache miss without network
is one DataError line, not scikit-learn's retries and a traceback.
"""

from __future__ import annotations

import urllib.request
import warnings
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.datasets import fetch_openml, get_data_home

from sparsity_lab.datasets.base import DataError, Dataset
from sparsity_lab.datasets.real import _one_hot
from sparsity_lab.datasets.table import MISSING_POLICIES, apply_missing_policy

_API = "https://www.openml.org/api/v1/json/data/"
# fetch_openml ignores n_retries for these three calls (3 tries, 1 s apart): their cache files
# are checked here first, and the host is probed once when one is missing.
_METADATA_PATHS = (
    "api/v1/json/data/{}",
    "api/v1/json/data/features/{}",
    "api/v1/json/data/qualities/{}",
)


def load_openml(
    data_id: int | None = None,
    name: str | None = None,
    version: int | str = "active",
    target_column: str | None = "default-target",
    data_home: str | None = None,
    missing: str = "error",
    drop_columns: list[str] | tuple[str, ...] = (),
    n_retries: int = 1,
) -> Dataset:
    """An OpenML dataset as a regression problem.

    Parameters
    ----------
    data_id : int or None
        OpenML dataset id; give either ``data_id`` or ``name``.
    name : str or None
        OpenML dataset name (with ``version``, "active" = oldest active version).
    version : int or "active"
    target_column : str or None
        Numeric column to predict; "default-target" uses the dataset's declared target.
    data_home : str or None
        Cache root (scikit-learn's ``data_home``); None uses ``$SCIKIT_LEARN_DATA`` or
        ``~/scikit_learn_data``. Files live under ``<data_home>/openml/openml.org/``.
    missing : {"error", "drop_rows"}
        Missing-value policy: stop naming the first incomplete column, or drop incomplete rows
        (noted).
    drop_columns : list of str
        Columns to leave out (identifiers, text, leaks).
    n_retries : int
        Network retries of the data download (only used on a cache miss).

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, n_features): numeric columns as they are, nominal ones
        one-hot with the first level dropped; feature names kept.
    """
    if (data_id is None) == (name is None):
        raise DataError(
            "dataset=openml needs exactly one of dataset.data_id=<int> or dataset.name=<str>"
        )
    if data_id is not None and (isinstance(data_id, bool) or not isinstance(data_id, int)):
        raise DataError(f"dataset.data_id={data_id!r}: allowed values are positive integers")
    if missing not in MISSING_POLICIES:
        raise DataError(
            f"dataset.missing={missing!r}: allowed values are {', '.join(MISSING_POLICIES)}"
        )
    what = f"openml data_id={data_id}" if data_id is not None else f"openml name={name!r}"
    root = Path(get_data_home(data_home))
    cache = root / "openml" / "openml.org"
    if data_id is not None and not all(
        (cache / (path.format(data_id) + ".gz")).exists() for path in _METADATA_PATHS
    ):
        _probe(_API + str(data_id), what, cache)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            bunch = fetch_openml(
                data_id=data_id,
                name=name,
                version=version,
                target_column=target_column,
                data_home=str(root),
                as_frame="auto",
                n_retries=n_retries,
                delay=0.5,
            )
        except (URLError, OSError, TimeoutError) as exc:
            raise DataError(_unreachable(what, cache, exc)) from None
        except ValueError as exc:
            raise DataError(f"{what}: {_first_line(exc)}") from None
    notes = [
        f"openml: {_first_line(w.message)}" for w in caught if "network error" not in str(w.message)
    ]

    details = bunch.details
    did, ds_name = int(details["id"]), str(details["name"])
    X, y = bunch.data, bunch.target
    if sp.issparse(X):
        X = pd.DataFrame(X.toarray(), columns=bunch.feature_names)
    if y is None:
        raise DataError(
            f"{what} ({ds_name}) has no default target: set dataset.target_column to one of "
            f"{', '.join(map(str, X.columns))}"
        )
    if isinstance(y, pd.DataFrame):
        raise DataError(
            f"{what} ({ds_name}) has several targets ({', '.join(y.columns)}): set "
            "dataset.target_column to one"
        )
    y = pd.Series(np.asarray(y), name=str(getattr(y, "name", target_column)))
    if not pd.api.types.is_numeric_dtype(y):
        raise DataError(
            f"{what} ({ds_name}): target {y.name!r} is not numeric (a classification task); "
            "allowed: a numeric dataset.target_column"
        )
    unknown = [c for c in drop_columns if c not in X.columns]
    if unknown:
        raise DataError(
            f"dataset.drop_columns: {unknown[0]!r} is not a column of {ds_name}; allowed: "
            f"{', '.join(map(str, X.columns))}"
        )
    X = X.drop(columns=list(drop_columns)).reset_index(drop=True)
    text = [
        c
        for c in X.columns
        if not (isinstance(X[c].dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(X[c]))
    ]
    if text:
        raise DataError(
            f"{what} ({ds_name}): column {text[0]!r} is text; leave it out with "
            f"dataset.drop_columns=[{text[0]}] (allowed: numeric or nominal columns)"
        )
    frame = pd.concat([X, y.reset_index(drop=True)], axis=1)
    frame, dropped = apply_missing_policy(frame, missing, f"openml {ds_name}")
    if dropped:
        notes.append(f"openml {ds_name}: dropped {dropped} row(s) with missing values")
    X = _one_hot(frame.drop(columns=y.name))
    return Dataset(
        name=f"openml_{ds_name.lower()}",
        X=X.to_numpy(dtype=np.float64),
        y=frame[y.name].to_numpy(dtype=np.float64),
        feature_names=list(X.columns),
        target=str(y.name),
        notes=notes,
        source=f"OpenML data_id={did} ({ds_name} v{details.get('version', '?')}), fetch_openml",
        licence=str(details.get("licence", "see the OpenML page")),
    )


def _probe(url: str, what: str, cache: Path) -> None:
    """One request, no retries: fail at once with one line when OpenML cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=15):
            pass
    except HTTPError:
        return  # reachable; fetch_openml turns the HTTP error into its own message
    except (URLError, OSError, TimeoutError) as exc:
        raise DataError(_unreachable(what, cache, exc)) from None


def _unreachable(what: str, cache: Path, exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    return (
        f"{what} is not in the cache {cache} and openml.org cannot be reached ({reason}); "
        "run once with internet, or set dataset.data_home to a cache that has it"
    )


def _first_line(message: object) -> str:
    return str(message).strip().splitlines()[0] if str(message).strip() else repr(message)
