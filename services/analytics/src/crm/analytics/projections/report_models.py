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

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

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
from crm.kernel.projection import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index

REVENUE = "report_revenue"
CAMPAIGNS = "report_campaigns"
CUSTOMERS = "report_customers"
TICKETS = "report_tickets"

EVENTS: tuple[type[DomainEvent], ...] = (
    CampaignPlanned,
    CampaignLaunched,
    CampaignEnded,
    OrderPlaced,
    OrderCancelled,
    OrderReturned,
    PaymentRecorded,
    TicketOpened,
    TicketAssigned,
    TicketReassigned,
    TicketCommented,
    TicketResolved,
    TicketReopened,
    SlaBreached,
    SatisfactionRecorded,
)

MONEY_FIELDS = ("booked", "cancelled", "returned", "collected")


def month_key(tenant: str, month: str) -> str:
    return f"{tenant}:{month}"


def _stream_id(envelope: EventEnvelope) -> str:
    return envelope.stream_id.partition("-")[2]


def _add(totals: dict[str, Any], currency: str, **changes: Decimal | int) -> dict[str, Any]:
    """``totals`` (per currency) with ``changes`` added; amounts stay decimal strings."""
    row = dict(
        totals.get(currency) or {"orders": 0, "payments": 0, **{f: "0" for f in MONEY_FIELDS}}
    )
    for name, value in changes.items():
        if isinstance(value, Decimal):
            row[name] = format(Decimal(row[name]) + value, "f")
        else:
            row[name] = row[name] + value
    return {**totals, currency: row}


def _revenue(new: dict[str, Any], event: DomainEvent) -> None:
    totals: dict[str, Any] = new.get("currencies", {})
    match event:
        case OrderPlaced():
            totals = _add(totals, event.total.currency, orders=1, booked=event.total.amount)
        case OrderCancelled():
            totals = _add(totals, event.total.currency, cancelled=event.total.amount)
        case OrderReturned():
            totals = _add(totals, event.total.currency, returned=event.total.amount)
        case PaymentRecorded():
            totals = _add(totals, event.amount.currency, payments=1, collected=event.amount.amount)
    new["currencies"] = totals


def _campaign_revenue(revenue: dict[str, Any], total: Money, sign: int) -> dict[str, Any]:
    row = revenue.get(total.currency, {"amount": "0", "orders": 0})
    return {
        **revenue,
        total.currency: {
            "amount": format(Decimal(row["amount"]) + sign * total.amount, "f"),
            "orders": row["orders"] + sign,
        },
    }


def _campaign(new: dict[str, Any], event: DomainEvent) -> None:
    new.setdefault("revenue", {})
    match event:
        case CampaignPlanned():
            new.update(
                name=event.name,
                channel=event.channel.value,
                budget={
                    "amount": format(event.budget.amount, "f"),
                    "currency": event.budget.currency,
                },
                starts_on=event.starts_on.isoformat(),
                ends_on=event.ends_on.isoformat(),
                status="planned",
            )
        case CampaignLaunched():
            new["status"] = "launched"
        case CampaignEnded():
            new["status"] = "ended"
        case OrderPlaced():
            new["revenue"] = _campaign_revenue(new["revenue"], event.total, 1)
        case OrderCancelled() | OrderReturned():
            new["revenue"] = _campaign_revenue(new["revenue"], event.total, -1)


def _customer(new: dict[str, Any], event: DomainEvent, order_id: str, at: str) -> None:
    orders: list[dict[str, Any]] = list(new.get("orders", []))
    match event:
        case OrderPlaced():
            if all(o["order_id"] != order_id for o in orders):
                amount = {"amount": format(event.total.amount, "f"), "currency": event.currency}
                orders.append(
                    {"order_id": order_id, "at": at, "amount": amount, "status": "placed"}
                )
        case OrderCancelled() | OrderReturned():
            status = "cancelled" if isinstance(event, OrderCancelled) else "returned"
            orders = [{**o, "status": status} if o["order_id"] == order_id else o for o in orders]
    new["orders"] = orders


def _ticket(new: dict[str, Any], event: DomainEvent) -> None:
    match event:
        case TicketOpened():
            new.update(
                customer_id=event.customer_id,
                kind=event.kind.value,
                channel=event.channel.value,
                priority=event.priority.value,
                opened_at=event.opened_at.isoformat(),
                first_response_at=None,
                resolved_at=None,
                resolutions=0,
                reopens=0,
                breaches=[],
                satisfaction=None,
                group_id=None,
            )
        case TicketAssigned() | TicketReassigned():
            if event.group_id is not None:
                new["group_id"] = event.group_id
        case TicketCommented():
            if event.first_response and new.get("first_response_at") is None:
                new["first_response_at"] = event.commented_at.isoformat()
        case TicketResolved():
            if new.get("resolved_at") is None:
                new["resolved_at"] = event.resolved_at.isoformat()
            new["resolutions"] = new.get("resolutions", 0) + 1
        case TicketReopened():
            new["reopens"] = new.get("reopens", 0) + 1
        case SlaBreached():
            breach = {"target": event.target.value, "cycle": event.cycle}
            breaches = list(new.get("breaches", []))
            if breach not in breaches:
                breaches.append(breach)
            new["breaches"] = breaches
        case SatisfactionRecorded():
            new["satisfaction"] = event.score


class ReportsProjection:
    name = "reports"
    version = 1
    collections = (
        CollectionSpec(REVENUE, (Index(("tenant", "month")),)),
        CollectionSpec(CAMPAIGNS, (Index(("tenant",)),)),
        CollectionSpec(CUSTOMERS, (Index(("tenant",)),)),
        CollectionSpec(TICKETS, (Index(("tenant", "opened_at")),)),
    )
    event_types = frozenset(e.event_type for e in EVENTS)
    categories = frozenset({"campaign", "order", "invoice", "ticket"})

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        tenant = envelope.tenant
        match event:
            case CampaignPlanned() | CampaignLaunched() | CampaignEnded():
                return ((CAMPAIGNS, _stream_id(envelope)),)
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
        return ((TICKETS, _stream_id(envelope)),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        new: dict[str, Any] = (
            dict(doc) if doc is not None else {"id": key[1], "tenant": envelope.tenant}
        )
        collection = key[0]
        if collection == REVENUE:
            new["month"] = key[1].rpartition(":")[2]
            _revenue(new, event)
        elif collection == CAMPAIGNS:
            _campaign(new, event)
        elif collection == CUSTOMERS:
            _customer(new, event, _stream_id(envelope), envelope.occurred_at.isoformat())
        else:
            _ticket(new, event)
        return new
