"""The retention report's read model, projection ``activities_retention``: one document per
churn warning, that is per retention task the platform opened because a customer's churn
risk became high (kind ``retention``, origin the customer's ``churnrisk-`` stream; a
retention task a person planned is not a warning), from the task events.

``warned_at`` is when the task was opened; ``contacted_at`` the first completion whose
outcome says the customer was spoken to (:data:`CONTACT_OUTCOMES`: reached, offer made, won
back, lost; no answer is not a contact), and ``hours_to_contact`` the hours between the two;
``outcome`` the latest completion's. The warning is the current assignee's (a reassigned task
moves to its new assignee, and to the team of the manager who reassigned it), as the tasks'
access rule has it. No personal data (no title, no note).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.activities.projections.task_models import instant
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

RETENTION = "activities_retention"


class RetentionDoc(TypedDict):
    id: str
    """The retention task's id."""
    tenant: Annotated[str, Field(exclude=True)]
    customer_id: str | None
    assignee_id: str | None
    """None: the team's queue (a customer in the shared pool)."""
    owner_id: Annotated[str | None, Field(exclude=True)]
    """The assignee, under the name the access policy filters by."""
    team_id: str | None
    reasons: list[str]
    warned_at: str
    warned_on: str
    """The UTC day of ``warned_at`` (``YYYY-MM-DD``), what the report's window selects."""
    status: str
    """open | done | cancelled"""
    contacted_at: str | None
    hours_to_contact: float | None
    outcome: str | None


on: Handlers[RetentionDoc] = Handlers()


@on(TaskScheduled)
def warned(
    key: DocKey, doc: RetentionDoc | None, e: TaskScheduled, env: EventEnvelope
) -> RetentionDoc | None:
    if not e.on_churn_warning:
        return doc
    at = instant(e.scheduled_at)
    return RetentionDoc(
        id=key[1],
        tenant=env.tenant,
        customer_id=e.customer_id,
        assignee_id=e.assignee_id,
        owner_id=e.assignee_id,
        team_id=e.team_id,
        reasons=list(e.reasons),
        warned_at=at,
        warned_on=at[:10],
        status="open",
        contacted_at=None,
        hours_to_contact=None,
        outcome=None,
    )


@on(TaskReassigned)
def reassigned(
    key: DocKey, doc: RetentionDoc | None, e: TaskReassigned, env: EventEnvelope
) -> RetentionDoc | None:
    if doc is None:
        return None
    return {**doc, "assignee_id": e.assignee_id, "owner_id": e.assignee_id, "team_id": e.team_id}


@on(TaskCompleted)
def completed(
    key: DocKey, doc: RetentionDoc | None, e: TaskCompleted, env: EventEnvelope
) -> RetentionDoc | None:
    if doc is None:
        return None
    new = doc.copy()
    new["status"] = "done"
    new["outcome"] = e.outcome.value
    if new["contacted_at"] is None and e.outcome in CONTACT_OUTCOMES:
        new["contacted_at"] = instant(e.completed_at)
        seconds = (e.completed_at - datetime_of(doc["warned_at"])).total_seconds()
        new["hours_to_contact"] = round(seconds / 3600, 4)
    return new


@on(TaskCancelled)
def cancelled(
    key: DocKey, doc: RetentionDoc | None, e: TaskCancelled, env: EventEnvelope
) -> RetentionDoc | None:
    if doc is None:
        return None
    return {**doc, "status": "cancelled"}


def datetime_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


class RetentionProjection:
    name = RETENTION
    version = 1
    collections = (CollectionSpec(RETENTION, (Index(("tenant", "warned_on")),)),)
    event_types = on.event_types
    categories = frozenset({"task"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(RETENTION, envelope),)


RETENTION_PROJECTION = RetentionProjection()
