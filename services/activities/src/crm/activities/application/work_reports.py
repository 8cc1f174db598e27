"""Work reports (日报 / 周报 / 月报): the figures of each user per day, ISO week or month, summed
from the ``activities_work_days`` read model, with the user's own summary and plan for the
period and their manager's comments.

Who reads whose (the same rule for every read and for commenting):

- a sales rep or an agent: their own figures only;
- a manager: the users of their team (the team their tokens carried, see
  :mod:`crm.activities.projections.work_models`) and their own; a manager whose token names
  no team: everyone's;
- an admin or an analyst: everyone's of the tenant.

Each user submits their own summary and plan (an analyst reports nothing); the users a
manager reads (not the manager's own report) are the ones they comment on, as does an admin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.activities.domain.work_reports import (
    WorkReport,
    parse_period,
    period_bounds,
    period_key,
    periods_between,
)
from crm.activities.projections.work_models import (
    COUNTERS,
    WORK_DAYS,
    WORK_REPORTS,
    WORK_USERS,
    user_id_key,
)
from crm.events.activities import WorkPeriod
from crm.events.customer import Channel
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.read_store import Document, ReadStore, find_all
from crm.kernel.repository import CommandContext

MAX_DAYS = 731
"""The longest range a report covers (two years), so an answer stays bounded."""

FIRST_YEAR, LAST_YEAR = 1900, 2999
"""The years a report may name (a period of year 9999 would end past the calendar)."""

CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True, slots=True)
class SubmitWorkReport:
    user_id: str
    key: str
    summary: str
    plan: str

    @property
    def report_id(self) -> str:
        return f"{self.user_id}:{self.key}"


@dataclass(frozen=True, slots=True)
class CommentWorkReport:
    user_id: str
    key: str
    comment: str

    @property
    def report_id(self) -> str:
        return f"{self.user_id}:{self.key}"


class WorkReportQueries:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def team_of(self, tenant: str, user_id: str) -> str | None:
        doc = await self.read_store.get(WORK_USERS, user_id_key(tenant, user_id))
        return None if doc is None else doc["team_id"]

    async def readable(self, who: Principal) -> set[str] | None:
        """The users whose figures ``who`` reads (None: everyone of the tenant)."""
        if who.role in (Role.SALES_REP, Role.AGENT):
            return {who.id}
        if who.role is Role.MANAGER and who.team is not None:
            team = await find_all(
                self.read_store, WORK_USERS, {"tenant": who.tenant, "team_id": who.team}
            )
            return {d["user_id"] for d in team} | {who.id}
        return None

    async def may_comment(self, who: Principal, user_id: str) -> bool:
        if who.role is Role.ADMIN or who.is_system:
            return True
        if who.role is not Role.MANAGER or who.id == user_id:
            return False
        return who.team is None or await self.team_of(who.tenant, user_id) == who.team

    async def report(
        self,
        actor: Actor,
        period: WorkPeriod,
        first: date,
        last: date,
        user_id: str | None = None,
        zone: ZoneInfo | None = None,
    ) -> dict[str, Any]:
        """The rows of every user ``actor`` reads (or of ``user_id``) and every period from
        the one holding ``first`` to the one holding ``last`` (whole periods), its days those
        of ``zone`` (None: UTC days): a quarter of an hour's work counts on the day it was
        in the zone."""
        for name, day in (("from", first), ("to", last)):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise InvalidCommand(
                    name, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}", location="query"
                )
        if last < first:
            raise InvalidCommand("to", "must not be before from", location="query")
        if (last - first).days >= MAX_DAYS:
            raise InvalidCommand("to", f"a report covers {MAX_DAYS} days at most", location="query")
        who = Principal.of(actor)
        readable = await self.readable(who)
        users: set[str] | None = readable
        if user_id is not None:
            if readable is not None and user_id not in readable:
                if who.role in (Role.SALES_REP, Role.AGENT):
                    raise Forbidden(f"a {who.role_name} reads their own work report only")
                raise NotFound(f"user {user_id} does not exist")
            known = await self.read_store.get(WORK_USERS, user_id_key(who.tenant, user_id))
            if known is None and user_id != who.id:
                raise NotFound(f"user {user_id} does not exist")
            users = {user_id}
        keys = periods_between(period, first, last)
        start = period_bounds(period, keys[0])[0]
        end = period_bounds(period, keys[-1])[1]
        named = zone.key if zone is not None else "UTC"
        zone = None if named == "UTC" else zone  # UTC's days are the read model's own
        # a zone's day spans parts of two UTC days: the UTC days around the range are read
        margin = timedelta(days=0 if zone is None else 1)
        conditions: list[dict[str, Any]] = [
            {"tenant": who.tenant},
            {"day": {"$gte": (start - margin).isoformat()}},
            {"day": {"$lte": (end + margin).isoformat()}},
        ]
        report_conditions: list[dict[str, Any]] = [
            {"tenant": who.tenant},
            {"period": period.value},
            {"key": {"$in": keys}},
        ]
        if users is not None:
            conditions.append({"user_id": {"$in": sorted(users)}})
            report_conditions.append({"user_id": {"$in": sorted(users)}})
        days = await find_all(self.read_store, WORK_DAYS, {"$and": conditions})
        reports = await find_all(self.read_store, WORK_REPORTS, {"$and": report_conditions})
        if zone is not None:
            days = in_zone(days, zone, start, end)
        rows = await self._rows(who.tenant, period, days, reports)
        return {
            "period": period.value,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "zone": named,
            "items": rows,
        }

    async def _rows(
        self,
        tenant: str,
        period: WorkPeriod,
        days: Sequence[Document],
        reports: Sequence[Document],
    ) -> list[dict[str, Any]]:
        sums: dict[tuple[str, str], dict[str, Any]] = {}

        def row(user: str, key: str) -> dict[str, Any]:
            found = sums.get((user, key))
            if found is None:
                first, last = period_bounds(period, key)
                found = {
                    "user_id": user,
                    "team_id": None,
                    "period": key,
                    "start": first.isoformat(),
                    "end": last.isoformat(),
                    "interactions": dict.fromkeys(CHANNELS, 0),
                    **dict.fromkeys(COUNTERS, 0),
                    "payments_amount": {},
                    "summary": None,
                    "plan": None,
                    "revision": None,
                    "submitted_at": None,
                    "comments": [],
                }
                sums[(user, key)] = found
            return found

        for doc in days:
            key = period_key(period, date.fromisoformat(doc["day"]))
            add_figures(row(doc["user_id"], key), doc)
        for doc in reports:
            r = row(doc["user_id"], doc["key"])
            r["summary"], r["plan"] = doc["summary"], doc["plan"]
            r["revision"], r["submitted_at"] = doc["revision"], doc["submitted_at"]
            r["comments"] = list(doc["comments"])
        teams: dict[str, str | None] = {}
        for user in {u for u, _ in sums}:
            teams[user] = await self.team_of(tenant, user)
        for (user, _), r in sums.items():
            r["team_id"] = teams[user]
            r["payments_amount"] = dict(sorted(r["payments_amount"].items()))
        return [sums[k] for k in sorted(sums, key=lambda k: (k[1], k[0]))]


def add_figures(into: dict[str, Any], figures: Mapping[str, Any]) -> None:
    """Add a day's (or a quarter of an hour's) ``figures`` to ``into``, a row's; a figure a
    quarter does not hold is none."""
    for name in COUNTERS:
        into[name] += figures.get(name, 0)
    for channel, n in (figures.get("interactions") or {}).items():
        into["interactions"][channel] = into["interactions"].get(channel, 0) + n
    for currency, amount in (figures.get("payments_amount") or {}).items():
        total = Decimal(into["payments_amount"].get(currency, "0")) + Decimal(amount)
        into["payments_amount"][currency] = format(total, "f")


def report_zone(name: str | None) -> ZoneInfo | None:
    """The time zone a report's days are in (None: UTC), or a 422 naming ``zone``."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand("zone", f"unknown time zone {name[:60]!r}", location="query") from None


def in_zone(days: Sequence[Document], zone: ZoneInfo, first: date, last: date) -> list[Document]:
    """The UTC days' figures as days of ``zone`` from ``first`` to ``last``: each quarter of
    an hour's (``slots``) added to the day it was in the zone."""
    local: dict[tuple[str, date], dict[str, Any]] = {}
    for doc in days:
        utc_day = date.fromisoformat(doc["day"])
        for slot, figures in doc["slots"].items():
            hour, minute = (int(part) for part in slot.split(":"))
            moment = datetime.combine(utc_day, time(hour, minute), UTC).astimezone(zone)
            day = moment.date()
            if not first <= day <= last:
                continue
            found = local.setdefault(
                (doc["user_id"], day),
                {
                    "user_id": doc["user_id"],
                    "day": day.isoformat(),
                    "interactions": {},
                    **dict.fromkeys(COUNTERS, 0),
                    "payments_amount": {},
                },
            )
            add_figures(found, figures)
    return [local[k] for k in sorted(local, key=lambda k: (k[1], k[0]))]


def work_report_commands(queries: WorkReportQueries) -> CommandTable[WorkReport]:
    def submit(report: WorkReport, cmd: SubmitWorkReport, ctx: CommandContext) -> None:
        who = Principal.of(ctx)
        if who.role is Role.ANALYST:
            raise Forbidden("role analyst may not submit work reports")
        if not who.is_system and who.id != cmd.user_id:
            raise Forbidden("each user submits their own work report")
        report.submit(cmd.user_id, cmd.key, cmd.summary, cmd.plan, ctx.now)

    async def comment(report: WorkReport, cmd: CommentWorkReport, ctx: CommandContext) -> None:
        who = Principal.of(ctx)
        if who.id == cmd.user_id:
            raise Forbidden("the user's manager comments on a work report, not its author")
        if not await queries.may_comment(who, cmd.user_id):
            if who.role is Role.MANAGER:
                raise NotFound(f"work report {cmd.report_id} does not exist")
            raise Forbidden(f"role {who.role_name} may not comment on work reports")
        report.comment(cmd.comment, ctx.actor, ctx.now)

    table = CommandTable(WorkReport, id_field="report_id", tenant_qualified=True)
    table.on(SubmitWorkReport, Expect.ANY, None, submit)
    table.on(CommentWorkReport, Expect.EXISTING, None, comment)
    return table


def checked_period(key: str) -> str:
    """``key`` if it names a day, an ISO week or a month (a 422 naming ``period`` if not)."""
    parse_period(key)
    return key


__all__ = [
    "MAX_DAYS",
    "CommentWorkReport",
    "SubmitWorkReport",
    "WorkReportQueries",
    "checked_period",
    "in_zone",
    "report_zone",
    "work_report_commands",
]
