"""The default study: does L1 give exact zeros where L2 does not, and does gradient descent?
Synthetic and diabetes data; Lasso, Ridge and the elastic net at their optima, and two L1 SGD
rules on the Lasso objective (the note's subgradient step and regularized dual averaging), along
one relative grid.

The job is the generic path job; the summary adds each SGD rule's zeros against the optimum's.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sparsity_lab.studies.base import Study, table_lines

#: The grid points (nearest) at which the summary compares zero sets, as the zero table does.
RATIOS = (1.0, 0.1, 0.01, 0.001)


def zero_set_errors(fits: pd.DataFrame, ratios: Sequence[float] = RATIOS) -> pd.DataFrame:
    """False and missed zeros of the fits not solved by the exact route, against the optimum.

    Parameters
    ----------
    fits : DataFrame
        Fits table with ``dataset``, ``model``, ``alpha_ratio``, ``n_false_zero``,
        ``n_missed_zero`` (NaN for fits with no L1 part).

    Returns
    -------
    DataFrame
        One row per (dataset, model) of the SGD rules; per grid point nearest each ratio (the
        column named by that grid point) ``false/missed`` zeros (means over seeds).
    """
    need = {"dataset", "model", "alpha_ratio", "n_false_zero", "n_missed_zero"}
    if not need <= set(fits.columns):
        return pd.DataFrame()
    sgd = fits[fits["model"].astype(str).str.startswith("sgd_")]
    sgd = sgd.dropna(subset=["n_false_zero", "n_missed_zero"])
    rows = []
    for (dataset, model), part in sgd.groupby(["dataset", "model"], sort=False):
        grid = part["alpha_ratio"].to_numpy()
        row = {"dataset": dataset, "model": model}
        for ratio in ratios:
            at = grid[abs(grid - ratio).argmin()]
            here = part[part["alpha_ratio"] == at]
            false, missed = here["n_false_zero"].mean(), here["n_missed_zero"].mean()
            row[f"{at:.3g}"] = f"{false:g}/{missed:g}"
        rows.append(row)
    return pd.DataFrame(rows)


class Quickstart(Study):
    name = "quickstart"

    def summary(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        fits = tables.get("fits")
        if fits is None or fits.empty:
            return []
        lines = table_lines(
            "SGD rules against the optimum, false / missed zeros", zero_set_errors(fits)
        )
        if lines:  # what the two words mean, under the title
            lines.insert(
                2, "(false: 0.0 where the optimum is nonzero; missed: its 0.0 not reached)"
            )
        return lines


STUDY = Quickstart()
