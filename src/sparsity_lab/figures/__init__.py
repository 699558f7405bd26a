"""Paper-style figures: one function per figure, tidy DataFrame -> matplotlib Figure.

Every function draws with the suite's one theme and fixed model colours, markers and line
styles (``style``), on an
Agg-rendered Figure (no display needed), and raises ``NotSupported`` with a one-line reason when
its table cannot support it. ``figures.make.make_figures`` renders every figure of a run into
files (and ``figures.cli`` is the verb): they read runs through the studies registry, a rung
above the studies, which draw their own figures with the functions of this package.
"""

from sparsity_lab.figures._common import NotSupported
from sparsity_lab.figures.coefficients import plot_coef_histogram, plot_coef_paths
from sparsity_lab.figures.penalties import penalty_table, plot_penalties
from sparsity_lab.figures.phase_diagram import plot_phase_diagram
from sparsity_lab.figures.sweeps import (
    plot_error_vs_nonzeros,
    plot_support_recovery,
    plot_zero_fraction,
)
from sparsity_lab.figures.trajectories import plot_trajectories
from sparsity_lab.figures.zero_sets import plot_sgd_zero_sets, plot_zero_kinds

__all__ = [
    "NotSupported",
    "penalty_table",
    "plot_coef_histogram",
    "plot_coef_paths",
    "plot_error_vs_nonzeros",
    "plot_penalties",
    "plot_phase_diagram",
    "plot_sgd_zero_sets",
    "plot_support_recovery",
    "plot_trajectories",
    "plot_zero_fraction",
    "plot_zero_kinds",
]
