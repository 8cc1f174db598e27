"""The activities context's reports and settings pages: work reports (日报 / 周报 / 月报: a
person's figures of a day, ISO week or month, their summary and plan for the next period,
their manager's comments; a team's figures side by side), the retention report (what came of
the churn warnings, per rep, per reason and in total) and the tenant's customer-care rules.

Every read is the activities context's own query (:class:`WorkReportQueries`,
:class:`RetentionReport`, :class:`RulesOf`) and every form one of its commands on the
runtime's bus, as the signed-in user, so the rules hold as over the API: a rep reads their own
report and retention figures, a manager their team's, admins and analysts everyone's; each
user submits their own summary, their manager (or an admin) comments; managers and admins set
the care rules. The CSV links are console routes (a browser's session carries no bearer
token) writing the same query's answer with the API's own CSV writer, so a file holds the
rows the API gives the same user.

A period is named by its key, as the API's: ``2026-03-02`` (a day), ``2026-W10`` (an ISO
week), ``2026-03`` (a month); the figures count the days of the user's time zone (their
notification preferences', else UTC), by the read model's quarters of an hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from crm.activities.api.retention_routes import csv_answer as retention_csv
from crm.activities.api.work_report_routes import csv_answer as work_csv
from crm.activities.application.care import RulesOf, SetCareRules
from crm.activities.application.policy import POLICY, TaskAction
from crm.activities.application.retention_report import RetentionReport
from crm.activities.application.work_reports import (
    CHANNELS,
    CommentWorkReport,
    SubmitWorkReport,
    WorkReportQueries,
)
from crm.activities.domain.work_reports import (
    MAX_COMMENT,
    MAX_PLAN,
    MAX_SUMMARY,
    parse_period,
    period_bounds,
    period_key,
)
from crm.activities.projections.retention_models import RETENTION_PROJECTION
from crm.activities.projections.work_models import COUNTERS, WORK_DAYS_PROJECTION
from crm.console.analytics import REASON_CODES
from crm.console.i18n import Translator
from crm.console.pages import PREFIX, Console, guarded, see
from crm.events.activities import CareOccasion, CareRule, TaskKind, WorkPeriod
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import InvalidCommand
from crm.kernel.http import ReadConsistency

MAX_RULES = 10
"""The rules a tenant has at most (the API's limit), one per occasion."""
RETENTION_DAYS = 30
"""The retention report's default window: the last 30 days up to today (UTC)."""

Kind = Literal["day", "week", "month"]
CARE_KINDS = tuple(k.value for k in TaskKind if k is not TaskKind.RETENTION)


def leads_people(actor: Actor) -> bool:
    """Whether the actor reads other people's reports: managers, admins and analysts."""
    return actor.role in (Role.MANAGER, Role.ADMIN, Role.ANALYST)


def sets_care_rules(actor: Actor) -> bool:
    """Whether the care rules' form is shown: the roles the command allows."""
    return POLICY.may(Principal.of(actor), TaskAction.ASSIGN)


# -- periods (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """A report's period: its kind, key and days, and its neighbours' keys."""

    kind: WorkPeriod
    key: str
    start: date
    end: date
    previous: str
    following: str

    def of(self, kind: WorkPeriod) -> str:
        """The key of the ``kind`` of period holding this one's first day."""
        return period_key(kind, self.start)


def period_of(key: str | None, today: date) -> Period:
    """The period ``key`` names (None: this week), a wrong one a 422 naming ``period``."""
    key = (key or "").strip() or period_key(WorkPeriod.WEEK, today)
    kind = parse_period(key)
    start, end = period_bounds(kind, key)
    if not (start.year >= 1900 and end.year <= 2999):
        raise InvalidCommand("period", "must be in the years 1900 to 2999")
    before = period_key(kind, start - timedelta(days=1))
    after = period_key(kind, end + timedelta(days=1))
    return Period(kind, key, start, end, before, after)


def empty_row(user_id: str, p: Period) -> dict[str, Any]:
    """The figures of a period nothing was counted in (the query gives no row for it)."""
    return {
        "user_id": user_id,
        "team_id": None,
        "period": p.key,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "interactions": dict.fromkeys(CHANNELS, 0),
        **dict.fromkeys(COUNTERS, 0),
        "payments_amount": {},
        "summary": None,
        "plan": None,
        "revision": None,
        "submitted_at": None,
        "comments": [],
    }


def figure_lines(t: Translator, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A row's figures as (label, value) in the reader's words: each channel's interactions,
    every counter, and the payments' sum per currency."""
    lines = [
        (t(f"work.interactions.{c}"), t.number(row["interactions"].get(c, 0))) for c in CHANNELS
    ]
    lines += [(t(f"work.{name}"), t.number(row[name])) for name in COUNTERS]
    amounts = row["payments_amount"]
    lines.append(
        (
            t("work.payments_amount"),
            ", ".join(t.money(a, c) for c, a in amounts.items()) if amounts else t("none"),
        )
    )
    return lines


def reason_label(t: Translator, code: str) -> str:
    """A churn reason code in the reader's words (an unknown one as it is)."""
    return t(f"reason.{code}") if code in REASON_CODES else code


# -- the care rules' form (pure) ---------------------------------------------------------------


RULE_FIELDS = (
    "occasion",
    "days_before",
    "days",
    "task_kind",
    "enabled",
    "template_en",
    "template_zh",
)
"""The fields of a rule's row in the form (``rules.<n>.<field>``)."""
FORM_ROWS = min(MAX_RULES, len(CareOccasion))
"""The rows the form offers: one per occasion (a tenant names each at most once)."""


def rule_rows(rules: tuple[CareRule, ...]) -> list[dict[str, str]]:
    """The form's rows of ``rules`` (as text, as the form sends them back), blank rows after
    them up to :data:`FORM_ROWS`."""
    rows = [
        {
            "occasion": r.occasion.value,
            "days_before": str(r.days_before),
            "days": "" if r.days is None else str(r.days),
            "task_kind": r.task_kind.value,
            "enabled": "true" if r.enabled else "",
            "template_en": r.template_en or "",
            "template_zh": r.template_zh or "",
        }
        for r in rules
    ]
    blank = {**dict.fromkeys(RULE_FIELDS, ""), "task_kind": "call", "enabled": "true"}
    return rows + [dict(blank) for _ in range(FORM_ROWS - len(rows))]


def form_rows(form: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows as the form sent them (shown again with the error)."""
    return [
        {f: form.get(f"rules.{i}.{f}", "") for f in RULE_FIELDS}
        for i in range(max(FORM_ROWS, sum(1 for k in form if k.endswith(".occasion"))))
    ]


def form_field(form: Mapping[str, str], field: str) -> str:
    """The form's own name of a field the command names: ``rules.<k>.<f>`` counts the rules
    sent (the rows not left blank), the form's rows count the blank ones too."""
    head, _, rest = field.partition(".")
    index, _, name = rest.partition(".")
    if head != "rules" or not index.isdigit():
        return field
    kept = [i for i in range(MAX_RULES + 1) if form.get(f"rules.{i}.occasion", "").strip()]
    k = int(index)
    return f"rules.{kept[k]}.{name}" if k < len(kept) else field


def field_label(t: Translator, field: str) -> str:
    """A field of the care form in the reader's words (``rules.1.days``: "Rule 2, Days
    after ..."), with its name."""
    head, _, rest = field.partition(".")
    index, _, name = rest.partition(".")
    if head == "rules" and index.isdigit() and name in RULE_FIELDS:
        return f"{t('care.rule', n=int(index) + 1)}, {t('care.' + name)} ({field})"
    if field == "time_zone":
        return f"{t('care.time_zone')} ({field})"
    if field == "pool_team_id":
        return f"{t('care.pool_team')} ({field})"
    return field


def rules_from_form(form: Mapping[str, str]) -> tuple[CareRule, ...]:
    """The rules of the form's rows ``rules.<n>.<field>`` (a row whose occasion is blank is
    left out: removed); a wrong value is a 422 naming ``rules.<n>.<field>``."""
    rules: list[CareRule] = []
    for i in range(MAX_RULES + 1):
        prefix = f"rules.{i}."
        occasion = form.get(prefix + "occasion", "").strip()
        if not occasion:
            continue
        if i >= MAX_RULES:
            raise InvalidCommand(f"rules.{i}", f"a tenant has {MAX_RULES} rules at most")
        values: dict[str, Any] = {
            "occasion": occasion,
            "days_before": form.get(prefix + "days_before", "").strip() or 0,
            "task_kind": form.get(prefix + "task_kind", "").strip() or TaskKind.CALL.value,
            "enabled": form.get(prefix + "enabled") == "true",
            "days": form.get(prefix + "days", "").strip() or None,
            "template_en": form.get(prefix + "template_en", "").strip() or None,
            "template_zh": form.get(prefix + "template_zh", "").strip() or None,
        }
        try:
            rules.append(CareRule.model_validate(values))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "occasion"
            raise InvalidCommand(f"rules.{len(rules)}.{where}", str(first["msg"])) from None
    return tuple(rules)


def reports_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    bus = runtime.commands
    page = guarded(console)
    work = WorkReportQueries(runtime.read_store)
    retention = RetentionReport(runtime.read_store)
    rules_of = RulesOf(runtime)
    work_read = Depends(ReadConsistency(runtime, WORK_DAYS_PROJECTION))
    retention_read = Depends(ReadConsistency(runtime, RETENTION_PROJECTION))

    def today(zone: ZoneInfo | None = None) -> date:
        """Today in ``zone`` (None: UTC)."""
        now = runtime.clock.now()
        return (now.astimezone(zone) if zone is not None else now).date()

    def person_of(actor: Actor, person: str | None) -> str:
        return (person or "").strip()[:100] or actor.id

    def work_link(key: str, person: str | None = None, team: bool = False) -> str:
        query = {"period": key, **({"person": person} if person else {})}
        return f"{PREFIX}/reports/work{'/team' if team else ''}?{urlencode(query)}"

    # -- a person's work report --------------------------------------------------------------

    @api.get(f"{PREFIX}/reports/work")
    @page
    async def work_report(
        request: Request,
        period: Annotated[str | None, Query(max_length=10)] = None,
        person: Annotated[str | None, Query(max_length=100)] = None,
        min_position: int | None = None,
        done: str | None = None,
        _: int = work_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        zone = await console.zone_of(actor)  # the days the user lives by
        p = period_of(period, today(zone))
        user = person_of(actor, person)
        found = await work.report(actor, p.kind, p.start, p.end, user, zone)
        row = found["items"][0] if found["items"] else empty_row(user, p)
        own = user == actor.id
        other = None if own else user
        return console.render(
            visit,
            request,
            "work_report.html",
            zone=zone.key,
            p=p,
            row=row,
            user=user,
            own=own,
            lines=figure_lines(visit.t, row),
            submits=own and actor.role is not Role.ANALYST,
            comments=(not own)
            and row["revision"] is not None
            and await work.may_comment(Principal.of(actor), user),
            kinds={k: work_link(p.of(k), other) for k in WorkPeriod},
            previous=work_link(p.previous, other),
            following=work_link(p.following, other),
            team=work_link(p.key, team=True) if leads_people(actor) else None,
            csv=f"{PREFIX}/reports/work/csv?{urlencode({'period': p.key, 'person': user})}",
            leads=leads_people(actor),
            max_summary=MAX_SUMMARY,
            max_plan=MAX_PLAN,
            max_comment=MAX_COMMENT,
            names=await console.directory.names(actor.tenant),
            done=done if done in ("submitted", "commented") else None,
        )

    @api.get(f"{PREFIX}/reports/work/team")
    @page
    async def team_report(
        request: Request,
        period: Annotated[str | None, Query(max_length=10)] = None,
        min_position: int | None = None,
        _: int = work_read,
    ) -> Response:
        """Every person the user reads, side by side, for one period (a rep or an agent:
        their own row, as the API gives it)."""
        visit, actor = await console.signed_in(request)
        zone = await console.zone_of(actor)
        p = period_of(period, today(zone))
        found = await work.report(actor, p.kind, p.start, p.end, zone=zone)
        rows = [{**r, "lines": figure_lines(visit.t, r)} for r in found["items"]]
        return console.render(
            visit,
            request,
            "work_team.html",
            zone=zone.key,
            p=p,
            rows=rows,
            headers=[label for label, _value in figure_lines(visit.t, empty_row("", p))],
            link=lambda user: work_link(p.key, user),
            kinds={k: work_link(p.of(k), team=True) for k in WorkPeriod},
            previous=work_link(p.previous, team=True),
            following=work_link(p.following, team=True),
            csv=f"{PREFIX}/reports/work/csv?{urlencode({'period': p.key})}",
            leads=leads_people(actor),
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/reports/work/csv")
    @page
    async def work_report_csv(
        request: Request,
        period: Annotated[str | None, Query(max_length=10)] = None,
        person: Annotated[str | None, Query(max_length=100)] = None,
        _: int = work_read,
    ) -> Response:
        """The API's CSV of the period (``GET /reports/work?format=csv``), of one person or
        of everyone the user reads."""
        _visit, actor = await console.signed_in(request)
        zone = await console.zone_of(actor)
        p = period_of(period, today(zone))
        user = (person or "").strip()[:100] or None
        return work_csv(await work.report(actor, p.kind, p.start, p.end, user, zone))

    @api.post(f"{PREFIX}/reports/work/{{key}}")
    @page
    async def submit_work_report(
        request: Request,
        key: str,
        summary: str = Form(default="", max_length=MAX_SUMMARY),
        plan: str = Form(default="", max_length=MAX_PLAN),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        parse_period(key)
        command = SubmitWorkReport(actor.id, key, summary.strip(), plan.strip())
        result = await bus.execute(command, console.context(visit))
        query = {"period": key, "min_position": result.position, "done": "submitted"}
        return see(f"{PREFIX}/reports/work?{urlencode(query)}")

    @api.post(f"{PREFIX}/reports/work/{{user_id}}/{{key}}/comments")
    @page
    async def comment_work_report(
        request: Request,
        user_id: str,
        key: str,
        comment: str = Form(min_length=1, max_length=MAX_COMMENT),
    ) -> Response:
        visit = await console.check_csrf(request)
        await console.signed_in(request)
        parse_period(key)
        if not comment.strip():
            raise InvalidCommand("comment", "must not be blank")
        command = CommentWorkReport(user_id[:100], key, comment.strip())
        result = await bus.execute(command, console.context(visit))
        query = {"period": key, "person": user_id, "min_position": result.position}
        return see(f"{PREFIX}/reports/work?{urlencode({**query, 'done': 'commented'})}")

    # -- the retention report ----------------------------------------------------------------

    def window(start: date | None, end: date | None) -> tuple[date, date]:
        last = end or today()
        return start or last - timedelta(days=RETENTION_DAYS - 1), last

    @api.get(f"{PREFIX}/reports/retention")
    @page
    async def retention_report(
        request: Request,
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        min_position: int | None = None,
        _: int = retention_read,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        first, last = window(from_, to)
        report = await retention.report(actor, first, last)
        query = {"from": first.isoformat(), "to": last.isoformat()}
        return console.render(
            visit,
            request,
            "retention.html",
            report=report,
            start=first.isoformat(),
            end=last.isoformat(),
            reason=lambda code: reason_label(visit.t, code),
            csv=f"{PREFIX}/reports/retention/csv?{urlencode(query)}",
            leads=leads_people(actor),
            names=await console.directory.names(actor.tenant),
        )

    @api.get(f"{PREFIX}/reports/retention/csv")
    @page
    async def retention_report_csv(
        request: Request,
        from_: Annotated[date | None, Query(alias="from")] = None,
        to: date | None = None,
        _: int = retention_read,
    ) -> Response:
        _visit, actor = await console.signed_in(request)
        first, last = window(from_, to)
        return retention_csv(await retention.report(actor, first, last))

    # -- the care rules ----------------------------------------------------------------------

    @api.get(f"{PREFIX}/care")
    @page
    async def care_rules(
        request: Request, min_position: int | None = None, done: str | None = None
    ) -> Response:
        visit, actor = await console.signed_in(request)
        POLICY.visibility_filter(actor)  # the API's rule for reading them
        settings = await rules_of.settings(actor.tenant)
        return console.render(
            visit,
            request,
            "care_rules.html",
            settings=settings,
            time_zone=settings.time_zone,
            pool_team_id=settings.pool_team_id or "",
            rows=rule_rows(settings.rules),
            occasions=[o.value for o in CareOccasion],
            kinds=CARE_KINDS,
            edits=sets_care_rules(actor),
            done=done == "saved",
        )

    @api.post(f"{PREFIX}/care")
    @page
    async def set_care_rules(request: Request) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        time_zone = form.get("time_zone", "").strip()[:60] or "UTC"
        pool_team = form.get("pool_team_id", "").strip()[:100] or None
        try:
            known = {"csrf", "time_zone", "pool_team_id"}
            for name in form:
                if name not in known and not name.startswith("rules."):
                    raise InvalidCommand(name, "is not a field of this form")
            command = SetCareRules(actor.tenant, rules_from_form(form), time_zone, pool_team)
            result = await bus.execute(command, console.context(visit))
        except InvalidCommand as e:  # the form again, as sent, saying which field is wrong
            if not sets_care_rules(actor):
                raise
            field = form_field(form, e.field)
            settings = await rules_of.settings(actor.tenant)
            return console.render(
                visit,
                request,
                "care_rules.html",
                status=422,
                settings=settings,
                time_zone=form.get("time_zone", ""),
                pool_team_id=form.get("pool_team_id", ""),
                rows=form_rows(form),
                occasions=[o.value for o in CareOccasion],
                kinds=CARE_KINDS,
                edits=True,
                done=False,
                invalid=field,
                error=visit.t("error.invalid", field=field_label(visit.t, field), detail=e.message),
            )
        return see(f"{PREFIX}/care?min_position={result.position}&done=saved")

    return api


__all__ = [
    "Period",
    "empty_row",
    "figure_lines",
    "period_of",
    "reports_router",
    "rules_from_form",
]
