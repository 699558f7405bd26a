"""Figures: each function draws the expected panels/lines/bars; make_figures writes real files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.image import imread

from sparsity_lab import figures
from sparsity_lab.errors import UserError
from sparsity_lab.figures import cli as figures_cli
from sparsity_lab.figures import make as make_module
from sparsity_lab.figures import style
from sparsity_lab.metrics import first_exact_zero
from sparsity_lab.results import COEFS_COLUMNS, FITS_COLUMNS, with_variant, write_table

MODELS = ("lasso", "ridge", "sgd_prox")
RATIOS = np.logspace(-3, 0, 5)
SEEDS = (0, 1)
N_FEATURES = 6
TRUE_COEF = np.array([3.0, -2.0, 1.0, 0.0, 0.0, 0.0])


def coefficient(model: str, ratio: float, seed: int) -> np.ndarray:
    """Closed-form-like coefficients: soft-thresholding for the L1 models, shrinkage for ridge."""
    b = TRUE_COEF + 0.05 * (seed + 1) * np.array([1, -1, 1, 1, -1, 0.5])
    if model == "ridge":
        return b / (1 + 10 * ratio)
    threshold = ratio * np.abs(b).max() * (1.0 if model == "lasso" else 0.9)
    return np.sign(b) * np.maximum(np.abs(b) - threshold, 0.0)


def make_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    fits, coefs = [], []
    for dataset in ("synthetic", "diabetes"):
        known = dataset == "synthetic"
        for model in MODELS:
            for ratio in RATIOS:
                for seed in SEEDS:
                    w = coefficient(model, ratio, seed)
                    n_zero = int((w == 0).sum())
                    support, truth = w != 0, TRUE_COEF != 0
                    tp = int((support & truth).sum())
                    fits.append(
                        {
                            "study": "test", "dataset": dataset, "model": model, "variant": "",
                            "alpha": ratio * 2.0, "alpha_ratio": ratio, "seed": seed,
                            "n_samples": 50, "n_features": N_FEATURES, "n_zero": n_zero,
                            "n_zero_certified": n_zero, "n_zero_boundary": 0,
                            "n_zero_optimum": n_zero, "n_false_zero": 0, "n_missed_zero": 0,
                            "zero_set_is_optimum": True,
                            "n_nonzero": N_FEATURES - n_zero, "n_tiny": 0, "zero_tol": 1e-10,
                            "support_precision": tp / max(support.sum(), 1) if known else np.nan,
                            "support_recall": tp / truth.sum() if known else np.nan,
                            "support_f1": 2 * tp / (support.sum() + truth.sum())
                            if known else np.nan,
                            "train_mse": 1.0,
                            "test_mse": 1.0 + 5 * ratio + 0.1 * seed, "test_r2": 0.5,
                            "objective": 1.0, "duality_gap": 0.0, "kkt_violation": 0.0,
                            "stationarity": 0.0, "objective_convex": True,
                            "n_iter": 5, "converged": True, "fit_seconds": 0.01,
                            "status": "ok", "message": "",
                        }
                    )  # fmt: skip
                    for j, value in enumerate(w):
                        coefs.append(
                            {
                                "study": "test", "dataset": dataset, "model": model, "variant": "",
                                "alpha": ratio * 2.0, "alpha_ratio": ratio, "seed": seed,
                                "feature": f"x{j}", "coef": value,
                                "true_coef": TRUE_COEF[j] if known else np.nan,
                            }
                        )  # fmt: skip
    # written as before issue 22 (no path point columns): read as an old run dir is
    fits = with_variant(pd.DataFrame(fits), "fits")
    coefs = with_variant(pd.DataFrame(coefs), "coefs")
    assert tuple(fits.columns) == FITS_COLUMNS and tuple(coefs.columns) == COEFS_COLUMNS
    return fits, coefs


UPDATES = {
    "l1": lambda w: w - 0.5 * np.sign(w),
    "l2": lambda w: w - 0.5 * w,  # as the note writes it
    "l2_scaled": lambda w: w * 0.5,  # the same rule in exact arithmetic, not in float64
}


def seed_trajectories(n_steps: int, rules=("l1", "l2")) -> pd.DataFrame:
    """The note's 1-D example, w0 = 5, eta = 1/2, computed here in float64."""
    rows = []
    for rule in rules:
        w = 5.0
        for step in range(n_steps + 1):
            rows.append({"rule": rule, "step": step, "w": w})
            w = UPDATES[rule](w)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def tables():
    return make_tables()


def n_bands(ax) -> int:
    return sum(isinstance(c, PolyCollection) for c in ax.collections)


# ---------------------------------------------------------------------------- style
def test_model_colours_fixed_and_distinct():
    known = [style.model_color(m) for m in style.MODEL_COLORS]
    assert len(set(known)) == len(known)
    assert style.model_color("some_new_model") == style.model_color("some_new_model")
    assert style.ordered_models(["zeta", "ridge", "lasso"]) == ["lasso", "ridge", "zeta"]


# ---------------------------------------------------------------------------- figure functions
def test_penalties_panels_and_lines():
    table = figures.penalty_table()
    l1 = table[table["penalty"] == "l1"]
    assert np.isnan(l1.loc[l1["w"] == 0, "gradient"]).all()  # a set there, not a number
    fig = figures.plot_penalties(table)
    assert len(fig.axes) == 2
    l1_ax, l2_ax = fig.axes
    assert len(l1_ax.get_lines()) == 4  # |w|, sign(w), [-1, 1] at 0, y = 0
    assert len(l2_ax.get_lines()) == 3
    subdifferential = l1_ax.get_lines()[2]
    assert list(subdifferential.get_xdata()) == [0, 0]
    assert list(subdifferential.get_ydata()) == [-1, 1]


@pytest.mark.parametrize("n_steps", [30, 1100])
def test_trajectories_mark_exact_zeros(n_steps):
    traj = seed_trajectories(n_steps, rules=("l1", "l2", "l2_scaled"))
    first_zero = {
        rule: first_exact_zero(part["step"].to_numpy(), part["w"].to_numpy())
        for rule, part in traj.groupby("rule")
    }
    # Measured in float64: L1 lands on 0.0 at step 10. w - w/2 sticks at the smallest subnormal
    # 5e-324 (half of it rounds back to it), while w * 0.5 underflows to 0.0 at step 1077.
    assert first_zero["l1"] == 10
    assert first_zero["l2"] is None
    assert first_zero["l2_scaled"] == (1077 if n_steps == 1100 else None)
    n_hits = sum(hit is not None for hit in first_zero.values())
    fig = figures.plot_trajectories(traj)
    lin, log = fig.axes
    assert log.get_ylabel().startswith("log10 |w|")
    l2_min = traj.loc[traj["rule"] == "l2", "w"].abs().min()
    assert (l2_min == 5e-324) == (n_steps == 1100)
    assert np.log10(l2_min) in {np.min(line.get_ydata()) for line in log.get_lines()}
    assert len(log.get_lines()) == 3 + n_hits  # three trajectories + one vertical line per hit
    assert lin.get_xlim()[1] < 25  # zoomed on the first 20 steps, where L1 lands
    assert len(lin.get_lines()) == 3 + 1 + 1  # + the L1 hit marker + the y = 0 line
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "l1: 0.0 exactly from step 10" in labels
    assert any(t.startswith(f"l2: never exactly 0 in {n_steps} steps") for t in labels)


def test_trajectories_with_dtype_column():
    traj = pd.concat(
        [seed_trajectories(20).assign(dtype=d) for d in ("float32", "float64")], ignore_index=True
    )
    fig = figures.plot_trajectories(traj)
    styles = {line.get_linestyle() for line in fig.axes[1].get_lines()}
    assert {"-", "--"} <= styles  # one line style per dtype


def test_zero_fraction_one_panel_per_dataset_line_and_band_per_model(tables):
    fits, _ = tables
    fig = figures.plot_zero_fraction(fits)
    assert [ax.get_title().split(" ")[0] for ax in fig.axes] == ["diabetes", "synthetic"]
    for ax in fig.axes:
        assert len(ax.get_lines()) == len(MODELS)
        assert n_bands(ax) == len(MODELS)
        assert ax.get_xscale() == "log"
        lasso = ax.get_lines()[0]
        dataset = ax.get_title().split(" ")[0]  # each panel against its own dataset's rows
        expected = fits[(fits["dataset"] == dataset) & (fits["model"] == "lasso")]
        expected = (expected["n_zero"] / N_FEATURES).groupby(expected["alpha_ratio"]).mean()
        np.testing.assert_allclose(lasso.get_ydata(), expected.to_numpy())
    assert {line.get_color() for line in fig.axes[0].get_lines()} == {
        style.model_color(m) for m in MODELS
    }


def test_zero_fraction_single_seed_draws_no_band(tables):
    fits, _ = tables
    fig = figures.plot_zero_fraction(fits[fits["seed"] == 0])
    assert all(n_bands(ax) == 0 for ax in fig.axes)


def test_error_vs_nonzeros(tables):
    fits, _ = tables
    fig = figures.plot_error_vs_nonzeros(fits)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.get_lines()) == len(MODELS)
        assert all(len(line.get_xdata()) == len(RATIOS) for line in ax.get_lines())


def test_support_recovery_only_known_support(tables):
    fits, _ = tables
    fig = figures.plot_support_recovery(fits)
    assert [ax.get_title() for ax in fig.axes] == ["synthetic: precision", "synthetic: recall"]
    assert all(len(ax.get_lines()) == len(MODELS) for ax in fig.axes)
    with pytest.raises(figures.NotSupported, match="known true support"):
        figures.plot_support_recovery(fits[fits["dataset"] == "diabetes"])


def _path_lines(ax):
    """(segments, colours, line styles) of the coefficient paths of a panel (one collection)."""
    from matplotlib.collections import LineCollection

    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    colours = [tuple(c) for c in lines.get_colors()]
    return [p.vertices for p in lines.get_paths()], colours, lines.get_linestyles()


def _knot_dots(ax):
    """(x, y) of the entry dots of a panel: the one scatter above the paths, or none."""
    from matplotlib.collections import PathCollection

    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) <= 1
    return dots[0].get_offsets() if dots else np.empty((0, 2))


def test_coef_paths_one_style_per_feature_entries_marked(tables):
    _, coefs = tables
    synthetic = coefs[coefs["dataset"] == "synthetic"]
    fig = figures.plot_coef_paths(synthetic)
    assert len(fig.axes) == len(MODELS)
    assert len({ax.get_ylim() for ax in fig.axes}) == 1  # shared axes
    for ax, model in zip(fig.axes, MODELS, strict=True):
        segments, colours, styles = _path_lines(ax)
        assert len(segments) == N_FEATURES
        assert all(len(seg) == len(RATIOS) for seg in segments)
        assert len({(c, str(ls)) for c, ls in zip(colours, styles, strict=True)}) == N_FEATURES
        first = synthetic[(synthetic["model"] == model) & (synthetic["seed"] == 0)]
        # exact zeros away from an entry knot are not drawn (no bar of dots on y = 0)
        for seg in segments:
            zero = seg[:, 1] == 0
            assert not (zero[1:] & zero[:-1]).any()
        # one dot per grid point where a path leaves 0.0 as alpha decreases, on y = 0
        entry_points = figures.coefficients.entry_points
        expected = sorted(
            (float(p["alpha_ratio"].iloc[i]), 0.0)
            for _, p in first.sort_values("alpha_ratio").groupby("feature")
            for i in entry_points(p["alpha_ratio"].to_numpy(), p["coef"].to_numpy())
        )
        assert sorted(map(tuple, _knot_dots(ax).tolist())) == expected  # the table's values
        if model in ("lasso", "ridge"):  # lasso: all zero at alpha_max; ridge: never zero
            assert len(expected) == (N_FEATURES if model == "lasso" else 0)
        assert not ax.get_lines()[1:]  # the y = 0 line only: no line per feature
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(labels[:N_FEATURES]) == [f"x{j}" for j in range(N_FEATURES)]
    assert labels[N_FEATURES:] == ["leaves 0.0 (entry)"]
    # legend order = entry order along the lasso path: the largest |b| enters first
    assert labels[0] == "x0"
    with pytest.raises(figures.NotSupported, match="one dataset"):
        figures.plot_coef_paths(coefs)


def test_coef_path_lines_hold_exactly_the_data_points(tables):
    """The collection's vertices are the table's (alpha_ratio, coef) of each feature, in order,
    the exact zeros away from an entry knot left out (NaN); legend and collection agree on
    each feature's colour and line style."""
    _, coefs = tables
    diabetes = coefs[(coefs["dataset"] == "diabetes") & (coefs["seed"] == coefs["seed"].min())]
    fig = figures.plot_coef_paths(diabetes)
    texts, handles = fig.legends[0].get_texts(), fig.legends[0].legend_handles
    legend = {t.get_text(): h for t, h in zip(texts, handles, strict=True)}
    for ax, model in zip(fig.axes, MODELS, strict=True):
        segments, colours, _ = _path_lines(ax)
        part = diabetes[diabetes["model"] == model].sort_values("alpha_ratio")
        drawn = {}
        for seg, colour in zip(segments, colours, strict=True):
            (name,) = [
                n for n, h in legend.items()
                if n.startswith("x") and np.allclose(to_rgba(h.get_color()), colour)
            ]  # fmt: skip
            drawn[name] = seg
        assert set(drawn) == set(part["feature"])
        for feature, rows in part.groupby("feature"):
            x, y = rows["alpha_ratio"].to_numpy(), rows["coef"].to_numpy()
            shown = (y != 0) | np.r_[y[1:] != 0, False] | np.r_[False, y[:-1] != 0]
            np.testing.assert_array_equal(drawn[feature][:, 0], x)
            np.testing.assert_array_equal(drawn[feature][:, 1], np.where(shown, y, np.nan))


def test_entry_points_are_the_knots_where_a_path_leaves_zero():
    x = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    y = np.array([2.0, 1.0, 0.0, 0.5, 0.0, 0.0])
    assert figures.coefficients.entry_points(x, y).tolist() == [2, 4]
    assert figures.coefficients.entry_points(x, np.ones(6)).tolist() == []


def test_coef_paths_ridge_only_has_no_entry_legend(tables):
    _, coefs = tables
    ridge = coefs[(coefs["dataset"] == "synthetic") & (coefs["model"] == "ridge")]
    fig = figures.plot_coef_paths(ridge)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "leaves 0.0 (entry)" not in labels  # no legend entry for what is not drawn


def test_coef_paths_limit_features(tables):
    _, coefs = tables
    fig = figures.plot_coef_paths(coefs[coefs["dataset"] == "diabetes"], max_features=2)
    for ax in fig.axes:
        assert len(_path_lines(ax)[0]) == 2


def test_histogram_separate_exact_zero_bar(tables):
    _, coefs = tables
    synthetic = coefs[coefs["dataset"] == "synthetic"]
    fig = figures.plot_coef_histogram(synthetic, zero_tol=1e-10, bins=12)
    assert len(fig.axes) == len(MODELS)  # one panel per model: the zero bar, a break, bins
    assert len({ax.get_ylim() for ax in fig.axes}) == 1  # one count axis for every panel
    for ax, model in zip(fig.axes, MODELS, strict=True):
        c = synthetic.loc[synthetic["model"] == model, "coef"]
        (zero_bar,) = ax.patches
        assert zero_bar.get_height() == (c == 0).sum()
        (bars,) = [p for p in ax.collections if p.get_label().startswith("0 < |coef|")]
        rects = np.array([p.vertices[:4] for p in bars.get_paths()])
        assert rects.shape == (12, 4, 2)  # one rectangle per bin, from 0 to its count
        logs = np.log10(np.abs(c[c != 0]))
        expected, edges = np.histogram(logs, bins=np.unique(rects[:, :, 0]))
        np.testing.assert_array_equal(rects[:, 1, 1], expected)  # heights: the table's counts
        np.testing.assert_array_equal(rects[:, 0, 1], 0)
        np.testing.assert_allclose(rects[:, 0, 0], edges[:-1])
        assert rects[:, 1, 1].sum() == (c != 0).sum()
        # the zero bar left of the bins, under the tick "0.0", the log10 ticks right of it
        assert zero_bar.get_x() + zero_bar.get_width() < edges[0]
        with style.theme():
            ax.figure.canvas.draw()
        labels = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels()}
        assert labels["0.0"] == pytest.approx(zero_bar.get_x() + zero_bar.get_width() / 2)
        assert all(x > zero_bar.get_x() + zero_bar.get_width() for t, x in labels.items()
                   if t != "0.0")  # fmt: skip
        assert ax.get_ylim()[0] == 0.7  # the count axis starts below one coefficient
        assert ax.get_title(loc="right").startswith(f"{model}: {(c == 0).sum()} of")
        assert "log scale" in fig.axes[0].get_ylabel()  # stated, never silent
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "coef = 0.0 exactly"
    assert any(label.startswith("zero_tol = 1e-10") for label in labels)


def test_counts_get_integer_ticks(tables):
    fits, _ = tables
    fig = figures.plot_error_vs_nonzeros(fits)
    for ax in fig.axes:
        ticks = ax.get_xticks()
        assert np.allclose(ticks, np.round(ticks))
        assert ax.get_yscale() == "linear"


def test_titles_say_which_seed_or_how_many(tables):
    fits, _ = tables
    two = figures.plot_zero_fraction(fits)._suptitle.get_text()
    assert "mean over 2 seeds" in two
    one = figures.plot_error_vs_nonzeros(fits[fits["seed"] == 1])._suptitle.get_text()
    assert "seed 1" in one and "mean" not in one


def test_models_differ_without_colour():
    styles = [style.model_style(m) for m in style.MODEL_COLORS]
    assert len({(s["marker"], str(s["ls"])) for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)


#: Columns the exact route added to fits (issue 11).
ZERO_SET_COLUMNS = ["n_zero_boundary", "n_zero_optimum", "n_false_zero", "n_missed_zero"]


def with_zero_sets(fits: pd.DataFrame) -> pd.DataFrame:
    """The fits frame plus the optimum's zero-set columns, SGD rows only (NaN elsewhere)."""
    sgd = fits["model"].str.startswith("sgd_")
    optimum = fits["n_zero"] + 1
    return fits.assign(
        n_zero_boundary=np.where(fits["alpha_ratio"] == 1.0, 1, 0),
        n_zero_optimum=optimum.where(sgd),
        n_false_zero=(fits["alpha_ratio"] * 10).round().where(sgd),
        n_missed_zero=pd.Series(1.0, index=fits.index).where(sgd),
    )


def test_zero_kinds_draws_the_columns_present(tables):
    fits, _ = tables
    fits = fits.drop(columns=ZERO_SET_COLUMNS)  # a run written before these columns existed
    fig = figures.plot_zero_kinds(fits)
    datasets, models = fits["dataset"].nunique(), fits["model"].nunique()
    assert len(fig.axes) == datasets * models
    for ax in fig.axes:
        assert len(ax.get_lines()) == 3  # n_zero, n_zero_certified, n_tiny
    assert "n_zero_boundary" in fig._suptitle.get_text()  # absent, and named as such
    lasso = fig.axes[0]  # diabetes, lasso
    expected = fits[(fits["dataset"] == "diabetes") & (fits["model"] == "lasso")]
    expected = expected.groupby("alpha_ratio")["n_zero"].mean()
    np.testing.assert_allclose(lasso.get_lines()[0].get_ydata(), expected.to_numpy())
    fig = figures.plot_zero_kinds(with_zero_sets(fits))
    assert all(len(ax.get_lines()) == 4 for ax in fig.axes)
    assert "not in this run" not in fig._suptitle.get_text()


def test_sgd_zero_sets_only_with_the_columns(tables):
    fits, _ = tables
    fits = fits.drop(columns=ZERO_SET_COLUMNS)  # a run written before these columns existed
    with pytest.raises(figures.NotSupported, match="n_false_zero"):
        figures.plot_sgd_zero_sets(fits)
    frame = with_zero_sets(fits)
    fig = figures.plot_sgd_zero_sets(frame)
    assert len(fig.axes) == 2 * fits["dataset"].nunique()
    false_ax, missed_ax = fig.axes[:2]
    assert false_ax.get_title().startswith("diabetes: false zeros")
    sgd = frame[(frame["dataset"] == "diabetes") & (frame["model"] == "sgd_prox")]
    labels = [line.get_label() for line in false_ax.get_lines()]
    assert labels == ["zeros of the optimum", "sgd_prox"]  # SGD rows only
    np.testing.assert_allclose(
        false_ax.get_lines()[1].get_ydata(),
        sgd.groupby("alpha_ratio")["n_false_zero"].mean().to_numpy(),
    )
    np.testing.assert_allclose(missed_ax.get_lines()[1].get_ydata(), 1.0)
    with pytest.raises(figures.NotSupported, match="no SGD fit"):
        figures.plot_sgd_zero_sets(frame[frame["model"] != "sgd_prox"])


# ---------------------------------------------------------------------------- files
@pytest.fixture
def run_dir(tmp_path, tables):
    fits, coefs = tables
    run = tmp_path / "run"
    write_table(fits, run / "fits.parquet")
    write_table(coefs, run / "coefs.parquet")
    write_table(seed_trajectories(30), run / "trajectories.parquet")
    return run


@pytest.mark.slow  # keeps `make test` under 5 minutes; CI runs it
def test_make_figures_writes_non_blank_files(run_dir, capsys):
    written = make_module.make_figures(run_dir, formats=("png", "pdf"))
    names = {p.name for p in written}
    stems = [
        "penalties_l1_l2_with_subgradients",
        "trajectories_1d_gd_l1_vs_l2",
        "exact_zero_fraction_vs_alpha",
        "exact_certified_tiny_zeros_vs_alpha",
        "sgd_zero_sets_vs_optimum",
        "test_error_vs_nonzero_count",
        "support_precision_recall_vs_alpha",
        "coef_paths_synthetic",
        "coef_paths_diabetes",
        "coef_log10abs_histogram_synthetic",
        "coef_log10abs_histogram_diabetes",
    ]
    assert names == {f"{s}.{f}" for s in stems for f in ("png", "pdf")}
    for path in written:
        assert path.parent == run_dir / "figures"
        if path.suffix == ".png":
            pixels = imread(path)
            assert pixels.var() > 0.001  # not blank
        else:
            assert path.read_bytes().startswith(b"%PDF")
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.startswith("skipped")]


def test_make_figures_skips_with_reasons(tmp_path, tables, capsys):
    fits, _ = tables
    run = tmp_path / "run"
    write_table(fits[fits["dataset"] == "diabetes"], run / "fits.parquet")
    written = make_module.make_figures(run, out=tmp_path / "elsewhere", formats=("png",))
    assert {p.parent for p in written} == {tmp_path / "elsewhere"}
    lines = capsys.readouterr().out.splitlines()
    skipped = {line.split(":")[0]: line for line in lines if line.startswith("skipped")}
    # a study's own figures are listed only for that study's runs (not skipped elsewhere)
    assert set(skipped) == {
        "skipped support_precision_recall_vs_alpha",
        "skipped coef_paths_<dataset>",
        "skipped coef_log10abs_histogram_<dataset>",
    }
    assert "known true support" in skipped["skipped support_precision_recall_vs_alpha"]
    # zeros, zero kinds, SGD zero sets, error vs nonzeros; the penalties only in seed_toy runs
    assert len(written) == 4


def test_cli_errors_are_one_line(tmp_path, run_dir, capsys):
    assert figures_cli.cli_main([str(tmp_path / "nope")]) == 2
    assert "no such directory" in capsys.readouterr().err.strip()
    (tmp_path / "empty").mkdir()
    assert figures_cli.cli_main([str(tmp_path / "empty")]) == 2
    assert "not a run dir" in capsys.readouterr().err
    assert figures_cli.cli_main([str(run_dir), "--formats", "png,bmpx"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bmpx" in err[0]


@pytest.mark.slow  # every figure as SVG: keeps `make test` under 5 minutes; CI runs it
def test_cli_writes_every_figure_in_the_format_asked(tmp_path, run_dir):
    code = figures_cli.cli_main([str(run_dir), "--formats", "svg", "--out", str(tmp_path / "o")])
    assert code == 0
    assert len(list((tmp_path / "o").glob("*.svg"))) == 11


@pytest.mark.slow  # 9 s: keeps `make test` under 5 minutes from a fresh clone; CI runs it
def test_parallel_drawing_writes_the_same_files_in_the_same_order(tmp_path, tables):
    """Forked workers draw each figure as this process would: same bytes, same log order."""
    fits, _ = tables
    run = tmp_path / "run"
    write_table(fits, run / "fits.parquet")
    logs = {}
    for n_jobs in (1, 2):
        lines: list[str] = []
        out = tmp_path / f"jobs{n_jobs}"
        written = make_module.make_figures(
            run, out=out, formats=("png",), log=lines.append, n_jobs=n_jobs
        )
        logs[n_jobs] = [line.replace(str(out), "OUT") for line in lines]
        assert len(written) >= 4
    assert logs[1] == logs[2]
    for path in (tmp_path / "jobs1").iterdir():
        assert path.read_bytes() == (tmp_path / "jobs2" / path.name).read_bytes(), path.name


def test_a_bug_in_a_drawing_function_surfaces_from_a_worker(tmp_path, tables, monkeypatch):
    fits, _ = tables
    run = tmp_path / "run"
    write_table(fits, run / "fits.parquet")

    def broken(fits):
        raise ZeroDivisionError("a bug in a plot function")

    monkeypatch.setattr(make_module, "plot_zero_kinds", broken)
    with pytest.raises(ZeroDivisionError, match="a bug in a plot function"):
        make_module.make_figures(run, formats=("png",), log=lambda line: None, n_jobs=2)


def test_figure_workers_never_exceed_the_figures_and_refuse_zero():
    assert make_module.figure_workers(3, n_jobs=8) == 3
    assert make_module.figure_workers(0, n_jobs=None) == 1
    assert 1 <= make_module.figure_workers(100) <= make_module.MAX_FIGURE_WORKERS
    with pytest.raises(UserError, match="allowed: an integer >= 1"):
        make_module.figure_workers(3, n_jobs=0)


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_cli_jobs_must_be_a_positive_integer(run_dir, capsys, bad):
    with pytest.raises(SystemExit) as exit_info:
        figures_cli.cli_main([str(run_dir), "--jobs", bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"argument --jobs: {bad!r}; allowed: an integer >= 1")


def test_coef_figures_draw_a_relaxed_lasso_at_its_smallest_gamma_from_the_file(tmp_path):
    """The coefficient figures read a run's coefs in parts; a relaxed lasso is drawn at its
    smallest gamma only, labelled with it, and a table without relaxed-lasso jobs needs no
    pass for gammas."""
    from sparsity_lab.figures.coefficients import CoefRows, coef_path_rows

    def rows(model, path_param, gamma):
        return pd.DataFrame({"study": "t", "dataset": "d", "model": model, "variant": "",
                             "alpha": 1.0, "alpha_ratio": [1.0, 0.5], "path_param": path_param,
                             "k": np.nan, "gamma": gamma, "seed": 0, "feature": ["x0", "x1"],
                             "coef": [0.0, 2.0], "true_coef": np.nan})  # fmt: skip

    lasso = rows("lasso", "alpha", np.nan)
    relaxed = [rows("relaxed_lasso", "alpha,gamma", g) for g in (0.5, 0.0, 1.0)]
    file = tmp_path / "coefs.parquet"
    pd.concat([lasso, *relaxed], ignore_index=True).to_parquet(file)
    coefs = CoefRows(file)
    assert coefs.least_gamma() == {"relaxed_lasso": 0.0}
    drawn, n_features = coef_path_rows(coefs, "d")
    assert set(drawn["model"]) == {"lasso", "relaxed_lasso [gamma=0]"}
    assert len(drawn) == 4 and n_features == 2
    lasso.to_parquet(file)
    assert CoefRows(file).least_gamma() == {}


def test_fit_labels_fold_only_nonempty_variants():
    from sparsity_lab.figures.coefficients import fit_labels

    models = pd.Series(["lasso", "ridge", "lasso", "mcp"], dtype="string[pyarrow]")
    variants = pd.Series(["", "tol=1e-06", "", "gamma=3"], dtype="string[pyarrow]")
    expected = [f"{m} [{v}]" if v else m for m, v in zip(models, variants, strict=True)]
    assert fit_labels(models, variants) == expected == [
        "lasso", "ridge [tol=1e-06]", "lasso", "mcp [gamma=3]"
    ]  # fmt: skip
    assert fit_labels(models, pd.Series([""] * 4)) == list(models)  # no variant: as it is
    assert fit_labels([], []) == []
    with pytest.raises(ValueError):
        fit_labels(models, variants[:2])


def test_seed_bands_and_panel_means_are_those_of_each_panel_alone(tables):
    """One groupby for every (dataset, model) gives what one groupby per panel gives."""
    from sparsity_lab.figures._common import band_of, seed_band, seed_bands
    from sparsity_lab.figures.zero_sets import _mean_per_ratio, _means_per_panel

    fits, _ = tables
    fits = fits.copy()
    gone = (fits["dataset"] == "diabetes") & (fits["model"] == "ridge")
    fits.loc[gone, "n_zero"] = np.nan  # a panel with no value: no band, no line
    fits.loc[fits.index[::7], "n_zero"] = np.nan  # and holes elsewhere
    bands = seed_bands(fits, ["alpha_ratio"], "n_zero")
    means = _means_per_panel(fits, "n_zero")
    keys = set(zip(fits["dataset"], fits["model"], strict=True))
    assert ("diabetes", "ridge") in keys and ("diabetes", "ridge") not in bands
    assert set(bands) == set(means) == keys - {("diabetes", "ridge")}
    for dataset, model in keys:
        part = fits[(fits["dataset"] == dataset) & (fits["model"] == model)]
        alone = seed_band(part, ["alpha_ratio"], "n_zero")
        got = band_of(bands, (dataset, model), ["alpha_ratio"])
        assert list(got.columns) == list(alone.columns)
        if alone.empty:
            assert got.empty
            continue
        pd.testing.assert_frame_equal(got, alone)
        pd.testing.assert_series_equal(means[dataset, model], _mean_per_ratio(part, "n_zero"))


def test_error_vs_nonzeros_lines_are_each_models_means_along_its_path(tables):
    fits, _ = tables
    fig = figures.plot_error_vs_nonzeros(fits)
    datasets = sorted(fits["dataset"].unique())
    for ax, dataset in zip(fig.axes, datasets, strict=True):
        for line in ax.get_lines():
            rows = fits[(fits["dataset"] == dataset) & (fits["model"] == line.get_label())]
            expected = rows.groupby("alpha_ratio")[["n_nonzero", "test_mse"]].mean()
            np.testing.assert_allclose(line.get_xdata(), expected["n_nonzero"])
            np.testing.assert_allclose(line.get_ydata(), expected["test_mse"])
        assert {line.get_label() for line in ax.get_lines()} == set(MODELS)
