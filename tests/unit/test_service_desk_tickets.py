"""The ticket aggregate, given/when/then on events: lifecycle, assignment and escalation,
comments and the first response, the SLA checks the scheduler runs, complaint follow-up,
satisfaction, and personal data sealed with the customer's key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import pytest

from crm.events import ERASED, DomainEvent, EventEnvelope, EventMetadata
from crm.events.service_desk import (
    FollowUpDue,
    FollowUpOverdueEscalated,
    FollowUpRecorded,
    KbArticleLinked,
    PriorityTargets,
    SatisfactionRecorded,
    SlaBreached,
    SlaTarget,
    SlaWarning,
    TicketAssigned,
    TicketChannel,
    TicketClosed,
    TicketCommented,
    TicketEscalated,
    TicketKind,
    TicketOpened,
    TicketPriority,
    TicketReassigned,
    TicketReopened,
    TicketResolved,
    WorkingHours,
)
from crm.kernel.codec import EventCodec
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar
from crm.service_desk.domain.sla import SlaPolicyTerms, apply_sla
from crm.service_desk.domain.tickets import Ticket, TicketStatus
from tests.unit.given_when_then import Scenario

TICKET_ID = "t-1"
CUSTOMER = "9d1f0c2e-5b7a-4e3c-8f6d-2a1b0c9d8e7f"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ROUND_THE_CLOCK = BusinessCalendar(
    "24x7", "UTC", tuple(WorkingHours(weekday=d, start=time(0), end=time(0)) for d in range(7))
)
"""Business minutes are plain minutes here, so due times read at a glance."""
POLICY = SlaPolicyTerms(
    id="standard",
    name="Standard",
    level=None,
    targets={
        p: PriorityTargets(priority=p, first_response_minutes=60, resolution_minutes=480)
        for p in TicketPriority
    },
    calendar_id="24x7",
    follow_up_days=3,
    follow_up_escalation_days=2,
)
SLA = apply_sla(POLICY, TicketPriority.HIGH, T0, ROUND_THE_CLOCK)
FIRST_DUE = T0 + timedelta(minutes=60)
RESOLUTION_DUE = T0 + timedelta(minutes=480)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened(kind: TicketKind = TicketKind.COMPLAINT) -> TicketOpened:
    return TicketOpened(
        customer_id=CUSTOMER,
        kind=kind,
        channel=TicketChannel.EMAIL,
        priority=TicketPriority.HIGH,
        subject="Router keeps rebooting",
        description="Mrs Lovelace's router at home reboots every hour",
        opened_at=T0,
        sla=SLA,
    )


OPENED = opened()
ASSIGNED = TicketAssigned(agent_id="agent-1", group_id="tier1")


def reply(minutes: float, *, first: bool = True, comment_id: str = "c1") -> TicketCommented:
    return TicketCommented(
        customer_id=CUSTOMER,
        comment_id=comment_id,
        author_id="agent-1",
        public=True,
        body="We are on it",
        commented_at=at(minutes),
        first_response=first,
    )


def resolved(minutes: float, *, follow_up: bool = True) -> TicketResolved:
    return TicketResolved(
        resolution="Firmware updated",
        resolved_at=at(minutes),
        follow_up_due_at=at(minutes) + timedelta(days=3) if follow_up else None,
    )


IN_PROGRESS = (OPENED, ASSIGNED, reply(30))
RESOLVED = (*IN_PROGRESS, resolved(120))
CLOSED = (*RESOLVED, TicketClosed(closed_at=at(180)))


def ticket(*history: DomainEvent) -> Scenario[Ticket]:
    return Scenario(Ticket, id=TICKET_ID).given(*history)


def code_of(error: Exception) -> str:
    assert isinstance(error, RuleViolated), error
    return error.code


# -- open ----------------------------------------------------------------------------------------


def test_open_a_complaint_with_its_sla_targets() -> None:
    t = (
        ticket()
        .when(
            lambda t: t.open(
                customer_id=CUSTOMER,
                kind=TicketKind.COMPLAINT,
                channel=TicketChannel.EMAIL,
                priority=TicketPriority.HIGH,
                subject=" Router keeps rebooting ",
                description="Mrs Lovelace's router at home reboots every hour",
                now=T0,
                policy=POLICY,
                calendar=ROUND_THE_CLOCK,
            )
        )
        .then(OPENED)
    )
    assert t.state.status is TicketStatus.NEW
    assert (SLA.first_response_due, SLA.resolution_due) == (FIRST_DUE, RESOLUTION_DUE)


def test_a_ticket_opens_once_and_needs_a_subject_and_the_policy_s_calendar() -> None:
    def open_(**overrides: object) -> Callable[[Ticket], None]:
        args: dict[str, object] = {
            "customer_id": CUSTOMER,
            "kind": TicketKind.INQUIRY,
            "channel": TicketChannel.WEB,
            "priority": TicketPriority.LOW,
            "subject": "Question",
            "description": "How do I reset?",
            "now": T0,
            "policy": POLICY,
            "calendar": ROUND_THE_CLOCK,
        }
        args.update(overrides)
        return lambda t: t.open(**args)  # type: ignore[arg-type]

    assert code_of(ticket(OPENED).when(open_()).then_raises(RuleViolated)) == "already_exists"
    ticket().when(open_(subject="  ")).then_raises(InvalidCommand, match="subject")
    ticket().when(open_(now=datetime(2026, 1, 1))).then_raises(InvalidCommand, match="now")
    ticket().when(open_(calendar=DEFAULT_CALENDAR)).then_raises(InvalidCommand, match="calendar")


def test_commands_on_a_ticket_never_opened_are_not_found() -> None:
    ticket().when(lambda t: t.assign(agent_id="a")).then_raises(NotFound)
    ticket().when(lambda t: t.check_sla(T0, timedelta(0))).then_raises(NotFound)


# -- assignment and escalation -------------------------------------------------------------------


def test_assign_a_new_ticket_to_an_agent_or_a_group() -> None:
    t = ticket(OPENED).when(lambda t: t.assign(agent_id="agent-1", group_id="tier1")).then(ASSIGNED)
    assert t.state.status is TicketStatus.ASSIGNED
    ticket(OPENED).when(lambda t: t.assign(group_id="tier1")).then(TicketAssigned(group_id="tier1"))
    error = ticket(OPENED).when(lambda t: t.assign(agent_id=" ")).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == "agent_id"


def test_assign_is_for_new_tickets_only() -> None:
    error = (
        ticket(OPENED, ASSIGNED).when(lambda t: t.assign(agent_id="b")).then_raises(RuleViolated)
    )
    assert code_of(error) == "ticket_already_assigned"
    error = ticket(*RESOLVED).when(lambda t: t.assign(agent_id="b")).then_raises(RuleViolated)
    assert code_of(error) == "ticket_resolved"


def test_reassign_while_worked_on() -> None:
    t = (
        ticket(*IN_PROGRESS)
        .when(lambda t: t.reassign(agent_id="agent-2", reason="holiday"))
        .then(
            TicketReassigned(
                agent_id="agent-2",
                previous_agent_id="agent-1",
                previous_group_id="tier1",
                reason="holiday",
            )
        )
    )
    assert t.state.status is TicketStatus.IN_PROGRESS
    ticket(OPENED, ASSIGNED).when(
        lambda t: t.reassign(agent_id="agent-1", group_id="tier1")
    ).then_nothing()
    error = ticket(OPENED).when(lambda t: t.reassign(agent_id="a")).then_raises(RuleViolated)
    assert code_of(error) == "ticket_not_assigned"
    error = ticket(*CLOSED).when(lambda t: t.reassign(agent_id="a")).then_raises(RuleViolated)
    assert code_of(error) == "ticket_closed"


def test_escalate_up_the_tiers_to_the_highest() -> None:
    up = ticket(*IN_PROGRESS).when(lambda t: t.escalate(reason="needs network team"))
    first = up.then(TicketEscalated(tier=2, previous_tier=1, reason="needs network team"))
    second = TicketEscalated(tier=3, previous_tier=2, reason="vendor")
    ticket(*IN_PROGRESS, *first.changes).when(lambda t: t.escalate(reason="vendor")).then(second)
    error = (
        ticket(*IN_PROGRESS, *first.changes, second)
        .when(lambda t: t.escalate(reason="more"))
        .then_raises(RuleViolated, match="highest")
    )
    assert code_of(error) == "ticket_at_max_tier"


def test_escalate_to_a_manager_once_keeping_the_tier() -> None:
    to_manager = TicketEscalated(
        tier=1, previous_tier=1, to_manager=True, manager_id="boss", reason="angry customer"
    )
    ticket(OPENED).when(
        lambda t: t.escalate(reason="angry customer", to_manager=True, manager_id="boss")
    ).then(to_manager)
    error = (
        ticket(OPENED, to_manager)
        .when(lambda t: t.escalate(reason="again", to_manager=True))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "already_escalated_to_manager"
    error = ticket(*RESOLVED).when(lambda t: t.escalate(reason="late")).then_raises(RuleViolated)
    assert code_of(error) == "ticket_resolved"
    ticket(OPENED).when(lambda t: t.escalate(reason=" ")).then_raises(
        InvalidCommand, match="reason"
    )


# -- comments ------------------------------------------------------------------------------------


def comment(
    *, cid: str = "c1", public: bool = True, from_customer: bool = False, minutes: float = 30
) -> Callable[[Ticket], None]:
    return lambda t: t.comment(
        comment_id=cid,
        author_id="cust" if from_customer else "agent-1",
        body="We are on it" if not from_customer else "Still broken",
        public=public,
        now=at(minutes),
        from_customer=from_customer,
    )


def test_the_first_public_agent_reply_is_the_first_response_and_starts_the_work() -> None:
    t = ticket(OPENED, ASSIGNED).when(comment()).then(reply(30))
    assert t.state.status is TicketStatus.IN_PROGRESS
    assert t.state.first_response_at == at(30)
    later = reply(40, first=False, comment_id="c2")
    ticket(*IN_PROGRESS).when(comment(cid="c2", minutes=40)).then(later)


def test_an_internal_note_starts_the_work_but_is_no_response() -> None:
    t = (
        ticket(OPENED, ASSIGNED)
        .when(comment(public=False))
        .then(reply(30, first=False).model_copy(update={"public": False}))
    )
    assert t.state.status is TicketStatus.IN_PROGRESS
    assert t.state.first_response_at is None


def test_a_customer_comment_is_neither_response_nor_work() -> None:
    t = (
        ticket(OPENED, ASSIGNED)
        .when(comment(from_customer=True))
        .then(
            TicketCommented(
                customer_id=CUSTOMER,
                comment_id="c1",
                author_id="cust",
                from_customer=True,
                public=True,
                body="Still broken",
                commented_at=at(30),
            )
        )
    )
    assert t.state.status is TicketStatus.ASSIGNED
    error = (
        ticket(OPENED).when(comment(public=False, from_customer=True)).then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == "public"


def test_the_same_comment_again_records_nothing_and_closed_tickets_take_none() -> None:
    ticket(*IN_PROGRESS).when(comment()).then_nothing()
    error = ticket(*CLOSED).when(comment(cid="c9")).then_raises(RuleViolated, match="closed")
    assert code_of(error) == "ticket_closed"
    ticket(*RESOLVED).when(comment(cid="c9", from_customer=True)).then(
        TicketCommented(
            customer_id=CUSTOMER,
            comment_id="c9",
            author_id="cust",
            from_customer=True,
            public=True,
            body="Still broken",
            commented_at=at(30),
        )
    )


def test_link_knowledge_base_articles() -> None:
    t = (
        ticket(*IN_PROGRESS)
        .when(lambda t: t.link_kb_article("kb-7"))
        .then(KbArticleLinked(article_id="kb-7"))
    )
    assert t.state.kb_article_ids == ("kb-7",)
    ticket(*IN_PROGRESS, KbArticleLinked(article_id="kb-7")).when(
        lambda t: t.link_kb_article("kb-7")
    ).then_nothing()
    error = ticket(*CLOSED).when(lambda t: t.link_kb_article("kb-7")).then_raises(RuleViolated)
    assert code_of(error) == "ticket_closed"


# -- resolve, reopen, close ----------------------------------------------------------------------


def test_resolve_a_complaint_sets_its_follow_up() -> None:
    t = (
        ticket(*IN_PROGRESS)
        .when(lambda t: t.resolve(resolution="Firmware updated", now=at(120), kb_article_id="kb-7"))
        .then(resolved(120).model_copy(update={"kb_article_id": "kb-7"}))
    )
    assert t.state.status is TicketStatus.RESOLVED
    assert t.state.kb_article_ids == ("kb-7",)


def test_resolve_a_service_request_has_no_follow_up() -> None:
    ticket(opened(TicketKind.SERVICE_REQUEST), ASSIGNED).when(
        lambda t: t.resolve(resolution="Firmware updated", now=at(120))
    ).then(resolved(120, follow_up=False))


def test_only_an_assigned_ticket_is_resolved() -> None:
    def resolve(t: Ticket) -> None:
        t.resolve(resolution="done", now=at(10))

    assert code_of(ticket(OPENED).when(resolve).then_raises(RuleViolated)) == "ticket_not_assigned"
    assert code_of(ticket(*RESOLVED).when(resolve).then_raises(RuleViolated)) == "ticket_resolved"
    assert code_of(ticket(*CLOSED).when(resolve).then_raises(RuleViolated)) == "ticket_closed"


def reopen(minutes: float, window: timedelta | None = None) -> Callable[[Ticket], None]:
    if window is None:
        return lambda t: t.reopen(reason="still broken", now=at(minutes), calendar=ROUND_THE_CLOCK)
    return lambda t: t.reopen(
        reason="still broken", now=at(minutes), calendar=ROUND_THE_CLOCK, reopen_window=window
    )


def reopened(minutes: float, cycle: int = 1, **extra: object) -> TicketReopened:
    return TicketReopened(
        reason=str(extra.pop("reason", "still broken")),
        reopened_at=at(minutes),
        resolution_due=at(minutes + 480),
        cycle=cycle,
        **extra,
    )


def test_reopen_a_resolved_ticket_with_a_new_resolution_target() -> None:
    t = ticket(*RESOLVED).when(reopen(200)).then(reopened(200))
    assert t.state.status is TicketStatus.ASSIGNED
    assert t.state.follow_up_due_at is None  # the next resolution sets a new follow-up
    assert [r.due for r in t.state.resolutions] == [RESOLUTION_DUE, at(680)]


def test_reopen_a_closed_ticket_only_within_the_window() -> None:
    ticket(*CLOSED).when(reopen(180 + 7 * 24 * 60)).then(reopened(180 + 7 * 24 * 60))
    error = ticket(*CLOSED).when(reopen(181 + 7 * 24 * 60)).then_raises(RuleViolated)
    assert code_of(error) == "reopen_window_passed"
    ticket(*CLOSED).when(reopen(300, window=timedelta(minutes=60))).then_raises(
        RuleViolated, match="more than"
    )


def test_reopen_needs_the_ticket_s_calendar_and_a_finished_ticket() -> None:
    ticket(*RESOLVED).when(
        lambda t: t.reopen(reason="x", now=at(200), calendar=DEFAULT_CALENDAR)
    ).then_raises(InvalidCommand, match="calendar")
    assert code_of(ticket(*IN_PROGRESS).when(reopen(50)).then_raises(RuleViolated)) == (
        "ticket_in_progress"
    )


def test_close_a_resolved_ticket_only() -> None:
    t = ticket(*RESOLVED).when(lambda t: t.close(now=at(180))).then(TicketClosed(closed_at=at(180)))
    assert t.state.status is TicketStatus.CLOSED
    for history in ((OPENED,), (OPENED, ASSIGNED), IN_PROGRESS, CLOSED):
        error = ticket(*history).when(lambda t: t.close(now=at(200))).then_raises(RuleViolated)
        assert "cannot close" in str(error)


# -- every transition refused from every state it is not allowed in ------------------------------

STATES: dict[TicketStatus, tuple[DomainEvent, ...]] = {
    TicketStatus.NEW: (OPENED,),
    TicketStatus.ASSIGNED: (OPENED, ASSIGNED),
    TicketStatus.IN_PROGRESS: IN_PROGRESS,
    TicketStatus.RESOLVED: RESOLVED,
    TicketStatus.CLOSED: CLOSED,
}
COMMANDS: dict[str, tuple[Callable[[Ticket], None], set[TicketStatus]]] = {
    "assign": (lambda t: t.assign(agent_id="x"), {TicketStatus.NEW}),
    "reassign": (
        lambda t: t.reassign(agent_id="x"),
        {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS},
    ),
    "escalate": (
        lambda t: t.escalate(reason="r"),
        {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS},
    ),
    "comment": (comment(cid="new"), set(TicketStatus) - {TicketStatus.CLOSED}),
    "resolve": (
        lambda t: t.resolve(resolution="r", now=at(500)),
        {TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS},
    ),
    "reopen": (reopen(500), {TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    "close": (lambda t: t.close(now=at(500)), {TicketStatus.RESOLVED}),
}


@pytest.mark.parametrize("status", list(TicketStatus))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_transition_table(status: TicketStatus, name: str) -> None:
    command, allowed = COMMANDS[name]
    outcome = ticket(*STATES[status]).when(command)
    if status in allowed:
        assert outcome.error is None, outcome.error
        assert outcome.subject.changes
    else:
        error = outcome.then_raises(RuleViolated)
        assert str(error).startswith(f"ticket {TICKET_ID} is {status.value}; cannot ")
        assert code_of(error).startswith("ticket_")


# -- the SLA checks ------------------------------------------------------------------------------

WARN = timedelta(minutes=15)


def warning(target: SlaTarget, due: datetime, now: datetime, cycle: int = 0) -> SlaWarning:
    return SlaWarning(target=target, due_at=due, cycle=cycle, warned_at=now)


def breach(target: SlaTarget, due: datetime, now: datetime, cycle: int = 0) -> SlaBreached:
    return SlaBreached(target=target, due_at=due, cycle=cycle, detected_at=now)


FR, RES = SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION


def check(minutes: float) -> Callable[[Ticket], None]:
    return lambda t: t.check_sla(at(minutes), WARN)


def test_nothing_before_a_target_is_due_soon() -> None:
    ticket(OPENED).when(check(44)).then_nothing()


def test_warn_once_when_due_soon_then_breach_once_when_past_due() -> None:
    warned = ticket(OPENED).when(check(45)).then(warning(FR, FIRST_DUE, at(45)))
    ticket(OPENED, *warned.changes).when(check(50)).then_nothing()
    breached = ticket(OPENED, *warned.changes).when(check(60)).then(breach(FR, FIRST_DUE, at(60)))
    ticket(OPENED, *warned.changes, *breached.changes).when(check(61)).then_nothing()


def test_a_check_after_the_due_time_breaches_without_warning() -> None:
    ticket(OPENED).when(check(470)).then(
        breach(FR, FIRST_DUE, at(470)), warning(RES, RESOLUTION_DUE, at(470))
    )
    ticket(OPENED).when(check(600)).then(
        breach(FR, FIRST_DUE, at(600)), breach(RES, RESOLUTION_DUE, at(600))
    )


def test_a_scheduler_restarting_mid_way_never_repeats_a_warning_or_a_breach() -> None:
    """Each check runs on a ticket rebuilt from everything recorded so far, as a restarted
    scheduler would; the checks at 45, 45 again, 60, 60 again and 600 emit each fact once."""
    history: list[DomainEvent] = [OPENED]
    emitted: list[DomainEvent] = []
    for minutes in (45, 45, 60, 60, 470, 600, 600):
        t = Ticket.rehydrate(TICKET_ID, history, len(history) - 1)
        t.check_sla(at(minutes), WARN)
        history += t.changes
        emitted += t.changes
    assert emitted == [
        warning(FR, FIRST_DUE, at(45)),
        breach(FR, FIRST_DUE, at(60)),
        warning(RES, RESOLUTION_DUE, at(470)),
        breach(RES, RESOLUTION_DUE, at(600)),
    ]


def test_a_first_response_in_time_meets_the_target() -> None:
    ticket(*IN_PROGRESS).when(check(61)).then_nothing()


def test_a_target_met_late_without_a_check_in_between_is_still_breached() -> None:
    late_reply = (OPENED, ASSIGNED, reply(90))
    ticket(*late_reply).when(check(100)).then(breach(FR, FIRST_DUE, at(100)))


def test_resolving_meets_the_resolution_and_an_unanswered_first_response() -> None:
    quietly_resolved = (OPENED, ASSIGNED, resolved(30))
    ticket(*quietly_resolved).when(check(1000)).then_nothing()
    late = (OPENED, ASSIGNED, reply(30), resolved(500))
    ticket(*late).when(check(1000)).then(breach(RES, RESOLUTION_DUE, at(1000)))


def test_a_reopen_starts_a_new_resolution_target_with_its_own_breach() -> None:
    first_breach = breach(RES, RESOLUTION_DUE, at(600))
    history = (*IN_PROGRESS, resolved(500), first_breach, reopened(700))
    # cycle 1 is due at 700 + 480 = 1180
    ticket(*history).when(check(1170)).then(warning(RES, at(1180), at(1170), cycle=1))
    ticket(*history).when(check(1180)).then(breach(RES, at(1180), at(1180), cycle=1))
    ticket(*history, resolved(1000)).when(check(2000)).then_nothing()


def test_check_sla_refuses_a_negative_warning_or_naive_time() -> None:
    ticket(OPENED).when(lambda t: t.check_sla(T0, timedelta(minutes=-1))).then_raises(
        InvalidCommand, match="warn_before"
    )
    ticket(OPENED).when(lambda t: t.check_sla(datetime(2026, 1, 1), WARN)).then_raises(
        InvalidCommand
    )


# -- complaint follow-up -------------------------------------------------------------------------

RESOLVED_AT = at(120)
FOLLOW_UP_DUE = RESOLVED_AT + timedelta(days=3)


def follow_check(delta: timedelta) -> Callable[[Ticket], None]:
    return lambda t: t.check_follow_up(FOLLOW_UP_DUE + delta)


def test_remind_once_when_the_follow_up_is_due() -> None:
    ticket(*RESOLVED).when(follow_check(-timedelta(minutes=1))).then_nothing()
    now = FOLLOW_UP_DUE
    reminded = (
        ticket(*RESOLVED)
        .when(follow_check(timedelta(0)))
        .then(FollowUpDue(due_at=FOLLOW_UP_DUE, reminded_at=now))
    )
    ticket(*RESOLVED, *reminded.changes).when(follow_check(timedelta(days=1))).then_nothing()


def test_escalate_once_when_overdue_by_more_than_the_policy_s_days() -> None:
    reminded = FollowUpDue(due_at=FOLLOW_UP_DUE, reminded_at=FOLLOW_UP_DUE)
    ticket(*RESOLVED, reminded).when(follow_check(timedelta(days=2))).then_nothing()
    now = FOLLOW_UP_DUE + timedelta(days=2, seconds=1)
    escalated = FollowUpOverdueEscalated(due_at=FOLLOW_UP_DUE, escalated_at=now)
    ticket(*RESOLVED, reminded).when(follow_check(timedelta(days=2, seconds=1))).then(escalated)
    ticket(*RESOLVED, reminded, escalated).when(follow_check(timedelta(days=9))).then_nothing()


def test_a_late_check_reminds_and_escalates_at_once_and_closing_changes_nothing() -> None:
    now = FOLLOW_UP_DUE + timedelta(days=5)
    ticket(*CLOSED).when(follow_check(timedelta(days=5))).then(
        FollowUpDue(due_at=FOLLOW_UP_DUE, reminded_at=now),
        FollowUpOverdueEscalated(due_at=FOLLOW_UP_DUE, escalated_at=now),
    )


def test_record_the_follow_up_once_and_stop_reminding() -> None:
    recorded = FollowUpRecorded(
        customer_id=CUSTOMER, agent_id="agent-1", note="Called Mrs Lovelace", recorded_at=at(200)
    )
    ticket(*RESOLVED).when(
        lambda t: t.record_follow_up(note="Called Mrs Lovelace", agent_id="agent-1", now=at(200))
    ).then(recorded)
    ticket(*RESOLVED, recorded).when(follow_check(timedelta(days=30))).then_nothing()
    error = (
        ticket(*RESOLVED, recorded)
        .when(lambda t: t.record_follow_up(note="again", agent_id="agent-1", now=at(300)))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "follow_up_already_recorded"


def test_no_follow_up_for_other_kinds_unresolved_or_reopened_complaints() -> None:
    request = (opened(TicketKind.SERVICE_REQUEST), ASSIGNED, resolved(120, follow_up=False))
    ticket(*request).when(follow_check(timedelta(days=30))).then_nothing()
    ticket(*RESOLVED, reopened(200)).when(follow_check(timedelta(days=30))).then_nothing()
    for history in (request, IN_PROGRESS):
        error = (
            ticket(*history)
            .when(lambda t: t.record_follow_up(note="n", agent_id="a", now=at(200)))
            .then_raises(RuleViolated)
        )
        assert code_of(error) == "no_follow_up_due"


# -- satisfaction --------------------------------------------------------------------------------


def rate(score: int, minutes: float = 300, **options: object) -> Callable[[Ticket], None]:
    return lambda t: t.record_satisfaction(
        score=score,
        comment="Thanks",
        now=at(minutes),
        calendar=ROUND_THE_CLOCK,
        **options,  # type: ignore[arg-type]
    )


def satisfaction(score: int, minutes: float = 300) -> SatisfactionRecorded:
    return SatisfactionRecorded(
        customer_id=CUSTOMER, score=score, comment="Thanks", recorded_at=at(minutes)
    )


def test_record_satisfaction_once_after_resolution() -> None:
    ticket(*RESOLVED).when(rate(4)).then(satisfaction(4))
    ticket(*CLOSED).when(rate(5)).then(satisfaction(5))
    error = ticket(*RESOLVED, satisfaction(4)).when(rate(5)).then_raises(RuleViolated)
    assert code_of(error) == "satisfaction_already_recorded"
    error = ticket(*IN_PROGRESS).when(rate(5)).then_raises(RuleViolated)
    assert code_of(error) == "ticket_not_resolved"
    for score in (0, 6):
        ticket(*RESOLVED).when(rate(score)).then_raises(InvalidCommand, match="score")


def test_a_low_score_reopens_a_complaint_for_review_even_after_the_reopen_window() -> None:
    review = "satisfaction score 2 is at or below 2: review the complaint"
    t = (
        ticket(*RESOLVED)
        .when(rate(2))
        .then(satisfaction(2), reopened(300, reason=review, for_review=True))
    )
    assert t.state.status is TicketStatus.ASSIGNED
    long_after = 180 + 30 * 24 * 60
    ticket(*CLOSED).when(rate(1, long_after)).then(
        satisfaction(1, long_after),
        reopened(
            long_after,
            reason="satisfaction score 1 is at or below 2: review the complaint",
            for_review=True,
        ),
    )


def test_the_low_score_rule_is_configurable_and_only_for_complaints() -> None:
    ticket(*RESOLVED).when(rate(3)).then(satisfaction(3))
    ticket(*RESOLVED).when(rate(3, low_score=3)).then(
        satisfaction(3),
        reopened(
            300,
            reason="satisfaction score 3 is at or below 3: review the complaint",
            for_review=True,
        ),
    )
    ticket(*RESOLVED).when(rate(1, reopen_complaint_on_low_score=False)).then(satisfaction(1))
    request = (opened(TicketKind.SERVICE_REQUEST), ASSIGNED, resolved(120, follow_up=False))
    ticket(*request).when(rate(1)).then(satisfaction(1))


# -- personal data -------------------------------------------------------------------------------


async def test_ticket_personal_data_is_sealed_with_the_customer_s_key(codec: EventCodec) -> None:
    stream = f"ticket-{TICKET_ID}"
    meta = EventMetadata(tenant="t", actor="agent-1", correlation_id=uuid4())
    events: list[DomainEvent] = [OPENED, reply(30), satisfaction(4)]
    stored = await codec.encode(stream, events, meta, T0)
    subject = f"customer-{CUSTOMER}"
    for new, field in zip(stored, ("description", "body", "comment"), strict=True):
        assert new.payload[field].startswith(f"enc:v1:{subject}:")
    assert stored[0].payload["subject"] == "Router keeps rebooting"
    envelopes = [
        EventEnvelope(
            event_id=new.event_id,
            event_type=new.event_type,
            schema_version=new.schema_version,
            stream_id=stream,
            stream_version=i,
            position=i + 1,
            occurred_at=T0,
            recorded_at=T0,
            tenant="t",
            actor="agent-1",
            correlation_id=meta.correlation_id,
            causation_id=None,
            payload=new.payload,
        )
        for i, new in enumerate(stored)
    ]
    assert await codec.decode(envelopes) == events
    await codec.erase(subject)
    decoded = await codec.decode(envelopes)
    assert isinstance(decoded[0], TicketOpened)
    assert decoded[0].description == ERASED
    assert isinstance(decoded[1], TicketCommented)
    assert decoded[1].body == ERASED
    assert isinstance(decoded[2], SatisfactionRecorded)
    assert decoded[2].comment == ERASED
    assert decoded[0].subject == "Router keeps rebooting"
