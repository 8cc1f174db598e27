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
    * ``spend`` is that main-currency net spend as a decimal string; ``spend_sort`` the same as
      a number, for range filters and sorting (never answered: money is never a float).

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
from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from crm.analytics.projections.money import add_money
from crm.analytics.projections.opportunity_models import OpportunitiesModel
from crm.analytics.projections.ticket_models import TicketsModel
from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.events.analytics import ChurnLevel, ChurnRiskAssessed, ChurnRiskLevelChanged
from crm.events.customer import (
    CustomerAbsorbed,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerMergedInto,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    InteractionLogged,
)
from crm.events.money import Money, minor_unit
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
from crm.kernel.handlers import DocKey, Handlers, Model, stream_key
from crm.kernel.read_store import CollectionSpec, Document, Index

CUSTOMERS = "customer_360"

TIMELINE_LENGTH = 30
ORDER_DATES = 100
COMPLAINT_DATES = 50
OVERDUE_DATES = 50
CHURN_HISTORY = 20

CONTEXT_OF_CATEGORY = {
    "customer": "customer",
    "opportunity": "sales",
    "order": "sales",
    "invoice": "sales",
    "ticket": "service-desk",
    "churnrisk": "analytics",
}

Segment = Literal["prospect", "new", "repeat", "loyal"]
ValueTier = Literal["none", "bronze", "silver", "gold"]

TIERS: tuple[tuple[Decimal, ValueTier], ...] = (
    (Decimal(10_000), "gold"),
    (Decimal(1_000), "silver"),
    (Decimal("0.01"), "bronze"),
)


# -- the document ------------------------------------------------------------------------------


class OrderEntry(TypedDict):
    at: str
    amount: str
    currency: str


class Orders(TypedDict):
    count: int
    cancelled: int
    returned: int
    totals: dict[str, str]
    """Net spend per currency (cancellations and returns taken away)."""
    first_at: str | None
    last_at: str | None
    recent: list[OrderEntry]
    """The latest :data:`ORDER_DATES` orders, oldest first."""
    purchase_days: int
    average_interval_days: float | None


class Payments(TypedDict):
    count: int
    collected: dict[str, str]
    last_on: str | None


class OpenInvoice(TypedDict):
    amount: str
    currency: str
    balance: str
    due_date: str
    overdue: bool


class InvoiceFigures(TypedDict):
    """What the 360° view shows of the invoices (the stored document also keeps the open
    invoices themselves)."""

    open_count: int
    open_amount: dict[str, str]
    overdue_count: int
    overdue_amount: dict[str, str]
    overdue_dates: list[str]


class Invoices(InvoiceFigures):
    open: dict[str, OpenInvoice]
    """The open invoices by invoice id."""


class Satisfaction(TypedDict):
    last: int | None
    previous: int | None
    at: str | None


class Tickets(TypedDict):
    opened: int
    by_kind: dict[str, int]
    complaint_dates: list[str]
    satisfaction: Satisfaction


class Interactions(TypedDict):
    count: int
    by_channel: dict[str, int]
    last_at: str | None


class ChurnReasonDoc(TypedDict):
    code: str
    text: str
    weight: float


class Churn(TypedDict):
    """The latest churn assessment."""

    score: int
    level: str
    previous_level: str | None
    p_alive: float | None
    reasons: list[ChurnReasonDoc]
    assessed_at: str


class ChurnChange(TypedDict):
    at: str
    level: str
    previous_level: str | None
    score: int
    reason_codes: list[str]
    segment: str
    orders: int
    last_order_at: str | None
    win_back: bool
    """Back to low from high, with an order since it went high."""


class TimelineEntry(TypedDict):
    at: str
    context: str
    type: str
    text: str
    position: int


class CustomerFacts(TypedDict):
    """The fields the stored document and the 360° view share as they are."""

    id: str
    tenant: str
    registered: bool
    """The customer context's ``registered`` applied (other contexts may name them first)."""
    name: str | None
    email: str | None
    kind: str | None
    company: str | None
    region: str | None
    source: str | None
    preferred_channel: NotRequired[str | None]
    """How the customer prefers to be reached (call, email...), if they said."""
    preferred_language: NotRequired[str | None]
    owner_id: str | None
    tags: list[str]
    registered_at: str | None
    erased: bool
    segment: Segment
    value_tier: ValueTier
    spend: str
    """Net spend in the main currency, a decimal string ("0.00" before any order)."""
    spend_sort: Annotated[float, Field(exclude=True)]
    """The same as a number: the sort and range key (never answered)."""
    spend_currency: str | None
    payments: Payments
    opportunities_opened: int
    timeline: list[TimelineEntry]
    """The latest :data:`TIMELINE_LENGTH` events across contexts, newest first."""
    churn: Churn | None
    churn_history: list[ChurnChange]
    updated_position: int
    """The last position of the customer's events other than analytics' own verdicts."""
    assessed_position: int
    """The ``updated_position`` the latest assessment saw."""
    last_activity_at: str | None
    merged_into: NotRequired[str | None]
    """The customer this one was merged into: its view answers with a pointer there, and its
    figures are read as the survivor's (:mod:`crm.analytics.application.merges`)."""
    absorbed: NotRequired[list[str]]
    """The customers merged into this one, whose figures its view adds to its own."""


class Customer360Doc(CustomerFacts):
    orders: Orders
    invoices: Invoices
    tickets: Tickets
    interactions: Interactions
    sources: dict[str, int]
    """Per source context, the store position of the last event applied."""


# -- the stored rules --------------------------------------------------------------------------


def segment_of(purchase_days: int) -> Segment:
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


def spend_text(currency: str | None, spend: Decimal) -> str:
    """``spend`` as money is written: a decimal string to the currency's minor unit."""
    places = minor_unit(currency or "EUR")
    return f"{spend.quantize(Decimal(1).scaleb(-places)):f}"


def tier_of(spend: Decimal) -> ValueTier:
    for floor, tier in TIERS:
        if spend >= floor:
            return tier
    return "none"


def _ticket_ref(envelope: EventEnvelope | None) -> str:
    """``ticket 1a2b3c4d``: the ticket a line is about, by the start of its id."""
    if envelope is None:
        return "a ticket"
    return "ticket " + envelope.stream_id.split("-", 1)[-1][:8]


def describe(event: DomainEvent, envelope: EventEnvelope | None = None) -> str:
    """A timeline line in plain words, free of personal data (it outlives an erasure
    unchanged): who did what, never what was written. A comment is named by who wrote it and
    whom it reached: an internal note is not an answer to the customer."""
    match event:
        case CustomerRegistered():
            return f"registered ({event.kind.value})"
        case CustomerProfileUpdated():
            return "profile updated: " + ", ".join(event.changed)
        case CustomerOwnerAssigned():
            return f"owner set to {event.owner_id}"
        case CustomerClaimedFromPool():
            return f"claimed from the pool by {event.owner_id}"
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
        case CustomerMergedInto():
            return f"merged into customer {event.survivor_id}"
        case CustomerAbsorbed():
            return f"customer {event.merged_id} merged into this one"
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
            kind = event.kind.value.replace("_", " ")
            return f"{kind} opened as {_ticket_ref(envelope)} (priority {event.priority.value})"
        case TicketCommented():
            ticket = _ticket_ref(envelope)
            if event.from_customer:
                return f"customer wrote on {ticket}"
            if not event.public:
                return f"internal note on {ticket}"
            return f"agent replied to the customer on {ticket}"
        case SatisfactionRecorded():
            return f"satisfaction {event.score}/5"
        case ChurnRiskLevelChanged():
            if event.previous_level is None:
                return f"churn risk first assessed: {event.level.value}"
            return f"churn risk went from {event.previous_level.value} to {event.level.value}"
    return event.event_type


# -- the handlers ------------------------------------------------------------------------------

on: Handlers[Customer360Doc] = Handlers()


def _customer(doc: Customer360Doc | None, key: DocKey, envelope: EventEnvelope) -> Customer360Doc:
    """A copy of the document to change (a new one for the first event naming the customer,
    from whichever context)."""
    if doc is not None:
        return copy.deepcopy(doc)
    return Customer360Doc(
        id=key[1],
        tenant=envelope.tenant,
        registered=False,
        name=None,
        email=None,
        kind=None,
        company=None,
        region=None,
        source=None,
        owner_id=None,
        tags=[],
        registered_at=None,
        erased=False,
        segment="prospect",
        value_tier="none",
        spend="0.00",
        spend_sort=0.0,
        spend_currency=None,
        orders=Orders(
            count=0,
            cancelled=0,
            returned=0,
            totals={},
            first_at=None,
            last_at=None,
            recent=[],
            purchase_days=0,
            average_interval_days=None,
        ),
        payments=Payments(count=0, collected={}, last_on=None),
        invoices=Invoices(
            open={},
            open_count=0,
            open_amount={},
            overdue_count=0,
            overdue_amount={},
            overdue_dates=[],
        ),
        tickets=Tickets(
            opened=0,
            by_kind={},
            complaint_dates=[],
            satisfaction=Satisfaction(last=None, previous=None, at=None),
        ),
        interactions=Interactions(count=0, by_channel={}, last_at=None),
        opportunities_opened=0,
        timeline=[],
        churn=None,
        churn_history=[],
        sources={},
        updated_position=0,
        assessed_position=0,
        last_activity_at=None,
    )


def _summarised(new: Customer360Doc, envelope: EventEnvelope) -> Customer360Doc:
    """The stored rules recomputed (segment, value tier, spend), and the position the event's
    source context reached."""
    currency, spend = main_spend(new["orders"]["totals"])
    new.update(
        {
            "segment": segment_of(new["orders"]["purchase_days"]),
            "value_tier": tier_of(spend),
            "spend": spend_text(currency, spend),
            "spend_sort": float(spend),
            "spend_currency": currency,
        }
    )
    context = CONTEXT_OF_CATEGORY.get(envelope.category, envelope.category)
    new["sources"][context] = max(new["sources"].get(context, 0), envelope.position)
    return new


def _applied(new: Customer360Doc, event: DomainEvent, envelope: EventEnvelope) -> Customer360Doc:
    """What every event about the customer adds (all but analytics' own verdicts): the
    summary, the position to re-assess from, the latest activity and a timeline line."""
    _summarised(new, envelope)
    at = envelope.occurred_at.isoformat()
    new["updated_position"] = max(new["updated_position"], envelope.position)
    last = new["last_activity_at"]
    new["last_activity_at"] = at if last is None or at > last else last
    entry = TimelineEntry(
        at=at,
        context=CONTEXT_OF_CATEGORY.get(envelope.category, envelope.category),
        type=event.event_type,
        text=describe(event, envelope),
        position=envelope.position,
    )
    new["timeline"] = [entry, *new["timeline"]][:TIMELINE_LENGTH]
    return new


@on(CustomerRegistered)
def registered(
    key: DocKey, doc: Customer360Doc | None, event: CustomerRegistered, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new.update(
        {
            "registered": True,
            "name": event.name,
            "email": event.email,
            "kind": event.kind.value,
            "company": event.company,
            "region": event.region,
            "source": event.source,
            "preferred_channel": event.preferred_channel,
            "preferred_language": event.preferred_language,
            "owner_id": event.owner_id,
            "tags": sorted(event.tags),
            "registered_at": envelope.occurred_at.isoformat(),
        }
    )
    return _applied(new, event, envelope)


@on(CustomerProfileUpdated)
def profile_updated(
    key: DocKey,
    doc: Customer360Doc | None,
    event: CustomerProfileUpdated,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new.update(
        {
            "name": event.name,
            "email": event.email,
            "kind": event.kind.value,
            "company": event.company,
            "region": event.region,
            "source": event.source,
            "preferred_channel": event.preferred_channel,
            "preferred_language": event.preferred_language,
        }
    )
    return _applied(new, event, envelope)


@on(CustomerOwnerAssigned, CustomerClaimedFromPool)
def owned(
    key: DocKey,
    doc: Customer360Doc | None,
    event: CustomerOwnerAssigned | CustomerClaimedFromPool,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["owner_id"] = event.owner_id
    return _applied(new, event, envelope)


@on(CustomerReleasedToPool)
def released(
    key: DocKey,
    doc: Customer360Doc | None,
    event: CustomerReleasedToPool,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["owner_id"] = None
    return _applied(new, event, envelope)


@on(CustomerTagged)
def tagged(
    key: DocKey, doc: Customer360Doc | None, event: CustomerTagged, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["tags"] = sorted({*new["tags"], event.tag})
    return _applied(new, event, envelope)


@on(CustomerUntagged)
def untagged(
    key: DocKey, doc: Customer360Doc | None, event: CustomerUntagged, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["tags"] = [t for t in new["tags"] if t != event.tag]
    return _applied(new, event, envelope)


@on(InteractionLogged)
def interaction_logged(
    key: DocKey, doc: Customer360Doc | None, event: InteractionLogged, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    stats = new["interactions"]
    channel = event.channel.value
    stats["count"] += 1
    stats["by_channel"][channel] = stats["by_channel"].get(channel, 0) + 1
    when = event.occurred_at.isoformat()
    if stats["last_at"] is None or when > stats["last_at"]:
        stats["last_at"] = when
    return _applied(new, event, envelope)


@on(CustomerErased)
def erased(
    key: DocKey, doc: Customer360Doc | None, event: CustomerErased, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new.update(
        {
            "name": ERASED if new["name"] else None,
            "email": ERASED if new["email"] else None,
            "erased": True,
        }
    )
    return _applied(new, event, envelope)


@on(CustomerMergedInto)
def merged_into(
    key: DocKey, doc: Customer360Doc | None, event: CustomerMergedInto, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["merged_into"] = event.survivor_id
    return _applied(new, event, envelope)


@on(CustomerAbsorbed)
def absorbed(
    key: DocKey, doc: Customer360Doc | None, event: CustomerAbsorbed, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["absorbed"] = sorted({*new.get("absorbed", ()), event.merged_id})
    return _applied(new, event, envelope)


@on(OpportunityOpened)
def opportunity_opened(
    key: DocKey, doc: Customer360Doc | None, event: OpportunityOpened, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["opportunities_opened"] += 1
    return _applied(new, event, envelope)


@on(OrderPlaced)
def order_placed(
    key: DocKey, doc: Customer360Doc | None, event: OrderPlaced, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    orders = new["orders"]
    at = envelope.occurred_at.astimezone(UTC)  # stored in UTC: the strings sort, slice by day
    stamp = at.isoformat()
    known_days = {o["at"][:10] for o in orders["recent"]}
    known_days.update(d[:10] for d in (orders["first_at"], orders["last_at"]) if d)
    if at.date().isoformat() not in known_days:
        orders["purchase_days"] += 1
    orders["count"] += 1
    orders["totals"] = add_money(orders["totals"], event.total)
    entry = OrderEntry(at=stamp, amount=str(event.total.amount), currency=event.total.currency)
    orders["recent"] = sorted([*orders["recent"], entry], key=lambda o: o["at"])[-ORDER_DATES:]
    first = orders["first_at"]
    orders["first_at"] = first = stamp if first is None or stamp < first else first
    last = orders["last_at"]
    orders["last_at"] = last = stamp if last is None or stamp > last else last
    if orders["purchase_days"] > 1:
        span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
        orders["average_interval_days"] = round(
            span.total_seconds() / 86400 / (orders["purchase_days"] - 1), 1
        )
    return _applied(new, event, envelope)


@on(OrderCancelled, OrderReturned)
def order_taken_back(
    key: DocKey,
    doc: Customer360Doc | None,
    event: OrderCancelled | OrderReturned,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    orders = new["orders"]
    if isinstance(event, OrderCancelled):
        orders["cancelled"] += 1
    else:
        orders["returned"] += 1
    orders["totals"] = add_money(orders["totals"], event.total, -1)
    return _applied(new, event, envelope)


def _invoices_changed(
    new: Customer360Doc, event: DomainEvent, envelope: EventEnvelope
) -> Customer360Doc:
    """The open and overdue figures recounted from the open invoices."""
    invoices = new["invoices"]
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
        {
            "open_count": len(invoices["open"]),
            "open_amount": open_amount,
            "overdue_count": overdue,
            "overdue_amount": overdue_amount,
        }
    )
    return _applied(new, event, envelope)


@on(InvoiceIssued)
def invoice_issued(
    key: DocKey, doc: Customer360Doc | None, event: InvoiceIssued, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["invoices"]["open"][stream_key(CUSTOMERS, envelope)[1]] = OpenInvoice(
        amount=str(event.amount.amount),
        currency=event.amount.currency,
        balance=str(event.amount.amount),
        due_date=event.due_date.isoformat(),
        overdue=False,
    )
    return _invoices_changed(new, event, envelope)


@on(PaymentRecorded)
def payment_recorded(
    key: DocKey, doc: Customer360Doc | None, event: PaymentRecorded, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    payments = new["payments"]
    payments["count"] += 1
    payments["collected"] = add_money(payments["collected"], event.amount)
    received = event.received_on.isoformat()
    if payments["last_on"] is None or received > payments["last_on"]:
        payments["last_on"] = received
    invoice = new["invoices"]["open"].get(stream_key(CUSTOMERS, envelope)[1])
    if invoice is not None:
        invoice["balance"] = str(event.balance.amount)
    return _invoices_changed(new, event, envelope)


@on(InvoicePaid, InvoiceVoided)
def invoice_closed(
    key: DocKey,
    doc: Customer360Doc | None,
    event: InvoicePaid | InvoiceVoided,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["invoices"]["open"].pop(stream_key(CUSTOMERS, envelope)[1], None)
    return _invoices_changed(new, event, envelope)


@on(InvoiceOverdue)
def invoice_overdue(
    key: DocKey, doc: Customer360Doc | None, event: InvoiceOverdue, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    invoices = new["invoices"]
    invoice = invoices["open"].get(stream_key(CUSTOMERS, envelope)[1])
    if invoice is not None:
        invoice.update({"overdue": True, "balance": str(event.balance.amount)})
    dates = {*invoices["overdue_dates"], event.as_of.isoformat()}
    invoices["overdue_dates"] = sorted(dates)[-OVERDUE_DATES:]
    return _invoices_changed(new, event, envelope)


@on(TicketOpened)
def ticket_opened(
    key: DocKey, doc: Customer360Doc | None, event: TicketOpened, envelope: EventEnvelope
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    tickets = new["tickets"]
    tickets["opened"] += 1
    kind = event.kind.value
    tickets["by_kind"][kind] = tickets["by_kind"].get(kind, 0) + 1
    if event.kind is TicketKind.COMPLAINT:
        dates = [*tickets["complaint_dates"], event.opened_at.isoformat()]
        tickets["complaint_dates"] = sorted(dates)[-COMPLAINT_DATES:]
    return _applied(new, event, envelope)


@on(TicketCommented)
def ticket_commented(
    key: DocKey, doc: Customer360Doc | None, event: TicketCommented, envelope: EventEnvelope
) -> Customer360Doc:
    """Changes no figure: on the timeline only (who wrote, never what)."""
    return _applied(_customer(doc, key, envelope), event, envelope)


@on(SatisfactionRecorded)
def satisfaction_recorded(
    key: DocKey,
    doc: Customer360Doc | None,
    event: SatisfactionRecorded,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
    new["tickets"]["satisfaction"] = Satisfaction(
        last=event.score,
        previous=new["tickets"]["satisfaction"]["last"],
        at=event.recorded_at.isoformat(),
    )
    return _applied(new, event, envelope)


@on(ChurnRiskAssessed)
def churn_assessed(
    key: DocKey, doc: Customer360Doc | None, event: ChurnRiskAssessed, envelope: EventEnvelope
) -> Customer360Doc:
    """Analytics' own verdict: not a change to re-assess, not a timeline line."""
    new = _customer(doc, key, envelope)
    new["churn"] = Churn(
        score=event.score,
        level=event.level.value,
        previous_level=event.previous_level.value if event.previous_level else None,
        p_alive=event.p_alive,
        reasons=[ChurnReasonDoc(code=r.code, text=r.text, weight=r.weight) for r in event.reasons],
        assessed_at=event.assessed_at.isoformat(),
    )
    new["assessed_position"] = max(new["assessed_position"], event.source_position)
    return _summarised(new, envelope)


@on(ChurnRiskLevelChanged)
def churn_level_changed(
    key: DocKey,
    doc: Customer360Doc | None,
    event: ChurnRiskLevelChanged,
    envelope: EventEnvelope,
) -> Customer360Doc:
    new = _customer(doc, key, envelope)
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
    change = ChurnChange(
        at=event.changed_at.isoformat(),
        level=event.level.value,
        previous_level=event.previous_level.value if event.previous_level else None,
        score=event.score,
        reason_codes=list(event.reason_codes),
        segment=new["segment"],
        orders=new["orders"]["count"],
        last_order_at=last_order,
        win_back=win_back,
    )
    new["churn_history"] = [*history, change][-CHURN_HISTORY:]
    return _applied(new, event, envelope)


# -- the projection ----------------------------------------------------------------------------


class Customer360Projection:
    name = "customer_360"
    version = 5
    opportunities = OpportunitiesModel()
    tickets = TicketsModel()
    collections = (
        CollectionSpec(
            CUSTOMERS,
            (
                Index(("tenant", "owner_id")),
                Index(("tenant", "segment")),
                Index(("tenant", "value_tier")),
                Index(("tenant", "spend_sort")),
                Index(("tenant", "churn.level")),
            ),
        ),
        *opportunities.collections,
        *tickets.collections,
    )
    event_types = on.event_types | opportunities.event_types | tickets.event_types
    categories = frozenset(CONTEXT_OF_CATEGORY)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        """The customer's document (theirs, or the one the event names), and the ticket's or
        opportunity's own."""
        found: list[DocKey] = []
        if envelope.event_type in on.event_types:
            if envelope.category == "customer":
                found.append(stream_key(CUSTOMERS, envelope))
            else:
                found.append((CUSTOMERS, str(getattr(event, "customer_id"))))  # noqa: B009
        for model in (self.opportunities, self.tickets):
            if envelope.event_type in model.event_types:
                found.append(stream_key(model.collection, envelope))
        return found

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        model: Model | Handlers[Customer360Doc] = on
        if key[0] == self.opportunities.collection:
            model = self.opportunities
        elif key[0] == self.tickets.collection:
            model = self.tickets
        return model.evolve(key, doc, event, envelope)
