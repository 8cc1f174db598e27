"""Tasks and notifications, given/when/then on events: recurrence, reminders once per due,
the retention outcomes, quiet hours across midnight and time zones, the mail claim."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from crm.activities.domain.notifications import (
    LEASE,
    Message,
    Notification,
    NotificationPreferences,
    Preferences,
)
from crm.activities.domain.tasks import Task, TaskPlan, occurrence_due
from crm.events.activities import (
    Frequency,
    NotificationEmailClaimed,
    NotificationKind,
    NotificationRaised,
    Recurrence,
    SubjectKind,
    TaskCompleted,
    TaskKind,
    TaskOutcome,
    TaskOverdue,
    TaskRecurred,
    TaskReminderDue,
    TaskRescheduled,
    TaskScheduled,
)
from crm.events.customer import Channel
from crm.kernel.errors import InvalidCommand, RuleViolated
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 5, 14, 0, tzinfo=UTC)


def scheduled(kind: TaskKind = TaskKind.CALL, **more: object) -> TaskScheduled:
    fields: dict[str, object] = {
        "kind": kind,
        "title": "call Ada back",
        "subject_kind": SubjectKind.CUSTOMER,
        "subject_id": "c1",
        "customer_id": "c1",
        "assignee_id": "ana",
        "team_id": "north",
        "due_at": DUE,
        "created_by": "ana",
        "scheduled_at": NOW,
        **more,
    }
    return TaskScheduled.model_validate(fields)


def test_a_task_is_planned_with_a_zoned_due_time_and_a_title() -> None:
    plan = TaskPlan(TaskKind.CALL, "  call Ada back ", DUE, "ana")
    Scenario(Task).given().when(
        lambda t: t.schedule(
            plan,
            subject_kind=SubjectKind.CUSTOMER,
            subject_id="c1",
            customer_id="c1",
            team_id="north",
            created_by="ana",
            now=NOW,
        )
    ).then(scheduled())
    naive = TaskPlan(TaskKind.CALL, "x", DUE.replace(tzinfo=None), "ana")
    with pytest.raises(InvalidCommand, match="due_at"):
        naive.check()
    with pytest.raises(InvalidCommand, match="custom_kind"):
        TaskPlan(TaskKind.CUSTOM, "x", DUE, "ana").check()


def test_the_reminder_then_the_overdue_notice_each_once_per_due() -> None:
    before = DUE - timedelta(minutes=10)
    task = (
        Scenario(Task)
        .given(scheduled())
        .when(lambda t: t.check_reminders(before))
        .then(TaskReminderDue(occurrence=0, due_at=DUE, assignee_id="ana", reminded_at=before))
    )
    assert task.state.next_check_at() == DUE
    reminded = TaskReminderDue(occurrence=0, due_at=DUE, assignee_id="ana", reminded_at=before)
    Scenario(Task).given(scheduled(), reminded).when(
        lambda t: t.check_reminders(before)
    ).then_nothing()
    late = DUE + timedelta(minutes=1)
    overdue = TaskOverdue(occurrence=0, due_at=DUE, assignee_id="ana", noticed_at=late)
    late_check = Scenario(Task).given(scheduled(), reminded).when(lambda t: t.check_reminders(late))
    assert late_check.then(overdue).state.next_check_at() is None
    Scenario(Task).given(scheduled(), reminded, overdue).when(
        lambda t: t.check_reminders(late + timedelta(days=1))
    ).then_nothing()
    # too early: nothing
    Scenario(Task).given(scheduled()).when(
        lambda t: t.check_reminders(DUE - timedelta(hours=1))
    ).then_nothing()


def test_moving_the_due_time_makes_a_new_reminder_due() -> None:
    late = DUE + timedelta(minutes=1)
    overdue = TaskOverdue(occurrence=0, due_at=DUE, assignee_id="ana", noticed_at=late)
    new_due = DUE + timedelta(days=1)
    moved = TaskRescheduled(occurrence=0, due_at=new_due, previous_due_at=DUE)
    task = Scenario(Task).given(scheduled(), overdue).when(lambda t: t.reschedule(new_due))
    assert task.then(moved).state.next_check_at() == new_due - timedelta(minutes=15)


def test_a_completed_call_is_logged_as_the_customers_interaction_with_the_next_task() -> None:
    nxt = TaskPlan(TaskKind.MEETING, "demo", DUE + timedelta(days=7), "ana")
    task = (
        Scenario(Task)
        .given(scheduled())
        .when(
            lambda t: t.complete(
                TaskOutcome.REACHED,
                note="wants a demo",
                by="ana",
                now=DUE,
                interaction_id="i1",
                next_task_id="t2",
                next_plan=nxt,
            )
        )
    )
    done = task.then(
        TaskCompleted(
            occurrence=0,
            due_at=DUE,
            outcome=TaskOutcome.REACHED,
            title="call Ada back",
            note="wants a demo",
            completed_at=DUE,
            completed_by="ana",
            customer_id="c1",
            subject_kind=SubjectKind.CUSTOMER,
            subject_id="c1",
            interaction_id="i1",
            channel=Channel.CALL,
            next_task_id="t2",
            next_kind=TaskKind.MEETING,
            next_title="demo",
            next_due_at=DUE + timedelta(days=7),
            next_assignee_id="ana",
            team_id="north",
        )
    )
    assert not done.state.open
    error = (
        Scenario(Task)
        .given(scheduled(), *done.changes)
        .when(
            lambda t: t.complete(TaskOutcome.DONE, note=None, by="ana", now=DUE, interaction_id="i")
        )
    )
    assert error.then_raises(RuleViolated).code == "task_done"  # type: ignore[attr-defined]


def test_a_send_quote_task_is_no_interaction() -> None:
    task = (
        Scenario(Task)
        .given(scheduled(TaskKind.SEND_QUOTE))
        .when(
            lambda t: t.complete(
                TaskOutcome.DONE, note=None, by="ana", now=DUE, interaction_id="i1"
            )
        )
    )
    assert task.error is None
    (event,) = task.subject.changes
    assert isinstance(event, TaskCompleted)
    assert event.interaction_id is None
    assert event.channel is None


def test_a_retention_task_records_what_became_of_the_customer() -> None:
    given = scheduled(TaskKind.RETENTION, reasons=("no_recent_order",), origin="churn:c1")
    Scenario(Task).given(given).when(
        lambda t: t.complete(TaskOutcome.DONE, note=None, by="ana", now=DUE, interaction_id="i")
    ).then_raises(InvalidCommand, match="retention")


def test_a_monthly_task_on_the_31st_recurs_on_the_last_day_then_back_on_the_31st() -> None:
    first = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    monthly = Recurrence(frequency=Frequency.MONTHLY)
    assert occurrence_due(first, monthly, 1) == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert occurrence_due(first, monthly, 2) == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
    weekly = Recurrence(frequency=Frequency.WEEKLY, interval=2, until=date(2026, 2, 14))
    given = scheduled(due_at=first, recurrence=weekly)
    task = (
        Scenario(Task)
        .given(given)
        .when(
            lambda t: t.complete(
                TaskOutcome.DONE, note=None, by="ana", now=first, interaction_id="i"
            )
        )
    )
    assert task.error is None
    assert task.subject.changes[-1] == TaskRecurred(occurrence=1, due_at=first + timedelta(14))
    assert task.subject.state.open
    assert task.subject.state.occurrence == 1
    # the series ends after 14 February: the second completion closes it
    again = Scenario(Task).given(given, *task.subject.changes)
    last = again.when(
        lambda t: t.complete(TaskOutcome.DONE, note=None, by="ana", now=first, interaction_id="j")
    )
    assert [type(e) for e in last.subject.changes] == [TaskCompleted]
    assert not last.subject.state.open


SHANGHAI = Preferences(
    email="ana@example.com",
    email_enabled=True,
    quiet_start=time(22, 0),
    quiet_end=time(7, 0),
    time_zone="Asia/Shanghai",
)


def test_quiet_hours_spanning_midnight_hold_the_email_until_they_end_in_the_users_zone() -> None:
    # 15:00 UTC is 23:00 in Shanghai: held till 07:00 there, 23:00 UTC
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert SHANGHAI.email_after(at) == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    # 20:00 UTC is 04:00 the next day there: the same morning's 07:00
    assert SHANGHAI.email_after(datetime(2026, 3, 2, 20, 0, tzinfo=UTC)) == datetime(
        2026, 3, 2, 23, 0, tzinfo=UTC
    )
    noon = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 there
    assert SHANGHAI.email_after(noon) == noon


def test_preferences_name_a_real_zone_and_an_address() -> None:
    bad = Preferences(time_zone="Mars/Olympus")
    Scenario(NotificationPreferences).given().when(lambda p: p.set("ana", bad)).then_raises(
        InvalidCommand, match="time_zone"
    )
    no_address = Preferences(email_enabled=True)
    Scenario(NotificationPreferences).given().when(lambda p: p.set("ana", no_address)).then_raises(
        InvalidCommand, match="email"
    )


MESSAGE = Message(NotificationKind.TASK_DUE, "Task due", "任务即将到期", "task", "t1")


def test_a_notification_is_raised_once_and_muted_kinds_never() -> None:
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    raised = NotificationRaised(
        recipient_id="ana",
        kind=NotificationKind.TASK_DUE,
        title_en="Task due",
        title_zh="任务即将到期",
        subject_kind="task",
        subject_id="t1",
        raised_at=at,
        email=True,
        email_after=datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
    )
    Scenario(Notification).given().when(lambda n: n.raise_for("ana", MESSAGE, SHANGHAI, at)).then(
        raised
    )
    Scenario(Notification).given(raised).when(
        lambda n: n.raise_for("ana", MESSAGE, SHANGHAI, at)
    ).then_nothing()
    muted = Preferences(muted=frozenset({NotificationKind.TASK_DUE}))
    Scenario(Notification).given().when(
        lambda n: n.raise_for("ana", MESSAGE, muted, at)
    ).then_nothing()


def test_the_email_is_claimed_after_the_quiet_hours_and_by_one_mailer_per_lease() -> None:
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    after = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    raised = NotificationRaised(
        recipient_id="ana",
        kind=NotificationKind.TASK_DUE,
        title_en="t",
        title_zh="t",
        subject_kind="task",
        subject_id="t1",
        raised_at=at,
        email=True,
        email_after=after,
    )
    n = Notification.rehydrate("n1", [raised], 0)
    assert not n.claim_email("m1", at)
    assert not n.changes
    assert n.claim_email("m1", after)
    assert n.changes == (
        NotificationEmailClaimed(mailer="m1", attempt=1, lease_until=after + LEASE),
    )
    assert not n.claim_email("m2", after + timedelta(minutes=1))
    assert n.claim_email("m2", after + LEASE)  # the first mailer died holding it
    n.email_failed("connection refused", after + LEASE)
    assert n.state.mail_due_at() == after + LEASE + timedelta(minutes=2)
