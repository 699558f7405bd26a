"""Saving figures: the box computed without drawing keeps everything the tight box keeps, and
dropping the minor ticks the theme hides changes no pixel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from sparsity_lab.figures import make as make_module
from sparsity_lab.figures.save import (
    OUTSIDE_PAD,
    drop_invisible_minor_ticks,
    fix_layout,
    grid_layout,
    outer_box,
    save_figure,
    titles_clear_of_offset_text,
)
from sparsity_lab.figures.style import theme
from test_figures import make_tables


def generic_figures():
    fits, coefs = make_tables()
    plan = make_module._figures(fits, coefs, {}, {"fits": "", "coefs": ""})
    return [(stem, draw) for stem, draw, _ in plan if draw is not None]


#: one of each layout: panels (suptitle wider than the figure), a grid of models, paths with a
#: long legend, the histogram's split axes with its own legend handles
BOX_CASES = (
    "test_error_vs_nonzero_count",
    "exact_certified_tiny_zeros_vs_alpha",
    "coef_paths_synthetic",
    "coef_log10abs_histogram_diabetes",
)


@pytest.mark.parametrize(("stem", "draw"), [f for f in generic_figures() if f[0] in BOX_CASES])
def test_the_box_saved_holds_all_the_tight_box_holds(stem, draw):
    fig = draw()
    with theme():
        fig.canvas.draw()  # constrained layout places the panels, as savefig does
        tight = fig.get_tightbbox(fig.canvas.get_renderer())  # inches, drawn
        box = outer_box(fig)
    eps = 1e-6
    assert box.x0 <= tight.x0 + eps and box.y0 <= tight.y0 + eps, stem
    assert box.x1 >= tight.x1 - eps and box.y1 >= tight.y1 - eps, stem
    # and no more than the legends' pad and the layout's own margin beyond it
    slack = OUTSIDE_PAD + 0.1
    assert tight.x0 - box.x0 <= slack and box.x1 - tight.x1 <= slack, stem
    assert tight.y0 - box.y0 <= slack and box.y1 - tight.y1 <= slack, stem


def _png(fig, drop: bool) -> np.ndarray:
    buffer = io.BytesIO()
    with theme():
        if drop:
            assert drop_invisible_minor_ticks(fig) > 0  # the log axes lose theirs
        fig.savefig(buffer, format="png", dpi=60, bbox_inches=outer_box(fig))
    buffer.seek(0)
    return imread(buffer)


@pytest.mark.parametrize(
    "stem",
    [
        "exact_zero_fraction_vs_alpha",
        pytest.param("coef_log10abs_histogram_synthetic", marks=pytest.mark.slow),  # 3 s
    ],
)
def test_dropping_the_hidden_minor_ticks_changes_no_pixel(stem):
    draw = dict(generic_figures())[stem]
    np.testing.assert_array_equal(_png(draw(), drop=False), _png(draw(), drop=True))


def test_minor_ticks_that_carry_labels_or_marks_are_kept():
    with theme():
        fig = Figure()
        FigureCanvasAgg(fig)
        narrow, wide, marked = fig.subplots(1, 3)
        narrow.set_xscale("log")
        narrow.plot([2.0, 5.0], [1, 2])  # under a decade: the minor ticks are labelled
        wide.set_xscale("log")
        wide.plot([1e-3, 1.0], [1, 2])  # three decades: unlabelled, invisible in the theme
        marked.set_xscale("log")
        marked.plot([1e-3, 1.0], [1, 2])
        marked.tick_params(axis="x", which="minor", bottom=True)  # drawn as marks
        assert drop_invisible_minor_ticks(fig) == 1
    assert narrow.xaxis.get_minor_locator().__class__.__name__ == "LogLocator"
    assert wide.xaxis.get_minor_locator().__class__.__name__ == "NullLocator"
    assert marked.xaxis.get_minor_locator().__class__.__name__ == "LogLocator"


def test_save_figure_writes_the_format_asked(tmp_path):
    fig = dict(generic_figures())["exact_zero_fraction_vs_alpha"]()
    save_figure(fig, tmp_path / "f.pdf", "pdf")
    save_figure(fig, tmp_path / "f.png", "png", dpi=80)
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
    width_in = outer_box(fig).width
    assert imread(tmp_path / "f.png").shape[1] == pytest.approx(width_in * 80, abs=2)


def _colour_bar_figure():
    from sparsity_lab.figures._common import new_figure

    with theme():
        fig, axes = new_figure(2, sharey=True)
        for ax in axes:
            mesh = ax.pcolormesh(np.arange(12.0).reshape(3, 4))
            ax.set_title("a panel")
            ax.set_xlabel("x (units)")
        axes[0].set_ylabel("y (units)")
        fig.colorbar(mesh, ax=axes, label="success rate")
        fig.suptitle("a figure with a colour bar")
    return fig


def test_a_layout_fixed_once_draws_the_pixels_of_savefigs_own_layout():
    # a colour bar (the phase diagram's): the constrained engine, run once and fixed
    draw = _colour_bar_figure
    images = []
    for fixed in (False, True):
        fig = draw()
        buffer = io.BytesIO()
        with theme():
            fig.set_dpi(60)
            if fixed:
                fix_layout(fig)
                assert fig.get_layout_engine() is None  # savefig draws once
            fig.savefig(buffer, format="png", dpi=60, bbox_inches=outer_box(fig))
        buffer.seek(0)
        images.append(imread(buffer))
    np.testing.assert_array_equal(*images)


@pytest.mark.parametrize("stem", ["coef_paths_synthetic", "coef_log10abs_histogram_diabetes"])
def test_fixed_titles_sit_where_matplotlib_places_them(stem, monkeypatch):
    """The theme's fixed title position draws the pixels of matplotlib's own placement (which
    measures the tick labels): the figure drawn with ``axes.titley`` unset is the reference."""
    from sparsity_lab.figures import style

    draw = dict(generic_figures())[stem]
    fixed = draw()
    theme_rc = style.theme_rc
    monkeypatch.setattr(style, "theme_rc", lambda: {**theme_rc(), "axes.titley": None})
    placed = draw()
    assert placed.axes[0]._autotitlepos and not fixed.axes[0]._autotitlepos  # the two cases
    monkeypatch.undo()
    pngs = []
    for fig in (fixed, placed):
        buffer = io.BytesIO()
        save_figure(fig, buffer, "png", dpi=60)
        buffer.seek(0)
        pngs.append(imread(buffer, format="png"))
    assert pngs[0].shape == pngs[1].shape and np.array_equal(pngs[0], pngs[1]), stem


def test_a_title_stays_clear_of_the_y_offset_text():
    with theme():
        fig = Figure(figsize=(3, 2.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.plot([0, 1], [1.0e7, 2.5e7])
        ax.set_title("a title as wide as the panel itself, or wider")
    assert titles_clear_of_offset_text(fig) == 1
    save_figure(fig, io.BytesIO(), "png", dpi=80)
    renderer = fig.canvas.get_renderer()
    offset = ax.yaxis.offsetText
    assert offset.get_text()  # the case this test is about: "1e7" above the y axis
    title, mark = ax.title.get_window_extent(renderer), offset.get_window_extent(renderer)
    assert title.y0 >= mark.y1 - 0.5  # above it, not across it


@pytest.mark.parametrize("limits", [(1e-3, 1.0), (1e-30, 1e6), (0.2, 0.9)])
def test_log_axis_labels_are_the_powers_of_ten_in_plain_text(limits):
    """Each label reads back as its tick's value (mantissa x 10^k), without mathtext."""
    from sparsity_lab.figures._common import log_axis

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xscale("log")
    log_axis(ax.xaxis)
    ax.set_xlim(*limits)
    superscripts = "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
    digits = str.maketrans(superscripts + "\u00d7", "-0123456789*")
    shown = 0
    for locator, formatter in (
        (ax.xaxis.get_major_locator(), ax.xaxis.get_major_formatter()),
        (ax.xaxis.get_minor_locator(), ax.xaxis.get_minor_formatter()),
    ):
        ticks = [t for t in locator() if limits[0] <= t <= limits[1]]
        for tick, label in zip(ticks, formatter.format_ticks(ticks), strict=True):
            assert "$" not in label  # no mathtext to parse
            if not label:
                continue  # a minor tick matplotlib leaves unlabelled
            mantissa, _, power = label.translate(digits).rpartition("*")
            assert power.startswith("10")
            assert float(mantissa or 1) * 10.0 ** int(power[2:]) == pytest.approx(tick)
            shown += 1
    assert shown >= 2


def _boxes(fig):
    """(panel boxes, decoration boxes) in inches, after the layout."""
    renderer = fig.canvas.get_renderer()
    inches = fig.dpi_scale_trans.inverted()
    panels = [ax.get_window_extent(renderer).transformed(inches) for ax in fig.axes]
    tight = [ax.get_tightbbox(renderer).transformed(inches) for ax in fig.axes]
    return panels, tight


@pytest.mark.parametrize("stem", ["exact_certified_tiny_zeros_vs_alpha", "coef_paths_synthetic",
                                  "test_error_vs_nonzero_count"])  # fmt: skip
def test_grid_layout_keeps_every_decoration_in_the_figure_and_apart(stem):
    """One measurement lays out a grid of panels as the constrained engine would: equal
    panels, every tick label, axis label and title inside the figure and clear of the other
    panels' and of the suptitle, the margins within a pad of what they need."""
    _check_grid_layout(dict(generic_figures())[stem]())


def test_grid_layout_measures_again_where_the_final_size_changes_the_ticks():
    """The penalty figure's y axis gets ticks -3..3 at the first guess and -2.5..2.5 (wider
    labels) at its final height: the layout measures the new labels, which stay inside."""
    from sparsity_lab.figures.penalties import penalty_table, plot_penalties

    _check_grid_layout(plot_penalties(penalty_table()), suptitle=False)


def _check_grid_layout(fig, suptitle: bool = True):
    with theme():
        fig.set_dpi(100)
        engine = fig.get_layout_engine()
        assert grid_layout(fig, engine.get())
        fig.set_layout_engine(None)
        panels, tight = _boxes(fig)
        width, height = fig.get_size_inches()
        sizes = {(round(p.width, 6), round(p.height, 6)) for p in panels}
        assert len(sizes) == 1  # every panel the same size
        pad = engine.get()["w_pad"]
        for box in tight:
            assert box.x0 >= pad - 1e-6 and box.y0 >= pad - 1e-6
            assert box.x1 <= width - pad + 1e-6 and box.y1 <= height + 1e-6
        # the decorations of a panel do not reach into another panel's decorations
        for i, a in enumerate(tight):
            for b in tight[i + 1 :]:
                overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
                overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
                assert overlap_w <= 1e-6 or overlap_h <= 1e-6
        # tight margins: the decorations reach the pad on the left and at the bottom
        assert min(b.x0 for b in tight) == pytest.approx(pad, abs=0.02)
        assert min(b.y0 for b in tight) == pytest.approx(pad, abs=0.02)
        if not suptitle:
            return
        title = next(t for t in fig.texts if t.get_text() == fig.get_suptitle())
        top = title.get_window_extent(fig.canvas.get_renderer())
        top = top.transformed(fig.dpi_scale_trans.inverted())
        assert all(top.y0 >= b.y1 for b in tight)  # the suptitle above every panel


def test_grid_layout_leaves_a_nested_grid_to_the_engine():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3), layout="constrained")
    FigureCanvasAgg(fig)
    inner = fig.add_gridspec(1, 2)[0].subgridspec(1, 2, width_ratios=[1, 4])
    fig.add_subplot(inner[0])
    fig.add_subplot(inner[1])
    fig.add_subplot(fig.axes[0].get_subplotspec().get_topmost_subplotspec().get_gridspec()[1])
    with theme():
        assert not grid_layout(fig, fig.get_layout_engine().get())


def test_grid_layout_leaves_unequal_panels_to_the_engine():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[2.2, 1.0])  # a comparison's panel and B - A
    axes = [fig.add_subplot(grid[0]), fig.add_subplot(grid[1])]
    before = [ax.get_position().bounds for ax in axes]
    assert not grid_layout(fig, fig.get_layout_engine().get())
    assert [ax.get_position().bounds for ax in axes] == before


def test_grid_layout_leaves_colour_bars_to_the_engine():
    from sparsity_lab.figures._common import new_figure

    with theme():
        fig, (ax,) = new_figure(1)
        mesh = ax.pcolormesh(np.arange(9.0).reshape(3, 3))
        fig.colorbar(mesh, ax=ax, label="success rate")
        assert not grid_layout(fig, fig.get_layout_engine().get())
