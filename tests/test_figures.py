"""The book's figure style (grader/site/figures.py): what it records in every figure.

tests/test_browser.py trusts these records to decide whether a figure's text is readable on
a phone; here the records are checked against figures whose answer is known.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from grader.site import figures  # noqa: E402


def _figure(**kw) -> Figure:
    fig = Figure(figsize=(4, 3), **kw)
    return fig


def test_the_smallest_glyph_is_found_subscripts_included():
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=11)
    ax.set_xlabel("epoch", fontsize=12)
    ax.set_ylabel("$h_t$", fontsize=12)  # the subscript t is 0.7 x 12 pt
    record = figures.measure(fig)
    assert record["smallest_text_pt"] == pytest.approx(8.4)
    assert record["smallest_text"] == "$h_t$"
    assert record["unlabelled_axes"] == []


def test_only_drawn_text_counts():
    fig = _figure()
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "big", fontsize=14)
    ax.text(0.5, 0.2, "hidden", fontsize=3, visible=False)
    ax.set_title("", fontsize=2)  # empty: nothing drawn
    ax.axis("off")  # tick labels are not drawn either
    record = figures.measure(fig)
    assert (record["smallest_text_pt"], record["smallest_text"]) == (14, "big")


def test_axes_with_tick_labels_need_labels():
    fig = _figure()
    left, right, image = fig.subplots(1, 3)
    left.plot([1, 2]), left.set_xlabel("x"), left.set_ylabel("y")
    right.plot([1, 2]), right.set_title("right"), right.set_xlabel("x")
    image.imshow([[0, 1], [1, 0]]), image.set_xticks([]), image.set_yticks([])  # no ticks: fine
    assert figures.measure(fig)["unlabelled_axes"] == ["right: y"]


def test_the_record_travels_in_the_svg_and_the_file_is_reproducible():
    def draw():
        fig = _figure()
        ax = fig.add_subplot()
        ax.plot([0, 1, 2], [1, 0, 1])
        ax.set_xlabel("step"), ax.set_ylabel("value")
        ax.legend(["a curve"], fontsize=9)
        return fig

    with matplotlib.rc_context(figures.STYLE):
        svg = figures.figure_svg(draw())
        assert svg == figures.figure_svg(draw()), "the same figure must give the same file"
    record = figures.read_record(svg)
    assert record["smallest_text_pt"] == 9 and record["smallest_text"] == "a curve"
    assert 200 < figures.svg_width_pt(svg) < 4 * 72  # tight: about the figure's 4 in
    assert figures.read_record(svg.replace(figures.RECORD_KEY, "other")) is None
    assert figures.figure_svg(Figure()) is None  # an empty figure shows nothing


def test_use_book_figures_in_a_kernel(tmp_path):
    """In a real kernel, every way of showing a figure gives the book's SVG with its record."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "from grader.site.figures import use_book_figures\nuse_book_figures()",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.xlabel('x'); plt.ylabel('y')\nplt.show()",
        "from matplotlib.figure import Figure\nfig = Figure()\nax = fig.add_subplot()\n"
        "ax.plot([1, 2]); ax.set_xlabel('x'); ax.set_ylabel('y')\nfig",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = [output for cell in nb.cells[1:] for output in cell.outputs
             if output.output_type in ("display_data", "execute_result")]
    assert len(shown) == 2
    for output in shown:
        assert "image/png" not in output.data
        record = figures.read_record(output.data["image/svg+xml"])
        assert record["smallest_text_pt"] == figures.STYLE["xtick.labelsize"]
