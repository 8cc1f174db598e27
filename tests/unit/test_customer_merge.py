"""Merging duplicate customers, given/when/then on events: the rules of a merge (never into
itself, nor into or from a merged or erased customer, never twice), what the survivor
absorbs, and that a merged customer refuses commands naming its survivor."""

from __future__ import annotations

import pytest

from crm.customer.domain.customer import Customer, CustomerState
from crm.events.customer import (
    ConsentPurpose,
    ConsentRecorded,
    CustomerAbsorbed,
    CustomerErased,
    CustomerKind,
    CustomerLeadLinked,
    CustomerMarkedDistinct,
    CustomerMergedInto,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerTagged,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from tests.unit.given_when_then import Scenario

SURVIVOR = "s-1"
MERGED = "42"
ADA = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada Lovelace", tags=("vip",))
A_KING = CustomerRegistered(
    kind=CustomerKind.PERSON,
    name="A. King",
    email="ada@example.com",
    phone="+44 20 7946 0000",
    tags=("vip", "newsletter"),
)


def state_of(*events: object) -> CustomerState:
    return Customer.rehydrate("x", list(events), len(events) - 1).state  # type: ignore[arg-type]


def merged() -> Scenario[Customer]:
    return Scenario(Customer, MERGED)


def survivor() -> Scenario[Customer]:
    return Scenario(Customer, SURVIVOR)


def test_a_duplicate_is_merged_into_its_survivor() -> None:
    merged().given(A_KING).when(lambda c: c.merge_into(SURVIVOR, state_of(ADA))).then(
        CustomerMergedInto(survivor_id=SURVIVOR)
    )


def test_a_customer_is_never_merged_into_itself() -> None:
    merged().given(A_KING).when(lambda c: c.merge_into(MERGED, state_of(A_KING))).then_raises(
        InvalidCommand, "itself"
    )


@pytest.mark.parametrize(
    ("into", "code"),
    [
        (state_of(ADA, CustomerErased()), "customer_erased"),
        (state_of(ADA, CustomerMergedInto(survivor_id="other")), "customer_merged"),
    ],
)
def test_never_into_an_erased_or_merged_customer(into: CustomerState, code: str) -> None:
    error = merged().given(A_KING).when(lambda c: c.merge_into(SURVIVOR, into))
    assert isinstance(error.then_raises(RuleViolated), RuleViolated)
    assert getattr(error.error, "code", None) == code


def test_never_into_a_customer_that_does_not_exist() -> None:
    merged().given(A_KING).when(lambda c: c.merge_into(SURVIVOR, CustomerState())).then_raises(
        NotFound
    )


def test_never_twice() -> None:
    outcome = (
        merged()
        .given(A_KING, CustomerMergedInto(survivor_id=SURVIVOR))
        .when(lambda c: c.merge_into("s-2", state_of(ADA)))
    )
    error = outcome.then_raises(RuleViolated, "already merged")
    assert getattr(error, "details") == {"merged_into": SURVIVOR}  # noqa: B009


def test_an_erased_customer_is_not_merged() -> None:
    merged().given(A_KING, CustomerErased()).when(
        lambda c: c.merge_into(SURVIVOR, state_of(ADA))
    ).then_raises(RuleViolated, "erased")


def test_a_merged_customer_refuses_commands_naming_its_survivor() -> None:
    error = (
        merged()
        .given(A_KING, CustomerMergedInto(survivor_id=SURVIVOR))
        .when(lambda c: c.tag("gold"))
        .then_raises(RuleViolated)
    )
    assert getattr(error, "code") == "customer_merged"  # noqa: B009
    assert getattr(error, "details") == {"merged_into": SURVIVOR}  # noqa: B009


def test_a_merged_customer_can_still_be_erased() -> None:
    merged().given(A_KING, CustomerMergedInto(survivor_id=SURVIVOR)).when(
        lambda c: c.erase("asked")
    ).then(CustomerErased(reason="asked"))


def test_the_survivor_gains_tags_empty_fields_and_consent() -> None:
    gone = state_of(
        A_KING,
        CustomerLeadLinked(lead_id="lead-7"),
        ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=False, method="web"),
        ConsentRecorded(purpose=ConsentPurpose.PROFILING, granted=True, method="paper"),
        CustomerMergedInto(survivor_id=SURVIVOR),
    )
    consent = ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=True, method="call")
    c = (
        survivor()
        .given(ADA, consent)
        .when(lambda c: c.absorb(MERGED, gone))
        .then(
            CustomerAbsorbed(
                merged_id=MERGED,
                tags=("newsletter",),
                filled=("email", "phone"),
                purposes=(ConsentPurpose.MARKETING_EMAIL, ConsentPurpose.PROFILING),
                leads=("lead-7",),
            ),
            CustomerTagged(tag="newsletter"),
            CustomerProfileUpdated(
                kind=CustomerKind.PERSON,
                name="Ada Lovelace",
                email="ada@example.com",
                phone="+44 20 7946 0000",
                changed=("email", "phone"),
            ),
            # a withdrawal on either holds; a purpose only the merged one had is taken over
            ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=False, method="web"),
            ConsentRecorded(purpose=ConsentPurpose.PROFILING, granted=True, method="paper"),
        )
    )
    assert c.state.absorbed == {MERGED}
    assert "lead-7" in c.state.leads  # erasing the survivor erases the merged one's leads
    profile = c.state.profile
    assert profile is not None
    assert (profile.name, profile.email) == ("Ada Lovelace", "ada@example.com")


def test_the_survivor_absorbs_once() -> None:
    gone = state_of(A_KING, CustomerMergedInto(survivor_id=SURVIVOR))
    survivor().given(ADA, CustomerAbsorbed(merged_id=MERGED)).when(
        lambda c: c.absorb(MERGED, gone)
    ).then_nothing()


def test_the_survivor_absorbs_only_a_customer_merged_into_it() -> None:
    survivor().given(ADA).when(lambda c: c.absorb(MERGED, state_of(A_KING))).then_raises(
        RuleViolated, "was not merged"
    )


def test_a_pair_marked_distinct_once() -> None:
    other = state_of(A_KING)
    survivor().given(ADA).when(lambda c: c.mark_distinct(MERGED, other)).then(
        CustomerMarkedDistinct(other_id=MERGED)
    )
    survivor().given(ADA, CustomerMarkedDistinct(other_id=MERGED)).when(
        lambda c: c.mark_distinct(MERGED, other)
    ).then_nothing()
    survivor().given(ADA).when(lambda c: c.mark_distinct(SURVIVOR, state_of(ADA))).then_raises(
        InvalidCommand, "itself"
    )
    survivor().given(ADA).when(lambda c: c.mark_distinct(MERGED, CustomerState())).then_raises(
        InvalidCommand, "does not exist"
    )
