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
  (``drop_invisible_minor_ticks``).
"""

from __future__ import annotations

from typing import IO

from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.ticker import NullLocator
from matplotlib.transforms import Bbox

from sparsity_lab.figures.style import theme

#: Whitespace kept around a legend or text beyond the figure's box, in inches (savefig's
#: pad_inches).
OUTSIDE_PAD = 0.1


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


def outer_box(fig: Figure) -> Bbox:
    """The box to save, in inches: the figure's own box joined with the boxes of its figure-level
    legends and texts (a suptitle wider than a narrow figure), each padded by ``OUTSIDE_PAD``;
    what ``bbox_inches="tight"`` finds by drawing, for figures whose panels fill their box
    (constrained layout) and whose only artists beyond it are figure-level ones."""
    renderer = fig.canvas.get_renderer()
    inches = fig.dpi_scale_trans.inverted()
    boxes = [Bbox.from_bounds(0, 0, *fig.get_size_inches())]
    for artist in fig.get_children():
        if not isinstance(artist, Legend | Text) or not artist.get_visible():
            continue
        if isinstance(artist, Text) and not artist.get_text():
            continue  # an empty suptitle or label has no extent
        box = artist.get_window_extent(renderer).transformed(inches)
        boxes.append(box.padded(OUTSIDE_PAD))
    return Bbox.union(boxes)


def save_figure(fig: Figure, target: str | IO[bytes], fmt: str, dpi: float | None = None):
    """Save ``fig`` in the suite's theme: ``fmt`` (png, pdf, svg, ...) at ``dpi`` (default the
    theme's), the box from ``outer_box``, without its invisible minor ticks."""
    with theme():
        drop_invisible_minor_ticks(fig)
        fig.savefig(target, format=fmt, dpi=dpi, bbox_inches=outer_box(fig))
