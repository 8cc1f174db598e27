"""The read models customer care looks at, projection ``activities_care_dates``:

- ``activities_care_dates``, per customer: the day of their first order (with its month and
  day for the yearly anniversary) and the instant of their latest one (``sales.order.placed``),
  the end of their service contract (``service_desk.contract.*``), the instant of the latest
  interaction logged with them (``customer.interaction_logged``; their registration until one
  is), their value tier (``analytics.value_tier.changed``), and their name, birthday and
  anniversary (``customer.registered``, ``.profile_updated``; personal data: cleared when
  the customer is erased);
- ``activities_care_complaints``, per complaint ticket: whose it is and when it was resolved
  (None while open or reopened), from ``service_desk.ticket.*``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.activities.projections.task_models import instant
from crm.events import DomainEvent, EventEnvelope
from crm.events.analytics import ValueTierChanged
from crm.events.customer import (
    CustomerErased,
    CustomerProfileUpdated,
    CustomerRegistered,
    InteractionLogged,
)
from crm.events.sales_orders import OrderPlaced
from crm.events.service_desk import (
    ContractEnded,
    ContractSigned,
    TicketKind,
    TicketOpened,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Document, Index

CARE_DATES = "activities_care_dates"
CARE_COMPLAINTS = "activities_care_complaints"


class CareDatesDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    name: str | None
    """The customer's name (personal data; None once erased)."""
    first_order_on: str | None
    anniversary: str | None
    """``MM-DD`` of the first order."""
    last_order_at: str | None
    contract_ends_on: str | None
    last_contact_at: str | None
    """The latest interaction's ``occurred_at`` (UTC ISO), or the registration's."""
    value_tier: str | None
    birthday: str | None
    """``YYYY-MM-DD`` (personal data; None once erased)."""
    birthday_md: str | None
    """Its ``MM-DD``, what a tick selects by."""
    celebration: str | None
    """The profile's ``anniversary``, ``YYYY-MM-DD`` (personal data; None once erased)."""
    celebration_md: str | None


class ComplaintDoc(TypedDict):
    id: str
    """The ticket's id."""
    tenant: Annotated[str, Field(exclude=True)]
    customer_id: str
    resolved_at: str | None


on: Handlers[CareDatesDoc] = Handlers()
complaints: Handlers[ComplaintDoc] = Handlers()


def _doc(key: DocKey, doc: CareDatesDoc | None, env: EventEnvelope) -> CareDatesDoc:
    if doc is not None:
        return doc.copy()
    return CareDatesDoc(
        id=key[1],
        tenant=env.tenant,
        name=None,
        first_order_on=None,
        anniversary=None,
        last_order_at=None,
        contract_ends_on=None,
        last_contact_at=None,
        value_tier=None,
        birthday=None,
        birthday_md=None,
        celebration=None,
        celebration_md=None,
    )


def _day(value: str | None) -> str | None:
    """``value`` if it is a ``YYYY-MM-DD`` date (an erased field reads as a marker)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _dates(new: CareDatesDoc, birthday: str | None, celebration: str | None) -> CareDatesDoc:
    new["birthday"] = _day(birthday)
    new["birthday_md"] = new["birthday"][5:] if new["birthday"] else None
    new["celebration"] = _day(celebration)
    new["celebration_md"] = new["celebration"][5:] if new["celebration"] else None
    return new


@on(OrderPlaced)
def ordered(
    key: DocKey, doc: CareDatesDoc | None, e: OrderPlaced, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    day = env.occurred_at.date()
    if new["first_order_on"] is None or day.isoformat() < new["first_order_on"]:
        new["first_order_on"] = day.isoformat()
        new["anniversary"] = day.strftime("%m-%d")
    at = instant(env.occurred_at)
    if new["last_order_at"] is None or at > new["last_order_at"]:
        new["last_order_at"] = at
    return new


@on(ContractSigned)
def signed(
    key: DocKey, doc: CareDatesDoc | None, e: ContractSigned, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["contract_ends_on"] = e.ends_on.isoformat() if e.ends_on else None
    return new


@on(ContractEnded)
def ended(
    key: DocKey, doc: CareDatesDoc | None, e: ContractEnded, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["contract_ends_on"] = None
    return new


@on(CustomerRegistered)
def registered(
    key: DocKey, doc: CareDatesDoc | None, e: CustomerRegistered, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["name"] = e.name
    _dates(new, e.birthday, e.anniversary)
    at = instant(env.occurred_at)
    if new["last_contact_at"] is None or at > new["last_contact_at"]:
        new["last_contact_at"] = at
    return new


@on(CustomerProfileUpdated)
def renamed(
    key: DocKey, doc: CareDatesDoc | None, e: CustomerProfileUpdated, env: EventEnvelope
) -> CareDatesDoc | None:
    if doc is None:
        return None
    return _dates({**doc, "name": e.name}, e.birthday, e.anniversary)


@on(CustomerErased)
def erased(
    key: DocKey, doc: CareDatesDoc | None, e: CustomerErased, env: EventEnvelope
) -> CareDatesDoc | None:
    if doc is None:
        return None
    return _dates({**doc, "name": None}, None, None)


@on(InteractionLogged)
def contacted(
    key: DocKey, doc: CareDatesDoc | None, e: InteractionLogged, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    at = instant(e.occurred_at)
    if new["last_contact_at"] is None or at > new["last_contact_at"]:
        new["last_contact_at"] = at
    return new


@on(ValueTierChanged)
def valued(
    key: DocKey, doc: CareDatesDoc | None, e: ValueTierChanged, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["value_tier"] = e.tier.value
    return new


@complaints(TicketOpened)
def complaint(
    key: DocKey, doc: ComplaintDoc | None, e: TicketOpened, env: EventEnvelope
) -> ComplaintDoc | None:
    if e.kind is not TicketKind.COMPLAINT:
        return None
    return ComplaintDoc(id=key[1], tenant=env.tenant, customer_id=e.customer_id, resolved_at=None)


@complaints(TicketResolved)
def resolved(
    key: DocKey, doc: ComplaintDoc | None, e: TicketResolved, env: EventEnvelope
) -> ComplaintDoc | None:
    if doc is None:
        return None
    return {**doc, "resolved_at": instant(e.resolved_at)}


@complaints(TicketReopened)
def reopened(
    key: DocKey, doc: ComplaintDoc | None, e: TicketReopened, env: EventEnvelope
) -> ComplaintDoc | None:
    if doc is None:
        return None
    return {**doc, "resolved_at": None}


def _evolve(
    key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
) -> Document | None:
    handlers = complaints if key[0] == CARE_COMPLAINTS else on
    return handlers.evolve(key, doc, event, envelope)


class CareDatesProjection:
    name = CARE_DATES
    version = 3
    collections = (
        CollectionSpec(
            CARE_DATES,
            (
                Index(("anniversary",)),
                Index(("contract_ends_on",)),
                Index(("last_order_at",)),
                Index(("value_tier",)),
                Index(("birthday_md",)),
                Index(("celebration_md",)),
            ),
        ),
        CollectionSpec(CARE_COMPLAINTS, (Index(("resolved_at",)),)),
    )
    event_types = on.event_types | complaints.event_types
    categories = frozenset(
        {"order", "servicecontract", "customer", "valuetier", "ticket"},
    )
    evolve = staticmethod(_evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        if envelope.category == "ticket":
            return ((CARE_COMPLAINTS, envelope.stream_id.partition("-")[2]),)
        if envelope.category == "customer":
            return ((CARE_DATES, envelope.stream_id.partition("-")[2]),)
        customer_id = getattr(event, "customer_id")  # noqa: B009 (every other event names one)
        return ((CARE_DATES, str(customer_id)),)


CARE_DATES_PROJECTION = CareDatesProjection()
