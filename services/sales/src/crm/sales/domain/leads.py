"""The lead aggregate: a prospect on its way to qualification and, maybe, a deal.

Converting a lead crosses contexts (the customer context registers the customer, sales opens
the opportunity), so it happens in two steps: :meth:`Lead.convert` records the decision with
ids fixed once and for all, a process manager carries it out, and
:meth:`Lead.complete_conversion` records that it is done. Each step can be repeated safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Self
from uuid import UUID, uuid5

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales import (
    LeadCaptured,
    LeadConversionRequested,
    LeadConverted,
    LeadDisqualified,
    LeadQualified,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.custom_fields import CheckedValues
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.checks import optional_text, positive, required_text

CONVERSION_NAMESPACE = UUID("6f1c2b8e-4a37-5d0e-9b21-3c7a5e8d9f40")
"""Namespace of the ids derived from a lead id; never change it, stored ids depend on it."""
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class LeadStatus(StrEnum):
    OPEN = "open"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTING = "converting"
    """Conversion requested, not yet completed by the process manager."""
    CONVERTED = "converted"


def conversion_ids(lead_id: str) -> tuple[str, str]:
    """The (customer id, opportunity id) a lead converts into: the same for every call, so a
    repeated or redelivered conversion can never create a second customer or opportunity.
    Lead ids are random UUIDs, unique across tenants, hence so are these."""
    return (
        str(uuid5(CONVERSION_NAMESPACE, f"lead:{lead_id}:customer")),
        str(uuid5(CONVERSION_NAMESPACE, f"lead:{lead_id}:opportunity")),
    )


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class LeadState:
    contact: Contact | None = None
    status: LeadStatus = LeadStatus.OPEN
    owner_id: str = ""
    team_id: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    disqualified_reason: str | None = None
    conversion: LeadConversionRequested | None = None

    @property
    def captured(self) -> bool:
        return self.contact is not None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case LeadCaptured():
                contact = Contact(
                    name=event.name,
                    email=event.email,
                    phone=event.phone,
                    company=event.company,
                    title=event.title,
                )
                return replace(
                    self,
                    contact=contact,
                    owner_id=event.owner_id,
                    team_id=event.team_id,
                    source=event.source,
                    campaign_id=event.campaign_id,
                )
            case LeadQualified():
                return replace(self, status=LeadStatus.QUALIFIED)
            case LeadDisqualified():
                return replace(
                    self, status=LeadStatus.DISQUALIFIED, disqualified_reason=event.reason
                )
            case LeadConversionRequested():
                return replace(self, status=LeadStatus.CONVERTING, conversion=event)
            case LeadConverted():
                return replace(self, status=LeadStatus.CONVERTED)
        return self


class Lead(Aggregate[LeadState]):
    category = "lead"

    @classmethod
    def initial_state(cls) -> LeadState:
        return LeadState()

    def _require_captured(self) -> LeadState:
        if not self.state.captured:
            raise NotFound(f"lead {self.id} does not exist")
        return self.state

    def _refuse(self, doing: str, status: LeadStatus) -> RuleViolated:
        return RuleViolated(
            f"lead {self.id} is {status.value}; cannot {doing} it", code=f"lead_{status.value}"
        )

    # -- commands ----------------------------------------------------------------------------

    def capture(
        self,
        *,
        name: str,
        owner_id: str,
        email: str | None = None,
        phone: str | None = None,
        company: str | None = None,
        title: str | None = None,
        source: str | None = None,
        campaign_id: str | None = None,
        team_id: str | None = None,
        custom: CheckedValues | None = None,
    ) -> None:
        """``custom``: the values already checked against the tenant's definitions."""
        if self.state.captured:
            raise RuleViolated(f"lead {self.id} already exists", code="already_exists")
        clean_email = optional_text(email, "email")
        if clean_email is not None and not EMAIL.match(clean_email):
            raise InvalidCommand("email", "is not an e-mail address")
        self.trigger(
            LeadCaptured(
                name=required_text(name, "name"),
                email=clean_email,
                phone=optional_text(phone, "phone", max_length=40),
                company=optional_text(company, "company"),
                title=optional_text(title, "title"),
                source=optional_text(source, "source"),
                campaign_id=optional_text(campaign_id, "campaign_id"),
                owner_id=required_text(owner_id, "owner_id"),
                team_id=optional_text(team_id, "team_id"),
                custom=custom.public if custom else {},
                custom_personal=custom.personal_json if custom else None,
            )
        )

    def qualify(self, note: str | None = None) -> None:
        """Only an open lead is qualified."""
        state = self._require_captured()
        if state.status is not LeadStatus.OPEN:
            raise self._refuse("qualify", state.status)
        self.trigger(LeadQualified(note=optional_text(note, "note", max_length=1000)))

    def disqualify(self, reason: str) -> None:
        """An open or qualified lead; the reason is what marketing learns from."""
        state = self._require_captured()
        if state.status not in (LeadStatus.OPEN, LeadStatus.QUALIFIED):
            raise self._refuse("disqualify", state.status)
        self.trigger(LeadDisqualified(reason=required_text(reason, "reason", max_length=500)))

    def convert(
        self,
        *,
        opportunity_name: str,
        amount: Money,
        expected_close_date: date,
        existing_customer_id: str | None = None,
        owner_id: str | None = None,
    ) -> None:
        """Ask for the conversion of a qualified lead into an opportunity, for a new customer
        registered from the lead's contact or for ``existing_customer_id``.

        The same request again (while it runs or after it completed) records nothing; a
        different one is refused: a lead converts once."""
        state = self._require_captured()
        customer_id, opportunity_id = conversion_ids(self.id)
        if existing_customer_id is not None:
            customer_id = required_text(existing_customer_id, "existing_customer_id")
        contact = state.contact if existing_customer_id is None else None
        request = LeadConversionRequested(
            contact_name=contact.name if contact else None,
            contact_email=contact.email if contact else None,
            contact_phone=contact.phone if contact else None,
            company=contact.company if contact else None,
            title=contact.title if contact else None,
            source=state.source,
            campaign_id=state.campaign_id,
            team_id=state.team_id,
            customer_id=customer_id,
            new_customer=existing_customer_id is None,
            opportunity_id=opportunity_id,
            opportunity_name=required_text(opportunity_name, "opportunity_name"),
            amount=positive(amount, "amount"),
            expected_close_date=expected_close_date,
            owner_id=state.owner_id if owner_id is None else required_text(owner_id, "owner_id"),
        )
        if state.conversion is not None:
            if state.conversion == request:
                return
            raise RuleViolated(
                f"lead {self.id} is already {state.status.value} into opportunity "
                f"{state.conversion.opportunity_id}; a lead converts once",
                code="lead_already_converted",
            )
        if state.status is not LeadStatus.QUALIFIED:
            raise RuleViolated(
                f"lead {self.id} is {state.status.value}; only a qualified lead is converted",
                code="lead_not_qualified",
            )
        self.trigger(request)

    def complete_conversion(self, *, customer_id: str, opportunity_id: str) -> None:
        """The process manager's last step; again after it is done: nothing."""
        state = self._require_captured()
        requested = state.conversion
        if requested is None:
            raise RuleViolated(
                f"lead {self.id} has no conversion to complete", code="no_conversion_requested"
            )
        if (customer_id, opportunity_id) != (requested.customer_id, requested.opportunity_id):
            raise RuleViolated(
                f"lead {self.id} converts into customer {requested.customer_id} and opportunity "
                f"{requested.opportunity_id}, not {customer_id} and {opportunity_id}",
                code="conversion_mismatch",
            )
        if state.status is LeadStatus.CONVERTED:
            return
        self.trigger(LeadConverted(customer_id=customer_id, opportunity_id=opportunity_id))
