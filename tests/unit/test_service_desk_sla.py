"""SLA policies per contract level, their selection and application to a new ticket, and the
service contracts that select them, given/when/then on events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from crm.events.service_desk import (
    ContractChanged,
    ContractEnded,
    ContractLevel,
    ContractSigned,
    PriorityTargets,
    SlaPolicyDefined,
    SlaPolicyRetired,
    SlaPolicyRevised,
    TicketPriority,
    WorkingHours,
)
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.service_desk.domain.calendar import DEFAULT_CALENDAR, BusinessCalendar
from crm.service_desk.domain.contracts import ServiceContract, contract_aggregate_id
from crm.service_desk.domain.sla import (
    DEFAULT_POLICY,
    SlaPolicy,
    apply_sla,
    policies_by_id,
    policy_aggregate_id,
    policy_id_for,
    select_policy,
    terms_of,
)
from crm.service_desk.domain.tenancy import split_qualified
from tests.unit.given_when_then import Scenario

P = TicketPriority
MINUTES = {P.URGENT: (15, 120), P.HIGH: (30, 240), P.NORMAL: (60, 480), P.LOW: (120, 960)}
TARGETS = tuple(
    PriorityTargets(priority=p, first_response_minutes=f, resolution_minutes=r)
    for p, (f, r) in MINUTES.items()
)
ORDERED_TARGETS = tuple(sorted(TARGETS, key=lambda t: list(P).index(t.priority)))
PREMIUM = SlaPolicyDefined(
    name="Premium",
    level=ContractLevel.PREMIUM,
    targets=ORDERED_TARGETS,
    calendar_id="berlin",
    follow_up_days=2,
    follow_up_escalation_days=1,
)
BERLIN = BusinessCalendar(
    "berlin",
    "Europe/Berlin",
    tuple(WorkingHours(weekday=d, start=time(8), end=time(18)) for d in range(5)),
)


def premium(p: SlaPolicy) -> None:
    p.define(
        name="Premium",
        targets=MINUTES,
        calendar_id="berlin",
        follow_up_days=2,
        follow_up_escalation_days=1,
    )


# -- policies ------------------------------------------------------------------------------------


def test_a_policy_is_defined_for_its_level_once() -> None:
    Scenario(SlaPolicy, id="t1:premium").when(premium).then(PREMIUM)
    Scenario(SlaPolicy, id="t1:premium").given(PREMIUM).when(premium).then_nothing()
    error = (
        Scenario(SlaPolicy, id="t1:premium")
        .given(PREMIUM)
        .when(lambda p: p.define(name="Other", targets=MINUTES, calendar_id="berlin"))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "policy_exists"


def test_the_policy_id_is_its_level_or_default() -> None:
    assert policy_id_for(ContractLevel.BASIC) == "basic"
    assert policy_id_for(None) == "default"
    default = (
        Scenario(SlaPolicy, id="t1:default")
        .when(premium)
        .then(PREMIUM.model_copy(update={"level": None}))
    )
    assert (default.terms().level, default.terms().id) == (None, "default")
    Scenario(SlaPolicy, id="t1:gold").when(premium).then_raises(InvalidCommand, match="level")


def test_the_aggregate_id_is_qualified_by_the_tenant() -> None:
    """Stream ids are global: each tenant's ``premium`` policy is its own stream, and the
    terms (what tickets keep) name the level alone."""
    assert policy_aggregate_id("acme", ContractLevel.PREMIUM) == "acme:premium"
    assert policy_aggregate_id("acme", None) == "acme:default"
    # A tenant holding ':' cannot pass for another tenant's id.
    assert policy_aggregate_id("a:b", ContractLevel.BASIC) == "a%3Ab:basic"
    assert split_qualified("a%3Ab:basic") == ("a:b", "basic")
    ids = {policy_aggregate_id(t, ContractLevel.PREMIUM) for t in ("a", "b", "a:b", "a%3Ab")}
    assert len(ids) == 4
    policy = Scenario(SlaPolicy, id="acme:premium").when(premium).then(PREMIUM)
    assert (policy.stream_id, policy.terms().id) == ("slapolicy-acme:premium", "premium")
    Scenario(SlaPolicy, id="premium").when(premium).then_raises(InvalidCommand, match="tenant")


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ({P.URGENT: (15, 120)}, "targets"),
        ({**MINUTES, P.HIGH: (300, 240)}, "targets.high"),
        ({**MINUTES, P.LOW: (0, 240)}, "targets.low"),
    ],
)
def test_a_policy_needs_sound_targets_for_every_priority(
    targets: dict[TicketPriority, tuple[int, int]], field: str
) -> None:
    error = (
        Scenario(SlaPolicy, id="t1:basic")
        .when(lambda p: p.define(name="Basic", targets=targets, calendar_id="c"))
        .then_raises(InvalidCommand)
    )
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_revise_a_policy_as_a_whole() -> None:
    faster = {**MINUTES, P.URGENT: (10, 60)}
    policy = (
        Scenario(SlaPolicy, id="t1:premium")
        .given(PREMIUM)
        .when(lambda p: p.revise(name="Premium", targets=faster, calendar_id="berlin"))
        .then(
            SlaPolicyRevised(
                name="Premium",
                level=ContractLevel.PREMIUM,
                targets=(
                    PriorityTargets(
                        priority=P.LOW, first_response_minutes=120, resolution_minutes=960
                    ),
                    PriorityTargets(
                        priority=P.NORMAL, first_response_minutes=60, resolution_minutes=480
                    ),
                    PriorityTargets(
                        priority=P.HIGH, first_response_minutes=30, resolution_minutes=240
                    ),
                    PriorityTargets(
                        priority=P.URGENT, first_response_minutes=10, resolution_minutes=60
                    ),
                ),
                calendar_id="berlin",
                revision=2,
            )
        )
    )
    terms = policy.terms()
    assert terms.revision == 2
    assert terms.targets[P.URGENT].resolution_minutes == 60
    assert terms.follow_up_days == 3  # a revision states every term, defaults included


def test_an_unchanged_revision_records_nothing_and_a_missing_policy_is_not_found() -> None:
    Scenario(SlaPolicy, id="t1:premium").given(PREMIUM).when(premium).then_nothing()

    def same(p: SlaPolicy) -> None:
        p.revise(
            name="Premium",
            targets=MINUTES,
            calendar_id="berlin",
            follow_up_days=2,
            follow_up_escalation_days=1,
        )

    Scenario(SlaPolicy, id="t1:premium").given(PREMIUM).when(same).then_nothing()
    Scenario(SlaPolicy, id="t1:premium").when(same).then_raises(NotFound)


def test_retire_a_policy_unless_it_is_the_last_one_in_force() -> None:
    retired = (
        Scenario(SlaPolicy, id="t1:premium")
        .given(PREMIUM)
        .when(lambda p: p.retire(others_in_force=1))
        .then(SlaPolicyRetired())
    )
    assert not retired.state.in_force
    with pytest.raises(NotFound):
        retired.terms()  # new tickets no longer get it
    error = (
        Scenario(SlaPolicy, id="t1:premium")
        .given(PREMIUM)
        .when(lambda p: p.retire(others_in_force=0))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "last_policy"
    again = Scenario(SlaPolicy, id="t1:premium").given(PREMIUM, SlaPolicyRetired())
    again.when(lambda p: p.retire(others_in_force=0)).then_nothing()
    Scenario(SlaPolicy, id="t1:premium").when(lambda p: p.retire(others_in_force=3)).then_raises(
        NotFound
    )


def test_a_retired_policy_is_not_revised_but_defined_anew() -> None:
    given = (PREMIUM, SlaPolicyRetired())

    def revise(p: SlaPolicy) -> None:
        p.revise(name="Premium", targets=MINUTES, calendar_id="berlin")

    Scenario(SlaPolicy, id="t1:premium").given(*given).when(revise).then_raises(NotFound)
    anew = Scenario(SlaPolicy, id="t1:premium").given(*given).when(premium).then(PREMIUM)
    assert anew.state.in_force
    assert anew.terms().revision == 1  # its revisions start again


# -- selection and application -------------------------------------------------------------------


def test_select_the_policy_of_the_contract_level_else_the_default() -> None:
    premium_terms = terms_of("premium", PREMIUM)
    tenant_default = terms_of("default", PREMIUM.model_copy(update={"name": "Ours", "level": None}))
    policies = policies_by_id([premium_terms, tenant_default])
    assert select_policy(policies, ContractLevel.PREMIUM) is premium_terms
    assert select_policy(policies, ContractLevel.BASIC) is tenant_default
    assert select_policy(policies, None) is tenant_default
    assert select_policy({}, ContractLevel.PREMIUM) is DEFAULT_POLICY


def test_apply_a_policy_counts_due_times_in_its_calendar() -> None:
    friday_5pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    sla = apply_sla(terms_of("premium", PREMIUM), P.HIGH, friday_5pm, BERLIN)
    # 30 and 240 business minutes from Friday 17:00 Berlin (closing 18:00): 17:30 on
    # Friday; 60 minutes on Friday + 180 on Monday from 08:00 = Monday 11:00 (10:00 UTC).
    assert sla.first_response_due == datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    assert sla.resolution_due == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert (sla.policy_id, sla.level, sla.calendar_id) == (
        "premium",
        ContractLevel.PREMIUM,
        "berlin",
    )
    assert (sla.first_response_minutes, sla.resolution_minutes) == (30, 240)
    assert (sla.follow_up_days, sla.follow_up_escalation_days) == (2, 1)


def test_apply_refuses_another_calendar_than_the_policy_s() -> None:
    with pytest.raises(InvalidCommand, match="calendar"):
        apply_sla(terms_of("premium", PREMIUM), P.HIGH, datetime.now(UTC), DEFAULT_CALENDAR)


def test_the_built_in_default_policy_counts_in_the_default_calendar() -> None:
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    sla = apply_sla(DEFAULT_POLICY, P.NORMAL, monday, DEFAULT_CALENDAR)
    assert sla.first_response_due == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
    assert sla.resolution_due == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert sla.follow_up_days == 3


# -- contracts -----------------------------------------------------------------------------------

CUSTOMER = "c-1"
CONTRACT_ID = "acme:c-1"
START = date(2026, 1, 1)
SIGNED = ContractSigned(customer_id=CUSTOMER, level=ContractLevel.STANDARD, starts_on=START)


def contract() -> Scenario[ServiceContract]:
    return Scenario(ServiceContract, id=CONTRACT_ID)


def test_a_contract_s_id_is_qualified_by_the_tenant() -> None:
    """Customer ids are the tenant's own free text: two tenants' customers ``c-1`` have two
    contract streams, whatever either tenant or customer id holds; events name the customer
    by the tenant's own id."""
    assert contract_aggregate_id("acme", CUSTOMER) == CONTRACT_ID
    ids = {
        contract_aggregate_id(tenant, customer)
        for tenant, customer in [("a", "c-1"), ("b", "c-1"), ("a:b", "c-1"), ("a", "b:c-1")]
    }
    assert len(ids) == 4
    assert contract_aggregate_id("a:b", "x:y") == "a%3Ab:x:y"
    assert split_qualified("a%3Ab:x:y") == ("a:b", "x:y")
    c = (
        contract()
        .when(lambda c: c.sign(level=ContractLevel.STANDARD, starts_on=START))
        .then(SIGNED)
    )
    assert (c.stream_id, c.customer_id) == ("servicecontract-acme:c-1", CUSTOMER)
    Scenario(ServiceContract, id=CUSTOMER).when(
        lambda c: c.sign(level=ContractLevel.STANDARD, starts_on=START)
    ).then_raises(InvalidCommand, match="tenant")


def test_sign_a_contract_and_read_its_level_over_time() -> None:
    c = (
        contract()
        .when(lambda c: c.sign(level=ContractLevel.STANDARD, starts_on=START))
        .then(SIGNED)
    )
    assert c.state.level_on(date(2025, 12, 31)) is None
    assert c.state.level_on(START) is ContractLevel.STANDARD
    contract().given(SIGNED).when(
        lambda c: c.sign(level=ContractLevel.STANDARD, starts_on=START)
    ).then_nothing()


def test_one_contract_in_force_at_a_time() -> None:
    error = (
        contract()
        .given(SIGNED)
        .when(lambda c: c.sign(level=ContractLevel.PREMIUM, starts_on=START))
        .then_raises(RuleViolated)
    )
    assert isinstance(error, RuleViolated)
    assert error.code == "contract_in_force"
    assert "customer c-1 " in str(error)
    assert "acme" not in str(error)
    ended = ContractEnded(customer_id=CUSTOMER, ended_on=date(2026, 6, 1))
    contract().given(SIGNED, ended).when(
        lambda c: c.sign(level=ContractLevel.PREMIUM, starts_on=date(2026, 7, 1))
    ).then(
        ContractSigned(
            customer_id=CUSTOMER, level=ContractLevel.PREMIUM, starts_on=date(2026, 7, 1)
        )
    )


def test_change_the_level_of_a_contract_in_force() -> None:
    c = (
        contract()
        .given(SIGNED)
        .when(lambda c: c.change(level=ContractLevel.PREMIUM))
        .then(
            ContractChanged(
                customer_id=CUSTOMER,
                level=ContractLevel.PREMIUM,
                previous_level=ContractLevel.STANDARD,
            )
        )
    )
    assert c.state.level_on(date(2026, 3, 1)) is ContractLevel.PREMIUM
    contract().given(SIGNED).when(lambda c: c.change(level=ContractLevel.STANDARD)).then_nothing()


def test_end_a_contract() -> None:
    c = (
        contract()
        .given(SIGNED)
        .when(lambda c: c.end(ended_on=date(2026, 6, 1), reason=" moved away "))
        .then(ContractEnded(customer_id=CUSTOMER, ended_on=date(2026, 6, 1), reason="moved away"))
    )
    assert c.state.level_on(date(2026, 5, 31)) is None  # ended: no level any more
    for command in (
        lambda c: c.end(ended_on=date(2026, 7, 1)),
        lambda c: c.change(level=ContractLevel.BASIC),
    ):
        error = contract().given(SIGNED, *c.changes).when(command).then_raises(RuleViolated)
        assert isinstance(error, RuleViolated)
        assert error.code == "contract_ended"


def test_a_fixed_term_contract_lapses_on_its_end_date() -> None:
    fixed = SIGNED.model_copy(update={"ends_on": date(2026, 12, 31)})
    c = ServiceContract.rehydrate(CONTRACT_ID, [fixed], 0)
    assert c.state.level_on(date(2026, 12, 30)) is ContractLevel.STANDARD
    assert c.state.level_on(date(2026, 12, 31)) is None


def test_contract_input_and_existence_checks() -> None:
    contract().when(
        lambda c: c.sign(level=ContractLevel.BASIC, starts_on=START, ends_on=START)
    ).then_raises(InvalidCommand, match="ends_on")
    contract().when(lambda c: c.change(level=ContractLevel.BASIC)).then_raises(NotFound)
    contract().given(SIGNED).when(lambda c: c.end(ended_on=date(2025, 1, 1))).then_raises(
        InvalidCommand, match="ended_on"
    )
