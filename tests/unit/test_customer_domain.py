"""The customer aggregate, given/when/then on events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.customer.domain.customer import Customer, Profile
from crm.events.customer import (
    Channel,
    ConsentPurpose,
    ConsentRecorded,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerKind,
    CustomerLeadLinked,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
    Direction,
    InteractionLogged,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
PERSON = Profile(kind=CustomerKind.PERSON, name="Ada Lovelace", email="ada@example.com")
REGISTERED = CustomerRegistered(
    kind=CustomerKind.PERSON, name="Ada Lovelace", email="ada@example.com"
)
OWNED = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada Lovelace", owner_id="rep-1")


def customer() -> Scenario[Customer]:
    return Scenario(Customer)


def test_register_into_the_pool() -> None:
    c = (
        customer()
        .given()
        .when(lambda c: c.register(PERSON, tags=["VIP", "vip ", "Key  Account"]))
        .then(
            CustomerRegistered(
                kind=CustomerKind.PERSON,
                name="Ada Lovelace",
                email="ada@example.com",
                tags=("vip", "key account"),
            )
        )
    )
    assert c.state.in_pool


def test_register_for_an_owner() -> None:
    c = (
        customer()
        .when(lambda c: c.register(PERSON, owner_id="rep-1"))
        .then(
            CustomerRegistered(
                kind=CustomerKind.PERSON,
                name="Ada Lovelace",
                email="ada@example.com",
                owner_id="rep-1",
            )
        )
    )
    assert not c.state.in_pool


def test_cannot_register_twice() -> None:
    customer().given(REGISTERED).when(lambda c: c.register(PERSON)).then_raises(
        RuleViolated, "already"
    )


def test_commands_on_an_unregistered_customer_are_not_found() -> None:
    customer().when(lambda c: c.tag("x")).then_raises(NotFound)


def test_update_profile_records_the_whole_profile_and_what_changed() -> None:
    customer().given(REGISTERED).when(
        lambda c: c.update_profile({"email": "ada@new.example", "region": "EU"})
    ).then(
        CustomerProfileUpdated(
            kind=CustomerKind.PERSON,
            name="Ada Lovelace",
            email="ada@new.example",
            region="EU",
            changed=("email", "region"),
        )
    )


def test_an_update_that_changes_nothing_records_nothing() -> None:
    customer().given(REGISTERED).when(
        lambda c: c.update_profile({"email": "ada@example.com"})
    ).then_nothing()


@pytest.mark.parametrize(
    ("changes", "field"), [({"name": " "}, "name"), ({"kind": None}, "kind"), ({"shoe": 1}, "shoe")]
)
def test_update_profile_refuses_bad_fields(changes: dict[str, object], field: str) -> None:
    error = (
        customer()
        .given(REGISTERED)
        .when(lambda c: c.update_profile(changes))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_claim_from_the_pool() -> None:
    customer().given(REGISTERED).when(lambda c: c.claim("rep-2")).then(
        CustomerClaimedFromPool(owner_id="rep-2")
    )


def test_an_owned_customer_cannot_be_claimed() -> None:
    customer().given(OWNED).when(lambda c: c.claim("rep-2")).then_raises(
        RuleViolated, "not in the shared pool"
    )


def test_the_second_of_two_claims_fails() -> None:
    customer().given(REGISTERED, CustomerClaimedFromPool(owner_id="rep-1")).when(
        lambda c: c.claim("rep-2")
    ).then_raises(RuleViolated)


def test_release_to_the_pool_remembers_the_previous_owner() -> None:
    c = (
        customer()
        .given(OWNED)
        .when(lambda c: c.release_to_pool("left the region"))
        .then(CustomerReleasedToPool(previous_owner_id="rep-1", reason="left the region"))
    )
    assert c.state.in_pool


def test_a_pool_customer_cannot_be_released() -> None:
    customer().given(REGISTERED).when(lambda c: c.release_to_pool()).then_raises(
        RuleViolated, "already in the shared pool"
    )


def test_assign_owner() -> None:
    customer().given(OWNED).when(lambda c: c.assign_owner("rep-2")).then(
        CustomerOwnerAssigned(owner_id="rep-2", previous_owner_id="rep-1")
    )
    customer().given(OWNED).when(lambda c: c.assign_owner("rep-1")).then_nothing()


def test_tags_are_normalised_and_idempotent() -> None:
    customer().given(REGISTERED).when(lambda c: c.tag("  Newsletter ")).then(
        CustomerTagged(tag="newsletter")
    )
    customer().given(REGISTERED, CustomerTagged(tag="newsletter")).when(
        lambda c: c.tag("NEWSLETTER")
    ).then_nothing()
    customer().given(REGISTERED, CustomerTagged(tag="a")).when(lambda c: c.untag("A")).then(
        CustomerUntagged(tag="a")
    )
    customer().given(REGISTERED).when(lambda c: c.untag("a")).then_raises(NotFound)
    customer().given(REGISTERED).when(lambda c: c.tag("x" * 41)).then_raises(InvalidCommand)


def test_log_an_interaction() -> None:
    at = NOW - timedelta(hours=1)
    customer().given(REGISTERED).when(
        lambda c: c.log_interaction(
            "i-1",
            channel=Channel.MEETING,
            direction=Direction.OUTBOUND,
            summary="Demo",
            occurred_at=at,
            now=NOW,
        )
    ).then(
        InteractionLogged(
            interaction_id="i-1",
            channel=Channel.MEETING,
            direction=Direction.OUTBOUND,
            summary="Demo",
            occurred_at=at,
        )
    )


def test_an_interaction_logged_twice_is_recorded_once() -> None:
    logged = InteractionLogged(
        interaction_id="i-1",
        channel=Channel.CALL,
        direction=Direction.INBOUND,
        summary="x",
        occurred_at=NOW,
    )
    customer().given(REGISTERED, logged).when(
        lambda c: c.log_interaction(
            "i-1",
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            summary="x",
            occurred_at=NOW,
            now=NOW,
        )
    ).then_nothing()


def test_an_interaction_cannot_be_in_the_future() -> None:
    error = (
        customer()
        .given(REGISTERED)
        .when(
            lambda c: c.log_interaction(
                "i-1",
                channel=Channel.CALL,
                direction=Direction.INBOUND,
                summary="x",
                occurred_at=NOW + timedelta(hours=1),
                now=NOW,
            )
        )
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == "occurred_at"


def test_consent_is_recorded_every_time() -> None:
    granted = ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=True, method="form")
    c = (
        customer()
        .given(REGISTERED, granted)
        .when(
            lambda c: c.record_consent(
                ConsentPurpose.MARKETING_EMAIL, granted=False, method="phone"
            )
        )
        .then(
            ConsentRecorded(purpose=ConsentPurpose.MARKETING_EMAIL, granted=False, method="phone")
        )
    )
    assert c.state.consents[ConsentPurpose.MARKETING_EMAIL].granted is False


def test_erasure_happens_once_and_stops_personal_data_coming_back() -> None:
    customer().given(REGISTERED).when(lambda c: c.erase("request")).then(
        CustomerErased(reason="request")
    )
    erased = (REGISTERED, CustomerErased())
    customer().given(*erased).when(lambda c: c.erase()).then_nothing()
    customer().given(*erased).when(lambda c: c.update_profile({"name": "Ada"})).then_raises(
        RuleViolated
    )
    customer().given(*erased).when(lambda c: c.claim("rep-1")).then_raises(RuleViolated)


def test_state_rebuilt_from_history_is_the_state_commands_see() -> None:
    history = (
        REGISTERED,
        CustomerClaimedFromPool(owner_id="rep-1"),
        CustomerTagged(tag="a"),
        CustomerTagged(tag="b"),
        CustomerUntagged(tag="a"),
        CustomerReleasedToPool(previous_owner_id="rep-1"),
    )
    c = Customer.rehydrate("42", history, 5)
    assert c.state.in_pool
    assert c.state.tags == frozenset({"b"})
    assert c.version == 5
    assert c.stream_id == "customer-42"


def test_a_lead_converted_for_the_customer_is_linked_once() -> None:
    customer().given(REGISTERED).when(lambda c: c.link_lead("lead-9")).then(
        CustomerLeadLinked(lead_id="lead-9")
    )
    customer().given(REGISTERED, CustomerLeadLinked(lead_id="lead-9")).when(
        lambda c: c.link_lead("lead-9")
    ).then()
    from_lead = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada", lead_id="lead-1")
    customer().given(from_lead).when(lambda c: c.link_lead("lead-1")).then()


def test_every_lead_of_the_customer_is_known_for_erasure() -> None:
    from_lead = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada", lead_id="lead-1")
    c = Customer.rehydrate("c1", [from_lead, CustomerLeadLinked(lead_id="lead-2")], 1)
    assert c.state.leads == {"lead-1", "lead-2"}
    erased = Customer.rehydrate("c1", [from_lead, CustomerErased()], 1)
    erased.link_lead("lead-3")  # still recorded: the caller erases the lead's data at once
    assert erased.state.leads == {"lead-1", "lead-3"}
