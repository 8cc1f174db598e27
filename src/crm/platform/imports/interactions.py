"""A file's row of interactions (calls, e-mails, meetings, visits, chats of the past) as the
command that logs it, or the reason it cannot be.

The customer is named by their id or their e-mail address (looked up in the ``customers``
read model: none, or more than one, is an error naming the column); the date is required
(a historical fact keeps its own time: the event's ``occurred_at`` is it) and read by the
import's day-first choice. The rest is checked by the customer service's request model for
``POST /customers/{id}/interactions``. The interaction's id is derived from the customer,
channel, time and summary, so the same interaction imported twice (two imports of one file)
is logged once: the customer's aggregate already knows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from pydantic import ValidationError

from crm.customer.api.schemas import NewInteraction
from crm.customer.domain.duplicates import email_key
from crm.customer.projections.customers import COLLECTION
from crm.events.customer import Channel, Direction
from crm.kernel.read_store import Query, ReadStore
from crm.kernel.repository import CLOCK_SKEW
from crm.platform.imports import values
from crm.platform.imports.customers import RowError
from crm.platform.imports.mapping import cells_by_field, require_columns

FIELDS = ("customer", "email", "channel", "direction", "date", "summary", "duration")
"""What an interactions file may fill: the customer (``customer``: their id, or ``email``),
``channel``, ``date`` and ``summary`` are required."""

CHANNELS: Mapping[str, Channel] = {
    **{c.value: c for c in Channel},
    "phone": Channel.CALL,
    "phone call": Channel.CALL,
    "电话": Channel.CALL,
    "通话": Channel.CALL,
    "e-mail": Channel.EMAIL,
    "邮件": Channel.EMAIL,
    "邮箱": Channel.EMAIL,
    "会议": Channel.MEETING,
    "会面": Channel.MEETING,
    "拜访": Channel.VISIT,
    "上门": Channel.VISIT,
    "聊天": Channel.CHAT,
    "微信": Channel.CHAT,
}
DIRECTIONS: Mapping[str, Direction] = {
    **{d.value: d for d in Direction},
    "in": Direction.INBOUND,
    "out": Direction.OUTBOUND,
    "呼入": Direction.INBOUND,
    "来电": Direction.INBOUND,
    "呼出": Direction.OUTBOUND,
    "去电": Direction.OUTBOUND,
}
_IDS = UUID("0c6b9a52-7e1d-4f3a-b8c2-5d9e4a1f7b36")


@dataclass(frozen=True, slots=True)
class InteractionRow:
    customer_id: str
    channel: Channel
    direction: Direction
    summary: str
    occurred_at: datetime
    duration_minutes: int | None

    @property
    def interaction_id(self) -> str:
        fact = f"{self.customer_id}|{self.channel}|{self.occurred_at.isoformat()}|{self.summary}"
        return str(uuid5(_IDS, fact))

    def fingerprint(self) -> str:
        return repr(
            (
                self.customer_id,
                self.channel.value,
                self.direction.value,
                self.summary,
                self.occurred_at.isoformat(),
                self.duration_minutes,
            )
        )


@dataclass(frozen=True, slots=True)
class InteractionReader:
    headers: Sequence[str]
    mapping: Mapping[str, str]
    day_first: bool
    read_store: ReadStore
    tenant: str
    now: datetime

    def __post_init__(self) -> None:
        require_columns(self.mapping, "channel", "date", "summary", customer=True)

    def column_of(self, field: str) -> str | None:
        return next((h for h, f in self.mapping.items() if f == field), None)

    async def read(self, cells: Sequence[str]) -> InteractionRow | RowError:
        row = cells_by_field(self.headers, self.mapping, cells)
        for required in ("channel", "date", "summary"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        channel = CHANNELS.get(row["channel"].lower())
        if channel is None:
            choices = ", ".join(c.value for c in Channel)
            return RowError(
                self.column_of("channel"), row["channel"], f"one of {choices} / 渠道无效"
            )
        direction = Direction.OUTBOUND
        if row.get("direction"):
            found = DIRECTIONS.get(row["direction"].lower())
            if found is None:
                return RowError(
                    self.column_of("direction"), row["direction"], "inbound or outbound / 方向无效"
                )
            direction = found
        try:
            when = values.instant(row["date"], day_first=self.day_first)
        except values.BadValue as e:
            return RowError(self.column_of("date"), e.value, e.reason)
        if when > self.now + CLOCK_SKEW:
            return RowError(self.column_of("date"), row["date"], "is in the future / 日期在将来")
        body: dict[str, Any] = {
            "channel": channel.value,
            "direction": direction.value,
            "summary": row["summary"],
            "occurred_at": when,
        }
        if row.get("duration"):
            body["duration_minutes"] = row["duration"]
        try:
            checked = NewInteraction.model_validate(body)
        except ValidationError as e:
            first = e.errors()[0]
            culprit = {"duration_minutes": "duration", "occurred_at": "date"}.get(
                str(first["loc"][0]) if first["loc"] else "", str(first["loc"][0])
            )
            return RowError(self.column_of(culprit), row.get(culprit), f"{first['msg']} / 值无效")
        customer = await self._customer(row)
        if isinstance(customer, RowError):
            return customer
        assert checked.occurred_at is not None
        return InteractionRow(
            customer,
            checked.channel,
            checked.direction,
            checked.summary,
            checked.occurred_at,
            checked.duration_minutes,
        )

    async def _customer(self, row: Mapping[str, str]) -> str | RowError:
        return await customer_named(self.read_store, self.tenant, row, self.column_of)


async def customer_named(
    read_store: ReadStore,
    tenant: str,
    row: Mapping[str, str],
    column_of: Callable[[str], str | None],
) -> str | RowError:
    """The id of the tenant's customer the row names: by id in its ``customer`` cell, else
    by its ``email`` (one customer, neither erased nor merged, has it); else the reason,
    naming the column. A customer merged into another is an error naming the survivor (a
    new record goes to that one)."""
    if row.get("customer"):
        column, text = column_of("customer"), row["customer"]
        try:
            id_ = str(UUID(text))
        except ValueError:
            return RowError(column, text, "not a customer id / 不是客户编号")
        doc = await read_store.get(COLLECTION, id_)
        if doc is None or doc.get("tenant") != tenant:
            return RowError(column, text, "no such customer / 没有此客户")
        if doc.get("erased"):
            return RowError(column, text, "the customer was erased / 客户已被删除")
        if doc.get("merged_into"):
            survivor = doc["merged_into"]
            return RowError(column, text, f"merged into customer {survivor} / 已合并到另一客户")
        return id_
    column, text = column_of("email"), row.get("email", "")
    key = email_key(text)
    if key is None:
        return RowError(column, None, "is required / 必填")
    page = await read_store.find(
        COLLECTION,
        Query.all_of(
            [{"tenant": tenant}, {"email_key": key}, {"erased": False}, {"merged_into": None}],
            sort="created_at",
            limit=2,
        ),
    )
    if not page.items:
        return RowError(column, text, "no customer has this e-mail / 没有此邮箱的客户")
    if len(page.items) > 1:
        return RowError(column, text, "more than one customer has it / 多个客户使用此邮箱")
    return str(page.items[0]["id"])
