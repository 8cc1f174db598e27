"""The published language of the CRM: envelopes, event payloads, their registry and schemas."""

from crm.events import (
    activities,
    analytics,
    commissions,
    custom_fields,
    customer,
    imports,
    knowledge,
    lead_scoring,
    sales,
    sales_orders,
    service_desk,
    tenants,
    users,
    visits,
    webhooks,
)
from crm.events.base import ERASED, DomainEvent, OptionalPersonal, Personal
from crm.events.envelope import EventEnvelope, EventMetadata, NewEvent
from crm.events.registry import REGISTRY, EventRegistry, UnknownEventType, event, upcaster

__all__ = [
    "ERASED",
    "REGISTRY",
    "DomainEvent",
    "EventEnvelope",
    "EventMetadata",
    "EventRegistry",
    "NewEvent",
    "OptionalPersonal",
    "Personal",
    "UnknownEventType",
    "activities",
    "analytics",
    "commissions",
    "custom_fields",
    "customer",
    "event",
    "imports",
    "knowledge",
    "lead_scoring",
    "sales",
    "sales_orders",
    "service_desk",
    "tenants",
    "upcaster",
    "users",
    "visits",
    "webhooks",
]
