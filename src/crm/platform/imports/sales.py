"""A company's sales history as imports: its catalogue (``products``) and its orders with
their lines, invoices and payments (``orders``), each fact dated by its own date.

**Products.** A row puts one product in the catalogue (``CreateProduct``): its ``sku``
(required, the catalogue's key: a product's id is derived from the tenant and the sku),
``name``, ``price`` (the list price, ``¥1,299.00``, ``1299 CNY``, or a number in the import's
currency) and ``description``. A sku the catalogue has, or an earlier row of the file, is a
duplicate, never a second product.

**Orders.** A row is one line of an order; the rows of one order (the same ``order`` number,
one after another, as an export of orders writes them) are one order. The order's own cells
(``customer`` by id or ``email``, ``date``, ``currency``, ``status``, ``invoice``,
``invoice_date``, ``due_date``, ``paid``, ``paid_date``, ``payment_method``) are read from its
first row; a later line may leave them blank or repeat them, never say otherwise. Each line
names a ``sku`` of the catalogue (import the products first), a ``quantity`` (default 1), and
optionally its ``price`` (else the catalogue's list price) and ``discount`` in percent. The
order is then its history, each step a command of the sales context through the command bus,
under a key of its own (the row's key and a suffix) and dated by its own date
(``CommandContext.occurred_at``):

- placed (``PlaceOrder``) on its ``date``;
- ``status`` ``shipped`` or ``delivered`` (``已发货``, ``已完成``...): shipped on its
  ``shipped_date`` and delivered on its ``delivered_date`` (each default the date before it; a
  date given says the status where it is blank); ``cancelled`` (``已取消``): cancelled;
- invoiced (``IssueInvoice``), under its ``invoice`` number if it has one (no other order's, in
  the file or in the CRM), on its ``invoice_date``, due on ``due_date`` (default 30 days
  later); an order with a payment and no invoice date is invoiced on its date;
- paid (``RecordPayment``): ``paid`` is the amount (or ``yes``/``全额``: the invoice's total),
  received on ``paid_date`` (default the invoice's date), by ``payment_method``.

The order's id is derived from the tenant and its number, so the same order imported again
(the same file twice) meets its own stream and is a duplicate. The dry run prices the lines
from the catalogue and plays the whole history on the domain's aggregates in memory: an
unknown or retired sku, an overpayment, an invoice of a cancelled order, a payment before
the invoice are the row's errors before anything is written, each naming its column.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid5

from crm.events.imports import ImportKind
from crm.events.money import Money
from crm.events.sales_orders import OrderStatus
from crm.kernel.errors import CrmError, InvalidCommand
from crm.kernel.repository import CLOCK_SKEW
from crm.platform.imports import values
from crm.platform.imports.customers import RowError
from crm.platform.imports.interactions import customer_named
from crm.platform.imports.mapping import BadMapping, cells_by_field, require_columns
from crm.platform.imports.run import FileImport, RowOutcome, Step
from crm.platform.imports.spool import RowsByKey
from crm.sales.application.catalogue import NAMESPACE, Catalogue, LineInput, next_line_id
from crm.sales.application.invoice_commands import (
    DEFAULT_PAYMENT_TERM,
    IssueInvoice,
    RecordPayment,
    invoice_id_for_order,
    invoice_numbered,
)
from crm.sales.application.order_commands import (
    CancelOrder,
    DeliverOrder,
    PlaceOrder,
    ShipOrder,
)
from crm.sales.application.product_commands import CreateProduct
from crm.sales.domain.invoices import Invoice, invoice_number
from crm.sales.domain.orders import Order
from crm.sales.domain.pricing import LineRequest
from crm.sales.domain.products import Product, normalise_sku
from crm.sales.projections.order_models import PROJECTION as ORDER_TO_CASH

PRODUCT_FIELDS = ("sku", "name", "price", "currency", "description")
"""What a products file may fill: ``sku``, ``name`` and ``price`` are required."""

ORDER_CELLS = (
    "customer",
    "email",
    "date",
    "currency",
    "status",
    "shipped_date",
    "delivered_date",
    "invoice",
    "invoice_date",
    "due_date",
    "paid",
    "paid_date",
    "payment_method",
)
"""The cells of the order as a whole (read from its first row; a later line repeats them or
leaves them blank)."""

LINE_CELLS = ("sku", "quantity", "price", "discount")
"""The cells of each line."""

ORDER_FIELDS = ("order", *ORDER_CELLS, *LINE_CELLS)
"""What an orders file may fill: ``order``, the customer (``customer`` or ``email``),
``date`` and ``sku`` are required."""

STATUSES: Mapping[str, OrderStatus] = {
    **{s.value: s for s in (OrderStatus.PLACED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)},
    OrderStatus.CANCELLED.value: OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
    "completed": OrderStatus.DELIVERED,
    "complete": OrderStatus.DELIVERED,
    "已下单": OrderStatus.PLACED,
    "待发货": OrderStatus.PLACED,
    "已发货": OrderStatus.SHIPPED,
    "已送达": OrderStatus.DELIVERED,
    "已签收": OrderStatus.DELIVERED,
    "已完成": OrderStatus.DELIVERED,
    "已取消": OrderStatus.CANCELLED,
}
PAID_IN_FULL = frozenset({"yes", "y", "all", "full", "paid", "是", "全额", "已付", "已付清"})
CANCELLED_REASON = "imported as cancelled / 导入时已取消"

_IMPORTED = "imported-order"


def imported_order_id(tenant: str, number: str) -> str:
    """The one order id an imported order number can have in a tenant."""
    return str(uuid5(NAMESPACE, f"{_IMPORTED}\x00{tenant}\x00{number}"))


async def number_of_another(
    importer: FileImport, number: str, order_id: str, column: str | None
) -> RowError | None:
    """The row's error if ``number`` is the number of an invoice the CRM has for another order
    than ``order_id`` (the invoices read model says; None: it is not)."""
    other = await invoice_numbered(importer.runtime.read_store, importer.tenant, number)
    if other is None or other == invoice_id_for_order(order_id):
        return None
    return RowError(
        column,
        number,
        f"is the number of invoice {other}, of another order / 该发票号已被其他发票使用",
    )


def imported_payment_id(order_id: str) -> str:
    return str(uuid5(NAMESPACE, f"imported-payment\x00{order_id}"))


# -- products ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductRow:
    sku: str
    name: str
    list_price: Money
    description: str | None


class ProductImport(FileImport):
    """The catalogue: each row creates a product, unless its sku is one already."""

    kind: ImportKind = "products"
    fields = PRODUCT_FIELDS
    noun = "product"
    looks_up = ()

    def setup(self) -> None:
        require_columns(self.mapping, "sku", "name", "price")
        self.seen = RowsByKey()

    def start(self) -> None:
        self.seen = RowsByKey()

    async def read(self, cells: Sequence[str]) -> ProductRow | RowError:
        row = cells_by_field(self.source.headers, self.mapping, cells)
        for required in ("sku", "name", "price"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        try:
            sku = normalise_sku(row["sku"])
        except InvalidCommand as e:
            return RowError(self.column_of("sku"), row["sku"], f"{e.message} / 货号无效")
        try:
            price = values.money(row["price"], row.get("currency") or self.options.currency)
        except values.BadValue as e:
            return RowError(self.column_of("price"), e.value, e.reason)
        item = ProductRow(sku, row["name"], price, row.get("description") or None)
        try:  # the domain's own checks, on a product of no stream
            Product.create(self.record_for(0, item)).define(
                sku=sku, name=item.name, list_price=price, description=item.description
            )
        except InvalidCommand as e:
            field_ = {"list_price": "price"}.get(e.field, e.field)
            return RowError(self.column_of(field_), row.get(field_), f"{e.message} / 值无效")
        return item

    def record_for(self, row: int, item: ProductRow) -> str:
        return CreateProduct.in_tenant(
            self.tenant, sku=item.sku, name=item.name, list_price=item.list_price
        ).product_id

    def fingerprint(self, item: ProductRow) -> str:
        return repr((item.sku, item.name, str(item.list_price), item.description))

    def remember(self, row: int, id_: str, item: ProductRow) -> None:
        self.seen.setdefault(item.sku, row)

    async def duplicate(self, row: int, id_: str, item: ProductRow) -> RowOutcome | None:
        return await self.already_there(
            Product, row, id_, item, "same_sku", self.seen.get(item.sku)
        )

    def command(self, id_: str, item: ProductRow) -> tuple[object, datetime | None]:
        return (
            CreateProduct(id_, item.sku, item.name, item.list_price, item.description),
            None,
        )


# -- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    number: str
    customer_id: str
    currency: str
    placed_at: datetime
    lines: tuple[LineInput, ...]
    status: OrderStatus
    invoiced_at: datetime | None = None
    due_date: date | None = None
    paid: Money | None = None
    paid_at: datetime | None = None
    payment_method: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    rows: tuple[int, ...] = ()
    """The file's rows of its lines, in order."""
    invoice_number: str | None = None
    """The invoice's own number (发票号), if the file gives one."""

    def fingerprint(self) -> str:
        lines = [
            (line.sku, str(line.quantity), str(line.unit_price), str(line.discount_percent))
            for line in self.lines
        ]
        return repr(
            (
                self.number,
                self.customer_id,
                self.currency,
                self.placed_at.isoformat(),
                lines,
                self.status.value,
                self.invoiced_at and self.invoiced_at.isoformat(),
                self.due_date and self.due_date.isoformat(),
                str(self.paid),
                self.paid_at and self.paid_at.isoformat(),
                self.payment_method,
                self.shipped_at and self.shipped_at.isoformat(),
                self.delivered_at and self.delivered_at.isoformat(),
                # only when given: a row without one keeps the key it had before numbers
                *((self.invoice_number,) if self.invoice_number is not None else ()),
            )
        )


@dataclass
class _Group:
    number: str
    first: dict[str, str]
    lines: list[tuple[int, dict[str, str]]] = field(default_factory=list)


class OrderImport(FileImport):
    """Orders of the past with their lines, invoices and payments (see the module)."""

    kind: ImportKind = "orders"
    fields = ORDER_FIELDS
    noun = "order"
    # the order's customer, by e-mail or id; the invoices' numbers
    looks_up = ("customers", "sales_customer_directory", ORDER_TO_CASH.name)

    def setup(self) -> None:
        self._check_mapping()
        self.catalogue = Catalogue(self.runtime)
        self.start()

    def start(self) -> None:
        self.seen = RowsByKey()
        self.invoice_numbers = RowsByKey()
        self.now = self.runtime.clock.now()

    async def caught_up(self) -> None:
        """The customers read model, and the invoices' (their numbers), at the log's head."""
        await super().caught_up()
        await self.wait_for(ORDER_TO_CASH.name, ORDER_TO_CASH.categories)

    def _check_mapping(self) -> None:
        if "order" not in self.mapping.values():
            raise BadMapping("order", "no column is the order number / 缺少订单号列")
        require_columns(self.mapping, "date", "sku", customer=True)

    async def items(self) -> AsyncIterator[tuple[int, Any]]:
        group: _Group | None = None
        for row in self.source:
            cells = cells_by_field(self.source.headers, self.mapping, row.values)
            number = cells.get("order", "")
            if group is not None and number == group.number:
                group.lines.append((row.number, cells))
                continue
            if group is not None:
                yield group.lines[0][0], await self._order(group)
            if not number:
                group = None
                yield row.number, RowError(self.column_of("order"), None, "is required / 必填")
                continue
            if number in self.seen:
                group = None
                first = self.seen[number]
                yield (
                    row.number,
                    RowError(
                        self.column_of("order"),
                        number,
                        f"the order's lines must follow each other (it began at row {first})"
                        f" / 同一订单的行须相邻(始于第 {first} 行)",
                    ),
                )
                continue
            self.seen[number] = row.number
            group = _Group(number, cells, [(row.number, cells)])
        if group is not None:
            yield group.lines[0][0], await self._order(group)

    def column_at(self, field_: str, row: int, first: int) -> str | None:
        """The column of ``field_``, said with the row when it is a later line's."""
        column = self.column_of(field_)
        if column is None or row == first:
            return column
        return f"{column} (row {row} / 第 {row} 行)"

    async def _order(self, group: _Group) -> OrderRow | RowError:
        first_row = group.lines[0][0]
        head = group.first
        for row, cells in group.lines[1:]:
            for name in ORDER_CELLS:
                if cells.get(name) and cells[name] != head.get(name, ""):
                    return RowError(
                        self.column_at(name, row, first_row),
                        cells[name],
                        f"differs from the order's first row ({head.get(name) or 'blank'})"
                        " / 与订单首行不一致",
                    )
        if not head.get("date"):
            return RowError(self.column_of("date"), None, "is required / 必填")
        day_first = self.options.day_first
        try:
            placed_at = values.instant(head["date"], day_first=day_first)
        except values.BadValue as e:
            return RowError(self.column_of("date"), e.value, e.reason)
        customer = await customer_named(self.runtime.read_store, self.tenant, head, self.column_of)
        if isinstance(customer, RowError):
            return customer
        currency = head.get("currency", "").upper() or self.options.currency
        lines: list[LineInput] = []
        for row, cells in group.lines:
            line = self._line(row, first_row, cells, currency)
            if isinstance(line, RowError):
                return line
            if currency is None and line.unit_price is not None:
                currency = line.unit_price.currency
            lines.append(line)
        if currency is None:
            return RowError(self.column_of("currency"), None, "no currency (choose one) / 缺少币种")
        fulfilled = self._fulfilment(head, placed_at)
        if isinstance(fulfilled, RowError):
            return fulfilled
        status, shipped_at, delivered_at = fulfilled
        dates = self._dates(head, placed_at)
        if isinstance(dates, RowError):
            return dates
        invoiced_at, due, paid_at = dates
        numbered = await self._invoice_number(head, group, invoiced_at)
        if isinstance(numbered, RowError):
            return numbered
        paid: Money | None = None
        if head.get("paid") and head["paid"].lower() not in PAID_IN_FULL:
            try:
                paid = values.money(head["paid"], currency)
            except values.BadValue as e:
                return RowError(self.column_of("paid"), e.value, e.reason)
        order = OrderRow(
            group.number,
            customer,
            currency,
            placed_at,
            tuple(lines),
            status,
            invoiced_at,
            due,
            paid,
            paid_at,
            head.get("payment_method") or None,
            shipped_at,
            delivered_at,
            tuple(row for row, _ in group.lines),
            numbered,
        )
        return await self._played(order, group)

    async def _invoice_number(
        self, head: Mapping[str, str], group: _Group, invoiced_at: datetime | None
    ) -> str | RowError | None:
        """The order's invoice number: one an invoice is issued under (an invoice date or a
        payment), no other order's in the file or in the CRM."""
        column = self.column_of("invoice")
        try:
            number = invoice_number(head.get("invoice"))
        except CrmError as e:
            reason = getattr(e, "message", None) or str(e)
            return RowError(column, head.get("invoice", "")[:100], f"{reason} / 发票号无效")
        if number is None:
            return None
        if invoiced_at is None:
            return RowError(column, number, "needs an invoice date / 缺少开票日期")
        first = group.lines[0][0]
        earlier = self.invoice_numbers.setdefault(number, first)
        if earlier != first:
            return RowError(
                column, number, f"is row {earlier}'s invoice number / 与第 {earlier} 行的发票号重复"
            )
        taken = await number_of_another(
            self, number, imported_order_id(self.tenant, group.number), column
        )
        return number if taken is None else taken

    def _line(
        self, row: int, first: int, cells: Mapping[str, str], currency: str | None
    ) -> LineInput | RowError:
        if not cells.get("sku"):
            return RowError(self.column_at("sku", row, first), None, "is required / 必填")
        quantity = Decimal(1)
        if cells.get("quantity"):
            try:
                quantity = Decimal(cells["quantity"].replace(",", ""))
            except InvalidOperation:
                return RowError(
                    self.column_at("quantity", row, first),
                    cells["quantity"],
                    "not a number / 不是数字",
                )
        discount = Decimal(0)
        if cells.get("discount"):
            try:
                discount = Decimal(cells["discount"].rstrip("%").strip())
            except InvalidOperation:
                return RowError(
                    self.column_at("discount", row, first),
                    cells["discount"],
                    "not a number / 不是数字",
                )
        price: Money | None = None
        if cells.get("price"):
            try:
                price = values.money(cells["price"], currency)
            except values.BadValue as e:
                return RowError(self.column_at("price", row, first), e.value, e.reason)
            if currency is not None and price.currency != currency:
                return RowError(
                    self.column_at("price", row, first),
                    cells["price"],
                    f"is not in the order's currency {currency} / 币种与订单不一致",
                )
        return LineInput(quantity, sku=cells["sku"], unit_price=price, discount_percent=discount)

    def _fulfilment(
        self, head: Mapping[str, str], placed_at: datetime
    ) -> tuple[OrderStatus, datetime | None, datetime | None] | RowError:
        """The order's status and when it was shipped and delivered: a shipped or delivered
        date says so where the status is blank (and must agree with a status given); each
        date not before the step it follows, none in the future; without one, the order's
        own date."""
        day_first = self.options.day_first
        read: dict[str, datetime] = {}
        for name in ("shipped_date", "delivered_date"):
            if head.get(name):
                try:
                    read[name] = values.midnight(values.day(head[name], day_first=day_first))
                except values.BadValue as e:
                    return RowError(self.column_of(name), e.value, e.reason)
                if read[name] > self.now + CLOCK_SKEW:
                    future = "is in the future / 日期在将来"
                    return RowError(self.column_of(name), head[name], future)
        implied = (
            OrderStatus.DELIVERED
            if "delivered_date" in read
            else OrderStatus.SHIPPED
            if "shipped_date" in read
            else OrderStatus.PLACED
        )
        status = STATUSES.get(head["status"].lower()) if head.get("status") else implied
        if status is None:
            return RowError(
                self.column_of("status"),
                head["status"],
                "one of placed, shipped, delivered, cancelled / 状态无效",
            )
        if "delivered_date" in read and status is not OrderStatus.DELIVERED:
            return RowError(
                self.column_of("delivered_date"),
                head["delivered_date"],
                f"the order is {status.value}, not delivered / 订单未签收",
            )
        if "shipped_date" in read and status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            return RowError(
                self.column_of("shipped_date"),
                head["shipped_date"],
                f"the order is {status.value}, not shipped / 订单未发货",
            )
        if status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            return status, None, None
        shipped = read.get("shipped_date")
        if shipped is not None and shipped.date() < placed_at.date():
            before = "is before the order's date / 早于下单日期"
            return RowError(self.column_of("shipped_date"), head["shipped_date"], before)
        shipped_at = max(placed_at, shipped) if shipped is not None else placed_at
        if status is not OrderStatus.DELIVERED:
            return status, shipped_at, None
        delivered = read.get("delivered_date")
        if delivered is not None and delivered.date() < shipped_at.date():
            before = "is before it was shipped / 早于发货日期"
            return RowError(self.column_of("delivered_date"), head["delivered_date"], before)
        delivered_at = max(shipped_at, delivered) if delivered is not None else shipped_at
        return status, shipped_at, delivered_at

    def _dates(
        self, head: Mapping[str, str], placed_at: datetime
    ) -> tuple[datetime | None, date | None, datetime | None] | RowError:
        """When the order was invoiced, its due date and when it was paid (each not before
        the step it follows, none in the future)."""
        day_first = self.options.day_first
        if placed_at > self.now + CLOCK_SKEW:
            return RowError(self.column_of("date"), head["date"], "is in the future / 日期在将来")
        read: dict[str, date] = {}
        for name in ("invoice_date", "due_date", "paid_date"):
            if head.get(name):
                try:
                    read[name] = values.day(head[name], day_first=day_first)
                except values.BadValue as e:
                    return RowError(self.column_of(name), e.value, e.reason)
        if "paid_date" in read and not head.get("paid"):
            return RowError(self.column_of("paid"), None, "says how much was paid / 缺少付款金额")
        if "due_date" in read and "invoice_date" not in read:
            return RowError(
                self.column_of("invoice_date"),
                None,
                "a due date needs an invoice date / 缺少开票日期",
            )
        invoiced: datetime | None = None
        if "invoice_date" in read or head.get("paid"):
            invoiced = max(placed_at, values.midnight(read.get("invoice_date", placed_at.date())))
            if "invoice_date" in read and read["invoice_date"] < placed_at.date():
                return RowError(
                    self.column_of("invoice_date"),
                    head["invoice_date"],
                    "is before the order's date / 早于下单日期",
                )
        paid_at: datetime | None = None
        if head.get("paid"):
            assert invoiced is not None
            paid_at = max(invoiced, values.midnight(read.get("paid_date", invoiced.date())))
            if "paid_date" in read and read["paid_date"] < invoiced.date():
                return RowError(
                    self.column_of("paid_date"),
                    head["paid_date"],
                    "is before the invoice's date / 早于开票日期",
                )
        for name, when in (("invoice_date", invoiced), ("paid_date", paid_at)):
            if when is not None and when > self.now + CLOCK_SKEW:
                return RowError(
                    self.column_of(name), head.get(name), "is in the future / 日期在将来"
                )
        return invoiced, read.get("due_date"), paid_at

    async def _played(self, order: OrderRow, group: _Group) -> OrderRow | RowError:
        """The order's history played on the domain's aggregates in memory (nothing stored):
        the lines priced from the catalogue, placed, moved to its status, invoiced and paid;
        the first refusal as the row's error, naming its column. A payment in full is then
        the invoice's amount."""
        id_ = imported_order_id(self.tenant, order.number)
        first = order.rows[0]
        try:
            priced = await self.catalogue.priced(self.tenant, order.currency, order.lines, None)
        except CrmError as e:
            return self._line_error(e, order, group)
        requests: list[LineRequest] = []
        for request in priced:
            requests.append(replace(request, line_id=next_line_id([r.line_id for r in requests])))
        aggregate = Order.create(id_)
        step = "date"
        try:
            aggregate.place(
                customer_id=order.customer_id,
                owner_id=self.options.owner_id or "import",
                currency=order.currency,
                lines=requests,
            )
            step = "status"
            if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                aggregate.ship()
            if order.status is OrderStatus.DELIVERED:
                aggregate.deliver()
            if order.status is OrderStatus.CANCELLED:
                aggregate.cancel(CANCELLED_REASON)
            if order.invoiced_at is None:
                return order
            step = "invoice_date"
            invoice = Invoice.create(invoice_id_for_order(id_))
            issued = order.invoiced_at.date()
            invoice.issue(
                aggregate,
                issue_date=issued,
                due_date=order.due_date or issued + DEFAULT_PAYMENT_TERM,
                number=order.invoice_number,
            )
            if order.paid_at is None:
                return order
            step = "paid"
            amount = order.paid or invoice.state.amount
            assert amount is not None
            invoice.record_payment(
                imported_payment_id(id_),
                amount,
                received_on=order.paid_at.date(),
                method=order.payment_method,
            )
        except CrmError as e:
            culprit = getattr(e, "field", None)
            column = self.column_of(step) if step != "date" or culprit else None
            if step == "date" and culprit in ("quantity", "discount_percent", "unit_price"):
                column = self.column_at(
                    {"discount_percent": "discount", "unit_price": "price"}.get(culprit, culprit),
                    first,
                    first,
                )
            message = getattr(e, "message", None) or str(e)
            return RowError(column, None, f"{message} / 无法导入")
        return replace(order, paid=amount)

    def _line_error(self, e: CrmError, order: OrderRow, group: _Group) -> RowError:
        """A refusal of the catalogue (``lines.2.sku``: no such product) as the line's row
        and column."""
        named = str(getattr(e, "field", "") or "")
        parts = named.split(".")
        message = getattr(e, "message", None) or str(e)
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            row, cells = group.lines[min(index, len(group.lines) - 1)]
            name = {"product_id": "sku", "unit_price": "price"}.get(parts[2], parts[2])
            return RowError(
                self.column_at(name, row, order.rows[0]), cells.get(name), f"{message} / 无法导入"
            )
        if "retired" in message:  # RuleViolated names no line: find the retired sku's
            for row, cells in group.lines:
                if cells.get("sku", "").upper() in message:
                    return RowError(
                        self.column_at("sku", row, order.rows[0]),
                        cells["sku"],
                        "the product is retired / 产品已停售",
                    )
        return RowError(None, None, f"{message} / 无法导入")

    def record_for(self, row: int, item: OrderRow) -> str:
        return imported_order_id(self.tenant, item.number)

    def fingerprint(self, item: OrderRow) -> str:
        return item.fingerprint()

    def remember(self, row: int, id_: str, item: OrderRow) -> None:
        """(Orders are matched by their derived id: the file's repeats are errors already.)"""

    async def duplicate(self, row: int, id_: str, item: OrderRow) -> RowOutcome | None:
        return await self.already_there(Order, row, id_, item, "same_order_number")

    def steps(self, id_: str, item: OrderRow) -> list[Step]:
        at = item.placed_at
        steps = [
            Step(
                "",
                PlaceOrder(
                    item.customer_id,
                    item.currency,
                    item.lines,
                    owner_id=self.options.owner_id,
                    order_id=id_,
                ),
                at,
            )
        ]
        if item.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            steps.append(Step("shipped", ShipOrder(id_), item.shipped_at or at))
        if item.status is OrderStatus.DELIVERED:
            steps.append(Step("delivered", DeliverOrder(id_), item.delivered_at or at))
        if item.status is OrderStatus.CANCELLED:
            steps.append(Step("cancelled", CancelOrder(id_, CANCELLED_REASON), at))
        if item.invoiced_at is not None:
            issue = IssueInvoice(id_, item.due_date, item.invoice_number)
            steps.append(Step("invoice", issue, item.invoiced_at))
        if item.paid is not None and item.paid_at is not None:
            payment = RecordPayment(
                invoice_id_for_order(id_),
                item.paid,
                imported_payment_id(id_),
                received_on=item.paid_at.date(),
                method=item.payment_method,
            )
            steps.append(Step("payment", payment, item.paid_at))
        return steps
