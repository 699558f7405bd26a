"""Which zeros does your solver report? Popular Lasso solvers, each over a ladder of
tolerances, against the suite's proven optimum at the same alphas on the same rows.

A job is one (data, model): ``solver_zeros.data`` names a synthetic design of
``solver_zeros.designs`` (Toeplitz Gaussian, fitted on all rows, at ``solver_zeros.size``
``default`` or ``full``: the issue's shapes) or a dataset of the catalog
(``configs/dataset/<name>.yaml``). The job solves the optimum once along the grid, then fits the
model along the same grid at every tolerance of ``solver_zeros.tols`` (a model with a ``tol``
parameter), or once (LassoLars: no tolerance). ``model=lasso`` gives the exact path itself (the
reference) and scikit-learn's coordinate descent (``solver=cd``) at each tolerance. Every fit
is a fits row with the optimum's columns (n_zero_optimum, n_false_zero, n_missed_zero,
zero_set_is_optimum); the ``solver_zeros`` table has one row per path: how many of its zero sets
are wrong, its false and missed zeros, its time.

Each model is fitted once on a tiny problem before it is timed, so numba's compilation (skglm,
the exact route's coordinate descent) is not counted in a path's time. No coefs table: a
ladder of paths on thousands of features would be millions of rows, and the zero sets are
summarised in fits.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf, open_dict

from sparsity_lab.errors import ConfigError
from sparsity_lab.schema import columns
from sparsity_lab.studies.base import FigureSpec, Study, StudyTable

#: Sizes a run can take: ``default`` (a minute) and ``full`` (the issue's table).
SIZES = ("default", "full")
#: Loaders that need user input: not names ``solver_zeros.data`` can take.
_NEEDS_INPUT = ("openml", "table")
#: The solver label of the exact path (the reference) in the study's table and figures.
EXACT = "exact"

SOLVER_ZEROS = StudyTable(
    "solver_zeros",
    "one row per path (dataset, model, variant): its zero sets against the optimum's",
    columns(
        "study:str dataset:str model:str variant:str solver:str tol:float seed:int "
        "n_samples:count n_features:count n_alphas:count n_compared:count "
        "n_wrong_zero_sets:count n_false_zero:count n_missed_zero:count n_tied_alphas:count "
        "n_not_ok:count path_seconds:float"
    ),
)


# ---------------------------------------------------------------------------- the data
def _catalog_names() -> list[str]:
    from sparsity_lab.paths import config_dir

    files = sorted((config_dir() / "dataset").glob("*.yaml"))
    return [f.stem for f in files if f.stem not in _NEEDS_INPUT]


def dataset_node(cfg: DictConfig) -> dict:
    """The dataset config of the job's ``solver_zeros.data`` (unresolved: ``${seed}`` stays).

    A design becomes a ``make_sparse_regression`` config named ``<design>_<n>x<p>``, fitted on
    all rows; a catalog name is its config file as it is.
    """
    sz = cfg.solver_zeros
    data = str(sz.data)
    if data in sz.designs:
        design = sz.designs[data]
        n, p = (int(v) for v in design[sz.size])
        return {
            **OmegaConf.to_container(sz.design, resolve=False),
            "name": f"{data}_{n}x{p}", "n_samples": n, "n_features": p,
            "rho": float(design.rho), "test_size": 0.0,
        }  # fmt: skip
    from sparsity_lab.paths import config_dir

    return OmegaConf.to_container(
        OmegaConf.load(config_dir() / "dataset" / f"{data}.yaml"), resolve=False
    )


def _check_params(cfg: DictConfig) -> None:
    sz = cfg.get("solver_zeros")
    if sz is None:
        raise ConfigError("solver_zeros is missing: run it as experiment=solver_zeros")
    if sz.size not in SIZES:
        raise ConfigError(f"solver_zeros.size={sz.size!r}: allowed values are {', '.join(SIZES)}")
    allowed = [*sz.designs, *_catalog_names()]
    if sz.data not in allowed:
        raise ConfigError(f"solver_zeros.data={sz.data!r}: allowed values are {', '.join(allowed)}")
    tols = OmegaConf.to_container(sz.tols, resolve=True) if OmegaConf.is_list(sz.tols) else None
    if not tols or not all(
        isinstance(t, int | float) and not isinstance(t, bool) and 0 < t < np.inf for t in tols
    ):
        raise ConfigError(
            f"solver_zeros.tols={sz.tols!r}: allowed values are a non-empty list of numbers > 0"
        )


def _check_model(cfg: DictConfig) -> None:
    """The model builds, passes its own parameter checks (a missing peer library is one line
    naming the extra) and has an L1 part (else there is no optimum's zero set to compare)."""
    from sparsity_lab.regularization import objective_l1_ratio
    from sparsity_lab.runner import build

    estimator = build("model", cfg.model)
    check = getattr(estimator, "_check_params", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            text = str(exc).strip().splitlines()[0]
            raise ConfigError(text if text.startswith("model") else f"model.{text}") from None
    ratio = objective_l1_ratio(estimator)
    if not (np.isfinite(ratio) and ratio > 0):
        raise ConfigError(
            f"model={cfg.hydra.runtime.choices.model if 'hydra' in cfg else cfg.model._target_}: "
            "solver_zeros compares zero sets with the Lasso optimum; allowed models have an L1 "
            "penalty (lasso, lasso_lars, celer, skglm, elasticnet, the SGD L1 rules)"
        )


# ---------------------------------------------------------------------------- the ladder
def model_ladder(model: DictConfig, model_name: str, tols: list[float]) -> list[tuple[str, dict]]:
    """(solver label, model config) of every path the job fits.

    The suite's exact Lasso / ElasticNet (``solver`` auto, cd_exact or homotopy) is the
    reference (label ``exact``), then scikit-learn's coordinate descent (``solver=cd``, label
    ``sklearn_cd``) at each tolerance; any other model with a ``tol`` runs at each tolerance; a
    model without one (LassoLars) runs once. Other models are labelled by their config name.
    """
    node = OmegaConf.to_container(model, resolve=False)
    if "solver" in node and "tol" in node and str(node["_target_"]).startswith("sparsity_lab."):
        ladder = [] if node["solver"] == "cd" else [(EXACT, node)]
        return ladder + [("sklearn_cd", {**node, "solver": "cd", "tol": t}) for t in tols]
    if "tol" in node:
        return [(model_name, {**node, "tol": t}) for t in tols]
    return [(model_name, node)]


def _warm_up(estimator) -> None:
    """One fit on a tiny problem: numba compiles here, not inside a timed path."""
    from sparsity_lab.regularization import TrainingData, fit_path

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 6))
    fit_path(estimator, TrainingData(X - X.mean(0), rng.standard_normal(12)), np.array([0.1]))


def tied_alphas(data, optimum: np.ndarray, alphas: np.ndarray, l1_ratio: float, amax: float) -> int:
    """Alphas below alpha_max at which the optimum has a zero on the KKT boundary (|X_j^T r| / n
    = alpha within rounding): duplicate or collinear columns (the optimum and its zero set are
    not unique) or a feature entering exactly there (as one always does at alpha_max, not
    counted). A solver's zero set that differs from the optimum's at such an alpha may be
    another optimum's."""
    from sparsity_lab import metrics

    ok = np.isfinite(optimum).all(axis=1) & (alphas < amax * (1 - 1e-12))
    W = np.where(ok[:, None], optimum, 0.0)
    XtR, _ = data.residual_products(W)
    ties = metrics.boundary_zeros(W, XtR, alphas, l1_ratio, data.n_samples).sum(axis=1)
    return int(np.sum((ties > 0) & ok))


def path_row(fits: pd.DataFrame, solver: str, tol: float, n_tied: int) -> dict:
    """The ``solver_zeros`` row of one path's fits rows."""
    same = fits["zero_set_is_optimum"]
    first = fits.iloc[0]
    return {
        **{k: first[k] for k in ("study", "dataset", "model", "variant", "seed")},
        "solver": solver,
        "tol": tol,
        "n_samples": first["n_samples"],
        "n_features": first["n_features"],
        "n_alphas": len(fits),
        "n_compared": int(same.notna().sum()),
        "n_wrong_zero_sets": int((same == False).sum()),  # noqa: E712 (<NA> is not counted)
        "n_false_zero": float(fits["n_false_zero"].sum()),
        "n_missed_zero": float(fits["n_missed_zero"].sum()),
        "n_tied_alphas": n_tied,
        "n_not_ok": int((fits["status"] != "ok").sum()),
        "path_seconds": float(fits["fit_seconds"].sum()),
    }


def run_ladder(cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
    """The job: every path of :func:`model_ladder` on one dataset, against one optimum."""
    from sparsity_lab.datasets import prepare
    from sparsity_lab.models import Lasso
    from sparsity_lab.regularization import (
        TrainingData,
        alpha_max,
        fit_path,
        objective_l1_ratio,
    )
    from sparsity_lab.results import empty_fit_tables
    from sparsity_lab.runner import (
        build,
        check_alpha_max,
        check_config,
        grid_alphas,
        load_dataset,
        model_variant,
        notes_table,
        optimum_path,
        path_fits_table,
    )

    check_config(cfg)
    job = cfg.copy()
    with open_dict(job):
        job.dataset = dataset_node(cfg)
    dataset, test_size = load_dataset(job)
    prep = prepare(dataset, test_size=test_size, seed=int(cfg.seed))
    data = TrainingData(prep.X_train, prep.y_train)
    l1_ratio = objective_l1_ratio(build("model", cfg.model))
    amax = alpha_max(data.X, data.y, l1_ratio, centred=True)
    check_alpha_max(dataset.name, amax, prep.y_train, cfg.grid)
    alphas, ratios = grid_alphas(cfg.grid, amax)
    tols = [float(t) for t in cfg.solver_zeros.tols]
    ladder = model_ladder(cfg.model, model_name, tols)
    _warm_up(Lasso(solver="cd_exact"))
    optimum = optimum_path(data, alphas, l1_ratio)
    n_tied = tied_alphas(data, optimum, alphas, l1_ratio, amax)
    fits_parts, rows = [], []
    for i, (solver, node) in enumerate(ladder):
        with open_dict(job):
            job.model = node
        estimator = build("model", job.model)
        _warm_up(estimator)
        path = fit_path(estimator, data, alphas)
        variant = model_variant(job.model, model_name)
        ident = {"study": cfg.study, "dataset": dataset.name, "model": model_name,
                 "variant": variant, "seed": int(cfg.seed)}  # fmt: skip
        fits = path_fits_table(
            path, ratios, data, prep, l1_ratio, float(cfg.zero_tol), ident, optimum=optimum
        )
        fits_parts.append(fits)
        tol = float(node["tol"]) if solver != EXACT and "tol" in node else np.nan
        rows.append(path_row(fits, solver, tol, n_tied))
        if on_fit is not None:
            on_fit(i + 1, len(ladder))
    tables = empty_fit_tables()
    tables["fits"] = pd.concat(fits_parts, ignore_index=True)
    tables["notes"] = notes_table(cfg.study, dataset.name, prep.notes)
    tables["solver_zeros"] = pd.DataFrame(rows, columns=list(SOLVER_ZEROS.names))
    return tables


# ---------------------------------------------------------------------------- the answer
def wrong_table(table: pd.DataFrame) -> pd.DataFrame:
    """Wrong zero sets per (dataset, solver) and tolerance (loosest first; ``-`` for paths
    without one), summed over seeds; empty cells where a solver has no such path."""
    label = table["tol"].map(lambda t: "-" if pd.isna(t) else f"{t:.0e}")
    order = ["-", *(f"{t:.0e}" for t in sorted(table["tol"].dropna().unique(), reverse=True))]
    wide = table.assign(tol=label).pivot_table(
        index=["dataset", "solver"], columns="tol", values="n_wrong_zero_sets", aggfunc="sum"
    )
    wide = wide.reindex(columns=[c for c in order if c in wide.columns])
    wide = wide.reindex(
        index=list(dict.fromkeys(zip(table["dataset"], table["solver"], strict=True)))
    )
    return wide.map(lambda v: "" if pd.isna(v) else str(int(v)))


def trusted_tolerance(table: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, solver) of a tolerance ladder: the loosest tolerance from which on every
    tighter one gives the optimum's zero set at every alpha of the path (NaN: none does), with
    that path's seconds and the exact path's seconds on the same data.

    Returns
    -------
    DataFrame
        dataset, solver, tol_needed, wrong_at_tightest (wrong zero sets at the ladder's tightest
        tolerance), seconds (the path at tol_needed), exact_seconds.
    """
    exact = table[table["solver"] == EXACT].groupby("dataset")["path_seconds"].first()
    rows = []
    for (dataset, solver), g in table[table["tol"].notna()].groupby(["dataset", "solver"]):
        g = g.sort_values("tol")  # tightest first
        wrong = g["n_wrong_zero_sets"].to_numpy()
        ok = wrong == 0
        # the longest run of trusted rungs starting at the tightest tolerance
        n_ok = int(np.argmin(ok)) if not ok.all() else len(ok)
        rows.append({
            "dataset": dataset, "solver": solver,
            "tol_needed": g["tol"].iloc[n_ok - 1] if n_ok else np.nan,
            "wrong_at_tightest": int(wrong[0]),
            "seconds": g["path_seconds"].iloc[n_ok - 1] if n_ok else np.nan,
            "exact_seconds": exact.get(dataset, np.nan),
        })  # fmt: skip
    return pd.DataFrame(rows)


class SolverZeros(Study):
    """Popular Lasso solvers over a ladder of tolerances against the proven optimum. Config
    keys under ``solver_zeros``: ``data``, ``size``, ``tols``, ``designs``, ``design``."""

    name = "solver_zeros"
    tables = (SOLVER_ZEROS,)
    uses_path = False  # the dataset comes from solver_zeros.data; the model is checked here

    def check(self, cfg: DictConfig) -> None:
        from sparsity_lab.runner import grid_alphas

        _check_params(cfg)
        grid_alphas(cfg.grid, 1.0)
        _check_model(cfg)

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        return run_ladder(cfg, model_name, on_fit)

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        table = tables["solver_zeros"]
        lines = [
            "",
            "wrong zero sets per path (alphas whose zero set is not the optimum's), by solver "
            "tolerance (-: no tolerance):",
            wrong_table(table).to_string(),
        ]
        ties = table.groupby("dataset", sort=False)[["n_tied_alphas", "n_alphas"]].first()
        tied = ties[ties["n_tied_alphas"] > 0]
        if not tied.empty:
            lines += [
                "alphas below alpha_max where the optimum has zeros on the KKT boundary (ties: "
                "duplicate or collinear columns, where the optimum's zero set is not unique, or "
                "a feature entering right there): "
                + ", ".join(f"{d} {r.n_tied_alphas} of {r.n_alphas}" for d, r in tied.iterrows())
            ]
        trusted = trusted_tolerance(table)
        if not trusted.empty:
            lines += [
                "",
                "tolerance each solver needs for the optimum's zero set at every alpha "
                "(NaN: none of the ladder):",
                trusted.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
            ]
        return lines

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        from sparsity_lab.figures import solver_zeros as figs

        table = tables["solver_zeros"]
        yield ("wrong_zero_sets_vs_tolerance",
               lambda: figs.plot_vs_tolerance(table, "n_wrong_zero_sets"), None)  # fmt: skip
        yield ("false_missed_zeros_vs_tolerance",
               lambda: figs.plot_vs_tolerance(table, "false_missed"), None)  # fmt: skip
        yield "wrong_zero_sets_vs_fit_time", lambda: figs.plot_vs_fit_time(table), None


STUDY = SolverZeros()
