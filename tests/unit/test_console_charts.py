"""The console's SVG charts and the analytics pages' pure helpers: bars scaled to the largest
value, labelled for screen readers, escaped; every reason code the churn assessment emits has
a text in both languages; high value and high risk come first."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from crm.analytics.churn import assessment
from crm.console.analytics import REASON_CODES, high_value_first, percent, reason_text
from crm.console.charts import Bar, Series, bar_chart, funnel_chart, line_chart, number
from crm.console.i18n import MESSAGES, Translator

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_scaled_to_the_largest_and_labelled() -> None:
    chart = bar_chart(
        "c1", "Entered <stages>", "one bar per stage", [Bar("a & b", 4, "4"), Bar("c", 1, "1")]
    )
    root = ET.fromstring(str(chart))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "Entered <stages>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "one bar per stage"  # type: ignore[union-attr]
    widths = [float(r.get("width", "")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 640 - 190 - 110
    assert widths[1] == widths[0] / 4
    tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]  # type: ignore[union-attr]
    assert tips == ["a & b: 4", "c: 1"]
    assert "style=" not in str(chart)


def test_no_bars_negative_bars_and_unreadable_figures() -> None:
    empty = ET.fromstring(str(bar_chart("e", "t", "d", [])))
    assert list(empty.iter(f"{SVG}rect")) == []
    flat = ET.fromstring(str(bar_chart("z", "t", "d", [Bar("x", 0, "0"), Bar("y", -3, "-3")])))
    assert [r.get("width") for r in flat.iter(f"{SVG}rect")] == ["0.0", "0.0"]
    assert (number("12.50"), number(None), number("n/a"), number(3)) == (12.5, 0.0, 0.0, 3.0)


def test_every_reason_code_the_assessment_emits_has_a_text_in_both_languages() -> None:
    emitted = {
        value
        for name, value in vars(assessment).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z_]+", value)
    }
    assert emitted <= set(REASON_CODES)
    for code in REASON_CODES:
        assert f"reason.{code}" in MESSAGES["en"]
        assert f"reason.{code}" in MESSAGES["zh-CN"]
    zh = Translator("zh-CN")
    assert reason_text(zh, {"code": "complaints", "text": "2 complaints"}) == "近期有投诉"
    assert reason_text(zh, {"code": "new_code", "text": "something new"}) == "something new"


def test_rates_read_as_percentages() -> None:
    en = Translator("en")
    assert percent(en, "0.5000") == "50 %"
    assert percent(en, "0.3333") == "33.3 %"
    assert percent(en, None) == "—"


def test_high_value_and_high_risk_first() -> None:
    rows = [
        {"customer_id": "a", "tier": "high", "risk": "low"},
        {"customer_id": "b", "tier": "medium", "risk": "high"},
        {"customer_id": "c", "tier": "high", "risk": "high"},
    ]
    assert [r["customer_id"] for r in high_value_first(rows)] == ["c", "a", "b"]


def test_a_line_per_series_over_the_months_scaled_to_the_largest_and_labelled() -> None:
    chart = line_chart(
        "rev",
        "Revenue <per month>",
        "booked less returns",
        [
            Series("EUR", [Bar("2026-01", 100, "€100"), Bar("2026-02", 400, "€400")]),
            Series("USD", [Bar("2026-02", 200, "$200"), Bar("2026-03", 0, "$0")]),
        ],
        top_shown="€400",
    )
    root = ET.fromstring(str(chart))
    assert (root.get("role"), root.get("aria-labelledby")) == ("img", "rev-title rev-desc")
    assert root.find(f"{SVG}title").text == "Revenue <per month>"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "booked less returns"  # type: ignore[union-attr]
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    eur = [tuple(map(float, p.split(","))) for p in lines[0].get("points", "").split()]
    usd = [tuple(map(float, p.split(","))) for p in lines[1].get("points", "").split()]
    # the months in the order first given along x, shared by both lines
    assert eur[1][0] == usd[0][0]
    assert eur[0][0] < eur[1][0] < usd[1][0]
    # 400, the largest, at the top; 0 on the axis; 200 half way; 100 a quarter
    top, axis = eur[1][1], usd[1][1]
    assert top < axis
    assert usd[0][1] == (top + axis) / 2
    assert eur[0][1] == axis - (axis - top) / 4
    tips = [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")]  # type: ignore[union-attr]
    assert tips == [
        "2026-01 EUR: €100",
        "2026-02 EUR: €400",
        "2026-02 USD: $200",
        "2026-03 USD: $0",
    ]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert {"0", "€400", "2026-01", "2026-02", "2026-03"} <= set(labels)
    assert "style=" not in str(chart)
    empty = ET.fromstring(str(line_chart("e", "t", "d", [])))
    assert list(empty.iter(f"{SVG}polyline")) == []


def test_a_funnel_centres_each_stage_scaled_to_the_largest_and_joins_it_to_the_next() -> None:
    chart = funnel_chart(
        "f", "Entered", "per stage", [Bar("Prospecting", 4, "4"), Bar("Won & kept", 1, "1")]
    )
    root = ET.fromstring(str(chart))
    assert (root.get("role"), root.get("aria-labelledby")) == ("img", "f-title f-desc")
    rects = list(root.iter(f"{SVG}rect"))
    widths = [float(r.get("width", "")) for r in rects]
    assert widths == [640 - 190 - 110, (640 - 190 - 110) / 4]
    centres = [float(r.get("x", "")) + w / 2 for r, w in zip(rects, widths, strict=True)]
    assert centres[0] == centres[1]  # centred on one axis
    assert [r.get("data-value") for r in rects] == ["4", "1"]
    necks = list(root.iter(f"{SVG}polygon"))
    assert len(necks) == 1  # between the two stages
    tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]  # type: ignore[union-attr]
    assert tips == ["Prospecting: 4", "Won & kept: 1"]
    assert "style=" not in str(chart)
    assert list(ET.fromstring(str(funnel_chart("e", "t", "d", []))).iter(f"{SVG}rect")) == []
