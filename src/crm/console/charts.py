"""Charts as plain server-rendered SVG: no script, no library, nothing from another host.

A chart is a picture of a table the page also shows (the numbers stay readable to a screen
reader and on a printout): the SVG is ``role="img"`` labelled by its own ``<title>`` and
``<desc>``, and each bar carries a ``<title>`` of its label and value (a tooltip). Colours
come from the style sheet's classes (``chart-bar``...), never an inline style, which the
console's Content-Security-Policy forbids.

Pure: values in, markup out (escaped; ``Markup`` so the templates do not escape it twice).
"""

from __future__ import annotations

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
