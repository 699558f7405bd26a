"""The Hastie-Tibshirani-Tibshirani (2020) generator and its exact test-error measures, against
the definitions of ``sim.xy`` / ``sim.master`` (R package bestsubset) and hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from sparsity_lab import datasets as ds
from sparsity_lab import metrics
from sparsity_lab.datasets.synthetic import hastie2020_coef, toeplitz_cov


def test_beta_type_1_spreads_s_ones_as_r_rounds_seq():
    # R: round(seq(1, 10, length = 5)) = round(1, 3.25, 5.5, 7.75, 10) = 1 3 6 8 10 (5.5 -> 6)
    beta = hastie2020_coef(10, 5, 1)
    assert np.flatnonzero(beta).tolist() == [0, 2, 5, 7, 9]
    assert set(beta[beta != 0]) == {1.0}
    # seq(1, 1000, length = 5) = 1, 250.75, 500.5, 750.25, 1000: 500.5 halves to even (500)
    assert (np.flatnonzero(hastie2020_coef(1000, 5, 1)) + 1).tolist() == [1, 251, 500, 750, 1000]
    # seq(1, 1000, length = 10): by = 111, integers
    assert (np.flatnonzero(hastie2020_coef(1000, 10, 1)) + 1).tolist() == list(range(1, 1001, 111))


def test_beta_types_2_3_5_as_defined():
    assert hastie2020_coef(6, 3, 2).tolist() == [1, 1, 1, 0, 0, 0]
    # seq(10, 0.5, length = 5) = 10, 7.625, 5.25, 2.875, 0.5
    assert hastie2020_coef(7, 5, 3).tolist() == [10, 7.625, 5.25, 2.875, 0.5, 0, 0]
    # 5: first s are 1, then 0.5^(j - s), j = s+1..p (1-based)
    assert hastie2020_coef(6, 2, 5).tolist() == [1, 1, 0.5, 0.25, 0.125, 0.0625]


def test_sigma_entries_and_noise_from_snr():
    data = ds.make_hastie2020(n_samples=50, n_features=4, n_nonzero=2, beta_type=2, rho=0.5,
                              snr=2.0, random_state=1)  # fmt: skip
    expected = np.array([[0.5 ** abs(i - j) for j in range(4)] for i in range(4)])
    np.testing.assert_array_equal(data.cov, expected)
    # beta^T Sigma beta with beta = (1, 1, 0, 0): 1 + 1 + 2 * 0.5 = 3; sigma^2 = 3 / 2
    assert data.noise_sd == pytest.approx(np.sqrt(1.5), rel=1e-15)
    np.testing.assert_array_equal(toeplitz_cov(3, 0.0), np.eye(3))


def test_rows_follow_sigma_and_the_noise_variance():
    data = ds.make_hastie2020(n_samples=40000, n_features=3, n_nonzero=1, beta_type=2, rho=0.7,
                              snr=0.5, random_state=0)  # fmt: skip
    np.testing.assert_allclose(np.cov(data.X, rowvar=False), data.cov, atol=0.03)
    resid = data.y - data.X @ data.true_coef
    # sigma^2 = beta^T Sigma beta / snr = 1 / 0.5 = 2
    assert np.var(resid) == pytest.approx(2.0, rel=0.03)


def test_risk_measures_by_hand():
    cov = np.array([[1.0, 0.5], [0.5, 1.0]])
    beta = np.array([1.0, 0.0])
    W = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0]])
    risk = metrics.prediction_risk(W, np.array([0.0, 0.0, 0.5]), beta, cov)
    # null: beta^T S beta = 1; exact: 0; (-0.5, 1): 0.25 + 1 - 0.5 = 0.75, + 0.5^2 intercept = 1
    np.testing.assert_allclose(risk, [1.0, 0.0, 1.0], rtol=1e-15)
    out = metrics.exact_test_errors(np.array([1.0, 0.0, 0.5]), signal_var=1.0, noise_var=0.5)
    np.testing.assert_allclose(out["relative_risk"], [1.0, 0.0, 0.5])
    # (risk + s2) / s2: null 1 + SNR = 3, perfect 1
    np.testing.assert_allclose(out["relative_test_error"], [3.0, 1.0, 2.0])
    # 1 - (risk + s2) / (1 + s2): null 0, perfect SNR / (1 + SNR) = 2/3
    np.testing.assert_allclose(out["pve"], [0.0, 2.0 / 3.0, 1.0 / 3.0])


def test_prepare_carries_the_truth_in_raw_units():
    data = ds.make_hastie2020(n_samples=30, n_features=5, n_nonzero=2, random_state=0)
    prep = ds.prepare(data, test_size=0.2, seed=0)
    np.testing.assert_array_equal(prep.raw_true_coef, data.true_coef)
    np.testing.assert_array_equal(prep.cov, data.cov)
    assert prep.noise_sd == data.noise_sd


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"beta_type": 4}, "dataset.beta_type=4: allowed values are 1, 2, 3, 5"),
        ({"rho": 1.0}, "dataset.rho=1.0: allowed values are 0 <= rho < 1"),
        ({"rho": -0.1}, "dataset.rho=-0.1"),
        ({"snr": 0.0}, "dataset.snr=0.0: allowed values are finite numbers snr > 0"),
        ({"snr": -2}, "dataset.snr=-2"),
        ({"n_nonzero": 11}, "dataset.n_nonzero=11 exceeds dataset.n_features=10"),
    ],
)
def test_bad_parameters_one_line(params, needle):
    with pytest.raises(ds.DataError) as info:
        ds.make_hastie2020(n_features=10, **params)
    assert needle in str(info.value) and "\n" not in str(info.value)
