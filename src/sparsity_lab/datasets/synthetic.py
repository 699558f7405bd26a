"""Synthetic regression problems with a known sparse truth."""

from __future__ import annotations

import numpy as np

from sparsity_lab.datasets.base import DataError, Dataset
from sparsity_lab.errors import check_int


def toeplitz_design(n_samples: int, n_features: int, rho: float, rng: np.random.Generator):
    """Gaussian design with unit variances and corr(X_i, X_j) = rho^|i-j|.

    Built as an AR(1) recursion over the columns, O(n p), so no p x p Cholesky is needed. The
    columns are drawn as contiguous rows of a (p, n) array: the recursion then streams memory
    instead of striding through it (30x faster at n = 20000, p = 1000); one transposing copy
    returns the usual C order, which row indexing downstream needs to be fast.
    """
    Z = rng.standard_normal((n_features, n_samples))
    if rho != 0.0:
        scale = np.sqrt(1.0 - rho**2)
        for j in range(1, n_features):
            Z[j] *= scale
            Z[j] += rho * Z[j - 1]
    return np.ascontiguousarray(Z.T)


def feature_names(n_features: int) -> list[str]:
    """x0, x1, ... zero-padded so that they sort in column order."""
    width = len(str(n_features - 1))
    return [f"x{j:0{width}d}" for j in range(n_features)]


def make_synthetic(
    n_samples: int = 500,
    n_features: int = 100,
    n_informative: int = 10,
    rho: float = 0.5,
    noise: float = 1.0,
    random_state: int = 0,
    name: str = "synthetic",
) -> Dataset:
    """Sparse linear model ``y = X beta + noise * eps`` on a Toeplitz-correlated Gaussian design.

    ``beta`` has ``n_informative`` nonzero entries, at random positions, equal to +-1 with
    random signs. The truth is kept in ``Dataset.true_coef`` for support recovery.
    """
    _check_int("n_samples", n_samples, 2)
    _check_int("n_features", n_features, 1)
    _check_int("n_informative", n_informative, 0)
    if n_informative > n_features:
        raise DataError(
            f"dataset.n_informative={n_informative} exceeds dataset.n_features={n_features}; "
            "allowed: 0 <= n_informative <= n_features"
        )
    if not -1.0 < rho < 1.0:
        raise DataError(f"dataset.rho={rho}: allowed values are -1 < rho < 1")
    if noise < 0:
        raise DataError(f"dataset.noise={noise}: allowed values are noise >= 0")

    rng = np.random.default_rng(random_state)
    X = toeplitz_design(n_samples, n_features, rho, rng)
    beta = np.zeros(n_features)
    support = rng.choice(n_features, size=n_informative, replace=False)
    beta[support] = rng.choice([-1.0, 1.0], size=n_informative)
    y = X @ beta + noise * rng.standard_normal(n_samples)
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=feature_names(n_features),
        true_coef=beta,
        target="y",
        source="generated (make_synthetic, Toeplitz design)",
        licence="generated",
    )


def _check_int(field: str, value, minimum: int) -> None:
    check_int(f"dataset.{field}", value, minimum, error=DataError)


DESIGNS = ("independent", "toeplitz", "block", "orthogonal")
NOISE_DISTRIBUTIONS = ("gaussian", "student_t", "laplace")
SUPPORTS = ("random", "first", "spread")
SIGNS = ("random", "positive", "alternating")
MAGNITUDES = ("equal", "uniform", "decay", "gaussian")


def make_sparse_regression(
    n_samples: int = 200,
    n_features: int = 50,
    n_informative: int = 10,
    design: str = "toeplitz",
    rho: float = 0.5,
    block_size: int = 10,
    snr: float | None = None,
    noise: float = 1.0,
    noise_distribution: str = "gaussian",
    df: float = 3.0,
    support: str = "random",
    coef_sign: str = "random",
    coef_magnitude: str = "equal",
    coef_scale: float = 1.0,
    random_state: int = 0,
    name: str = "sparse_regression",
) -> Dataset:
    """Sparse linear model ``y = X beta + sigma * eps`` with a chosen design, truth and noise.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``; ``n_features > n_samples`` gives a p >> n problem (not for "orthogonal").
    n_informative : int
        Number of nonzero entries of ``beta`` (the density of the truth).
    design : {"independent", "toeplitz", "block", "orthogonal"}
        Gaussian columns: independent; corr = rho^|i-j| (Toeplitz); equicorrelated rho within
        consecutive blocks of ``block_size`` columns, independent across blocks (block); or
        ``X^T X = n I`` with centred columns, so that ``prepare(test_size=0)`` leaves
        ``X^T X = n I`` up to rounding (orthogonal; needs n_features <= n_samples - 1).
    rho : float
        Correlation parameter of the toeplitz (-1 < rho < 1) and block (0 <= rho < 1) designs.
    block_size : int
        Columns per block of the block design.
    snr : float or None
        Signal-to-noise ratio var(X beta) / var(noise) (empirical signal variance); when given,
        it sets ``sigma`` and ``noise`` is ignored.
    noise : float
        Noise standard deviation ``sigma`` when ``snr`` is None.
    noise_distribution : {"gaussian", "student_t", "laplace"}
        Law of ``eps``, rescaled to unit variance (heavy tails: student_t with ``df`` > 2).
    df : float
        Degrees of freedom of the Student t noise, > 2 so that its variance is finite.
    support : {"random", "first", "spread"}
        Where the nonzeros sit: random positions, the first columns, or evenly spaced.
    coef_sign : {"random", "positive", "alternating"}
    coef_magnitude : {"equal", "uniform", "decay", "gaussian"}
        |beta_k| = 1; U(0.5, 1.5); 2^-k for the k-th nonzero (k = 0, 1, ...); |N(0, 1)|.
    coef_scale : float
        Multiplies every coefficient.
    random_state : int
    name : str

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, n_features); ``true_coef`` (beta, shape (n_features,)) is
        always recorded, and the noise level used is written to ``notes``.
    """
    _check_int("n_samples", n_samples, 2)
    _check_int("n_features", n_features, 1)
    _check_int("n_informative", n_informative, 0)
    _check_int("block_size", block_size, 1)
    if n_informative > n_features:
        raise DataError(
            f"dataset.n_informative={n_informative} exceeds dataset.n_features={n_features}; "
            "allowed: 0 <= n_informative <= n_features"
        )
    _check_choice("design", design, DESIGNS)
    _check_choice("noise_distribution", noise_distribution, NOISE_DISTRIBUTIONS)
    _check_choice("support", support, SUPPORTS)
    _check_choice("coef_sign", coef_sign, SIGNS)
    _check_choice("coef_magnitude", coef_magnitude, MAGNITUDES)
    if design == "toeplitz" and not -1.0 < rho < 1.0:
        raise DataError(f"dataset.rho={rho}: allowed values for design=toeplitz are -1 < rho < 1")
    if design == "block" and not 0.0 <= rho < 1.0:
        raise DataError(f"dataset.rho={rho}: allowed values for design=block are 0 <= rho < 1")
    if design == "orthogonal" and n_features > n_samples - 1:
        raise DataError(
            f"dataset.n_features={n_features} with design=orthogonal: allowed n_features <= "
            f"n_samples - 1 = {n_samples - 1} (centred orthogonal columns)"
        )
    if snr is not None and not snr > 0:
        raise DataError(f"dataset.snr={snr}: allowed values are snr > 0, or null to use noise")
    if snr is not None and n_informative == 0:
        raise DataError("dataset.snr needs a signal: allowed only with n_informative >= 1")
    if snr is None and not noise >= 0:
        raise DataError(f"dataset.noise={noise}: allowed values are noise >= 0")
    if noise_distribution == "student_t" and not df > 2:
        raise DataError(f"dataset.df={df}: allowed values are df > 2 (finite noise variance)")
    if not coef_scale > 0:
        raise DataError(f"dataset.coef_scale={coef_scale}: allowed values are coef_scale > 0")

    rng = np.random.default_rng(random_state)
    X = _design(design, n_samples, n_features, rho, block_size, rng)
    beta = _true_coef(n_features, n_informative, support, coef_sign, coef_magnitude, rng)
    beta *= coef_scale
    signal = X @ beta
    sigma = float(np.std(signal) / np.sqrt(snr)) if snr is not None else float(noise)
    y = signal + sigma * _unit_noise(noise_distribution, df, n_samples, rng)
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=feature_names(n_features),
        true_coef=beta,
        target="y",
        notes=[f"{name}: design={design}, noise sd={sigma:.6g} ({noise_distribution})"],
        source=f"generated (make_sparse_regression, design={design})",
        licence="generated",
    )


def _design(
    design: str, n: int, p: int, rho: float, block_size: int, rng: np.random.Generator
) -> np.ndarray:
    if design == "independent":
        return rng.standard_normal((n, p))
    if design == "toeplitz":
        return toeplitz_design(n, p, rho, rng)
    if design == "block":
        # Each block shares one latent column: corr = rho inside a block, 0 across blocks.
        n_blocks = -(-p // block_size)
        common = rng.standard_normal((n, n_blocks))
        block_of = np.arange(p) // block_size
        return np.sqrt(rho) * common[:, block_of] + np.sqrt(1.0 - rho) * rng.standard_normal((n, p))
    # Orthogonal: QR of [1, G] gives columns orthonormal and orthogonal to the constant, so they
    # have mean 0; scaled by sqrt(n) their population sd is exactly 1, so standardising on all
    # rows changes nothing and X^T X = n I survives prepare(test_size=0).
    basis = np.column_stack([np.ones(n), rng.standard_normal((n, p))])
    q, _ = np.linalg.qr(basis)
    return np.sqrt(n) * q[:, 1:]


def _true_coef(
    p: int, k: int, support: str, sign: str, magnitude: str, rng: np.random.Generator
) -> np.ndarray:
    beta = np.zeros(p)
    if k == 0:
        return beta
    if support == "random":
        where = np.sort(rng.choice(p, size=k, replace=False))
    elif support == "first":
        where = np.arange(k)
    else:
        where = np.floor(np.arange(k) * p / k).astype(int)
    if magnitude == "equal":
        size = np.ones(k)
    elif magnitude == "uniform":
        size = rng.uniform(0.5, 1.5, size=k)
    elif magnitude == "decay":
        size = 2.0 ** -np.arange(k)
    else:
        size = np.abs(rng.standard_normal(k))
    if sign == "random":
        signs = rng.choice([-1.0, 1.0], size=k)
    elif sign == "positive":
        signs = np.ones(k)
    else:
        signs = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
    beta[where] = signs * size
    return beta


def _unit_noise(distribution: str, df: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with mean 0 and variance 1."""
    if distribution == "gaussian":
        return rng.standard_normal(n)
    if distribution == "student_t":
        return rng.standard_t(df, size=n) / np.sqrt(df / (df - 2.0))
    return rng.laplace(scale=1.0 / np.sqrt(2.0), size=n)


def _check_choice(field: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DataError(f"dataset.{field}={value!r}: allowed values are {', '.join(allowed)}")


#: The coefficient patterns of Hastie, Tibshirani and Tibshirani's ``sim.xy`` offered here.
BETA_TYPES = (1, 2, 3, 5)


def hastie2020_coef(n_features: int, n_nonzero: int, beta_type: int) -> np.ndarray:
    """The true coefficients of ``sim.xy`` (R package ``bestsubset``) for one beta type.

    1: ``n_nonzero`` ones at the (1-based) indices ``round(seq(1, p, length = s))``, rounded half
    to even as R does; 2: the first ``n_nonzero`` are 1; 3: the first ``n_nonzero`` run
    linearly from 10 down to 0.5; 5: the first ``n_nonzero`` are 1, then beta_j = 0.5^(j - s)
    for the rest (1-based j), a weakly sparse truth with no exact zero.
    """
    p, s = n_features, n_nonzero
    beta = np.zeros(p)
    if beta_type == 1:
        # R's seq(1, p, length = s) is from + (0:(s-1)) * by; round() halves to even, as numpy
        spots = 1.0 + np.arange(s) * ((p - 1) / (s - 1)) if s > 1 else np.ones(1)
        beta[np.round(spots).astype(int) - 1] = 1.0
    elif beta_type == 2:
        beta[:s] = 1.0
    elif beta_type == 3:
        beta[:s] = np.linspace(10.0, 0.5, s) if s > 1 else 10.0
    else:
        beta[:s] = 1.0
        beta[s:] = 0.5 ** np.arange(1, p - s + 1)
    return beta


def toeplitz_cov(n_features: int, rho: float) -> np.ndarray:
    """Sigma with Sigma_ij = rho^|i-j| (the identity at rho = 0)."""
    lags = np.abs(np.subtract.outer(np.arange(n_features), np.arange(n_features)))
    return np.power(float(rho), lags) if rho != 0 else np.eye(n_features)


def make_hastie2020(
    n_samples: int = 200,
    n_features: int = 10,
    n_nonzero: int = 5,
    beta_type: int = 2,
    rho: float = 0.35,
    snr: float = 1.0,
    random_state: int = 0,
    name: str = "hastie2020",
) -> Dataset:
    """The simulation of Hastie, Tibshirani and Tibshirani (2020), ``sim.xy`` of ``bestsubset``.

    Rows x ~ N(0, Sigma) with Sigma_ij = rho^|i-j|, ``y = x^T beta + sigma * eps`` with
    ``sigma^2 = beta^T Sigma beta / snr`` (the SNR of an infinite test set, as the paper sets
    it), beta by :func:`hastie2020_coef`.

    Parameters
    ----------
    n_samples, n_features : int
        Rows drawn (training, validation and test rows alike; ``dataset.test_size`` and the
        selection's validation set split them) and p.
    n_nonzero : int
        s, 1 <= s <= p (for beta type 5 the number of coefficients equal to 1).
    beta_type : {1, 2, 3, 5}
    rho : float
        0 <= rho < 1.
    snr : float
        > 0.
    random_state : int
    name : str

    Returns
    -------
    Dataset
        With ``true_coef`` (beta), ``cov`` (Sigma) and ``noise_sd`` (sigma): a fit's test error
        is computed exactly from them (:func:`sparsity_lab.metrics.prediction_risk`).
    """
    _check_int("n_samples", n_samples, 2)
    _check_int("n_features", n_features, 1)
    _check_int("n_nonzero", n_nonzero, 1)
    if n_nonzero > n_features:
        raise DataError(
            f"dataset.n_nonzero={n_nonzero} exceeds dataset.n_features={n_features}; "
            "allowed: 1 <= n_nonzero <= n_features"
        )
    if isinstance(beta_type, bool) or beta_type not in BETA_TYPES:
        raise DataError(
            f"dataset.beta_type={beta_type!r}: allowed values are {', '.join(map(str, BETA_TYPES))}"
        )
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0.0 <= rho < 1.0:
        raise DataError(f"dataset.rho={rho!r}: allowed values are 0 <= rho < 1")
    if isinstance(snr, bool) or not isinstance(snr, int | float) or not 0.0 < snr < float("inf"):
        raise DataError(f"dataset.snr={snr!r}: allowed values are finite numbers snr > 0")
    beta = hastie2020_coef(n_features, n_nonzero, int(beta_type))
    cov = toeplitz_cov(n_features, float(rho))
    signal_var = float(beta @ cov @ beta)
    sigma = float(np.sqrt(signal_var / snr))
    rng = np.random.default_rng(random_state)
    X = toeplitz_design(n_samples, n_features, float(rho), rng)
    y = X @ beta + sigma * rng.standard_normal(n_samples)
    return Dataset(
        name=name,
        X=X,
        y=y,
        feature_names=feature_names(n_features),
        true_coef=beta,
        target="y",
        notes=[f"{name}: beta type {beta_type}, rho={rho:g}, snr={snr:g}, sigma={sigma:.6g}"],
        source="generated (make_hastie2020: sim.xy of Hastie, Tibshirani and Tibshirani 2020)",
        licence="generated",
        cov=cov,
        noise_sd=sigma,
    )
