"""The one look of every figure: a seaborn theme and one fixed colour per model name.

The theme is applied through ``matplotlib.rc_context`` inside each figure function, so drawing a
figure never changes global matplotlib state.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import matplotlib as mpl
import seaborn as sns

#: Models the suite ships, each with its own colour for every figure and every run. L1-type
#: methods are warm colours, the L2-type ones cool, so the sparsity story reads at a glance.
MODEL_COLORS: dict[str, str] = {
    "lasso": "#d62728",
    "elasticnet": "#ff7f0e",
    "ridge": "#1f77b4",
    "sgd_l2": "#17becf",
    "sgd_prox": "#9467bd",
    "sgd_subgradient": "#8c564b",
    "sgd_truncated": "#e377c2",
    "sgd_cumulative": "#bcbd22",
}
#: Update rules of the 1-D seed example share the colours of their penalty's model.
RULE_COLORS: dict[str, str] = {"l1": MODEL_COLORS["lasso"], "l2": MODEL_COLORS["ridge"]}
#: Unknown names draw from this palette by a stable hash of the name (the same in every run).
_FALLBACK = sns.color_palette("dark", 10).as_hex()
EXACT_ZERO_COLOR = "black"
#: Figure width for one panel, in inches (height follows the aspect ratio).
PANEL_WIDTH = 3.6
PANEL_ASPECT = 0.8


def model_color(name: str) -> str:
    """The colour of a model (or any other named series) in every figure."""
    if name in MODEL_COLORS:
        return MODEL_COLORS[name]
    if name in RULE_COLORS:
        return RULE_COLORS[name]
    return _FALLBACK[zlib.crc32(str(name).encode()) % len(_FALLBACK)]


def ordered_models(names: Iterable[str]) -> list[str]:
    """Known models in the order of ``MODEL_COLORS``, then the others alphabetically."""
    names = set(names)
    known = [m for m in MODEL_COLORS if m in names]
    return known + sorted(names - set(known))


def theme_rc() -> dict:
    """rcParams of the seaborn ``whitegrid`` style at ``paper`` scale, with vector-friendly PDF."""
    rc = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper", font_scale=1.2))
    rc.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "pdf.fonttype": 42,  # embed TrueType so text stays editable in a paper's PDF
            "axes.titleweight": "bold",
            "legend.frameon": False,
        }
    )
    return rc


@contextmanager
def theme() -> Iterator[None]:
    """Draw inside this context to get the suite's look without touching global state."""
    with mpl.rc_context(theme_rc()):
        yield
