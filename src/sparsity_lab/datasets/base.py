"""The dataset record every loader returns, and the preprocessing every fit sees."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparsity_lab.errors import UserError


class DataError(UserError):
    """Bad dataset parameters or bad data: one line naming the field and what is allowed."""


@dataclass
class Dataset:
    """A regression dataset as a loader returns it, before any preprocessing.

    Attributes
    ----------
    name : str
        Name written to the result tables.
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), float64
    feature_names : list of str, length n_features
    true_coef : ndarray of shape (n_features,) or None
        Coefficients that generated ``y`` (synthetic data), in the units of ``X``.
    target : str
        What ``y`` measures.
    train_index : ndarray of int or None
        A fixed training split (e.g. the ESL prostate split); ``None`` lets ``test_size`` decide.
    notes : list of str
        What the loader did that a user should know (dropped rows or columns, ...).
    source : str
        Where the data comes from (package and original reference), for the catalog.
    licence : str
        Licence of the data as shipped, for the catalog.
    cov : ndarray of shape (n_features, n_features) or None
        The population covariance of the rows of ``X`` when the generator knows it (features
        with mean 0): with ``true_coef`` and ``noise_sd`` it gives a fit's test error exactly
        (:func:`sparsity_lab.metrics.prediction_risk`).
    noise_sd : float or None
        The standard deviation of the Gaussian noise of ``y`` when the generator knows it.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    true_coef: np.ndarray | None = None
    target: str = "y"
    train_index: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    source: str = ""
    licence: str = ""
    cov: np.ndarray | None = None
    noise_sd: float | None = None

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64).ravel()
        if self.X.ndim != 2:
            raise DataError(f"dataset {self.name}: X must be 2-D, got shape {self.X.shape}")
        n, p = self.X.shape
        if self.y.shape[0] != n:
            raise DataError(f"dataset {self.name}: X has {n} rows but y has {self.y.shape[0]}")
        if len(self.feature_names) != p:
            raise DataError(
                f"dataset {self.name}: {len(self.feature_names)} feature names for {p} columns"
            )
        self.feature_names = [str(f) for f in self.feature_names]
        bad_cols = np.flatnonzero(~np.isfinite(self.X).all(axis=0))
        if bad_cols.size:
            raise DataError(
                f"dataset {self.name}: column {self.feature_names[bad_cols[0]]!r} has NaN or "
                "infinite values; drop or impute them before loading (allowed: finite numbers)"
            )
        if not np.isfinite(self.y).all():
            raise DataError(
                f"dataset {self.name}: target {self.target!r} has NaN or infinite values "
                "(allowed: finite numbers)"
            )
        if self.true_coef is not None:
            self.true_coef = np.asarray(self.true_coef, dtype=np.float64).ravel()
            if self.true_coef.shape[0] != p:
                raise DataError(f"dataset {self.name}: true_coef has the wrong length")
        if self.cov is not None:
            self.cov = np.asarray(self.cov, dtype=np.float64)
            if self.cov.shape != (p, p):
                shape = self.cov.shape
                raise DataError(f"dataset {self.name}: cov has shape {shape}, not ({p}, {p})")

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]


@dataclass
class PreparedData:
    """Standardised training data (features mean 0 / sd 1, y centred) and the test rows.

    Test rows are transformed with the training statistics. ``true_coef`` is expressed on the
    standardised features (``beta_j * sd_j``), the scale of the fitted coefficients.
    ``raw_true_coef``, ``cov`` and ``noise_sd`` are the generator's, in the units of the raw
    features (None when it does not know them): the exact test error of a fit needs its
    coefficients back in those units (``coef / x_scale``). ``X_val``, ``y_val``: the validation
    rows held out of the training rows (``prepare(validation_size=...)``), transformed like the
    test rows; None without them.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    y_offset: float
    x_mean: np.ndarray
    x_scale: np.ndarray
    feature_names: list[str]
    true_coef: np.ndarray | None
    notes: list[str]
    raw_true_coef: np.ndarray | None = None
    cov: np.ndarray | None = None
    noise_sd: float | None = None
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]


def check_test_size(test_size: float) -> None:
    """Raise DataError unless ``0 <= test_size < 1`` (a real number, not a bool)."""
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, int | float | np.integer | np.floating)
        or not 0.0 <= test_size < 1.0
    ):
        raise DataError(f"dataset.test_size={test_size!r}: allowed values are 0 <= test_size < 1")


def split_indices(n_samples: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test row indices; ``test_size=0`` keeps every row for training."""
    check_test_size(test_size)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_samples)
    n_test = int(round(test_size * n_samples))  # noqa: RUF046 (numpy scalars round to floats)
    if n_samples - n_test < 2:
        raise DataError(
            f"dataset.test_size={test_size} leaves {n_samples - n_test} training rows of "
            f"{n_samples}; at least 2 are needed"
        )
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def validation_split(
    n_train: int, validation_size: float | int, seed: int, field: str = "select.validation_size"
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (fit, validation) within ``n_train`` training rows, drawn at random.

    ``validation_size``: a fraction 0 < v < 1 of the training rows, or a number of rows >= 1
    (an integer); at least 2 rows must stay to fit. The draw is independent of the test split's.
    """
    bad_type = isinstance(validation_size, bool) or not isinstance(
        validation_size, int | float | np.integer | np.floating
    )
    integer = not bad_type and isinstance(validation_size, int | np.integer)
    if bad_type or not (validation_size >= 1 if integer else 0.0 < validation_size < 1.0):
        raise DataError(
            f"{field}={validation_size!r}: allowed values are a fraction 0 < v < 1 of the "
            "training rows or a number of rows >= 1"
        )
    n_val = int(validation_size) if integer else int(round(validation_size * n_train))  # noqa: RUF046
    if n_val < 1 or n_train - n_val < 2:
        raise DataError(
            f"{field}={validation_size!r} asks for {n_val} validation rows of the {n_train} "
            f"training rows; allowed: 1 to {n_train - 2} rows (2 must stay to fit)"
        )
    perm = np.random.default_rng([seed, 1]).permutation(n_train)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def prepare(
    dataset: Dataset, test_size: float = 0.25, seed: int = 0, validation_size: float | int = 0
) -> PreparedData:
    """Split, drop columns constant on the training rows, standardise on the training rows.

    Parameters
    ----------
    dataset : Dataset
    test_size : float in [0, 1)
        Fraction of rows held out; ignored when the dataset carries a fixed ``train_index``.
    seed : int
        Drives the random split.
    validation_size : float or int
        0: no validation rows. Else a fraction of the training rows, or a number of them
        (:func:`validation_split`), held out as ``X_val``/``y_val``: the training rows are what
        stays, and they alone set the standardisation.
    """
    check_test_size(test_size)
    n = dataset.n_samples
    if dataset.train_index is not None:
        train = np.sort(np.asarray(dataset.train_index))
        test = np.setdiff1d(np.arange(n), train)
    else:
        train, test = split_indices(n, test_size, seed)
    val = None
    if not (validation_size == 0 and not isinstance(validation_size, bool)):
        fit_pos, val_pos = validation_split(len(train), validation_size, seed)
        train, val = train[fit_pos], train[val_pos]
    # Fancy indexing copies, so the training block can be standardised in place: at n = 20000,
    # p = 1000 every avoided temporary is a 160 MB pass.
    X_tr, X_te = dataset.X[train], dataset.X[test]
    y_tr, y_te = dataset.y[train], dataset.y[test]

    notes = list(dataset.notes)
    names = dataset.feature_names
    true_coef = dataset.true_coef
    cov = dataset.cov
    # Exactly constant, whatever rounding the mean would show (a std of 1e-17 is not a feature).
    keep = ~(X_tr == X_tr[:1]).all(axis=0)
    if not keep.all():
        dropped = [names[j] for j in np.flatnonzero(~keep)]
        shown = ", ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        notes.append(f"dropped {len(dropped)} constant column(s) on the training rows: {shown}")
        X_tr, X_te = X_tr[:, keep], X_te[:, keep]
        names = [nm for nm, k in zip(names, keep, strict=True) if k]
        if true_coef is not None:
            true_coef = true_coef[keep]
        cov = None  # a dropped feature's share of the truth is no longer fitted: not exact
    if X_tr.shape[1] == 0:
        raise DataError(f"dataset {dataset.name}: every feature is constant on the training rows")

    x_mean = X_tr.mean(axis=0)
    X_tr -= x_mean
    x_scale = np.sqrt(np.einsum("ij,ij->j", X_tr, X_tr) / X_tr.shape[0])  # population std
    X_tr /= x_scale
    y_offset = float(y_tr.mean())
    X_test = (X_te - x_mean) / x_scale
    X_val = y_val = None
    if val is not None:
        X_val = (dataset.X[val][:, keep] - x_mean) / x_scale
        y_val = dataset.y[val]
    return PreparedData(
        X_train=np.ascontiguousarray(X_tr),
        y_train=y_tr - y_offset,
        X_test=np.ascontiguousarray(X_test),
        y_test=y_te,
        y_offset=y_offset,
        x_mean=x_mean,
        x_scale=x_scale,
        feature_names=names,
        true_coef=None if true_coef is None else true_coef * x_scale,
        notes=notes,
        raw_true_coef=true_coef,
        cov=cov,
        noise_sd=None if cov is None else dataset.noise_sd,
        X_val=None if X_val is None else np.ascontiguousarray(X_val),
        y_val=y_val,
    )
