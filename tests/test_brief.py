"""The investor brief as an advocate shows it: nothing on any slide falls outside it."""

from __future__ import annotations

import pytest

from sim.runs.cache import RunCache


@pytest.fixture(scope="module")
def quick_brief(tmp_path_factory):
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from sim.runs import quick

    saved = os.environ.get("SIM_QUICK")
    os.environ["SIM_QUICK"] = "1"
    try:
        from sim.views import brief

        assert quick.is_quick()
        yield brief, brief.build(jobs=1, cache=RunCache(tmp_path_factory.mktemp("cache")))
    finally:
        if saved is None:
            os.environ.pop("SIM_QUICK")


def outside(fig) -> list[str]:
    """Every text on the figure, and every axes with its tick labels, titles and annotations, that is not wholly
    inside the figure (one pixel of tolerance)."""
    renderer = fig._get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [(t.get_text()[:60], t.get_window_extent(renderer)) for t in fig.texts if t.get_text() and t.get_visible()]
    boxes += [(f"axes {i}", ax.get_tightbbox(renderer)) for i, ax in enumerate(fig.axes)]
    return [f"{what}: {[round(v) for v in (b.x0, b.y0, b.x1, b.y1)]}" for what, b in boxes
            if b is not None and (b.x0 < -1 or b.y0 < -1 or b.x1 > width + 1 or b.y1 > height + 1)]


def test_every_slide_keeps_every_text_inside_the_figure(quick_brief):
    brief, b = quick_brief
    import matplotlib.pyplot as plt

    for name, make in brief.slides(b).items():
        fig, _ = brief.finished_slide(b, name, make)  # as shown in the page, the PNG and the PDF
        assert not outside(fig), (name, outside(fig))
        plt.close(fig)


def test_the_check_sees_a_text_that_falls_off():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 3))
    fig.text(0.5, 0.02, "a line long enough to run past the right edge of a small figure", fontsize=14)
    assert outside(fig)
    plt.close(fig)


def test_a_long_text_slide_wraps_and_shrinks_to_fit(quick_brief):
    brief, _ = quick_brief
    lines = ["A sentence of about twenty words that goes on and on to fill the width of the slide and more. " * 3] * 14
    fig = brief._text_slide("Quality first: what it does for therapists, clients and the business, and more", lines)
    assert not outside(fig)


def test_the_bottom_line_comes_first_in_three_short_sentences_at_a_readable_size(quick_brief):
    brief, b = quick_brief
    import matplotlib.pyplot as plt

    names = list(brief.slides(b))
    assert names[:2] == ["cover", "bottom_line"]
    lines = brief.bottom_line(b)
    assert len(lines) == 3 and all(len(line.split()) < 40 for line in lines), lines
    assert all(any(w in line for w in ("better", "worse", "no clear difference")) for line in lines)
    fig, notes = brief.bottom_line_slide(b)
    sizes = [t.get_fontsize() for t in fig.texts if t.get_text()]
    assert min(sizes) >= 14, sizes
    # and where that leaves the advice the project started from, from quality first's own verdicts
    said = brief.post_line(b)
    assert said in notes and said.startswith(("As the advice", "Unlike the advice"))
    verdicts = {k: brief.claim_row(b, k)["verdict"] for k in brief.POST_EXPECTS}
    assert said.startswith("As") == all(v == "better" for v in verdicts.values())
    assert all(f"{v}" in said for v in verdicts.values())
    plt.close(fig)


def test_each_chart_slide_says_its_message_in_under_40_words_at_14_points(quick_brief):
    brief, b = quick_brief
    import matplotlib.pyplot as plt

    for name, make in brief.slides(b).items():
        fig, takeaway = brief.finished_slide(b, name, make)
        short = brief.on_slide(b, name, takeaway)
        if name in ("cover", "method", "bottom_line"):
            assert not short
        else:
            assert short and len(short.split()) < 40, (name, short)
            shown = [t for t in fig.texts if t.get_text().replace("\n", " ") == short]
            assert shown and shown[0].get_fontsize() >= 14, name
        plt.close(fig)
