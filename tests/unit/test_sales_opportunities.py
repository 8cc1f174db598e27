"""The opportunity aggregate, given/when/then on events, against the pipeline it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from crm.events.money import Money
from crm.events.sales import (
    OpportunityAmountRevised,
    OpportunityCloseDateRevised,
    OpportunityLost,
    OpportunityOpened,
    OpportunityOwnerReassigned,
    OpportunityReopened,
    OpportunityStageChanged,
    OpportunityWon,
    StageDirection,
    StageOutcome,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.opportunities import Opportunity, OpportunityStatus
from crm.sales.domain.pipeline import DEFAULT_PIPELINE, PipelineDefinition, UnknownStage
from tests.unit.given_when_then import Scenario

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=3)
T2 = T1 + timedelta(days=4)
EUR_10K = Money.of("10000.00", "EUR")
CLOSE = date(2026, 12, 15)
P = DEFAULT_PIPELINE
OPENED = OpportunityOpened(
    customer_id="c-1",
    owner_id="rep-1",
    name="Fleet renewal",
    amount=EUR_10K,
    expected_close_date=CLOSE,
    stage="prospecting",
    probability=10,
    entered_at=T0,
    lead_id="l-1",
    campaign_id="camp-1",
)
IN_PROPOSAL = (
    OPENED,
    OpportunityStageChanged(
        from_stage="prospecting",
        to_stage="proposal",
        direction=StageDirection.FORWARD,
        entered_at=T1,
        probability=60,
    ),
)
WON = (
    *IN_PROPOSAL,
    OpportunityWon(from_stage="proposal", stage="won", amount=EUR_10K, closed_at=T2),
)
LOST = (
    *IN_PROPOSAL,
    OpportunityLost(reason="price", lost_at_stage="proposal", stage="lost", closed_at=T2),
)


def opportunity() -> Scenario[Opportunity]:
    return Scenario(Opportunity, id="o-1")


def open_default(o: Opportunity, **overrides: object) -> None:
    args: dict[str, object] = {
        "customer_id": "c-1",
        "owner_id": "rep-1",
        "name": "Fleet renewal",
        "amount": EUR_10K,
        "expected_close_date": CLOSE,
        "pipeline": P,
        "now": T0,
        "lead_id": "l-1",
        "campaign_id": "camp-1",
    }
    args.update(overrides)
    o.open(**args)  # type: ignore[arg-type]


# -- open ----------------------------------------------------------------------------------------


def test_open_in_the_first_open_stage_with_its_probability() -> None:
    o = opportunity().when(open_default).then(OPENED)
    assert o.state.is_open
    assert (o.state.stage, o.state.probability, o.state.entered_at) == ("prospecting", 10, T0)
    assert o.stream_id == "opportunity-o-1"


def test_open_in_a_chosen_open_stage() -> None:
    o = (
        opportunity()
        .when(lambda o: open_default(o, stage="needs_analysis"))
        .then(OPENED.model_copy(update={"stage": "needs_analysis", "probability": 40}))
    )
    assert o.state.stage == "needs_analysis"


def test_open_follows_the_pipeline_it_is_given() -> None:
    custom = PipelineDefinition.of(
        [
            ("discovery", 30, StageOutcome.OPEN),
            ("yes", 100, StageOutcome.WON),
            ("no", 0, StageOutcome.LOST),
        ]
    )
    opportunity().when(lambda o: open_default(o, pipeline=custom)).then(
        OPENED.model_copy(update={"stage": "discovery", "probability": 30})
    )
    opportunity().when(lambda o: open_default(o, pipeline=custom, stage="prospecting")).then_raises(
        UnknownStage, "not a stage"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": Money.of(0, "EUR")}, "amount"),
        ({"amount": Money.of("-5", "EUR")}, "amount"),
        ({"name": "  "}, "name"),
        ({"customer_id": ""}, "customer_id"),
        ({"owner_id": " "}, "owner_id"),
        ({"stage": "won"}, "stage"),
        ({"stage": "lost"}, "stage"),
        ({"now": datetime(2026, 11, 2, 9, 0)}, "now"),
    ],
)
def test_open_refuses_bad_input_naming_the_field(overrides: dict[str, object], field: str) -> None:
    error = opportunity().when(lambda o: open_default(o, **overrides)).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_opening_again_from_the_same_lead_is_a_no_op_anything_else_is_refused() -> None:
    opportunity().given(OPENED).when(open_default).then_nothing()
    opportunity().given(OPENED).when(lambda o: open_default(o, lead_id=None)).then_raises(
        RuleViolated, "already exists"
    )
    opportunity().given(OPENED).when(lambda o: open_default(o, lead_id="l-2")).then_raises(
        RuleViolated, "already exists"
    )


def test_commands_on_an_opportunity_never_opened_are_not_found() -> None:
    for command in (
        lambda o: o.move_to("proposal", pipeline=P, now=T1),
        lambda o: o.win(pipeline=P, now=T1),
        lambda o: o.reopen("proposal", pipeline=P, now=T1),
        lambda o: o.revise_amount(EUR_10K),
    ):
        opportunity().when(command).then_raises(NotFound)


# -- stages --------------------------------------------------------------------------------------


def test_move_forward_records_from_to_entered_at_and_probability() -> None:
    o = (
        opportunity()
        .given(OPENED)
        .when(lambda o: o.move_to("proposal", pipeline=P, now=T1))
        .then(IN_PROPOSAL[1])
    )
    assert (o.state.stage, o.state.probability, o.state.entered_at) == ("proposal", 60, T1)


def test_move_back_is_recorded_as_backward() -> None:
    opportunity().given(*IN_PROPOSAL).when(
        lambda o: o.move_to("qualification", pipeline=P, now=T2)
    ).then(
        OpportunityStageChanged(
            from_stage="proposal",
            to_stage="qualification",
            direction=StageDirection.BACKWARD,
            entered_at=T2,
            probability=20,
        )
    )


def test_moving_to_the_current_stage_records_nothing() -> None:
    opportunity().given(*IN_PROPOSAL).when(
        lambda o: o.move_to("proposal", pipeline=P, now=T2)
    ).then_nothing()


@pytest.mark.parametrize("stage", ["won", "lost", "closing", "Proposal"])
def test_only_open_stages_of_the_pipeline_can_be_moved_to(stage: str) -> None:
    error = (
        opportunity()
        .given(OPENED)
        .when(lambda o: o.move_to(stage, pipeline=P, now=T1))
        .then_raises(UnknownStage)
    )
    assert isinstance(error, UnknownStage)
    assert error.field == "stage"


def test_a_clock_behind_the_last_move_never_records_a_move_back_in_time() -> None:
    opportunity().given(*IN_PROPOSAL).when(
        lambda o: o.move_to("negotiation", pipeline=P, now=T0)
    ).then(
        OpportunityStageChanged(
            from_stage="proposal",
            to_stage="negotiation",
            direction=StageDirection.FORWARD,
            entered_at=T1,
            probability=80,
        )
    )


def test_leaving_a_stage_the_pipeline_no_longer_has() -> None:
    trimmed = PipelineDefinition.of(
        [(s.name, s.probability, s.outcome) for s in P.stages if s.name != "proposal"]
    )
    opportunity().given(*IN_PROPOSAL).when(
        lambda o: o.move_to("prospecting", pipeline=trimmed, now=T2)
    ).then(
        OpportunityStageChanged(
            from_stage="proposal",
            to_stage="prospecting",
            direction=StageDirection.FORWARD,
            entered_at=T2,
            probability=10,
        )
    )


# -- win, lose, reopen ---------------------------------------------------------------------------


def test_win_from_an_open_stage() -> None:
    o = opportunity().given(*IN_PROPOSAL).when(lambda o: o.win(pipeline=P, now=T2)).then(WON[-1])
    assert o.state.status is OpportunityStatus.WON
    assert (o.state.stage, o.state.probability) == ("won", 100)


def test_win_uses_the_pipeline_s_won_stage() -> None:
    custom = PipelineDefinition.of(
        [
            ("proposal", 50, StageOutcome.OPEN),
            ("signed", 100, StageOutcome.WON),
            ("dropped", 0, StageOutcome.LOST),
        ]
    )
    opportunity().given(*IN_PROPOSAL).when(lambda o: o.win(pipeline=custom, now=T2)).then(
        OpportunityWon(from_stage="proposal", stage="signed", amount=EUR_10K, closed_at=T2)
    )


def test_lose_records_the_reason_and_the_stage_lost_at() -> None:
    o = (
        opportunity()
        .given(*IN_PROPOSAL)
        .when(lambda o: o.lose("  price  ", pipeline=P, now=T2))
        .then(LOST[-1])
    )
    assert o.state.status is OpportunityStatus.LOST
    assert (o.state.lost_at_stage, o.state.lost_reason, o.state.probability) == (
        "proposal",
        "price",
        0,
    )


def test_lose_needs_a_reason() -> None:
    error = (
        opportunity()
        .given(*IN_PROPOSAL)
        .when(lambda o: o.lose(" ", pipeline=P, now=T2))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == "reason"


CLOSED_CHANGES: list[Callable[[Opportunity], None]] = [
    lambda o: o.win(pipeline=P, now=T2),
    lambda o: o.lose("late", pipeline=P, now=T2),
    lambda o: o.move_to("negotiation", pipeline=P, now=T2),
    lambda o: o.revise_amount(Money.of(1, "EUR")),
    lambda o: o.revise_close_date(date(2027, 1, 1)),
    lambda o: o.reassign("rep-2"),
]


@pytest.mark.parametrize("history", [WON, LOST], ids=["won", "lost"])
@pytest.mark.parametrize("command", CLOSED_CHANGES)
def test_a_closed_opportunity_changes_only_by_reopening(
    history: tuple[OpportunityOpened, ...], command: Callable[[Opportunity], None]
) -> None:
    error = opportunity().given(*history).when(command).then_raises(RuleViolated, "reopening")
    assert isinstance(error, RuleViolated)
    assert error.code == "opportunity_closed"


@pytest.mark.parametrize(
    ("history", "closed_in"), [(WON, "won"), (LOST, "lost")], ids=["won", "lost"]
)
def test_reopen_a_closed_opportunity_to_a_given_open_stage(
    history: tuple[OpportunityOpened, ...], closed_in: str
) -> None:
    later = T2 + timedelta(days=10)
    o = (
        opportunity()
        .given(*history)
        .when(lambda o: o.reopen("negotiation", pipeline=P, now=later, reason="budget back"))
        .then(
            OpportunityReopened(
                from_stage=closed_in,
                to_stage="negotiation",
                entered_at=later,
                probability=80,
                reason="budget back",
            )
        )
    )
    assert o.state.is_open
    assert o.state.lost_reason is None
    o.move_to("proposal", pipeline=P, now=later + timedelta(hours=1))
    assert o.state.stage == "proposal"


def test_reopen_only_a_closed_opportunity_and_only_to_an_open_stage() -> None:
    error = (
        opportunity()
        .given(*IN_PROPOSAL)
        .when(lambda o: o.reopen("proposal", pipeline=P, now=T2))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "opportunity_open"
    opportunity().given(*LOST).when(lambda o: o.reopen("won", pipeline=P, now=T2)).then_raises(
        UnknownStage
    )


def test_closing_with_a_clock_behind_the_last_stage_keeps_time_in_order() -> None:
    opportunity().given(*IN_PROPOSAL).when(lambda o: o.win(pipeline=P, now=T0)).then(
        OpportunityWon(from_stage="proposal", stage="won", amount=EUR_10K, closed_at=T1)
    )


# -- revisions -----------------------------------------------------------------------------------


def test_revise_the_amount_in_its_currency() -> None:
    new = Money.of("12000", "EUR")
    o = (
        opportunity()
        .given(OPENED)
        .when(lambda o: o.revise_amount(new))
        .then(OpportunityAmountRevised(previous_amount=EUR_10K, amount=new))
    )
    assert o.state.amount == new
    opportunity().given(OPENED).when(
        lambda o: o.revise_amount(Money.of("10000", "EUR"))
    ).then_nothing()


def test_the_currency_changes_only_when_asked_explicitly() -> None:
    usd = Money.of("11000", "USD")
    error = (
        opportunity().given(OPENED).when(lambda o: o.revise_amount(usd)).then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "currency_fixed"
    opportunity().given(OPENED).when(lambda o: o.revise_amount(usd, change_currency=True)).then(
        OpportunityAmountRevised(previous_amount=EUR_10K, amount=usd)
    )


@pytest.mark.parametrize("amount", [Money.of(0, "EUR"), Money.of(-1, "EUR")])
def test_a_revised_amount_must_be_positive(amount: Money) -> None:
    opportunity().given(OPENED).when(lambda o: o.revise_amount(amount)).then_raises(
        InvalidCommand, "greater than zero"
    )


def test_a_won_opportunity_keeps_its_last_amount() -> None:
    new = Money.of("9000", "EUR")
    o = Opportunity.rehydrate(
        "o-1", [*IN_PROPOSAL, OpportunityAmountRevised(previous_amount=EUR_10K, amount=new)], 2
    )
    o.win(pipeline=P, now=T2)
    assert o.changes == (
        OpportunityWon(from_stage="proposal", stage="won", amount=new, closed_at=T2),
    )


def test_revise_the_close_date_and_reassign_the_owner() -> None:
    later = date(2027, 2, 1)
    opportunity().given(OPENED).when(lambda o: o.revise_close_date(later)).then(
        OpportunityCloseDateRevised(previous_close_date=CLOSE, expected_close_date=later)
    )
    opportunity().given(OPENED).when(lambda o: o.revise_close_date(CLOSE)).then_nothing()
    o = (
        opportunity()
        .given(OPENED)
        .when(lambda o: o.reassign("rep-2"))
        .then(OpportunityOwnerReassigned(previous_owner_id="rep-1", owner_id="rep-2"))
    )
    assert o.state.owner_id == "rep-2"
    opportunity().given(OPENED).when(lambda o: o.reassign("rep-1")).then_nothing()


def test_state_rebuilt_from_history_is_the_state_commands_see() -> None:
    history = (
        *LOST,
        OpportunityReopened(
            from_stage="lost", to_stage="qualification", entered_at=T2, probability=20
        ),
        OpportunityOwnerReassigned(previous_owner_id="rep-1", owner_id="rep-3"),
    )
    o = Opportunity.rehydrate("o-1", history, len(history) - 1)
    assert o.state.is_open
    assert (o.state.stage, o.state.owner_id, o.state.entered_at) == ("qualification", "rep-3", T2)
    assert (o.state.customer_id, o.state.lead_id, o.state.campaign_id) == ("c-1", "l-1", "camp-1")
    assert o.version == 4
