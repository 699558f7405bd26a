"""Best subset, forward stepwise or lasso? The simulation of Hastie, Tibshirani and Tibshirani
(2020, Statistical Science 35(4)), on the suite's exact lasso and its subset paths.

A job is one cell (setting, rho, SNR) of the paper's grid, ``n_reps`` repetitions inside: each
draws ``n`` training and ``n`` validation rows from ``make_hastie2020`` (x ~ N(0, Sigma),
Sigma_ij = rho^|i-j|, sigma^2 = beta^T Sigma beta / SNR), fits every method along its tuning
grid on the training rows, picks the model of smallest validation error (the paper's tuning)
and records its exact test error, since Sigma is known: relative risk, relative test error,
proportion of variance explained, nonzeros and support F1 (:mod:`sparsity_lab.selection`).

Settings (n, p, s): low (100, 10, 5), medium (500, 100, 5), high5 (50, 1000, 5), high10 (100,
1000, 10); SNR the 10 values log-spaced from 0.05 to 6 (``bsl.snr_index`` 0..9). Methods: the
lasso (50 alphas down to 1e-4 alpha_max when n > p, else 1e-2, glmnet's defaults), the relaxed
lasso (the same alphas x 10 gammas from 0 to 1), forward stepwise and best subset (k = 0 ..
min(p, n - 1, 50)); best subset is proven where the branch and bound finishes (p <= 40 and
within ``bsl.best_subset_time_limit``), its fit is the heuristic's elsewhere, and the rows say
which (``status``: ok or heuristic). Any model config's name is a method too
(``bsl.methods=[lasso,elasticnet]``): its estimator along the same relative grid, through
``fit_path`` as a path job fits it, so the models other issues add join without code here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.errors import ConfigError
from sparsity_lab.schema import columns
from sparsity_lab.studies.base import FigureSpec, Study, StudyTable

#: The paper's problem sizes (n, p, s).
SETTINGS: dict[str, tuple[int, int, int]] = {
    "low": (100, 10, 5),
    "medium": (500, 100, 5),
    "high5": (50, 1000, 5),
    "high10": (100, 1000, 10),
}
#: The paper's SNR values: 10 log-spaced from 0.05 to 6.
SNRS: np.ndarray = np.exp(np.linspace(np.log(0.05), np.log(6.0), 10))
#: Methods in the order the tables and figures show them.
METHODS: tuple[str, ...] = ("best_subset", "forward_stepwise", "lasso", "relaxed_lasso")
#: Relaxed lasso gammas (the paper's ``nrelax = 10``).
GAMMAS: np.ndarray = np.linspace(0.0, 1.0, 10)
#: Lasso grid length (the paper's ``nlam = 50``).
N_ALPHAS = 50
#: Largest subset size fitted (the paper's 50 steps in the high settings).
K_LIMIT = 50

BSL = StudyTable(
    "best_subset_vs_lasso",
    "one row per (setting, rho, snr, repetition, method, rule): the model the validation set "
    "selects and its exact test error",
    columns(
        "study:str setting:str n:int p:int s:int beta_type:int rho:float snr:float "
        "snr_index:int rep:int seed:int method:str rule:str alpha:float alpha_ratio:float "
        "k:count gamma:float n_candidates:count n_zero:count n_nonzero:count "
        "selection_error:float risk:float relative_risk:float relative_test_error:float "
        "pve:float support_precision:float support_recall:float support_f1:float status:str "
        "seconds:float"
    ),
)


def rep_seed(seed: int, setting: str, rho: float, snr_index: int, rep: int) -> int:
    """The data seed of one repetition: distinct for every cell and repetition."""
    key = [seed, list(SETTINGS).index(setting), round(rho * 1000), snr_index, rep]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def model_methods() -> tuple[str, ...]:
    """Model configs (``configs/model/<name>.yaml``) a method name may also be: fitted along
    the lasso's relative grid through ``fit_path``, as a path job fits them."""
    from sparsity_lab.paths import config_dir

    return tuple(sorted(f.stem for f in (config_dir() / "model").glob("*.yaml")))


def model_estimator(name: str, seed: int):
    """The estimator of ``configs/model/<name>.yaml`` (``${seed}`` resolved to ``seed``)."""
    from omegaconf import OmegaConf

    from sparsity_lab.paths import config_dir
    from sparsity_lab.runner import build

    node = OmegaConf.load(config_dir() / "model" / f"{name}.yaml")
    root = OmegaConf.create({"seed": seed, "model": node})
    return build("model", OmegaConf.to_container(root.model, resolve=True))


def method_families(
    name: str, n: int, p: int, X: np.ndarray, y: np.ndarray, time_limit: float, seed: int = 0
):
    """The family of ``name`` on training rows (X, y) (centred, standardised): the paper's four
    methods, or a model config's estimator along the same relative alpha grid (its alpha_max
    that of its L1 part, as the path job computes it)."""
    from sparsity_lab import selection
    from sparsity_lab.models import Lasso
    from sparsity_lab.regularization import alpha_max, objective_l1_ratio

    if name in ("best_subset", "forward_stepwise"):
        k_max = min(p, n - 1, K_LIMIT)
        return selection.subset_family(name, k_max, time_limit=time_limit)
    estimator = Lasso() if name in ("lasso", "relaxed_lasso") else model_estimator(name, seed)
    ratios = np.geomspace(1.0, 1e-4 if n > p else 1e-2, N_ALPHAS)
    l1_ratio = objective_l1_ratio(estimator)
    alphas = ratios * alpha_max(X, y, l1_ratio if l1_ratio > 0 else 1.0, centred=True)
    if name == "relaxed_lasso":
        return selection.relaxed_lasso_family(alphas, ratios, GAMMAS)
    return selection.alpha_family(name, estimator, alphas, ratios)


def run_cell(
    setting: str,
    rho: float,
    snr_index: int,
    beta_type: int,
    n_reps: int,
    methods: list[str],
    rules: list[str],
    seed: int,
    time_limit: float,
) -> pd.DataFrame:
    """Every repetition of one cell: the selected model of each method and rule."""
    from sparsity_lab import selection
    from sparsity_lab.datasets import make_hastie2020, prepare

    n, p, s = SETTINGS[setting]
    snr = float(SNRS[snr_index])
    rows = []
    for rep in range(n_reps):
        data_seed = rep_seed(seed, setting, rho, snr_index, rep)
        data = make_hastie2020(n_samples=2 * n, n_features=p, n_nonzero=s, beta_type=beta_type,
                               rho=rho, snr=snr, random_state=data_seed)  # fmt: skip
        prep = prepare(data, test_size=0.0, seed=data_seed, validation_size=n)
        for method in methods:
            start = time.perf_counter()
            family = method_families(method, n, p, prep.X_train, prep.y_train, time_limit, seed)
            full = family.fit(prep.X_train, prep.y_train)
            select = {"kind": "validation", "rules": rules}
            chosen = selection.selected_rows(family, full, prep, select, data_seed)
            seconds = time.perf_counter() - start
            for row in chosen:
                rows.append({
                    "setting": setting, "n": n, "p": p, "s": s, "beta_type": beta_type,
                    "rho": rho, "snr": snr, "snr_index": snr_index, "rep": rep,
                    "seed": data_seed, "method": method, **row, "seconds": seconds,
                })  # fmt: skip
    return pd.DataFrame(rows)[[c for c in BSL.names if c != "study"]]


def check_params(bsl) -> None:
    """The ``bsl`` keys: one line naming the first value not allowed."""
    from sparsity_lab.datasets.synthetic import BETA_TYPES

    if bsl.setting not in SETTINGS:
        raise ConfigError(f"bsl.setting={bsl.setting!r}: allowed values are {', '.join(SETTINGS)}")
    rho = bsl.rho
    if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0 <= rho < 1:
        raise ConfigError(f"bsl.rho={rho!r}: allowed values are 0 <= rho < 1")
    idx = bsl.snr_index
    if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(SNRS):
        raise ConfigError(
            f"bsl.snr_index={idx!r}: allowed values are 0..{len(SNRS) - 1} (the SNRs "
            f"{', '.join(f'{v:.3g}' for v in SNRS)})"
        )
    if bsl.beta_type not in BETA_TYPES or isinstance(bsl.beta_type, bool):
        raise ConfigError(
            f"bsl.beta_type={bsl.beta_type!r}: allowed values are {', '.join(map(str, BETA_TYPES))}"
        )
    n_reps = bsl.n_reps
    if isinstance(n_reps, bool) or not isinstance(n_reps, int) or n_reps < 1:
        raise ConfigError(f"bsl.n_reps={n_reps!r}: allowed values are integers >= 1")
    methods = list(bsl.methods)
    allowed = (*METHODS, *(m for m in model_methods() if m not in METHODS))
    bad = [m for m in methods if m not in allowed]
    if bad or not methods:
        raise ConfigError(
            f"bsl.methods: {bad[0] if bad else 'empty'!r}; allowed values are {', '.join(allowed)}"
        )
    limit = bsl.best_subset_time_limit
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        raise ConfigError(f"bsl.best_subset_time_limit={limit!r}: allowed values are seconds > 0")
    from sparsity_lab.selection import check_select

    check_select({"kind": "validation", "rules": list(bsl.rules)})


def aggregate(table: pd.DataFrame, value: str) -> pd.DataFrame:
    """Mean and standard error over repetitions of ``value`` per setting, rho, SNR, method and
    rule."""
    keys = ["setting", "rho", "snr", "method", "rule"]
    grouped = table.groupby(keys, sort=True)[value]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n"])
    return out


class BestSubsetVsLasso(Study):
    """The paper's simulation, one cell per job. No dataset, model or grid of the path job:
    fits and coefs are empty; keys under ``bsl``."""

    name = "best_subset_vs_lasso"
    tables = (BSL,)
    uses_path = False

    def check(self, cfg: DictConfig) -> None:
        check_params(cfg.bsl)

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab.results import empty_fit_tables

        b = cfg.bsl
        table = run_cell(
            b.setting, float(b.rho), int(b.snr_index), int(b.beta_type), int(b.n_reps),
            list(b.methods), list(b.rules), int(cfg.seed), float(b.best_subset_time_limit),
        )  # fmt: skip
        table.insert(0, "study", cfg.study)
        return {**empty_fit_tables(), BSL.name: table[list(BSL.names)]}

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        table = tables[BSL.name]
        if table.empty:
            return []
        lines = []
        for value, label in (("relative_test_error", "relative test error (1 is perfect)"),
                             ("n_nonzero", "nonzeros")):  # fmt: skip
            agg = aggregate(table[table["rule"] == "min"], value)
            wide = agg.pivot_table(index=["setting", "rho", "snr"], columns="method",
                                   values="mean", sort=True)  # fmt: skip
            wide.index = wide.index.set_levels([f"{v:.3g}" for v in wide.index.levels[2]], level=2)
            lines += ["", f"{label} of the validation-selected model, mean over repetitions:",
                      wide.round(3).to_string()]  # fmt: skip
        heuristic = table[(table["method"] == "best_subset") & (table["status"] == "heuristic")]
        if len(heuristic):
            settings = ", ".join(sorted(heuristic["setting"].unique()))
            lines.append(
                f"best subset is the heuristic's (not proven) in {len(heuristic)} of "
                f"{int((table['method'] == 'best_subset').sum())} selected models ({settings})"
            )
        return lines

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        from sparsity_lab.figures.best_subset import plot_metric_vs_snr

        table = tables[BSL.name]
        for value in ("relative_test_error", "pve", "n_nonzero"):
            yield (
                f"best_subset_vs_lasso_{value}_vs_snr",
                (lambda value=value: plot_metric_vs_snr(table, value)),
                None,
            )


STUDY = BestSubsetVsLasso()
