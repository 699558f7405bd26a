"""The dataset catalog: what can be named as ``dataset=<name>``, with shapes, sources, licences.

``sparsity-lab datasets`` prints it. Every config in ``configs/dataset/`` is loaded (offline) to
report its real shape; loaders that need user input (``openml``, ``table``) are listed without one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from sparsity_lab.datasets.base import DataError, Dataset
from sparsity_lab.paths import config_dir as default_config_dir

# src/sparsity_lab/datasets/catalog.py -> the repository root holding configs/
CATALOG_COLUMNS = ("name", "n", "p", "target", "source", "licence")

# Loaders whose data depends on what the user names: listed, not loaded.
_NEEDS_INPUT = {
    "sparsity_lab.datasets.load_openml": (
        "dataset.target_column",
        "OpenML via fetch_openml: dataset.data_id=<id> or dataset.name=<name>, cached",
        "per dataset (OpenML's licence field)",
    ),
    "sparsity_lab.datasets.load_table": (
        "dataset.target",
        "your .csv/.parquet: dataset.path=<file> dataset.target=<column>",
        "yours",
    ),
}


def dataset_configs(config_dir: str | Path | None = None) -> dict[str, DictConfig]:
    """Every ``configs/dataset/<name>.yaml``, by name (sorted).

    Parameters
    ----------
    config_dir : path or None
        The ``configs`` folder; None uses the repository's.
    """
    folder = Path(config_dir if config_dir is not None else default_config_dir()) / "dataset"
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise DataError(f"no dataset configs in {folder}; pass the configs folder (--config-dir)")
    return {f.stem: OmegaConf.load(f) for f in files}


def load_from_config(cfg: DictConfig, seed: int = 0) -> Dataset:
    """Instantiate a dataset config (``test_size`` removed, ``${seed}`` resolved to ``seed``);
    a flat config is called directly (:mod:`sparsity_lab.instantiate`)."""
    from sparsity_lab.instantiate import instantiate

    root = OmegaConf.create({"seed": seed, "dataset": OmegaConf.to_container(cfg)})
    node = OmegaConf.to_container(root.dataset, resolve=True)
    node.pop("test_size", None)
    return instantiate(node)


def dataset_catalog(config_dir: str | Path | None = None, seed: int = 0) -> pd.DataFrame:
    """One row per dataset config.

    Parameters
    ----------
    config_dir : path or None
        The ``configs`` folder; None uses the repository's.
    seed : int
        Seed for configs that interpolate ``${seed}`` (shapes do not depend on it).

    Returns
    -------
    DataFrame with columns name, n, p, target, source, licence
        ``n`` and ``p`` are the loader's shape before the split (nullable integers: missing for
        loaders that need user input).
    """
    rows = []
    for name, cfg in dataset_configs(config_dir).items():
        target = OmegaConf.select(cfg, "_target_", throw_on_missing=False)
        if target in _NEEDS_INPUT:
            target_field, source, licence = _NEEDS_INPUT[target]
            rows.append((name, None, None, target_field, source, licence))
            continue
        try:
            data = load_from_config(cfg, seed=seed)
        except MissingMandatoryValue as exc:
            raise DataError(f"dataset config {name}: {exc}".splitlines()[0]) from None
        rows.append((name, data.n_samples, data.n_features, data.target, data.source, data.licence))
    table = pd.DataFrame(rows, columns=list(CATALOG_COLUMNS))
    return table.astype({"n": "Int64", "p": "Int64"})


def fit_to_terminal(
    shown: pd.DataFrame, width: int | None = None, keep: tuple[str, ...] = ("name", "n", "p")
) -> pd.DataFrame:
    """Shorten the widest text columns (with "...") so each line fits the terminal width.

    Parameters
    ----------
    shown : DataFrame of str
    width : int, optional
        Characters per line; default the terminal's (``shutil.get_terminal_size``, which reads
        ``COLUMNS`` and falls back to 80 off a terminal).
    keep : tuple of str
        Columns never shortened.
    """
    import shutil

    width = width or shutil.get_terminal_size().columns
    if shown.empty:
        return shown
    widths = {c: max(len(c), int(shown[c].str.len().max())) for c in shown.columns}
    while sum(widths.values()) + len(widths) - 1 > width:
        free = {c: w for c, w in widths.items() if c not in keep and w > max(len(c), 12)}
        if not free:
            break
        widest = max(free, key=free.get)
        excess = sum(widths.values()) + len(widths) - 1 - width
        # shrink the widest down to the next widest at most, so wide columns shrink evenly
        runner_up = max([w for c, w in free.items() if c != widest], default=0)
        step = min(excess, max(widths[widest] - runner_up, 1))
        widths[widest] = max(widths[widest] - step, len(widest), 12)
    cut = {
        c: shown[c].map(lambda t, w=w: t if len(t) <= w else t[: w - 3].rstrip() + "...")
        for c, w in widths.items()
    }
    return shown.assign(**cut)


def format_catalog(table: pd.DataFrame, fmt: str = "table") -> str:
    """Render the catalog as an aligned text table, a Markdown table or CSV."""
    if fmt == "csv":
        return table.to_csv(index=False)
    shown = table.astype(object).where(table.notna(), "-").astype(str)
    if fmt == "markdown":
        lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * shown.shape[1]]
        lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
        return "\n".join(lines)
    shown = fit_to_terminal(shown)
    # Left-aligned text reads better than pandas' right-aligned default; numbers stay right.
    width = {c: max(len(c), shown[c].str.len().max()) for c in shown.columns}
    left = {c: f"{{:<{width[c]}}}".format for c in shown.columns if c not in ("n", "p")}
    return shown.to_string(index=False, justify="left", formatters=left)


def cli_main(argv: list[str]) -> int:
    """``sparsity-lab datasets``: print the catalog; exit 0, or 2 with one line on bad input."""
    parser = argparse.ArgumentParser(
        prog="sparsity-lab datasets",
        description="List the datasets that can be named as dataset=<name>.",
    )
    parser.add_argument("--format", choices=("table", "markdown", "csv"), default="table")
    parser.add_argument("--config-dir", default=None, help="the configs folder (default: repo's)")
    args = parser.parse_args(argv)
    try:
        table = dataset_catalog(args.config_dir)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_catalog(table, args.format))
    return 0
