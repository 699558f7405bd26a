"""The end-of-run summary: what the terminal prints after a run and the report page repeats."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sparsity_lab.gridpoints import SUMMARY_RATIOS, fit_groups, nearest_point


def _ratio_label(ratio: float) -> str:
    return f"{ratio:.3g}"


def zero_table(
    fits: pd.DataFrame, ratios: Sequence[float] = SUMMARY_RATIOS
) -> tuple[pd.DataFrame, str]:
    """Exact zeros per (dataset, model, variant) at the grid points nearest ``ratios``.

    Returns
    -------
    table : DataFrame
        ``dataset``, ``model``, ``p`` and one column per grid point, headed by the grid point's
        exact alpha / alpha_max when every row has the same one (else by the target ratio, with
        ``~``); one seed's counts, or the mean over seeds (one decimal).
    title : str
        What the table shows: which seed or how many, and the ratios.
    """
    fits = on_alpha_grid(fits)
    seeds = sorted(fits["seed"].dropna().unique()) if "seed" in fits.columns else []
    nearest: dict[float, set[float]] = {r: set() for r in ratios}
    rows = []
    by = fit_groups(fits)
    for key, g in fits.groupby(by, sort=False):
        row = dict(zip(by, key, strict=True)) | {"p": int(g["n_features"].iloc[0])}
        grid = g["alpha_ratio"].to_numpy()
        for r in ratios:
            at = nearest_point(grid, r)
            nearest[r].add(float(at))
            mean = g.loc[g["alpha_ratio"] == at, "n_zero"].mean()
            row[r] = mean
        rows.append(row)
    table = pd.DataFrame(rows)
    if "variant" in table and not table["variant"].astype(bool).any():
        table = table.drop(columns="variant")  # every model at its config's defaults
    names = {}
    for r in ratios:
        exact = nearest[r]
        names[r] = _ratio_label(next(iter(exact))) if len(exact) == 1 else f"~{r:g}"
    several = len(seeds) > 1
    for r in ratios:
        table[r] = table[r].map(lambda v: f"{v:.1f}" if several else f"{int(v)}")
    table = table.rename(columns=names)
    which = f"mean over {len(seeds)} seeds" if several else f"seed {int(seeds[0])}" if seeds else ""
    mixed = any(len(v) > 1 for v in nearest.values())
    where = "at the grid points nearest" if mixed else "at the grid points"
    title = f"exact zeros (coef == 0.0) of p coefficients, {which}, {where} alpha / alpha_max ="
    return table, title


def on_alpha_grid(fits: pd.DataFrame) -> pd.DataFrame:
    """The rows on the alpha grid (a path over k has none: its ``alpha_ratio`` is NaN)."""
    return fits[fits["alpha_ratio"].notna()] if "alpha_ratio" in fits.columns else fits


#: The sizes (number of nonzeros) the summary shows for paths over k.
SUMMARY_SIZES: tuple[int, ...] = (1, 2, 5, 10, 20)


def size_table(
    fits: pd.DataFrame, sizes: Sequence[int] = SUMMARY_SIZES
) -> tuple[pd.DataFrame, str]:
    """Paths over k (best subset, forward stepwise): per (dataset, model, variant) how many sizes
    are proven optimal, and the test MSE at a few sizes k (one seed, or the mean over seeds).
    An empty table when no fit is on a path over k."""
    if "k" not in fits.columns:
        return pd.DataFrame(), ""
    sized = fits[fits["k"].notna()]
    if sized.empty:
        return pd.DataFrame(), ""
    seeds = sorted(sized["seed"].dropna().unique())
    shown = [k for k in sizes if k <= sized["k"].max()]
    rows = []
    by = fit_groups(sized)
    for key, g in sized.groupby(by, sort=False):
        row = dict(zip(by, key, strict=True)) | {"p": int(g["n_features"].iloc[0])}
        row["proven"] = f"{int((g['optimality'] == 'proven').sum())}/{len(g)}"
        for k in shown:
            mse = g.loc[g["k"] == k, "test_mse"].mean()
            row[f"k={k}"] = "-" if pd.isna(mse) else f"{mse:.4g}"
        rows.append(row)
    table = pd.DataFrame(rows)
    if "variant" in table and not table["variant"].astype(bool).any():
        table = table.drop(columns="variant")
    which = f"mean over {len(seeds)} seeds" if len(seeds) > 1 else f"seed {int(seeds[0])}"
    title = (
        f"paths over k (no alpha): sizes proven optimal (rows), and test MSE at k nonzeros, "
        f"{which}:"
    )
    return table, title


def summary_text(tables: dict[str, pd.DataFrame]) -> str:
    """Exact zeros per dataset and model at a few grid points, the fits that are not ok, then
    what the run's study adds (its ``summary``)."""
    from sparsity_lab import studies

    lines: list[str] = []
    fits = tables.get("fits")
    if fits is not None and len(fits):
        if len(on_alpha_grid(fits)):
            table, title = zero_table(fits)
            lines += ["", title, table.to_string(index=False)]
        sizes, title = size_table(fits)
        if len(sizes):
            lines += ["", title, sizes.to_string(index=False)]
        bad = fits[fits["status"] != "ok"]
        if len(bad):
            counts = bad.groupby("status").size().to_dict()
            lines.append("fits not ok: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    lines += selected_lines(tables.get("selected"), fits)
    for study in studies.all_studies():
        if study.owns(tables):
            lines += study.summary(tables)
    lines += note_lines(tables.get("notes"))
    if not any(len(t) for t in tables.values()):
        lines.append("no rows were collected")
    return "\n".join(lines)


def note_lines(notes: pd.DataFrame | None, max_lines: int = 20) -> list[str]:
    """One line per distinct data note (what the loader and preprocessing did), with its
    dataset's name."""
    if notes is None or notes.empty:
        return []
    lines = []
    for dataset, note in notes[["dataset", "note"]].drop_duplicates().itertuples(index=False):
        named = str(note).startswith(f"{dataset}:")  # loaders often name their dataset already
        lines.append(f"  {note}" if named else f"  {dataset}: {note}")
    more = len(lines) - max_lines
    return ["data notes:", *lines[:max_lines], *([f"  ... {more} more"] if more > 0 else [])]


def selected_table(selected: pd.DataFrame, fits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (dataset, model, variant, rule): the selected model's alpha / alpha_max (or k,
    gamma), its exact zeros next to the grid's fewest and most, its selection error and test
    error (the mean over seeds when there are several)."""
    keys = ["dataset", "model", "variant", "select", "rule"]
    values = ["alpha_ratio", "k", "gamma", "n_features", "n_zero", "selection_error",
              "test_mse", "relative_test_error"]  # fmt: skip
    table = selected.groupby(keys, sort=False)[values].mean().reset_index()
    if fits is not None and len(fits) and {"dataset", "model", "n_zero"} <= set(fits.columns):
        grid = fits.groupby(["dataset", "model", "variant"], sort=False)["n_zero"]
        span = grid.min().astype(int).astype(str) + ".." + grid.max().astype(int).astype(str)
        table = table.join(span.rename("grid_n_zero"), on=["dataset", "model", "variant"])
    table = table.rename(columns={"n_features": "p", "n_zero": "selected_n_zero"})
    table = table.dropna(axis=1, how="all")
    if not table["variant"].astype(bool).any():
        table = table.drop(columns="variant")
    return table


def selected_lines(selected: pd.DataFrame | None, fits: pd.DataFrame | None) -> list[str]:
    """The end-of-run lines of the ``selected`` table (runs with ``select=...``)."""
    if selected is None or selected.empty:
        return []
    kinds = []
    for kind, part in selected.groupby("select", sort=False):
        if kind == "cv":
            kinds.append(f"{int(part['n_folds'].max())}-fold cross-validation")
        else:
            kinds.append(f"a validation set of {int(part['n_validation'].max())} rows")
    seeds = selected["seed"].nunique()
    which = f"mean over {seeds} seeds" if seeds > 1 else f"seed {int(selected['seed'].iloc[0])}"
    table = selected_table(selected, fits)
    return [
        "",
        f"selected models ({', '.join(kinds)}; {which}): exact zeros at the selected model "
        "(selected_n_zero) next to the grid's fewest..most (grid_n_zero):",
        table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
    ]
