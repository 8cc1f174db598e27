"""Which column holds which field: matched by the header's name, in English or Chinese
(``姓名``/``客户名称`` is the name, ``电话``/``手机`` the phone), case, spaces, ``_``/``-``
and a trailing ``*`` ignored; the user edits the result (a column named, a column left out).
A header no field knows stays unmapped, and is said so, never silently dropped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "full name", "customer", "customer name", "姓名", "客户名称", "客户", "名称"),
    "email": ("email", "e-mail", "mail", "email address", "邮箱", "电子邮件", "邮件"),
    "phone": ("phone", "mobile", "telephone", "tel", "电话", "手机", "手机号", "联系电话"),
    "company": ("company", "organisation", "organization", "account", "公司", "单位", "公司名称"),
    "title": ("title", "job title", "position", "职位", "职务"),
    "region": ("region", "area", "地区", "区域"),
    "source": ("source", "lead source", "来源", "渠道"),
    "tags": ("tags", "tag", "labels", "标签"),
    "external_id": ("id", "external id", "customer id", "ref", "编号", "客户编号", "外部编号"),
    "amount": ("amount", "total", "price", "value", "金额", "总额", "价格", "单价"),
    "currency": ("currency", "币种", "货币"),
    "date": ("date", "order date", "placed", "placed at", "日期", "下单日期", "时间"),
    "quantity": ("quantity", "qty", "数量"),
    "sku": ("sku", "product code", "item", "产品编号", "货号", "商品编码"),
}


def _key(header: str) -> str:
    return re.sub(r"[\s_\-*:\uff1a]+", " ", header.strip().lower()).strip()


_INDEX = {_key(s): field for field, names in SYNONYMS.items() for s in names}


class BadMapping(ValueError):
    """A mapping the file or the fields cannot take; ``column`` names the culprit."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


def suggest(headers: Sequence[str], fields: Sequence[str]) -> dict[str, str]:
    """Header → field for every header a synonym matches, among ``fields`` (the kind's),
    each field taken by its first column only."""
    mapping: dict[str, str] = {}
    for header in headers:
        field = _INDEX.get(_key(header))
        if field is not None and field in fields and field not in mapping.values():
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
        if field not in fields:
            raise BadMapping(
                header, f"no field {field!r} / 没有此字段 (one of {', '.join(fields)})"
            )
    taken = [f for f in mapping.values()]
    for field in set(taken):
        if taken.count(field) > 1:
            columns = [h for h, f in mapping.items() if f == field]
            raise BadMapping(columns[1], f"{field!r} is already mapped / 字段已被映射")
    return mapping


def unmapped(headers: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    return [h for h in headers if h not in mapping]
