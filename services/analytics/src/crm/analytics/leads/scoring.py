# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""Lead scoring: how likely a lead is to convert, or an open opportunity to be won, 0-100, with
its reasons in plain words (English and Chinese).

**Model.** A ridge logistic regression (:mod:`crm.analytics.churn.logistic`) fitted on the
tenant's own *decided* history: leads that converted (1) or were disqualified (0), and
opportunities won (1) or lost (0), one model per kind. The features (:func:`features`) are
taken **as of the decision**, from facts dated up to it (never after), so nothing of the
outcome leaks in:

- ``source=<value>``: one indicator per source seen in the training rows;
- ``campaign``: the lead (or the opportunity's lead) came in through a campaign;
- leads only: ``company`` and ``title`` given, ``qualified`` (qualified before the decision);
- ``touches``: log(1 + calls, meetings, e-mails and other interactions in the 90 days
  before), logged for the lead (its completed tasks) or its customer;
- ``silence``: log(1 + days since the last touch, at most 90), 0 when never touched (the
  lead's own age is not a feature: the history knows it only at the decision, which would
  teach the model the time to a decision, not the chance of one);
- opportunities only: ``quote_sent`` (a quote for it was sent), ``stage_probability`` (the
  pipeline's percent for its stage), ``stage_age``: log((days in the stage + 1) / (the
  pipeline's normal + 1)), the normal being the median days of the finished visits of that
  stage, and ``amount``: log(1 + amount).

**Too little history**: fewer than :data:`MIN_DECIDED` decided rows, or fewer than
:data:`MIN_EACH` of either outcome, and the score comes from :func:`rule_score`, documented
points that anyone can recompute; :class:`ScoreModel` says which (``fitted`` or ``rules``)
and why.

**Reasons**: for a fitted score, the features whose log-odds contribution against the
training average is largest (positive or negative, :data:`MAX_REASONS` at most, at least
:data:`MIN_REASON` in size), weight = that contribution; for rules, the points each rule
added. Pure: no I/O, time is passed in.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np

from crm.analytics.churn.logistic import LogisticModel, fit_logistic

Kind = Literal["lead", "opportunity"]
ModelKind = Literal["fitted", "rules"]
KINDS: tuple[Kind, ...] = ("lead", "opportunity")

MIN_DECIDED = 30
MIN_EACH = 5
L2 = 1.0
WINDOW_DAYS = 90
"""Touches are counted over this many days before the moment scored."""
DEFAULT_NORMAL_DAYS = 14.0
"""A stage's normal stay when no finished visit of it is known."""
MAX_REASONS = 4
MIN_REASON = 0.05
RULES_VERSION = "rules-1"

COMMON: tuple[str, ...] = ("campaign", "touches", "silence")
LEAD_ONLY: tuple[str, ...] = ("company", "title", "qualified")
OPPORTUNITY_ONLY: tuple[str, ...] = ("quote_sent", "stage_probability", "stage_age", "amount")


@dataclass(frozen=True)
class Visit:
    stage: str
    entered_at: datetime
    exited_at: datetime | None


@dataclass(frozen=True)
class Facts:
    """What is known of one lead or opportunity (every dated fact, filtered by time when the
    features are taken)."""

    kind: Kind
    id: str
    started_at: datetime
    """Captured (a lead) or opened (an opportunity)."""
    source: str | None = None
    campaign: bool = False
    company: bool = False
    title: bool = False
    qualified_at: datetime | None = None
    touches: tuple[datetime, ...] = ()
    quotes_sent: tuple[datetime, ...] = ()
    visits: tuple[Visit, ...] = ()
    amount: float = 0.0
    decided_at: datetime | None = None
    outcome: bool | None = None
    """Converted or won (True), disqualified or lost (False), undecided (None)."""


@dataclass(frozen=True)
class Pipeline:
    """The tenant's stages: their percent and their normal stay in days."""

    probabilities: Mapping[str, int] = field(default_factory=dict)
    normals: Mapping[str, float] = field(default_factory=dict)

    def normal(self, stage: str) -> float:
        return self.normals.get(stage, DEFAULT_NORMAL_DAYS)


def normals_of(visits: Iterable[Visit], before: datetime | None = None) -> dict[str, float]:
    """Per stage, the median days of its finished visits (those ended before ``before``)."""
    days: dict[str, list[float]] = {}
    for v in visits:
        if v.exited_at is None or (before is not None and v.exited_at >= before):
            continue
        days.setdefault(v.stage, []).append(_days(v.exited_at - v.entered_at))
    return {stage: float(statistics.median(d)) for stage, d in days.items()}


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    text_zh: str
    weight: float
    """The log-odds it adds (fitted) or the points (rules); negative: it lowers the score."""


@dataclass(frozen=True)
class Score:
    score: int
    model: ModelKind
    model_reason: str
    """Why this model: what it was fitted on, or why the rules score."""
    model_version: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class ScoreModel:
    """A tenant's model for one kind: a fitted regression, or the rules (with why)."""

    kind: Kind
    logistic: LogisticModel | None
    reason: str
    n_decided: int = 0
    n_positive: int = 0
    fitted_on: date | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        if self.logistic is None:
            return ()
        return tuple(n[len("source=") :] for n in self.logistic.names if n.startswith("source="))

    @property
    def version(self) -> str:
        if self.logistic is None:
            return RULES_VERSION
        digest = hashlib.sha256(repr(self.logistic.to_dict()).encode()).hexdigest()[:8]
        return f"fitted-{self.fitted_on}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": "rules" if self.logistic is None else "fitted",
            "version": self.version,
            "reason": self.reason,
            "n_decided": self.n_decided,
            "n_positive": self.n_positive,
            "fitted_on": None if self.fitted_on is None else self.fitted_on.isoformat(),
            "weights": (
                {}
                if self.logistic is None
                else {
                    n: round(c, 4)
                    for n, c in zip(self.logistic.names, self.logistic.coef, strict=True)
                }
            ),
        }


def _days(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds() / 86400.0)


def stage_at(facts: Facts, at: datetime) -> Visit | None:
    """The visit the opportunity was in at ``at`` (the last one entered before it)."""
    current: Visit | None = None
    for v in facts.visits:
        if v.entered_at <= at:
            current = v
    return current


def as_of(facts: Facts) -> datetime:
    """The moment a decided row's features are taken: its decision (facts dated up to it
    count, later ones do not; an open row is taken at now, which the caller passes). Up to
    and including it, because a lead is qualified and converted in one sitting as often as
    not, and a qualification at the moment of the conversion still came before it."""
    assert facts.decided_at is not None
    return facts.decided_at


@dataclass(frozen=True)
class Signals:
    """The plain values behind the features at one moment (for reasons and rules)."""

    touches: int
    silence_days: int | None
    qualified: bool
    quote_sent: bool
    stage: str | None
    stage_days: int
    normal_days: float
    probability: int


def signals(facts: Facts, at: datetime, pipeline: Pipeline) -> Signals:
    window = at - timedelta(days=WINDOW_DAYS)
    before = [t for t in facts.touches if t <= at]
    recent = [t for t in before if t > window]
    visit = stage_at(facts, at) if facts.kind == "opportunity" else None
    stage = visit.stage if visit else None
    return Signals(
        touches=len(recent),
        silence_days=math.floor(_days(at - max(before))) if before else None,
        qualified=facts.qualified_at is not None and facts.qualified_at <= at,
        quote_sent=any(q <= at for q in facts.quotes_sent),
        stage=stage,
        stage_days=math.floor(_days(at - visit.entered_at)) if visit else 0,
        normal_days=pipeline.normal(stage) if stage else DEFAULT_NORMAL_DAYS,
        probability=pipeline.probabilities.get(stage, 0) if stage else 0,
    )


def feature_names(kind: Kind, sources: Sequence[str]) -> tuple[str, ...]:
    own = LEAD_ONLY if kind == "lead" else OPPORTUNITY_ONLY
    return (*(f"source={s}" for s in sources), *COMMON, *own)


def features(facts: Facts, at: datetime, pipeline: Pipeline, sources: Sequence[str]) -> list[float]:
    """The row of :func:`feature_names` for ``facts`` at ``at`` (see the module docstring)."""
    s = signals(facts, at, pipeline)
    values: dict[str, float] = {f"source={v}": float(facts.source == v) for v in sources}
    values["campaign"] = float(facts.campaign)
    values["touches"] = math.log1p(s.touches)
    values["silence"] = 0.0 if s.silence_days is None else math.log1p(min(90, s.silence_days))
    values["company"] = float(facts.company)
    values["title"] = float(facts.title)
    values["qualified"] = float(s.qualified)
    values["quote_sent"] = float(s.quote_sent)
    values["stage_probability"] = s.probability / 100.0
    values["stage_age"] = math.log((s.stage_days + 1.0) / (s.normal_days + 1.0))
    values["amount"] = math.log1p(max(0.0, facts.amount))
    return [values[n] for n in feature_names(facts.kind, sources)]


def decided(rows: Iterable[Facts]) -> list[Facts]:
    """The rows with an outcome, oldest decision first."""
    found = [f for f in rows if f.outcome is not None and f.decided_at is not None]
    return sorted(found, key=lambda f: (f.decided_at or f.started_at, f.id))


def too_little(rows: Sequence[Facts]) -> str | None:
    """Why ``rows`` (decided) are too few to fit, or None."""
    positive = sum(1 for f in rows if f.outcome)
    negative = len(rows) - positive
    if len(rows) < MIN_DECIDED:
        return f"{len(rows)} decided, at least {MIN_DECIDED} are needed"
    if positive < MIN_EACH or negative < MIN_EACH:
        return f"{positive} won or converted and {negative} not; at least {MIN_EACH} of each"
    return None


def fit(
    kind: Kind,
    history: Iterable[Facts],
    pipeline: Pipeline,
    today: date,
    *,
    sources_only: bool = False,
    l2: float = L2,
) -> ScoreModel:
    """The tenant's model for ``kind``: fitted on the decided rows of ``history``, or the
    rules when there are too few (:func:`too_little`). ``sources_only``: the naive baseline,
    a regression on the source indicators alone."""
    rows = [f for f in decided(history) if f.kind == kind]
    positive = sum(1 for f in rows if f.outcome)
    why = too_little(rows)
    if why is not None:
        return ScoreModel(kind, None, f"too little history for a fitted model: {why}", len(rows))
    sources = sorted({f.source for f in rows if f.source})
    names = feature_names(kind, sources)
    x = np.array([features(f, as_of(f), pipeline, sources) for f in rows], dtype=np.float64)
    y = np.array([1.0 if f.outcome else 0.0 for f in rows])
    if sources_only:
        keep = [i for i, n in enumerate(names) if n.startswith("source=")]
        names = tuple(names[i] for i in keep)
        x = x[:, keep]
    logistic = fit_logistic(names, x.reshape(len(rows), len(names)), y, l2=l2)
    reason = f"fitted on {len(rows)} decided, {positive} of them won or converted"
    return ScoreModel(kind, logistic, reason, len(rows), positive, today)


def probability(model: ScoreModel, facts: Facts, at: datetime, pipeline: Pipeline) -> float:
    """P(converted or won) by a fitted model."""
    assert model.logistic is not None
    row = features(facts, at, pipeline, model.sources)
    names = model.logistic.names
    full = feature_names(facts.kind, model.sources)
    picked = [row[full.index(n)] for n in names]
    return float(model.logistic.predict(picked)[0])


# -- reasons ---------------------------------------------------------------------------------


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def reason_text(code: str, facts: Facts, s: Signals) -> tuple[str, str]:
    """The plain words of a reason code for this row, in English and Chinese."""
    if code == "source":
        if facts.source:
            return f"source: {facts.source}", f"来源：{facts.source}"
        return "no source given", "未填写来源"
    if code == "campaign":
        if facts.campaign:
            return "came in through a campaign", "来自营销活动"
        return "not from a campaign", "非营销活动带来"
    if code == "company":
        return (
            ("company given", "已填写公司") if facts.company else ("no company given", "未填写公司")
        )
    if code == "title":
        if facts.title:
            return "job title given", "已填写职位"
        return "no job title", "未填写职位"
    if code == "qualified":
        return ("qualified", "已确认合格") if s.qualified else ("not qualified yet", "尚未确认合格")
    if code == "touches":
        if s.touches == 0:
            return (
                f"no call, meeting or e-mail in {WINDOW_DAYS} days",
                f"近 {WINDOW_DAYS} 天没有通话、会议或邮件",
            )
        word = _plural(s.touches, "call, meeting or e-mail", "calls, meetings or e-mails")
        return (
            f"{s.touches} {word} in {WINDOW_DAYS} days",
            f"近 {WINDOW_DAYS} 天 {s.touches} 次通话、会议或邮件",
        )
    if code == "silence":
        if s.silence_days is None:
            return "never contacted", "从未联系"
        d = s.silence_days
        return f"last contact {d} {_plural(d, 'day', 'days')} ago", f"上次联系在 {d} 天前"
    if code == "quote_sent":
        return ("quote sent", "已发送报价") if s.quote_sent else ("no quote sent", "未发送报价")
    if code == "stage_probability":
        return (
            f"stage {s.stage} ({s.probability} % in the pipeline)",
            f"处于 {s.stage} 阶段（管道概率 {s.probability}%）",
        )
    if code == "stage_age":
        normal = round(s.normal_days)
        return (
            f"{s.stage_days} {_plural(s.stage_days, 'day', 'days')} in {s.stage}, usually {normal}",
            f"在 {s.stage} 阶段 {s.stage_days} 天，通常 {normal} 天",
        )
    if code == "amount":
        return f"amount {facts.amount:,.0f}", f"金额 {facts.amount:,.0f}"
    raise ValueError(f"no text for reason {code}")


def _code(feature: str) -> str:
    return "source" if feature.startswith("source=") else feature


def _fitted_score(model: ScoreModel, facts: Facts, at: datetime, pipeline: Pipeline) -> Score:
    assert model.logistic is not None
    p = probability(model, facts, at, pipeline)
    full = feature_names(facts.kind, model.sources)
    row = features(facts, at, pipeline, model.sources)
    picked = [row[full.index(n)] for n in model.logistic.names]
    by_code: dict[str, float] = {}
    for name, c in model.logistic.contributions(picked).items():
        by_code[_code(name)] = by_code.get(_code(name), 0.0) + c
    s = signals(facts, at, pipeline)
    ranked = sorted(by_code.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    reasons = tuple(
        Reason(code, *reason_text(code, facts, s), round(c, 3))
        for code, c in ranked[:MAX_REASONS]
        if abs(c) >= MIN_REASON
    )
    score = max(0, min(100, round(100.0 * p)))
    return Score(score, "fitted", model.reason, model.version, reasons)


RULE_POINTS: Mapping[str, int] = {
    "lead_base": 20,
    "source": 10,
    "campaign": 10,
    "company": 10,
    "title": 5,
    "qualified": 20,
    "touch": 5,
    "touches_max": 20,
    "silence": -10,
    "quote_sent": 10,
    "stage_age": -15,
}
"""The rules' points (see :func:`rule_score`)."""
SILENT_DAYS = 30
STALE_FACTOR = 2.0


def rule_score(facts: Facts, at: datetime, pipeline: Pipeline, why: str) -> Score:
    """The documented rules. A lead starts at 20 and gets +10 for a source, +10 for a
    campaign, +10 for a company, +5 for a job title, +20 once qualified; an opportunity starts
    at its stage's percent and gets +10 for a sent quote and -15 after more than twice its
    stage's normal stay. Both get +5 a touch in 90 days (at most +20) and -10 after more than
    30 days without one (once touched). Clamped to 0-100."""
    s = signals(facts, at, pipeline)
    p = RULE_POINTS
    points: list[tuple[str, int]] = []
    if facts.kind == "lead":
        base = p["lead_base"]
        if facts.source:
            points.append(("source", p["source"]))
        if facts.company:
            points.append(("company", p["company"]))
        if facts.title:
            points.append(("title", p["title"]))
        if s.qualified:
            points.append(("qualified", p["qualified"]))
    else:
        base = s.probability
        if s.quote_sent:
            points.append(("quote_sent", p["quote_sent"]))
        if s.stage and s.stage_days > STALE_FACTOR * s.normal_days:
            points.append(("stage_age", p["stage_age"]))
    if facts.campaign:
        points.append(("campaign", p["campaign"]))
    if s.touches:
        points.append(("touches", min(p["touches_max"], p["touch"] * s.touches)))
    if s.silence_days is not None and s.silence_days > SILENT_DAYS:
        points.append(("silence", p["silence"]))
    score = max(0, min(100, base + sum(v for _, v in points)))
    ranked = sorted(points, key=lambda kv: (-abs(kv[1]), kv[0]))
    reasons = tuple(
        Reason(code, *reason_text(code, facts, s), float(v)) for code, v in ranked[:MAX_REASONS]
    )
    if facts.kind == "opportunity" and s.stage:
        code = "stage_probability"
        reasons = (Reason(code, *reason_text(code, facts, s), float(base)), *reasons)
    return Score(score, "rules", why, RULES_VERSION, reasons[:MAX_REASONS])


def score(model: ScoreModel, facts: Facts, at: datetime, pipeline: Pipeline) -> Score:
    """The row's score at ``at`` by the tenant's model (fitted) or the rules."""
    if model.logistic is None:
        return rule_score(facts, at, pipeline, model.reason)
    return _fitted_score(model, facts, at, pipeline)


MATERIAL_POINTS = 5
"""A score that moved by fewer points, with the same reasons and model, is not news."""


def material(previous: Score | None, new: Score) -> bool:
    """Whether ``new`` is worth recording after ``previous`` (None: never scored)."""
    if previous is None:
        return True
    return (
        abs(previous.score - new.score) >= MATERIAL_POINTS
        or previous.model != new.model
        or {r.code for r in previous.reasons} != {r.code for r in new.reasons}
    )
