"""Methods that make zeros by design (best subset, forward stepwise, the relaxed and the
adaptive lasso) against the Lasso at matched numbers of nonzeros, on the catalog's datasets.

Each job is the generic path job of one (dataset, model); the study adds ``matched``: for each
size m of ``beyond_lasso.sizes``, the job's fit with exactly m nonzero coefficients (on an
alpha path the first one, the largest alpha, so nothing is chosen by its test error; a relaxed
lasso once per gamma; a path over k its row k), with its exact zeros, how many of them are
proven, its test error and its support recovery.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from sparsity_lab.schema import columns
from sparsity_lab.studies.base import FigureSpec, Study, StudyTable, table_lines

MATCHED = StudyTable(
    "matched",
    "one row per (dataset, model, gamma, seed, m): the fit with exactly m nonzeros",
    columns(
        "study:str dataset:str model:str variant:str gamma:float seed:int n_features:count "
        "m:count alpha_ratio:float k:count n_zero:count n_zero_proven:count test_mse:float "
        "support_precision:float support_recall:float support_f1:float optimality:str"
    ),
)


def proven_zeros(fits: pd.DataFrame) -> np.ndarray:
    """Exact zeros shown to be the optimum's: the gap-safe certificates of a penalised fit
    (``n_zero_certified``; ties on the KKT boundary are not counted), every zero of a best
    subset row proven optimal by branch and bound, none of a heuristic row."""
    certified = fits["n_zero_certified"].to_numpy(dtype=np.float64)
    optimality = fits["optimality"].to_numpy(dtype=object)
    by_search = np.where(optimality == "proven", fits["n_zero"].to_numpy(np.float64), 0.0)
    return np.where(np.isin(optimality, ["proven", "heuristic"]), by_search, certified)


def matched_rows(fits: pd.DataFrame, sizes) -> pd.DataFrame:
    """The fits with exactly m nonzeros, one per (model, variant, gamma, seed) and m."""
    fits = fits[fits["status"] == "ok"]  # a fit the solver did not finish is not matched
    fits = fits.assign(n_zero_proven=proven_zeros(fits))
    rows = []
    for _, part in fits.groupby(["dataset", "model", "variant", "gamma", "seed"], dropna=False):
        # the sparse end of the path first: largest alpha, or smallest k
        order = part.sort_values(["alpha_ratio", "k"], ascending=[False, True], na_position="last")
        for m in sizes:
            hit = order[order["n_nonzero"] == m]
            if len(hit):
                rows.append(hit.iloc[0].to_dict() | {"m": m})
    out = pd.DataFrame(rows, columns=[*fits.columns, "m"])
    return out[list(MATCHED.names)].reset_index(drop=True)


def relative_errors(matched: pd.DataFrame) -> pd.DataFrame:
    """``matched`` with ``mse_vs_lasso``: each row's test MSE over the Lasso's at the same
    (dataset, seed, m), and ``method``: the model, with its gamma for a relaxed lasso (gamma =
    1 is the Lasso itself and is left out)."""
    lasso = matched[matched["model"] == "lasso"].set_index(["dataset", "seed", "m"])["test_mse"]
    key = pd.MultiIndex.from_frame(matched[["dataset", "seed", "m"]])
    out = matched.assign(
        mse_vs_lasso=matched["test_mse"].to_numpy() / lasso.reindex(key).to_numpy()
    )
    method = [mod if pd.isna(g) else f"{mod} [gamma={g:g}]"
              for mod, g in zip(out["model"], out["gamma"], strict=True)]  # fmt: skip
    out = out.assign(method=method)
    return out[~(out["gamma"] == 1.0)]


class BeyondLasso(Study):
    name = "beyond_lasso"
    tables = (MATCHED,)

    def check(self, cfg: DictConfig) -> None:
        from sparsity_lab.errors import ConfigError

        sizes = cfg.get("beyond_lasso", {}).get("sizes")
        ok = sizes is not None and len(sizes) > 0
        ok = ok and all(isinstance(m, int) and not isinstance(m, bool) and m >= 1 for m in sizes)
        if not ok:
            raise ConfigError(
                f"beyond_lasso.sizes={sizes!r}: allowed values are a non-empty list of "
                "integers >= 1"
            )

    def run(self, cfg: DictConfig, model_name: str, on_fit=None) -> dict[str, pd.DataFrame]:
        from sparsity_lab.runner import run_path_job

        tables = run_path_job(cfg, model_name, on_fit=on_fit)
        tables["matched"] = matched_rows(tables["fits"], list(cfg.beyond_lasso.sizes))
        return tables

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        matched = relative_errors(tables["matched"])
        if matched.empty:
            return []
        lines = []
        known = matched.dropna(subset=["mse_vs_lasso"])
        median = known.pivot_table(index="method", columns="m", values="mse_vs_lasso",
                                   aggfunc="median")  # fmt: skip
        count = known.pivot_table(index="method", columns="m", values="mse_vs_lasso",
                                  aggfunc="count").reindex_like(median)  # fmt: skip
        shown = median.copy().astype(object)
        for m in median.columns:
            shown[m] = [
                "-" if pd.isna(v) else f"{v:.3f} ({int(c)})"
                for v, c in zip(median[m], count[m], strict=True)
            ]
        lines += table_lines(
            "test MSE over the Lasso's at m nonzeros (median over datasets, how many datasets)",
            shown.reset_index(),
        )
        proven = matched.groupby("method")[["n_zero_proven", "n_zero"]].sum()
        proven["proven"] = (proven["n_zero_proven"] / proven["n_zero"]).map(lambda v: f"{v:.1%}")
        lines += table_lines(
            "exact zeros at the matched fits, and the share proven zeros of the optimum",
            proven.astype({"n_zero_proven": int, "n_zero": int}).reset_index(),
        )
        truth = matched.dropna(subset=["support_f1"])
        if len(truth):
            f1 = truth.pivot_table(index="method", columns="m", values="support_f1", aggfunc="mean")
            lines += table_lines(
                f"support F1 at matched nonzeros (mean over {truth['dataset'].nunique()} "
                "datasets with a known support)",
                f1.map(lambda v: "-" if pd.isna(v) else f"{v:.2f}").reset_index(),
            )
        return lines

    def figures(self, tables: dict[str, pd.DataFrame]) -> Iterator[FigureSpec]:
        from sparsity_lab.figures.matched_sparsity import plot_matched_errors

        matched = relative_errors(tables["matched"])
        yield "test_error_vs_lasso_at_matched_nonzeros", lambda: plot_matched_errors(matched), None


STUDY = BeyondLasso()
