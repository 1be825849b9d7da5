"""The trade-off chart as an inline SVG for the explorer: drawn in milliseconds, sharp at any size, and each
marker answers on hover (its policy, measure, difference, interval and verdict).

It draws the same points as :func:`sim.views.charts.plot_tradeoff` (:func:`sim.views.charts.tradeoff_points`), in
the same colours; the matplotlib chart stays for downloads, notebooks and the brief.

>>> import pandas as pd
>>> claims = pd.DataFrame({"scenario": ["quality first"], "kpi": ["return_after_first_rate"], "difference": [0.03],
...                        "ci_low": [0.01], "ci_high": [0.05], "smallest_that_matters": [0.02],
...                        "verdict": ["better"]})
>>> svg = tradeoff_svg(claims)
>>> svg.startswith("<svg") and "<title>quality first" in svg and "better" in svg
True
"""

from __future__ import annotations

import html
import math

import pandas as pd

from sim.views.charts import (
    TRADEOFF_AXIS,
    TRADEOFF_DEFAULT_TITLE,
    TRADEOFF_NOTE,
    colours,
    measure_label,
    tradeoff_points,
    tradeoff_range,
)

WIDTH = 900  # viewBox units; the SVG scales to its column
LABELS = 230  # the measure names' column
LEGEND = 150  # the policies' column on the right
TOP, AXIS = 34, 62  # title above the rows; tick labels, axis title and note below


def tradeoff_svg(claims: pd.DataFrame, order: list[str] | None = None, title: str = "") -> str:
    """The headline verdicts of ``claims`` as an SVG forest plot (one row per measure, one marker per policy)."""
    names = order or list(dict.fromkeys(claims["scenario"]))
    kpis = list(dict.fromkeys(claims["kpi"]))
    points = tradeoff_points(claims, names)
    col = colours(names)
    row_h = 14 + 9 * len(names)
    height = TOP + row_h * len(kpis) + AXIS
    left, right = LABELS, WIDTH - LEGEND
    lo, hi = tradeoff_range(points, len(names))
    title = html.escape(title or TRADEOFF_DEFAULT_TITLE)

    def sx(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
           f'role="img" aria-label="{title}" '
           'style="font-family: sans-serif; max-width: 100%; height: auto">',
           f'<text x="4" y="18" font-size="15">{title}</text>',
           f'<rect x="{sx(-1):.1f}" y="{TOP}" width="{sx(1) - sx(-1):.1f}" height="{row_h * len(kpis)}" '
           'fill="#d3d3d3" fill-opacity="0.5"><title>smaller than the difference that matters</title></rect>']
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if (hi - lo) / s <= 16)
    for tick in range(math.ceil(lo / step) * step, math.floor(hi / step) * step + 1, step):
        x = sx(tick)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + row_h * len(kpis)}" '
                   f'stroke="{"grey" if tick == 0 else "#eeeeee"}" stroke-width="1"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + row_h * len(kpis) + 14}" font-size="11" text-anchor="middle" '
                   f'fill="dimgrey">{tick}</text>')
    for j, kpi in enumerate(kpis):
        y = TOP + row_h * (j + 0.5)
        out.append(f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">'
                   f'{html.escape(measure_label(kpi))}</text>')
    spacing = (row_h - 10) / max(len(names), 1)
    for p in points.itertuples():
        i = names.index(p.policy)
        y = TOP + row_h * (p.row + 0.5) + (i - (len(names) - 1) / 2) * spacing
        colour = col[p.policy]
        tip = html.escape(f"{p.policy} · {p.measure}: {p.text}, interval {p.interval}")
        out.append(f'<g><title>{tip}</title>'
                   f'<line x1="{sx(p.lo):.1f}" x2="{sx(p.hi):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                   'stroke-width="2"/>'
                   f'<circle cx="{sx(p.x):.1f}" cy="{y:.1f}" r="5" stroke="{colour}" stroke-width="2" '
                   f'fill="{colour if p.clear else "white"}"/></g>')
        if len(names) <= 2:  # with more policies the labels would overlap: the table has the numbers
            out.append(f'<text x="{sx(max(p.hi, p.x)) + 7:.1f}" y="{y + 4:.1f}" font-size="11" fill="dimgrey">'
                       f'{html.escape(p.text)}</text>')
    for i, name in enumerate(names):
        y = TOP + 10 + 18 * i
        out.append(f'<circle cx="{right + 16}" cy="{y}" r="5" fill="{col[name]}"/>'
                   f'<text x="{right + 27}" y="{y + 4}" font-size="12">{html.escape(name)}</text>')
    base = TOP + row_h * len(kpis)
    out.append(f'<text x="{(left + right) / 2:.1f}" y="{base + 30}" font-size="11" text-anchor="middle" '
               f'fill="dimgrey">{html.escape(TRADEOFF_AXIS)}</text>')
    for k, line in enumerate(TRADEOFF_NOTE):
        out.append(f'<text x="4" y="{base + 44 + 12 * k}" font-size="11" fill="dimgrey">{html.escape(line)}</text>')
    out.append("</svg>")
    return "".join(out)
