"""Aggregate ids qualified by their tenant, for the desk (see :mod:`crm.kernel.tenancy`).

One event store serves every tenant and stream ids are global to it. An aggregate whose id
is unique by construction (a random UUID: tickets, visits) needs nothing more; one whose id
a tenant *names* -- the contract level of an SLA policy, a calendar id, a technician id, the
customer id of a service contract -- would otherwise be one stream for every tenant naming it
alike, so one tenant's ``premium`` policy would block (or be read as) another's, and
technicians of two tenants sharing an id would block each other's slots. Those aggregates are
named ``<tenant>:<local id>``.

The tenant is percent-encoded, so it holds no ``:`` and the first ``:`` always ends it,
whatever the local id holds. Only stream ids carry the qualification: events, read models
and routes show the local id. The functions are the kernel's, shared with sales.
"""

from __future__ import annotations

from crm.kernel.tenancy import local_id, qualified, split_qualified, tenant_own

__all__ = ["local_id", "qualified", "split_qualified", "tenant_own"]
