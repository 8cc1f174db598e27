"""Aggregate ids qualified by their tenant.

One event store serves every tenant and stream ids are global to it. An aggregate whose id
is unique by construction (a random UUID: tickets, visits) needs nothing more; one whose id
a tenant *names* -- the contract level of an SLA policy, a calendar id, a technician id --
would otherwise be one stream for every tenant naming it alike, so one tenant's ``premium``
policy would block (or be read as) another's, and technicians of two tenants sharing an id
would block each other's slots. Those aggregates are named ``<tenant>:<local id>``.

The tenant is percent-encoded, so it holds no ``:`` and the first ``:`` always ends it,
whatever the local id holds. Only stream ids carry the qualification: events, read models
and routes show the local id.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from crm.kernel.errors import InvalidCommand


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
