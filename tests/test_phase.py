"""The phase_transition study: the Donoho-Tanner curve against independent formulas and
published values; basis pursuit's empirical transition against the curve; the frozen summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from conftest import REPO, results_line, run_cli
from sparsity_lab.studies.phase_transition import (
    _tail2,
    curve_table,
    empirical_transition,
    phase_diagram,
    recover,
    rho_dt,
    statistical_dimension_ratio,
)

EXPERIMENT = REPO / "experiments" / "phase_transition"
SUMMARY = EXPERIMENT / "expected_summary.csv"


# ---------------------------------------------------------------------------- the curve
def test_tail_moment_is_the_issue_integral():
    # sqrt(2/pi) int_tau^inf (u - tau)^2 exp(-u^2/2) du, by quadrature, = 2 E[(Z - tau)_+^2]
    for tau in (0.0, 0.3, 1.0, 2.5):
        value, _ = integrate.quad(lambda u, t=tau: (u - t) ** 2 * np.exp(-u * u / 2), tau, np.inf)
        assert math.isclose(math.sqrt(2 / math.pi) * value, 2 * _tail2(tau), rel_tol=1e-9)


@pytest.mark.parametrize(("delta", "published"), [(0.5, 0.386), (0.19, 0.238)])
def test_curve_matches_published_values(delta, published):
    # Magni (SIP-AAU/Magni, magni/cs/reconstruction/gamp/channel_initialisation.py, rho_se
    # doctests: rho_se(0.5, 2) = 0.386, rho_se(0.19, 2) = 0.238, signed vectors), from Donoho,
    # Maleki & Montanari (2009) eq. 5; Donoho-Tanner's rho_W(1/2) is about 0.385.
    assert abs(rho_dt(delta)[0] - published) < 1e-3


def test_curve_is_the_message_passing_formula():
    # Donoho, Maleki & Montanari (2009, PNAS, eq. 5), maximised by brute force over a fine z grid:
    # a different derivation (state evolution) and a different numerical route.
    z = np.linspace(1e-6, 12, 400_001)
    m = (1 + z**2) * stats.norm.cdf(-z) - z * stats.norm.pdf(z)
    for delta in (0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98):
        dmm = np.max((1 - 2 / delta * m) / (1 + z**2 - 2 * m))
        assert abs(rho_dt(delta)[0] - dmm) < 1e-8


def test_curve_solves_the_statistical_dimension_equation():
    # rho_dt comes from the stationarity condition in closed form; psi minimises numerically.
    deltas = np.array([0.02, 0.1, 0.25, 0.5, 0.75, 0.95])
    eps = rho_dt(deltas) * deltas
    assert np.allclose(statistical_dimension_ratio(eps), deltas, atol=1e-9)


def test_curve_shape_limits_and_small_delta_asymptote():
    table = curve_table(199)
    assert table["rho_theory"].iloc[0] == 0.0 and table["rho_theory"].iloc[-1] == 1.0
    assert (np.diff(table["rho_theory"]) > 0).all()  # more measurements, more sparsity allowed
    assert ((table["rho_theory"] >= 0) & (table["rho_theory"] <= 1)).all()
    # Donoho & Tanner: rho_W(delta) ~ 1 / (2 log(1/delta)) as delta -> 0 (n ~ 2 k log(p/n))
    for delta in (1e-4, 1e-8, 1e-20):
        assert abs(rho_dt(delta)[0] * 2 * math.log(1 / delta) - 1) < 0.05
    # psi(0) = 0, psi(1) = 1 and psi is increasing
    psi = statistical_dimension_ratio(np.linspace(0, 1, 11))
    assert psi[0] == 0.0 and psi[-1] == 1.0 and (np.diff(psi) > 0).all()


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_curve_rejects_deltas_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="delta: allowed values"):
        rho_dt(bad)


# ---------------------------------------------------------------------------- the experiment
def test_basis_pursuit_recovers_a_very_sparse_vector_exactly():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 100))
    beta = np.zeros(100)
    beta[[3, 50, 97]] = [1.5, -2.0, 0.7]
    b = recover(X, X @ beta)
    assert np.allclose(b, beta, atol=1e-9)
    assert np.allclose(X @ b, X @ beta, atol=1e-9)


def test_phase_table_is_reproducible_and_independent_of_processes():
    kw = dict(n_features=30, deltas=[0.5], rhos=[0.2, 0.9], n_trials=3, seed=4)
    a = phase_diagram(**kw)
    b = phase_diagram(**kw, n_jobs=2)
    cols = ["n", "k", "n_success", "median_rel_error", "exact_zero_support_rate"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert list(a["k"]) == [3, 14] and (a["n"] == 15).all()
    assert (a["delta"] == 0.5).all() and np.allclose(a["rho"], [0.2, 14 / 15])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_trials": 0}, "phase.n_trials"),
        ({"deltas": [0.0]}, "phase.deltas"),
        ({"rhos": [1.2]}, "phase.rhos"),
        ({"coef": "uniform"}, "phase.coef"),
        ({"n_features": 1}, "phase.n_features"),
    ],
)
def test_bad_config_raises_one_line(kwargs, field):
    args = dict(n_features=20, deltas=[0.5], rhos=[0.2], n_trials=1) | kwargs
    with pytest.raises(ValueError, match="allowed values") as info:
        phase_diagram(**args)
    assert str(info.value).startswith(field) and "\n" not in str(info.value)


def finite_size_band(delta: float, rho: float, p: int) -> tuple[float, float]:
    """Where the empirical 50% point may lie around rho_DT at finite p (see the test below)."""
    n = delta * p
    k = rho * n
    # ALMT (2014) Prop. 4.5: p psi(k/p) - 2 sqrt(p/k) <= stat. dim. <= p psi(k/p), so at finite p
    # recovery needs up to 2 sqrt(p/k) *fewer* measurements than the curve says: in rho = k/n at
    # fixed n that is up to rho * 2 sqrt(p/k) / n above the curve.
    shift = rho * 2 * math.sqrt(p / k) / n
    noise = 0.03  # interpolation between rho grid points and binomial noise of 16-20 trials
    return -noise, shift + noise


def check_transition(p: int, n_trials: int, deltas, seed: int = 0) -> pd.DataFrame:
    rhos = np.round(np.arange(0.1, 0.81, 0.05), 2)
    table = phase_diagram(p, deltas, list(rhos), n_trials, seed=seed)
    crossing = empirical_transition(table)
    for row in crossing.itertuples():
        low, high = finite_size_band(row.delta, row.rho_theory, p)
        gap = row.rho_empirical - row.rho_theory
        assert low <= gap <= high, (p, row.delta, row.rho_empirical, row.rho_theory, high)
    return crossing


@pytest.mark.slow  # 5 s: keeps `make test` under 5 minutes; CI runs it
def test_empirical_transition_follows_the_curve_at_small_p():
    # p = 60: 3 deltas x 15 rhos x 16 trials = 720 LPs, a few seconds
    crossing = check_transition(60, 16, [0.3, 0.5, 0.7])
    assert crossing["rho_empirical"].notna().all()


@pytest.mark.slow
def test_empirical_transition_follows_the_curve_at_p_200():
    crossing = check_transition(200, 20, [0.2, 0.35, 0.5, 0.65, 0.8], seed=1)
    assert crossing["rho_empirical"].notna().all()


# ---------------------------------------------------------------------------- the frozen summary
def summary_command(expected: pd.DataFrame) -> list[str]:
    """The reduced-size run that regenerates the summary's cells (same grid, same seed)."""
    one = expected.iloc[0]
    deltas = ",".join(f"{d:g}" for d in sorted(expected["delta_target"].unique()))
    rhos = ",".join(f"{r:g}" for r in sorted(expected["rho_target"].unique()))
    return [
        "run", "experiment=phase_transition", f"seed={int(one['seed'])}",
        f"phase.n_features={int(one['p'])}", f"phase.n_trials={int(one['n_trials'])}",
        f"phase.deltas=[{deltas}]", f"phase.rhos=[{rhos}]",
    ]  # fmt: skip


@pytest.mark.slow  # a regression guard (5 s): keeps `make test` under 5 minutes; CI runs it
def test_frozen_summary_regenerates(tmp_path):
    """Far below the curve L1 always recovers, far above it never does (the summary's cells).

    `sparsity-lab compare --check` reads fits tables only, so the check is done here with
    pandas: counts exactly, the success rate within the summary's own ``atol``.
    """
    expected = pd.read_csv(SUMMARY)
    run_dir = tmp_path / results_line(run_cli(summary_command(expected), cwd=tmp_path).stdout)
    got = pd.read_parquet(run_dir / "phase.parquet")
    assert (run_dir / "phase_curve.parquet").is_file()
    merged = expected.merge(got, on=["delta_target", "rho_target"], suffixes=("", "_got"))
    assert len(merged) == len(expected)
    for col in ("n", "k", "p", "n_trials"):
        assert (merged[col] == merged[f"{col}_got"]).all(), col
    assert np.allclose(merged["rho_theory"], merged["rho_theory_got"], atol=1e-6)
    off = (merged["success_rate"] - merged["success_rate_got"]).abs() > merged["atol"]
    assert not off.any(), merged.loc[off, ["delta_target", "rho_target", "success_rate_got"]]
    # the summary only holds cells far from the curve: success 1 below it and 0 above it
    below = merged["rho"] < merged["rho_theory"]
    assert (merged.loc[below, "success_rate"] == 1).all()
    assert (merged.loc[~below, "success_rate"] == 0).all()


def test_phase_figure_renders(tmp_path):
    from matplotlib.collections import QuadMesh

    from sparsity_lab.figures import plot_phase_diagram
    from sparsity_lab.figures.make import make_figures

    table = phase_diagram(24, [0.3, 0.6, 0.9], [0.1, 0.5, 0.9], 2, seed=0)
    fig = plot_phase_diagram(table, curve_table(49))
    ax = fig.axes[0]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)
    curve = [line for line in ax.get_lines() if "Donoho" in line.get_label()]
    assert len(curve) == 1 and len(curve[0].get_xdata()) == 51
    run = tmp_path / "run"
    run.mkdir()
    table.to_parquet(run / "phase.parquet")
    curve_table(49).to_parquet(run / "phase_curve.parquet")
    written = make_figures(run, formats=["png"], log=lambda line: None)
    assert (run / "figures" / "phase_diagram_l1_recovery.png") in written
