"""A campaign's budget and dates revised: the checks of planning, a launched campaign keeps
its start and may not end in the past, an ended one is not revised."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.events.money import Money
from crm.events.sales import CampaignRevised
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain.campaigns import Campaign
from tests.unit.given_when_then import Scenario
from tests.unit.test_sales_campaigns_targets import (
    ACTIVE,
    BUDGET,
    END,
    ENDED,
    LAUNCH,
    PLANNED,
    START,
    campaign,
)

MORE = Money.of("7500.00", "EUR")


def revise(c: Campaign, **overrides: object) -> None:
    args: dict[str, object] = {
        "now": LAUNCH,
        "budget": MORE,
        "starts_on": START,
        "ends_on": END,
        "reason": "board approved",
    }
    args.update(overrides)
    c.revise(**args)  # type: ignore[arg-type]


def test_a_planned_campaign_gets_a_new_budget_and_dates() -> None:
    later = START + timedelta(days=7)
    c = (
        campaign()
        .given(PLANNED)
        .when(lambda c: revise(c, starts_on=later, ends_on=later))
        .then(CampaignRevised(budget=MORE, starts_on=later, ends_on=later, reason="board approved"))
    )
    assert (c.state.budget, c.state.starts_on, c.state.ends_on) == (MORE, later, later)


def test_an_active_campaign_is_extended() -> None:
    longer = END + timedelta(days=14)
    campaign().given(*ACTIVE).when(lambda c: revise(c, budget=BUDGET, ends_on=longer)).then(
        CampaignRevised(budget=BUDGET, starts_on=START, ends_on=longer, reason="board approved")
    )


@pytest.mark.parametrize(
    ("events", "overrides", "field"),
    [
        ((PLANNED,), {"budget": Money.of("-1", "EUR")}, "budget"),
        ((PLANNED,), {"ends_on": START - timedelta(days=1)}, "ends_on"),
        ((PLANNED,), {"budget": BUDGET}, "budget"),  # nothing changed
        (ACTIVE, {"starts_on": START + timedelta(days=1)}, "starts_on"),
        (ACTIVE, {"now": LAUNCH + timedelta(days=40), "ends_on": END}, "ends_on"),
    ],
)
def test_revise_refuses_bad_input(
    events: tuple[object, ...], overrides: dict[str, object], field: str
) -> None:
    error = (
        campaign()
        .given(*events)  # type: ignore[arg-type]
        .when(lambda c: revise(c, **overrides))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_an_ended_or_missing_campaign_is_not_revised() -> None:
    campaign().given(*ENDED).when(revise).then_raises(RuleViolated, "ended")
    Scenario(Campaign, id="nope").when(revise).then_raises(NotFound)
