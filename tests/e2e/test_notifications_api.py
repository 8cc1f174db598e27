"""Notifications through HTTP and e-mail through a real SMTP server on loopback (aiosmtpd):
a task assigned by the manager and its reminder notify the rep (her list, her unread count,
marked read; nobody else sees them); e-mailed in both languages, not during her quiet hours
(it waits till they end), once however often the mailer ticks; a server that refuses is
retried after the backoff and the mail then arrives."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from typing import Any
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller

from crm.activities.application.mailer import Mailer, SmtpServer
from crm.activities.application.reminders import ReminderScheduler
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.platform.bootstrap import Platform
from crm.service_desk.application.scheduler import ServiceDeskScheduler
from tests.conftest import T0, UserClient
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities")]

Users = Callable[..., UserClient]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return "451 try again later"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def settled(platform: Platform) -> None:
    """Every in-process read model and reaction has caught up with the log."""
    await caught_up(platform, "activities_tasks", "activities_notifications")
    await asyncio.sleep(0.2)  # the reactions' commands, then their read models
    await caught_up(platform, "activities_tasks", "activities_notifications")


async def task_for_ana(boss: UserClient, due: Any) -> str:
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com"}
    cid = (await ok(await boss.post("/customers", json={**body, "owner_id": "ana"}), 201))["id"]
    task = {
        "kind": "call",
        "title": "Call Ada back",
        "subject_kind": "customer",
        "subject_id": cid,
        "due_at": due.isoformat(),
        "assignee_id": "ana",
        "remind_before_minutes": 30,
    }
    return str((await ok(await boss.post("/tasks", json=task), 201))["id"])


async def test_a_rep_is_notified_of_her_tasks_and_only_she_sees_it(
    platform: Platform, as_user: Users
) -> None:
    boss, ana, bob = as_user("boss"), as_user("ana", Role.SALES_REP), as_user("bob", Role.SALES_REP)
    due = T0 + timedelta(hours=2)
    task_id = await task_for_ana(boss, due)
    await settled(platform)
    page = await ok(await ana.get("/notifications"))
    [assigned] = page["items"]
    assert (assigned["kind"], assigned["subject_kind"], assigned["subject_id"]) == (
        "task_assigned",
        "task",
        task_id,
    )
    assert assigned["title_zh"] == "有一项任务分配给您"
    assert (await ok(await ana.get("/notifications/unread")))["unread"] == 1
    assert (await ok(await bob.get("/notifications")))["total"] == 0
    assert (await bob.get(f"/notifications/{assigned['id']}")).status_code == 404
    assert (await bob.post(f"/notifications/{assigned['id']}/read")).status_code == 404
    await ok(await ana.post(f"/notifications/{assigned['id']}/read"))
    await settled(platform)
    assert (await ok(await ana.get("/notifications/unread")))["unread"] == 0

    # the reminder notifies her too, once however often the scheduler ticks
    scheduler = ReminderScheduler(platform.runtime)
    for minutes in (25, 20):
        await scheduler.tick(due - timedelta(minutes=minutes))
        await settled(platform)
    unread = await ok(await ana.get("/notifications", params={"read": "false"}))
    assert [n["kind"] for n in unread["items"]] == ["task_due"]
    # a task she plans for herself tells her nothing new
    own = {
        "kind": "email",
        "title": "Send the brochure",
        "subject_kind": "customer",
        "subject_id": (await ok(await ana.get(f"/tasks/{task_id}")))["customer_id"],
        "due_at": (due + timedelta(days=3)).isoformat(),
    }
    await ok(await ana.post("/tasks", json=own), 201)
    await settled(platform)
    assert (await ok(await ana.get("/notifications/unread")))["unread"] == 1


async def test_e_mail_waits_for_the_end_of_quiet_hours_and_is_sent_once(
    platform: Platform, as_user: Users, clock: ManualClock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    boss, ana = as_user("boss"), as_user("ana", Role.SALES_REP)
    prefs = {
        "email": "ana@example.com",
        "email_enabled": True,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "time_zone": "Asia/Shanghai",
    }
    await ok(await ana.put("/notifications/preferences", json=prefs))
    shown = await ok(await ana.get("/notifications/preferences"))
    assert (shown["email"], shown["time_zone"]) == ("ana@example.com", "Asia/Shanghai")
    bad = await ana.put("/notifications/preferences", json={**prefs, "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "time_zone" in bad.text

    night = T0.replace(hour=15)  # 23:00 in Shanghai: inside her quiet hours
    clock.set(night)
    await task_for_ana(boss, night + timedelta(days=1))
    await settled(platform)
    mailer = Mailer(platform.runtime, SmtpServer.parse(f"smtp://127.0.0.1:{port}?from=crm@test"))
    assert (await mailer.tick(night + timedelta(hours=1))).sent == ()
    assert inbox.messages == []
    morning = T0.replace(hour=23, minute=1)  # 07:01 in Shanghai
    report = await mailer.tick(morning)
    assert len(report.sent) == 1
    await settled(platform)
    assert (await mailer.tick(morning + timedelta(minutes=5))).sent == ()
    [mail] = inbox.messages
    assert mail["To"] == "ana@example.com"
    assert str(make_header(decode_header(mail["Subject"]))) == (
        "A task was assigned to you / 有一项任务分配给您"
    )
    [doc] = (await ok(await ana.get("/notifications")))["items"]
    assert doc["mail"] == "sent"


async def test_a_refused_e_mail_is_retried_after_the_backoff(
    platform: Platform, as_user: Users, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    boss, ana = as_user("boss"), as_user("ana", Role.SALES_REP)
    prefs = {"email": "ana@example.com", "email_enabled": True}
    await ok(await ana.put("/notifications/preferences", json=prefs))
    await task_for_ana(boss, T0 + timedelta(days=1))
    await settled(platform)
    mailer = Mailer(platform.runtime, SmtpServer.parse(f"smtp://127.0.0.1:{port}"))
    inbox.refuse = True
    assert len((await mailer.tick(T0)).failed) == 1
    await settled(platform)
    [doc] = (await ok(await ana.get("/notifications")))["items"]
    assert (doc["mail"], doc["attempts"]) == ("pending", 1)
    assert "451" in doc["last_error"]
    inbox.refuse = False
    assert (await mailer.tick(T0 + timedelta(seconds=30))).sent == ()  # backoff: 1 minute
    assert len((await mailer.tick(T0 + timedelta(minutes=1))).sent) == 1
    assert len(inbox.messages) == 1


@pytest.mark.contexts("customer", "activities", "service-desk")
async def test_an_sla_warning_notifies_the_tickets_agent(
    platform: Platform, as_user: Users, clock: ManualClock
) -> None:
    boss, ann = as_user("boss"), as_user("ann", Role.AGENT)
    body = {"name": "Ada Lovelace", "email": f"ada-{uuid4().hex[:12]}@example.com"}
    cid = (await ok(await boss.post("/customers", json=body), 201))["id"]
    ticket = {
        "customer_id": cid,
        "kind": "complaint",
        "channel": "phone",
        "priority": "high",
        "subject": "Invoice charged twice",
        "description": "charged twice in March",
    }
    opened = await ok(await ann.post("/tickets", json=ticket), 201)
    tid = opened["id"]
    await ok(await ann.post(f"/tickets/{tid}/assign", json={"agent_id": "ann"}))
    head = await platform.store.head_position()
    doc = await ok(await ann.get(f"/tickets/{tid}", params={"min_position": str(head)}))
    due = datetime.fromisoformat(doc["sla"]["first_response_due"])
    clock.set(due - timedelta(minutes=10))
    warned = await ServiceDeskScheduler(platform.runtime).tick(clock.now())
    assert warned.warned == (tid,)
    await settled(platform)
    page = await ok(await ann.get("/notifications"))
    kinds = {(n["kind"], n["subject_kind"], n["subject_id"]) for n in page["items"]}
    assert ("sla_warning", "ticket", tid) in kinds
    assert (await ok(await boss.get("/notifications")))["total"] == 0
