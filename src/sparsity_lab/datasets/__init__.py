"""Datasets: synthetic generators, real loaders and the preprocessing every fit sees.

The loaders load on first use (``sparsity_lab.datasets.load_openml`` imports them then): the
OpenML loader imports ``sklearn.datasets`` and the real loaders pandas, which a job on another
dataset, or a verb that fits nothing, should not pay for.
"""

from importlib import import_module

from sparsity_lab.datasets.base import (
    DataError,
    Dataset,
    PreparedData,
    check_test_size,
    prepare,
    split_indices,
    validation_split,
)

_LAZY = {
    "load_openml": "openml",
    "load_bodyfat": "real",
    "load_diabetes": "real",
    "load_hitters": "real",
    "load_permeability_qsar": "real",
    "load_prostate": "real",
    "load_tecator": "real",
    "make_hastie2020": "synthetic",
    "make_sparse_regression": "synthetic",
    "make_synthetic": "synthetic",
    "from_frame": "table",
    "load_table": "table",
}

__all__ = [
    "DataError",
    "Dataset",
    "PreparedData",
    "check_test_size",
    "from_frame",
    "load_bodyfat",
    "load_diabetes",
    "load_hitters",
    "load_openml",
    "load_permeability_qsar",
    "load_prostate",
    "load_table",
    "load_tecator",
    "make_hastie2020",
    "make_sparse_regression",
    "make_synthetic",
    "prepare",
    "split_indices",
    "validation_split",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
