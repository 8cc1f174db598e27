"""The customer aggregate.

A customer is owned by one rep or sits in the shared pool (no owner), from which exactly one
rep can claim it: two claims race on the stream version and the loser finds, on reload, that
the customer is no longer in the pool. Personal data can be erased; after that the customer
accepts no command that would record personal data again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Self

from crm.events import ERASED, DomainEvent
from crm.events.customer import (
    Channel,
    ConsentPurpose,
    ConsentRecorded,
    ContactAdded,
    ContactRemoved,
    ContactUpdated,
    CustomerAbsorbed,
    CustomerClaimedFromPool,
    CustomerDataExported,
    CustomerErased,
    CustomerKind,
    CustomerLeadLinked,
    CustomerMarkedDistinct,
    CustomerMergedInto,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    Direction,
    InteractionLogged,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.custom_fields import CheckedValues, personal_values
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated

PROFILE_FIELDS = (
    "kind",
    "name",
    "email",
    "phone",
    "company",
    "title",
    "region",
    "source",
    "billing_address",
    "shipping_address",
    "visit_address",
    "birthday",
    "anniversary",
    "preferred_channel",
    "preferred_language",
)
DATES = ("birthday", "anniversary")
"""Profile fields holding a date, ``YYYY-MM-DD``."""
MAX_TAGS = 50
MAX_CONTACTS = 200
"""The contacts a company has at most (its stream holds them all)."""
CONTACT_FIELDS = ("name", "title", "email", "phone", "primary", "note")
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Profile:
    kind: CustomerKind
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    region: str | None = None
    source: str | None = None
    billing_address: str | None = None
    shipping_address: str | None = None
    visit_address: str | None = None
    birthday: str | None = None
    """``YYYY-MM-DD``."""
    anniversary: str | None = None
    preferred_channel: Channel | None = None
    preferred_language: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in PROFILE_FIELDS}


def check_dates(values: Mapping[str, Any], today: date) -> None:
    """A birthday or anniversary is a real date, ``YYYY-MM-DD``, not after ``today`` (a date
    already erased, which reads as erased, is not checked)."""
    for f in DATES:
        value = values.get(f)
        if value is None or value == ERASED:
            continue
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidCommand(f, "must be a date, YYYY-MM-DD") from None
        if len(value) != 10:
            raise InvalidCommand(f, "must be a date, YYYY-MM-DD")
        if day > today:
            raise InvalidCommand(f, "is in the future")


@dataclass(frozen=True, slots=True)
class Contact:
    """A person at a company customer: who they are there and how to reach them."""

    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    primary: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}


def normalise_email(email: str | None) -> str | None:
    """An e-mail address as a customer's is kept: trimmed, its domain in lower case (what
    the API's ``EmailStr`` does); blank is none."""
    if email is None or email == ERASED:
        return email
    cleaned = email.strip()
    if not cleaned:
        return None
    local, at, domain = cleaned.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in cleaned):
        raise InvalidCommand("email", "is not an e-mail address")
    return f"{local}@{domain.lower()}"


def _same_email(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a != ERASED and a.casefold() == b.casefold()


@dataclass(frozen=True, slots=True)
class Consent:
    granted: bool
    method: str | None


@dataclass(frozen=True, slots=True)
class CustomerState:
    profile: Profile | None = None
    owner_id: str | None = None
    tags: frozenset[str] = frozenset()
    consents: Mapping[ConsentPurpose, Consent] = field(default_factory=lambda: MappingProxyType({}))
    interactions: frozenset[str] = frozenset()
    erased: bool = False
    lead_id: str | None = None
    """The lead this customer was registered from, if any."""
    linked_leads: frozenset[str] = frozenset()
    """Leads converted for the customer once it existed."""
    custom: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The values of the custom fields that are not personal data, by key."""
    custom_personal: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The personal ones (none once the customer is erased: they read as erased)."""
    merged_into: str | None = None
    """The customer this one was merged into (a duplicate of it)."""
    absorbed: frozenset[str] = frozenset()
    """The customers merged into this one."""
    absorbed_leads: frozenset[str] = frozenset()
    """The leads of the customers merged into this one (their contact is this person)."""
    distinct_from: frozenset[str] = frozenset()
    """Customers an admin decided are not duplicates of this one."""
    contacts: Mapping[str, Contact] = field(default_factory=lambda: MappingProxyType({}))
    """A company's contacts by id, in the order they were added."""

    @property
    def primary_contact(self) -> str | None:
        return next((i for i, c in self.contacts.items() if c.primary), None)

    @property
    def custom_values(self) -> dict[str, Any]:
        return {**self.custom, **self.custom_personal}

    @property
    def leads(self) -> frozenset[str]:
        """Every lead whose contact is this customer (their personal data goes with theirs)."""
        own = self.linked_leads | ({self.lead_id} if self.lead_id else set())
        return own | self.absorbed_leads

    @property
    def registered(self) -> bool:
        return self.profile is not None

    @property
    def in_pool(self) -> bool:
        return self.registered and self.owner_id is None

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case CustomerRegistered():
                profile = Profile(**{f: getattr(event, f) for f in PROFILE_FIELDS})
                return replace(
                    self,
                    profile=profile,
                    owner_id=event.owner_id,
                    tags=frozenset(event.tags),
                    lead_id=event.lead_id,
                    custom=MappingProxyType(dict(event.custom)),
                    custom_personal=_personal(event),
                )
            case CustomerProfileUpdated():
                return replace(
                    self,
                    profile=Profile(**{f: getattr(event, f) for f in PROFILE_FIELDS}),
                    custom=MappingProxyType(dict(event.custom)),
                    custom_personal=_personal(event),
                )
            case CustomerOwnerAssigned():
                return replace(self, owner_id=event.owner_id)
            case CustomerReleasedToPool():
                return replace(self, owner_id=None)
            case CustomerClaimedFromPool():
                return replace(self, owner_id=event.owner_id)
            case CustomerTagged():
                return replace(self, tags=self.tags | {event.tag})
            case CustomerUntagged():
                return replace(self, tags=self.tags - {event.tag})
            case InteractionLogged():
                return replace(self, interactions=self.interactions | {event.interaction_id})
            case ConsentRecorded():
                consents = dict(self.consents)
                consents[event.purpose] = Consent(event.granted, event.method)
                return replace(self, consents=MappingProxyType(consents))
            case CustomerErased():
                return replace(self, erased=True)
            case CustomerLeadLinked():
                return replace(self, linked_leads=self.linked_leads | {event.lead_id})
            case CustomerMarkedDistinct():
                return replace(self, distinct_from=self.distinct_from | {event.other_id})
            case CustomerMergedInto():
                return replace(self, merged_into=event.survivor_id)
            case ContactAdded() | ContactUpdated():
                contacts = dict(self.contacts)
                contacts[event.contact_id] = Contact(
                    **{f: getattr(event, f) for f in CONTACT_FIELDS}
                )
                return replace(self, contacts=MappingProxyType(contacts))
            case ContactRemoved():
                contacts = dict(self.contacts)
                contacts.pop(event.contact_id, None)
                return replace(self, contacts=MappingProxyType(contacts))
            case CustomerAbsorbed():
                return replace(
                    self,
                    absorbed=self.absorbed | {event.merged_id},
                    absorbed_leads=self.absorbed_leads | set(event.leads),
                )
        return self


def _personal(event: CustomerRegistered | CustomerProfileUpdated) -> Mapping[str, Any]:
    return MappingProxyType(personal_values(event.custom_personal))


def normalise_tag(tag: str) -> str:
    cleaned = " ".join(tag.strip().lower().split())
    if not cleaned or len(cleaned) > 40:
        raise InvalidCommand("tag", "a tag has 1 to 40 characters")
    return cleaned


class Customer(Aggregate[CustomerState]):
    category = "customer"

    @classmethod
    def initial_state(cls) -> CustomerState:
        return CustomerState()

    # -- guards ------------------------------------------------------------------------------

    def _require_registered(self) -> CustomerState:
        if not self.state.registered:
            raise NotFound(f"customer {self.id} does not exist")
        return self.state

    def _require_active(self) -> CustomerState:
        state = self._require_registered()
        if state.erased:
            raise RuleViolated("the customer's personal data was erased", code="customer_erased")
        if state.merged_into is not None:
            raise RuleViolated(
                f"customer {self.id} was merged into customer {state.merged_into}",
                code="customer_merged",
                details={"merged_into": state.merged_into},
            )
        return state

    # -- commands ----------------------------------------------------------------------------

    def register(
        self,
        profile: Profile,
        *,
        tags: Iterable[str] = (),
        owner_id: str | None = None,
        lead_id: str | None = None,
        today: date | None = None,
        custom: CheckedValues | None = None,
    ) -> None:
        """``custom``: the values already checked against the tenant's definitions."""
        if self.state.registered:
            raise RuleViolated(f"customer {self.id} is already registered", code="already_exists")
        if not profile.name.strip():
            raise InvalidCommand("name", "must not be blank")
        if today is not None:
            check_dates(profile.as_dict(), today)
        unique_tags = tuple(dict.fromkeys(normalise_tag(t) for t in tags))
        if len(unique_tags) > MAX_TAGS:
            raise InvalidCommand("tags", f"at most {MAX_TAGS} tags")
        values = custom or CheckedValues({}, {})
        self.trigger(
            CustomerRegistered(
                **profile.as_dict(),
                tags=unique_tags,
                owner_id=owner_id,
                lead_id=lead_id,
                custom=values.public,
                custom_personal=values.personal_json,
            )
        )

    def update_profile(
        self,
        changes: Mapping[str, Any],
        today: date | None = None,
        custom: CheckedValues | None = None,
    ) -> None:
        """Change some profile fields; ``None`` clears one (except kind and name). Dates are
        checked against ``today`` when it is given. ``custom``: the custom values after the
        change, already checked against the tenant's definitions."""
        state = self._require_active()
        assert state.profile is not None
        unknown = set(changes) - set(PROFILE_FIELDS)
        if unknown:
            raise InvalidCommand(sorted(unknown)[0], "is not a profile field")
        for required in ("kind", "name"):
            if required in changes and (
                changes[required] is None or not str(changes[required]).strip()
            ):
                raise InvalidCommand(required, "must not be blank")
        if today is not None:
            check_dates(changes, today)
        if changes.get("kind", CustomerKind.COMPANY) != CustomerKind.COMPANY and state.contacts:
            raise RuleViolated(
                "a company with contacts does not become a person: remove its contacts first",
                code="company_has_contacts",
            )
        current = state.profile.as_dict()
        changed = tuple(f for f in PROFILE_FIELDS if f in changes and changes[f] != current[f])
        values = custom or CheckedValues(dict(state.custom), dict(state.custom_personal))
        after, before = {**values.public, **values.personal}, state.custom_values
        changed += tuple(
            f"custom.{k}" for k in sorted(set(after) | set(before)) if after.get(k) != before.get(k)
        )
        if not changed:
            return
        self.trigger(
            CustomerProfileUpdated(
                **{**current, **{f: changes[f] for f in changed if f in changes}},
                changed=changed,
                custom=values.public,
                custom_personal=values.personal_json,
            )
        )

    def assign_owner(self, owner_id: str) -> None:
        state = self._require_active()
        if state.owner_id == owner_id:
            return
        self.trigger(CustomerOwnerAssigned(owner_id=owner_id, previous_owner_id=state.owner_id))

    def release_to_pool(self, reason: str | None = None) -> None:
        state = self._require_active()
        if state.owner_id is None:
            raise RuleViolated("the customer is already in the shared pool", code="already_in_pool")
        self.trigger(CustomerReleasedToPool(previous_owner_id=state.owner_id, reason=reason))

    def claim(self, rep_id: str) -> None:
        state = self._require_active()
        if not state.in_pool:
            raise RuleViolated("the customer is not in the shared pool", code="not_in_pool")
        self.trigger(CustomerClaimedFromPool(owner_id=rep_id))

    def tag(self, tag: str) -> None:
        state = self._require_active()
        cleaned = normalise_tag(tag)
        if cleaned in state.tags:
            return
        if len(state.tags) >= MAX_TAGS:
            raise RuleViolated(f"a customer has at most {MAX_TAGS} tags", code="too_many_tags")
        self.trigger(CustomerTagged(tag=cleaned))

    def untag(self, tag: str) -> None:
        state = self._require_active()
        cleaned = normalise_tag(tag)
        if cleaned not in state.tags:
            raise NotFound(f"the customer is not tagged {cleaned!r}")
        self.trigger(CustomerUntagged(tag=cleaned))

    def log_interaction(
        self,
        interaction_id: str,
        *,
        channel: Channel,
        direction: Direction,
        summary: str,
        occurred_at: datetime,
        now: datetime,
        duration_minutes: int | None = None,
    ) -> None:
        state = self._require_active()
        if interaction_id in state.interactions:
            return
        if occurred_at > now + CLOCK_SKEW:
            raise InvalidCommand("occurred_at", "is in the future")
        if not summary.strip():
            raise InvalidCommand("summary", "must not be blank")
        self.trigger(
            InteractionLogged(
                interaction_id=interaction_id,
                channel=channel,
                direction=direction,
                summary=summary,
                occurred_at=occurred_at,
                duration_minutes=duration_minutes,
            )
        )

    def record_consent(self, purpose: ConsentPurpose, *, granted: bool, method: str | None) -> None:
        """Every record is kept, a repeated one too: it is evidence of when consent was asked."""
        self._require_active()
        self.trigger(ConsentRecorded(purpose=purpose, granted=granted, method=method))

    def link_lead(self, lead_id: str) -> None:
        """Record that ``lead_id`` was converted for this customer; again: nothing. Allowed
        after an erasure too (the caller then erases the lead's data at once)."""
        state = self._require_registered()
        if lead_id in state.leads:
            return
        self.trigger(CustomerLeadLinked(lead_id=lead_id))

    def record_export(self, sections: list[str], reason: str | None = None) -> None:
        """Note that the customer's data was exported for them; an erased customer's too
        (what is left of them is what the export showed)."""
        self._require_registered()
        self.trigger(CustomerDataExported(sections=sections, reason=reason))

    def erase(self, reason: str | None = None) -> None:
        state = self._require_registered()
        if state.erased:
            return
        self.trigger(CustomerErased(reason=reason))

    # -- contacts ---------------------------------------------------------------------------

    def _require_company(self) -> CustomerState:
        state = self._require_active()
        assert state.profile is not None
        if state.profile.kind != CustomerKind.COMPANY:
            raise RuleViolated(
                "only a company customer has contacts; this customer is a person",
                code="not_a_company",
            )
        return state

    def _check_contact(self, contact_id: str, contact: Contact, state: CustomerState) -> None:
        if not contact.name.strip():
            raise InvalidCommand("name", "must not be blank")
        for other_id, other in state.contacts.items():
            if other_id == contact_id:
                continue
            if _same_email(other.email, contact.email):
                raise RuleViolated(
                    f"contact {other_id} of this company has the e-mail address already",
                    code="contact_exists",
                    details={"contact_id": other_id},
                )
            if contact.primary and other.primary:
                raise RuleViolated(
                    f"contact {other_id} is the company's primary contact already",
                    code="primary_contact_exists",
                    details={"contact_id": other_id},
                )

    def add_contact(self, contact_id: str, contact: Contact) -> None:
        """Add a person at this company. The same id again with the same values: nothing
        (a retried command); a second contact with an e-mail address the company's contacts
        have, or a second primary contact, is refused."""
        state = self._require_company()
        contact = replace(contact, email=normalise_email(contact.email))
        if contact_id in state.contacts:
            if state.contacts[contact_id] == contact:
                return
            raise RuleViolated(f"contact {contact_id} exists already", code="already_exists")
        if len(state.contacts) >= MAX_CONTACTS:
            raise RuleViolated(
                f"a company has at most {MAX_CONTACTS} contacts", code="too_many_contacts"
            )
        self._check_contact(contact_id, contact, state)
        self.trigger(ContactAdded(contact_id=contact_id, **contact.as_dict()))

    def update_contact(self, contact_id: str, changes: Mapping[str, Any]) -> None:
        """Change some of a contact's fields; ``None`` clears one (not the name, and
        ``primary`` is true or false). The same values: nothing."""
        state = self._require_company()
        current = state.contacts.get(contact_id)
        if current is None:
            raise NotFound(f"the customer has no contact {contact_id}")
        unknown = set(changes) - set(CONTACT_FIELDS)
        if unknown:
            raise InvalidCommand(sorted(unknown)[0], "is not a field of a contact")
        if "name" in changes and (changes["name"] is None or not str(changes["name"]).strip()):
            raise InvalidCommand("name", "must not be blank")
        if "primary" in changes and not isinstance(changes["primary"], bool):
            raise InvalidCommand("primary", "is true or false")
        values = dict(changes)
        if "email" in values:
            values["email"] = normalise_email(values["email"])
        after = replace(current, **values)
        changed = tuple(f for f in CONTACT_FIELDS if getattr(after, f) != getattr(current, f))
        if not changed:
            return
        self._check_contact(contact_id, after, state)
        self.trigger(ContactUpdated(contact_id=contact_id, **after.as_dict(), changed=changed))

    def remove_contact(self, contact_id: str) -> None:
        state = self._require_company()
        if contact_id not in state.contacts:
            raise NotFound(f"the customer has no contact {contact_id}")
        self.trigger(ContactRemoved(contact_id=contact_id))

    # -- duplicates --------------------------------------------------------------------------

    def mark_distinct(self, other_id: str, other: CustomerState) -> None:
        """Record that ``other_id`` (in state ``other``) is not a duplicate of this customer;
        said again: nothing."""
        self._require_active()
        if other_id == self.id:
            raise InvalidCommand("other_id", "is this customer itself")
        if not other.registered:
            raise InvalidCommand("other_id", f"customer {other_id} does not exist")
        if other_id in self.state.distinct_from or self.id in other.distinct_from:
            return
        self.trigger(CustomerMarkedDistinct(other_id=other_id))

    def merge_into(self, survivor_id: str, survivor: CustomerState) -> None:
        """Merge this customer, a duplicate, into ``survivor_id`` (in state ``survivor``):
        neither may be erased or merged already, and a customer is never merged into itself.
        The survivor then takes it in (:meth:`absorb`)."""
        if survivor_id == self.id:
            raise InvalidCommand("merged_id", "a customer cannot be merged into itself")
        if not self.state.registered:
            raise InvalidCommand("merged_id", f"customer {self.id} does not exist")
        if self.state.merged_into is not None:
            raise RuleViolated(
                f"customer {self.id} was already merged into customer {self.state.merged_into}",
                code="customer_merged",
                details={"merged_into": self.state.merged_into},
            )
        self._require_active()
        if not survivor.registered:
            raise NotFound(f"customer {survivor_id} does not exist")
        if survivor.erased:
            raise RuleViolated(
                f"customer {survivor_id}'s personal data was erased", code="customer_erased"
            )
        if survivor.merged_into is not None:
            raise RuleViolated(
                f"customer {survivor_id} was merged into customer {survivor.merged_into}",
                code="customer_merged",
                details={"merged_into": survivor.merged_into},
            )
        self.trigger(CustomerMergedInto(survivor_id=survivor_id))

    def absorb(self, merged_id: str, merged: CustomerState) -> None:
        """Take in ``merged_id`` (in state ``merged``), merged into this customer: its tags
        (up to :data:`MAX_TAGS`), its profile and custom values where this one has none, and
        its consent for a purpose this one has no record of, or its withdrawal where this one
        has a grant (a "no" said anywhere holds). Absorbed once: again, nothing."""
        state = self._require_registered()
        if merged_id in state.absorbed:
            return
        state = self._require_active()
        if merged.merged_into != self.id or merged.profile is None:
            raise RuleViolated(
                f"customer {merged_id} was not merged into customer {self.id}", code="not_merged"
            )
        assert state.profile is not None
        room = MAX_TAGS - len(state.tags)
        tags = tuple(t for t in sorted(merged.tags) if t not in state.tags)[: max(room, 0)]
        mine, theirs = state.profile.as_dict(), merged.profile.as_dict()
        filled = tuple(
            f for f in PROFILE_FIELDS if mine[f] is None and theirs[f] not in (None, ERASED)
        )
        custom_public = {**merged.custom, **state.custom}
        custom_personal = {**merged.custom_personal, **state.custom_personal}
        custom_filled = tuple(
            f"custom.{k}"
            for k in sorted({**custom_public, **custom_personal})
            if k not in state.custom_values
        )
        purposes = tuple(
            p
            for p, theirs_consent in sorted(merged.consents.items())
            if p not in state.consents or (state.consents[p].granted and not theirs_consent.granted)
        )
        self.trigger(
            CustomerAbsorbed(
                merged_id=merged_id,
                tags=tags,
                filled=filled + custom_filled,
                purposes=purposes,
                leads=tuple(sorted(merged.leads)),
            )
        )
        for tag in tags:
            self.trigger(CustomerTagged(tag=tag))
        if filled or custom_filled:
            values = CheckedValues(custom_public, custom_personal)
            self.trigger(
                CustomerProfileUpdated(
                    **{**mine, **{f: theirs[f] for f in filled}},
                    changed=filled + custom_filled,
                    custom=values.public,
                    custom_personal=values.personal_json,
                )
            )
        for purpose in purposes:
            consent = merged.consents[purpose]
            self.trigger(
                ConsentRecorded(purpose=purpose, granted=consent.granted, method=consent.method)
            )
        self._gain_contacts(merged)

    def _gain_contacts(self, merged: CustomerState) -> None:
        """A company survivor takes the merged customer's contacts, sealed with its own key:
        each but those whose e-mail address one of its own has (the same person), primary
        only while it has no primary contact of its own, up to :data:`MAX_CONTACTS`. A person
        has no contacts: theirs stay in the merged customer's stream."""
        assert self.state.profile is not None
        if self.state.profile.kind != CustomerKind.COMPANY:
            return
        for contact_id, contact in merged.contacts.items():
            state = self.state
            if contact_id in state.contacts or len(state.contacts) >= MAX_CONTACTS:
                continue
            if any(_same_email(c.email, contact.email) for c in state.contacts.values()):
                continue
            primary = contact.primary and state.primary_contact is None
            gained = replace(contact, primary=primary)
            self.trigger(ContactAdded(contact_id=contact_id, **gained.as_dict()))
