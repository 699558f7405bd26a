"""The solver_zeros study: each solver over a ladder of tolerances against the optimum."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import lars_path

from sparsity_lab import cli
from sparsity_lab.datasets import make_sparse_regression, prepare
from sparsity_lab.errors import ConfigError
from sparsity_lab.figures import NotSupported
from sparsity_lab.figures import solver_zeros as figs
from sparsity_lab.studies import run_job
from sparsity_lab.studies.solver_zeros import (
    STUDY,
    model_ladder,
    trusted_tolerance,
    wrong_table,
)

TINY = ["experiment=solver_zeros", "solver_zeros.designs.toeplitz_rho95.default=[80,12]",
        "solver_zeros.data=toeplitz_rho95", "solver_zeros.grid_num.default=12",
        "solver_zeros.design.n_informative=5",
        "solver_zeros.tols=[0.1,1e-3,1e-9]"]  # fmt: skip


def test_the_ladder_of_each_kind_of_model(compose_cfg):
    tols = [1e-2, 1e-6]
    lasso = model_ladder(compose_cfg(["model=lasso"]).model, "lasso", tols)
    assert [s for s, _ in lasso] == ["exact", "sklearn_cd", "sklearn_cd"]
    assert lasso[0][1]["solver"] == "auto"
    assert [(n["solver"], n["tol"]) for _, n in lasso[1:]] == [("cd", 1e-2), ("cd", 1e-6)]
    celer = model_ladder(compose_cfg(["model=celer"]).model, "celer", tols)
    assert [(s, n["tol"]) for s, n in celer] == [("celer", 1e-2), ("celer", 1e-6)]
    assert [s for s, _ in model_ladder(compose_cfg(["model=lasso_lars"]).model, "lasso_lars",
                                       tols)] == ["lasso_lars"]  # fmt: skip


def test_a_job_compares_every_path_with_an_independent_optimum(compose_cfg):
    cfg = compose_cfg([*TINY, "model=lasso"])
    tables = run_job(cfg, model_name="lasso")
    fits, table = tables["fits"], tables["solver_zeros"]
    assert list(table["solver"]) == ["exact", "sklearn_cd", "sklearn_cd", "sklearn_cd"]
    assert table["tol"].iloc[1:].tolist() == [0.1, 1e-3, 1e-9]
    assert fits["dataset"].unique().tolist() == ["toeplitz_rho95_80x12"]
    # the optimum's zero sets from scikit-learn's LARS homotopy on the same rows (all of them)
    data = make_sparse_regression(n_samples=80, n_features=12, n_informative=5, rho=0.95,
                                  design="toeplitz", noise=1.0, random_state=0)  # fmt: skip
    prep = prepare(data, test_size=0.0)
    exact = fits[fits["variant"] == ""]
    assert len(prep.y_train) == 80 and (exact["n_samples"] == 80).all()
    alphas = exact["alpha"].to_numpy()
    knots, _, path = lars_path(prep.X_train, prep.y_train, method="lasso", alpha_min=alphas[-1])
    from sparsity_lab.regularization import interpolate_path

    lars = interpolate_path(knots, path, alphas)
    np.testing.assert_array_equal(exact["n_zero"], (lars == 0.0).sum(axis=1))
    # every path's row is its fits rows summed up, and the counts are those of its zero sets
    for (variant, rows), (_, row) in zip(fits.groupby("variant", sort=False), table.iterrows(),
                                         strict=True):  # fmt: skip
        assert row["variant"] == variant
        np.testing.assert_array_equal(rows["n_zero_optimum"], exact["n_zero"])
        assert row["n_wrong_zero_sets"] == (~rows["zero_set_is_optimum"].astype(bool)).sum()
        assert row["n_false_zero"] == rows["n_false_zero"].sum()
        assert row["n_compared"] == len(rows) == 12
    assert table["n_wrong_zero_sets"].iloc[0] == 0  # the reference
    assert (table["n_tied_alphas"] == 0).all()  # no duplicate columns, no knot on the grid
    # scikit-learn's coordinate descent at tol 0.1 stops early: its zero sets are wrong
    assert table["n_wrong_zero_sets"].iloc[1] > 0


def test_trusted_tolerance_is_the_loosest_of_an_unbroken_run_of_right_answers():
    table = pd.DataFrame({
        "dataset": "d", "solver": ["exact", *["cd"] * 4, *["x"] * 2],
        "tol": [np.nan, 1e-2, 1e-4, 1e-6, 1e-8, 1e-2, 1e-4],
        "n_wrong_zero_sets": [0, 0, 3, 0, 0, 5, 1],  # cd: right at 1e-2 by luck, wrong at 1e-4
        "path_seconds": [1.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.2],
    })  # fmt: skip
    got = trusted_tolerance(table).set_index("solver")
    assert got.loc["cd", "tol_needed"] == 1e-6 and got.loc["cd", "seconds"] == 0.3
    assert np.isnan(got.loc["x", "tol_needed"]) and got.loc["x", "wrong_at_tightest"] == 1
    assert (got["exact_seconds"] == 1.0).all()
    wide = wrong_table(table)
    assert list(wide.columns) == ["-", "1e-02", "1e-04", "1e-06", "1e-08"]
    assert wide.loc[("d", "cd"), "1e-04"] == "3" and wide.loc[("d", "exact"), "-"] == "0"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["solver_zeros.data=nowhere"], "solver_zeros.data='nowhere': allowed values are"),
        (["solver_zeros.size=huge"], "solver_zeros.size='huge': allowed values are default, full"),
        (["solver_zeros.tols=[]"], "solver_zeros.tols=[]: allowed values"),
        (["solver_zeros.tols=[0.1,-1]"], "allowed values are a non-empty list of numbers > 0"),
        (["model=ridge"], "model=ridge: solver_zeros compares zero sets"),
        (["model=celer", "model.max_iter=0"], "model.max_iter=0"),
    ],
    ids=["data", "size", "no tols", "negative tol", "no L1 part", "model check"],
)
def test_bad_study_input_is_a_config_error(compose_cfg, args, needle):
    with pytest.raises(ConfigError) as info:
        STUDY.check(compose_cfg(["experiment=solver_zeros", *args]))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_bad_study_input_stops_the_run_before_launch(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "experiment=solver_zeros", "model=ridge"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "model=ridge: solver_zeros" in lines[0], err
    assert not list(tmp_path.iterdir()), "work started before the check"


# ---------------------------------------------------------------------------- figures
def _table():
    rows = []
    for dataset, p in (("a", 10), ("b", 20)):
        rows.append(("exact", np.nan, 0, 0, 0, 0.5, dataset))
        rows.append(("lasso_lars", np.nan, 1, 1, 0, 0.2, dataset))
        for solver in ("sklearn_cd", "celer"):
            for k, tol in enumerate((1e-2, 1e-6, 1e-10)):
                rows.append((solver, tol, 2 - k, 3 - k, p - k, 0.1 * (k + 1), dataset))
    table = pd.DataFrame(rows, columns=["solver", "tol", "n_wrong_zero_sets", "n_false_zero",
                                        "n_missed_zero", "path_seconds", "dataset"])  # fmt: skip
    return table.assign(n_alphas=20, n_compared=20, n_tied_alphas=0, seed=0)


@pytest.mark.parametrize("metric", ["n_wrong_zero_sets", "false_missed"])
def test_vs_tolerance_draws_a_line_per_solver_and_the_references(metric):
    fig = figs.plot_vs_tolerance(_table(), metric)
    assert len(fig.axes) == 2
    for ax, p in zip(fig.axes, (10, 20), strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"sklearn_cd", "celer", "exact path (reference)",
                              "lasso_lars (no tolerance)"}  # fmt: skip
        x, y = lines["celer"].get_data()
        assert list(x) == [1e-10, 1e-6, 1e-2]  # sorted by tolerance, drawn loosest left
        expected = [0, 1, 2] if metric == "n_wrong_zero_sets" else [1 + p - 2, 2 + p - 1, 3 + p]
        assert list(y) == expected
        assert ax.xaxis_inverted() and ax.get_xscale() == "log" and "log" in ax.get_xlabel()
    assert "seed 0" in fig._suptitle.get_text()


def test_false_missed_leaves_room_above_the_largest_count():
    """The top marker of a symlog panel is not cut by the frame: the largest count sits
    below the top by a share of the panel's height (in the axis's own, symlog, scale)."""
    fig = figs.plot_vs_tolerance(_table(), "false_missed")
    for ax, p in zip(fig.axes, (10, 20), strict=True):
        largest = 3 + p  # celer and sklearn_cd at the loosest tolerance: 3 false + p missed
        scale = ax.yaxis.get_transform()
        low, high = scale.transform(ax.get_ylim())
        assert ax.get_ylim()[0] == -0.3
        room = (high - scale.transform([largest])[0]) / (high - low)
        assert room == pytest.approx(figs.TOP_MARGIN / (1 + figs.TOP_MARGIN))


def test_vs_fit_time_puts_the_exact_path_as_a_point():
    fig = figs.plot_vs_fit_time(_table())
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    x, y = lines["exact path (reference)"].get_data()
    assert (list(x), list(y)) == ([0.5], [0])
    assert list(lines["celer"].get_data()[0]) == pytest.approx([0.1, 0.2, 0.3])
    assert ax.get_xscale() == "log" and "log scale" in ax.get_xlabel()


def test_figures_need_a_path_with_a_tolerance():
    table = _table()
    with pytest.raises(NotSupported, match="no path with a tolerance"):
        figs.plot_vs_tolerance(table[table["tol"].isna()])


def test_duplicate_columns_are_counted_as_ties():
    from sparsity_lab.regularization import TrainingData
    from sparsity_lab.runner import optimum_path
    from sparsity_lab.studies.solver_zeros import tied_alphas

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    X = np.hstack([X, X[:, :1]])  # column 6 duplicates column 0: no unique optimum
    X, y = X - X.mean(0), X[:, 0] * 2 + rng.standard_normal(50)
    data = TrainingData(X, y - y.mean())
    amax = np.max(np.abs(data.Xty)) / 50
    alphas = amax * np.array([1.0, 0.5, 0.1])
    optimum = optimum_path(data, alphas, 1.0)
    # the duplicate pair shares the weight or leaves one at 0 on the boundary: a tie below
    # alpha_max at every alpha where column 0 is active
    assert tied_alphas(data, optimum, alphas, 1.0, amax) == 2
    # the same data without the duplicate: a unique optimum, no tie
    alone = TrainingData(X[:, :6], data.y)
    assert tied_alphas(alone, optimum_path(alone, alphas, 1.0), alphas, 1.0, amax) == 0
