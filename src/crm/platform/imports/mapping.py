"""Which column holds which field: matched by the header's name, in English or Chinese
(``姓名``/``客户名称`` is the name, ``电话``/``手机`` the phone), case, spaces, ``_``/``-``
and a trailing ``*`` ignored; the user edits the result (a column named, a column left out).
A header no field knows stays unmapped, and is said so, never silently dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "name": (
        "name",
        "full name",
        "customer",
        "customer name",
        "product",
        "product name",
        "姓名",
        "客户名称",
        "客户",
        "名称",
        "产品",
        "产品名称",
        "商品名称",
        "contact",
        "contact name",
        "联系人",
        "联系人姓名",
    ),
    "email": ("email", "e-mail", "mail", "email address", "邮箱", "电子邮件", "邮件"),
    "phone": ("phone", "mobile", "telephone", "tel", "电话", "手机", "手机号", "联系电话"),
    "company": ("company", "organisation", "organization", "account", "公司", "单位", "公司名称"),
    "title": ("title", "job title", "position", "role", "职位", "职务", "角色"),
    "region": ("region", "area", "地区", "区域"),
    "source": ("source", "lead source", "来源", "渠道"),
    "tags": ("tags", "tag", "labels", "标签"),
    "external_id": ("id", "external id", "customer id", "ref", "编号", "客户编号", "外部编号"),
    "amount": (
        "amount",
        "total",
        "price",
        "value",
        "amount paid",
        "paid amount",
        "payment amount",
        "金额",
        "总额",
        "价格",
        "单价",
        "付款金额",
        "回款金额",
        "收款金额",
        "发票金额",
    ),
    "currency": ("currency", "币种", "货币"),
    "date": (
        "date",
        "order date",
        "placed",
        "placed at",
        "created",
        "created at",
        "opened",
        "日期",
        "下单日期",
        "时间",
        "创建日期",
        "创建时间",
    ),
    "quantity": ("quantity", "qty", "数量"),
    "sku": ("sku", "product code", "item", "产品编号", "货号", "商品编码"),
    "kind": ("kind", "customer type", "类型", "客户类型"),
    "customer": (
        "customer id",
        "customer",
        "客户编号",
        "客户id",
        "客户",
        "company",
        "company name",
        "customer name",
        "account",
        "公司",
        "公司名称",
        "客户名称",
        "所属公司",
    ),
    "primary": ("primary", "primary contact", "main contact", "主要联系人", "主联系人", "是否主要"),
    "note": ("note", "notes", "remark", "remarks", "备注", "说明"),
    "channel": ("channel", "type", "方式", "联系方式", "渠道"),
    "direction": ("direction", "方向"),
    "summary": ("summary", "notes", "note", "subject", "内容", "摘要", "备注", "记录"),
    "duration": ("duration", "minutes", "duration minutes", "时长", "分钟"),
    "customer_id": ("crm id", "crm customer id", "crm 编号", "系统客户编号"),
    "merge_into": ("merge into", "merged into", "merge with", "合并到", "合并至", "合并入"),
    "order": (
        "order",
        "order no",
        "order number",
        "order id",
        "order ref",
        "订单",
        "订单号",
        "订单编号",
    ),
    "price": ("price", "unit price", "list price", "单价", "价格", "售价", "标价"),
    "discount": ("discount", "discount %", "discount percent", "折扣", "折扣率"),
    "status": ("status", "order status", "lead status", "状态", "订单状态", "线索状态", "商机状态"),
    "shipped_date": ("shipped on", "ship date", "shipped date", "发货日期", "发货时间"),
    "delivered_date": (
        "delivered on",
        "delivery date",
        "delivered date",
        "签收日期",
        "送达日期",
        "收货日期",
    ),
    "invoice_date": (
        "invoice date",
        "invoiced",
        "invoiced on",
        "issue date",
        "issued",
        "issued on",
        "开票日期",
        "发票日期",
        "开票时间",
    ),
    "invoice": (
        "invoice",
        "invoice no",
        "invoice number",
        "invoice id",
        "invoice ref",
        "发票",
        "发票号",
        "发票号码",
        "发票编号",
    ),
    "reference": (
        "reference",
        "payment reference",
        "transaction id",
        "transaction",
        "ref",
        "流水号",
        "交易流水号",
        "参考号",
        "凭证号",
    ),
    "owner": ("owner", "owner id", "account owner", "sales rep", "rep", "负责人", "归属销售"),
    "due_date": ("due date", "due", "payment due", "到期日", "付款期限"),
    "paid": ("paid", "amount paid", "paid amount", "payment", "已付", "已付金额", "回款金额"),
    "paid_date": (
        "paid on",
        "paid date",
        "payment date",
        "received on",
        "付款日期",
        "回款日期",
        "收款日期",
    ),
    "payment_method": ("payment method", "method", "付款方式", "支付方式"),
    "description": ("description", "product description", "描述", "说明", "产品描述"),
    "opportunity": (
        "opportunity",
        "opportunity name",
        "deal",
        "deal name",
        "商机",
        "商机名称",
        "项目",
        "项目名称",
    ),
    "close_date": (
        "close date",
        "expected close",
        "expected close date",
        "closed on",
        "预计成交日期",
        "成交日期",
        "结单日期",
    ),
    "stage": ("stage", "sales stage", "阶段", "销售阶段"),
    "reason": ("reason", "lost reason", "disqualified reason", "原因", "丢单原因", "无效原因"),
}
"""Each field's names; a name may belong to several fields (``客户`` is a customers file's
name and an interactions file's customer): the kind's fields decide which."""


def _key(header: str) -> str:
    return re.sub(r"[\s_\-*:\uff1a]+", " ", header.strip().lower()).strip()


_INDEX: dict[str, list[str]] = {}
for _field, _names in SYNONYMS.items():
    for _name in _names:
        _INDEX.setdefault(_key(_name), []).append(_field)


class BadMapping(ValueError):
    """A mapping the file or the fields cannot take; ``column`` names the culprit."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


CUSTOM = "custom."
ANY_CUSTOM = "custom.*"
"""Among a kind's fields: its records take the tenant's custom fields, as ``custom.<key>``
(the reader checks the key against the tenant's definitions)."""


def _custom(field: str, fields: Sequence[str]) -> bool:
    return ANY_CUSTOM in fields and field.startswith(CUSTOM) and len(field) > len(CUSTOM)


def suggest(
    headers: Sequence[str],
    fields: Sequence[str],
    labels: Mapping[str, str] | None = None,
    prefer: Sequence[str] = (),
) -> dict[str, str]:
    """Header → field for every header a synonym matches, among ``fields`` (the kind's),
    each field taken by its first column only; a header ``custom.<key>`` is that custom
    field, for a kind that takes them, and so is a header that is one of its ``labels``
    (label → ``custom.<key>``: the tenant's own names of its custom fields, in English or
    Chinese), unless a field of the kind's own has that name. A name two of the kind's fields
    have goes to the first in :data:`SYNONYMS`, or to one the kind ``prefer``s (a contacts
    file's ``客户`` is its company, not the contact's name)."""
    mapping: dict[str, str] = {}
    by_label = {_key(label): f for label, f in (labels or {}).items()}
    for header in headers:
        if _custom(header.strip(), fields):
            mapping[header] = header.strip()
            continue
        candidates = [f for f in _INDEX.get(_key(header), ()) if f in fields]
        field = next((f for f in candidates if f in prefer), None)
        if field is None and candidates:
            field = candidates[0]
        if field is None and ANY_CUSTOM in fields:
            field = by_label.get(_key(header))
        if field is not None and field not in mapping.values():
            mapping[header] = field
    return mapping


def edited(
    suggested: Mapping[str, str | None],
    changes: Mapping[str, str | None],
    headers: Sequence[str],
    fields: Sequence[str],
) -> dict[str, str]:
    """The suggestion with the user's ``changes`` (a column to a field, or None: leave it
    out); a column the file has not, a field the kind has not, or a field twice is refused."""
    mapping = {h: f for h, f in {**suggested, **changes}.items() if f is not None}
    for header, field in mapping.items():
        if header not in headers:
            raise BadMapping(header, "the file has no such column / 文件中没有此列")
        if field not in fields and not _custom(field, fields):
            raise BadMapping(
                header, f"no field {field!r} / 没有此字段 (one of {', '.join(fields)})"
            )
    taken = [f for f in mapping.values()]
    for field in set(taken):
        if taken.count(field) > 1:
            columns = [h for h, f in mapping.items() if f == field]
            raise BadMapping(columns[1], f"{field!r} is already mapped / 字段已被映射")
    return mapping


def cells_by_field(
    headers: Sequence[str], mapping: Mapping[str, str], cells: Sequence[str]
) -> dict[str, str]:
    """A row's cells by the field their column is mapped to (stripped; a short row's missing
    cells blank; unmapped columns left out)."""
    return {
        mapping[header]: cells[i].strip() if i < len(cells) else ""
        for i, header in enumerate(headers)
        if header in mapping
    }


def require_columns(mapping: Mapping[str, str], *fields: str, customer: bool = False) -> None:
    """Refuse a mapping that gives no column to one of ``fields`` (or, with ``customer``,
    none naming the row's customer: its id or its e-mail)."""
    mapped = set(mapping.values())
    if customer and not mapped & {"customer", "email"}:
        raise BadMapping("customer", "no column names the customer (id or e-mail) / 缺少客户列")
    for field in fields:
        if field not in mapped:
            raise BadMapping(field, f"no column is the {field} / 缺少必填列")


def unmapped(headers: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    return [h for h in headers if h not in mapping]
