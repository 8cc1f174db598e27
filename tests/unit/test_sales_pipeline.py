"""The pipeline of a tenant, and the published language of the sales pipeline events."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime

import pytest

from crm.events import REGISTRY, DomainEvent
from crm.events.customer import CUSTOMER_EVENTS
from crm.events.money import Money
from crm.events.sales import (
    SALES_PIPELINE_EVENTS,
    LeadCaptured,
    LeadConversionRequested,
    OpportunityCustomFieldsChanged,
    OpportunityLost,
    OpportunityOpened,
    PipelineConfigured,
    StageDefinition,
    StageOutcome,
    TargetOwnerKind,
    TargetSet,
)
from crm.kernel.errors import InvalidCommand
from crm.sales.domain.pipeline import (
    DEFAULT_PIPELINE,
    Pipeline,
    PipelineDefinition,
    UnknownStage,
)
from tests.unit.given_when_then import Scenario

OPEN, WON, LOST = StageOutcome.OPEN, StageOutcome.WON, StageOutcome.LOST
SHORT = (
    StageDefinition(name="discovery", probability=25),
    StageDefinition(name="demo", probability=50),
    StageDefinition(name="closed_won", probability=100, outcome=WON),
    StageDefinition(name="closed_lost", probability=0, outcome=LOST),
)


def pipeline() -> Scenario[Pipeline]:
    return Scenario(Pipeline, id="tenant-a")


def test_the_default_pipeline() -> None:
    assert [(s.name, s.probability, s.outcome) for s in DEFAULT_PIPELINE.stages] == [
        ("prospecting", 10, OPEN),
        ("qualification", 20, OPEN),
        ("needs_analysis", 40, OPEN),
        ("proposal", 60, OPEN),
        ("negotiation", 80, OPEN),
        ("won", 100, WON),
        ("lost", 0, LOST),
    ]
    assert DEFAULT_PIPELINE.first_open.name == "prospecting"
    assert (DEFAULT_PIPELINE.won.name, DEFAULT_PIPELINE.lost.name) == ("won", "lost")


def test_a_tenant_that_never_configured_uses_the_default() -> None:
    p = Pipeline.rehydrate("tenant-a", [], -1)
    assert p.definition == DEFAULT_PIPELINE
    assert p.stream_id == "pipeline-tenant-a"


def test_configure_records_the_whole_ordered_pipeline() -> None:
    p = (
        pipeline()
        .when(lambda p: p.configure([(s.name, s.probability, s.outcome) for s in SHORT]))
        .then(PipelineConfigured(stages=SHORT))
    )
    assert [s.name for s in p.definition.open_stages] == ["discovery", "demo"]
    assert p.definition.won.name == "closed_won"


def test_the_same_configuration_again_records_nothing_a_new_one_replaces_it() -> None:
    pipeline().given(PipelineConfigured(stages=SHORT)).when(
        lambda p: p.configure(SHORT)
    ).then_nothing()
    reordered = (SHORT[1], SHORT[0], *SHORT[2:])
    p = (
        pipeline()
        .given(PipelineConfigured(stages=SHORT))
        .when(lambda p: p.configure(reordered))
        .then(PipelineConfigured(stages=reordered))
    )
    assert p.definition.first_open.name == "demo"


def test_configuring_the_default_explicitly_is_recorded() -> None:
    pipeline().when(lambda p: p.configure(DEFAULT_PIPELINE.stages)).then(
        PipelineConfigured(stages=DEFAULT_PIPELINE.stages)
    )


@pytest.mark.parametrize(
    ("stages", "field", "message"),
    [
        (
            [("a", 10, OPEN), ("a", 20, OPEN), ("w", 100, WON), ("l", 0, LOST)],
            "stages[1].name",
            "twice",
        ),
        ([("w", 100, WON), ("l", 0, LOST)], "stages", "at least one open stage"),
        ([], "stages", "at least one open stage"),
        (
            [("a", 10, OPEN), ("w", 100, WON), ("v", 100, WON), ("l", 0, LOST)],
            "stages",
            "exactly one won stage, not 2",
        ),
        ([("a", 10, OPEN), ("w", 100, WON)], "stages", "exactly one lost stage, not 0"),
        ([("a", 101, OPEN), ("w", 100, WON), ("l", 0, LOST)], "stages[0].probability", ""),
        ([("a", -1, OPEN), ("w", 100, WON), ("l", 0, LOST)], "stages[0].probability", ""),
        ([("a", 10, OPEN), ("w", 90, WON), ("l", 0, LOST)], "stages[1].probability", "100"),
        ([("a", 10, OPEN), ("w", 100, WON), ("l", 5, LOST)], "stages[2].probability", "0"),
        (
            [("Needs Analysis", 10, OPEN), ("w", 100, WON), ("l", 0, LOST)],
            "stages[0].name",
            "lower-case",
        ),
        ([("", 10, OPEN), ("w", 100, WON), ("l", 0, LOST)], "stages[0].name", "lower-case"),
        (
            [(f"s{i}", 10, OPEN) for i in range(29)] + [("w", 100, WON), ("l", 0, LOST)],
            "stages",
            "at most 30",
        ),
    ],
)
def test_invalid_pipelines_are_refused_naming_the_field(
    stages: list[tuple[str, int, StageOutcome]], field: str, message: str
) -> None:
    error = pipeline().when(lambda p: p.configure(stages)).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field
    assert message in error.message


def test_thirty_stages_are_allowed() -> None:
    stages = [(f"s{i}", 10, OPEN) for i in range(28)] + [("w", 100, WON), ("l", 0, LOST)]
    assert len(PipelineDefinition.of(stages).stages) == 30


def test_the_terminal_stages_may_sit_anywhere_in_the_order() -> None:
    p = PipelineDefinition.of([("lost_early", 0, LOST), ("a", 30, OPEN), ("done", 100, WON)])
    assert p.first_open.name == "a"
    assert p.lost.name == "lost_early"


def test_only_open_stages_are_destinations() -> None:
    assert DEFAULT_PIPELINE.open_stage("proposal").probability == 60
    with pytest.raises(UnknownStage, match="not a stage of the pipeline; open stages: prosp"):
        DEFAULT_PIPELINE.open_stage("closing")
    with pytest.raises(UnknownStage, match="'won' is the won stage") as caught:
        DEFAULT_PIPELINE.open_stage("won")
    assert caught.value.field == "stage"
    assert caught.value.stage == "won"
    assert DEFAULT_PIPELINE.index("negotiation") == 4
    assert DEFAULT_PIPELINE.index("gone") is None


# -- published language --------------------------------------------------------------------------


def test_every_sales_pipeline_event_is_registered_once_under_its_own_name() -> None:
    types = [e.event_type for e in SALES_PIPELINE_EVENTS]
    assert len(set(types)) == len(types)
    assert all(t.startswith("sales.") for t in types)
    for cls in SALES_PIPELINE_EVENTS:
        assert REGISTRY.model(cls.event_type) is cls
    assert not set(types) & {e.event_type for e in CUSTOMER_EVENTS}


def test_no_clash_with_the_order_to_cash_events_of_the_same_context() -> None:
    try:
        orders = importlib.import_module("crm.events.sales_orders")
    except ImportError:
        pytest.skip("crm.events.sales_orders is not there yet")
    theirs = {
        v.event_type
        for v in vars(orders).values()
        if isinstance(v, type) and issubclass(v, DomainEvent) and v is not DomainEvent
    }
    assert theirs
    assert not theirs & {e.event_type for e in SALES_PIPELINE_EVENTS}


def test_only_the_lead_contact_is_personal_data() -> None:
    # and the personal custom fields, sealed together (an opportunity's with its customer's key)
    assert LeadCaptured.personal_fields == {"name", "email", "phone", "custom_personal"}
    assert LeadConversionRequested.personal_fields == {
        "contact_name",
        "contact_email",
        "contact_phone",
    }
    custom = (OpportunityOpened, OpportunityCustomFieldsChanged)
    assert all(e.personal_fields == {"custom_personal"} for e in custom)
    opened = OpportunityOpened(
        customer_id="c-1",
        owner_id="rep-1",
        name="Fleet",
        amount=Money.of("1", "EUR"),
        expected_close_date=date(2026, 12, 31),
        stage="prospecting",
        probability=10,
        entered_at=AT,
    )
    assert opened.data_subject("opportunity-o-1") == "customer-c-1"
    known = (LeadCaptured, LeadConversionRequested, *custom)
    others = [e for e in SALES_PIPELINE_EVENTS if e not in known]
    assert all(not e.personal_fields for e in others)


AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
SAMPLES: list[DomainEvent] = [
    LeadCaptured(name="Grace Hopper", email="grace@navy.example", owner_id="rep-1"),
    OpportunityOpened(
        customer_id="c-1",
        owner_id="rep-1",
        name="Fleet",
        amount=Money.of("12500.50", "EUR"),
        expected_close_date=date(2026, 12, 31),
        stage="prospecting",
        probability=10,
        entered_at=AT,
        lead_id="l-1",
    ),
    OpportunityLost(reason="price", lost_at_stage="proposal", stage="lost", closed_at=AT),
    PipelineConfigured(stages=SHORT),
    TargetSet(
        owner_kind=TargetOwnerKind.TEAM,
        owner_id="emea",
        period="2026-Q4",
        amount=Money.of(100000, "USD"),
    ),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.event_type)
def test_events_survive_the_json_round_trip(event: DomainEvent) -> None:
    payload = event.model_dump(mode="json")
    assert REGISTRY.decode(event.event_type, event.schema_version, payload) == event


def test_amounts_travel_as_decimal_strings_and_periods_are_checked() -> None:
    assert SAMPLES[1].model_dump(mode="json")["amount"] == {
        "amount": "12500.50",
        "currency": "EUR",
    }
    with pytest.raises(ValueError, match="period"):
        TargetSet(
            owner_kind=TargetOwnerKind.REP,
            owner_id="rep-1",
            period="2026-13",
            amount=Money.of(1, "EUR"),
        )
