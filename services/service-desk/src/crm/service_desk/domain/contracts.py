"""Service contracts: which service level a customer is entitled to, hence which SLA policy
their tickets get.

One stream per customer of a tenant (``servicecontract-<tenant>:<customer id>``, see
:mod:`~crm.service_desk.domain.tenancy`: customer ids are the tenant's own text, so two
tenants' customers ``c-1`` must not share a stream): a customer has at most one contract in
force, which the stream enforces by construction. A contract is signed, its level
changed (an upgrade or a downgrade, effective for tickets opened afterwards), and ended; a
new contract may be signed once the previous one has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Self

from crm.events import DomainEvent
from crm.events.service_desk import ContractChanged, ContractEnded, ContractLevel, ContractSigned
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.checks import optional_text
from crm.service_desk.domain.tenancy import local_id, qualified


@dataclass(frozen=True, slots=True)
class ContractState:
    signed: bool = False
    active: bool = False
    level: ContractLevel | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    """The agreed end date, or the date it was ended early."""

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case ContractSigned():
                return replace(
                    self,
                    signed=True,
                    active=True,
                    level=event.level,
                    starts_on=event.starts_on,
                    ends_on=event.ends_on,
                )
            case ContractChanged():
                return replace(self, level=event.level)
            case ContractEnded():
                return replace(self, active=False, ends_on=event.ended_on)
        return self

    def level_on(self, day: date) -> ContractLevel | None:
        """The level in force on ``day``: none before the start, on or after the end date
        (``ends_on`` is the first day without cover), or once the contract has ended."""
        if not self.signed or self.starts_on is None or day < self.starts_on:
            return None
        if self.ends_on is not None and day >= self.ends_on:
            return None
        return self.level if self.active else None


def contract_aggregate_id(tenant: str, customer_id: str) -> str:
    """The aggregate id of the service contract of ``tenant``'s customer ``customer_id``."""
    return qualified(tenant, customer_id)


class ServiceContract(Aggregate[ContractState]):
    """The service contract of a tenant's customer; its id is
    :func:`contract_aggregate_id`, its events name the customer by the tenant's own id."""

    category = "servicecontract"

    @classmethod
    def initial_state(cls) -> ContractState:
        return ContractState()

    @property
    def customer_id(self) -> str:
        """The customer's id as the tenant knows it (the aggregate's id is qualified)."""
        return local_id(self.id)

    def _require_active(self, doing: str) -> ContractState:
        if not self.state.signed:
            raise NotFound(f"customer {self.customer_id} has no service contract")
        if not self.state.active:
            raise RuleViolated(
                f"the service contract of customer {self.customer_id} has ended; cannot {doing} it",
                code="contract_ended",
            )
        return self.state

    def sign(self, *, level: ContractLevel, starts_on: date, ends_on: date | None = None) -> None:
        """The same signature again records nothing; a second contract while one is in force
        is refused (change its level instead)."""
        if ends_on is not None and ends_on <= starts_on:
            raise InvalidCommand("ends_on", "must be after starts_on")
        event = ContractSigned(
            customer_id=self.customer_id, level=level, starts_on=starts_on, ends_on=ends_on
        )
        if self.state.active:
            state = self.state
            if (state.level, state.starts_on, state.ends_on) == (level, starts_on, ends_on):
                return
            raise RuleViolated(
                f"customer {self.customer_id} already has a {state.level} contract in force; "
                "change its level or end it first",
                code="contract_in_force",
            )
        self.trigger(event)

    def change(self, *, level: ContractLevel) -> None:
        """To the same level: nothing."""
        state = self._require_active("change")
        assert state.level is not None
        if state.level is level:
            return
        self.trigger(
            ContractChanged(customer_id=self.customer_id, level=level, previous_level=state.level)
        )

    def end(self, *, ended_on: date, reason: str | None = None) -> None:
        state = self._require_active("end")
        assert state.starts_on is not None
        if ended_on < state.starts_on:
            raise InvalidCommand("ended_on", "is before the contract started")
        self.trigger(
            ContractEnded(
                customer_id=self.customer_id,
                ended_on=ended_on,
                reason=optional_text(reason, "reason", max_length=500),
            )
        )
