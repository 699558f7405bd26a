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
from matplotlib.figure import Figure
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
        fig.savefig(target, format=fmt, dpi=dpi, bbox_inches=outer_box(fig))


def fix_layout(fig: Figure) -> None:
    """Run the figure's layout engine once and keep its result: ``savefig`` then draws once,
    where with an engine it first draws the whole figure without output to lay it out (and a
    second format would lay it out again)."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # a placeholder engine (layout already fixed) does nothing
        fig.set_layout_engine(None)  # inside the theme, which enables no engine by default
