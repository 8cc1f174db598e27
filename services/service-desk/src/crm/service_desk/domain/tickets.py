"""The ticket aggregate: a customer's request, complaint or inquiry, from opening to closing,
with its SLA targets, satisfaction score and, for a complaint, the follow-up.

Lifecycle::

    new --assign--> assigned --(first agent comment)--> in_progress --resolve--> resolved
    resolved --close--> closed
    resolved --reopen--> assigned (or new when nobody is assigned)
    closed --reopen, within the reopen window--> assigned

``in_progress`` has no event of its own: the first agent comment on an assigned ticket
implies it. A command not allowed in the current state raises
:class:`~crm.kernel.errors.RuleViolated` naming the state and the command, with a code
(``ticket_<status>`` or a more specific one) that the API answers with 409.

SLA. The targets are fixed when the ticket opens (see :mod:`crm.service_desk.domain.sla`).
The first response is met by the first *public agent* comment, or by the resolution if no
agent replied before (resolving answers the customer). The resolution is met by resolving.
A reopen starts a new resolution target counted from the reopen with the ticket's resolution
minutes: the customer waits again, and a breach of the first cycle must not hide or excuse
the second. Targets are numbered by ``cycle`` (0 the first, n after the n-th reopen), and
each ``(target, cycle)`` is warned at most once and breached at most once, which the state
remembers, so a scheduler that checks twice, or restarts mid-way, never repeats either.

The scheduler calls :meth:`Ticket.check_sla` and :meth:`Ticket.check_follow_up` with the
current time; they are pure functions of the events and ``now``. A target met *late* but
never checked in between is still reported as breached at the next check; a warning is only
given while the target is unmet and not yet due (warning about a missed target is noise).

Complaints. Resolving a complaint sets a follow-up due ``follow_up_days`` (from the policy)
after the resolution. :meth:`Ticket.check_follow_up` reminds once when it is due and not
recorded, and escalates once when it is overdue by more than ``follow_up_escalation_days``;
when both are late at one check it emits both, reminder first, as the agent still has to
call. A reopen cancels a pending follow-up: the next resolution sets a new one.

Satisfaction is recorded once per ticket, after resolution. A score at or below the
threshold on a complaint reopens it for review (``reopened`` with ``for_review``), from
``closed`` too, whatever the reopen window: the customer is unhappy now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Self

from crm.events import DomainEvent
from crm.events.service_desk import (
    AppliedSla,
    FollowUpDue,
    FollowUpOverdueEscalated,
    FollowUpRecorded,
    KbArticleLinked,
    SatisfactionRecorded,
    SlaBreached,
    SlaTarget,
    SlaWarning,
    TicketAssigned,
    TicketChannel,
    TicketClosed,
    TicketCommented,
    TicketCustomFieldsChanged,
    TicketEscalated,
    TicketKind,
    TicketOpened,
    TicketPriority,
    TicketReassigned,
    TicketReopened,
    TicketResolved,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.custom_fields import CheckedValues, held_values
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.calendar import BusinessCalendar
from crm.service_desk.domain.checks import MAX_BODY, aware, optional_text, required_text
from crm.service_desk.domain.sla import SlaPolicyTerms, apply_sla

MAX_TIER = 3
DEFAULT_REOPEN_WINDOW = timedelta(days=7)
"""How long after closing a customer can still have a ticket reopened."""
DEFAULT_LOW_SCORE = 2
"""Scores at or below this reopen a complaint for review."""


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


WORKING = (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS)
DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class ResolutionTarget:
    """One resolution cycle: when it was due and when (if) it was met."""

    due: datetime
    met_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketState:
    opened: TicketOpened | None = None
    status: TicketStatus = TicketStatus.NEW
    agent_id: str | None = None
    group_id: str | None = None
    tier: int = 1
    escalated_to_manager: bool = False
    comment_ids: frozenset[str] = frozenset()
    kb_article_ids: tuple[str, ...] = ()
    first_response_at: datetime | None = None
    resolutions: tuple[ResolutionTarget, ...] = ()
    resolution: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    warned: frozenset[tuple[SlaTarget, int]] = frozenset()
    breached: frozenset[tuple[SlaTarget, int]] = frozenset()
    satisfaction: int | None = None
    follow_up_due_at: datetime | None = None
    follow_up_reminded: bool = False
    follow_up_escalated: bool = False
    follow_up_recorded: bool = False
    custom: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The values of the custom fields that are not personal data, by key."""
    custom_personal: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The personal ones (none once the customer is erased: they read as erased)."""

    @property
    def custom_values(self) -> dict[str, Any]:
        return {**self.custom, **self.custom_personal}

    @property
    def sla(self) -> AppliedSla:
        assert self.opened is not None
        return self.opened.sla

    @property
    def is_complaint(self) -> bool:
        return self.opened is not None and self.opened.kind is TicketKind.COMPLAINT

    @property
    def cycle(self) -> int:
        """The current resolution cycle."""
        return len(self.resolutions) - 1

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case TicketOpened():
                return replace(
                    self,
                    opened=event,
                    resolutions=(ResolutionTarget(event.sla.resolution_due),),
                    **held_values(event.custom, event.custom_personal),
                )
            case TicketCustomFieldsChanged():
                return replace(self, **held_values(event.custom, event.custom_personal))
            case TicketAssigned() | TicketReassigned():
                status = TicketStatus.ASSIGNED if self.status is TicketStatus.NEW else self.status
                return replace(
                    self, agent_id=event.agent_id, group_id=event.group_id, status=status
                )
            case TicketEscalated():
                return replace(
                    self,
                    tier=event.tier,
                    escalated_to_manager=self.escalated_to_manager or event.to_manager,
                )
            case TicketCommented():
                return self._commented(event)
            case KbArticleLinked():
                return replace(self, kb_article_ids=(*self.kb_article_ids, event.article_id))
            case TicketResolved():
                return self._resolved(event)
            case TicketReopened():
                return replace(
                    self,
                    status=TicketStatus.ASSIGNED
                    if self.agent_id or self.group_id
                    else TicketStatus.NEW,
                    resolutions=(*self.resolutions, ResolutionTarget(event.resolution_due)),
                    resolution=None,
                    resolved_at=None,
                    closed_at=None,
                    follow_up_due_at=None,
                    follow_up_reminded=False,
                    follow_up_escalated=False,
                    follow_up_recorded=False,
                )
            case TicketClosed():
                return replace(self, status=TicketStatus.CLOSED, closed_at=event.closed_at)
            case SlaWarning():
                return replace(self, warned=self.warned | {(event.target, event.cycle)})
            case SlaBreached():
                return replace(self, breached=self.breached | {(event.target, event.cycle)})
            case SatisfactionRecorded():
                return replace(self, satisfaction=event.score)
            case FollowUpDue():
                return replace(self, follow_up_reminded=True)
            case FollowUpOverdueEscalated():
                return replace(self, follow_up_escalated=True)
            case FollowUpRecorded():
                return replace(self, follow_up_recorded=True)
        return self

    def _commented(self, event: TicketCommented) -> Self:
        state = replace(self, comment_ids=self.comment_ids | {event.comment_id})
        if event.from_customer:
            return state
        if event.first_response:
            state = replace(state, first_response_at=event.commented_at)
        if state.status is TicketStatus.ASSIGNED:
            state = replace(state, status=TicketStatus.IN_PROGRESS)
        return state

    def _resolved(self, event: TicketResolved) -> Self:
        *earlier, current = self.resolutions
        articles = self.kb_article_ids
        if event.kb_article_id is not None and event.kb_article_id not in articles:
            articles = (*articles, event.kb_article_id)
        return replace(
            self,
            status=TicketStatus.RESOLVED,
            resolution=event.resolution,
            resolved_at=event.resolved_at,
            resolutions=(*earlier, replace(current, met_at=event.resolved_at)),
            first_response_at=self.first_response_at or event.resolved_at,
            kb_article_ids=articles,
            follow_up_due_at=event.follow_up_due_at,
        )


class Ticket(Aggregate[TicketState]):
    category = "ticket"

    @classmethod
    def initial_state(cls) -> TicketState:
        return TicketState()

    def _require_opened(self) -> TicketState:
        if self.state.opened is None:
            raise NotFound(f"ticket {self.id} does not exist")
        return self.state

    def _refuse(self, doing: str, status: TicketStatus, *, code: str | None = None) -> RuleViolated:
        return RuleViolated(
            f"ticket {self.id} is {status.value}; cannot {doing} it",
            code=code or f"ticket_{status.value}",
        )

    def check_visit_bookable(self) -> None:
        """A visit may be booked (or moved) for a ticket being worked or resolved (a visit
        after the resolution, to check a repair or follow up a complaint, is legitimate),
        never for a closed one: it is reopened first. A 409 ``ticket_closed``."""
        state = self._require_opened()
        if state.status is TicketStatus.CLOSED:
            raise RuleViolated(
                f"ticket {self.id} is closed; reopen it before booking a visit for it",
                code="ticket_closed",
            )

    def _require_status(self, doing: str, *allowed: TicketStatus) -> TicketState:
        state = self._require_opened()
        if state.status not in allowed:
            raise self._refuse(doing, state.status)
        return state

    def _same_calendar(self, calendar: BusinessCalendar) -> BusinessCalendar:
        if calendar.id != self.state.sla.calendar_id:
            raise InvalidCommand(
                "calendar", f"ticket {self.id} counts in calendar {self.state.sla.calendar_id}"
            )
        return calendar

    # -- commands ----------------------------------------------------------------------------

    def open(
        self,
        *,
        customer_id: str,
        kind: TicketKind,
        channel: TicketChannel,
        priority: TicketPriority,
        subject: str,
        description: str,
        now: datetime,
        policy: SlaPolicyTerms,
        calendar: BusinessCalendar,
        custom: CheckedValues | None = None,
    ) -> None:
        """Open with the targets of ``policy`` (chosen by the customer's contract level, see
        :func:`~crm.service_desk.domain.sla.select_policy`) counted in ``calendar``;
        ``custom``: its custom values, already checked against the tenant's definitions."""
        if self.state.opened is not None:
            raise RuleViolated(f"ticket {self.id} already exists", code="already_exists")
        aware(now)
        self.trigger(
            TicketOpened(
                customer_id=required_text(customer_id, "customer_id"),
                kind=kind,
                channel=channel,
                priority=priority,
                subject=required_text(subject, "subject"),
                description=required_text(description, "description", max_length=MAX_BODY),
                opened_at=now,
                sla=apply_sla(policy, priority, now, calendar),
                custom=custom.public if custom else {},
                custom_personal=custom.personal_json if custom else None,
            )
        )

    def change_custom(self, custom: CheckedValues) -> None:
        """``custom``: all the custom values after the edit, checked against the tenant's
        definitions and laid over :attr:`TicketState.custom_values`; the same values again
        record nothing. A closed ticket is reopened first (409 ``ticket_closed``)."""
        state = self._require_opened()
        assert state.opened is not None
        if state.status is TicketStatus.CLOSED:
            raise RuleViolated(
                f"ticket {self.id} is closed; reopen it before changing its custom fields",
                code="ticket_closed",
            )
        changed = custom.changed_from(state.custom_values)
        if not changed:
            return
        self.trigger(
            TicketCustomFieldsChanged(
                customer_id=state.opened.customer_id,
                custom=custom.public,
                custom_personal=custom.personal_json,
                changed=changed,
            )
        )

    @staticmethod
    def _assignee(agent_id: str | None, group_id: str | None) -> tuple[str | None, str | None]:
        agent = optional_text(agent_id, "agent_id")
        group = optional_text(group_id, "group_id")
        if agent is None and group is None:
            raise InvalidCommand("agent_id", "an agent or a group is required")
        return agent, group

    def assign(self, *, agent_id: str | None = None, group_id: str | None = None) -> None:
        """The first assignment, of a new ticket; later ones are :meth:`reassign`."""
        agent, group = self._assignee(agent_id, group_id)
        state = self._require_opened()
        if state.status is not TicketStatus.NEW:
            code = "ticket_already_assigned" if state.status in WORKING else None
            raise self._refuse("assign", state.status, code=code)
        self.trigger(TicketAssigned(agent_id=agent, group_id=group))

    def reassign(
        self, *, agent_id: str | None = None, group_id: str | None = None, reason: str | None = None
    ) -> None:
        """To someone else while it is worked on; to the same assignee: nothing."""
        agent, group = self._assignee(agent_id, group_id)
        state = self._require_opened()
        if state.status is TicketStatus.NEW:
            raise self._refuse("reassign", state.status, code="ticket_not_assigned")
        if state.status not in WORKING:
            raise self._refuse("reassign", state.status)
        if (agent, group) == (state.agent_id, state.group_id):
            return
        self.trigger(
            TicketReassigned(
                agent_id=agent,
                group_id=group,
                previous_agent_id=state.agent_id,
                previous_group_id=state.group_id,
                reason=optional_text(reason, "reason", max_length=500),
            )
        )

    def escalate(
        self, *, reason: str, to_manager: bool = False, manager_id: str | None = None
    ) -> None:
        """Up one support tier (at most :data:`MAX_TIER`), or to a manager (once)."""
        state = self._require_status("escalate", *WORKING)
        why = required_text(reason, "reason", max_length=500)
        if to_manager:
            if state.escalated_to_manager:
                raise RuleViolated(
                    f"ticket {self.id} is already escalated to a manager",
                    code="already_escalated_to_manager",
                )
            tier = state.tier
        else:
            if state.tier >= MAX_TIER:
                raise RuleViolated(
                    f"ticket {self.id} is at tier {state.tier}, the highest; escalate it to a "
                    "manager instead",
                    code="ticket_at_max_tier",
                )
            tier = state.tier + 1
        self.trigger(
            TicketEscalated(
                tier=tier,
                previous_tier=state.tier,
                to_manager=to_manager,
                manager_id=optional_text(manager_id, "manager_id") if to_manager else None,
                reason=why,
            )
        )

    def comment(
        self,
        *,
        comment_id: str,
        author_id: str,
        body: str,
        public: bool,
        now: datetime,
        from_customer: bool = False,
    ) -> None:
        """A public reply or an internal note (agents only); refused on a closed ticket. The
        same ``comment_id`` again records nothing, so a retried request adds no duplicate."""
        state = self._require_opened()
        if state.status is TicketStatus.CLOSED:
            raise self._refuse("comment on", state.status)
        cid = required_text(comment_id, "comment_id")
        if cid in state.comment_ids:
            return
        if from_customer and not public:
            raise InvalidCommand("public", "a customer's comment is always public")
        aware(now)
        first = public and not from_customer and state.first_response_at is None
        assert state.opened is not None
        self.trigger(
            TicketCommented(
                customer_id=state.opened.customer_id,
                comment_id=cid,
                author_id=required_text(author_id, "author_id"),
                from_customer=from_customer,
                public=public,
                body=required_text(body, "body", max_length=MAX_BODY),
                commented_at=now,
                first_response=first,
            )
        )

    def link_kb_article(self, article_id: str) -> None:
        """Link a knowledge-base article; linking it again records nothing."""
        state = self._require_opened()
        if state.status is TicketStatus.CLOSED:
            raise self._refuse("link an article to", state.status)
        article = required_text(article_id, "article_id")
        if article in state.kb_article_ids:
            return
        self.trigger(KbArticleLinked(article_id=article))

    def resolve(self, *, resolution: str, now: datetime, kb_article_id: str | None = None) -> None:
        """Resolve an assigned ticket (a new one must be assigned first). A complaint's
        follow-up falls due ``follow_up_days`` later."""
        state = self._require_opened()
        if state.status is TicketStatus.NEW:
            raise self._refuse("resolve", state.status, code="ticket_not_assigned")
        if state.status not in WORKING:
            raise self._refuse("resolve", state.status)
        aware(now)
        follow_up = now + timedelta(days=state.sla.follow_up_days) if state.is_complaint else None
        self.trigger(
            TicketResolved(
                resolution=required_text(resolution, "resolution", max_length=MAX_BODY),
                resolved_at=now,
                kb_article_id=optional_text(kb_article_id, "kb_article_id"),
                follow_up_due_at=follow_up,
            )
        )

    def _reopened(
        self, reason: str, now: datetime, calendar: BusinessCalendar, *, for_review: bool
    ) -> TicketReopened:
        return TicketReopened(
            reason=reason,
            reopened_at=now,
            resolution_due=self._same_calendar(calendar).add(
                now, self.state.sla.resolution_minutes
            ),
            cycle=self.state.cycle + 1,
            for_review=for_review,
        )

    def reopen(
        self,
        *,
        reason: str,
        now: datetime,
        calendar: BusinessCalendar,
        reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    ) -> None:
        """Reopen a resolved ticket, or a closed one up to ``reopen_window`` after closing.
        ``calendar`` is the ticket's (it counts the new resolution target)."""
        state = self._require_status("reopen", *DONE)
        aware(now)
        why = required_text(reason, "reason", max_length=500)
        if state.status is TicketStatus.CLOSED:
            assert state.closed_at is not None
            if now - state.closed_at > reopen_window:
                raise RuleViolated(
                    f"ticket {self.id} was closed at {state.closed_at.isoformat()}, more than "
                    f"{reopen_window} ago; open a new ticket",
                    code="reopen_window_passed",
                )
        self.trigger(self._reopened(why, now, calendar, for_review=False))

    def close(self, *, now: datetime) -> None:
        """Only a resolved ticket is closed. A complaint's pending follow-up stays due."""
        self._require_status("close", TicketStatus.RESOLVED)
        self.trigger(TicketClosed(closed_at=aware(now)))

    def record_satisfaction(
        self,
        *,
        score: int,
        now: datetime,
        calendar: BusinessCalendar,
        comment: str | None = None,
        low_score: int = DEFAULT_LOW_SCORE,
        reopen_complaint_on_low_score: bool = True,
    ) -> None:
        """Once per ticket, when it is resolved or closed. A complaint scored at or below
        ``low_score`` is reopened for review (if ``reopen_complaint_on_low_score``)."""
        state = self._require_opened()
        if state.satisfaction is not None:
            raise RuleViolated(
                f"ticket {self.id} already has a satisfaction score ({state.satisfaction})",
                code="satisfaction_already_recorded",
            )
        if state.status not in DONE:
            raise self._refuse("record satisfaction for", state.status, code="ticket_not_resolved")
        if not 1 <= score <= 5:
            raise InvalidCommand("score", "must be from 1 to 5")
        aware(now)
        assert state.opened is not None
        self.trigger(
            SatisfactionRecorded(
                customer_id=state.opened.customer_id,
                score=score,
                comment=optional_text(comment, "comment", max_length=MAX_BODY),
                recorded_at=now,
            )
        )
        if reopen_complaint_on_low_score and state.is_complaint and score <= low_score:
            reason = f"satisfaction score {score} is at or below {low_score}: review the complaint"
            self.trigger(self._reopened(reason, now, calendar, for_review=True))

    # -- the scheduler's checks ----------------------------------------------------------------

    def check_sla(self, now: datetime, warn_before: timedelta) -> None:
        """Warn about targets due within ``warn_before`` and report breached ones, each at most
        once per target and cycle. Safe to call as often as the scheduler likes."""
        state = self._require_opened()
        aware(now)
        if warn_before < timedelta(0):
            raise InvalidCommand("warn_before", "must not be negative")
        targets = [
            (SlaTarget.FIRST_RESPONSE, 0, state.sla.first_response_due, state.first_response_at)
        ]
        targets += [
            (SlaTarget.RESOLUTION, cycle, t.due, t.met_at)
            for cycle, t in enumerate(state.resolutions)
        ]
        for target, cycle, due, met_at in targets:
            key = (target, cycle)
            if key in state.breached:
                continue
            late = met_at > due if met_at is not None else now >= due
            if late:
                self.trigger(SlaBreached(target=target, due_at=due, cycle=cycle, detected_at=now))
            elif met_at is None and now >= due - warn_before and key not in state.warned:
                self.trigger(SlaWarning(target=target, due_at=due, cycle=cycle, warned_at=now))

    def check_follow_up(self, now: datetime) -> None:
        """For a resolved complaint whose follow-up is not recorded: remind once when it is
        due, escalate once when overdue by more than ``follow_up_escalation_days``."""
        state = self._require_opened()
        aware(now)
        due = state.follow_up_due_at
        if due is None or state.follow_up_recorded:
            return
        if now >= due and not state.follow_up_reminded:
            self.trigger(FollowUpDue(due_at=due, reminded_at=now))
        overdue = timedelta(days=state.sla.follow_up_escalation_days)
        if now > due + overdue and not state.follow_up_escalated:
            self.trigger(FollowUpOverdueEscalated(due_at=due, escalated_at=now))

    def record_follow_up(self, *, note: str, agent_id: str, now: datetime) -> None:
        """Record that the customer of a resolved complaint was followed up (early is fine)."""
        state = self._require_opened()
        if state.follow_up_recorded:
            raise RuleViolated(
                f"the follow-up of ticket {self.id} is already recorded",
                code="follow_up_already_recorded",
            )
        if state.follow_up_due_at is None:
            raise RuleViolated(
                f"ticket {self.id} has no follow-up due: only a resolved complaint has one",
                code="no_follow_up_due",
            )
        assert state.opened is not None
        self.trigger(
            FollowUpRecorded(
                customer_id=state.opened.customer_id,
                agent_id=required_text(agent_id, "agent_id"),
                note=required_text(note, "note", max_length=MAX_BODY),
                recorded_at=aware(now),
            )
        )
