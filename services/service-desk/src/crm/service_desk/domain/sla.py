"""SLA policies: first-response and resolution targets per priority, in business minutes of a
calendar, selected by the customer's contract level.

A tenant has one policy per contract level and one default policy, each its own stream
(``slapolicy-<tenant>:<level>``, ``slapolicy-<tenant>:default``, see
:mod:`~crm.service_desk.domain.tenancy`): the stream id *is* the tenant and level, so two
policies can never claim the same level of a tenant, selection needs no tie-break, and each
tenant defines its own ``premium``. The policy's id as users see it (:func:`policy_id_for`,
:attr:`SlaPolicyTerms.id`, a ticket's ``policy_id``) is the level alone. Selection
(:func:`select_policy`): the policy of the customer's contract level, else the tenant's
default policy, else :data:`DEFAULT_POLICY` (built in, so a ticket can always be opened).

When a ticket opens, :func:`apply_sla` computes its due times with the policy's calendar and
the ticket keeps them (:class:`~crm.events.service_desk.AppliedSla`): revising a policy
changes the targets of tickets opened afterwards, never of tickets already open. Retiring
one (:meth:`SlaPolicy.retire`) likewise: tickets opened under it keep its targets, new
tickets of its level get the default policy; a tenant's last policy is not retired.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from crm.events import DomainEvent
from crm.events.service_desk import (
    AppliedSla,
    ContractLevel,
    PriorityTargets,
    SlaPolicyDefined,
    SlaPolicyRetired,
    SlaPolicyRevised,
    TicketPriority,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.calendar import DEFAULT_CALENDAR_ID, BusinessCalendar
from crm.service_desk.domain.checks import aware, required_text
from crm.service_desk.domain.tenancy import local_id, qualified

DEFAULT_POLICY_ID = "default"
DEFAULT_FOLLOW_UP_DAYS = 3
DEFAULT_FOLLOW_UP_ESCALATION_DAYS = 2
MAX_TARGET_MINUTES = 366 * 24 * 60
"""The longest target a policy may set: a (leap) year's worth of minutes, more than any
calendar can hold in business minutes of one year; a longer one is a 422 naming it."""


def policy_id_for(level: ContractLevel | None) -> str:
    """The id (and stream) of the policy serving ``level``; None: the default policy."""
    return DEFAULT_POLICY_ID if level is None else level.value


def policy_aggregate_id(tenant: str, level: ContractLevel | None) -> str:
    """The id of the :class:`SlaPolicy` aggregate of ``tenant``'s policy for ``level``."""
    return qualified(tenant, policy_id_for(level))


@dataclass(frozen=True, slots=True)
class SlaPolicyTerms:
    """A policy as tickets use it: targets per priority and the calendar they count in."""

    id: str
    name: str
    level: ContractLevel | None
    targets: Mapping[TicketPriority, PriorityTargets]
    calendar_id: str
    follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS
    follow_up_escalation_days: int = DEFAULT_FOLLOW_UP_ESCALATION_DAYS
    revision: int = 1


def _targets(minutes: Mapping[TicketPriority, tuple[int, int]]) -> tuple[PriorityTargets, ...]:
    """All four priorities, each with its first response due no later than its resolution."""
    missing = [p.value for p in TicketPriority if p not in minutes]
    if missing:
        raise InvalidCommand("targets", f"missing priorities: {', '.join(missing)}")
    result = []
    for priority in TicketPriority:
        first, resolution = minutes[priority]
        if first <= 0 or resolution <= 0:
            raise InvalidCommand(f"targets.{priority.value}", "minutes must be positive")
        if max(first, resolution) > MAX_TARGET_MINUTES:
            raise InvalidCommand(
                f"targets.{priority.value}", f"at most {MAX_TARGET_MINUTES} minutes (a year)"
            )
        if first > resolution:
            raise InvalidCommand(
                f"targets.{priority.value}", "first response is due after the resolution"
            )
        result.append(
            PriorityTargets(
                priority=priority, first_response_minutes=first, resolution_minutes=resolution
            )
        )
    return tuple(result)


DEFAULT_POLICY = SlaPolicyTerms(
    id=DEFAULT_POLICY_ID,
    name="Built-in default",
    level=None,
    targets={
        t.priority: t
        for t in _targets(
            {
                TicketPriority.URGENT: (30, 4 * 60),
                TicketPriority.HIGH: (60, 8 * 60),
                TicketPriority.NORMAL: (4 * 60, 3 * 8 * 60),
                TicketPriority.LOW: (8 * 60, 5 * 8 * 60),
            }
        )
    },
    calendar_id=DEFAULT_CALENDAR_ID,
)
"""Used when the tenant defined no policy for the customer's level and no default policy."""


def select_policy(
    policies: Mapping[str, SlaPolicyTerms], level: ContractLevel | None
) -> SlaPolicyTerms:
    """The policy for a customer whose contract level is ``level`` (None: no contract).
    ``policies`` maps policy id to terms, as :meth:`SlaPolicy.terms` gives them."""
    if level is not None and level.value in policies:
        return policies[level.value]
    return policies.get(DEFAULT_POLICY_ID, DEFAULT_POLICY)


def apply_sla(
    policy: SlaPolicyTerms,
    priority: TicketPriority,
    opened_at: datetime,
    calendar: BusinessCalendar,
) -> AppliedSla:
    """The targets a ticket of ``priority`` opened at ``opened_at`` gets, with due times
    counted in ``calendar`` (which must be the policy's)."""
    aware(opened_at, "opened_at")
    if calendar.id != policy.calendar_id:
        raise InvalidCommand(
            "calendar", f"policy {policy.id} counts in calendar {policy.calendar_id}"
        )
    targets = policy.targets[priority]
    return AppliedSla(
        policy_id=policy.id,
        policy_name=policy.name,
        level=policy.level,
        calendar_id=policy.calendar_id,
        first_response_minutes=targets.first_response_minutes,
        resolution_minutes=targets.resolution_minutes,
        first_response_due=calendar.add(opened_at, targets.first_response_minutes),
        resolution_due=calendar.add(opened_at, targets.resolution_minutes),
        follow_up_days=policy.follow_up_days,
        follow_up_escalation_days=policy.follow_up_escalation_days,
    )


# -- the aggregate -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlaPolicyState:
    terms: SlaPolicyDefined | SlaPolicyRevised | None = None
    revision: int = 0
    retired: bool = False

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case SlaPolicyDefined():  # the first definition, or a new one after retirement
                return replace(self, terms=event, revision=1, retired=False)
            case SlaPolicyRevised():
                return replace(self, terms=event, revision=self.revision + 1)
            case SlaPolicyRetired():
                return replace(self, retired=True)
        return self

    @property
    def in_force(self) -> bool:
        """Defined and not retired: the policy new tickets of its level get."""
        return self.terms is not None and not self.retired


class SlaPolicy(Aggregate[SlaPolicyState]):
    """A tenant's SLA policy of one contract level (id ``<tenant>:<level>``) or its default
    policy (id ``<tenant>:default``); see :func:`policy_aggregate_id`."""

    category = "slapolicy"

    @classmethod
    def initial_state(cls) -> SlaPolicyState:
        return SlaPolicyState()

    @property
    def policy_id(self) -> str:
        """The id users see: the level, or ``default``."""
        return local_id(self.id)

    @property
    def level(self) -> ContractLevel | None:
        if self.policy_id == DEFAULT_POLICY_ID:
            return None
        try:
            return ContractLevel(self.policy_id)
        except ValueError:
            raise InvalidCommand(
                "level",
                f"{self.policy_id!r} is not a contract level "
                f"({', '.join(lv.value for lv in ContractLevel)}) nor {DEFAULT_POLICY_ID!r}",
            ) from None

    def _fields(
        self,
        name: str,
        targets: Mapping[TicketPriority, tuple[int, int]],
        calendar_id: str,
        follow_up_days: int,
        follow_up_escalation_days: int,
    ) -> dict[str, object]:
        if follow_up_days < 1:
            raise InvalidCommand("follow_up_days", "at least 1")
        if follow_up_escalation_days < 0:
            raise InvalidCommand("follow_up_escalation_days", "must not be negative")
        return {
            "name": required_text(name, "name"),
            "level": self.level,
            "targets": _targets(targets),
            "calendar_id": required_text(calendar_id, "calendar_id"),
            "follow_up_days": follow_up_days,
            "follow_up_escalation_days": follow_up_escalation_days,
        }

    def define(
        self,
        *,
        name: str,
        targets: Mapping[TicketPriority, tuple[int, int]],
        calendar_id: str,
        follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS,
        follow_up_escalation_days: int = DEFAULT_FOLLOW_UP_ESCALATION_DAYS,
    ) -> None:
        """``targets``: per priority, (first response, resolution) in business minutes. The
        same definition again records nothing; a different one must be a revision. A retired
        policy is defined anew (its revisions start again at 1)."""
        event = SlaPolicyDefined.model_validate(
            self._fields(name, targets, calendar_id, follow_up_days, follow_up_escalation_days)
        )
        current = self.state.terms
        if current is not None and not self.state.retired:
            if isinstance(current, SlaPolicyDefined) and current == event:
                return
            raise RuleViolated(
                f"SLA policy {self.policy_id} is already defined; revise it", code="policy_exists"
            )
        self.trigger(event)

    def revise(
        self,
        *,
        name: str,
        targets: Mapping[TicketPriority, tuple[int, int]],
        calendar_id: str,
        follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS,
        follow_up_escalation_days: int = DEFAULT_FOLLOW_UP_ESCALATION_DAYS,
    ) -> None:
        """Replace the whole policy; unchanged terms record nothing. Applies to tickets opened
        from now on."""
        current = self.state.terms
        if current is None or self.state.retired:
            raise NotFound(f"SLA policy {self.policy_id} does not exist")
        fields = self._fields(name, targets, calendar_id, follow_up_days, follow_up_escalation_days)
        same = all(getattr(current, k) == v for k, v in fields.items())
        if same:
            return
        self.trigger(
            SlaPolicyRevised.model_validate({**fields, "revision": self.state.revision + 1})
        )

    def retire(self, *, others_in_force: int) -> None:
        """Stop applying the policy to new tickets; ``others_in_force``: how many other
        policies of the tenant are in force (the last one is not retired, so the tenant's
        own terms never silently fall back to the built-in ones). Retiring a retired policy
        records nothing."""
        if self.state.terms is None:
            raise NotFound(f"SLA policy {self.policy_id} does not exist")
        if self.state.retired:
            return
        if others_in_force < 1:
            raise RuleViolated(
                f"SLA policy {self.policy_id} is the tenant's last policy: define another "
                "before retiring it",
                code="last_policy",
            )
        self.trigger(SlaPolicyRetired())

    def terms(self) -> SlaPolicyTerms:
        current = self.state.terms
        if current is None or self.state.retired:
            raise NotFound(f"SLA policy {self.policy_id} does not exist")
        return terms_of(self.policy_id, current, self.state.revision)


def terms_of(
    policy_id: str, event: SlaPolicyDefined | SlaPolicyRevised, revision: int = 1
) -> SlaPolicyTerms:
    """The terms an event states (a read model can build :func:`select_policy`'s input)."""
    return SlaPolicyTerms(
        id=policy_id,
        name=event.name,
        level=event.level,
        targets={t.priority: t for t in event.targets},
        calendar_id=event.calendar_id,
        follow_up_days=event.follow_up_days,
        follow_up_escalation_days=event.follow_up_escalation_days,
        revision=event.revision if isinstance(event, SlaPolicyRevised) else revision,
    )


def policies_by_id(policies: Iterable[SlaPolicyTerms]) -> dict[str, SlaPolicyTerms]:
    return {p.id: p for p in policies}
