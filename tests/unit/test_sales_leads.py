"""The lead aggregate, given/when/then on events: qualification and the two-step conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from crm.events import ERASED, EventEnvelope, EventMetadata
from crm.events.money import Money
from crm.events.sales import (
    LeadCaptured,
    LeadConversionRequested,
    LeadConverted,
    LeadDisqualified,
    LeadQualified,
)
from crm.kernel.codec import EventCodec
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.leads import Lead, LeadStatus, conversion_ids
from tests.unit.given_when_then import Scenario

LEAD_ID = "0b7f3c5e-8d2a-4f61-9a0e-5c4b3a291d10"
CUSTOMER_ID, OPPORTUNITY_ID = conversion_ids(LEAD_ID)
AMOUNT = Money.of("25000", "EUR")
CLOSE = date(2027, 3, 31)
CAPTURED = LeadCaptured(
    name="Grace Hopper",
    email="grace@navy.example",
    phone="+1 555 0100",
    company="US Navy",
    source="webinar",
    campaign_id="camp-1",
    owner_id="rep-1",
)
QUALIFIED = (CAPTURED, LeadQualified())
REQUESTED = LeadConversionRequested(
    customer_id=CUSTOMER_ID,
    new_customer=True,
    opportunity_id=OPPORTUNITY_ID,
    opportunity_name="Navy fleet",
    amount=AMOUNT,
    expected_close_date=CLOSE,
    owner_id="rep-1",
    contact_name="Grace Hopper",
    contact_email="grace@navy.example",
    contact_phone="+1 555 0100",
    company="US Navy",
    source="webinar",
    campaign_id="camp-1",
)
CONVERTING = (*QUALIFIED, REQUESTED)
CONVERTED = (*CONVERTING, LeadConverted(customer_id=CUSTOMER_ID, opportunity_id=OPPORTUNITY_ID))


def lead() -> Scenario[Lead]:
    return Scenario(Lead, id=LEAD_ID)


def convert(lead: Lead, **overrides: object) -> None:
    args: dict[str, object] = {
        "opportunity_name": "Navy fleet",
        "amount": AMOUNT,
        "expected_close_date": CLOSE,
    }
    args.update(overrides)
    lead.convert(**args)  # type: ignore[arg-type]


# -- capture -------------------------------------------------------------------------------------


def test_capture_a_lead_from_a_campaign() -> None:
    lead_ = (
        lead()
        .when(
            lambda l_: l_.capture(
                name=" Grace Hopper ",
                email="grace@navy.example",
                phone="+1 555 0100",
                company="US Navy",
                title=" ",
                source="webinar",
                campaign_id="camp-1",
                owner_id="rep-1",
            )
        )
        .then(CAPTURED)
    )
    assert lead_.state.status is LeadStatus.OPEN
    assert lead_.state.contact is not None
    assert lead_.state.contact.company == "US Navy"
    assert lead_.stream_id == f"lead-{LEAD_ID}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "owner_id": "rep-1"}, "name"),
        ({"name": "Grace", "owner_id": ""}, "owner_id"),
        ({"name": "Grace", "owner_id": "rep-1", "email": "grace.navy"}, "email"),
        ({"name": "Grace", "owner_id": "rep-1", "email": "a@b@c"}, "email"),
        ({"name": "x" * 201, "owner_id": "rep-1"}, "name"),
    ],
)
def test_capture_refuses_bad_input(kwargs: dict[str, str], field: str) -> None:
    error = lead().when(lambda l_: l_.capture(**kwargs)).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_a_lead_is_captured_once() -> None:
    lead().given(CAPTURED).when(lambda l_: l_.capture(name="Grace", owner_id="rep-1")).then_raises(
        RuleViolated, "already exists"
    )


def test_commands_on_a_lead_never_captured_are_not_found() -> None:
    lead().when(lambda l_: l_.qualify()).then_raises(NotFound)
    lead().when(lambda l_: l_.disqualify("spam")).then_raises(NotFound)
    lead().when(convert).then_raises(NotFound)


# -- qualify / disqualify ------------------------------------------------------------------------


def test_qualify_an_open_lead() -> None:
    lead_ = (
        lead()
        .given(CAPTURED)
        .when(lambda l_: l_.qualify("budget confirmed"))
        .then(LeadQualified(note="budget confirmed"))
    )
    assert lead_.state.status is LeadStatus.QUALIFIED


@pytest.mark.parametrize(
    ("history", "status"),
    [
        (QUALIFIED, "qualified"),
        ((CAPTURED, LeadDisqualified(reason="spam")), "disqualified"),
        (CONVERTING, "converting"),
        (CONVERTED, "converted"),
    ],
)
def test_only_an_open_lead_is_qualified(history: tuple[LeadCaptured, ...], status: str) -> None:
    error = (
        lead()
        .given(*history)
        .when(lambda l_: l_.qualify())
        .then_raises(RuleViolated, f"is {status}; cannot qualify")
    )
    assert isinstance(error, RuleViolated)
    assert error.code == f"lead_{status}"


@pytest.mark.parametrize("history", [(CAPTURED,), QUALIFIED], ids=["open", "qualified"])
def test_disqualify_an_open_or_qualified_lead_with_a_reason(
    history: tuple[LeadCaptured, ...],
) -> None:
    lead_ = (
        lead()
        .given(*history)
        .when(lambda l_: l_.disqualify(" no budget "))
        .then(LeadDisqualified(reason="no budget"))
    )
    assert lead_.state.status is LeadStatus.DISQUALIFIED
    assert lead_.state.disqualified_reason == "no budget"


def test_disqualify_needs_a_reason() -> None:
    error = lead().given(CAPTURED).when(lambda l_: l_.disqualify("   ")).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == "reason"


@pytest.mark.parametrize(
    "history",
    [(CAPTURED, LeadDisqualified(reason="spam")), CONVERTING, CONVERTED],
    ids=["disqualified", "converting", "converted"],
)
def test_a_disqualified_or_converting_lead_cannot_be_disqualified(
    history: tuple[LeadCaptured, ...],
) -> None:
    lead().given(*history).when(lambda l_: l_.disqualify("spam")).then_raises(
        RuleViolated, "cannot disqualify"
    )


# -- conversion ----------------------------------------------------------------------------------


def test_conversion_ids_are_deterministic_distinct_uuids() -> None:
    assert conversion_ids(LEAD_ID) == (CUSTOMER_ID, OPPORTUNITY_ID)
    assert CUSTOMER_ID != OPPORTUNITY_ID
    assert UUID(CUSTOMER_ID).version == 5
    other = str(uuid4())
    assert set(conversion_ids(other)).isdisjoint({CUSTOMER_ID, OPPORTUNITY_ID})


def test_convert_a_qualified_lead_for_a_new_customer() -> None:
    lead_ = lead().given(*QUALIFIED).when(convert).then(REQUESTED)
    assert lead_.state.status is LeadStatus.CONVERTING
    assert lead_.state.conversion == REQUESTED


def test_convert_for_an_existing_customer_and_another_owner() -> None:
    lead().given(*QUALIFIED).when(
        lambda l_: convert(l_, existing_customer_id="cust-9", owner_id="rep-2")
    ).then(
        REQUESTED.model_copy(
            update={
                "customer_id": "cust-9",
                "new_customer": False,
                "owner_id": "rep-2",
                # an existing customer keeps its own profile: no contact data travels
                "contact_name": None,
                "contact_email": None,
                "contact_phone": None,
                "company": None,
                "title": None,
            }
        )
    )


@pytest.mark.parametrize(
    ("history", "code"),
    [
        ((CAPTURED,), "lead_not_qualified"),
        ((CAPTURED, LeadDisqualified(reason="spam")), "lead_not_qualified"),
    ],
    ids=["open", "disqualified"],
)
def test_only_a_qualified_lead_is_converted(history: tuple[LeadCaptured, ...], code: str) -> None:
    error = lead().given(*history).when(convert).then_raises(RuleViolated, "only a qualified")
    assert isinstance(error, RuleViolated)
    assert error.code == code


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": Money.of(0, "EUR")}, "amount"),
        ({"opportunity_name": ""}, "opportunity_name"),
        ({"existing_customer_id": " "}, "existing_customer_id"),
    ],
)
def test_convert_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    error = (
        lead()
        .given(*QUALIFIED)
        .when(lambda l_: convert(l_, **overrides))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == field


@pytest.mark.parametrize("history", [CONVERTING, CONVERTED], ids=["converting", "converted"])
def test_the_same_conversion_again_records_nothing(history: tuple[LeadCaptured, ...]) -> None:
    lead().given(*history).when(convert).then_nothing()


@pytest.mark.parametrize("history", [CONVERTING, CONVERTED], ids=["converting", "converted"])
def test_a_different_conversion_is_refused_clearly(history: tuple[LeadCaptured, ...]) -> None:
    error = (
        lead()
        .given(*history)
        .when(lambda l_: convert(l_, amount=Money.of("30000", "EUR")))
        .then_raises(RuleViolated, f"into opportunity {OPPORTUNITY_ID}; a lead converts once")
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "lead_already_converted"


def test_complete_the_conversion_once() -> None:
    lead_ = (
        lead()
        .given(*CONVERTING)
        .when(
            lambda l_: l_.complete_conversion(
                customer_id=CUSTOMER_ID, opportunity_id=OPPORTUNITY_ID
            )
        )
        .then(LeadConverted(customer_id=CUSTOMER_ID, opportunity_id=OPPORTUNITY_ID))
    )
    assert lead_.state.status is LeadStatus.CONVERTED
    lead().given(*CONVERTED).when(
        lambda l_: l_.complete_conversion(customer_id=CUSTOMER_ID, opportunity_id=OPPORTUNITY_ID)
    ).then_nothing()


def test_completion_must_match_the_request_and_follow_one() -> None:
    error = (
        lead()
        .given(*CONVERTING)
        .when(lambda l_: l_.complete_conversion(customer_id="other", opportunity_id=OPPORTUNITY_ID))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "conversion_mismatch"
    error = (
        lead()
        .given(*QUALIFIED)
        .when(
            lambda l_: l_.complete_conversion(
                customer_id=CUSTOMER_ID, opportunity_id=OPPORTUNITY_ID
            )
        )
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "no_conversion_requested"


# -- personal data -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 3, tzinfo=UTC)
META = EventMetadata(tenant="t", actor="rep-1", correlation_id=uuid4())


async def test_the_lead_contact_is_sealed_with_the_lead_s_key_and_can_be_erased(
    codec: EventCodec,
) -> None:
    stream = f"lead-{LEAD_ID}"
    [stored] = await codec.encode(stream, [CAPTURED], META, NOW)
    for field in ("name", "email", "phone"):
        assert stored.payload[field].startswith(f"enc:v1:{stream}:")
    assert stored.payload["company"] == "US Navy"
    envelope = EventEnvelope(
        event_id=stored.event_id,
        event_type=stored.event_type,
        schema_version=stored.schema_version,
        stream_id=stream,
        stream_version=0,
        position=1,
        occurred_at=NOW,
        recorded_at=NOW,
        tenant="t",
        actor="rep-1",
        correlation_id=META.correlation_id,
        causation_id=None,
        payload=stored.payload,
    )
    assert await codec.decode([envelope]) == [CAPTURED]
    await codec.erase(stream)
    [erased] = await codec.decode([envelope])
    assert isinstance(erased, LeadCaptured)
    assert (erased.name, erased.email, erased.phone, erased.company) == (
        ERASED,
        ERASED,
        ERASED,
        "US Navy",
    )
