"""The one path every command takes (crm.kernel.commands), on the in-memory event store:
expected states, access, idempotency, retries on conflict, a pinned version, and commands
that record nothing. The customer aggregate's real table is the subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from crm.customer.application.customer_commands import (
    ClaimFromPool,
    EraseCustomer,
    RegisterCustomer,
    TagCustomer,
    UpdateProfile,
    customer_commands,
)
from crm.customer.domain.customer import Customer, Profile
from crm.events import EventEnvelope
from crm.events.customer import CustomerKind
from crm.kernel import repository as repository_module
from crm.kernel.adapters.memory import InMemoryEventStore
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import Forbidden, NotFound, RuleViolated, WrongExpectedVersion
from crm.kernel.event_store import Idempotency
from crm.kernel.reactor import system_context
from crm.kernel.repository import CommandContext, Repository
from tests.conftest import T0


def ctx(actor: str = "m1", role: str = "manager", key: str | None = None) -> CommandContext:
    idempotency = Idempotency(key, "h") if key else None
    return CommandContext(actor=actor, role=role, tenant="t1", now=T0, idempotency=idempotency)


def ada(owner_id: str | None = None) -> RegisterCustomer:
    profile = Profile(kind=CustomerKind.PERSON, name="Ada Lovelace", email="ada@example.com")
    return RegisterCustomer(profile, owner_id=owner_id)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def bus(store: InMemoryEventStore, codec: EventCodec) -> CommandBus:
    return CommandBus(store, codec, customer_commands(codec))


async def test_a_new_stream_is_created_once(bus: CommandBus) -> None:
    command = ada()
    first = await bus.execute(command, ctx())
    assert (first.stream_version, first.position) == (0, 1)
    with pytest.raises(WrongExpectedVersion):
        await bus.execute(command, ctx())


async def test_an_existing_stream_must_exist_in_the_actors_tenant(bus: CommandBus) -> None:
    with pytest.raises(NotFound):
        await bus.execute(TagCustomer("nobody", "vip"), ctx())
    command = ada()
    await bus.execute(command, ctx())
    other_tenant = CommandContext(actor="m1", role="manager", tenant="t2", now=T0)
    with pytest.raises(NotFound):
        await bus.execute(TagCustomer(command.customer_id, "vip"), other_tenant)


async def test_access_is_checked_against_the_loaded_record(bus: CommandBus) -> None:
    command = ada(owner_id="rep-a")
    await bus.execute(command, ctx())
    cid = command.customer_id
    with pytest.raises(NotFound):  # another rep may not know it exists
        await bus.execute(TagCustomer(cid, "vip"), ctx("rep-b", "sales_rep"))
    with pytest.raises(Forbidden):  # an analyst sees it but changes nothing
        await bus.execute(TagCustomer(cid, "vip"), ctx("an", "analyst"))
    with pytest.raises(RuleViolated, match="pool"):  # a claim is answered by the pool rule
        await bus.execute(ClaimFromPool(cid), ctx("rep-b", "sales_rep"))
    assert (await bus.execute(TagCustomer(cid, "vip"), ctx("rep-a", "sales_rep"))).position == 2


async def test_the_system_may_do_everything(bus: CommandBus) -> None:
    command = ada(owner_id="rep-a")
    await bus.execute(command, ctx())
    system = system_context("scheduler", "t1", T0, "step-1")
    assert (await bus.execute(TagCustomer(command.customer_id, "x"), system)).position == 2


async def test_a_retried_key_is_answered_from_its_record(
    bus: CommandBus, store: InMemoryEventStore
) -> None:
    command = ada()
    first = await bus.execute(command, ctx(key="k1"))
    again = await bus.execute(command, ctx(key="k1"))
    assert again.replayed
    assert again.position == first.position
    assert await store.head_position() == 1


async def test_a_conflict_runs_the_command_again_on_a_fresh_load(
    store: InMemoryEventStore, codec: EventCodec
) -> None:
    @dataclass(frozen=True)
    class SlowTag:
        customer_id: str
        tag: str

    bus = CommandBus(store, codec, customer_commands(codec))
    loads: list[int] = []

    async def tag_while_someone_else_writes(c: Customer, cmd: SlowTag, _: CommandContext) -> None:
        loads.append(c.version)
        if len(loads) == 1:  # another writer lands between this load and its append
            await bus.execute(TagCustomer(cmd.customer_id, "other"), ctx())
        c.tag(cmd.tag)

    slow = CommandTable(Customer, id_field="customer_id", noun="customer")
    slow.on(SlowTag, Expect.EXISTING, None, tag_while_someone_else_writes)
    bus.register(slow)
    command = ada()
    await bus.execute(command, ctx())
    result = await bus.execute(SlowTag(command.customer_id, "mine"), ctx())
    assert loads == [0, 1]
    assert result.stream_version == 2
    tags = await bus.repository(Customer).load(command.customer_id)
    assert tags.state.tags == frozenset({"other", "mine"})


async def test_a_pinned_version_makes_the_conflict_the_answer(bus: CommandBus) -> None:
    command = ada()
    await bus.execute(command, ctx())
    await bus.execute(TagCustomer(command.customer_id, "vip"), ctx())
    with pytest.raises(WrongExpectedVersion):
        await bus.execute(UpdateProfile(command.customer_id, {"region": "EU"}, 0), ctx())
    ok = await bus.execute(UpdateProfile(command.customer_id, {"region": "EU"}, 1), ctx())
    assert ok.stream_version == 2


async def test_an_action_that_records_nothing_appends_nothing(
    bus: CommandBus, store: InMemoryEventStore
) -> None:
    command = ada()
    await bus.execute(command, ctx())
    await bus.execute(TagCustomer(command.customer_id, "vip"), ctx())
    outcome = await bus.run(TagCustomer(command.customer_id, "vip"), ctx(key="again"))
    assert not outcome.recorded
    assert (outcome.result.position, outcome.result.stream_version) == (2, 1)
    assert await store.head_position() == 2
    assert await store.idempotent_result(Idempotency("again", "h")) is None


async def test_a_key_can_name_the_facts_recorded(
    bus: CommandBus, store: InMemoryEventStore
) -> None:
    command = ada()
    await bus.execute(command, ctx())
    system = system_context("scheduler", "t1", T0 + timedelta(days=1), "unused")
    keys: list[str] = []

    def named(c: Customer) -> Idempotency:
        keys.append(f"tag:{c.id}:{len(c.changes)}")
        return Idempotency(keys[-1], "h")

    tag = TagCustomer(command.customer_id, "vip")
    outcome = await bus.run(tag, system, idempotency_for=named)
    assert outcome.recorded
    assert keys == [f"tag:{command.customer_id}:1"]
    recorded = await store.idempotent_result(Idempotency(keys[0], "h"))
    assert recorded is not None
    assert recorded.position == outcome.result.position


async def test_then_runs_after_the_append(bus: CommandBus, codec: EventCodec) -> None:
    command = ada()
    await bus.execute(command, ctx())
    subject = f"customer-{command.customer_id}"
    assert not await codec.keys.is_erased(subject)
    await bus.execute(EraseCustomer(command.customer_id, "asked"), ctx("root", "admin"))
    assert await codec.keys.is_erased(subject)


def test_a_command_has_one_row() -> None:
    table = CommandTable(Customer, id_field="customer_id")
    table.on(TagCustomer, Expect.EXISTING, None, lambda c, m, _: c.tag(m.tag))
    with pytest.raises(ValueError, match="already has a row"):
        table.on(TagCustomer, Expect.EXISTING, None, lambda c, m, _: c.tag(m.tag))


async def test_a_command_no_table_handles_is_refused(bus: CommandBus) -> None:
    with pytest.raises(TypeError, match="no command table"):
        await bus.execute(object(), ctx())


class KeptCustomer(Customer):
    keeps_state = True


async def test_a_kept_state_reads_only_what_came_after_it(
    bus: CommandBus, store: InMemoryEventStore, codec: EventCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[str, int]] = []
    read_stream = store.read_stream

    async def counted(stream_id: str, after_version: int = -1) -> list[EventEnvelope]:
        envelopes = await read_stream(stream_id, after_version)
        reads.append((stream_id, after_version))
        return envelopes

    monkeypatch.setattr(store, "read_stream", counted)
    monkeypatch.setattr(repository_module, "KEPT_STATES", 2)
    kept, whole = Repository(store, codec, KeptCustomer), Repository(store, codec, Customer)
    first, second, third = ada(), ada(), ada()
    for command in (first, second, third):
        await bus.execute(command, ctx())
    cid = first.customer_id
    stream = Customer.stream_id_for(cid)

    assert (await kept.load(cid, tenant="t1")).version == 0
    await bus.execute(TagCustomer(cid, "vip"), ctx())  # another writer appends
    reads.clear()
    again = await kept.load(cid, tenant="t1")
    assert (again.version, again.state.tags) == (1, frozenset({"vip"}))
    assert reads == [(stream, 0)]  # the tag only, not the registration again
    with pytest.raises(NotFound):  # a kept state still belongs to its tenant alone
        await kept.load(cid, tenant="t2")

    reads.clear()
    await whole.load(cid, tenant="t1")
    await whole.load(cid, tenant="t1")
    assert reads == [(stream, -1)] * 2  # an aggregate that keeps nothing reads it whole

    await kept.load(second.customer_id)
    await kept.load(third.customer_id)  # two kept at most: the first goes
    reads.clear()
    assert (await kept.load(cid, tenant="t1")).state.tags == frozenset({"vip"})
    assert reads == [(stream, -1)]
