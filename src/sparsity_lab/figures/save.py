"""Saving a figure with the work the picture needs and no more.

matplotlib's ``savefig(bbox_inches="tight")`` walks every artist once more to find the box to
keep, and a log axis carries minor ticks that the theme draws neither as marks nor as grid
lines but that every pass of the layout and of the drawing recomputes. Both cost a third of a
figure's drawing time and change no pixel here:

- the box: every figure of the suite fills its own box (constrained layout) except the legends
  that ``legend_outside`` anchors beyond it and a suptitle wider than a narrow figure, so the
  box to keep is the figure's box joined with those, known without drawing (``outer_box``);
- the minor ticks: an axis whose minor ticks draw no tick mark, no grid line and no label
  (``LogFormatter`` labels none on an axis spanning more than a decade) gets no minor locator
  (``drop_invisible_minor_ticks``);
- the titles: matplotlib places an axes title by measuring every tick label of the axes, at
  each layout pass and again when drawing (a fifth of a figure's time), to lift it above a
  top x axis or the y axis's offset text (``1e6``). The suite's axes have no top x axis, so the
  theme puts titles at the top of the axes (``axes.titley``: 1.0, the place matplotlib finds);
  an axes whose y axis shows an offset text gets matplotlib's placement back
  (``titles_clear_of_offset_text``).
"""

from __future__ import annotations

from typing import IO

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import NullLocator, ScalarFormatter
from matplotlib.transforms import Bbox

from sparsity_lab.figures.style import theme

#: Whitespace kept around a legend or text beyond the figure's box, in inches (savefig's
#: pad_inches).
OUTSIDE_PAD = 0.1
#: Height of a line of text (its ascent and descent) in units of its font size.
OFFSET_LINE = 1.3


def drop_invisible_minor_ticks(fig: Figure) -> int:
    """Remove the minor locator of every axis whose minor ticks would draw nothing.

    Returns
    -------
    int
        How many axes lost their minor ticks.
    """
    dropped = 0
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            locator = axis.get_minor_locator()
            if isinstance(locator, NullLocator):
                continue
            tick = axis.get_minor_ticks(1)[0]
            lines = (tick.tick1line, tick.tick2line, tick.gridline)
            if any(line.get_visible() for line in lines):
                continue
            shown = (tick.label1.get_visible(), tick.label2.get_visible())
            if any(shown) and any(axis.get_minor_formatter().format_ticks(locator())):
                continue
            axis.set_minor_locator(NullLocator())
            dropped += 1
    return dropped


def titles_clear_of_offset_text(fig: Figure) -> int:
    """Lift the titles of every axes whose y axis shows an offset text (``1e6``, ``+3e3``, set
    just above the axes' top left corner) above that text, as matplotlib's own placement does
    (which the theme's fixed ``axes.titley`` turns off).

    Returns
    -------
    int
        How many axes had their titles lifted.
    """
    lifted = 0
    for ax in fig.axes:
        formatter = ax.yaxis.get_major_formatter()
        if not (isinstance(formatter, ScalarFormatter) and ax.yaxis.offsetText.get_visible()):
            continue  # only a ScalarFormatter writes an offset text
        # the offset of the axis's ticks, as drawing would find it (without making the ticks)
        formatter.set_locs(ax.yaxis.get_major_locator()())
        if not formatter.get_offset():
            continue
        # the offset text's top, in points above the axes: its pad and one line of its font
        size = ax.yaxis.offsetText.get_fontsize()
        above = ax.yaxis.OFFSETTEXTPAD + OFFSET_LINE * size
        title = ax.title  # set_title resets the font and colour from rc: keep them
        ax.set_title(
            title.get_text(), pad=mpl.rcParams["axes.titlepad"] + above,
            fontproperties=title.get_fontproperties(), color=title.get_color(),
        )  # fmt: skip
        lifted += 1
    return lifted


def outer_box(fig: Figure) -> Bbox:
    """The box to save, in inches: the figure's own box joined with the boxes of its figure-level
    legends and texts (a suptitle wider than a narrow figure), padded by ``OUTSIDE_PAD`` where
    they reach beyond it;
    what ``bbox_inches="tight"`` finds by drawing, for figures whose panels fill their box
    (constrained layout) and whose only artists beyond it are figure-level ones."""
    renderer = fig.canvas.get_renderer()
    inches = fig.dpi_scale_trans.inverted()
    own = Bbox.from_bounds(0, 0, *fig.get_size_inches())
    boxes = [own]
    for artist in fig.get_children():
        if not isinstance(artist, Legend | Text) or not artist.get_visible():
            continue
        if isinstance(artist, Text) and not artist.get_text():
            continue  # an empty suptitle or label has no extent
        boxes.append(artist.get_window_extent(renderer).transformed(inches))
    (x0, y0), (x1, y1) = Bbox.union(boxes).get_points()
    pad = OUTSIDE_PAD  # only on a side where something reaches beyond the figure's box
    return Bbox.from_extents(
        x0 - pad * (x0 < own.x0), y0 - pad * (y0 < own.y0),
        x1 + pad * (x1 > own.x1), y1 + pad * (y1 > own.y1),
    )  # fmt: skip


def save_figure(fig: Figure, target: str | IO[bytes], fmt: str, dpi: float | None = None):
    """Save ``fig`` in the suite's theme: ``fmt`` (png, pdf, svg, ...) at ``dpi`` (default the
    theme's), the box from ``outer_box``, without its invisible minor ticks."""
    with theme():
        drop_invisible_minor_ticks(fig)
        titles_clear_of_offset_text(fig)
        # lay out with the text sizes of the resolution saved (the pixels savefig would give)
        fig.set_dpi(dpi or mpl.rcParams["savefig.dpi"])
        fix_layout(fig)
        # zlib level 1: a third of the PNG's encoding time, files as small on these pictures
        extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
        fig.savefig(target, format=fmt, dpi=dpi, bbox_inches=outer_box(fig), **extra)


def fix_layout(fig: Figure) -> None:
    """Run the figure's layout engine once and keep its result: ``savefig`` then draws once,
    where with an engine it first draws the whole figure without output to lay it out (and a
    second format would lay it out again). A constrained layout of panels on one grid is
    done by ``grid_layout`` (one measurement instead of the engine's two)."""
    engine = fig.get_layout_engine()
    if engine is not None:
        done = isinstance(engine, ConstrainedLayoutEngine) and grid_layout(fig, engine.get())
        if not done:
            engine.execute(fig)  # a placeholder engine (layout already fixed) does nothing
        fig.set_layout_engine(None)  # inside the theme, which enables no engine by default


#: First guess of the margins around a grid of panels, in inches (left, right, bottom, top,
#: between columns, between rows): the panels' tick labels are measured at about their final
#: size, so that the ticks drawn are the ones measured.
FIRST_GUESS = (0.8, 0.2, 0.6, 0.6, 0.7, 0.8)
GRID_KEYS = ("left", "bottom", "right", "top", "wspace", "hspace")


def _suptitle(fig: Figure) -> Text | None:
    """The figure's suptitle artist, if it has one with text (a text of the figure's)."""
    text = fig.get_suptitle()
    return next((t for t in fig.texts if text and t.get_text() == text), None)


def _set_grid(fig: Figure, gs, axes, margins) -> None:
    """Place the grid ``gs`` with (left, right, bottom, top, column gap, row gap) in inches."""
    width, height = fig.get_size_inches()
    left, right, bottom, top, gap_w, gap_h = margins
    nrows, ncols = gs.get_geometry()
    panel_w = (width - left - right - (ncols - 1) * gap_w) / ncols
    panel_h = (height - bottom - top - (nrows - 1) * gap_h) / nrows
    gs.update(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
        wspace=gap_w / panel_w, hspace=gap_h / panel_h,
    )  # fmt: skip
    for ax in axes:
        ax.set_position(ax.get_subplotspec().get_position(fig))


def grid_layout(fig: Figure, pads: dict) -> bool:
    """What the constrained layout does for panels on one grid (no nested grid, no colour bar,
    no supxlabel or supylabel), with one measurement of the panels' decorations instead of
    the engine's two passes (a second one only where the panels' new size changed their
    ticks): every cell the same size, the margins and the gaps between columns and rows the
    largest its panels' ticks, labels and titles need, plus the engine's pads (``w_pad``,
    ``h_pad``, inches); a suptitle at the top as the engine puts it.

    Returns False (nothing changed) for a figure it does not handle.
    """
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_in_layout()]
    specs = [ax.get_subplotspec() for ax in axes]
    if not axes or any(spec is None for spec in specs):
        return False
    gs = specs[0].get_gridspec()
    if type(gs) is not GridSpec or any(spec.get_gridspec() is not gs for spec in specs):
        return False  # a nested grid, or panels on several grids
    if fig.get_supxlabel() or fig.get_supylabel() or tuple(pads.get("rect", ())) != (0, 0, 1, 1):
        return False
    if len(set(gs.get_width_ratios())) > 1 or len(set(gs.get_height_ratios())) > 1:
        return False  # panels of different sizes
    before = gs.get_subplot_params(fig), [ax.get_position(original=True) for ax in axes]
    _set_grid(fig, gs, axes, FIRST_GUESS)
    for _ in range(2):  # a second measurement only where the panels' ticks changed
        ticks = _tick_locations(axes)
        margins = _grid_margins(fig, gs, axes, specs, pads)
        if margins is None:  # decorations larger than the figure: let the engine say so
            params, positions = before
            gs.update(**{k: getattr(params, k) for k in GRID_KEYS})
            for ax, position in zip(axes, positions, strict=True):
                ax.set_position(position)
            return False
        _set_grid(fig, gs, axes, margins)
        if _tick_locations(axes) == ticks:
            break  # the ticks measured are the ones drawn
    return True


def _tick_locations(axes) -> list[tuple]:
    """The major tick locations of every panel's axes (which the panel's size can change)."""
    return [tuple(axis.get_majorticklocs()) for ax in axes for axis in (ax.xaxis, ax.yaxis)]


def _grid_margins(fig: Figure, gs, axes, specs, pads: dict):
    """(left, right, bottom, top, column gap, row gap) in inches that the panels' decorations
    need where they are now, plus the engine's pads; the suptitle placed at the top. None when
    they leave no room for the panels."""
    w_pad, h_pad = pads["w_pad"], pads["h_pad"]
    width, height = fig.get_size_inches()
    renderer = fig.canvas.get_renderer()
    inches = fig.dpi_scale_trans.inverted()
    nrows, ncols = gs.get_geometry()
    need = {"l": np.zeros(ncols), "r": np.zeros(ncols), "b": np.zeros(nrows), "t": np.zeros(nrows)}
    for ax, spec in zip(axes, specs, strict=True):
        box = ax.get_window_extent(renderer).transformed(inches)
        tight = ax.get_tightbbox(renderer, for_layout_only=True).transformed(inches)
        tight = Bbox.union([tight, box])
        first_col, last_col = spec.colspan.start, spec.colspan.stop - 1
        first_row, last_row = spec.rowspan.start, spec.rowspan.stop - 1
        need["l"][first_col] = max(need["l"][first_col], box.x0 - tight.x0)
        need["r"][last_col] = max(need["r"][last_col], tight.x1 - box.x1)
        need["t"][first_row] = max(need["t"][first_row], tight.y1 - box.y1)
        need["b"][last_row] = max(need["b"][last_row], box.y0 - tight.y0)
    top = need["t"][0] + h_pad
    title = _suptitle(fig)
    if title is not None and title.get_in_layout():
        title.set_y(1 - h_pad / height)  # where the engine puts it, aligned at its top
        title.set_verticalalignment("top")
        top += title.get_window_extent(renderer).transformed(inches).height + 2 * h_pad
    gap_w = max((need["r"][j] + need["l"][j + 1] for j in range(ncols - 1)), default=0.0)
    gap_h = max((need["b"][i] + need["t"][i + 1] for i in range(nrows - 1)), default=0.0)
    margins = (
        need["l"][0] + w_pad, need["r"][-1] + w_pad, need["b"][-1] + h_pad, top,
        gap_w + 2 * w_pad, gap_h + 2 * h_pad,
    )  # fmt: skip
    room_w = width - margins[0] - margins[1] - (ncols - 1) * margins[4]
    room_h = height - margins[2] - margins[3] - (nrows - 1) * margins[5]
    return margins if min(room_w, room_h) > 0 else None
