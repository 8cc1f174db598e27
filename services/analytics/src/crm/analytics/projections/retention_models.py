"""The ``analytics_retention`` read model: what came of each churn warning, from the
activities context's published task events (``crm.activities.events``), for the churn
report's retention figures. One document per retention task the platform opened on a churn
level change to high (kind ``retention``, origin :data:`~crm.events.activities.WARNING_ORIGIN`),
keyed by the task id: its current assignee and team, the reasons, when it was opened (and
its month), the first completion that says the customer was contacted
(:data:`~crm.events.activities.CONTACT_OUTCOMES`) and the hours to it, the latest outcome.

The same rules as the activities context's own ``activities_retention`` (its retention
report), read from the same events: analytics keeps its own copy as it does of every
context's facts, so it needs no other context's store or code. No personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.activities import (
    CONTACT_OUTCOMES,
    TaskCancelled,
    TaskCompleted,
    TaskReassigned,
    TaskScheduled,
)
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index

RETENTION = "analytics_retention"


class WarningDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    customer_id: str | None
    assignee_id: str | None
    team_id: str | None
    reasons: list[str]
    warned_at: str
    period: str
    """The UTC month of ``warned_at`` (``YYYY-MM``), what the churn report's months select."""
    status: str
    """open | done | cancelled"""
    contacted_at: str | None
    hours_to_contact: float | None
    outcome: str | None


on: Handlers[WarningDoc] = Handlers()


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@on(TaskScheduled)
def warned(
    key: DocKey, doc: WarningDoc | None, e: TaskScheduled, env: EventEnvelope
) -> WarningDoc | None:
    if not e.on_churn_warning:
        return doc
    at = _instant(e.scheduled_at)
    return WarningDoc(
        id=key[1],
        tenant=env.tenant,
        customer_id=e.customer_id,
        assignee_id=e.assignee_id,
        team_id=e.team_id,
        reasons=list(e.reasons),
        warned_at=at,
        period=at[:7],
        status="open",
        contacted_at=None,
        hours_to_contact=None,
        outcome=None,
    )


@on(TaskReassigned)
def reassigned(
    key: DocKey, doc: WarningDoc | None, e: TaskReassigned, env: EventEnvelope
) -> WarningDoc | None:
    if doc is None:
        return None
    return {**doc, "assignee_id": e.assignee_id, "team_id": e.team_id}


@on(TaskCompleted)
def completed(
    key: DocKey, doc: WarningDoc | None, e: TaskCompleted, env: EventEnvelope
) -> WarningDoc | None:
    if doc is None:
        return None
    new: WarningDoc = {**doc, "status": "done", "outcome": e.outcome.value}
    if new["contacted_at"] is None and e.outcome in CONTACT_OUTCOMES:
        new["contacted_at"] = _instant(e.completed_at)
        seconds = (e.completed_at - datetime.fromisoformat(doc["warned_at"])).total_seconds()
        new["hours_to_contact"] = round(seconds / 3600, 4)
    return new


@on(TaskCancelled)
def cancelled(
    key: DocKey, doc: WarningDoc | None, e: TaskCancelled, env: EventEnvelope
) -> WarningDoc | None:
    if doc is None:
        return None
    return {**doc, "status": "cancelled"}


class RetentionProjection:
    name = RETENTION
    version = 1
    collections = (CollectionSpec(RETENTION, (Index(("tenant", "period")),)),)
    event_types = on.event_types
    categories = frozenset({"task"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(RETENTION, envelope),)


RETENTION_PROJECTION = RetentionProjection()
