"""``lead_scoring``: the facts the lead score needs beyond the funnel's documents, and the
scores themselves. One projection (the kernel's :class:`~crm.kernel.handlers.ByCategory`),
one collection per kind of stream, under one checkpoint:

``scoring_leads`` (one per lead)
    whether the lead gave a ``company`` and a ``title`` (the funnel keeps its source,
    campaign, owner and dates).
``scoring_touches`` (one per customer)
    ``touches``: the times of the customer's logged interactions (calls, meetings, e-mails,
    visits, chats), the latest :data:`MAX_TOUCHES`; ``count`` keeps counting.
``scoring_lead_tasks`` (one per task about a lead not yet a customer)
    ``lead_id`` and the times its occurrences were completed (a task about a customer is
    logged as the customer's interaction, counted above).
``scoring_quotes`` (one per quote)
    ``opportunity_id`` and the times it was sent.
``lead_scores`` (one per lead or opportunity, key: its id)
    the latest ``analytics.lead.scored``: ``kind``, ``score``, ``previous_score``, ``model``
    (``fitted`` or ``rules``), ``model_version``, ``model_reason``, ``reasons`` (``code``,
    ``text``, ``text_zh``, ``weight``), ``scored_at``, and ``scorings``, how many were
    recorded.
"""

from __future__ import annotations

from typing import Generic, NotRequired, TypeVar

from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.activities import SubjectKind, TaskCompleted
from crm.events.customer import InteractionLogged
from crm.events.lead_scoring import LeadScored
from crm.events.sales import LeadCaptured
from crm.events.sales_orders import QuoteSent
from crm.kernel.handlers import ByCategory, DocKey, Handlers, Model
from crm.kernel.read_store import CollectionSpec, Index

LEADS = "scoring_leads"
TOUCHES = "scoring_touches"
LEAD_TASKS = "scoring_lead_tasks"
QUOTES = "scoring_quotes"
SCORES = "lead_scores"
MAX_TOUCHES = 200
D = TypeVar("D")


class ScoringLeadDoc(TypedDict):
    id: str
    tenant: str
    company: bool
    title: bool


class TouchesDoc(TypedDict):
    id: str
    tenant: str
    touches: list[str]
    count: int


class LeadTaskDoc(TypedDict):
    id: str
    tenant: str
    lead_id: str
    completed: list[str]


class QuoteDoc(TypedDict):
    id: str
    tenant: str
    opportunity_id: str | None
    sent: list[str]


class ScoreReasonDoc(TypedDict):
    code: str
    text: str
    text_zh: str
    weight: float


class LeadScoreDoc(TypedDict):
    id: str
    tenant: str
    kind: str
    score: int
    previous_score: int | None
    model: str
    model_version: str
    model_reason: str
    reasons: list[ScoreReasonDoc]
    scored_at: str
    scorings: int
    position: NotRequired[int]


leads: Handlers[ScoringLeadDoc] = Handlers()
touches: Handlers[TouchesDoc] = Handlers()
tasks: Handlers[LeadTaskDoc] = Handlers()
quotes: Handlers[QuoteDoc] = Handlers()
scores: Handlers[LeadScoreDoc] = Handlers()


@leads(LeadCaptured)
def lead_captured(
    key: DocKey, doc: ScoringLeadDoc | None, event: LeadCaptured, envelope: EventEnvelope
) -> ScoringLeadDoc:
    return ScoringLeadDoc(
        id=key[1], tenant=envelope.tenant, company=bool(event.company), title=bool(event.title)
    )


@touches(InteractionLogged)
def interaction_logged(
    key: DocKey, doc: TouchesDoc | None, event: InteractionLogged, envelope: EventEnvelope
) -> TouchesDoc:
    new = TouchesDoc(id=key[1], tenant=envelope.tenant, touches=[], count=0)
    if doc is not None:
        new.update(doc)
    at = event.occurred_at.isoformat()
    new["touches"] = sorted([*new["touches"], at])[-MAX_TOUCHES:]
    new["count"] = new["count"] + 1
    return new


@tasks(TaskCompleted)
def task_completed(
    key: DocKey, doc: LeadTaskDoc | None, event: TaskCompleted, envelope: EventEnvelope
) -> LeadTaskDoc | None:
    if event.subject_kind is not SubjectKind.LEAD or event.customer_id is not None:
        return doc
    new = LeadTaskDoc(id=key[1], tenant=envelope.tenant, lead_id=event.subject_id, completed=[])
    if doc is not None:
        new["completed"] = list(doc["completed"])
    new["completed"] = sorted([*new["completed"], event.completed_at.isoformat()])[-MAX_TOUCHES:]
    return new


@quotes(QuoteSent)
def quote_sent(
    key: DocKey, doc: QuoteDoc | None, event: QuoteSent, envelope: EventEnvelope
) -> QuoteDoc:
    sent = [] if doc is None else list(doc["sent"])
    return QuoteDoc(
        id=key[1],
        tenant=envelope.tenant,
        opportunity_id=event.opportunity_id,
        sent=[*sent, envelope.occurred_at.isoformat()],
    )


@scores(LeadScored)
def lead_scored(
    key: DocKey, doc: LeadScoreDoc | None, event: LeadScored, envelope: EventEnvelope
) -> LeadScoreDoc:
    return LeadScoreDoc(
        id=key[1],
        tenant=envelope.tenant,
        kind=event.kind.value,
        score=event.score,
        previous_score=event.previous_score,
        model=event.model.value,
        model_version=event.model_version,
        model_reason=event.model_reason,
        reasons=[
            ScoreReasonDoc(code=r.code, text=r.text, text_zh=r.text_zh, weight=r.weight)
            for r in event.reasons
        ],
        scored_at=event.scored_at.isoformat(),
        scorings=(0 if doc is None else doc["scorings"]) + 1,
    )


class _Model(Generic[D]):
    """One kind of stream into one collection, by its handlers."""

    def __init__(self, collection: str, handlers: Handlers[D], *indexes: Index) -> None:
        self.collection = collection
        self.collections = (CollectionSpec(collection, indexes),)
        self.event_types = handlers.event_types
        self.evolve = handlers.evolve


class LeadScoringProjection(ByCategory):
    """The lead score's facts and the scores: one collection per kind of stream."""

    def __init__(self) -> None:
        models: dict[str, Model] = {
            "lead": _Model(LEADS, leads, Index(("tenant",))),
            "customer": _Model(TOUCHES, touches, Index(("tenant",))),
            "task": _Model(LEAD_TASKS, tasks, Index(("tenant",))),
            "quote": _Model(QUOTES, quotes, Index(("tenant",))),
            "leadscore": _Model(
                SCORES, scores, Index(("tenant", "kind")), Index(("tenant", "score"))
            ),
        }
        super().__init__("lead_scoring", 1, models)
