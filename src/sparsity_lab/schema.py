"""Every table the suite writes: its file, its columns and their dtypes, and the fit key.

The generic tables (``fits``, ``coefs``, ``summary``, ``notes``) are declared here; each study
declares its own tables (:class:`Table` instances in its ``tables``) in its module of
:mod:`sparsity_lab.studies`, and ``studies.all_tables()`` lists both (this module imports
nothing of the suite). results, compare, runner, figures and the studies read column lists,
file names and which columns are counts from here.

Column dtypes: ``str``, ``float`` (float64), ``bool``, ``int`` (int64) and ``count`` (an
integer-valued number, stored as float64 when it can be NaN, e.g. a certificate the penalty
does not support); ``int`` and ``count`` columns compare exactly in ``compare --check``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Dtypes a column may declare.
DTYPES: tuple[str, ...] = ("str", "float", "bool", "int", "count")
#: Dtypes whose values are integers: ``compare --check`` compares them exactly.
INTEGER_DTYPES: frozenset[str] = frozenset({"int", "count"})


@dataclass(frozen=True)
class Table:
    """A table the suite writes: ``<name>.parquet`` in every job dir and in the run dir.

    Parameters
    ----------
    name : str
        The key in a job's table dict; the file is ``<name>.parquet``.
    description : str
        What one row is.
    columns : tuple of (name, dtype)
        Every column in order, dtype one of :data:`DTYPES`; empty for a table whose columns
        are not declared.
    """

    name: str
    description: str
    columns: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        bad = [f"{c}: {d}" for c, d in self.columns if d not in DTYPES]
        assert not bad, f"table {self.name}: unknown dtypes {bad}; allowed {DTYPES}"

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c for c, _ in self.columns)

    @property
    def dtypes(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def integer_columns(self) -> frozenset[str]:
        """Columns whose values are integers (``int`` and ``count``)."""
        return frozenset(c for c, d in self.columns if d in INTEGER_DTYPES)


def columns(spec: str) -> tuple[tuple[str, str], ...]:
    """``"a:str b:float"`` -> ``(("a", "str"), ("b", "float"))``."""
    return tuple(tuple(item.split(":")) for item in spec.split())  # type: ignore[misc]


#: Identity of a fit (``model`` = config-group choice, ``variant`` = its non-default
#: parameters): unique in every fits and summary table.
FIT_KEY: tuple[str, ...] = ("dataset", "model", "variant", "alpha", "k", "gamma", "seed")
#: The fit key across runs: the relative grid point instead of the alpha it gave (alpha_max
#: depends on the data), what ``compare`` aligns on by default.
COMPARE_KEY: tuple[str, ...] = ("dataset", "model", "variant", "alpha_ratio", "seed")
#: The path point's other parameters (issue 22): keys of the fit and, where a table holds a
#: value of one, of ``compare``'s default alignment too (inserted before ``seed``).
PATH_KEYS: tuple[str, ...] = ("k", "gamma")
#: Columns that legitimately differ between two runs of the same config (in any table).
TIMING_COLUMNS: tuple[str, ...] = ("fit_seconds", "seconds")
#: Values of ``fits.status``.
STATUSES: tuple[str, ...] = ("ok", "not_converged", "diverged", "failed")
#: Values of ``path_param``: what a job's path walks (the point of a row: its ``alpha``, its
#: ``k``, or its ``alpha`` and ``gamma``; the others are NaN).
PATH_PARAMS: tuple[str, ...] = ("alpha", "k", "alpha,gamma")
#: Columns filled in when a table written before they existed is read: (column, value,
#: the column it follows). Every fit before issue 22 walked the alpha grid.
LEGACY_DEFAULTS: tuple[tuple[str, object, str], ...] = (
    ("variant", "", "model"),
    ("path_param", "alpha", "alpha_ratio"),
    ("k", float("nan"), "path_param"),
    ("gamma", float("nan"), "k"),
    ("optimality", "", "status"),
)

#: A path point: ``alpha`` (NaN on a path over k), ``k`` (the size of a path over k, else
#: NaN), ``gamma`` (the relaxed lasso's relaxation, else NaN), and which of them the job walks.
_POINT = "path_param:str k:count gamma:float"
_IDENT = (
    f"study:str dataset:str model:str variant:str alpha:float alpha_ratio:float {_POINT} seed:int"
)

FITS = Table(
    "fits",
    "one row per fit: one (dataset, model, variant, alpha, seed)",
    columns(
        f"{_IDENT} n_samples:count n_features:count n_zero:count n_zero_certified:count "
        "n_zero_boundary:count n_zero_optimum:count n_false_zero:count n_missed_zero:count "
        "zero_set_is_optimum:bool n_nonzero:count n_tiny:count zero_tol:float "
        "support_precision:float "
        "support_recall:float support_f1:float train_mse:float test_mse:float test_r2:float "
        "objective:float duality_gap:float kkt_violation:float stationarity:float "
        "objective_convex:bool n_iter:count converged:bool "
        "fit_seconds:float status:str optimality:str message:str"
    ),
)
COEFS = Table(
    "coefs",
    "long form: one row per coefficient of every fit (standardised-feature scale)",
    columns(f"{_IDENT} feature:str coef:float true_coef:float"),
)
SUMMARY = Table(
    "summary",
    "the fits rows at the config's summary_ratios (the frozen summaries of experiments/)",
    columns(
        f"study:str dataset:str model:str variant:str alpha_ratio:float {_POINT} seed:int "
        "n_features:count n_zero:count n_zero_certified:count n_zero_boundary:count "
        "n_zero_optimum:count n_false_zero:count n_missed_zero:count n_nonzero:count "
        "duality_gap:float status:str"
    ),
)
NOTES = Table(
    "notes",
    "one row per note on what a loader or the preprocessing did to a job's data",
    columns("study:str dataset:str note:str"),
)
SELECTED = Table(
    "selected",
    "one row per (dataset, model, variant, seed, rule): the model a validation set or K-fold "
    "CV selects along the job's path (config select=validation|cv)",
    columns(
        "study:str dataset:str model:str variant:str seed:int select:str rule:str "
        "n_folds:count n_fit:count n_validation:count alpha:float alpha_ratio:float k:count "
        "gamma:float n_candidates:count n_features:count n_zero:count n_nonzero:count "
        "selection_error:float selection_se:float test_mse:float risk:float "
        "relative_risk:float relative_test_error:float pve:float support_precision:float "
        "support_recall:float support_f1:float status:str"
    ),
)
#: The tables of the generic path job (``summary`` only with ``summary_ratios``, ``selected``
#: only with ``select``).
CORE_TABLES: tuple[Table, ...] = (FITS, COEFS, SUMMARY, NOTES, SELECTED)
RUN_FILE = "run.json"
JOB_FILE = "job.json"
JOBS_DIR = "jobs"
#: A run's figures (``<run>/figures``), written by `run` with its report and by `figures`.
FIGURES_DIR = "figures"
