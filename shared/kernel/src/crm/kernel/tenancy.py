"""Aggregate ids qualified by their tenant.

One event store serves every tenant and stream ids are global to it. An aggregate whose id
is unique by construction (a random UUID) needs nothing more; one whose id a tenant *names*
or derives from what it names -- an SLA policy of a contract level, a calendar id, a
technician's day, a rep's target for a period, a customer's service contract (customer ids
are free text) -- would otherwise be one stream for every tenant naming it alike: one
tenant's write would block, or be read as, another's. Those aggregates are named
``<tenant>:<local id>``.

The tenant is percent-encoded, so it holds no ``:`` and the first ``:`` always ends it,
whatever the local id holds. Only stream ids carry the qualification: events, read models
(their documents are *keyed* by the qualified id, so two tenants' documents never collide,
but their ``id`` is the local one), routes and ``Location`` headers show the local id.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote, unquote

from crm.kernel.errors import InvalidCommand
from crm.kernel.event_store import AppendResult


def qualified(tenant: str, local_id: str) -> str:
    """The aggregate id of ``local_id`` within ``tenant``."""
    if not tenant:
        raise InvalidCommand("tenant", "must not be blank")
    return f"{quote(tenant, safe='')}:{local_id}"


def split_qualified(aggregate_id: str) -> tuple[str, str]:
    """``(tenant, local id)`` of a :func:`qualified` id."""
    tenant, sep, local = aggregate_id.partition(":")
    if not sep or not tenant:
        raise InvalidCommand("id", f"{aggregate_id!r} is not qualified by a tenant")
    return unquote(tenant), local


def local_id(aggregate_id: str) -> str:
    """The id the tenant knows (what events, read models and routes show)."""
    return split_qualified(aggregate_id)[1]


def tenant_own(result: AppendResult) -> AppendResult:
    """``result`` with its stream named by the local id (``slapolicy-premium``), for an
    answer whose ``id`` and ``Location`` must not show the tenant qualification."""
    category, _, aggregate_id = result.stream_id.partition("-")
    return replace(result, stream_id=f"{category}-{local_id(aggregate_id)}")
