"""A customer's value tier as analytics last published it (stream ``valuetier-<customer id>``).

The aggregate is its own guard: a tier equal to the recorded one records nothing, so a value
monitor that runs again, or a second one, finds nothing to record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Self

from crm.events import DomainEvent
from crm.events.analytics import ValueTier, ValueTierChanged
from crm.kernel.aggregate import Aggregate


@dataclass(frozen=True)
class ValueTierState:
    tier: ValueTier | None = None

    def evolve(self, event: DomainEvent) -> Self:
        if isinstance(event, ValueTierChanged):
            return replace(self, tier=event.tier)
        return self


class CustomerValueTier(Aggregate[ValueTierState]):
    category = "valuetier"

    @classmethod
    def initial_state(cls) -> ValueTierState:
        return ValueTierState()

    def record(self, tier: ValueTier, now: datetime) -> None:
        """Record ``tier`` if it is not the customer's recorded one."""
        if self.state.tier is tier:
            return
        self.trigger(
            ValueTierChanged(
                customer_id=self.id, tier=tier, previous_tier=self.state.tier, changed_at=now
            )
        )
