"""Personal data is sealed with its subject's key; deleting the key erases it everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from crm.events import ERASED, EventEnvelope, EventMetadata, NewEvent
from crm.events.customer import CustomerKind, CustomerRegistered, CustomerTagged
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.codec import EventCodec
from crm.kernel.errors import RuleViolated
from crm.kernel.keys import decrypt, encrypt, new_key

NOW = datetime(2026, 1, 1, tzinfo=UTC)
META = EventMetadata(tenant="t", actor="a", correlation_id=uuid4())


def recorded(stream: str, e: NewEvent, position: int = 1) -> EventEnvelope:
    return EventEnvelope(
        event_id=e.event_id,
        event_type=e.event_type,
        schema_version=e.schema_version,
        stream_id=stream,
        stream_version=position - 1,
        position=position,
        occurred_at=e.occurred_at,
        recorded_at=NOW,
        tenant="t",
        actor="a",
        correlation_id=META.correlation_id,
        causation_id=None,
        payload=e.payload,
    )


async def test_personal_fields_are_stored_encrypted_and_read_back(codec: EventCodec) -> None:
    event = CustomerRegistered(
        kind=CustomerKind.PERSON, name="Ada", email="ada@example.com", region="EU"
    )
    [stored] = await codec.encode("customer-1", [event], META, NOW)
    assert stored.payload["name"].startswith("enc:v1:customer-1:")
    assert stored.payload["email"] != "ada@example.com"
    assert stored.payload["phone"] is None
    assert stored.payload["region"] == "EU"
    assert await codec.decode([recorded("customer-1", stored)]) == [event]


async def test_erasing_the_key_erases_the_data_but_keeps_the_rest(codec: EventCodec) -> None:
    event = CustomerRegistered(
        kind=CustomerKind.PERSON, name="Ada", email="ada@example.com", region="EU"
    )
    [stored] = await codec.encode("customer-1", [event], META, NOW)
    await codec.erase("customer-1")
    [read] = await codec.decode([recorded("customer-1", stored)])
    assert isinstance(read, CustomerRegistered)
    assert (read.name, read.email, read.region) == (ERASED, ERASED, "EU")
    fresh = EventCodec(codec.registry, codec.keys)  # another process, no cache
    [again] = await fresh.decode([recorded("customer-1", stored)])
    assert isinstance(again, CustomerRegistered)
    assert again.name == ERASED


async def test_no_new_personal_data_for_an_erased_subject(codec: EventCodec) -> None:
    await codec.erase("customer-1")
    with pytest.raises(RuleViolated):
        await codec.encode(
            "customer-1", [CustomerRegistered(kind=CustomerKind.PERSON, name="Ada")], META, NOW
        )
    [tagged] = await codec.encode("customer-1", [CustomerTagged(tag="x")], META, NOW)
    assert tagged.payload == {"tag": "x"}


async def test_each_subject_has_its_own_key(codec: EventCodec) -> None:
    [a] = await codec.encode(
        "customer-a", [CustomerRegistered(kind=CustomerKind.PERSON, name="A")], META, NOW
    )
    [b] = await codec.encode(
        "customer-b", [CustomerRegistered(kind=CustomerKind.PERSON, name="B")], META, NOW
    )
    await codec.erase("customer-a")
    read = await codec.decode([recorded("customer-a", a, 1), recorded("customer-b", b, 2)])
    assert [e.name for e in read] == [ERASED, "B"]


def test_a_ciphertext_cannot_be_moved_to_another_field_or_subject() -> None:
    key = new_key()
    token = encrypt(key, "customer-1", "name", "Ada")
    assert decrypt(key, "name", token) == "Ada"
    with pytest.raises(ValueError, match="does not belong"):
        decrypt(key, "email", token)
    forged = token.replace("customer-1", "customer-2")
    with pytest.raises(ValueError, match="does not belong"):
        decrypt(key, "name", forged)


class CountedKeys:
    """The real key store, counting its reads; ``gate`` holds every read until set."""

    def __init__(self, inner: SqliteKeyStore) -> None:
        self.inner = inner
        self.reads: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def get_or_create(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        return await self.inner.get_or_create(subjects)

    async def get(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        self.reads.append(sorted(subjects))
        found = await self.inner.get(subjects)
        await self.gate.wait()
        return found

    async def erase(self, subject: str) -> None:
        await self.inner.erase(subject)

    async def is_erased(self, subject: str) -> bool:
        return await self.inner.is_erased(subject)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_key_made_for_an_encode_serves_the_decodes_without_a_read(
    codec: EventCodec,
) -> None:
    keys = CountedKeys(codec.keys)  # type: ignore[arg-type]
    counted = EventCodec(codec.registry, keys)
    event = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada", email="ada@example.com")
    [stored] = await counted.encode("customer-1", [event], META, NOW)
    assert await counted.decode([recorded("customer-1", stored)]) == [event]
    assert keys.reads == []
    fresh = EventCodec(codec.registry, keys)  # another process: reads the key once
    assert await fresh.decode([recorded("customer-1", stored)]) == [event]
    assert keys.reads == [["customer-1"]]


async def test_decodes_missing_a_key_at_once_share_one_read(codec: EventCodec) -> None:
    [stored] = await codec.encode(
        "customer-1", [CustomerRegistered(kind=CustomerKind.PERSON, name="Ada")], META, NOW
    )
    keys = CountedKeys(codec.keys)  # type: ignore[arg-type]
    cold = EventCodec(codec.registry, keys)
    keys.gate.clear()
    decodes = [asyncio.create_task(cold.decode([recorded("customer-1", stored)])) for _ in range(5)]
    await asyncio.sleep(0.05)
    keys.gate.set()
    for read in await asyncio.gather(*decodes):
        assert [e.name for e in read] == ["Ada"]  # type: ignore[attr-defined]
    assert keys.reads == [["customer-1"]]


async def test_a_read_that_fails_leaves_the_waiting_decodes_to_read_again(
    codec: EventCodec,
) -> None:
    [stored] = await codec.encode(
        "customer-1", [CustomerRegistered(kind=CustomerKind.PERSON, name="Ada")], META, NOW
    )
    keys = CountedKeys(codec.keys)  # type: ignore[arg-type]
    cold = EventCodec(codec.registry, keys)
    keys.gate.clear()
    first = asyncio.create_task(cold.decode([recorded("customer-1", stored)]))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(cold.decode([recorded("customer-1", stored)]))
    await asyncio.sleep(0.05)
    first.cancel()
    keys.gate.set()
    [again] = await second
    assert again.name == "Ada"  # type: ignore[attr-defined]
    assert len(keys.reads) == 2


async def test_an_erasure_during_a_read_is_not_undone_by_its_answer(codec: EventCodec) -> None:
    [stored] = await codec.encode(
        "customer-1", [CustomerRegistered(kind=CustomerKind.PERSON, name="Ada")], META, NOW
    )
    keys = CountedKeys(codec.keys)  # type: ignore[arg-type]
    cold = EventCodec(codec.registry, keys)
    keys.gate.clear()
    reading = asyncio.create_task(cold.decode([recorded("customer-1", stored)]))
    await asyncio.sleep(0.05)  # the key is read (not erased yet), its answer held
    await cold.erase("customer-1")
    keys.gate.set()
    await reading  # answered with the key it read before the erasure
    [after] = await cold.decode([recorded("customer-1", stored)])
    assert after.name == ERASED  # type: ignore[attr-defined]
