"""A fact keeps its own time: a command whose context says when the fact happened
(``CommandContext.occurred_at``, an imported record's date) is recorded with that
``occurred_at`` beside the store's ``recorded_at`` now, and the acts date the fact by it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crm.customer.application.customer_commands import (
    LogInteraction,
    RegisterCustomer,
    customer_commands,
)
from crm.customer.domain.customer import Profile
from crm.events.customer import Channel, CustomerKind, InteractionLogged
from crm.kernel.adapters.memory import InMemoryEventStore
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus
from crm.kernel.errors import InvalidCommand
from crm.kernel.repository import CommandContext
from tests.conftest import T0

IN_2019 = datetime(2019, 5, 14, 10, 30, tzinfo=UTC)


def ctx(occurred_at: datetime | None = None) -> CommandContext:
    return CommandContext(actor="m1", role="manager", tenant="t1", now=T0, occurred_at=occurred_at)


async def test_a_fact_of_2019_is_recorded_as_of_2019_beside_now(codec: EventCodec) -> None:
    store = InMemoryEventStore()
    bus = CommandBus(store, codec, customer_commands(codec))
    command = RegisterCustomer(Profile(kind=CustomerKind.PERSON, name="Li Lei"))
    before = datetime.now(UTC)
    await bus.execute(command, ctx(IN_2019))
    (envelope,) = await store.read_stream(f"customer-{command.customer_id}")
    assert envelope.occurred_at == IN_2019
    assert envelope.recorded_at >= before - timedelta(seconds=1)


async def test_the_act_dates_the_fact_by_it_and_now_stays_the_default(
    codec: EventCodec,
) -> None:
    store = InMemoryEventStore()
    bus = CommandBus(store, codec, customer_commands(codec))
    command = RegisterCustomer(Profile(kind=CustomerKind.PERSON, name="Li Lei"))
    await bus.execute(command, ctx())
    log = LogInteraction(command.customer_id, Channel.CALL, "first call")
    await bus.execute(log, ctx(IN_2019))
    first, logged = await store.read_stream(f"customer-{command.customer_id}")
    assert first.occurred_at == T0
    assert logged.occurred_at == IN_2019
    (event,) = await codec.decode([logged])
    assert isinstance(event, InteractionLogged)
    assert event.occurred_at == IN_2019


def test_a_fact_needs_a_time_zone_and_cannot_lie_ahead() -> None:
    with pytest.raises(InvalidCommand, match="occurred_at"):
        ctx(IN_2019.replace(tzinfo=None))
    with pytest.raises(InvalidCommand, match="future"):
        ctx(T0 + timedelta(days=1))
    assert ctx(T0 + timedelta(minutes=1)).happened_at == T0 + timedelta(minutes=1)
    assert replace(ctx(), occurred_at=None).happened_at == T0
