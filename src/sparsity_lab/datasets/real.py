"""Real regression datasets that load with no network.

Each loader reads data shipped inside a wheel (scikit-learn's, ``faraway``'s, or this package's
own ``datasets/data/`` folder, whose ``README.md`` gives each file's source and licence), so a
run never downloads anything. Missing-value policy, per dataset: only ``hitters`` has missing
values (59 players without a salary: those rows are dropped and the drop is noted); every other
dataset here is complete, and ``Dataset`` refuses NaN anyway, naming the column.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd

from sparsity_lab.datasets.base import DataError, Dataset

# Rows (1-based, in the ESL file's order, which is sorted by lpsa) that ESL holds out as its test
# set: the `train` column of prostate.data is F exactly on these 30 rows, T on the other 67.
ESL_PROSTATE_TEST_ROWS = (
    7, 9, 10, 15, 22, 25, 26, 28, 32, 34, 36, 42, 44, 48, 49, 50, 53, 54, 55, 57,
    62, 64, 65, 66, 73, 74, 80, 84, 95, 97,
)  # fmt: skip


def load_diabetes() -> Dataset:
    """Diabetes progression (Efron et al. 2004, the LARS paper): 442 patients, 10 baseline
    variables, scikit-learn's copy (features already mean-centred and scaled by scikit-learn).

    The files are read and scaled the way ``sklearn.datasets.load_diabetes()`` does (same
    values, bit for bit: the test compares them) without importing scikit-learn: its datasets
    package imports every fetcher of scikit-learn (0.2 to 0.5 s a tiny diabetes job would spend
    on imports), and ``sparsity-lab datasets`` needs no estimator at all.
    """
    X = _sklearn_data_file("diabetes_data_raw.csv.gz")
    # sklearn.preprocessing.scale for data with no constant column and no precision trouble
    mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
    X -= mean
    X /= std
    X /= X.shape[0] ** 0.5
    return Dataset(
        name="diabetes",
        X=X,
        y=_sklearn_data_file("diabetes_target.csv.gz"),
        feature_names=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"],
        target="disease progression one year after baseline",
        source="scikit-learn load_diabetes (Efron, Hastie, Johnstone, Tibshirani 2004)",
        licence="BSD-3-Clause (scikit-learn)",
    )


def _sklearn_data_file(name: str) -> np.ndarray:
    """A gzipped text table shipped in ``sklearn/datasets/data/``, as scikit-learn loads it
    (a fresh copy; the text is parsed once per process: the check and every job of a sweep
    load the dataset)."""
    return _parsed_sklearn_data_file(name).copy()


@lru_cache(maxsize=8)
def _parsed_sklearn_data_file(name: str) -> np.ndarray:
    spec = find_spec("sklearn")
    assert spec is not None and spec.submodule_search_locations, "scikit-learn is a dependency"
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    with gzip.open(path, mode="rt", encoding="utf-8") as file:
        table = np.loadtxt(file)
    table.flags.writeable = False
    return table


def load_prostate(split: str = "esl") -> Dataset:
    """Prostate cancer data (Stamey et al. 1989) as used in The Elements of Statistical Learning.

    97 men, 8 clinical predictors, target ``lpsa`` (log prostate-specific antigen).

    Parameters
    ----------
    split : {"esl", "random"}
        ``"esl"`` fixes the book's 67/30 train/test split (``Dataset.train_index``), so
        ``test_size`` is ignored; ``"random"`` leaves the split to ``test_size`` and the seed.

    Returns
    -------
    Dataset
        ``X`` of shape (97, 8), ``y`` of shape (97,).
    """
    if split not in ("esl", "random"):
        raise DataError(f"dataset.split={split!r}: allowed values are 'esl', 'random'")
    from faraway.datasets import prostate

    frame = prostate.load()
    X = frame.drop(columns="lpsa").astype(np.float64)
    notes = []
    # faraway carries lweight = 6.1076 for row 32 (a 449 g prostate); ESL's corrected file has
    # 3.804438, and ESL's least-squares test error 0.521 (Table 3.3) is reproduced only with it.
    if np.isclose(X.loc[31, "lweight"], 6.1076, atol=1e-4):
        X.loc[31, "lweight"] = 3.804438
        notes.append("prostate: lweight of row 32 corrected from 6.1076 to 3.804438 (ESL's file)")
    train_index = None
    if split == "esl":
        test = np.asarray(ESL_PROSTATE_TEST_ROWS) - 1
        train_index = np.setdiff1d(np.arange(len(frame)), test)
        notes.append("prostate: ESL 67/30 train/test split (test_size ignored)")
    return Dataset(
        name="prostate",
        X=X.to_numpy(),
        y=frame["lpsa"].to_numpy(),
        feature_names=list(X.columns),
        target="lpsa (log prostate-specific antigen)",
        train_index=train_index,
        notes=notes,
        source="faraway prostate (Stamey et al. 1989; ESL 2nd ed. section 3.2.1)",
        licence="MIT (faraway wheel); ESL data page states no licence",
    )


def load_hitters() -> Dataset:
    """Major League Baseball hitters, 1986-87 (ISLR's ``Hitters``): predict the 1987 salary.

    Rows without a salary (59 of 322) are dropped; ``League``, ``Division`` and ``NewLeague`` are
    one-hot encoded with the first level dropped (``League_N``, ``Division_W``, ``NewLeague_N``,
    as R's ``model.matrix`` does), giving ``X`` of shape (263, 19).
    """
    frame = _shipped_table("hitters.csv.gz")
    n_before = len(frame)
    frame = frame.dropna(subset=["Salary"]).reset_index(drop=True)
    X = _one_hot(frame.drop(columns="Salary"))
    return Dataset(
        name="hitters",
        X=X.to_numpy(dtype=np.float64),
        y=frame["Salary"].to_numpy(),
        feature_names=list(X.columns),
        target="Salary (1987, thousands of dollars)",
        notes=[f"hitters: dropped {n_before - len(frame)} rows with missing Salary"],
        source="ISLP Hitters.csv, shipped (James et al. 2013; StatLib 1988 ASA data expo)",
        licence="BSD-3-Clause (ISLP Python package)",
    )


def load_tecator(target: str = "fat") -> Dataset:
    """Tecator near-infrared meat spectra: 215 samples, absorbances at 100 wavelengths
    (850-1050 nm), highly collinear neighbouring channels.

    Parameters
    ----------
    target : {"fat", "water", "protein"}
        Which percentage to predict; the other two are not used as features.

    Returns
    -------
    Dataset
        ``X`` of shape (215, 100).
    """
    targets = ("fat", "water", "protein")
    if target not in targets:
        raise DataError(f"dataset.target={target!r}: allowed values are {', '.join(targets)}")
    frame = _shipped_table("meats.csv.gz")
    X = frame.drop(columns=list(targets))
    return Dataset(
        name="tecator",
        X=X.to_numpy(dtype=np.float64),
        y=frame[target].to_numpy(dtype=np.float64),
        feature_names=list(X.columns),
        target=f"{target} content (percent)",
        source="modeldata::meats, shipped (Tecator Infratec data, StatLib)",
        licence="MIT (R package modeldata)",
    )


def load_permeability_qsar() -> Dataset:
    """Permeability of 165 compounds from 1107 binary molecular fingerprints (Kuhn and Johnson,
    Applied Predictive Modeling, 2013): p >> n.

    The 38 fingerprints that are constant over all 165 compounds are removed here and reported in
    ``notes``, giving ``X`` of shape (165, 1069); ``prepare`` then drops any that are constant on
    the training rows only.
    """
    frame = _shipped_table("permeability_qsar.csv.gz")
    X = frame.filter(like="chem_fp_")  # int64 0/1, no missing values
    values = X.to_numpy()
    constant = X.columns[(values == values[:1]).all(axis=0)]  # X.nunique() == 1, 250x faster
    X = X.drop(columns=constant)
    shown = ", ".join(constant[:5]) + (" ..." if len(constant) > 5 else "")
    return Dataset(
        name="permeability_qsar",
        X=X.to_numpy(dtype=np.float64),
        y=frame["permeability"].to_numpy(dtype=np.float64),
        feature_names=list(X.columns),
        target="permeability",
        notes=[f"permeability_qsar: removed {len(constant)} constant fingerprint(s): {shown}"],
        source="modeldata::permeability_qsar, shipped (Kuhn & Johnson 2013)",
        licence="MIT (R package modeldata)",
    )


def load_bodyfat() -> Dataset:
    """Body fat of 252 men (Johnson 1996): Brozek percent body fat from age, weight, height,
    adiposity and 10 circumferences, ``X`` of shape (252, 14).

    ``siri``, ``density`` and ``free`` are left out: they are computed from the same underwater
    weighing as the target and would leak it.
    """
    from faraway.datasets import fat

    frame = fat.load()
    X = frame.drop(columns=["brozek", "siri", "density", "free"]).astype(np.float64)
    return Dataset(
        name="bodyfat",
        X=X.to_numpy(),
        y=frame["brozek"].to_numpy(dtype=np.float64),
        feature_names=list(X.columns),
        target="percent body fat (Brozek's equation)",
        source="faraway fat (Johnson 1996, Journal of Statistics Education 4(1))",
        licence="MIT (faraway wheel); JSE data archive states no licence",
    )


def _shipped_table(name: str) -> pd.DataFrame:
    """A table of this package's ``datasets/data/`` folder (gzipped CSV; floats written in
    their shortest round-trip form, so the values are the source's, bit for bit)."""
    return pd.read_csv(Path(__file__).parent / "data" / name)


def _one_hot(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as they are, the others one-hot with the first level dropped."""
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if not categorical:
        return frame.astype(np.float64)
    return pd.get_dummies(frame, columns=categorical, drop_first=True, dtype=np.float64)
