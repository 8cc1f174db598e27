"""Field visits and the technicians' days, given/when/then on events: the visit's life, and a
technician never double-booked (in memory, and racing on the real event store)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from crm.events import ERASED, EventEnvelope, EventMetadata
from crm.events.visits import (
    ReleaseReason,
    TechnicianSlotBooked,
    TechnicianSlotReleased,
    TimeSlot,
    VisitCancelled,
    VisitCompleted,
    VisitRescheduled,
    VisitScheduled,
)
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.codec import EventCodec
from crm.kernel.commands import CommandBus
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated, WrongExpectedVersion
from crm.kernel.event_store import NO_STREAM
from crm.kernel.repository import CommandContext, Repository
from crm.service_desk.application.visit_commands import BookSlot, technician_day_commands
from crm.service_desk.domain.visits import (
    TechnicianDay,
    Visit,
    VisitState,
    VisitStatus,
    WorkingHours,
    days_of,
    technician_day_id,
    technician_days,
)
from tests.unit.given_when_then import Scenario

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 3)
TECH = "tech-1"
TENANT = "t"


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def slot(start: datetime, end: datetime) -> TimeSlot:
    return TimeSlot(start=start, end=end)


NINE_TO_TEN = slot(at(9), at(10))
SCHEDULED = VisitScheduled(
    ticket_id="ticket-1",
    customer_id="cust-1",
    technician_id=TECH,
    slot=NINE_TO_TEN,
    address="1 Rue de la Paix, Paris",
    scheduled_at=NOW,
)


def visit() -> Scenario[Visit]:
    return Scenario(Visit, id="visit-1")


def schedule(v: Visit, **overrides: object) -> None:
    args: dict[str, object] = {
        "ticket_id": "ticket-1",
        "customer_id": "cust-1",
        "technician_id": TECH,
        "slot": NINE_TO_TEN,
        "address": " 1 Rue de la Paix, Paris ",
        "now": NOW,
    }
    args.update(overrides)
    v.schedule(**args)  # type: ignore[arg-type]


def code_of(error: Exception) -> str:
    assert isinstance(error, RuleViolated)
    return error.code


# -- scheduling ----------------------------------------------------------------------------------


def test_schedule_a_visit_stores_the_slot_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    local = slot(datetime(2026, 11, 3, 10, tzinfo=paris), datetime(2026, 11, 3, 11, tzinfo=paris))
    v = visit().when(lambda v: schedule(v, slot=local)).then(SCHEDULED)
    assert v.state.status is VisitStatus.SCHEDULED
    assert v.stream_id == "visit-visit-1"
    assert SCHEDULED.slot.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"slot": slot(at(10), at(9))}, "slot"),
        ({"slot": slot(at(9), at(9))}, "slot"),
        ({"slot": slot(at(9), at(9, 14))}, "slot"),
        ({"slot": slot(at(6), at(18, 1))}, "slot"),
        ({"slot": slot(datetime(2026, 11, 3, 9), at(10))}, "slot.start"),
        ({"address": " "}, "address"),
        ({"technician_id": ""}, "technician_id"),
        ({"ticket_id": ""}, "ticket_id"),
    ],
)
def test_schedule_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    error = visit().when(lambda v: schedule(v, **overrides)).then_raises(InvalidCommand)
    assert isinstance(error, InvalidCommand)
    assert error.field == field


def test_a_slot_of_exactly_fifteen_minutes_is_enough() -> None:
    quarter = slot(at(9), at(9, 15))
    visit().when(lambda v: schedule(v, slot=quarter)).then(
        SCHEDULED.model_copy(update={"slot": quarter})
    )


def test_a_visit_is_not_scheduled_in_the_past() -> None:
    error = visit().when(lambda v: schedule(v, now=at(9, 1))).then_raises(RuleViolated)
    assert code_of(error) == "slot_in_past"


def test_working_hours_when_given_bound_the_slot() -> None:
    paris = ZoneInfo("Europe/Paris")  # UTC+1 in November
    hours = WorkingHours(start=time(8), end=time(17), zone=paris)
    visit().when(lambda v: schedule(v, working_hours=hours)).then(SCHEDULED)
    late = slot(at(15, 30), at(16, 30))  # 16:30-17:30 in Paris
    error = (
        visit()
        .when(lambda v: schedule(v, slot=late, working_hours=hours))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "outside_working_hours"


def test_scheduling_the_same_visit_again_records_nothing_and_another_is_refused() -> None:
    visit().given(SCHEDULED).when(lambda v: schedule(v, now=NOW + timedelta(minutes=1))).then()
    error = (
        visit()
        .given(SCHEDULED)
        .when(lambda v: schedule(v, slot=slot(at(11), at(12))))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "already_exists"


def test_commands_on_a_visit_never_scheduled_are_not_found() -> None:
    visit().when(lambda v: v.cancel("no longer needed", now=NOW)).then_raises(NotFound)
    visit().when(lambda v: v.complete("done", now=NOW)).then_raises(NotFound)


# -- rescheduling, cancelling, completing --------------------------------------------------------

ELEVEN_TO_NOON = slot(at(11), at(12))
COMPLETED = VisitCompleted(customer_id="cust-1", report="Replaced the fuser", completed_at=at(10))
CANCELLED = VisitCancelled(reason="customer away", cancelled_at=NOW)


def test_reschedule_to_another_slot_and_technician() -> None:
    v = (
        visit()
        .given(SCHEDULED)
        .when(
            lambda v: v.reschedule(
                technician_id="tech-2", slot=ELEVEN_TO_NOON, now=NOW, reason="customer asked"
            )
        )
        .then(
            VisitRescheduled(
                technician_id="tech-2",
                slot=ELEVEN_TO_NOON,
                previous_technician_id=TECH,
                previous_slot=NINE_TO_TEN,
                reason="customer asked",
                rescheduled_at=NOW,
            )
        )
    )
    assert v.state.refers_to("tech-2", ELEVEN_TO_NOON)
    assert not v.state.refers_to(TECH, NINE_TO_TEN)


def test_reschedule_to_the_current_slot_records_nothing() -> None:
    visit().given(SCHEDULED).when(
        lambda v: v.reschedule(technician_id=TECH, slot=NINE_TO_TEN, now=NOW)
    ).then()


@pytest.mark.parametrize(
    ("given", "code"), [(COMPLETED, "visit_completed"), (CANCELLED, "visit_cancelled")]
)
def test_a_completed_or_cancelled_visit_is_not_rescheduled(given: object, code: str) -> None:
    error = (
        visit()
        .given(SCHEDULED, given)  # type: ignore[arg-type]
        .when(lambda v: v.reschedule(technician_id=TECH, slot=ELEVEN_TO_NOON, now=NOW))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == code


def test_cancel_once_and_again_records_nothing() -> None:
    v = (
        visit()
        .given(SCHEDULED)
        .when(lambda v: v.cancel(" customer away ", now=NOW))
        .then(CANCELLED)
    )
    assert not v.state.refers_to(TECH, NINE_TO_TEN)
    visit().given(SCHEDULED, CANCELLED).when(lambda v: v.cancel("again", now=NOW)).then()


def test_a_completed_visit_is_not_cancelled() -> None:
    error = (
        visit()
        .given(SCHEDULED, COMPLETED)
        .when(lambda v: v.cancel("too late", now=NOW))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "visit_completed"


def test_complete_only_once_the_slot_has_started() -> None:
    error = (
        visit()
        .given(SCHEDULED)
        .when(lambda v: v.complete("Replaced the fuser", now=at(8, 59)))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "visit_not_started"
    done = COMPLETED.model_copy(update={"completed_at": at(9)})
    visit().given(SCHEDULED).when(lambda v: v.complete("Replaced the fuser", now=at(9))).then(done)


def test_complete_needs_a_report_and_happens_once() -> None:
    visit().given(SCHEDULED).when(lambda v: v.complete(" ", now=at(10))).then_raises(
        InvalidCommand, "report"
    )
    error = (
        visit()
        .given(SCHEDULED, COMPLETED)
        .when(lambda v: v.complete("again", now=at(11)))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "visit_completed"
    error = (
        visit()
        .given(SCHEDULED, CANCELLED)
        .when(lambda v: v.complete("x", now=at(11)))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "visit_cancelled"


# -- the technician's day ------------------------------------------------------------------------


def day_of(technician: str = TECH, d: date = DAY) -> Scenario[TechnicianDay]:
    return Scenario(TechnicianDay, id=technician_day_id(TENANT, technician, d))


def booked(visit_id: str, s: TimeSlot, d: date = DAY, at_: datetime = NOW) -> TechnicianSlotBooked:
    return TechnicianSlotBooked(
        technician_id=TECH, day=d, visit_id=visit_id, ticket_id="ticket-1", slot=s, booked_at=at_
    )


def released(visit_id: str, s: TimeSlot, reason: ReleaseReason) -> TechnicianSlotReleased:
    return TechnicianSlotReleased(
        technician_id=TECH, day=DAY, visit_id=visit_id, slot=s, reason=reason, released_at=NOW
    )


def book(visit_id: str, s: TimeSlot) -> Callable[[TechnicianDay], None]:
    return lambda d: d.book(visit_id=visit_id, ticket_id="ticket-1", slot=s, now=NOW)


def test_book_a_slot_in_the_technician_s_day() -> None:
    d = day_of().when(book("visit-1", NINE_TO_TEN)).then(booked("visit-1", NINE_TO_TEN))
    assert d.stream_id == f"technician_day-{TENANT}:{TECH}:2026-11-03"
    assert (d.technician_id, d.day) == (TECH, DAY)


def test_a_technician_day_is_qualified_by_its_tenant() -> None:
    """Technician ids are the tenant's own: the same id in two tenants is two days, and a
    technician id holding ':' (or a tenant holding one) still reads back whole."""
    assert technician_day_id("a", TECH, DAY) != technician_day_id("b", TECH, DAY)
    odd = (
        day_of("crew:7")
        .when(book("visit-1", NINE_TO_TEN))
        .then(booked("visit-1", NINE_TO_TEN).model_copy(update={"technician_id": "crew:7"}))
    )
    assert (odd.technician_id, odd.day) == ("crew:7", DAY)
    d = TechnicianDay.create(technician_day_id("x:y", TECH, DAY))
    assert (d.id, d.technician_id, d.day) == (f"x%3Ay:{TECH}:2026-11-03", TECH, DAY)


@pytest.mark.parametrize(
    "other",
    [
        slot(at(9), at(10)),
        slot(at(9, 30), at(10, 30)),
        slot(at(8, 30), at(9, 15)),
        slot(at(9, 15), at(9, 45)),
        slot(at(8), at(11)),
    ],
)
def test_an_overlapping_slot_of_another_visit_is_refused(other: TimeSlot) -> None:
    error = (
        day_of()
        .given(booked("visit-1", NINE_TO_TEN))
        .when(book("visit-2", other))
        .then_raises(RuleViolated, "visit-1")
    )
    assert code_of(error) == "technician_double_booked"


@pytest.mark.parametrize("other", [slot(at(8), at(9)), slot(at(10), at(11))])
def test_adjacent_slots_are_allowed(other: TimeSlot) -> None:
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(book("visit-2", other)).then(
        booked("visit-2", other)
    )


def test_the_same_visit_and_slot_again_records_nothing() -> None:
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(book("visit-1", NINE_TO_TEN)).then()


def test_a_visit_never_conflicts_with_itself_while_it_moves() -> None:
    """Rescheduling within the day holds both slots until the previous one is released."""
    later = slot(at(9, 30), at(10, 30))
    d = (
        day_of()
        .given(booked("visit-1", NINE_TO_TEN))
        .when(book("visit-1", later))
        .then(booked("visit-1", later))
    )
    assert len(d.state.holds) == 2


def test_a_slot_is_booked_only_in_a_day_it_falls_on() -> None:
    day_of().when(
        book("visit-1", slot(at(9, day=date(2026, 11, 4)), at(10, day=date(2026, 11, 4))))
    ).then_raises(InvalidCommand, "2026-11-03")


def test_a_slot_over_midnight_is_booked_in_both_days_and_meets_overlaps_in_either() -> None:
    night = slot(at(23), at(1, day=date(2026, 11, 4)))
    assert days_of(night) == (DAY, date(2026, 11, 4))
    assert technician_days(TENANT, TECH, night) == (
        f"{TENANT}:{TECH}:2026-11-03",
        f"{TENANT}:{TECH}:2026-11-04",
    )
    assert days_of(slot(at(22), at(0, day=date(2026, 11, 4)))) == (DAY,)
    next_day = date(2026, 11, 4)
    day_of(d=next_day).when(book("visit-1", night)).then(booked("visit-1", night, next_day))
    early = slot(at(0, 30, day=next_day), at(2, day=next_day))
    error = (
        day_of(d=next_day)
        .given(booked("visit-1", night, next_day))
        .when(book("visit-2", early))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "technician_double_booked"


def test_overlapping_slots_given_in_different_time_zones_meet_in_the_same_day() -> None:
    tokyo = timezone(timedelta(hours=9))
    in_tokyo = slot(
        datetime(2026, 11, 3, 18, 30, tzinfo=tokyo), datetime(2026, 11, 3, 19, 30, tzinfo=tokyo)
    )
    assert days_of(in_tokyo) == (DAY,)  # 09:30-10:30 UTC
    error = (
        day_of()
        .given(booked("visit-1", NINE_TO_TEN))
        .when(book("visit-2", in_tokyo))
        .then_raises(RuleViolated)
    )
    assert code_of(error) == "technician_double_booked"


def test_release_one_slot_of_a_visit_leaves_its_other_hold() -> None:
    later = slot(at(9, 30), at(10, 30))
    d = (
        day_of()
        .given(booked("visit-1", NINE_TO_TEN), booked("visit-1", later))
        .when(
            lambda d: d.release(
                "visit-1", slot=NINE_TO_TEN, reason=ReleaseReason.RESCHEDULED, now=NOW
            )
        )
        .then(released("visit-1", NINE_TO_TEN, ReleaseReason.RESCHEDULED))
    )
    assert [h.slot for h in d.state.holds] == [later]


def test_release_all_holds_of_a_visit_then_the_slot_is_free_again() -> None:
    other = slot(at(14), at(15))
    history = (
        booked("visit-1", NINE_TO_TEN),
        booked("visit-1", other),
        booked("visit-2", ELEVEN_TO_NOON),
    )
    day_of().given(*history).when(
        lambda d: d.release("visit-1", reason=ReleaseReason.CANCELLED, now=NOW)
    ).then(
        released("visit-1", NINE_TO_TEN, ReleaseReason.CANCELLED),
        released("visit-1", other, ReleaseReason.CANCELLED),
    )
    freed = (*history, released("visit-1", NINE_TO_TEN, ReleaseReason.CANCELLED))
    day_of().given(*freed).when(book("visit-3", NINE_TO_TEN)).then(booked("visit-3", NINE_TO_TEN))


def test_releasing_what_is_not_held_records_nothing() -> None:
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(
        lambda d: d.release("visit-2", reason=ReleaseReason.CANCELLED, now=NOW)
    ).then()
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(
        lambda d: d.release(
            "visit-1", slot=ELEVEN_TO_NOON, reason=ReleaseReason.RESCHEDULED, now=NOW
        )
    ).then()


def test_two_bookings_loaded_at_the_same_version_race_on_it() -> None:
    """In memory both succeed (each sees the day without the other); the store takes one at
    the expected version, and the other, reloaded, is refused."""
    first = TechnicianDay.rehydrate(technician_day_id(TENANT, TECH, DAY), [], NO_STREAM)
    second = TechnicianDay.rehydrate(technician_day_id(TENANT, TECH, DAY), [], NO_STREAM)
    book("visit-1", NINE_TO_TEN)(first)
    book("visit-2", slot(at(9, 30), at(10, 30)))(second)
    assert first.version == second.version == NO_STREAM
    reloaded = TechnicianDay.rehydrate(first.id, first.changes, 0)
    with pytest.raises(RuleViolated) as refused:
        book("visit-2", slot(at(9, 30), at(10, 30)))(reloaded)
    assert refused.value.code == "technician_double_booked"


# -- reconciling stale holds ---------------------------------------------------------------------

LATER = NOW + timedelta(hours=1)
VISIT_1 = VisitState().evolve(SCHEDULED)


def reconcile(
    visits: dict[str, VisitState], now: datetime = LATER
) -> Callable[[TechnicianDay], None]:
    return lambda d: d.release_stale(visits, now=now, grace=timedelta(minutes=15))


def stale(visit_id: str, s: TimeSlot) -> TechnicianSlotReleased:
    return released(visit_id, s, ReleaseReason.STALE).model_copy(update={"released_at": LATER})


def test_a_hold_its_visit_refers_to_is_kept() -> None:
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(reconcile({"visit-1": VISIT_1})).then()
    done = VISIT_1.evolve(COMPLETED)
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(reconcile({"visit-1": done})).then()


def test_a_hold_of_a_visit_never_recorded_is_released_after_the_grace() -> None:
    day_of().given(booked("visit-9", NINE_TO_TEN)).when(reconcile({})).then(
        stale("visit-9", NINE_TO_TEN)
    )
    young = booked("visit-9", NINE_TO_TEN, at_=LATER - timedelta(minutes=5))
    day_of().given(young).when(reconcile({})).then()


def test_holds_a_visit_moved_away_from_or_was_cancelled_are_released() -> None:
    moved = VISIT_1.evolve(
        VisitRescheduled(
            technician_id=TECH,
            slot=ELEVEN_TO_NOON,
            previous_technician_id=TECH,
            previous_slot=NINE_TO_TEN,
            rescheduled_at=NOW,
        )
    )
    day_of().given(booked("visit-1", NINE_TO_TEN), booked("visit-1", ELEVEN_TO_NOON)).when(
        reconcile({"visit-1": moved})
    ).then(stale("visit-1", NINE_TO_TEN))
    day_of().given(booked("visit-1", NINE_TO_TEN)).when(
        reconcile({"visit-1": VISIT_1.evolve(CANCELLED)})
    ).then(stale("visit-1", NINE_TO_TEN))


# -- personal data -------------------------------------------------------------------------------

META = EventMetadata(tenant="t", actor="agent-1", correlation_id=uuid4())


async def test_the_address_is_sealed_with_the_customer_s_key_and_erased_with_it(
    codec: EventCodec,
) -> None:
    stream = "visit-visit-1"
    [stored] = await codec.encode(stream, [SCHEDULED], META, NOW)
    assert stored.payload["address"].startswith("enc:v1:customer-cust-1:")
    assert stored.payload["technician_id"] == TECH
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
        actor="agent-1",
        correlation_id=META.correlation_id,
        causation_id=None,
        payload=stored.payload,
    )
    assert await codec.decode([envelope]) == [SCHEDULED]
    await codec.erase("customer-cust-1")
    [erased] = await codec.decode([envelope])
    assert isinstance(erased, VisitScheduled)
    assert (erased.address, erased.technician_id) == (ERASED, TECH)
    assert VisitCompleted.personal_fields == frozenset({"report"})
    assert COMPLETED.data_subject(stream) == "customer-cust-1"


# -- concurrently, on the real event store -------------------------------------------------------


@pytest.fixture
async def days(tmp_path: Path, codec: EventCodec) -> AsyncIterator[Repository[TechnicianDay]]:
    store = SqliteEventStore(tmp_path / "events.db")
    yield Repository(store, codec, TechnicianDay)
    await store.close()


async def book_with_retry(
    repo: Repository[TechnicianDay],
    visit_id: str,
    s: TimeSlot,
    start: asyncio.Event,
    conflicts: list[str],
) -> str:
    """What the application does: load (or start) the day, book, append at the loaded
    version; on a conflict, again from a fresh load."""
    ctx = CommandContext(actor="agent", role="agent", tenant="t", now=NOW)
    day_id = technician_day_id(TENANT, TECH, DAY)
    await start.wait()
    for _ in range(5):
        try:
            day = await repo.load(day_id)
        except NotFound:
            day = TechnicianDay.create(day_id)
        try:
            day.book(visit_id=visit_id, ticket_id="ticket-1", slot=s, now=NOW)
        except RuleViolated as e:
            return e.code
        try:
            await repo.save(day, ctx)
        except WrongExpectedVersion:
            conflicts.append(visit_id)
            continue
        return "booked"
    return "gave up"


async def test_concurrent_bookings_of_overlapping_slots_book_exactly_one(
    days: Repository[TechnicianDay],
) -> None:
    start, conflicts = asyncio.Event(), list[str]()
    slots = [slot(at(9, m), at(10, m)) for m in range(0, 50, 10)]  # all overlap one another
    tasks = [
        asyncio.create_task(book_with_retry(days, f"visit-{i}", s, start, conflicts))
        for i, s in enumerate(slots)
    ]
    start.set()
    outcomes = await asyncio.gather(*tasks)
    assert sorted(outcomes) == ["booked"] + ["technician_double_booked"] * 4
    assert conflicts  # they did race on the day's version
    day = await days.load(technician_day_id(TENANT, TECH, DAY))
    assert len(day.state.holds) == 1


async def test_concurrent_bookings_of_adjacent_slots_all_succeed(
    days: Repository[TechnicianDay],
) -> None:
    start, conflicts = asyncio.Event(), list[str]()
    slots = [slot(at(8 + i), at(9 + i)) for i in range(4)]
    tasks = [
        asyncio.create_task(book_with_retry(days, f"visit-{i}", s, start, conflicts))
        for i, s in enumerate(slots)
    ]
    start.set()
    assert await asyncio.gather(*tasks) == ["booked"] * 4
    assert conflicts  # they did race: the losers booked after reloading
    day = await days.load(technician_day_id(TENANT, TECH, DAY))
    assert sorted(h.slot.start for h in day.state.holds) == [s.start for s in slots]


async def test_the_command_bus_books_one_of_concurrent_overlapping_slots(
    tmp_path: Path, codec: EventCodec
) -> None:
    """What the visit commands do: :class:`BookSlot` on the bus, which appends at the loaded
    version and runs the losers again on a fresh load, where they find the overlap."""
    store = SqliteEventStore(tmp_path / "events.db")
    bus = CommandBus(store, codec)
    bus.register(technician_day_commands(bus))
    ctx = CommandContext(actor="agent", role="agent", tenant=TENANT, now=NOW)

    async def book_(visit_id: str, s: TimeSlot) -> str:
        try:
            await bus.execute(BookSlot(TECH, DAY, visit_id, "ticket-1", s), ctx)
        except RuleViolated as e:
            return e.code
        return "booked"

    try:
        slots = [slot(at(9, m), at(10, m)) for m in range(0, 50, 10)]
        outcomes = await asyncio.gather(*(book_(f"visit-{i}", s) for i, s in enumerate(slots)))
        assert sorted(outcomes) == ["booked"] + ["technician_double_booked"] * 4
        day = await Repository(store, codec, TechnicianDay).load(
            technician_day_id(TENANT, TECH, DAY)
        )
        assert len(day.state.holds) == 1
    finally:
        await store.close()
