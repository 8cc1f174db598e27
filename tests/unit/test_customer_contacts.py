"""A company customer's contacts, given/when/then on events: only a company has them, their
e-mail is kept as a customer's is, one primary at most, one contact per e-mail address, none
for an erased or merged customer, and a company survivor gains the merged one's."""

from __future__ import annotations

import pytest

from crm.customer.domain.customer import Contact, Customer, CustomerState, normalise_email
from crm.events.customer import (
    ContactAdded,
    ContactRemoved,
    ContactUpdated,
    CustomerAbsorbed,
    CustomerErased,
    CustomerKind,
    CustomerMergedInto,
    CustomerRegistered,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from tests.unit.given_when_then import Scenario

ACME = CustomerRegistered(kind=CustomerKind.COMPANY, name="Acme Ltd")
ADA = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada Lovelace")
LI = ContactAdded(contact_id="c-1", name="Li Wei", title="Buyer", email="li@acme.cn", primary=True)
MA = ContactAdded(contact_id="c-2", name="Ma Lin", email="ma@acme.cn")


def company() -> Scenario[Customer]:
    return Scenario(Customer, "acme")


def state_of(*events: object) -> CustomerState:
    return Customer.rehydrate("x", list(events), len(events) - 1).state  # type: ignore[arg-type]


def test_a_company_gets_a_contact_its_email_kept_as_a_customers() -> None:
    contact = Contact("Li Wei", title="Buyer", email=" Li@ACME.cn ", primary=True)
    company().given(ACME).when(lambda c: c.add_contact("c-1", contact)).then(
        ContactAdded(
            contact_id="c-1", name="Li Wei", title="Buyer", email="Li@acme.cn", primary=True
        )
    )


def test_a_person_has_no_contacts() -> None:
    error = (
        company()
        .given(ADA)
        .when(lambda c: c.add_contact("c-1", Contact("Li Wei")))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code", None) == "not_a_company"


@pytest.mark.parametrize(
    ("contact", "field"),
    [(Contact("  "), "name"), (Contact("Li", email="not-an-address"), "email")],
)
def test_a_bad_field_is_named(contact: Contact, field: str) -> None:
    error = company().given(ACME).when(lambda c: c.add_contact("c-9", contact))
    assert getattr(error.then_raises(InvalidCommand), "field", None) == field


def test_one_primary_contact_at_most() -> None:
    error = (
        company()
        .given(ACME, LI)
        .when(lambda c: c.add_contact("c-2", Contact("Ma Lin", primary=True)))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code", None) == "primary_contact_exists"
    company().given(ACME, LI, MA).when(
        lambda c: c.update_contact("c-2", {"primary": True})
    ).then_raises(RuleViolated, "primary")


def test_an_email_the_company_has_is_a_duplicate_contact_whatever_its_case() -> None:
    error = (
        company()
        .given(ACME, LI)
        .when(lambda c: c.add_contact("c-2", Contact("Li W.", email="LI@acme.CN")))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code", None) == "contact_exists"


def test_the_same_contact_added_again_records_nothing() -> None:
    contact = Contact("Li Wei", title="Buyer", email="li@acme.cn", primary=True)
    company().given(ACME, LI).when(lambda c: c.add_contact("c-1", contact)).then_nothing()


def test_an_update_records_the_contact_after_it_and_what_changed() -> None:
    company().given(ACME, LI).when(
        lambda c: c.update_contact("c-1", {"primary": False, "phone": "+86 21 5555 0000"})
    ).then(
        ContactUpdated(
            contact_id="c-1",
            name="Li Wei",
            title="Buyer",
            email="li@acme.cn",
            phone="+86 21 5555 0000",
            primary=False,
            changed=("phone", "primary"),
        )
    )
    company().given(ACME, LI).when(
        lambda c: c.update_contact("c-1", {"title": "Buyer"})
    ).then_nothing()


def test_an_update_refuses_a_blank_name_and_an_unknown_field_or_contact() -> None:
    company().given(ACME, LI).when(lambda c: c.update_contact("c-1", {"name": None})).then_raises(
        InvalidCommand, "blank"
    )
    company().given(ACME, LI).when(lambda c: c.update_contact("c-1", {"age": 3})).then_raises(
        InvalidCommand, "not a field"
    )
    company().given(ACME, LI).when(lambda c: c.update_contact("c-7", {"title": "x"})).then_raises(
        NotFound
    )


def test_a_contact_is_removed_and_an_unknown_one_is_not_found() -> None:
    company().given(ACME, LI).when(lambda c: c.remove_contact("c-1")).then(
        ContactRemoved(contact_id="c-1")
    )
    company().given(ACME, LI, ContactRemoved(contact_id="c-1")).when(
        lambda c: c.remove_contact("c-1")
    ).then_raises(NotFound)


def test_an_erased_company_takes_no_contact() -> None:
    error = (
        company()
        .given(ACME, CustomerErased())
        .when(lambda c: c.add_contact("c-1", Contact("Li Wei")))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code", None) == "customer_erased"


def test_a_company_with_contacts_does_not_become_a_person() -> None:
    error = (
        company()
        .given(ACME, LI)
        .when(lambda c: c.update_profile({"kind": CustomerKind.PERSON}))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code", None) == "company_has_contacts"


def test_a_company_survivor_gains_the_merged_ones_contacts_but_the_same_person_once() -> None:
    dupe_of_li = ContactAdded(contact_id="c-3", name="Wei Li", email="LI@acme.cn", primary=True)
    merged = state_of(ACME, MA, dupe_of_li, CustomerMergedInto(survivor_id="acme"))
    assert merged.primary_contact == "c-3"
    company().given(ACME, LI).when(lambda c: c.absorb("m-1", merged)).then(
        CustomerAbsorbed(merged_id="m-1"),
        ContactAdded(contact_id="c-2", name="Ma Lin", email="ma@acme.cn"),
    )


def test_a_survivor_without_a_primary_takes_the_merged_ones() -> None:
    merged = state_of(ACME, LI, CustomerMergedInto(survivor_id="acme"))
    company().given(ACME).when(lambda c: c.absorb("m-1", merged)).then(
        CustomerAbsorbed(merged_id="m-1"), LI
    )


def test_a_person_survivor_gains_no_contacts() -> None:
    merged = state_of(ACME, LI, CustomerMergedInto(survivor_id="acme"))
    company().given(ADA).when(lambda c: c.absorb("m-1", merged)).then(
        CustomerAbsorbed(merged_id="m-1")
    )


def test_email_normalisation() -> None:
    assert normalise_email("  ") is None
    assert normalise_email("Ann@Example.COM") == "Ann@example.com"
    with pytest.raises(InvalidCommand):
        normalise_email("ann @example.com")
