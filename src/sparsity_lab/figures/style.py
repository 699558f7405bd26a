"""The one look of every figure: a seaborn theme and one fixed colour, marker and line style
per model name (so lines stay apart in greyscale), and a palette for coefficient paths.

The theme is applied through ``matplotlib.rc_context`` inside each figure function, so drawing a
figure never changes global matplotlib state.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import seaborn as sns

#: Models the suite ships, each with its own colour for every figure and every run. L1-type
#: methods are warm colours, the L2-type ones cool, so the sparsity story reads at a glance;
#: the lightness differs between neighbours (Okabe-Ito based), so they stay apart in greyscale.
MODEL_COLORS: dict[str, str] = {
    "lasso": "#c0392b",
    "elasticnet": "#e69f00",
    "ridge": "#0072b2",
    "sgd_l2": "#56b4e9",
    "sgd_prox": "#7b3294",
    "sgd_subgradient": "#3b2a1a",
    "sgd_truncated": "#cc79a7",
    "sgd_cumulative": "#009e73",
    "sgd_clip": "#8c6d31",
    "sgd_rda": "#f0e442",
    "sgd_ftrl": "#d55e00",
    # zeros by design (issue 22): L0 in greens and greys, the lasso's relatives near its red
    "best_subset": "#1b7837",
    "forward_stepwise": "#7fbf7b",
    "relaxed_lasso": "#67001f",
    "adaptive_lasso": "#f4a582",
    "mcp": "#882255",
    "scad": "#999933",
}
#: Marker and line style per model: the model is readable without colour (print, greyscale).
MODEL_MARKERS: dict[str, tuple[str, str]] = {
    "lasso": ("o", "-"),
    "elasticnet": ("s", "--"),
    "ridge": ("^", ":"),
    "sgd_l2": ("v", ":"),
    "sgd_prox": ("D", "-."),
    "sgd_subgradient": ("x", (0, (5, 1.5, 1, 1.5, 1, 1.5))),
    "sgd_truncated": ("P", (0, (1, 1))),
    "sgd_cumulative": ("*", (0, (6, 2))),
    "sgd_clip": ("X", (0, (3, 1, 1, 1))),
    "sgd_rda": ("h", (0, (8, 2, 2, 2))),
    "sgd_ftrl": ("<", (0, (2, 2))),
    "best_subset": ("d", "-"),
    "forward_stepwise": (">", "--"),
    "relaxed_lasso": ("p", "-."),
    "adaptive_lasso": ("H", (0, (4, 1, 1, 1))),
    "mcp": ("8", (0, (4, 1, 2, 1))),
    "scad": ("+", (0, (3, 1))),
}
_FALLBACK_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_FALLBACK_LINES = ("-", "--", "-.", ":")
#: Coefficient paths: one colour per feature (tab10) and one of four line styles (the pair is
#: unique for 20 features), so neighbouring features differ without colour too.
FEATURE_COLORS = sns.color_palette("tab10", 10).as_hex()
FEATURE_LINESTYLES = ("-", "--", "-.", ":")
#: Update rules of the 1-D seed example share the colours of their penalty's model.
RULE_COLORS: dict[str, str] = {
    "l1": MODEL_COLORS["lasso"],
    "l2": MODEL_COLORS["ridge"],
    "l2_factored": MODEL_COLORS["sgd_l2"],
}
#: Unknown names draw from this palette by a stable hash of the name (the same in every run).
_FALLBACK = sns.color_palette("dark", 10).as_hex()
EXACT_ZERO_COLOR = "black"
#: Figure width for one panel, in inches (height follows the aspect ratio).
PANEL_WIDTH = 3.6
PANEL_ASPECT = 0.8


#: ``relaxed_lasso [gamma=0.5]``: a model's line at one value of its path's gamma.
_GAMMA_LABEL = re.compile(r"(.+) \[gamma=([0-9.eE+-]+)\]")


def _gamma_of(name: str) -> tuple[str, float] | None:
    """(model, gamma) of a gamma label of a known model, else None."""
    match = _GAMMA_LABEL.fullmatch(str(name))
    if match is None or match.group(1) not in MODEL_COLORS:
        return None
    try:
        return match.group(1), min(max(float(match.group(2)), 0.0), 1.0)
    except ValueError:
        return None


def model_color(name: str) -> str:
    """The colour of a model (or any other named series) in every figure; a model's gamma
    lines share its colour, lighter as gamma goes to 0."""
    gamma = _gamma_of(name)
    if gamma is not None:
        base = np.array(mpl.colors.to_rgb(MODEL_COLORS[gamma[0]]))
        return mpl.colors.to_hex(base + 0.5 * (1.0 - gamma[1]) * (1.0 - base))
    if name in MODEL_COLORS:
        return MODEL_COLORS[name]
    if name in RULE_COLORS:
        return RULE_COLORS[name]
    return _FALLBACK[zlib.crc32(str(name).encode()) % len(_FALLBACK)]


def model_style(name: str) -> dict:
    """Keyword arguments of ``Axes.plot`` for a model: colour, marker and line style."""
    gamma = _gamma_of(name)
    if gamma is not None:  # the model's marker, a line style per gamma
        marker = MODEL_MARKERS.get(gamma[0], ("o", "-"))[0]
        ls = _FALLBACK_LINES[round(4 * gamma[1]) % len(_FALLBACK_LINES)]
    elif name in MODEL_MARKERS:
        marker, ls = MODEL_MARKERS[name]
    else:
        h = zlib.crc32(str(name).encode())
        marker = _FALLBACK_MARKERS[h % len(_FALLBACK_MARKERS)]
        ls = _FALLBACK_LINES[(h // 7) % len(_FALLBACK_LINES)]
    return {"color": model_color(name), "marker": marker, "ls": ls}


def feature_style(index: int) -> dict:
    """Colour and line style of the ``index``-th feature of a coefficient-path figure."""
    n = len(FEATURE_COLORS)
    return {
        "color": FEATURE_COLORS[index % n],
        "ls": FEATURE_LINESTYLES[index % len(FEATURE_LINESTYLES)],
    }


def ordered_models(names: Iterable[str]) -> list[str]:
    """Known models in the order of ``MODEL_COLORS`` (a model's gamma lines after it, gamma
    up), then the others alphabetically."""
    names = set(names)
    rank = {m: i for i, m in enumerate(MODEL_COLORS)}

    def key(name: str) -> tuple[float, float]:
        gamma = _gamma_of(name)  # a model's gamma lines follow it, gamma up
        return (rank[gamma[0]], gamma[1]) if gamma else (rank[name], -1.0)

    known = sorted((m for m in names if m in rank or _gamma_of(m)), key=key)
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
            # titles at the top of the axes, where matplotlib's placement (which measures
            # every tick label) puts them when no top x axis or offset text is in the way
            # (figures.save.titles_clear_of_offset_text handles an offset text)
            "axes.titley": 1.0,
            "legend.frameon": False,
        }
    )
    return rc


@contextmanager
def theme() -> Iterator[None]:
    """Draw inside this context to get the suite's look without touching global state."""
    with mpl.rc_context(theme_rc()):
        yield
