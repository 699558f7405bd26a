"""The grid points a table shows: one home for the ratios the summary and the report show, the
grid point nearest a ratio, and the groups a fits table is shown by.

The runner (a study's frozen ``summary`` table), the terminal summary and the report's
exact-vs-certified table all pick rows this way, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: The grid points (alpha / alpha_max) the end-of-run summary and the report show.
SUMMARY_RATIOS: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)


def nearest_index(grid: Sequence[float] | np.ndarray, ratio: float) -> int:
    """Index of the grid point nearest ``ratio`` (the first of two equally near)."""
    return int(np.argmin(np.abs(np.asarray(grid, dtype=np.float64) - ratio)))


def nearest_point(grid: Sequence[float] | np.ndarray, ratio: float) -> float:
    """The grid point nearest ``ratio``."""
    return float(np.asarray(grid, dtype=np.float64)[nearest_index(grid, ratio)])


def fit_groups(fits: pd.DataFrame) -> list[str]:
    """The columns one row of a shown table stands for: (dataset, model, variant), the variant
    only when the table has it (tables written before it existed)."""
    return ["dataset", "model", "variant"] if "variant" in fits.columns else ["dataset", "model"]
