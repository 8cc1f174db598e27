"""``GET /audit/{kind}/{record_id}``: every change of one record, by whom and when, with the
record as it was before and after each.

A record is a stream (``customer-<id>``, ``lead-<id>``, ``ticket-<id>``, ...; ``kind`` is its
category, one of the categories the running contexts write). Each of its events is one
change: its type, ``occurred_at`` (when it happened) and ``recorded_at`` (when the CRM learnt
it), the actor, the correlation id, and the record's document before and after it, computed
by the owning context's own read-model projection (the first of its projections that keeps a
document per stream of that kind) replayed over the stream alone: pure, so the same code
that builds the read model explains it. Personal data is decoded with today's keys: what was
erased reads erased in the history too.

Admins and managers only (they see every record of their tenant and its personal data); a
record of another tenant, or none, is a 404; an unknown kind a 422 naming ``kind``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from crm.events import DomainEvent, EventEnvelope
from crm.kernel.auth import Actor, Role
from crm.kernel.context import BoundedContext
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.http import Authenticator
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.projection import DocKey, Projection
from crm.kernel.read_store import Document
from crm.kernel.runtime import Runtime

AUDITORS = frozenset({Role.ADMIN, Role.MANAGER})


def _owner_key(
    projections: list[Projection], event: DomainEvent, envelope: EventEnvelope, record_id: str
) -> tuple[Projection, DocKey] | None:
    """The first projection that keeps a document for the record itself, and its key."""
    for projection in projections:
        if envelope.event_type not in projection.event_types:
            continue
        for key in projection.keys(event, envelope):
            if key[1] == record_id:
                return projection, key
    return None


def changed_fields(before: Document | None, after: Document | None) -> list[str]:
    """The top-level fields whose value the change moved."""
    old, new = before or {}, after or {}
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def history(
    projections: list[Projection],
    envelopes: list[EventEnvelope],
    events: list[DomainEvent],
    record_id: str,
) -> list[dict[str, Any]]:
    """Each event of the record's stream with the record's document before and after it."""
    out: list[dict[str, Any]] = []
    chosen: tuple[Projection, DocKey] | None = None
    doc: Document | None = None
    for envelope, event in zip(envelopes, events, strict=True):
        before = doc
        if chosen is None:
            chosen = _owner_key(projections, event, envelope, record_id)
        if chosen is not None and envelope.event_type in chosen[0].event_types:
            doc = chosen[0].evolve(chosen[1], doc, event, envelope)
        out.append(
            {
                "position": envelope.position,
                "version": envelope.stream_version,
                "event_type": envelope.event_type,
                "occurred_at": envelope.occurred_at.isoformat(),
                "recorded_at": envelope.recorded_at.isoformat(),
                "actor": envelope.actor,
                "correlation_id": str(envelope.correlation_id),
                "changed": changed_fields(before, doc),
                "before": before,
                "after": doc,
            }
        )
    return out


def owners_of(contexts: tuple[BoundedContext, ...]) -> dict[str, list[Projection]]:
    """Each stream category the contexts write, with the projections of its context."""
    return {c: list(ctx.projections) for ctx in contexts for c in ctx.categories}


async def trail(
    runtime: Runtime,
    owners: dict[str, list[Projection]],
    actor: Actor,
    kind: str,
    record_id: str,
) -> list[dict[str, Any]]:
    """Every change of the record, oldest first, if ``actor`` may read it (the one rule of
    the route and the console's page)."""
    if actor.role not in AUDITORS:
        raise Forbidden("only admins and managers read the audit trail")
    if kind not in owners:
        raise InvalidCommand("kind", f"must be one of {sorted(owners)}")
    envelopes = await runtime.store.read_stream(f"{kind}-{record_id}")
    if not envelopes or envelopes[0].tenant != actor.tenant:
        raise NotFound(f"no {kind} {record_id}")
    events = await runtime.codec.decode(envelopes)
    return history(owners[kind], envelopes, events, record_id)


def router(
    runtime: Runtime, authenticate: Authenticator, contexts: tuple[BoundedContext, ...]
) -> APIRouter:
    api = api_router(prefix="/audit", tags=["audit"])
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    owners = owners_of(contexts)

    @api.get("/{kind}/{record_id}", response_model=None)
    async def audit(
        kind: Annotated[str, Path(max_length=40)],
        record_id: Annotated[str, Path(max_length=100)],
        actor: Who,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Every change of the record, oldest first, paged (``total`` is every change)."""
        changes = await trail(runtime, owners, actor, kind, record_id)
        return {
            "kind": kind,
            "id": record_id,
            "items": changes[offset : offset + limit],
            "total": len(changes),
            "limit": limit,
            "offset": offset,
        }

    return api
