"""Read models of commissions: the plans, every entry of every statement, and the statements.

One projection, ``sales_commissions``, under one checkpoint, from the plans stream and the
statements (categories ``commissionplans`` and ``commission``): a plan's command and a posting
answer positions every read of commissions can wait for. Rebuilt from the log at any time.

- ``sales_commission_plans``: one document per plan, its versions in order;
- ``sales_commission_entries``: one per entry (earned, released, clawed back), with the rep as
  ``owner_id`` and the order's team as ``team_id`` (what the sales policy filters on);
- ``sales_commission_statements``: one per rep and month (id: the stream's tenant-qualified
  id; ``statement_id`` the tenant's own), its totals exact to the cent and its approval.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from typing_extensions import TypedDict

from crm.events import DomainEvent, EventEnvelope
from crm.events.commissions import (
    CommissionClawedBack,
    CommissionEarned,
    CommissionPlanCreated,
    CommissionPlanEnded,
    CommissionPlanRevised,
    CommissionReleased,
    CommissionStatementApproved,
    EntryKind,
)
from crm.events.money import Money
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Document, Index
from crm.kernel.tenancy import local_id
from crm.sales.projections.order_models import MoneyDoc

PLANS = "sales_commission_plans"
ENTRIES = "sales_commission_entries"
STATEMENTS = "sales_commission_statements"


class PlanVersionDoc(TypedDict):
    version: int
    effective_from: str
    terms: dict[str, Any]


class PlanDoc(TypedDict):
    id: str
    tenant: str
    owner_id: None
    team_id: None
    name: str
    versions: list[PlanVersionDoc]
    effective_from: str
    effective_to: str | None
    created_at: str
    updated_at: str


class EntryDoc(TypedDict):
    id: str
    tenant: str
    owner_id: str
    """The rep."""
    team_id: str | None
    rep_id: str
    period: str
    statement_id: str
    kind: EntryKind
    reason: str | None
    source: str | None
    order_id: str
    customer_id: str | None
    invoice_id: str | None
    payment_id: str | None
    refund_id: str | None
    earned_entry_id: str | None
    plan_id: str | None
    plan_version: int | None
    share_percent: str | None
    revenue: MoneyDoc
    commission: MoneyDoc
    """Payable: a clawback's part of what was payable (negative)."""
    held: MoneyDoc
    """Held back: an entry held until collection, or a clawback's part of what was held."""
    attainment_before: str | None
    multiplier: str | None
    occurred_on: str
    recorded_at: str


class StatementDoc(TypedDict):
    id: str
    tenant: str
    owner_id: str
    team_id: str | None
    statement_id: str
    rep_id: str
    period: str
    currency: str
    revenue: MoneyDoc
    earned: MoneyDoc
    held: MoneyDoc
    released: MoneyDoc
    clawed_back: MoneyDoc
    payable: MoneyDoc
    """earned + released + clawed back (the payable parts)."""
    entries: int
    status: str
    """``open`` or ``approved``."""
    approved_by: str | None
    approved_at: str | None
    note: str | None
    updated_at: str


def _money(value: Money) -> MoneyDoc:
    return cast(MoneyDoc, value.model_dump(mode="json"))


def _add(doc: MoneyDoc, amount: Money) -> MoneyDoc:
    return _money(Money(amount=Decimal(doc["amount"]) + amount.amount, currency=doc["currency"]))


plans: Handlers[PlanDoc] = Handlers()
entries: Handlers[EntryDoc] = Handlers()
statements: Handlers[StatementDoc] = Handlers()


@plans(CommissionPlanCreated)
def plan_created(
    key: DocKey, doc: PlanDoc | None, event: CommissionPlanCreated, envelope: EventEnvelope
) -> PlanDoc:
    at = envelope.occurred_at.isoformat()
    return PlanDoc(
        id=event.plan_id,
        tenant=envelope.tenant,
        owner_id=None,
        team_id=None,
        name=event.name,
        versions=[
            PlanVersionDoc(
                version=1,
                effective_from=event.effective_from.isoformat(),
                terms=event.terms.model_dump(mode="json"),
            )
        ],
        effective_from=event.effective_from.isoformat(),
        effective_to=None if event.effective_to is None else event.effective_to.isoformat(),
        created_at=at,
        updated_at=at,
    )


def _plan(doc: PlanDoc | None, key: DocKey) -> PlanDoc:
    if doc is None:
        raise LookupError(f"commission plan {key[1]} was never created")
    return doc.copy()


@plans(CommissionPlanRevised)
def plan_revised(
    key: DocKey, doc: PlanDoc | None, event: CommissionPlanRevised, envelope: EventEnvelope
) -> PlanDoc:
    new = _plan(doc, key)
    version = PlanVersionDoc(
        version=event.version,
        effective_from=event.effective_from.isoformat(),
        terms=event.terms.model_dump(mode="json"),
    )
    new["versions"] = [*new["versions"], version]
    new["updated_at"] = envelope.occurred_at.isoformat()
    return new


@plans(CommissionPlanEnded)
def plan_ended(
    key: DocKey, doc: PlanDoc | None, event: CommissionPlanEnded, envelope: EventEnvelope
) -> PlanDoc:
    new = _plan(doc, key)
    new["effective_to"] = event.effective_to.isoformat()
    new["updated_at"] = envelope.occurred_at.isoformat()
    return new


Posting = CommissionEarned | CommissionReleased | CommissionClawedBack


def _entry(event: Posting, envelope: EventEnvelope, kind: EntryKind) -> EntryDoc:
    zero = _money(Money.zero(event.commission.currency).rounded())
    return EntryDoc(
        id=event.entry_id,
        tenant=envelope.tenant,
        owner_id=event.rep_id,
        team_id=event.team_id,
        rep_id=event.rep_id,
        period=event.period,
        statement_id=local_id(envelope.stream_id.partition("-")[2]),
        kind=kind,
        reason=None,
        source=None,
        order_id=event.order_id,
        customer_id=None,
        invoice_id=None,
        payment_id=None,
        refund_id=None,
        earned_entry_id=None,
        plan_id=None,
        plan_version=None,
        share_percent=None,
        revenue=zero,
        commission=_money(event.commission),
        held=zero,
        attainment_before=None,
        multiplier=None,
        occurred_on=event.occurred_on.isoformat(),
        recorded_at=envelope.recorded_at.isoformat(),
    )


@entries(CommissionEarned)
def entry_earned(
    key: DocKey, doc: EntryDoc | None, event: CommissionEarned, envelope: EventEnvelope
) -> EntryDoc:
    new = _entry(event, envelope, EntryKind.EARNED)
    zero = new["held"]
    new.update(
        {
            "source": event.source.value,
            "customer_id": event.customer_id,
            "invoice_id": event.invoice_id,
            "payment_id": event.payment_id,
            "plan_id": event.plan_id,
            "plan_version": event.plan_version,
            "share_percent": format(event.share_percent, "f"),
            "revenue": _money(event.revenue),
            "commission": zero if event.held else _money(event.commission),
            "held": _money(event.commission) if event.held else zero,
            "attainment_before": None
            if event.attainment_before is None
            else format(event.attainment_before.quantize(Decimal("0.01")), "f"),
            "multiplier": format(event.multiplier, "f"),
        }
    )
    return new


@entries(CommissionReleased)
def entry_released(
    key: DocKey, doc: EntryDoc | None, event: CommissionReleased, envelope: EventEnvelope
) -> EntryDoc:
    new = _entry(event, envelope, EntryKind.RELEASED)
    new["earned_entry_id"] = event.earned_entry_id
    return new


@entries(CommissionClawedBack)
def entry_clawed_back(
    key: DocKey, doc: EntryDoc | None, event: CommissionClawedBack, envelope: EventEnvelope
) -> EntryDoc:
    new = _entry(event, envelope, EntryKind.CLAWED_BACK)
    new.update(
        {
            "reason": event.reason.value,
            "payment_id": event.payment_id,
            "refund_id": event.refund_id,
            "earned_entry_id": event.earned_entry_id,
            "revenue": _money(event.revenue),
            "held": _money(event.held),
        }
    )
    return new


def _statement(
    key: DocKey, doc: StatementDoc | None, event: Posting, envelope: EventEnvelope
) -> StatementDoc:
    if doc is not None:
        new = doc.copy()
        new["updated_at"] = envelope.occurred_at.isoformat()
        return new
    zero = _money(Money.zero(event.commission.currency).rounded())
    return StatementDoc(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=event.rep_id,
        team_id=event.team_id,
        statement_id=local_id(key[1]),
        rep_id=event.rep_id,
        period=event.period,
        currency=event.commission.currency,
        revenue=zero,
        earned=zero,
        held=zero,
        released=zero,
        clawed_back=zero,
        payable=zero,
        entries=0,
        status="open",
        approved_by=None,
        approved_at=None,
        note=None,
        updated_at=envelope.occurred_at.isoformat(),
    )


@statements(CommissionEarned)
def statement_earned(
    key: DocKey, doc: StatementDoc | None, event: CommissionEarned, envelope: EventEnvelope
) -> StatementDoc:
    new = _statement(key, doc, event, envelope)
    new["entries"] += 1
    new["revenue"] = _add(new["revenue"], event.revenue)
    if event.held:
        new["held"] = _add(new["held"], event.commission)
    else:
        new["earned"] = _add(new["earned"], event.commission)
        new["payable"] = _add(new["payable"], event.commission)
    return new


@statements(CommissionReleased)
def statement_released(
    key: DocKey, doc: StatementDoc | None, event: CommissionReleased, envelope: EventEnvelope
) -> StatementDoc:
    new = _statement(key, doc, event, envelope)
    new["entries"] += 1
    new["released"] = _add(new["released"], event.commission)
    new["payable"] = _add(new["payable"], event.commission)
    return new


@statements(CommissionClawedBack)
def statement_clawed_back(
    key: DocKey, doc: StatementDoc | None, event: CommissionClawedBack, envelope: EventEnvelope
) -> StatementDoc:
    new = _statement(key, doc, event, envelope)
    new["entries"] += 1
    new["revenue"] = _add(new["revenue"], event.revenue)
    new["clawed_back"] = _add(new["clawed_back"], event.commission)
    new["payable"] = _add(new["payable"], event.commission)
    new["held"] = _add(new["held"], event.held)
    return new


@statements(CommissionStatementApproved)
def statement_approved(
    key: DocKey,
    doc: StatementDoc | None,
    event: CommissionStatementApproved,
    envelope: EventEnvelope,
) -> StatementDoc:
    if doc is None:
        raise LookupError(f"statement {key[1]} has no entries")
    new = doc.copy()
    new.update(
        {
            "status": "approved",
            "approved_by": event.approved_by,
            "approved_at": envelope.occurred_at.isoformat(),
            "note": event.note,
            "updated_at": envelope.occurred_at.isoformat(),
        }
    )
    return new


class CommissionsProjection:
    name = "sales_commissions"
    version = 1
    collections = (
        CollectionSpec(PLANS, (Index(("tenant", "name")),)),
        CollectionSpec(
            ENTRIES,
            (
                Index(("tenant", "owner_id", "period")),
                Index(("tenant", "team_id")),
                Index(("tenant", "order_id")),
            ),
        ),
        CollectionSpec(
            STATEMENTS,
            (Index(("tenant", "owner_id", "period")), Index(("tenant", "team_id"))),
        ),
    )
    categories = frozenset({"commissionplans", "commission"})
    event_types = plans.event_types | entries.event_types | statements.event_types

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        if envelope.category == "commissionplans":
            assert isinstance(
                event, CommissionPlanCreated | CommissionPlanRevised | CommissionPlanEnded
            )
            return ((PLANS, event.plan_id),)
        statement = (STATEMENTS, envelope.stream_id.partition("-")[2])
        if isinstance(event, CommissionStatementApproved):
            return (statement,)
        assert isinstance(event, CommissionEarned | CommissionReleased | CommissionClawedBack)
        return ((ENTRIES, event.entry_id), statement)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        if key[0] == PLANS:
            return plans.evolve(key, doc, event, envelope)
        if key[0] == ENTRIES:
            return entries.evolve(key, doc, event, envelope)
        return statements.evolve(key, doc, event, envelope)


PROJECTION = CommissionsProjection()
