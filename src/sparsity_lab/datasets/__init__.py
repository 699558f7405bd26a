"""Datasets: synthetic generators, real loaders and the preprocessing every fit sees."""

from sparsity_lab.datasets.base import (
    DataError,
    Dataset,
    PreparedData,
    check_test_size,
    prepare,
    split_indices,
)
from sparsity_lab.datasets.openml import load_openml
from sparsity_lab.datasets.real import (
    load_bodyfat,
    load_diabetes,
    load_hitters,
    load_permeability_qsar,
    load_prostate,
    load_tecator,
)
from sparsity_lab.datasets.synthetic import make_sparse_regression, make_synthetic
from sparsity_lab.datasets.table import from_frame, load_table

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
    "make_sparse_regression",
    "make_synthetic",
    "prepare",
    "split_indices",
]
