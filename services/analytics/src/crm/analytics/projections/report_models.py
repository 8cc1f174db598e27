"""``reports``: the read models behind ``/analytics/reports/...``.

Every key is computed from the event alone (so the Faust worker can route it), the documents
hold dated facts, and periods, windows ("active = ordered within 180 days") and rates are
computed at query time:

``report_revenue`` (one per tenant and month, id ``<tenant>:<YYYY-MM>``)
    ``currencies``: per currency ``orders`` and ``booked`` (orders placed that month, by the
    order's time), ``cancelled`` and ``returned`` (taken back in the month it happened),
    ``payments`` and ``collected`` (payments by their ``received_on`` date). Amounts are
    decimal strings in the currency.
``report_campaigns`` (one per campaign)
    name, channel, ``budget``, dates and ``status`` (planned, launched, ended); ``revenue``
    per currency: orders attributed to the campaign, less their cancellations and returns,
    with ``orders`` the count of those that still stand. Its leads, opportunities and wins
    come from the funnel's documents, which carry ``campaign_id``.
``report_customers`` (one per customer who ordered)
    ``orders``: ``{"order_id", "at", "amount", "status"}`` in the order placed, ``status``
    placed, cancelled or returned: the purchase history for new/active/lost and RFM.
``report_tickets`` (one per ticket)
    kind, channel, priority, ``opened_at``, ``first_response_at`` (the agent's first public
    reply), ``resolved_at`` (first resolution) and ``resolutions``, ``breaches`` (one per
    breached target and cycle), ``satisfaction`` (score 1-5) and ``group_id``. A ticket's
    later events do not carry its opening month, so service KPIs per month are counted at
    query time over these documents.

No personal data is copied: a ticket's description, comments and satisfaction comment stay out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal, NotRequired

from typing_extensions import TypedDict

from crm.analytics.projections.money import MoneyDoc, money_doc
from crm.events import DomainEvent, EventEnvelope
from crm.events.money import Money
from crm.events.sales import CampaignEnded, CampaignLaunched, CampaignPlanned
from crm.events.sales_orders import OrderCancelled, OrderPlaced, OrderReturned, PaymentRecorded
from crm.events.service_desk import (
    SatisfactionRecorded,
    SlaBreached,
    TicketAssigned,
    TicketCommented,
    TicketOpened,
    TicketReassigned,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.handlers import DocKey, Handlers, Model, stream_key
from crm.kernel.read_store import CollectionSpec, Document, Index

REVENUE = "report_revenue"
CAMPAIGNS = "report_campaigns"
CUSTOMERS = "report_customers"
TICKETS = "report_tickets"

MONEY_FIELDS = ("booked", "cancelled", "returned", "collected")
"""The amounts of a month's :class:`RevenueRow`."""


def month_key(tenant: str, month: str) -> str:
    return f"{tenant}:{month}"


def _plus(total: str, amount: Decimal) -> str:
    """A decimal string with ``amount`` added."""
    return format(Decimal(total) + amount, "f")


# -- revenue -------------------------------------------------------------------------------------


class RevenueRow(TypedDict):
    """A month's figures in one currency; amounts are decimal strings."""

    orders: int
    payments: int
    booked: str
    cancelled: str
    returned: str
    collected: str


class RevenueDoc(TypedDict):
    id: str
    tenant: str
    month: str
    currencies: dict[str, RevenueRow]


revenue: Handlers[RevenueDoc] = Handlers()


def _in_currency(
    doc: RevenueDoc | None, key: DocKey, envelope: EventEnvelope, currency: str
) -> tuple[RevenueDoc, RevenueRow]:
    """A copy of the month's document and of its row in ``currency`` to change (the row is
    put back by :func:`_with_row`)."""
    new = (
        RevenueDoc(id=key[1], tenant=envelope.tenant, month="", currencies={})
        if doc is None
        else doc.copy()
    )
    new["month"] = key[1].rpartition(":")[2]
    old = new["currencies"].get(currency)
    row = (
        old.copy()
        if old
        else RevenueRow(
            orders=0, payments=0, booked="0", cancelled="0", returned="0", collected="0"
        )
    )
    return new, row


def _with_row(new: RevenueDoc, currency: str, row: RevenueRow) -> RevenueDoc:
    new["currencies"] = {**new["currencies"], currency: row}
    return new


@revenue(OrderPlaced)
def revenue_booked(
    key: DocKey, doc: RevenueDoc | None, event: OrderPlaced, envelope: EventEnvelope
) -> RevenueDoc:
    currency = event.total.currency
    new, row = _in_currency(doc, key, envelope, currency)
    row["orders"] += 1
    row["booked"] = _plus(row["booked"], event.total.amount)
    return _with_row(new, currency, row)


@revenue(OrderCancelled)
def revenue_cancelled(
    key: DocKey, doc: RevenueDoc | None, event: OrderCancelled, envelope: EventEnvelope
) -> RevenueDoc:
    currency = event.total.currency
    new, row = _in_currency(doc, key, envelope, currency)
    row["cancelled"] = _plus(row["cancelled"], event.total.amount)
    return _with_row(new, currency, row)


@revenue(OrderReturned)
def revenue_returned(
    key: DocKey, doc: RevenueDoc | None, event: OrderReturned, envelope: EventEnvelope
) -> RevenueDoc:
    currency = event.total.currency
    new, row = _in_currency(doc, key, envelope, currency)
    row["returned"] = _plus(row["returned"], event.total.amount)
    return _with_row(new, currency, row)


@revenue(PaymentRecorded)
def revenue_collected(
    key: DocKey, doc: RevenueDoc | None, event: PaymentRecorded, envelope: EventEnvelope
) -> RevenueDoc:
    currency = event.amount.currency
    new, row = _in_currency(doc, key, envelope, currency)
    row["payments"] += 1
    row["collected"] = _plus(row["collected"], event.amount.amount)
    return _with_row(new, currency, row)


class RevenueModel:
    collection = REVENUE
    collections = (CollectionSpec(REVENUE, (Index(("tenant", "month")),)),)
    event_types = revenue.event_types
    evolve = staticmethod(revenue.evolve)


# -- campaigns -----------------------------------------------------------------------------------


class CampaignRevenue(TypedDict):
    amount: str
    orders: int
    """Attributed orders that still stand."""


class CampaignDoc(TypedDict):
    id: str
    tenant: str
    revenue: dict[str, CampaignRevenue]
    """Per currency: orders attributed to the campaign, less cancellations and returns."""
    name: NotRequired[str]
    channel: NotRequired[str]
    budget: NotRequired[MoneyDoc]
    starts_on: NotRequired[str]
    ends_on: NotRequired[str]
    status: NotRequired[Literal["planned", "launched", "ended"]]


campaigns: Handlers[CampaignDoc] = Handlers()


def _campaign(doc: CampaignDoc | None, key: DocKey, envelope: EventEnvelope) -> CampaignDoc:
    if doc is None:
        return CampaignDoc(id=key[1], tenant=envelope.tenant, revenue={})
    return doc.copy()


@campaigns(CampaignPlanned)
def campaign_planned(
    key: DocKey, doc: CampaignDoc | None, event: CampaignPlanned, envelope: EventEnvelope
) -> CampaignDoc:
    new = _campaign(doc, key, envelope)
    new.update(
        {
            "name": event.name,
            "channel": event.channel.value,
            "budget": money_doc(event.budget),
            "starts_on": event.starts_on.isoformat(),
            "ends_on": event.ends_on.isoformat(),
            "status": "planned",
        }
    )
    return new


@campaigns(CampaignLaunched)
def campaign_launched(
    key: DocKey, doc: CampaignDoc | None, event: CampaignLaunched, envelope: EventEnvelope
) -> CampaignDoc:
    new = _campaign(doc, key, envelope)
    new["status"] = "launched"
    return new


@campaigns(CampaignEnded)
def campaign_ended(
    key: DocKey, doc: CampaignDoc | None, event: CampaignEnded, envelope: EventEnvelope
) -> CampaignDoc:
    new = _campaign(doc, key, envelope)
    new["status"] = "ended"
    return new


def _attributed(new: CampaignDoc, total: Money, sign: int) -> CampaignDoc:
    row = new["revenue"].get(total.currency) or CampaignRevenue(amount="0", orders=0)
    counted = CampaignRevenue(
        amount=_plus(row["amount"], sign * total.amount), orders=row["orders"] + sign
    )
    new["revenue"] = {**new["revenue"], total.currency: counted}
    return new


@campaigns(OrderPlaced)
def campaign_order_placed(
    key: DocKey, doc: CampaignDoc | None, event: OrderPlaced, envelope: EventEnvelope
) -> CampaignDoc:
    return _attributed(_campaign(doc, key, envelope), event.total, 1)


@campaigns(OrderCancelled, OrderReturned)
def campaign_order_taken_back(
    key: DocKey,
    doc: CampaignDoc | None,
    event: OrderCancelled | OrderReturned,
    envelope: EventEnvelope,
) -> CampaignDoc:
    return _attributed(_campaign(doc, key, envelope), event.total, -1)


class CampaignsModel:
    collection = CAMPAIGNS
    collections = (CollectionSpec(CAMPAIGNS, (Index(("tenant",)),)),)
    event_types = campaigns.event_types
    evolve = staticmethod(campaigns.evolve)


# -- customers -----------------------------------------------------------------------------------


class ReportOrder(TypedDict):
    order_id: str
    at: str
    amount: MoneyDoc
    status: Literal["placed", "cancelled", "returned"]


class ReportCustomerDoc(TypedDict):
    id: str
    tenant: str
    orders: list[ReportOrder]
    """In the order placed."""


customers: Handlers[ReportCustomerDoc] = Handlers()


def _customer(
    doc: ReportCustomerDoc | None, key: DocKey, envelope: EventEnvelope
) -> ReportCustomerDoc:
    if doc is None:
        return ReportCustomerDoc(id=key[1], tenant=envelope.tenant, orders=[])
    return doc.copy()


@customers(OrderPlaced)
def customer_ordered(
    key: DocKey, doc: ReportCustomerDoc | None, event: OrderPlaced, envelope: EventEnvelope
) -> ReportCustomerDoc:
    """An order once, however often its event is applied."""
    new = _customer(doc, key, envelope)
    order_id = stream_key(CUSTOMERS, envelope)[1]
    if all(o["order_id"] != order_id for o in new["orders"]):
        order = ReportOrder(
            order_id=order_id,
            at=envelope.occurred_at.isoformat(),
            amount=MoneyDoc(amount=format(event.total.amount, "f"), currency=event.currency),
            status="placed",
        )
        new["orders"] = [*new["orders"], order]
    return new


@customers(OrderCancelled, OrderReturned)
def customer_order_taken_back(
    key: DocKey,
    doc: ReportCustomerDoc | None,
    event: OrderCancelled | OrderReturned,
    envelope: EventEnvelope,
) -> ReportCustomerDoc:
    new = _customer(doc, key, envelope)
    order_id = stream_key(CUSTOMERS, envelope)[1]
    status: Literal["cancelled", "returned"] = (
        "cancelled" if isinstance(event, OrderCancelled) else "returned"
    )
    new["orders"] = [
        ReportOrder(order_id=o["order_id"], at=o["at"], amount=o["amount"], status=status)
        if o["order_id"] == order_id
        else o
        for o in new["orders"]
    ]
    return new


class CustomersModel:
    collection = CUSTOMERS
    collections = (CollectionSpec(CUSTOMERS, (Index(("tenant",)),)),)
    event_types = customers.event_types
    evolve = staticmethod(customers.evolve)


# -- tickets -------------------------------------------------------------------------------------


class ReportBreach(TypedDict):
    target: str
    cycle: int


class ReportTicketDoc(TypedDict):
    id: str
    tenant: str
    customer_id: NotRequired[str]
    kind: NotRequired[str]
    channel: NotRequired[str]
    priority: NotRequired[str]
    opened_at: NotRequired[str]
    first_response_at: NotRequired[str | None]
    """The agent's first public reply."""
    resolved_at: NotRequired[str | None]
    """The first resolution."""
    resolutions: NotRequired[int]
    reopens: NotRequired[int]
    breaches: NotRequired[list[ReportBreach]]
    """One per breached target and cycle."""
    satisfaction: NotRequired[int | None]
    group_id: NotRequired[str | None]


tickets: Handlers[ReportTicketDoc] = Handlers()


def _ticket(doc: ReportTicketDoc | None, key: DocKey, envelope: EventEnvelope) -> ReportTicketDoc:
    return ReportTicketDoc(id=key[1], tenant=envelope.tenant) if doc is None else doc.copy()


@tickets(TicketOpened)
def ticket_opened(
    key: DocKey, doc: ReportTicketDoc | None, event: TicketOpened, envelope: EventEnvelope
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    new.update(
        {
            "customer_id": event.customer_id,
            "kind": event.kind.value,
            "channel": event.channel.value,
            "priority": event.priority.value,
            "opened_at": event.opened_at.isoformat(),
            "first_response_at": None,
            "resolved_at": None,
            "resolutions": 0,
            "reopens": 0,
            "breaches": [],
            "satisfaction": None,
            "group_id": None,
        }
    )
    return new


@tickets(TicketAssigned, TicketReassigned)
def ticket_assigned(
    key: DocKey,
    doc: ReportTicketDoc | None,
    event: TicketAssigned | TicketReassigned,
    envelope: EventEnvelope,
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    if event.group_id is not None:
        new["group_id"] = event.group_id
    return new


@tickets(TicketCommented)
def ticket_commented(
    key: DocKey, doc: ReportTicketDoc | None, event: TicketCommented, envelope: EventEnvelope
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    if event.first_response and new.get("first_response_at") is None:
        new["first_response_at"] = event.commented_at.isoformat()
    return new


@tickets(TicketResolved)
def ticket_resolved(
    key: DocKey, doc: ReportTicketDoc | None, event: TicketResolved, envelope: EventEnvelope
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    if new.get("resolved_at") is None:
        new["resolved_at"] = event.resolved_at.isoformat()
    new["resolutions"] = new.get("resolutions", 0) + 1
    return new


@tickets(TicketReopened)
def ticket_reopened(
    key: DocKey, doc: ReportTicketDoc | None, event: TicketReopened, envelope: EventEnvelope
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    new["reopens"] = new.get("reopens", 0) + 1
    return new


@tickets(SlaBreached)
def ticket_breached(
    key: DocKey, doc: ReportTicketDoc | None, event: SlaBreached, envelope: EventEnvelope
) -> ReportTicketDoc:
    """A breach once per target and cycle."""
    new = _ticket(doc, key, envelope)
    breach = ReportBreach(target=event.target.value, cycle=event.cycle)
    breaches = new.get("breaches", [])
    new["breaches"] = breaches if breach in breaches else [*breaches, breach]
    return new


@tickets(SatisfactionRecorded)
def ticket_rated(
    key: DocKey, doc: ReportTicketDoc | None, event: SatisfactionRecorded, envelope: EventEnvelope
) -> ReportTicketDoc:
    new = _ticket(doc, key, envelope)
    new["satisfaction"] = event.score
    return new


class TicketsModel:
    collection = TICKETS
    collections = (CollectionSpec(TICKETS, (Index(("tenant", "opened_at")),)),)
    event_types = tickets.event_types
    evolve = staticmethod(tickets.evolve)


# -- the projection ------------------------------------------------------------------------------


MODELS: Mapping[str, Model] = {
    m.collection: m for m in (RevenueModel(), CampaignsModel(), CustomersModel(), TicketsModel())
}
"""The read model of each collection, by its name."""


class ReportsProjection:
    name = "reports"
    version = 1
    collections = tuple(spec for m in MODELS.values() for spec in m.collections)
    event_types = frozenset[str]().union(*(m.event_types for m in MODELS.values()))
    categories = frozenset({"campaign", "order", "invoice", "ticket"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        """A campaign's or ticket's own document; an order's month, customer and campaign
        (if attributed); a payment's month (by the day it was received)."""
        tenant = envelope.tenant
        match event:
            case CampaignPlanned() | CampaignLaunched() | CampaignEnded():
                return (stream_key(CAMPAIGNS, envelope),)
            case OrderPlaced() | OrderCancelled() | OrderReturned():
                month = envelope.occurred_at.strftime("%Y-%m")
                keys: list[DocKey] = [
                    (REVENUE, month_key(tenant, month)),
                    (CUSTOMERS, event.customer_id),
                ]
                if event.campaign_id is not None:
                    keys.append((CAMPAIGNS, event.campaign_id))
                return keys
            case PaymentRecorded():
                return ((REVENUE, month_key(tenant, event.received_on.strftime("%Y-%m"))),)
        return (stream_key(TICKETS, envelope),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        return MODELS[key[0]].evolve(key, doc, event, envelope)
