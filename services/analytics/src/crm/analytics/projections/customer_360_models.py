"""``customer_360``: one document per customer, joining what every context says about them.

Three collections, fed by one projection (this module's :class:`Customer360Projection`) so that
a rebuild and a read-your-writes wait cover the whole view at once:

``customer_360`` (key: customer id)
    Profile, owner, tags and region (customer events); orders (count, net spend per currency,
    first/last date, the most recent order dates, distinct purchase days and the average
    interval between them); payments collected; open and overdue invoices (overdue from
    ``sales.invoice.overdue``, cleared when paid or voided); tickets as far as their events
    name the customer (opened, complaint dates, satisfaction last and previous); interactions
    (last contact, counts per channel); a timeline of the latest events across contexts (no
    personal data: a line per event type); the latest churn assessment and the history of
    churn levels (analytics' own ``analytics.churn_risk.*`` events). Stored rules, documented
    here because analysts filter on them:

    * ``segment`` by number of distinct purchase days: ``prospect`` (none), ``new`` (1),
      ``repeat`` (2-4), ``loyal`` (5 or more). Recency is left to the churn level, which is
      re-assessed daily: a stored field can never depend on the wall clock.
    * ``value_tier`` by net spend in the customer's main currency (the one they spent most
      in): ``none`` (nothing), ``bronze`` (< 1 000), ``silver`` (< 10 000), ``gold``.
    * ``spend`` is that main-currency net spend as a number, for range filters and sorting.

``analytics_opportunities`` (key: opportunity id; :mod:`.opportunity_models`)
    ``stage_changed``, ``won`` and ``lost`` do not name the customer, so an opportunity is its
    own document (customer and owner from ``opened``): stage, amount, probability, status,
    the stages it went through. The API joins them to the customer at query time.

``analytics_tickets`` (key: ticket id; :mod:`.ticket_models`)
    Likewise for tickets: ``resolved``, ``closed``, ``reopened`` and ``sla_breached`` do not
    name the customer. Status, kind, resolution time and SLA breaches per ticket.

Every key comes from the event and its envelope alone (a stream id or a ``customer_id``
field), so the projection runs unchanged in the Faust worker, partitioned by document key.
Windows such as "complaints in the last 90 days" are computed at query time from the dated
facts stored here (see :func:`crm.analytics.application.customer_view.view`), never from the
wall clock in ``evolve``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from crm.analytics.projections.opportunity_models import OPPORTUNITIES, OpportunitiesModel
from crm.analytics.projections.ticket_models import TICKETS, TicketsModel
from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.events.analytics import ChurnLevel, ChurnRiskAssessed, ChurnRiskLevelChanged
from crm.events.customer import (
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
)
from crm.events.money import Money
from crm.events.sales import OpportunityOpened
from crm.events.sales_orders import (
    InvoiceIssued,
    InvoiceOverdue,
    InvoicePaid,
    InvoiceVoided,
    OrderCancelled,
    OrderPlaced,
    OrderReturned,
    PaymentRecorded,
)
from crm.events.service_desk import (
    SatisfactionRecorded,
    TicketCommented,
    TicketKind,
    TicketOpened,
)
from crm.kernel.projection import DocKey
from crm.kernel.read_store import CollectionSpec, Document, Index

CUSTOMERS = "customer_360"

TIMELINE_LENGTH = 30
ORDER_DATES = 100
COMPLAINT_DATES = 50
OVERDUE_DATES = 50
CHURN_HISTORY = 20

TIERS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(10_000), "gold"),
    (Decimal(1_000), "silver"),
    (Decimal("0.01"), "bronze"),
)

CUSTOMER_EVENTS: tuple[type[DomainEvent], ...] = (
    CustomerRegistered,
    CustomerProfileUpdated,
    CustomerOwnerAssigned,
    CustomerReleasedToPool,
    CustomerClaimedFromPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
    CustomerErased,
    OpportunityOpened,
    OrderPlaced,
    OrderCancelled,
    OrderReturned,
    InvoiceIssued,
    PaymentRecorded,
    InvoicePaid,
    InvoiceOverdue,
    InvoiceVoided,
    TicketOpened,
    TicketCommented,
    SatisfactionRecorded,
    ChurnRiskAssessed,
    ChurnRiskLevelChanged,
)
"""Event types that name the customer (or are on the customer's own stream)."""

CONTEXT_OF_CATEGORY = {
    "customer": "customer",
    "opportunity": "sales",
    "order": "sales",
    "invoice": "sales",
    "ticket": "service-desk",
    "churnrisk": "analytics",
}


def _stream_key(envelope: EventEnvelope) -> str:
    return envelope.stream_id.partition("-")[2]


def add_money(totals: Mapping[str, str], money: Money, sign: int = 1) -> dict[str, str]:
    new = dict(totals)
    new[money.currency] = str(Decimal(new.get(money.currency, "0")) + sign * money.amount)
    return new


def segment_of(purchase_days: int) -> str:
    if purchase_days == 0:
        return "prospect"
    if purchase_days == 1:
        return "new"
    return "repeat" if purchase_days < 5 else "loyal"


def main_spend(totals: Mapping[str, str]) -> tuple[str | None, Decimal]:
    """The currency the customer spent most in, and that spend (ties: alphabetical)."""
    if not totals:
        return None, Decimal(0)
    currency = max(sorted(totals), key=lambda c: Decimal(totals[c]))
    return currency, Decimal(totals[currency])


def tier_of(spend: Decimal) -> str:
    for floor, tier in TIERS:
        if spend >= floor:
            return tier
    return "none"


def describe(event: DomainEvent) -> str:
    """A timeline line, free of personal data (it outlives an erasure unchanged)."""
    match event:
        case CustomerRegistered():
            return f"registered ({event.kind.value})"
        case CustomerProfileUpdated():
            return "profile updated: " + ", ".join(event.changed)
        case CustomerOwnerAssigned() | CustomerClaimedFromPool():
            return f"owner set to {event.owner_id}"
        case CustomerReleasedToPool():
            return "released to the shared pool"
        case CustomerTagged():
            return f"tagged {event.tag}"
        case CustomerUntagged():
            return f"untagged {event.tag}"
        case InteractionLogged():
            return f"{event.direction.value} {event.channel.value}"
        case CustomerErased():
            return "personal data erased"
        case OpportunityOpened():
            return f"opportunity opened at {event.stage} ({event.amount})"
        case OrderPlaced():
            return f"order placed ({event.total})"
        case OrderCancelled():
            return f"order cancelled ({event.total})"
        case OrderReturned():
            return f"order returned ({event.total})"
        case InvoiceIssued():
            return f"invoice issued ({event.amount}, due {event.due_date})"
        case PaymentRecorded():
            return f"payment received ({event.amount})"
        case InvoicePaid():
            return f"invoice paid ({event.amount})"
        case InvoiceOverdue():
            return f"invoice overdue ({event.balance} due {event.due_date})"
        case InvoiceVoided():
            return f"invoice voided ({event.amount})"
        case TicketOpened():
            return f"{event.kind.value.replace('_', ' ')} opened ({event.priority.value})"
        case TicketCommented():
            return "customer wrote on a ticket" if event.from_customer else "ticket answered"
        case SatisfactionRecorded():
            return f"satisfaction {event.score}/5"
        case ChurnRiskLevelChanged():
            return f"churn risk {event.previous_level or 'new'} -> {event.level.value}"
    return event.event_type


def _new_customer(key: str, tenant: str) -> dict[str, Any]:
    return {
        "id": key,
        "tenant": tenant,
        "registered": False,
        "name": None,
        "email": None,
        "kind": None,
        "company": None,
        "region": None,
        "source": None,
        "owner_id": None,
        "tags": [],
        "registered_at": None,
        "erased": False,
        "segment": "prospect",
        "value_tier": "none",
        "spend": 0.0,
        "spend_currency": None,
        "orders": {
            "count": 0,
            "cancelled": 0,
            "returned": 0,
            "totals": {},
            "first_at": None,
            "last_at": None,
            "recent": [],
            "purchase_days": 0,
            "average_interval_days": None,
        },
        "payments": {"count": 0, "collected": {}, "last_on": None},
        "invoices": {
            "open": {},
            "open_count": 0,
            "open_amount": {},
            "overdue_count": 0,
            "overdue_amount": {},
            "overdue_dates": [],
        },
        "tickets": {
            "opened": 0,
            "by_kind": {},
            "complaint_dates": [],
            "satisfaction": {"last": None, "previous": None, "at": None},
        },
        "interactions": {"count": 0, "by_channel": {}, "last_at": None},
        "opportunities_opened": 0,
        "timeline": [],
        "churn": None,
        "churn_history": [],
        "sources": {},
        "updated_position": 0,
        "assessed_position": 0,
        "last_activity_at": None,
    }


def _summarise_invoices(invoices: dict[str, Any]) -> None:
    open_amount: dict[str, str] = {}
    overdue_amount: dict[str, str] = {}
    overdue = 0
    for inv in invoices["open"].values():
        balance = Money.of(inv["balance"], inv["currency"])
        open_amount = add_money(open_amount, balance)
        if inv["overdue"]:
            overdue += 1
            overdue_amount = add_money(overdue_amount, balance)
    invoices.update(
        open_count=len(invoices["open"]),
        open_amount=open_amount,
        overdue_count=overdue,
        overdue_amount=overdue_amount,
    )


def _place_order(orders: dict[str, Any], at: datetime, total: Money) -> None:
    at = at.astimezone(UTC)  # stored times are UTC, so their strings sort and slice by day
    stamp = at.isoformat()
    day = at.date().isoformat()
    known_days = {o["at"][:10] for o in orders["recent"]}
    known_days.update(d[:10] for d in (orders["first_at"], orders["last_at"]) if d)
    if day not in known_days:
        orders["purchase_days"] += 1
    orders["count"] += 1
    orders["totals"] = add_money(orders["totals"], total)
    entry = {"at": stamp, "amount": str(total.amount), "currency": total.currency}
    orders["recent"] = sorted([*orders["recent"], entry], key=lambda o: o["at"])[-ORDER_DATES:]
    first = orders["first_at"]
    orders["first_at"] = stamp if first is None or stamp < first else first
    last = orders["last_at"]
    orders["last_at"] = stamp if last is None or stamp > last else last
    if orders["purchase_days"] > 1:
        span = datetime.fromisoformat(orders["last_at"]) - datetime.fromisoformat(
            orders["first_at"]
        )
        orders["average_interval_days"] = round(
            span.total_seconds() / 86400 / (orders["purchase_days"] - 1), 1
        )


def _evolve_customer(new: dict[str, Any], event: DomainEvent, envelope: EventEnvelope) -> None:
    at = envelope.occurred_at
    match event:
        case CustomerRegistered():
            new.update(
                registered=True,
                name=event.name,
                email=event.email,
                kind=event.kind.value,
                company=event.company,
                region=event.region,
                source=event.source,
                owner_id=event.owner_id,
                tags=sorted(event.tags),
                registered_at=at.isoformat(),
            )
        case CustomerProfileUpdated():
            new.update(
                name=event.name,
                email=event.email,
                kind=event.kind.value,
                company=event.company,
                region=event.region,
                source=event.source,
            )
        case CustomerOwnerAssigned() | CustomerClaimedFromPool():
            new["owner_id"] = event.owner_id
        case CustomerReleasedToPool():
            new["owner_id"] = None
        case CustomerTagged():
            new["tags"] = sorted({*new["tags"], event.tag})
        case CustomerUntagged():
            new["tags"] = [t for t in new["tags"] if t != event.tag]
        case InteractionLogged():
            stats = new["interactions"]
            channel = event.channel.value
            stats["count"] += 1
            stats["by_channel"][channel] = stats["by_channel"].get(channel, 0) + 1
            when = event.occurred_at.isoformat()
            if stats["last_at"] is None or when > stats["last_at"]:
                stats["last_at"] = when
        case CustomerErased():
            new.update(
                name=ERASED if new["name"] else None,
                email=ERASED if new["email"] else None,
                erased=True,
            )
        case OpportunityOpened():
            new["opportunities_opened"] += 1
        case OrderPlaced():
            _place_order(new["orders"], at, event.total)
        case OrderCancelled() | OrderReturned():
            orders = new["orders"]
            orders["cancelled" if isinstance(event, OrderCancelled) else "returned"] += 1
            orders["totals"] = add_money(orders["totals"], event.total, -1)
        case InvoiceIssued():
            new["invoices"]["open"][_stream_key(envelope)] = {
                "amount": str(event.amount.amount),
                "currency": event.amount.currency,
                "balance": str(event.amount.amount),
                "due_date": event.due_date.isoformat(),
                "overdue": False,
            }
        case PaymentRecorded():
            payments = new["payments"]
            payments["count"] += 1
            payments["collected"] = add_money(payments["collected"], event.amount)
            on = event.received_on.isoformat()
            if payments["last_on"] is None or on > payments["last_on"]:
                payments["last_on"] = on
            invoice = new["invoices"]["open"].get(_stream_key(envelope))
            if invoice is not None:
                invoice["balance"] = str(event.balance.amount)
        case InvoicePaid() | InvoiceVoided():
            new["invoices"]["open"].pop(_stream_key(envelope), None)
        case InvoiceOverdue():
            invoices = new["invoices"]
            invoice = invoices["open"].get(_stream_key(envelope))
            if invoice is not None:
                invoice.update(overdue=True, balance=str(event.balance.amount))
            invoices["overdue_dates"] = sorted(
                {*invoices["overdue_dates"], event.as_of.isoformat()}
            )[-OVERDUE_DATES:]
        case TicketOpened():
            tickets = new["tickets"]
            tickets["opened"] += 1
            kind = event.kind.value
            tickets["by_kind"][kind] = tickets["by_kind"].get(kind, 0) + 1
            if event.kind is TicketKind.COMPLAINT:
                tickets["complaint_dates"] = sorted(
                    [*tickets["complaint_dates"], event.opened_at.isoformat()]
                )[-COMPLAINT_DATES:]
        case SatisfactionRecorded():
            satisfaction = new["tickets"]["satisfaction"]
            new["tickets"]["satisfaction"] = {
                "last": event.score,
                "previous": satisfaction["last"],
                "at": event.recorded_at.isoformat(),
            }
        case ChurnRiskAssessed():
            new["churn"] = {
                "score": event.score,
                "level": event.level.value,
                "previous_level": event.previous_level.value if event.previous_level else None,
                "p_alive": event.p_alive,
                "reasons": [r.model_dump() for r in event.reasons],
                "assessed_at": event.assessed_at.isoformat(),
            }
            new["assessed_position"] = max(new["assessed_position"], event.source_position)
        case ChurnRiskLevelChanged():
            history = new["churn_history"]
            went_high = [h for h in history if h["level"] == ChurnLevel.HIGH.value]
            last_order = new["orders"]["last_at"]
            win_back = (
                event.level is ChurnLevel.LOW
                and event.previous_level is ChurnLevel.HIGH
                and bool(went_high)
                and last_order is not None
                and last_order > went_high[-1]["at"]
            )
            new["churn_history"] = [
                *history,
                {
                    "at": event.changed_at.isoformat(),
                    "level": event.level.value,
                    "previous_level": event.previous_level.value if event.previous_level else None,
                    "score": event.score,
                    "reason_codes": list(event.reason_codes),
                    "segment": new["segment"],
                    "orders": new["orders"]["count"],
                    "last_order_at": last_order,
                    "win_back": win_back,
                },
            ][-CHURN_HISTORY:]
    invoice_events = (InvoiceIssued, PaymentRecorded, InvoicePaid, InvoiceVoided, InvoiceOverdue)
    if isinstance(event, invoice_events):
        _summarise_invoices(new["invoices"])
    orders = new["orders"]
    currency, spend = main_spend(orders["totals"])
    new.update(
        segment=segment_of(orders["purchase_days"]),
        value_tier=tier_of(spend),
        spend=float(spend),
        spend_currency=currency,
    )


class Customer360Projection:
    name = "customer_360"
    version = 1
    opportunities = OpportunitiesModel()
    tickets = TicketsModel()
    collections = (
        CollectionSpec(
            CUSTOMERS,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "segment")),
                Index(("tenant", "value_tier")),
                Index(("tenant", "spend")),
                Index(("tenant", "churn.level")),
            ),
        ),
        opportunities.spec,
        tickets.spec,
    )
    _customer_types = frozenset(e.event_type for e in CUSTOMER_EVENTS)
    event_types = _customer_types | opportunities.event_types | tickets.event_types
    categories = frozenset(CONTEXT_OF_CATEGORY)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        found: list[DocKey] = []
        if event.event_type in self._customer_types:
            if envelope.category == "customer":
                found.append((CUSTOMERS, _stream_key(envelope)))
            else:
                found.append((CUSTOMERS, str(getattr(event, "customer_id"))))  # noqa: B009
        if event.event_type in self.opportunities.event_types:
            found.append((OPPORTUNITIES, _stream_key(envelope)))
        if event.event_type in self.tickets.event_types:
            found.append((TICKETS, _stream_key(envelope)))
        return found

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        at = envelope.occurred_at.isoformat()
        collection, id = key
        if collection == OPPORTUNITIES:
            return self.opportunities.evolve(id, doc, event, envelope)
        if collection == TICKETS:
            return self.tickets.evolve(id, doc, event, envelope)
        new = copy.deepcopy(doc) if doc is not None else _new_customer(id, envelope.tenant)
        _evolve_customer(new, event, envelope)
        context = CONTEXT_OF_CATEGORY.get(envelope.category, envelope.category)
        new["sources"][context] = max(new["sources"].get(context, 0), envelope.position)
        if isinstance(event, ChurnRiskAssessed):
            return new  # analytics' own verdict: not a change to re-assess, not a timeline line
        new["updated_position"] = max(new["updated_position"], envelope.position)
        last = new["last_activity_at"]
        new["last_activity_at"] = at if last is None or at > last else last
        entry = {
            "at": at,
            "context": context,
            "type": event.event_type,
            "text": describe(event),
            "position": envelope.position,
        }
        new["timeline"] = [entry, *new["timeline"]][:TIMELINE_LENGTH]
        return new
