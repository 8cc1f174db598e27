"""The churn assessment: plain-words reasons, levels, monotone scores, and the purchase part
(BG/NBD when fitted, the customer's own rhythm otherwise)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from crm.analytics.churn import (
    Assessment,
    BgNbdParams,
    CustomerSignals,
    Reason,
    Thresholds,
    assess,
    level_for,
    p_alive,
)

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
CDNOW = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # weeks


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def monthly_buyer(
    last_order_days_ago: float, orders: int = 10, *, with_dates: bool = False
) -> CustomerSignals:
    """Ordered every 30 days, the latest ``last_order_days_ago`` days ago."""
    dates = tuple(ago(last_order_days_ago + 30 * i) for i in range(orders))
    return CustomerSignals(
        first_order_at=dates[-1],
        last_order_at=dates[0],
        order_count=orders,
        order_dates=dates if with_dates else (),
    )


def texts(assessment: Assessment) -> list[str]:
    return [r.text for r in assessment.reasons]


def only(signals: CustomerSignals, code: str) -> Reason:
    found = [r for r in assess(signals, None, NOW).reasons if r.code == code]
    assert len(found) == 1, assess(signals, None, NOW)
    return found[0]


# --- reasons in plain words -------------------------------------------------------------


def test_silence_against_own_rhythm() -> None:
    reason = only(monthly_buyer(120), "purchase_recency")
    assert reason.text == "no order for 120 days, usually orders every 30"
    # g = 120/30 = 4: risk (4-1)/(4+1)
    assert reason.weight == pytest.approx(0.6)


@pytest.mark.parametrize(
    ("signals", "code", "text"),
    [
        (
            CustomerSignals(complaints_30d=3, complaints_90d=3),
            "complaints",
            "3 complaints in 30 days",
        ),
        (
            CustomerSignals(complaints_30d=1, complaints_90d=1),
            "complaints",
            "1 complaint in 30 days",
        ),
        (
            CustomerSignals(complaints_30d=2, complaints_90d=5),
            "complaints",
            "2 complaints in 30 days (5 in 90 days)",
        ),
        (CustomerSignals(complaints_90d=2), "complaints", "2 complaints in 90 days"),
        (
            CustomerSignals(last_satisfaction=1, previous_satisfaction=4),
            "satisfaction",
            "satisfaction fell to 1 (from 4)",
        ),
        (CustomerSignals(last_satisfaction=2), "satisfaction", "low satisfaction: 2 of 5"),
        (
            CustomerSignals(overdue_invoices=2, overdue_amount=Decimal("1250")),
            "overdue_invoices",
            "2 invoices overdue (1 250.00 EUR)",
        ),
        (
            CustomerSignals(overdue_invoices=1, overdue_amount=Decimal("99.5"), currency="CHF"),
            "overdue_invoices",
            "1 invoice overdue (99.50 CHF)",
        ),
        (CustomerSignals(last_contact_at=ago(75.5)), "no_contact", "no contact for 75 days"),
        (
            CustomerSignals(lost_opportunities_90d=2),
            "lost_opportunities",
            "lost 2 opportunities in 90 days",
        ),
        (
            CustomerSignals(lost_opportunities_90d=1),
            "lost_opportunities",
            "lost 1 opportunity in 90 days",
        ),
        (CustomerSignals(sla_breaches_90d=2), "sla_breaches", "2 SLA breaches in 90 days"),
        (CustomerSignals(sla_breaches_90d=1), "sla_breaches", "1 SLA breach in 90 days"),
        (CustomerSignals(open_tickets=3), "open_tickets", "3 open tickets"),
        (
            # 17 orders over 360 days: usually 4 per 90 days, only 1 in the last 90
            CustomerSignals(
                first_order_at=ago(370),
                last_order_at=ago(10),
                order_count=17,
                order_dates=(ago(10), ago(100), ago(122)),
            ),
            "order_frequency",
            "order frequency fell: 1 order in the last 90 days against 4 usually",
        ),
        (
            CustomerSignals(spend_recent_90d=Decimal("200"), spend_previous_90d=Decimal("1000")),
            "spend",
            "spend fell: 200.00 EUR in the last 90 days against 1 000.00 EUR before",
        ),
    ],
)
def test_each_signal_says_what_happened(signals: CustomerSignals, code: str, text: str) -> None:
    reason = only(signals, code)
    assert reason.text == text
    assert 0 < reason.weight < 1
    assessment = assess(signals, None, NOW)
    keep = 1.0
    for r in assessment.reasons:
        keep *= 1 - r.weight
    assert assessment.score == round(100 * (1 - keep))
    if signals.order_count == 0:  # alone, the score is exactly that signal's contribution
        assert assessment.score == round(100 * reason.weight)


@pytest.mark.parametrize(
    "quiet",
    [
        CustomerSignals(last_satisfaction=5, previous_satisfaction=3),  # rose
        CustomerSignals(last_satisfaction=3),  # middling, no trend
        CustomerSignals(last_contact_at=ago(60)),  # within the allowed silence
        CustomerSignals(open_tickets=1),  # one open ticket is normal business
        CustomerSignals(order_dates=(ago(10), ago(100))),  # dates alone: no rhythm to compare
        CustomerSignals(spend_recent_90d=Decimal(800), spend_previous_90d=Decimal(1000)),  # -20 %
        CustomerSignals(spend_recent_90d=Decimal(5), spend_previous_90d=Decimal(0)),
    ],
)
def test_normal_business_raises_nothing(quiet: CustomerSignals) -> None:
    assessment = assess(quiet, None, NOW)
    assert assessment == Assessment(0, "low", None, (), "none")


def test_reasons_are_sorted_by_weight_and_the_score_combines_them() -> None:
    signals = dataclasses.replace(
        monthly_buyer(120),
        complaints_30d=3,
        complaints_90d=3,
        sla_breaches_90d=1,
        last_contact_at=ago(70),
    )
    assessment = assess(signals, None, NOW)
    weights = [r.weight for r in assessment.reasons]
    assert weights == sorted(weights, reverse=True)
    assert [r.code for r in assessment.reasons] == [
        "purchase_recency",
        "complaints",
        "order_frequency",  # 0 orders in 90 days against 3 usually
        "sla_breaches",
        "no_contact",
    ]
    keep = 1.0
    for w in weights:
        keep *= 1 - w
    assert assessment.score == round(100 * (1 - keep))


def test_many_signals_never_exceed_100() -> None:
    worst = dataclasses.replace(
        monthly_buyer(2000),
        complaints_30d=50,
        complaints_90d=80,
        sla_breaches_90d=40,
        last_satisfaction=1,
        previous_satisfaction=5,
        last_contact_at=ago(3000),
        overdue_invoices=30,
        overdue_amount=Decimal("1e6"),
        lost_opportunities_90d=20,
        open_tickets=40,
        spend_recent_90d=Decimal(0),
        spend_previous_90d=Decimal(100),
    )
    assessment = assess(worst, CDNOW, NOW)
    assert assessment.score <= 100
    assert assessment.level == "high"
    assert all(0 < r.weight < 1 for r in assessment.reasons)


# --- levels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"), [(0, "low"), (39, "low"), (40, "medium"), (69, "medium"), (70, "high")]
)
def test_levels_by_default_thresholds(score: int, level: str) -> None:
    assert level_for(score) == level


def test_thresholds_are_configurable() -> None:
    signals = CustomerSignals(complaints_30d=2, complaints_90d=2)  # score 30
    assert assess(signals, None, NOW).level == "low"
    strict = Thresholds(medium=20, high=30)
    assert assess(signals, None, NOW, thresholds=strict).level == "high"
    lenient = Thresholds(no_contact_days=120)
    assert (
        assess(CustomerSignals(last_contact_at=ago(100)), None, NOW, thresholds=lenient).score == 0
    )


def test_contributions_below_the_reason_floor_count_but_are_not_listed() -> None:
    signals = monthly_buyer(10)  # a loyal customer: BG/NBD leaves a few % doubt
    assessment = assess(signals, CDNOW, NOW, thresholds=Thresholds(min_reason_weight=0.5))
    assert assessment.reasons == ()
    assert assessment.p_alive is not None
    assert assessment.score == round(100 * (1 - assessment.p_alive))


# --- monotonicity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "complaints_30d",
        "complaints_90d",
        "sla_breaches_90d",
        "overdue_invoices",
        "lost_opportunities_90d",
        "open_tickets",
    ],
)
@pytest.mark.parametrize("params", [None, CDNOW])
def test_more_trouble_never_lowers_the_score(field: str, params: BgNbdParams | None) -> None:
    base = monthly_buyer(45, with_dates=True)
    scores = []
    for n in range(15):
        extra = {field: n}
        if field == "complaints_30d":
            extra["complaints_90d"] = n
        scores.append(assess(dataclasses.replace(base, **extra), params, NOW).score)
    assert scores == sorted(scores)
    assert scores[-1] > scores[0]


def test_longer_silence_never_lowers_the_score() -> None:
    for params in (None, CDNOW):
        purchase = [
            assess(monthly_buyer(d, with_dates=True), params, NOW).score for d in range(0, 400, 5)
        ]
        assert purchase == sorted(purchase)
        assert purchase[-1] > purchase[0]
    contact = [
        assess(CustomerSignals(last_contact_at=ago(d)), None, NOW).score for d in range(0, 400, 5)
    ]
    assert contact == sorted(contact)
    assert contact[-1] > contact[0]


def test_a_deeper_satisfaction_fall_never_lowers_the_score() -> None:
    scores = [
        assess(CustomerSignals(last_satisfaction=last, previous_satisfaction=5), None, NOW).score
        for last in (5, 4, 3, 2, 1)
    ]
    assert scores == sorted(scores)
    assert scores[0] == 0


# --- the whole picture ----------------------------------------------------------------------


def test_a_loyal_customer_is_low() -> None:
    loyal = dataclasses.replace(
        monthly_buyer(12, orders=14),
        last_satisfaction=5,
        previous_satisfaction=4,
        last_contact_at=ago(8),
        spend_recent_90d=Decimal(3000),
        spend_previous_90d=Decimal(2900),
    )
    for params in (None, CDNOW):
        assessment = assess(loyal, params, NOW)
        assert assessment.level == "low"
        assert assessment.score < 15


def test_a_drifting_customer_is_high() -> None:
    """Months of silence against a monthly rhythm, and complaints: high, silence first."""
    drifting = dataclasses.replace(
        monthly_buyer(120), complaints_30d=2, complaints_90d=3, last_satisfaction=2
    )
    for params in (None, CDNOW):
        assessment = assess(drifting, params, NOW)
        assert assessment.level == "high", assessment
        assert assessment.reasons[0].code == "purchase_recency"
        assert assessment.reasons[0].text.startswith(
            "no order for 120 days, usually orders every 30"
        )


def test_bgnbd_part_is_one_minus_p_alive_in_the_model_unit() -> None:
    signals = monthly_buyer(80)  # 10 orders: x = 9, t_x = 270 days, T = 350 days
    assessment = assess(signals, CDNOW, NOW, unit_days=7.0)
    expected = float(p_alive(CDNOW, 9, 270 / 7, 350 / 7))
    assert assessment.purchase_basis == "bg/nbd"
    assert assessment.p_alive == pytest.approx(expected)
    assert assessment.score == round(100 * (1 - expected))
    reason = assessment.reasons[0]
    assert reason.weight == pytest.approx(1 - expected)
    assert reason.text == (
        f"no order for 80 days, usually orders every 30 "
        f"(model: {round(100 * expected)}% likely still active)"
    )
    in_days = assess(signals, CDNOW, NOW, unit_days=1.0)
    assert in_days.p_alive == pytest.approx(float(p_alive(CDNOW, 9, 270, 350)))
    assert in_days.p_alive != pytest.approx(expected)


def test_a_recent_order_reads_as_such() -> None:
    assessment = assess(monthly_buyer(10), CDNOW, NOW)
    assert assessment.reasons[0].text.startswith("last order 10 days ago, usually orders every 30")
    assert assessment.level == "low"


def test_one_time_buyer_is_measured_against_the_typical_rhythm() -> None:
    """BG/NBD says P(alive) = 1 for x = 0, so the typical interval alpha/r is used instead."""
    once = CustomerSignals(first_order_at=ago(300), last_order_at=ago(300), order_count=1)
    typical_days = CDNOW.alpha / CDNOW.r * 7  # ~127 days
    g = 300 / typical_days
    fitted = assess(once, CDNOW, NOW)
    assert fitted.purchase_basis == "typical rhythm"
    assert fitted.p_alive is None
    assert fitted.reasons[0].weight == pytest.approx((g - 1) / (g + 1))
    assert fitted.reasons[0].text == (
        "only one order, 300 days ago; customers typically order every 127 days"
    )
    unfitted = assess(once, None, NOW)  # default 90 days: g = 300/90
    assert unfitted.reasons[0].weight == pytest.approx((300 / 90 - 1) / (300 / 90 + 1))
    recent = assess(
        dataclasses.replace(once, first_order_at=ago(30), last_order_at=ago(30)), None, NOW
    )
    assert recent.score == 0


def test_orders_within_one_day_have_no_rhythm_of_their_own() -> None:
    twice = CustomerSignals(first_order_at=ago(200), last_order_at=ago(200), order_count=2)
    assessment = assess(twice, None, NOW)
    assert assessment.purchase_basis == "typical rhythm"
    assert assessment.reasons[0].text.startswith("2 orders within a day, 200 days ago")


def test_a_customer_who_never_ordered_has_only_service_signals() -> None:
    signals = CustomerSignals(complaints_30d=1, complaints_90d=1)
    for params in (None, CDNOW):
        assessment = assess(signals, params, NOW)
        assert assessment.purchase_basis == "none"
        assert assessment.p_alive is None
        assert texts(assessment) == ["1 complaint in 30 days"]


def test_deterministic_given_now_and_serialisable() -> None:
    signals = dataclasses.replace(
        monthly_buyer(95), overdue_invoices=1, overdue_amount=Decimal("10"), last_contact_at=ago(90)
    )
    first = assess(signals, CDNOW, NOW)
    assert assess(signals, CDNOW, NOW) == first
    assert Assessment.from_dict(json.loads(json.dumps(first.to_dict()))) == first
    later = assess(signals, CDNOW, NOW + timedelta(days=30))
    assert later.score > first.score


def test_unit_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="unit_days"):
        assess(CustomerSignals(), None, NOW, unit_days=0)
