"""Charts as plain server-rendered SVG: no script, no library, nothing from another host.

A chart is a picture of a table the page also shows (the numbers stay readable to a screen
reader and on a printout): the SVG is ``role="img"`` labelled by its own ``<title>`` and
``<desc>``, and each bar carries a ``<title>`` of its label and value (a tooltip). Colours
come from the style sheet's classes (``chart-bar``...), never an inline style, which the
console's Content-Security-Policy forbids.

Pure: values in, markup out (escaped; ``Markup`` so the templates do not escape it twice).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 190
VALUE_WIDTH = 110
ROW = 26
BAR = 18
PAD = 6
LABEL_CHARS = 28
"""A longer label is cut (with an ellipsis) in the picture; the table shows it whole."""


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    """The bar's length; a negative value draws as 0 (a loss is shown in the table)."""
    shown: str
    """The value as the reader's locale writes it (``€1,250.00``, ``42 %``)."""


def number(value: object) -> float:
    """A report's figure (an int, a decimal string, None) as a bar length; unreadable: 0."""
    if value is None:
        return 0.0
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """A horizontal bar chart, one row per bar in the given order, scaled to the largest."""
    height = PAD * 2 + ROW * max(1, len(bars))
    top = max((b.value for b in bars), default=0.0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    ident = escape(chart_id)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for i, b in enumerate(bars):
        y = PAD + i * ROW
        length = 0.0 if top <= 0 else max(0.0, b.value) / top * span
        middle = y + BAR / 2
        parts.append(
            f'<g class="chart-row"><title>{escape(b.label)}: {escape(b.shown)}</title>'
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_cut(b.label))}</text>'
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
            f'height="{BAR}" data-value="{b.value:g}"></rect>'
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{escape(b.shown)}</text></g>'
        )
    if not bars:
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH}" y="{PAD + BAR / 2}" '
            f'dominant-baseline="middle">&#8211;</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


LINE_HEIGHT = 240
LINE_LEFT = 110
"""Room for the value axis' labels."""
LINE_BOTTOM = 40
"""Room for the months under the axis."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name (a currency) and its points, each a :class:`Bar` whose label is
    the point's place on the horizontal axis (a month)."""

    name: str
    points: Sequence[Bar]


def line_chart(
    chart_id: str, title: str, description: str, series: Sequence[Series], top_shown: str = ""
) -> Markup:
    """A line chart: the places of every series' points (in the order first given) along the
    horizontal axis, each series a line from 0 up to the largest value of all, each point a
    circle with a ``<title>`` of its place, series and value. ``top_shown``: the largest value
    as the reader's locale writes it (the axis' top label)."""
    places: list[str] = []
    for s in series:
        places += [p.label for p in s.points if p.label not in places]
    top = max((p.value for s in series for p in s.points), default=0.0)
    span_x = WIDTH - LINE_LEFT - PAD * 4
    span_y = LINE_HEIGHT - LINE_BOTTOM - PAD * 2
    step = span_x / max(1, len(places) - 1)
    ident = escape(chart_id)

    def x(place: str) -> float:
        return LINE_LEFT + (places.index(place) * step if len(places) > 1 else span_x / 2)

    def y(value: float) -> float:
        return PAD + span_y - (0.0 if top <= 0 else max(0.0, value) / top * span_y)

    base = PAD + span_y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-line" id="{ident}" '
        f'role="img" viewBox="0 0 {WIDTH} {LINE_HEIGHT}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        f'<line class="chart-axis" x1="{LINE_LEFT}" y1="{base:.1f}" '
        f'x2="{WIDTH - PAD}" y2="{base:.1f}"></line>',
        f'<line class="chart-axis" x1="{LINE_LEFT}" y1="{PAD}" '
        f'x2="{LINE_LEFT}" y2="{base:.1f}"></line>',
        f'<text class="chart-label" x="{LINE_LEFT - 8}" y="{base:.1f}" text-anchor="end" '
        f'dominant-baseline="middle">0</text>',
    ]
    if top_shown:
        parts.append(
            f'<text class="chart-label" x="{LINE_LEFT - 8}" y="{PAD}" text-anchor="end" '
            f'dominant-baseline="hanging">{escape(top_shown)}</text>'
        )
    for place in places:
        parts.append(
            f'<text class="chart-label" x="{x(place):.1f}" y="{base + 18:.1f}" '
            f'text-anchor="middle">{escape(_cut(place))}</text>'
        )
    for n, s in enumerate(series):
        line = " ".join(f"{x(p.label):.1f},{y(p.value):.1f}" for p in s.points)
        parts.append(
            f'<g class="chart-series chart-series-{n % 4}"><title>{escape(s.name)}</title>'
            f'<polyline class="chart-path" points="{line}"></polyline>'
        )
        for p in s.points:
            parts.append(
                f'<circle class="chart-point" cx="{x(p.label):.1f}" cy="{y(p.value):.1f}" '
                f'r="4" data-value="{p.value:g}"><title>{escape(p.label)} {escape(s.name)}: '
                f"{escape(p.shown)}</title></circle>"
            )
        parts.append("</g>")
    if not places:
        parts.append(
            f'<text class="chart-label" x="{LINE_LEFT + 8}" y="{base - 12:.1f}">&#8211;</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """A funnel: one row per stage in the given order, each bar centred and as wide as its
    value against the largest, joined to the next by a band (the part that went on). Each
    row, like a bar chart's, is a ``<g>`` with the ``<title>`` of its label and value."""
    height = PAD * 2 + ROW * max(1, len(bars))
    top = max((b.value for b in bars), default=0.0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    centre = LABEL_WIDTH + span / 2
    ident = escape(chart_id)

    def width(b: Bar) -> float:
        return 0.0 if top <= 0 else max(0.0, b.value) / top * span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-funnel" id="{ident}" '
        f'role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    for i, (b, after) in enumerate(itertools.pairwise(bars)):
        y0, y1 = PAD + i * ROW + BAR, PAD + (i + 1) * ROW
        w0, w1 = width(b), width(after)
        parts.append(
            f'<polygon class="chart-neck" points="{centre - w0 / 2:.1f},{y0} '
            f"{centre + w0 / 2:.1f},{y0} {centre + w1 / 2:.1f},{y1} "
            f'{centre - w1 / 2:.1f},{y1}"></polygon>'
        )
    for i, b in enumerate(bars):
        y = PAD + i * ROW
        w = width(b)
        middle = y + BAR / 2
        parts.append(
            f'<g class="chart-row"><title>{escape(b.label)}: {escape(b.shown)}</title>'
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" '
            f'text-anchor="end" dominant-baseline="middle">{escape(_cut(b.label))}</text>'
            f'<rect class="chart-bar" x="{centre - w / 2:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{BAR}" data-value="{b.value:g}"></rect>'
            f'<text class="chart-value" x="{WIDTH - VALUE_WIDTH + 6}" y="{middle:.1f}" '
            f'dominant-baseline="middle">{escape(b.shown)}</text></g>'
        )
    if not bars:
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH}" y="{PAD + BAR / 2}" '
            f'dominant-baseline="middle">&#8211;</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
