"""Campaigns (planned -> active -> ended) and sales targets per owner and period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm.events.money import Money
from crm.events.sales import (
    CampaignChannel,
    CampaignEnded,
    CampaignLaunched,
    CampaignPlanned,
    TargetOwnerKind,
    TargetRevised,
    TargetSet,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.campaigns import Campaign, CampaignStatus
from crm.sales.domain.targets import Period, PeriodUnit, Target, local_target_id, target_id
from tests.unit.given_when_then import Scenario

START, END = date(2026, 11, 1), date(2026, 11, 30)
LAUNCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
BUDGET = Money.of("5000.00", "EUR")
PLANNED = CampaignPlanned(
    name="Black Friday",
    channel=CampaignChannel.EMAIL,
    budget=BUDGET,
    starts_on=START,
    ends_on=END,
    owner_id="mgr-1",
)
ACTIVE = (PLANNED, CampaignLaunched(launched_at=LAUNCH))
ENDED = (*ACTIVE, CampaignEnded(ended_at=LAUNCH + timedelta(days=29)))


def campaign() -> Scenario[Campaign]:
    return Scenario(Campaign, id="camp-1")


def plan(c: Campaign, **overrides: object) -> None:
    args: dict[str, object] = {
        "name": "Black Friday",
        "channel": CampaignChannel.EMAIL,
        "budget": BUDGET,
        "starts_on": START,
        "ends_on": END,
        "owner_id": "mgr-1",
    }
    args.update(overrides)
    c.plan(**args)  # type: ignore[arg-type]


# -- campaigns -----------------------------------------------------------------------------------


def test_plan_a_campaign() -> None:
    c = campaign().when(plan).then(PLANNED)
    assert c.state.status is CampaignStatus.PLANNED
    assert c.stream_id == "campaign-camp-1"


def test_a_one_day_campaign_and_a_zero_budget_are_fine() -> None:
    campaign().when(lambda c: plan(c, ends_on=START, budget=Money.zero("EUR"), owner_id=None)).then(
        PLANNED.model_copy(update={"ends_on": START, "budget": Money.zero("EUR"), "owner_id": None})
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_on": START - timedelta(days=1)}, "ends_on"),
        ({"budget": Money.of("-0.01", "EUR")}, "budget"),
        ({"name": " "}, "name"),
    ],
)
def test_plan_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    error = campaign().when(lambda c: plan(c, **overrides)).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_a_campaign_is_planned_once_and_must_exist() -> None:
    campaign().given(PLANNED).when(plan).then_raises(RuleViolated, "already exists")
    campaign().when(lambda c: c.launch(now=LAUNCH)).then_raises(NotFound)


def test_launch_a_planned_campaign_even_early() -> None:
    early = LAUNCH - timedelta(days=3)
    c = (
        campaign()
        .given(PLANNED)
        .when(lambda c: c.launch(now=early))
        .then(CampaignLaunched(launched_at=early))
    )
    assert c.state.status is CampaignStatus.ACTIVE


def test_a_campaign_past_its_last_day_is_not_launched() -> None:
    campaign().given(PLANNED).when(
        lambda c: c.launch(now=datetime(2026, 12, 1, tzinfo=UTC))
    ).then_raises(RuleViolated, "planned to end on 2026-11-30")
    campaign().given(PLANNED).when(
        lambda c: c.launch(now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    ).then(CampaignLaunched(launched_at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC)))


def test_end_an_active_campaign() -> None:
    at = LAUNCH + timedelta(days=20)
    c = (
        campaign()
        .given(*ACTIVE)
        .when(lambda c: c.end(now=at, reason="budget spent"))
        .then(CampaignEnded(ended_at=at, reason="budget spent"))
    )
    assert c.state.status is CampaignStatus.ENDED


def test_an_end_never_comes_before_the_launch() -> None:
    campaign().given(*ACTIVE).when(lambda c: c.end(now=LAUNCH - timedelta(hours=1))).then(
        CampaignEnded(ended_at=LAUNCH)
    )


@pytest.mark.parametrize(
    ("history", "command", "code"),
    [
        (ACTIVE, "launch", "campaign_active"),
        (ENDED, "launch", "campaign_ended"),
        ((PLANNED,), "end", "campaign_planned"),
        (ENDED, "end", "campaign_ended"),
    ],
)
def test_states_go_planned_active_ended_only(
    history: tuple[CampaignPlanned, ...], command: str, code: str
) -> None:
    now = LAUNCH + timedelta(days=1)
    error = (
        campaign()
        .given(*history)
        .when(lambda c: c.launch(now=now) if command == "launch" else c.end(now=now))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == code


def test_naive_times_are_refused() -> None:
    campaign().given(PLANNED).when(lambda c: c.launch(now=datetime(2026, 11, 2))).then_raises(
        InvalidCommand, "time zone"
    )


# -- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "number", "first", "last"),
    [
        ("2026-11", PeriodUnit.MONTH, 11, date(2026, 11, 1), date(2026, 11, 30)),
        ("2028-02", PeriodUnit.MONTH, 2, date(2028, 2, 1), date(2028, 2, 29)),
        ("2026-Q4", PeriodUnit.QUARTER, 4, date(2026, 10, 1), date(2026, 12, 31)),
        ("2027-Q1", PeriodUnit.QUARTER, 1, date(2027, 1, 1), date(2027, 3, 31)),
        (" 2026-Q2 ", PeriodUnit.QUARTER, 2, date(2026, 4, 1), date(2026, 6, 30)),
    ],
)
def test_parse_a_period(text: str, unit: PeriodUnit, number: int, first: date, last: date) -> None:
    period = Period.parse(text)
    assert (period.unit, period.number) == (unit, number)
    assert (period.first_day, period.last_day) == (first, last)
    assert str(period) == text.strip()
    assert first in period
    assert last in period
    assert last + timedelta(days=1) not in period


@pytest.mark.parametrize(
    "text",
    [
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "2026-q4",
        "26-11",
        "2026-1",
        "1999-01",
        "2026/11",
        "",
        "2026-11-01",
    ],
)
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        Period.parse(text)
    assert caught.value.field == "period"


# -- targets -------------------------------------------------------------------------------------

EUR_50K = Money.of("50000", "EUR")
TARGET_ID = "acme:rep-rep-1-2026-Q4"
SET = TargetSet(owner_kind=TargetOwnerKind.REP, owner_id="rep-1", period="2026-Q4", amount=EUR_50K)


def target() -> Scenario[Target]:
    return Scenario(Target, id=TARGET_ID)


def test_one_target_aggregate_per_tenant_owner_and_period() -> None:
    q4 = Period.parse("2026-Q4")
    t = Target.for_owner("acme", TargetOwnerKind.REP, "rep-1", "2026-Q4")
    assert t.id == TARGET_ID == target_id("acme", TargetOwnerKind.REP, "rep-1", q4)
    assert t.stream_id == f"target-{TARGET_ID}"
    assert t.target_id == "rep-rep-1-2026-Q4" == local_target_id(TargetOwnerKind.REP, "rep-1", q4)
    assert Target.for_owner("acme", TargetOwnerKind.TEAM, "rep-1", "2026-Q4").id != TARGET_ID
    assert Target.for_owner("acme", TargetOwnerKind.REP, "rep-1", "2026-12").id != TARGET_ID


def test_two_tenants_targets_of_the_same_rep_and_period_are_two_streams() -> None:
    """Stream ids are global: the tenant, percent-encoded, comes first, so no tenant name
    (even one holding ``:``) makes its id another tenant's."""
    ids = {
        Target.for_owner(tenant, TargetOwnerKind.REP, "r1", "2026-Q1").id
        for tenant in ("a", "b", "a:b", "a%3Ab", "a:rep-r1")
    }
    assert len(ids) == 5
    assert Target.for_owner("a:b", TargetOwnerKind.REP, "r1", "2026-Q1").id == (
        "a%3Ab:rep-r1-2026-Q1"
    )
    with pytest.raises(InvalidCommand):
        Target.for_owner("", TargetOwnerKind.REP, "r1", "2026-Q1")


def test_an_owner_id_holding_a_colon_stays_in_the_local_id() -> None:
    t = Target.for_owner("acme", TargetOwnerKind.TEAM, "eu:north", "2026-03")
    assert t.id == "acme:team-eu:north-2026-03"
    assert t.target_id == "team-eu:north-2026-03"


def test_set_a_target() -> None:
    t = target().when(lambda t: t.set(TargetOwnerKind.REP, "rep-1", "2026-Q4", EUR_50K)).then(SET)
    assert t.state.amount == EUR_50K


def test_set_on_another_owner_s_stream_is_refused() -> None:
    error = (
        target()
        .when(lambda t: t.set(TargetOwnerKind.REP, "rep-2", "2026-Q4", EUR_50K))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "target_id_mismatch"
    assert "acme" not in str(error)  # messages name the tenant's own id


@pytest.mark.parametrize("amount", [Money.of(0, "EUR"), Money.of(-100, "EUR")])
def test_a_target_is_positive(amount: Money) -> None:
    target().when(lambda t: t.set(TargetOwnerKind.REP, "rep-1", "2026-Q4", amount)).then_raises(
        InvalidCommand, "greater than zero"
    )
    target().given(SET).when(lambda t: t.revise(amount)).then_raises(InvalidCommand)


def test_setting_the_same_target_again_records_nothing_another_amount_is_refused() -> None:
    target().given(SET).when(
        lambda t: t.set(TargetOwnerKind.REP, "rep-1", "2026-Q4", EUR_50K)
    ).then_nothing()
    error = (
        target()
        .given(SET)
        .when(lambda t: t.set(TargetOwnerKind.REP, "rep-1", "2026-Q4", Money.of(1, "EUR")))
        .then_raises(RuleViolated, "revise it instead")
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "target_already_set"


def test_revise_records_old_and_new() -> None:
    new = Money.of("60000", "EUR")
    t = (
        target()
        .given(SET)
        .when(lambda t: t.revise(new, reason="new hire"))
        .then(TargetRevised(previous_amount=EUR_50K, amount=new, reason="new hire"))
    )
    assert t.state.amount == new
    target().given(SET).when(lambda t: t.revise(Money.of("50000.00", "EUR"))).then_nothing()
    target().when(lambda t: t.revise(new)).then_raises(NotFound)
