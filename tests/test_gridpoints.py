"""The terminal summary and the report's exact-vs-certified table pick the same rows: the grid
points nearest the same ratios, one row per (dataset, model, variant)."""

from __future__ import annotations

import pandas as pd

from sparsity_lab import report, summary
from sparsity_lab.gridpoints import SUMMARY_RATIOS, nearest_index, nearest_point


def _fits(grid: list[float]) -> pd.DataFrame:
    """One lasso in two variants (model.tol=1e-4,1e-8), 2 seeds, on ``grid``; the looser
    variant finds fewer exact zeros."""
    rows = []
    for variant, fewer in (("tol=0.0001", 2), ("tol=1e-08", 0)):
        for seed in (0, 1):
            for k, ratio in enumerate(grid):
                n_zero = max(0, 10 - 3 * k - fewer) + seed
                rows.append(
                    {
                        "study": "adhoc", "dataset": "diabetes", "model": "lasso",
                        "variant": variant, "alpha": ratio * 40.0, "alpha_ratio": ratio,
                        "seed": seed, "n_features": 10, "n_zero": n_zero,
                        "n_zero_certified": n_zero, "n_zero_boundary": 0, "n_tiny": 0,
                        "status": "ok",
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_nearest_grid_point():
    grid = [1.0, 0.3, 0.05, 0.002]
    assert [nearest_index(grid, r) for r in SUMMARY_RATIOS] == [0, 2, 3, 3]
    assert nearest_point(grid, 0.1) == 0.05
    assert nearest_point(grid, 0.2) == 0.3


def test_two_variants_are_two_rows_in_the_terminal_and_the_report():
    fits = _fits([1.0, 0.3, 0.05, 0.002])
    table, _ = summary.zero_table(fits)
    assert list(table["variant"]) == ["tol=0.0001", "tol=1e-08"]
    shown = report.nearest_ratios(fits)
    assert len(shown) == 2 * 3  # 0.001 and 0.01 share the grid point 0.002
    assert set(shown["variant"]) == {"tol=0.0001", "tol=1e-08"} and set(shown["seeds"]) == {2}
    # the same grid points and the same counts (means over the seeds) in both
    for _, row in shown.iterrows():
        column = summary._ratio_label(row["alpha_ratio"])
        # (two ratios sharing a grid point are two equal columns)
        terminal = table.loc[table["variant"] == row["variant"], [column]].iloc[0, 0]
        assert float(terminal) == row["n_zero"], (row["variant"], column)
    page = report.zeros_html(fits)
    assert page.count("tol=0.0001") == 3 + 1 and page.count("tol=1e-08") == 3 + 1  # + totals


def test_without_variants_the_tables_keep_their_columns():
    fits = _fits([1.0, 0.1, 0.01, 0.001])
    fits = fits[fits["variant"] == "tol=1e-08"].assign(variant="")
    table, _ = summary.zero_table(fits)
    shown = report.nearest_ratios(fits)
    assert "variant" not in table and "variant" not in shown
    assert list(shown["alpha_ratio"]) == list(SUMMARY_RATIOS)
