# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas)
"""The lead score's model: a fit on a synthetic history recovers the effects it was drawn
with and beats the source-only baseline where activity matters; too little history scores by
the documented rules; reasons in both languages; no fact dated after the decision is used;
the quality measures against hand-computed values."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from crm.analytics.leads.evaluation import auc, brier, evaluate, reliability
from crm.analytics.leads.scoring import (
    MIN_DECIDED,
    RULES_VERSION,
    Facts,
    Pipeline,
    Score,
    Visit,
    as_of,
    feature_names,
    features,
    fit,
    material,
    probability,
    score,
    signals,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
SOURCES = ("website", "referral", "trade fair")
TRUE_SOURCE = {"website": -1.0, "referral": 1.0, "trade fair": 0.0}
TRUE_TOUCH = 0.8
"""Log-odds per touch (of 0-4 calls, meetings or e-mails before the decision)."""


def synthetic(n: int, seed: int = 7) -> list[Facts]:
    rng = random.Random(seed)
    rows: list[Facts] = []
    for i in range(n):
        source = rng.choice(SOURCES)
        started = T0 + timedelta(hours=6 * i)
        k = rng.randint(0, 4)
        touches = tuple(started + timedelta(days=1 + j) for j in range(k))
        logit = -1.6 + TRUE_SOURCE[source] + TRUE_TOUCH * k
        won = rng.random() < 1 / (1 + math.exp(-logit))
        decided = started + timedelta(days=10)
        late = (decided + timedelta(days=2),)  # after the decision: must not count
        rows.append(
            Facts(
                kind="lead",
                id=f"lead-{i:04d}",
                started_at=started,
                source=source,
                touches=touches + late,
                decided_at=decided,
                outcome=won,
            )
        )
    return rows


def test_the_fit_recovers_the_effects_it_was_drawn_with() -> None:
    rows = synthetic(1500)
    model = fit("lead", rows, Pipeline(), TODAY)
    assert model.logistic is not None
    assert model.reason == f"fitted on 1500 decided, {model.n_positive} of them won or converted"
    weights = dict(zip(model.logistic.names, model.logistic.coef, strict=True))
    assert weights["source=referral"] > weights["source=trade fair"] > weights["source=website"]
    assert weights["touches"] > 0.3
    # The probabilities themselves come back: a referral touched twice, website never touched.
    referral = Facts("lead", "r", T0, source="referral", touches=(T0, T0 + timedelta(days=1)))
    website = Facts("lead", "w", T0, source="website")
    at = T0 + timedelta(days=5)
    truth_r = 1 / (1 + math.exp(-(-1.6 + 1.0 + 2 * TRUE_TOUCH)))
    truth_w = 1 / (1 + math.exp(-(-1.6 - 1.0)))
    assert probability(model, referral, at, Pipeline()) == pytest.approx(truth_r, abs=0.08)
    assert probability(model, website, at, Pipeline()) == pytest.approx(truth_w, abs=0.05)


def test_facts_after_the_decision_are_not_features() -> None:
    row = synthetic(1)[0]
    s = signals(row, as_of(row), Pipeline())
    assert s.touches == len(row.touches) - 1
    row_features = features(row, as_of(row), Pipeline(), SOURCES)
    named = dict(zip(feature_names("lead", SOURCES), row_features, strict=True))
    assert named["touches"] == pytest.approx(math.log1p(s.touches))


def test_the_model_beats_the_source_only_baseline_on_a_time_split() -> None:
    rows = synthetic(1000)
    found = evaluate("lead", rows, Pipeline(), TODAY)
    assert (found.n_train, found.n_test) == (700, 300)
    assert found.model is not None
    assert found.baseline is not None
    assert found.model.auc > found.baseline.auc + 0.05
    assert found.model.brier < found.baseline.brier
    assert sum(b.n for b in found.model.reliability) == 300
    for b in found.model.reliability:  # calibrated: observed near predicted where it counts
        if b.n >= 40:
            assert b.observed == pytest.approx(b.predicted, abs=0.12)


def test_too_little_history_scores_by_the_documented_rules() -> None:
    rows = synthetic(MIN_DECIDED - 1)
    model = fit("lead", rows, Pipeline(), TODAY)
    assert model.logistic is None
    assert model.version == RULES_VERSION
    assert model.reason == (
        f"too little history for a fitted model: {MIN_DECIDED - 1} decided, "
        f"at least {MIN_DECIDED} are needed"
    )
    lead = Facts(
        "lead",
        "x",
        T0,
        source="referral",
        company=True,
        qualified_at=T0,
        touches=(T0 + timedelta(days=1),),
    )
    verdict = score(model, lead, T0 + timedelta(days=3), Pipeline())
    # 20 + source 10 + company 10 + qualified 20 + one touch 5
    assert (verdict.score, verdict.model) == (65, "rules")
    assert verdict.model_reason == model.reason
    assert [(r.code, r.weight) for r in verdict.reasons] == [
        ("qualified", 20.0),
        ("company", 10.0),
        ("source", 10.0),
        ("touches", 5.0),
    ]
    # One class too rare: rules as well, saying so.
    few = [Facts("lead", f"l{i}", T0, decided_at=T0, outcome=i < 3) for i in range(40)]
    assert fit("lead", few, Pipeline(), TODAY).reason.endswith(
        "3 won or converted and 37 not; at least 5 of each"
    )


def test_an_opportunity_by_the_rules_starts_at_its_stage_and_loses_when_stale() -> None:
    model = fit("opportunity", [], Pipeline(), TODAY)
    pipeline = Pipeline({"proposal": 60}, {"proposal": 5.0})
    opp = Facts(
        "opportunity",
        "o",
        T0,
        visits=(Visit("proposal", T0, None),),
        quotes_sent=(T0 + timedelta(days=1),),
    )
    verdict = score(model, opp, T0 + timedelta(days=20), pipeline)
    assert verdict.score == 60 + 10 - 15
    texts = {r.code: (r.text, r.text_zh) for r in verdict.reasons}
    assert texts["stage_age"] == (
        "20 days in proposal, usually 5",
        "在 proposal 阶段 20 天，通常 5 天",
    )
    assert texts["quote_sent"] == ("quote sent", "已发送报价")


def test_fitted_reasons_are_the_largest_contributions_in_both_languages() -> None:
    model = fit("lead", synthetic(800), Pipeline(), TODAY)
    lead = Facts("lead", "w", T0, source="website")
    verdict = score(model, lead, T0 + timedelta(days=2), Pipeline())
    assert verdict.model == "fitted"
    assert verdict.model_version.startswith(f"fitted-{TODAY}-")
    codes = [r.code for r in verdict.reasons]
    assert codes[:2] == ["touches", "source"] or codes[:2] == ["source", "touches"]
    by = {r.code: r for r in verdict.reasons}
    assert by["source"].weight < 0  # both lower it
    assert by["touches"].weight < 0
    assert (by["source"].text, by["source"].text_zh) == ("source: website", "来源：website")
    assert by["touches"].text == "no call, meeting or e-mail in 90 days"
    assert by["touches"].text_zh == "近 90 天没有通话、会议或邮件"


def test_only_a_material_change_is_news() -> None:
    first = Score(40, "rules", "", RULES_VERSION, ())
    assert material(None, first)
    assert not material(first, Score(44, "rules", "", RULES_VERSION, ()))
    assert material(first, Score(45, "rules", "", RULES_VERSION, ()))
    assert material(first, Score(40, "fitted", "", "fitted-x", ()))


def test_auc_brier_and_reliability_by_hand() -> None:
    y = [True, False, True, False, True]
    p = [0.9, 0.1, 0.4, 0.4, 0.6]
    # pairs (pos, neg): (0.9,0.1) (0.9,0.4) (0.4,0.1) (0.4,0.4)=tie (0.6,0.1) (0.6,0.4) -> 5.5/6
    assert auc(y, p) == pytest.approx(5.5 / 6)
    assert brier(y, p) == pytest.approx((0.01 + 0.01 + 0.36 + 0.16 + 0.16) / 5)
    bins = reliability(y, p, bins=2)
    assert [(b.n, b.observed) for b in bins] == [(3, pytest.approx(1 / 3)), (2, 1.0)]
    with pytest.raises(ValueError, match="both outcomes"):
        auc([True], [0.5])


def test_the_fit_as_an_event_scores_the_same_when_replayed() -> None:
    """analytics.lead_model.fitted carries the whole fit: the model rebuilt from the event
    (through JSON, as the store keeps it) has the same version and gives the same scores; a
    second fit the same day records nothing."""
    from crm.analytics.domain.lead_score import LeadModel, model_id
    from crm.events.lead_scoring import LeadModelFitted

    rows = synthetic(600)
    model = fit("lead", rows, Pipeline(), TODAY)
    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    agg = LeadModel.create(model_id("lead", "t1"))
    agg.record_fit(model, 0.81, 180, now)
    [event] = agg.changes
    assert isinstance(event, LeadModelFitted)
    assert (event.n_decided, event.holdout_auc, event.holdout_size) == (600, 0.81, 180)
    stored = LeadModelFitted.model_validate_json(event.model_dump_json())
    replayed = LeadModel.create(model_id("lead", "t1")).state.evolve(stored).model
    assert replayed is not None
    assert replayed.version == model.version
    assert replayed == model
    lead = Facts("lead", "x", T0, source="referral", touches=(T0,))
    at = T0 + timedelta(days=3)
    assert probability(replayed, lead, at, Pipeline()) == probability(model, lead, at, Pipeline())
    agg.record_fit(model, 0.81, 180, now + timedelta(hours=2))
    assert len(agg.changes) == 1
