"""Events of the tenant registry: the tenants an operator created, deactivated, activated.

Streams: ``tenant-<tenant id>``, one per tenant, each event tagged with that tenant. No
context writes them and none publishes them to a topic: the operator's ``crm tenants``
commands append them to the event store every service shares, and every service checks a
token's tenant there (:mod:`crm.kernel.tenants`). They carry no personal data.
"""

from __future__ import annotations

from pydantic import Field

from crm.events.base import DomainEvent
from crm.events.registry import event


@event("tenant.created", version=1)
class TenantCreated(DomainEvent):
    name: str = Field(min_length=1, max_length=200)
    """What people call the tenant (its id is the stream's)."""


@event("tenant.deactivated", version=1)
class TenantDeactivated(DomainEvent):
    """From now on every token of the tenant is refused (401); its data stays."""

    reason: str | None = Field(default=None, max_length=500)


@event("tenant.activated", version=1)
class TenantActivated(DomainEvent):
    """A deactivated tenant's tokens are accepted again."""
