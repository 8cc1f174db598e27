"""The 360° view at query time: the stored ``customer_360`` document with the customer's
``analytics_tickets`` and ``analytics_opportunities`` joined in and the windows ("complaints in
the last 90 days", "days since the last order") computed as of now; and the flat rows of the
customer list and the churn warnings.

:class:`Customer360View`, :class:`CustomerRow` and :class:`WarningRow` are the shapes the
routes answer (their ``response_model``); the rows' fields are also their CSV columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from typing_extensions import TypedDict

from crm.analytics.projections.customer_360_models import (
    ChurnReasonDoc,
    Customer360Doc,
    CustomerFacts,
    InvoiceFigures,
    Orders,
    Tickets,
)
from crm.analytics.projections.money import MoneyDoc, add_money
from crm.analytics.projections.opportunity_models import OpportunityDoc
from crm.analytics.projections.ticket_models import BREACHES, TicketDoc
from crm.events.money import Money

COMPLAINT_WINDOW_DAYS = 90


class BreachFigures(TypedDict):
    count: int
    dates: list[str]
    """The latest first."""


class TicketsView(Tickets):
    open: int
    complaints_last_90_days: int
    breaches: BreachFigures
    resolution_hours: list[float]
    average_resolution_hours: float | None


class OpenOpportunity(TypedDict):
    id: str
    name: str | None
    stage: str | None
    amount: MoneyDoc | None
    probability: int
    owner_id: str | None


class LostOpportunity(TypedDict):
    id: str
    closed_at: str | None
    stage: str | None
    reason: str | None


class OpportunitiesView(TypedDict):
    opened: int
    open: list[OpenOpportunity]
    pipeline_value: dict[str, str]
    weighted_pipeline_value: dict[str, str]
    won: int
    lost: list[LostOpportunity]


class OrdersView(Orders):
    days_since_last: int | None


class OpenInvoiceView(TypedDict):
    id: str
    amount: str
    currency: str
    balance: str
    due_date: str
    overdue: bool


class InvoicesView(InvoiceFigures):
    open_invoices: list[OpenInvoiceView]


class InteractionsView(TypedDict):
    count: int
    by_channel: dict[str, int]
    last_at: str | None
    days_since_last: int | None


class Customer360View(CustomerFacts):
    """``GET /analytics/customers/{id}/360``: the stored document (less ``sources``) with the
    windows computed ``as_of`` the request."""

    tickets: TicketsView
    opportunities: OpportunitiesView
    orders: OrdersView
    invoices: InvoicesView
    interactions: InteractionsView
    as_of: str


class CustomerRow(TypedDict):
    """A customer in the list (``GET /analytics/customers``)."""

    id: str
    name: str | None
    company: str | None
    kind: str | None
    region: str | None
    owner_id: str | None
    tags: list[str]
    segment: str
    value_tier: str
    spend: str
    spend_currency: str | None
    orders: int
    first_order_at: str | None
    last_order_at: str | None
    average_interval_days: float | None
    open_invoices: int
    overdue_invoices: int
    complaints: int
    last_satisfaction: int | None
    last_contact_at: str | None
    risk_level: str | None
    risk_score: int | None


class WarningRow(TypedDict):
    """A customer at risk (``GET /analytics/churn/warnings``)."""

    customer_id: str
    name: str | None
    owner_id: str | None
    level: str
    score: int
    p_alive: float | None
    reasons: list[ChurnReasonDoc]
    assessed_at: str


CUSTOMER_COLUMNS = tuple(CustomerRow.__annotations__)
WARNING_COLUMNS = tuple(WarningRow.__annotations__)


def customer_row(doc: Customer360Doc) -> CustomerRow:
    """A customer in the list: the flat columns of :data:`CUSTOMER_COLUMNS`."""
    orders = doc["orders"]
    churn = doc["churn"]
    return CustomerRow(
        id=doc["id"],
        name=doc["name"],
        company=doc["company"],
        kind=doc["kind"],
        region=doc["region"],
        owner_id=doc["owner_id"],
        tags=doc["tags"],
        segment=doc["segment"],
        value_tier=doc["value_tier"],
        spend=doc["spend"],
        spend_currency=doc["spend_currency"],
        orders=orders["count"],
        first_order_at=orders["first_at"],
        last_order_at=orders["last_at"],
        average_interval_days=orders["average_interval_days"],
        open_invoices=doc["invoices"]["open_count"],
        overdue_invoices=doc["invoices"]["overdue_count"],
        complaints=doc["tickets"]["by_kind"].get("complaint", 0),
        last_satisfaction=doc["tickets"]["satisfaction"]["last"],
        last_contact_at=doc["interactions"]["last_at"],
        risk_level=None if churn is None else churn["level"],
        risk_score=None if churn is None else churn["score"],
    )


def _days(since: str | None, now: datetime) -> int | None:
    if since is None:
        return None
    return (now - datetime.fromisoformat(since)).days


def _tickets(stored: Tickets, tickets: Sequence[TicketDoc], now: datetime) -> TicketsView:
    window_start = (now - timedelta(days=COMPLAINT_WINDOW_DAYS)).isoformat()
    resolution = [t["resolution_hours"] for t in tickets if t["resolution_hours"] is not None]
    breaches = sorted((b["detected_at"] for t in tickets for b in t["breaches"]), reverse=True)
    return TicketsView(
        opened=stored["opened"],
        by_kind=stored["by_kind"],
        complaint_dates=stored["complaint_dates"],
        satisfaction=stored["satisfaction"],
        open=sum(1 for t in tickets if t["status"] == "open"),
        complaints_last_90_days=sum(1 for d in stored["complaint_dates"] if d >= window_start),
        breaches=BreachFigures(count=len(breaches), dates=breaches[:BREACHES]),
        resolution_hours=sorted(resolution)[-50:],
        average_resolution_hours=(
            round(sum(resolution) / len(resolution), 2) if resolution else None
        ),
    )


def _opportunities(opened: int, opportunities: Sequence[OpportunityDoc]) -> OpportunitiesView:
    open_opps = [o for o in opportunities if o["status"] == "open"]
    pipeline: dict[str, str] = {}
    weighted: dict[str, str] = {}
    for o in open_opps:
        if o["amount"] is None:
            continue
        amount = Money.of(o["amount"]["amount"], o["amount"]["currency"])
        pipeline = add_money(pipeline, amount)
        weighted = add_money(weighted, amount.times(Decimal(o["probability"]) / 100).rounded())
    return OpportunitiesView(
        opened=opened,
        open=[
            OpenOpportunity(
                id=o["id"],
                name=o["name"],
                stage=o["stage"],
                amount=o["amount"],
                probability=o["probability"],
                owner_id=o["owner_id"],
            )
            for o in sorted(open_opps, key=lambda o: o["opened_at"] or "")
        ],
        pipeline_value=pipeline,
        weighted_pipeline_value=weighted,
        won=sum(1 for o in opportunities if o["status"] == "won"),
        lost=[
            LostOpportunity(
                id=o["id"],
                closed_at=o["closed_at"],
                stage=o["lost_at_stage"],
                reason=o["lost_reason"],
            )
            for o in sorted(opportunities, key=lambda o: o["closed_at"] or "")
            if o["status"] == "lost"
        ],
    )


def view(
    doc: Customer360Doc,
    tickets: Sequence[TicketDoc],
    opportunities: Sequence[OpportunityDoc],
    now: datetime,
) -> Customer360View:
    """The 360° document as the API shows it at ``now``: the stored customer document, the
    customer's ticket and opportunity documents joined in, and the windows computed."""
    orders = doc["orders"]
    invoices = doc["invoices"]
    interactions = doc["interactions"]
    return Customer360View(
        id=doc["id"],
        tenant=doc["tenant"],
        registered=doc["registered"],
        name=doc["name"],
        email=doc["email"],
        kind=doc["kind"],
        company=doc["company"],
        region=doc["region"],
        source=doc["source"],
        owner_id=doc["owner_id"],
        tags=doc["tags"],
        registered_at=doc["registered_at"],
        erased=doc["erased"],
        segment=doc["segment"],
        value_tier=doc["value_tier"],
        spend=doc["spend"],
        spend_sort=doc["spend_sort"],
        spend_currency=doc["spend_currency"],
        payments=doc["payments"],
        opportunities_opened=doc["opportunities_opened"],
        timeline=doc["timeline"],
        churn=doc["churn"],
        churn_history=doc["churn_history"],
        updated_position=doc["updated_position"],
        assessed_position=doc["assessed_position"],
        last_activity_at=doc["last_activity_at"],
        tickets=_tickets(doc["tickets"], tickets, now),
        opportunities=_opportunities(doc["opportunities_opened"], opportunities),
        orders=OrdersView(
            count=orders["count"],
            cancelled=orders["cancelled"],
            returned=orders["returned"],
            totals=orders["totals"],
            first_at=orders["first_at"],
            last_at=orders["last_at"],
            recent=orders["recent"][-20:],
            purchase_days=orders["purchase_days"],
            average_interval_days=orders["average_interval_days"],
            days_since_last=_days(orders["last_at"], now),
        ),
        invoices=InvoicesView(
            open_count=invoices["open_count"],
            open_amount=invoices["open_amount"],
            overdue_count=invoices["overdue_count"],
            overdue_amount=invoices["overdue_amount"],
            overdue_dates=invoices["overdue_dates"],
            open_invoices=[OpenInvoiceView(id=k, **v) for k, v in sorted(invoices["open"].items())],
        ),
        interactions=InteractionsView(
            count=interactions["count"],
            by_channel=interactions["by_channel"],
            last_at=interactions["last_at"],
            days_since_last=_days(interactions["last_at"], now),
        ),
        as_of=now.isoformat(),
    )


def warning_row(doc: Customer360Doc) -> WarningRow:
    """A customer at risk: the columns of :data:`WARNING_COLUMNS` (of an assessed customer)."""
    churn = doc["churn"]
    if churn is None:
        raise ValueError(f"customer {doc['id']} has not been assessed")
    return WarningRow(
        customer_id=doc["id"],
        name=doc["name"],
        owner_id=doc["owner_id"],
        level=churn["level"],
        score=churn["score"],
        p_alive=churn["p_alive"],
        reasons=churn["reasons"],
        assessed_at=churn["assessed_at"],
    )
