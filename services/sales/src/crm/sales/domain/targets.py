"""Sales targets: one aggregate per tenant, owner (a rep or a team) and period (a month or a
quarter), stream ``target-<tenant>:<rep|team>-<owner id>-<period>``, so two managers setting
the same target race on one stream version instead of creating two targets.

Stream ids are global to the event store while owner ids are the tenant's own, so the id is
qualified by the tenant (:mod:`crm.kernel.tenancy`): two tenants' rep ``r1`` each have their
own target for ``2026-Q1``. Events, read models and routes show the local id
(``rep-r1-2026-Q1``, :func:`local_target_id`)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales import TargetOwnerKind, TargetRevised, TargetSet
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.kernel.tenancy import local_id, qualified
from crm.sales.domain.checks import optional_text, positive, required_text

_PERIOD = re.compile(r"^(?P<year>\d{4})-(?:(?P<month>\d{2})|Q(?P<quarter>\d))$")


class PeriodUnit(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month (``2026-11``) or quarter (``2026-Q4``)."""

    year: int
    unit: PeriodUnit
    number: int

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Self:
        match = _PERIOD.match(text.strip())
        if match is None:
            raise InvalidCommand(
                field, f"{text!r} is neither a month (2026-11) nor a quarter (2026-Q4)"
            )
        year = int(match["year"])
        if year < 2000:
            raise InvalidCommand(field, "the year must be 2000 or later")
        if match["month"] is not None:
            month = int(match["month"])
            if not 1 <= month <= 12:
                raise InvalidCommand(field, f"there is no month {month}")
            return cls(year, PeriodUnit.MONTH, month)
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4:
            raise InvalidCommand(field, f"there is no quarter {quarter}")
        return cls(year, PeriodUnit.QUARTER, quarter)

    @property
    def first_day(self) -> date:
        month = self.number if self.unit is PeriodUnit.MONTH else 3 * self.number - 2
        return date(self.year, month, 1)

    @property
    def last_day(self) -> date:
        month = self.number if self.unit is PeriodUnit.MONTH else 3 * self.number
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first_day <= day <= self.last_day

    def __str__(self) -> str:
        if self.unit is PeriodUnit.MONTH:
            return f"{self.year:04d}-{self.number:02d}"
        return f"{self.year:04d}-Q{self.number}"


def local_target_id(owner_kind: TargetOwnerKind, owner_id: str, period: Period) -> str:
    """The id a tenant knows an owner's target for a period by (``rep-alice-2026-Q1``)."""
    return f"{owner_kind.value}-{owner_id}-{period}"


def target_id(tenant: str, owner_kind: TargetOwnerKind, owner_id: str, period: Period) -> str:
    """The one aggregate id of ``tenant``'s target of an owner for a period."""
    return qualified(tenant, local_target_id(owner_kind, owner_id, period))


@dataclass(frozen=True, slots=True)
class TargetState:
    owner_kind: TargetOwnerKind | None = None
    owner_id: str = ""
    period: str = ""
    amount: Money | None = None
    team_id: str | None = None
    """The team it belongs to (see :class:`~crm.events.sales.TargetSet`)."""

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case TargetSet():
                return replace(
                    self,
                    owner_kind=event.owner_kind,
                    owner_id=event.owner_id,
                    period=event.period,
                    amount=event.amount,
                    team_id=event.team_id
                    if event.team_id is not None or event.owner_kind is not TargetOwnerKind.TEAM
                    else event.owner_id,
                )
            case TargetRevised():
                return replace(self, amount=event.amount)
        return self


class Target(Aggregate[TargetState]):
    category = "target"

    @classmethod
    def initial_state(cls) -> TargetState:
        return TargetState()

    @classmethod
    def for_owner(
        cls, tenant: str, owner_kind: TargetOwnerKind, owner_id: str, period: str
    ) -> Target:
        """A new, empty target aggregate with its one id for this tenant, owner and period."""
        return cls.create(
            target_id(tenant, owner_kind, required_text(owner_id, "owner_id"), Period.parse(period))
        )

    @property
    def target_id(self) -> str:
        """The id the tenant knows (the aggregate's id is qualified by the tenant)."""
        return local_id(self.id)

    def set(
        self,
        owner_kind: TargetOwnerKind,
        owner_id: str,
        period: str,
        amount: Money,
        *,
        team_id: str | None = None,
    ) -> None:
        """The same target again: nothing; a different amount: refused, it is revised.
        ``team_id``: the team a rep target belongs to (a team target belongs to its team)."""
        owner = required_text(owner_id, "owner_id")
        parsed = Period.parse(period)
        if self.target_id != local_target_id(owner_kind, owner, parsed):
            raise RuleViolated(
                f"target {self.target_id} is not the target of {owner_kind.value} {owner} "
                f"for {parsed}",
                code="target_id_mismatch",
            )
        positive(amount, "amount")
        if self.state.amount is not None:
            if self.state.amount == amount:
                return
            raise RuleViolated(
                f"the target of {owner_kind.value} {owner} for {parsed} is already set to "
                f"{self.state.amount}; revise it instead",
                code="target_already_set",
            )
        team = owner if owner_kind is TargetOwnerKind.TEAM else team_id
        self.trigger(
            TargetSet(
                owner_kind=owner_kind,
                owner_id=owner,
                period=str(parsed),
                amount=amount,
                team_id=team,
            )
        )

    def revise(self, amount: Money, reason: str | None = None) -> None:
        """Records the old and the new amount; the same amount again: nothing."""
        if self.state.amount is None:
            raise NotFound(f"target {self.target_id} is not set")
        positive(amount, "amount")
        if amount == self.state.amount:
            return
        self.trigger(
            TargetRevised(
                previous_amount=self.state.amount,
                amount=amount,
                reason=optional_text(reason, "reason", max_length=500),
            )
        )
