"""Invoices and payments as files of their own, for orders and invoices already in the CRM.

**Invoices** (``kind=invoices``). A row invoices one order (``IssueInvoice``, the sales
context's command): its ``invoice`` number (required: the file's key), its ``order`` (the
order number an orders import was given, from which it derived the order's id, or the order's
id), its ``invoice_date`` (required: the issue date, kept as the event's ``occurred_at``) and
``due_date`` (default 30 days later). The sales domain invoices an order for its total, one
invoice per order, under an id derived from the order: an ``amount`` (and ``currency``) cell
is checked against that total, never taken instead of it. The invoice number is kept as the
invoice's ``number`` (one per invoice in a tenant). The dry run plays the issue on the
domain's aggregates in memory: an unknown order, a cancelled one, a date before the order was
placed or in the future, a due date not after the issue date, a number another order's
invoice has are the row's errors, each naming its column. An order invoiced already (by an
earlier import, by hand, or by an earlier row) is a duplicate, so the same file imported
again creates nothing.

**Payments** (``kind=payments``). A row records one payment of an invoice (``RecordPayment``):
the invoice by its ``invoice`` (its number, or its id in this CRM) or by its ``order`` (number
or id: an order has one invoice),
its ``amount`` (required; in the invoice's currency unless a cell says otherwise),
``paid_date`` (required, the payment's day and the event's ``occurred_at``),
``payment_method`` and ``reference``. The payment's id is derived from the invoice and the
reference (or, without one, from its amount, day, method and how many identical payments of
the invoice came before it in the file), so a payment imported again is the same payment:
a duplicate, never a second one. The rows of one invoice are played on it in memory in the
file's order: an overpayment (a balance an earlier row paid off included), a void invoice, a
date before the invoice was issued or in the future, an unknown invoice are the row's errors;
the run records the payments of one invoice one after another (:meth:`FileImport.lane`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from crm.events.money import Money
from crm.kernel.errors import CrmError
from crm.kernel.repository import CLOCK_SKEW
from crm.platform.imports import values
from crm.platform.imports.customers import RowError
from crm.platform.imports.mapping import BadMapping, cells_by_field, require_columns
from crm.platform.imports.run import FileImport, RowOutcome, Step
from crm.platform.imports.sales import imported_order_id, number_of_another
from crm.sales.application.catalogue import NAMESPACE
from crm.sales.application.invoice_commands import (
    DEFAULT_PAYMENT_TERM,
    IssueInvoice,
    RecordPayment,
    invoice_id_for_order,
    invoice_numbered,
)
from crm.sales.domain.invoices import Invoice, invoice_number
from crm.sales.domain.orders import Order
from crm.sales.projections.order_models import PROJECTION as ORDER_TO_CASH

INVOICE_FIELDS = ("invoice", "order", "invoice_date", "due_date", "amount", "currency")
"""What an invoices file may fill: ``invoice``, ``order`` and ``invoice_date`` are required."""

PAYMENT_FIELDS = (
    "invoice",
    "order",
    "amount",
    "currency",
    "paid_date",
    "payment_method",
    "reference",
)
"""What a payments file may fill: the invoice (``invoice`` number or id, or ``order``),
``amount`` and ``paid_date`` are required."""


class OfInvoices(FileImport):
    """A file checked against the invoices read model (their numbers)."""

    looks_up = (ORDER_TO_CASH.name,)

    async def caught_up(self) -> None:
        """Wait (up to the read wait) for the invoices read model to reach the log's head."""
        await self.wait_for(ORDER_TO_CASH.name, ORDER_TO_CASH.categories)

    async def numbered(self, number: str) -> str | None:
        """The id of the tenant's invoice numbered ``number`` (None: none)."""
        return await invoice_numbered(self.runtime.read_store, self.tenant, number)


def order_id_of(tenant: str, cell: str) -> str:
    """The order a cell names: an id of this CRM, else the number an orders import derived
    its id from."""
    try:
        return str(UUID(cell))
    except ValueError:
        return imported_order_id(tenant, cell)


def imported_payment_id(invoice_id: str, identity: str) -> str:
    return str(uuid5(NAMESPACE, f"imported-payment-row\x00{invoice_id}\x00{identity}"))


def _reason(e: CrmError) -> str:
    return f"{getattr(e, 'message', None) or e} / 无法导入"


# -- invoices ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    number: str
    order_id: str
    issued_at: datetime
    due_date: date | None

    def fingerprint(self) -> str:
        due = self.due_date and self.due_date.isoformat()
        return repr((self.number, self.order_id, self.issued_at.isoformat(), due))


class InvoiceImport(OfInvoices):
    """Invoices of orders already there (see the module)."""

    kind = "invoices"
    fields = INVOICE_FIELDS
    noun = "invoice"

    def setup(self) -> None:
        require_columns(self.mapping, "invoice", "order", "invoice_date")
        self.numbers: dict[str, int] = {}
        self.orders: dict[str, tuple[int, str]] = {}
        self.now = self.runtime.clock.now()

    def start(self) -> None:
        self.numbers = {}
        self.orders = {}
        self.now = self.runtime.clock.now()

    async def read(self, cells: Sequence[str]) -> InvoiceRow | RowError:
        row = cells_by_field(self.source.headers, self.mapping, cells)
        for required in ("invoice", "order", "invoice_date"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        try:
            number = invoice_number(row["invoice"])
        except CrmError as e:
            return RowError(self.column_of("invoice"), row["invoice"][:100], _reason(e))
        assert number is not None  # the cell is filled
        day_first = self.options.day_first
        read: dict[str, date] = {}
        for name in ("invoice_date", "due_date"):
            if row.get(name):
                try:
                    read[name] = values.day(row[name], day_first=day_first)
                except values.BadValue as e:
                    return RowError(self.column_of(name), e.value, e.reason)
        order_id = order_id_of(self.tenant, row["order"])
        found = await self.loaded(Order, order_id)
        if found is None or not found[0].state.placed:
            return RowError(self.column_of("order"), row["order"], "no such order / 订单不存在")
        order, placed_at = found
        issued_on = read["invoice_date"]
        if issued_on < placed_at.date():
            return RowError(
                self.column_of("invoice_date"),
                row["invoice_date"],
                f"is before the order was placed ({placed_at.date()}) / 早于下单日期",
            )
        issued_at = max(placed_at, values.midnight(issued_on))
        if issued_at > self.now + CLOCK_SKEW:
            future = "is in the future / 日期在将来"
            return RowError(self.column_of("invoice_date"), row["invoice_date"], future)
        total = order.state.total
        assert total is not None
        if row.get("amount"):
            try:
                amount = values.money(row["amount"], row.get("currency") or total.currency)
            except values.BadValue as e:
                return RowError(self.column_of("amount"), e.value, e.reason)
            if amount != total:
                return RowError(
                    self.column_of("amount"),
                    row["amount"],
                    f"the order totals {total}: an invoice is for its order's total"
                    " / 与订单总额不一致",
                )
        elif row.get("currency") and row["currency"].upper() != total.currency:
            return RowError(
                self.column_of("currency"),
                row["currency"],
                f"the order is in {total.currency} / 币种与订单不一致",
            )
        taken = await number_of_another(self, number, order_id, self.column_of("invoice"))
        if taken is not None:
            return taken
        due = read.get("due_date")
        try:  # the domain's own rules, on an invoice nobody stores
            Invoice.create(invoice_id_for_order(order_id)).issue(
                order,
                issue_date=issued_on,
                due_date=due or issued_on + DEFAULT_PAYMENT_TERM,
                number=number,
            )
        except CrmError as e:
            culprit = getattr(e, "field", None)
            column = self.column_of("due_date") if culprit == "due_date" else None
            return RowError(column or self.column_of("order"), None, _reason(e))
        return InvoiceRow(number, order_id, issued_at, due)

    def record_for(self, row: int, item: InvoiceRow) -> str:
        return invoice_id_for_order(item.order_id)

    def fingerprint(self, item: InvoiceRow) -> str:
        return item.fingerprint()

    def remember(self, row: int, id_: str, item: InvoiceRow) -> None:
        self.numbers.setdefault(item.number, row)
        self.orders.setdefault(item.order_id, (row, item.number))

    async def duplicate(self, row: int, id_: str, item: InvoiceRow) -> RowOutcome | None:
        if item.number in self.numbers:
            return await self.already_there(
                Invoice, row, id_, item, "same_invoice_number", self.numbers[item.number]
            )
        earlier = self.orders.get(item.order_id)
        if earlier is not None:
            return RowOutcome(
                row,
                "error",
                error=RowError(
                    self.column_of("order"),
                    None,
                    f"is invoiced already by row {earlier[0]} (invoice {earlier[1]}): one"
                    f" invoice per order / 该订单已由第 {earlier[0]} 行开票",
                ),
            )
        return await self.already_there(Invoice, row, id_, item, "already_invoiced")

    def steps(self, id_: str, item: InvoiceRow) -> list[Step]:
        command = IssueInvoice(item.order_id, item.due_date, item.number)
        return [Step("", command, item.issued_at)]


# -- payments ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentRow:
    invoice_id: str
    payment_id: str
    amount: Money
    paid_on: date
    paid_at: datetime
    method: str | None
    reference: str | None

    def fingerprint(self) -> str:
        return repr(
            (
                self.invoice_id,
                self.payment_id,
                str(self.amount),
                self.paid_at.isoformat(),
                self.method,
                self.reference,
            )
        )


class PaymentImport(OfInvoices):
    """Payments of invoices already there (see the module)."""

    kind = "payments"
    fields = PAYMENT_FIELDS
    noun = "payment"

    def setup(self) -> None:
        mapped = set(self.mapping.values())
        if not mapped & {"invoice", "order"}:
            raise BadMapping(
                "invoice", "no column names the invoice (id, or its order) / 缺少发票列"
            )
        require_columns(self.mapping, "amount", "paid_date")
        self.start()

    def start(self) -> None:
        self.invoices: dict[str, tuple[Invoice, datetime] | None] = {}
        self.identical: dict[str, int] = {}
        self.now = self.runtime.clock.now()

    async def _invoice(self, invoice_id: str) -> tuple[Invoice, datetime] | None:
        """The invoice as the store had it when the pass first met it, then as the pass's
        rows play on it."""
        if invoice_id not in self.invoices:
            found = await self.loaded(Invoice, invoice_id)
            self.invoices[invoice_id] = found if found and found[0].state.issued else None
        return self.invoices[invoice_id]

    async def read(self, cells: Sequence[str]) -> PaymentRow | RowError:
        row = cells_by_field(self.source.headers, self.mapping, cells)
        if row.get("invoice"):
            column = self.column_of("invoice")
            named = row["invoice"].strip()
            by_number = await self.numbered(named[:64])
            if by_number is not None:
                invoice_id = by_number
            else:
                try:
                    invoice_id = str(UUID(named))
                except ValueError:
                    return RowError(
                        column, named[:100], "no invoice has this number / 没有此发票号的发票"
                    )
        elif row.get("order"):
            column = self.column_of("order")
            invoice_id = invoice_id_for_order(order_id_of(self.tenant, row["order"]))
            named = row["order"]
        else:
            return RowError(
                self.column_of("invoice") or self.column_of("order"), None, "is required / 必填"
            )
        for required in ("amount", "paid_date"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        found = await self._invoice(invoice_id)
        if found is None:
            return RowError(column, named, "no such invoice / 发票不存在")
        invoice = found[0].state
        assert invoice.amount is not None
        try:
            amount = values.money(row["amount"], row.get("currency") or invoice.amount.currency)
        except values.BadValue as e:
            return RowError(self.column_of("amount"), e.value, e.reason)
        try:
            paid_on = values.day(row["paid_date"], day_first=self.options.day_first)
        except values.BadValue as e:
            return RowError(self.column_of("paid_date"), e.value, e.reason)
        if paid_on < invoice.issue_date:
            return RowError(
                self.column_of("paid_date"),
                row["paid_date"],
                f"is before the invoice was issued ({invoice.issue_date}) / 早于开票日期",
            )
        paid_at = max(found[1], values.midnight(paid_on))
        if paid_at > self.now + CLOCK_SKEW:
            future = "is in the future / 日期在将来"
            return RowError(self.column_of("paid_date"), row["paid_date"], future)
        method = row.get("payment_method") or None
        reference = row.get("reference") or None
        if reference is not None:
            identity = f"ref\x00{reference}"
        else:
            same = f"{invoice_id}\x00{amount}\x00{paid_on}\x00{method}"
            self.identical[same] = self.identical.get(same, 0) + 1
            identity = f"row\x00{amount}\x00{paid_on}\x00{method}\x00{self.identical[same]}"
        return PaymentRow(
            invoice_id,
            imported_payment_id(invoice_id, identity),
            amount,
            paid_on,
            paid_at,
            method,
            reference,
        )

    def record_for(self, row: int, item: PaymentRow) -> str:
        return item.payment_id

    def fingerprint(self, item: PaymentRow) -> str:
        return item.fingerprint()

    def lane(self, item: Any) -> str | None:
        return item.invoice_id if isinstance(item, PaymentRow) else None

    async def duplicate(self, row: int, id_: str, item: PaymentRow) -> RowOutcome | None:
        found = await self._invoice(item.invoice_id)
        assert found is not None
        invoice = found[0]
        if item.payment_id in invoice.state.payments and not await self._mine(row, item):
            return RowOutcome(
                row,
                "duplicate",
                duplicate_of=item.payment_id,
                score=100,
                reasons=("same_payment",),
                item=item,
                noun=self.noun,
            )
        try:
            invoice.record_payment(
                item.payment_id,
                item.amount,
                received_on=item.paid_on,
                method=item.method,
                reference=item.reference,
            )
        except CrmError as e:
            culprit = getattr(e, "field", None)
            code = getattr(e, "code", None)
            field_ = {"method": "payment_method"}.get(str(culprit), culprit)
            if field_ is None:
                field_ = "amount" if code == "overpayment" else "invoice"
            column = self.column_of(str(field_)) or self.column_of("order")
            return RowOutcome(row, "error", error=RowError(column, None, _reason(e)))
        return None

    async def _mine(self, row: int, item: PaymentRow) -> bool:
        """Whether this import recorded the payment (a run resumed after its step)."""
        return await self.runtime.store.idempotent_result(self.key(row, item)) is not None

    def steps(self, id_: str, item: PaymentRow) -> list[Step]:
        payment = RecordPayment(
            item.invoice_id,
            item.amount,
            item.payment_id,
            received_on=item.paid_on,
            method=item.method,
            reference=item.reference,
        )
        return [Step("", payment, item.paid_at)]
