"""The pages of the activities context: My tasks (open tasks by due time, overdue ones
highlighted, filtered by status, kind, due window and, for a manager, a person of their
team), planning a task about a customer, the task page (complete with an outcome, a note
and the next task; reschedule; cancel), one's notifications (the bell's list, mark one or
all read, the preferences) and the calendar's week of one's tasks and field visits with the
iCalendar feed's address.

Every read is the activities context's own query (:class:`TaskQueries`,
:class:`CalendarQueries`, the notifications' recipient filter) and every form one of its
commands on the runtime's bus, as the signed-in user, so the rules hold as over the API: a
rep sees and plans their own tasks (another's is the 404 page), a manager their team's, an
analyst reads without forms. Times are shown, and read from the forms, in the time zone of
the user's notification preferences (UTC until they choose one).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from crm.activities.api.calendar_routes import FEEDS
from crm.activities.application.calendar import CalendarQueries, Entry
from crm.activities.application.notification_commands import (
    MarkNotificationRead,
    PreferencesOf,
    SetNotificationPreferences,
)
from crm.activities.application.policy import POLICY, TaskAction
from crm.activities.application.task_commands import (
    CancelTask,
    CompleteTask,
    ReassignTask,
    RescheduleTask,
    ScheduleTask,
)
from crm.activities.application.task_queries import TaskFilter, TaskQueries
from crm.activities.domain.tasks import TaskPlan
from crm.activities.projections.notification_models import (
    NOTIFICATIONS,
    NOTIFICATIONS_PROJECTION,
)
from crm.activities.projections.task_models import TASKS_PROJECTION
from crm.activities.projections.visit_models import VISITS_PROJECTION
from crm.console.notices import mine, notifications
from crm.console.pages import PAGE_SIZE, PREFIX, Console, guarded, see
from crm.customer.application.queries import CustomerFilter
from crm.events.activities import (
    RETENTION_OUTCOMES,
    Frequency,
    NotificationKind,
    Recurrence,
    SubjectKind,
    TaskKind,
    TaskOutcome,
    TaskPriority,
)
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.http import ReadConsistency
from crm.kernel.read_store import Document, find_all

TASK_STATUSES = ("open", "done", "cancelled")
WINDOWS = ("any", "overdue", "today", "week")
PLANNED_KINDS = tuple(k for k in TaskKind if k is not TaskKind.RETENTION)
"""The kinds a person plans (retention tasks are opened by the platform)."""
TIME_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)
"""Offered first in the preferences form; any IANA zone is accepted."""

EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)

TaskStatusParam = Literal["all", "open", "done", "cancelled"]
Window = Literal["any", "overdue", "today", "week"]
ReadParam = Literal["all", "unread", "read"]


def works_tasks(actor: Actor) -> bool:
    """Whether the task forms are shown: the roles that may work tasks."""
    return POLICY.may(Principal.of(actor), TaskAction.WORK)


def gives_tasks(actor: Actor) -> bool:
    """Whether the actor may plan tasks for others and reassign: managers and admins."""
    return POLICY.may(Principal.of(actor), TaskAction.ASSIGN)


def leads_people(actor: Actor) -> bool:
    """Whether the actor may read (and plan for) other people: managers and admins (an
    analyst reads anyone's, plans nothing)."""
    return actor.role in (Role.MANAGER, Role.ADMIN, Role.ANALYST)


# -- times in the user's zone (pure) ----------------------------------------------------------


def local(moment: str | datetime, zone: ZoneInfo) -> datetime:
    """A stored moment (ISO text or an aware datetime) in ``zone``."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(zone)


def from_form(value: str, zone: ZoneInfo, field_name: str) -> datetime:
    """A ``datetime-local`` form value (``2026-12-04T10:00``), a moment in ``zone``; a wrong
    one is a 422 naming ``field_name``."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidCommand(field_name, "a date and time, e.g. 2026-12-04T10:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def to_form(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as a ``datetime-local`` value in ``zone``."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def iso_week(value: str | None, today: date) -> date:
    """The Monday of ``2026-W49`` (None: this week's); a wrong one is a 422 naming week."""
    if value is None:
        return today - timedelta(days=today.weekday())
    year, sep, week = value.strip().upper().partition("-W")
    try:
        if not sep or len(year) != 4 or len(week) != 2:
            raise ValueError(value)
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise InvalidCommand("week", "an ISO week, e.g. 2026-W49") from None


def week_name(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Day:
    day: date
    entries: list[Entry]


def week_days(monday: date, entries: list[Entry], zone: ZoneInfo) -> list[Day]:
    """The seven days from ``monday``, each with its entries (by their start in ``zone``)."""
    return days_of(monday, monday + timedelta(days=7), entries, zone)


CalendarViewName = Literal["day", "week", "month"]


def calendar_day(value: str | None, today: date) -> date:
    """The day a calendar is opened on (``2026-03-02``; None: today); a wrong one is a 422
    naming date."""
    if value is None or not value.strip():
        return today
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidCommand("date", "a day, e.g. 2026-03-02") from None


def period(view: str, day: date) -> tuple[date, date]:
    """The first day and the day after the last of the ``view`` holding ``day``: the day,
    its ISO week (from Monday) or its month."""
    if view == "day":
        return day, day + timedelta(days=1)
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def shifted(view: str, first: date, step: int) -> date:
    """The first day of the period ``step`` periods from the one starting on ``first``."""
    if view == "day":
        return first + timedelta(days=step)
    if view == "week":
        return first + timedelta(weeks=step)
    month0 = first.month - 1 + step
    return date(first.year + month0 // 12, month0 % 12 + 1, 1)


def days_of(start: date, end: date, entries: list[Entry], zone: ZoneInfo) -> list[Day]:
    """Each day from ``start`` to before ``end`` with its entries (by their start in
    ``zone``)."""
    days = [Day(start + timedelta(days=i), []) for i in range((end - start).days)]
    for e in entries:
        offset = (e.start.astimezone(zone).date() - start).days
        if 0 <= offset < len(days):
            days[offset].entries.append(e)
    return days


def month_weeks(first: date, entries: list[Entry], zone: ZoneInfo) -> list[list[Day]]:
    """The month of ``first`` as whole weeks (Monday to Sunday, the days around it included,
    their entries too), for the month's grid."""
    _, following = period("month", first)
    start = first - timedelta(days=first.weekday())
    last = following - timedelta(days=1)
    end = last + timedelta(days=7 - last.weekday())
    days = days_of(start, end, entries, zone)
    return [days[i : i + 7] for i in range(0, len(days), 7)]


def recurrence_of(frequency: str, interval: int, until: str) -> Recurrence | None:
    """The recurrence a planning form asks for (no frequency: none); an end day that is not
    a day is a 422 naming until, an end without a frequency one naming frequency."""
    end: date | None = None
    if until.strip():
        try:
            end = date.fromisoformat(until.strip())
        except ValueError:
            raise InvalidCommand("until", "a day, e.g. 2026-06-30") from None
    choices = ", ".join(f.value for f in Frequency)
    if not frequency.strip():
        if end is not None or interval != 1:
            raise InvalidCommand("frequency", f"one of {choices} for a repeating task")
        return None
    try:
        often = Frequency(frequency.strip())
    except ValueError:
        raise InvalidCommand("frequency", f"one of {choices}") from None
    return Recurrence(frequency=often, interval=interval, until=end)


def window_bounds(
    window: str, now: datetime, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """(due from, due before) of a due window, the days as ``zone`` has them."""
    if window == "overdue":
        return None, now
    if window == "today":
        start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
        return start, start + timedelta(days=1)
    if window == "week":
        return now, now + timedelta(days=7)
    return None, None


def notification_title(doc: Document, locale: str) -> str:
    """The notification's title in the reader's language."""
    return str(doc["title_zh"] if locale == "zh-CN" else doc["title_en"])


def subject_link(kind: str, id_: str) -> str | None:
    """The console page of what a notification or task is about, if it has one."""
    pages = {"task": "tasks", "ticket": "tickets", "customer": "customers"}
    pages |= {"lead": "leads", "opportunity": "opportunities"}
    return f"{PREFIX}/{pages[kind]}/{id_}" if kind in pages else None


def tasks_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    tasks = TaskQueries(runtime.read_store)
    calendar = CalendarQueries(runtime.read_store)
    preferences = PreferencesOf(runtime)
    tasks_read = Depends(ReadConsistency(runtime, TASKS_PROJECTION))
    notifications_read = Depends(ReadConsistency(runtime, NOTIFICATIONS_PROJECTION))
    calendar_read = Depends(ReadConsistency(runtime, TASKS_PROJECTION, VISITS_PROJECTION))

    async def zone_of(actor: Actor) -> ZoneInfo:
        return (await preferences(actor.tenant, actor.id)).zone()

    async def people(actor: Actor) -> list[dict[str, Any]]:
        """Whom a manager picks from: their team's people (an admin or analyst: everyone)."""
        if not leads_people(actor):
            return []
        users = await console.directory.users(actor.tenant)
        if actor.role is Role.MANAGER:
            return [dict(u) for u in users if u["team"] == actor.team or u["id"] == actor.id]
        return [dict(u) for u in users]

    def whose(actor: Actor, person: str | None) -> str | None:
        """The assignee a list is filtered by: None for everyone the actor may see."""
        person = (person or "").strip()[:100] or None
        if person in (None, actor.id):
            return actor.id
        if not leads_people(actor):
            raise Forbidden(f"a {actor.role.value} reads their own tasks only")
        return None if person == "all" else person

    # -- My tasks ----------------------------------------------------------------------------

    @api.get(f"{PREFIX}/tasks")
    @page
    async def task_list(
        request: Request,
        status: TaskStatusParam = "open",
        kind: str | None = None,
        window: Window = "any",
        person: str | None = None,
        page: int = 1,
        min_position: int | None = None,
        _: int = tasks_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        page = max(1, min(page, 10_000))
        kind = (kind or "").strip() or None
        if kind is not None and kind not in {k.value for k in TaskKind}:
            raise InvalidCommand("kind", f"one of {', '.join(k.value for k in TaskKind)}")
        zone = await zone_of(actor)
        now = runtime.clock.now()
        due_from, due_before = window_bounds(window, now, zone)
        assignee = whose(actor, person)
        flt = TaskFilter(
            status="open" if window == "overdue" else (None if status == "all" else status),
            assignee_id=assignee,
            kind=kind,
            due_from=due_from,
            due_before=due_before,
        )
        found = await tasks.tasks(
            actor, flt, sort="due_at", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        query = {
            k: v
            for k, v in (
                ("status", status),
                ("kind", kind),
                ("window", window),
                ("person", (person or "").strip()[:100] or None),
            )
            if v
        }
        return console.render(
            visit,
            request,
            "tasks.html",
            items=found.items,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            query=query,
            link=lambda p: f"{PREFIX}/tasks?{urlencode({**query, 'page': p})}",
            statuses=TASK_STATUSES,
            kinds=[k.value for k in TaskKind],
            windows=WINDOWS,
            people=await people(actor),
            now=now.isoformat(),
            zone=zone,
            local=lambda m: local(m, zone),
            names=await console.directory.names(actor.tenant),
            works=works_tasks(actor),
        )

    async def subject_of(actor: Actor, kind: SubjectKind, id_: str) -> str:
        """The name of the record a task is planned about, read as the actor (404 if they
        do not see it)."""
        if kind is SubjectKind.LEAD:
            return str((await console.sales.lead(actor, id_))["name"])
        if kind is SubjectKind.OPPORTUNITY:
            return str((await console.sales.opportunity(actor, id_))["name"])
        if kind is SubjectKind.TICKET:
            return str((await console.tickets.ticket(actor, id_))["subject"])
        return str((await console.customers.get(actor, id_))["name"])

    @api.get(f"{PREFIX}/tasks/new")
    @page
    async def new_task(
        request: Request,
        customer: UUID | None = None,
        subject_kind: SubjectKind | None = None,
        subject_id: UUID | None = None,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        if not works_tasks(actor):
            raise Forbidden("your role does not plan tasks")
        if subject_kind is SubjectKind.CUSTOMER and subject_id is not None:
            customer, subject_kind, subject_id = subject_id, None, None
        if subject_kind is not None and subject_id is None:
            raise InvalidCommand("subject_id", f"the {subject_kind.value} the task is about")
        if subject_kind is None and subject_id is not None:
            raise InvalidCommand("subject_kind", "lead, opportunity or ticket")
        subject: dict[str, str] | None = None
        if subject_kind is not None and subject_id is not None:
            name = await subject_of(actor, subject_kind, str(subject_id))  # 404 if not seen
            subject = {
                "kind": subject_kind.value,
                "id": str(subject_id),
                "name": name,
                "link": subject_link(subject_kind.value, str(subject_id)) or "",
            }
        chosen: Document | None = None
        if customer is not None:
            chosen = await console.customers.get(actor, str(customer))  # 404 if not seen
        customers: list[Any] = []
        if subject is None:
            with contextlib.suppress(Forbidden):
                mine = actor.id if actor.role is Role.SALES_REP else None
                found = await console.customers.search(
                    actor, CustomerFilter(owner_id=mine), sort="name", limit=100, offset=0
                )
                customers = list(found.items)
        if chosen is not None and all(c["id"] != chosen["id"] for c in customers):
            customers.insert(0, chosen)
        zone = await zone_of(actor)
        due = runtime.clock.now() + timedelta(days=1)
        return console.render(
            visit,
            request,
            "task_new.html",
            customers=customers,
            chosen=chosen["id"] if chosen else None,
            subject=subject,
            kinds=[k.value for k in PLANNED_KINDS],
            priorities=[p.value for p in TaskPriority],
            frequencies=[f.value for f in Frequency],
            people=await people(actor) if actor.role is not Role.ANALYST else [],
            due=to_form(due.replace(minute=0, second=0, microsecond=0), zone),
            zone=zone,
        )

    @api.post(f"{PREFIX}/tasks")
    @page
    async def plan_task(
        request: Request,
        kind: TaskKind = Form(),
        title: str = Form(min_length=1, max_length=200),
        customer_id: UUID | None = Form(default=None),
        subject_kind: SubjectKind = Form(default=SubjectKind.CUSTOMER),
        subject_id: UUID | None = Form(default=None),
        due_at: str = Form(min_length=1, max_length=40),
        notes: str = Form(default="", max_length=4000),
        priority: TaskPriority = Form(default=TaskPriority.NORMAL),
        custom_kind: str = Form(default="", max_length=50),
        duration_minutes: int | None = Form(default=None, ge=1, le=24 * 60),
        remind_before_minutes: int = Form(default=15, ge=0, le=7 * 24 * 60),
        assignee_id: str = Form(default="", max_length=100),
        frequency: str = Form(default="", max_length=20),
        interval: int = Form(default=1, ge=1, le=366),
        until: str = Form(default="", max_length=20),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        if not title.strip():
            raise InvalidCommand("title", "must not be blank")
        if subject_kind is SubjectKind.CUSTOMER:
            about = customer_id or subject_id
            if about is None:
                raise InvalidCommand("customer_id", "the customer the task is about")
        elif subject_id is None:
            raise InvalidCommand("subject_id", f"the {subject_kind.value} the task is about")
        else:
            about = subject_id
        plan = TaskPlan(
            kind=kind,
            title=title.strip(),
            due_at=from_form(due_at, await zone_of(actor), "due_at"),
            assignee_id=assignee_id.strip() or None,
            priority=priority,
            notes=notes.strip() or None,
            custom_kind=custom_kind.strip() or None,
            duration_minutes=duration_minutes,
            remind_before_minutes=remind_before_minutes,
            recurrence=recurrence_of(frequency, interval, until),
        )
        command = ScheduleTask(plan, subject_kind, str(about))
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/tasks/{command.task_id}?min_position={result.position}&done=planned")

    # -- a task ------------------------------------------------------------------------------

    @api.get(f"{PREFIX}/tasks/{{task_id}}")
    @page
    async def task_page(
        request: Request,
        task_id: UUID,
        min_position: int | None = None,
        done: str | None = None,
        _: int = tasks_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        doc = await tasks.task(actor, str(task_id))
        customer = None
        if doc["customer_id"]:
            with contextlib.suppress(NotFound, Forbidden):
                customer = await console.customers.get(actor, doc["customer_id"])
        zone = await zone_of(actor)
        retention = doc["kind"] == TaskKind.RETENTION.value
        outcomes = [o.value for o in TaskOutcome if (o in RETENTION_OUTCOMES) or not retention]
        now = runtime.clock.now()
        return console.render(
            visit,
            request,
            "task.html",
            task=doc,
            customer=customer,
            subject=subject_link(doc["subject_kind"], doc["subject_id"]),
            works=works_tasks(actor) and doc["status"] == "open",
            reader=not works_tasks(actor),
            outcomes=outcomes,
            kinds=[k.value for k in PLANNED_KINDS],
            overdue=doc["status"] == "open" and doc["due_at"] < now.isoformat(),
            zone=zone,
            local=lambda m: local(m, zone),
            due=to_form(datetime.fromisoformat(doc["due_at"]), zone),
            next_due=to_form(
                max(now, datetime.fromisoformat(doc["due_at"])) + timedelta(days=7), zone
            ),
            names=await console.directory.names(actor.tenant),
            done=done if done in ("planned", "saved") else None,
            assignable=(
                await people(actor) if gives_tasks(actor) and doc["status"] == "open" else []
            ),
        )

    async def task_command(request: Request, task_id: UUID, command: object) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        await tasks.task(actor, str(task_id))  # another's task: the 404 page
        result = await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/tasks/{task_id}?min_position={result.position}&done=saved")

    @api.post(f"{PREFIX}/tasks/{{task_id}}/complete")
    @page
    async def complete_task(
        request: Request,
        task_id: UUID,
        outcome: TaskOutcome = Form(default=TaskOutcome.DONE),
        note: str = Form(default="", max_length=4000),
        duration_minutes: int | None = Form(default=None, ge=1, le=24 * 60),
        next_kind: str = Form(default="", max_length=20),
        next_title: str = Form(default="", max_length=200),
        next_due_at: str = Form(default="", max_length=40),
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        nxt = None
        if next_kind.strip():
            try:
                kind = TaskKind(next_kind.strip())
            except ValueError:
                raise InvalidCommand("next_kind", "not a kind of task") from None
            if not next_title.strip():
                raise InvalidCommand("next_title", "must not be blank with a next task")
            if not next_due_at.strip():
                raise InvalidCommand("next_due_at", "must be given with a next task")
            nxt = TaskPlan(
                kind=kind,
                title=next_title.strip(),
                due_at=from_form(next_due_at, await zone_of(actor), "next_due_at"),
                assignee_id=None,
            )
        command = CompleteTask(
            str(task_id),
            outcome=outcome,
            note=note.strip() or None,
            duration_minutes=duration_minutes,
            next=nxt,
        )
        return await task_command(request, task_id, command)

    @api.post(f"{PREFIX}/tasks/{{task_id}}/reassign")
    @page
    async def reassign_task(
        request: Request, task_id: UUID, assignee_id: str = Form(min_length=1, max_length=100)
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        if not gives_tasks(actor):
            raise Forbidden(f"a {actor.role.value} does not reassign tasks")
        wanted = assignee_id.strip()
        if all(u["id"] != wanted for u in await people(actor)):
            raise InvalidCommand("assignee_id", "one of the people you may give tasks to")
        return await task_command(request, task_id, ReassignTask(str(task_id), wanted))

    @api.post(f"{PREFIX}/tasks/{{task_id}}/reschedule")
    @page
    async def reschedule_task(
        request: Request, task_id: UUID, due_at: str = Form(min_length=1, max_length=40)
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        moment = from_form(due_at, await zone_of(actor), "due_at")
        return await task_command(request, task_id, RescheduleTask(str(task_id), moment))

    @api.post(f"{PREFIX}/tasks/{{task_id}}/cancel")
    @page
    async def cancel_task(
        request: Request, task_id: UUID, reason: str = Form(default="", max_length=500)
    ) -> Response:
        command = CancelTask(str(task_id), reason.strip() or None)
        return await task_command(request, task_id, command)

    # -- notifications -----------------------------------------------------------------------

    @api.get(f"{PREFIX}/notifications")
    @page
    async def notification_list(
        request: Request,
        read: ReadParam = "all",
        page: int = 1,
        min_position: int | None = None,
        done: str | None = None,
        _: int = notifications_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        page = max(1, min(page, 10_000))
        only = None if read == "all" else read == "read"
        found = await notifications(
            runtime, actor, read=only, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        zone = await zone_of(actor)
        query = {"read": read} if read != "all" else {}
        items = []
        for n in found.items:
            about = None  # the task's own title (the notification's text names no record)
            if n["subject_kind"] == "task":
                with contextlib.suppress(NotFound, Forbidden):
                    about = (await tasks.task(actor, n["subject_id"]))["title"]
            items.append(
                {
                    **n,
                    "title": notification_title(n, visit.session.locale),
                    "link": subject_link(n["subject_kind"], n["subject_id"]),
                    "about": about,
                }
            )
        return console.render(
            visit,
            request,
            "notifications.html",
            items=items,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / PAGE_SIZE)),
            query=query,
            read=read,
            link=lambda p: f"{PREFIX}/notifications?{urlencode({**query, 'page': p})}",
            local=lambda m: local(m, zone),
            done=done if done in ("marked", "saved") else None,
        )

    @api.post(f"{PREFIX}/notifications/{{notification_id}}/read")
    @page
    async def mark_read(request: Request, notification_id: UUID) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        result = await bus.execute(
            MarkNotificationRead(str(notification_id)), console.context(visit)
        )
        return see(f"{PREFIX}/notifications?min_position={result.position}&done=marked")

    @api.post(f"{PREFIX}/notifications/read")
    @page
    async def mark_all_read(request: Request) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        unread = await find_all(runtime.read_store, NOTIFICATIONS, mine(actor, read=False))
        position = 0
        for n in unread:
            result = await bus.execute(MarkNotificationRead(n["id"]), console.context(visit))
            position = max(position, result.position)
        target = f"{PREFIX}/notifications?done=marked"
        return see(f"{target}&min_position={position}" if position else target)

    @api.get(f"{PREFIX}/notifications/preferences")
    @page
    async def preferences_page(request: Request, done: str | None = None) -> Response:
        visit, actor = await console.signed_in(request)
        p = await preferences(actor.tenant, actor.id)
        zones = list(TIME_ZONES) if p.time_zone in TIME_ZONES else [p.time_zone, *TIME_ZONES]
        return console.render(
            visit,
            request,
            "notification_preferences.html",
            p=p,
            zones=zones,
            kinds=[k.value for k in NotificationKind],
            muted={k.value for k in p.muted},
            done=done == "saved",
        )

    @api.post(f"{PREFIX}/notifications/preferences")
    @page
    async def set_preferences(
        request: Request,
        email: str = Form(default="", max_length=320),
        email_enabled: bool = Form(default=False),
        quiet_start: str = Form(default="", max_length=8),
        quiet_end: str = Form(default="", max_length=8),
        time_zone: str = Form(default="UTC", min_length=1, max_length=64),
        muted: list[NotificationKind] = Form(default_factory=list, max_length=20),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)

        def clock_time(value: str, name: str) -> time | None:
            if not value.strip():
                return None
            try:
                return time.fromisoformat(value.strip())
            except ValueError:
                raise InvalidCommand(name, "a time of day, e.g. 22:00") from None

        address = email.strip() or None
        if address is not None:
            try:
                address = EMAIL.validate_python(address)
            except ValidationError:
                raise InvalidCommand("email", "an e-mail address, e.g. ana@example.com") from None
        if email_enabled and address is None:
            raise InvalidCommand("email", "is needed to send notifications by e-mail")
        command = SetNotificationPreferences(
            user_id=actor.id,
            email=address,
            email_enabled=email_enabled,
            quiet_start=clock_time(quiet_start, "quiet_start"),
            quiet_end=clock_time(quiet_end, "quiet_end"),
            time_zone=time_zone.strip(),
            muted=frozenset(muted),
        )
        await bus.execute(command, console.context(visit))
        return see(f"{PREFIX}/notifications/preferences?done=saved")

    # -- the calendar ------------------------------------------------------------------------

    @api.get(f"{PREFIX}/calendar")
    @page
    async def calendar_page(
        request: Request,
        view: CalendarViewName = "week",
        on: str | None = Query(default=None, alias="date", max_length=20),
        week: str | None = Query(default=None, max_length=20),
        person: str | None = Query(default=None, max_length=100),
        team: str | None = Query(default=None, max_length=100),
        min_position: int | None = None,
        _: int = calendar_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        zone = await zone_of(actor)
        now = runtime.clock.now()
        today = now.astimezone(zone).date()
        day = iso_week(week, today) if week is not None else calendar_day(on, today)
        if week is not None:
            view = "week"
        first, end = period(view, day)
        person = (person or "").strip() or None
        team = (team or "").strip() or None
        if person is not None and team is not None:
            raise InvalidCommand("team", "either a team or a person, not both")
        seen = await people(actor)
        if team is not None:
            if not leads_people(actor):
                raise Forbidden(f"a {actor.role.value} reads their own calendar only")
            if actor.role is Role.MANAGER and team != actor.team:
                raise Forbidden("a manager reads their own team's calendar")
            members = [u["id"] for u in seen if u["team"] == team]
            if not members:
                raise NotFound(f"team {team!r} has no people")
            users = members
        else:
            user = calendar.whose(actor, person)  # a rep naming someone else: 403
            if user != actor.id and all(u["id"] != user for u in seen):
                if actor.role is Role.MANAGER:
                    raise Forbidden("a manager reads their own team's calendars")
                raise NotFound(f"no person {user!r}")
            users = [user]
        grid_first = first - timedelta(days=first.weekday()) if view == "month" else first
        grid_end = end
        if view == "month":
            last = end - timedelta(days=1)
            grid_end = last + timedelta(days=7 - last.weekday())
        start = datetime.combine(grid_first, time(0), tzinfo=zone)
        stop = datetime.combine(grid_end, time(0), tzinfo=zone)
        entries: list[Entry] = []
        whom: dict[tuple[str, str], str] = {}
        for uid in users:
            for e in await calendar.entries(actor, uid, start, stop, cancelled=False):
                entries.append(e)
                whom[(e.kind, e.id)] = uid
        entries.sort(key=lambda e: (e.start, e.kind, e.id))
        key = runtime.tokens.feed_key(actor.tenant, actor.id)
        feed = (
            f"{str(request.base_url).rstrip('/')}{FEEDS}/"
            f"{quote(actor.tenant, safe='')}/{quote(actor.id, safe='')}.ics?key={key}"
        )
        whose_query = {"person": person} if person else ({"team": team} if team else {})

        def link(d: date) -> str:
            query = {"week": week_name(d)} if view == "week" else {"view": view, "date": str(d)}
            return f"{PREFIX}/calendar?{urlencode({**query, **whose_query})}"

        def view_link(v: str) -> str:
            return f"{PREFIX}/calendar?{urlencode({'view': v, 'date': str(day), **whose_query})}"

        teams = sorted({str(u["team"]) for u in seen if u.get("team")})
        if actor.role is Role.MANAGER:
            teams = [actor.team] if actor.team else []
        return console.render(
            visit,
            request,
            "calendar.html",
            view=view,
            first=first,
            last=end - timedelta(days=1),
            week=week_name(first),
            days=days_of(first, end, entries, zone),
            weeks=month_weeks(first, entries, zone) if view == "month" else [],
            today=today,
            previous=link(shifted(view, first, -1)),
            following=link(shifted(view, first, 1)),
            this_period=link(period(view, today)[0]),
            views={v: view_link(v) for v in ("day", "week", "month")},
            day=day,
            person=person,
            team=team,
            teams=teams,
            user=users[0] if team is None else None,
            whom=whom,
            people=seen,
            local=lambda m: local(m, zone),
            zone=zone,
            feed=feed if team is None and users == [actor.id] else None,
            names=await console.directory.names(actor.tenant),
        )

    return api


__all__ = [
    "calendar_day",
    "days_of",
    "from_form",
    "iso_week",
    "local",
    "month_weeks",
    "notification_title",
    "period",
    "recurrence_of",
    "shifted",
    "tasks_router",
    "week_days",
    "week_name",
    "window_bounds",
]
