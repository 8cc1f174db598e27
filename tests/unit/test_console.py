"""The console's pieces without a browser: the user aggregate on events (given/when/then),
sign-in and the lock-out through the command bus, the session cookie and its CSRF token,
and the message catalogue (both languages complete, locale formats)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request
from starlette.responses import Response

from crm.activities.application.retention_report import FIGURES as RETENTION_FIGURES
from crm.console import register_user_commands
from crm.console.admin import SETTINGS_PAGES
from crm.console.analytics import ANALYTICS_PAGES
from crm.console.desk import (
    QUEUE_SORTS,
    QUEUE_STATUSES,
    day_window,
    in_zone,
    overlaps,
    slot_of,
    utc_days,
)
from crm.console.directory import UserDirectoryProjection
from crm.console.domain.users import LOCK_OUT, MAX_FAILURES, User
from crm.console.i18n import MESSAGES, Translator, from_accept_language
from crm.console.pages import CUSTOMER_SORTS
from crm.console.sales import (
    LEAD_LIST_SORTS,
    OPPORTUNITY_LIST_SORTS,
    OPPORTUNITY_STATUSES,
    team_summary,
)
from crm.console.session import COOKIE, MAX_AGE_SECONDS, Sessions
from crm.console.session_check import CACHE_SECONDS, SessionCheck, holds
from crm.console.tasks import TASK_STATUSES, WINDOWS
from crm.console.users import (
    AddUser,
    ChangeRole,
    DeactivateUser,
    EndSession,
    hash_password,
    load_user,
    sign_in,
    system_context,
)
from crm.events import EventEnvelope
from crm.events.activities import (
    CareOccasion,
    CareRule,
    Frequency,
    NotificationKind,
    SubjectKind,
    TaskKind,
    TaskOutcome,
    WorkPeriod,
)
from crm.events.custom_fields import FieldEntity, FieldType
from crm.events.customer import Channel, ConsentPurpose, CustomerKind
from crm.events.sales import CampaignChannel, StageOutcome, TargetOwnerKind
from crm.events.sales_orders import InvoiceStatus, OrderStatus, QuoteStatus
from crm.events.service_desk import ContractLevel, TicketChannel, TicketKind
from crm.events.users import (
    PasswordChanged,
    PasswordReset,
    SessionEnded,
    SignedIn,
    SignInFailed,
    UserActivated,
    UserAdded,
    UserDeactivated,
)
from crm.kernel.auth import Role
from crm.kernel.errors import Forbidden, InvalidCommand, RuleViolated
from crm.kernel.projection import ProjectionRunner
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from crm.platform.imports.sources import ENCODINGS
from crm.sales.domain.leads import LeadStatus
from crm.service_desk.domain.knowledge import ArticleStatus
from crm.service_desk.domain.tickets import TicketStatus
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
ADDED = UserAdded(display_name="Ana", role="sales_rep", team="north", password_hash=HASH)


def test_a_user_is_added_once() -> None:
    Scenario(User).when(lambda u: u.add("Ana", "sales_rep", "north", HASH, "en")).then(ADDED)
    Scenario(User).given(ADDED).when(
        lambda u: u.add("Ana", "sales_rep", None, HASH, "en")
    ).then_raises(RuleViolated, "exists")
    Scenario(User).when(lambda u: u.add("Ana", "boss", None, HASH, "en")).then_raises(
        InvalidCommand, "role"
    )


def test_the_fifth_failure_in_a_row_locks_the_user_out_and_a_success_resets() -> None:
    failures = [SignInFailed(failures=n) for n in range(1, MAX_FAILURES)]
    user = Scenario(User).given(ADDED, *failures).when(lambda u: u.record_sign_in(False, NOW))
    locked = user.then(SignInFailed(failures=MAX_FAILURES, locked_until=NOW + LOCK_OUT))
    assert locked.state.locked(NOW + LOCK_OUT - timedelta(seconds=1))
    assert not locked.state.locked(NOW + LOCK_OUT)
    Scenario(User).given(ADDED, *failures).when(lambda u: u.record_sign_in(True, NOW)).then(
        SignedIn()
    )
    Scenario(User).given(ADDED).when(lambda u: u.record_sign_in(True, NOW)).then(SignedIn())


def test_deactivating_twice_records_it_once() -> None:
    Scenario(User).given(ADDED, UserDeactivated()).when(lambda u: u.deactivate()).then_nothing()


async def test_sign_in_checks_the_hash_counts_failures_and_refuses_deactivated_users(
    platform: Platform,
) -> None:
    bus = platform.runtime.commands
    register_user_commands(bus)
    system = system_context("acme", NOW)
    await bus.execute(AddUser("ana", "Ana", "sales_rep", hash_password("s3cret-pass")), system)
    ok = await sign_in(bus, "acme", "Ana ", "s3cret-pass", NOW)
    assert ok.actor is not None
    assert (ok.actor.id, ok.actor.role.value, ok.actor.tenant) == ("ana", "sales_rep", "acme")
    assert (await sign_in(bus, "other", "ana", "s3cret-pass", NOW)).actor is None
    assert (await sign_in(bus, "acme", "nobody", "s3cret-pass", NOW)).actor is None
    for _ in range(MAX_FAILURES):
        assert (await sign_in(bus, "acme", "ana", "wrong", NOW)).actor is None
    locked = await sign_in(bus, "acme", "ana", "s3cret-pass", NOW)
    assert locked.actor is None
    assert locked.locked
    later = NOW + LOCK_OUT
    assert (await sign_in(bus, "acme", "ana", "s3cret-pass", later)).actor is not None
    await bus.execute(DeactivateUser("ana"), system)
    assert (await sign_in(bus, "acme", "ana", "s3cret-pass", later)).actor is None
    state = await load_user(bus, "acme", "ana")
    assert state is not None
    assert "s3cret-pass" not in repr(state)
    assert state.password_hash.startswith("$argon2id$")


async def test_only_admins_manage_users_and_only_within_their_tenant(platform: Platform) -> None:
    bus = platform.runtime.commands
    register_user_commands(bus)
    await bus.execute(AddUser("ana", "Ana", "sales_rep", HASH), system_context("acme", NOW))

    def as_(role: str, tenant: str = "acme") -> CommandContext:
        return CommandContext(actor="someone", role=role, tenant=tenant, now=NOW)

    with pytest.raises(Forbidden):
        await bus.execute(ChangeRole("ana", "admin"), as_("sales_rep"))
    with pytest.raises(Forbidden):
        await bus.execute(ChangeRole("ana", "admin"), as_("manager"))
    await bus.execute(ChangeRole("ana", "manager", "north"), as_("admin"))
    state = await load_user(bus, "acme", "ana")
    assert state is not None
    assert (state.role, state.team) == ("manager", "north")
    assert await load_user(bus, "globex", "ana") is None


def _request(cookie: str | None = None, scheme: str = "http") -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": headers,
            "scheme": scheme,
            "server": ("x", 80),
            "query_string": b"",
        }
    )


def _cookie(response: Response) -> tuple[str, str]:
    header = response.headers["set-cookie"]
    value = re.match(rf"{COOKIE}=([^;]+)", header)
    assert value is not None
    return value.group(1), header


def test_the_session_cookie_is_signed_http_only_lax_and_secure_over_tls() -> None:
    sessions = Sessions("s" * 40)
    session = sessions.signed_in(sessions.new("en"), "acme", "ana", "zh-CN", 3)
    response = Response()
    sessions.write(_request(scheme="https"), response, session)
    value, header = _cookie(response)
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert "Secure" in header
    assert sessions.read(_request(value)) == session
    assert session.generation == 3
    assert re.fullmatch("[0-9a-f]{32}", session.hash)
    assert session.sid not in session.hash
    body, _, signature = value.rpartition(".")
    assert sessions.read(_request(f"{body}x.{signature}")) is None
    assert Sessions("t" * 40).read(_request(value)) is None
    plain = Response()
    sessions.write(_request(), plain, session)
    assert "Secure" not in plain.headers["set-cookie"]
    sessions.end(_request(value), Response(), session)
    assert sessions.read(_request(value)) is None


def test_a_password_change_a_reset_and_a_deactivation_each_move_the_session_generation() -> None:
    user = User.rehydrate("acme:ana", [ADDED], 0)
    assert user.state.session_generation == 0
    moved = User.rehydrate(
        "acme:ana",
        [
            ADDED,
            PasswordChanged(password_hash=HASH),
            PasswordReset(password_hash=HASH),
            UserDeactivated(),
            UserActivated(),
            SignedIn(),
            SessionEnded(session_hash="0" * 32, expires_at=NOW),
        ],
        6,
    )
    assert moved.state.session_generation == 3
    Scenario(User).given(ADDED).when(lambda u: u.end_session("a" * 32, NOW)).then(
        SessionEnded(session_hash="a" * 32, expires_at=NOW)
    )
    Scenario(User).given(ADDED).when(lambda u: u.end_session("the-session-id", NOW)).then_raises(
        InvalidCommand, "session_hash"
    )


def test_the_directory_keeps_an_ended_session_until_it_would_have_expired() -> None:
    key = ("console_users", "acme:ana")

    def env(event: Any, version: int) -> EventEnvelope:
        return EventEnvelope(
            event_id=uuid4(),
            event_type=type(event).event_type,
            schema_version=1,
            stream_id="user-acme:ana",
            stream_version=version,
            position=version + 1,
            occurred_at=NOW,
            recorded_at=NOW,
            tenant="acme",
            actor="ana",
            correlation_id=uuid4(),
            causation_id=None,
            payload=event.model_dump(mode="json"),
        )

    doc: Any = None
    later = NOW + timedelta(seconds=MAX_AGE_SECONDS + 1)
    for version, event in enumerate(
        [
            ADDED,
            SessionEnded(session_hash="a" * 32, expires_at=NOW),
            SessionEnded(session_hash="b" * 32, expires_at=NOW + timedelta(hours=2)),
            # issued an hour after the first one expired: the first one is forgotten
            SessionEnded(session_hash="c" * 32, expires_at=later + timedelta(hours=1)),
            PasswordChanged(password_hash=HASH),
            UserDeactivated(),
        ]
    ):
        doc = UserDirectoryProjection.evolve(key, doc, event, env(event, version))
    assert set(doc["ended_sessions"]) == {"b" * 32, "c" * 32}
    assert doc["session_generation"] == 2
    assert doc["version"] == 5


async def test_the_session_check_reads_what_a_lagging_read_model_has_not_applied_yet(
    platform: Platform,
) -> None:
    runtime = platform.runtime
    bus = runtime.commands
    register_user_commands(bus)
    system = system_context("acme", NOW)
    await bus.execute(AddUser("ana", "Ana", "sales_rep", HASH), system)
    now = [0.0]
    check = SessionCheck(runtime, clock=lambda: now[0])
    sessions = Sessions("s" * 40)
    session = sessions.signed_in(sessions.new("en"), "acme", "ana", "en", 0)
    # no read model at all yet (its runner has not run): the user's stream is the check
    assert await runtime.read_store.get("console_users", "acme:ana") is None
    assert holds(session, await check.user("acme", "ana"))
    runner = ProjectionRunner(
        UserDirectoryProjection(), runtime.store, runtime.read_store, runtime.codec
    )
    await runner.catch_up()
    ana = CommandContext(actor="ana", role="sales_rep", tenant="acme", now=NOW)
    await bus.execute(EndSession("ana", session.hash, NOW + timedelta(hours=12)), ana)
    projected = await runtime.read_store.get("console_users", "acme:ana")
    assert projected is not None
    assert not projected["ended_sessions"]  # the model lags
    assert holds(session, await check.user("acme", "ana")), "cached for a moment..."
    now[0] += CACHE_SECONDS
    assert not holds(session, await check.user("acme", "ana")), "...then read again"
    other = sessions.signed_in(sessions.new("en"), "acme", "ana", "en", 0)
    assert holds(other, await check.user("acme", "ana"))
    await bus.execute(DeactivateUser("ana"), system)
    check.forget("acme", "ana")
    assert not holds(other, await check.user("acme", "ana"))
    someone = CommandContext(actor="bob", role="admin", tenant="acme", now=NOW)
    with pytest.raises(Forbidden):  # nobody ends another user's session
        await bus.execute(EndSession("ana", other.hash, NOW), someone)


def test_visit_slots_are_read_and_listed_in_the_users_zone() -> None:
    berlin, shanghai = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Shanghai")
    slot = slot_of(date(2026, 3, 4), time(7, 0), 60, shanghai)
    assert (slot.start, slot.end) == (
        datetime(2026, 3, 3, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 4, 0, 0, tzinfo=UTC),
    )
    # the night the clocks go forward: 01:30 to 03:30 local is an hour of elapsed time
    spring = slot_of(date(2026, 3, 29), time(1, 30), 60, berlin)
    assert spring.start == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert in_zone(spring.end.isoformat(), berlin).strftime("%H:%M") == "03:30"
    begins, ends = day_window(date(2026, 3, 4), shanghai)
    assert utc_days(begins, ends) == [date(2026, 3, 3), date(2026, 3, 4)]
    assert utc_days(*day_window(date(2026, 3, 4), ZoneInfo("UTC"))) == [date(2026, 3, 4)]
    assert ends - begins == timedelta(hours=24)
    assert day_window(date(2026, 3, 29), berlin)[1] - day_window(date(2026, 3, 29), berlin)[
        0
    ] == timedelta(hours=23)
    late = {"start": "2026-03-04T16:00:00+00:00", "end": "2026-03-04T17:00:00+00:00"}
    assert not overlaps(late, begins, ends)  # midnight on from 16:00 UTC: the 5th there
    early = {"start": "2026-03-03T16:00:00+00:00", "end": "2026-03-03T17:00:00+00:00"}
    assert overlaps(early, begins, ends)


def test_the_csrf_token_belongs_to_its_session() -> None:
    sessions = Sessions("s" * 40)
    one, two = sessions.new("en"), sessions.new("en")
    assert sessions.csrf_ok(one, sessions.csrf_token(one))
    assert not sessions.csrf_ok(one, sessions.csrf_token(two))
    assert not sessions.csrf_ok(one, None)
    assert not sessions.csrf_ok(None, sessions.csrf_token(one))


def test_both_languages_have_every_message_and_every_template_key_exists() -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["zh-CN"])
    templates = Path(__file__).parents[2] / "src/crm/console/templates"
    used = set()
    for template in templates.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.0-9-]+)["']""", template.read_text()))
    prefixes = {key for key in used if key.endswith(".")}
    assert used - prefixes - set(MESSAGES["en"]) == set()
    assert prefixes == {
        "role.",
        "risk.",
        "kind.",
        "channel.",
        "sort.",
        "segment.",
        "priority.",
        "status.",
        "purpose.",
        "queue.",
        "queue.sort.",
        "sla.",
        "ticket_channel.",
        "visit.",
        "article.",
        "lead_status.",
        "lead_sort.",
        "opp_status.",
        "opp_sort.",
        "quote_status.",
        "order_status.",
        "invoice_status.",
        "task_kind.",
        "task_outcome.",
        "task_status.",
        "task_window.",
        "notifications.",
        "notification_kind.",
        "customer.",
        "analytics.",
        "churn.level.",
        "value.tier.",
        "admin.",
        "admin.outcome.",
        "campaign.channel.",
        "campaign.status.",
        "target.kind.",
        "sla.level.",
        "weekday.",
        "work.title.",
        "work.kind.",
        "retention.",
        "care.",
        "care.occasion.",
        "calendar.view.",
        "calendar.previous.",
        "calendar.next.",
        "calendar.this.",
        "tasks.about.",
        "frequency.",
        "my_day.changed.",
        "fields.type.",
        "fields.entity.",
        "dup.done.",
        "dup.reason.",
        "imports.encoding.",
    }
    values = {
        "role.": [r.value for r in Role],
        "my_day.changed.": ["customer", "opportunity", "ticket"],
        "fields.type.": [t.value for t in FieldType],
        "fields.entity.": [e.value for e in FieldEntity],
        "dup.done.": ["merged", "distinct"],
        "dup.reason.": ["same_email", "same_phone", "similar_name_same_company"],
        "imports.encoding.": list(ENCODINGS),
        "risk.": ["low", "medium", "high"],
        "kind.": [k.value for k in CustomerKind] + [k.value for k in TicketKind],
        "channel.": [c.value for c in Channel],
        "sort.": list(CUSTOMER_SORTS),
        "segment.": ["prospect", "new", "repeat", "loyal"],
        "priority.": ["low", "normal", "high", "urgent"],
        "status.": [s.value for s in TicketStatus],
        "queue.": list(QUEUE_STATUSES),
        "queue.sort.": list(QUEUE_SORTS),
        "sla.": ["first_response", "resolution"],
        "ticket_channel.": [c.value for c in TicketChannel],
        "visit.": ["scheduled", "completed", "cancelled"],
        "article.": [s.value for s in ArticleStatus],
        "purpose.": [p.value for p in ConsentPurpose],
        "lead_status.": [s.value for s in LeadStatus],
        "lead_sort.": list(LEAD_LIST_SORTS),
        "opp_status.": list(OPPORTUNITY_STATUSES),
        "opp_sort.": list(OPPORTUNITY_LIST_SORTS),
        "quote_status.": [s.value for s in QuoteStatus],
        "order_status.": [s.value for s in OrderStatus],
        "invoice_status.": [s.value for s in InvoiceStatus],
        "task_kind.": [k.value for k in TaskKind],
        "task_outcome.": [o.value for o in TaskOutcome],
        "task_status.": list(TASK_STATUSES),
        "task_window.": list(WINDOWS),
        "notifications.": ["all", "unread", "read"],
        "notification_kind.": [k.value for k in NotificationKind],
        "analytics.": [p for name in ANALYTICS_PAGES for p in (name, f"{name}.about")],
        "churn.level.": ["any", "low", "medium", "high"],
        "value.tier.": ["any", "high", "medium", "low"],
        "admin.": [p for name in SETTINGS_PAGES for p in (name, f"{name}.about")],
        "admin.outcome.": [o.value for o in StageOutcome],
        "campaign.channel.": [c.value for c in CampaignChannel],
        "campaign.status.": ["any", "planned", "active", "ended"],
        "target.kind.": [k.value for k in TargetOwnerKind],
        "sla.level.": ["default", *(level.value for level in ContractLevel)],
        "weekday.": [str(d) for d in range(7)],
        "work.title.": [p.value for p in WorkPeriod],
        "work.kind.": [p.value for p in WorkPeriod],
        "retention.": list(RETENTION_FIGURES),
        "care.": [f for f in CareRule.model_fields if f != "occasion"] + ["occasion"],
        "care.occasion.": [o.value for o in CareOccasion],
        "calendar.view.": ["day", "week", "month"],
        "calendar.previous.": ["day", "week", "month"],
        "calendar.next.": ["day", "week", "month"],
        "calendar.this.": ["day", "week", "month"],
        "tasks.about.": [k.value for k in SubjectKind],
        "frequency.": [f.value for f in Frequency],
    }
    for prefix, names in values.items():
        assert {prefix + n for n in names} <= set(MESSAGES["en"]), prefix


def test_dates_money_and_numbers_are_formatted_for_the_locale() -> None:
    en, zh = Translator("en"), Translator("zh-CN")
    money = {"amount": "125000.50", "currency": "EUR"}
    assert en.money(money) == "€125,000.50"
    assert zh.money(money) == "€125,000.50"
    assert zh.money({"amount": "1250", "currency": "CNY"}) == "¥1,250.00"
    assert en.day("2027-01-31") == "31 Jan 2027"
    assert zh.day("2027-01-31") == "2027年1月31日"
    assert en.number(12345) == "12,345"
    assert en("my_day.greeting", name="Ana") == "Good day, Ana"
    assert zh("my_day.greeting", name="Ana") == "您好，Ana"
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert from_accept_language("de-DE,en;q=0.5") == "en"
    assert from_accept_language(None) == "en"


def test_the_team_summary_adds_each_reps_opportunities_per_currency_and_stage() -> None:
    def opp(owner: str, status: str, stage: str, amount: str, currency: str = "EUR") -> Any:
        money = {"amount": amount, "currency": currency}
        return {
            "owner_id": owner,
            "status": status,
            "stage": stage,
            "amount": money,
            "weighted_amount": {"amount": str(Decimal(amount) / 10), "currency": currency},
        }

    summary = team_summary(
        [
            opp("ana", "open", "prospecting", "100.00"),
            opp("ana", "open", "proposal", "50.00", "USD"),
            opp("ana", "won", "won", "70.00"),
            opp("ben", "open", "prospecting", "10.00"),
            opp("ben", "lost", "lost", "999.00"),
            opp("ben", "open", "retired_stage", "1.00"),
        ],
        ["prospecting", "proposal"],
    )
    ana, ben = summary.reps
    assert (ana.owner_id, ana.open, ana.won, ana.lost) == ("ana", 2, 1, 0)
    assert ana.open_amount.items() == [("100.00", "EUR"), ("50.00", "USD")]
    assert ana.won_amount.items() == [("70.00", "EUR")]
    assert (ben.open, ben.lost) == (2, 1)
    assert summary.total.open_amount.items() == [("111.00", "EUR"), ("50.00", "USD")]
    assert [(s.stage, s.count) for s in summary.stages] == [
        ("prospecting", 2),
        ("proposal", 1),
        ("retired_stage", 1),
    ]
    assert summary.stages[0].amount.items() == [("110.00", "EUR")]
