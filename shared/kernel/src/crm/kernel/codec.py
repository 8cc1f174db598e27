"""Between domain events and stored events: JSON, schema versions, and personal data sealed
with its subject's key (see :mod:`crm.kernel.keys`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from crm.events import (
    ERASED,
    DomainEvent,
    EventEnvelope,
    EventMetadata,
    EventRegistry,
    NewEvent,
    UnknownEventType,
)
from crm.events.envelope import new_event_id
from crm.kernel.errors import RuleViolated
from crm.kernel.keys import KeyStore, decrypt, encrypt, is_encrypted, subject_of

KEY_CACHE_SECONDS = 30.0


class EventCodec:
    """Encodes domain events for the store and decodes stored ones, upcasting old versions.

    Keys are cached for a short while; an erasure through this codec forgets its key at once,
    one made by another process is seen here within ``KEY_CACHE_SECONDS``. A key the codec
    has just created (or found) for an encode is cached as a key read is: a new customer's
    events are decoded at once by every projection, the command's own read-back and the next
    command on the stream, which asked the key store for it again, one after another on its
    thread. Decodes missing the same keys at once share one read of the key store.
    """

    def __init__(self, registry: EventRegistry, keys: KeyStore) -> None:
        self.registry = registry
        self.keys = keys
        self._cache: dict[str, tuple[float, bytes | None]] = {}
        self._reading: dict[str, asyncio.Future[None]] = {}
        """The subjects whose keys a decode is reading now; the others await its end."""
        self._forgotten_at = 0.0

    async def encode(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        metadata: EventMetadata,
        occurred_at: datetime,
        event_ids: Sequence[UUID] | None = None,
    ) -> list[NewEvent]:
        subjects = {
            e.data_subject(stream_id)
            for e in events
            if any(getattr(e, f) is not None for f in e.personal_fields)
        }
        keys: Mapping[str, bytes] = {}
        if subjects:
            asked = time.monotonic()
            keys = await self.keys.get_or_create(subjects)
            for subject in subjects:
                self._remember(subject, asked, keys.get(subject))
        encoded = []
        for i, e in enumerate(events):
            payload = e.model_dump(mode="json")
            if e.personal_fields:
                subject = e.data_subject(stream_id)
                for f in e.personal_fields:
                    if payload[f] is None:
                        continue
                    key = keys.get(subject)
                    if key is None:
                        raise RuleViolated(
                            f"the personal data of {subject} was erased", code="subject_erased"
                        )
                    payload[f] = encrypt(key, subject, f, payload[f])
            encoded.append(
                NewEvent(
                    event_id=event_ids[i] if event_ids else new_event_id(),
                    event_type=e.event_type,
                    schema_version=e.schema_version,
                    payload=payload,
                    occurred_at=occurred_at,
                    metadata=metadata,
                )
            )
        return encoded

    async def decode(self, envelopes: Sequence[EventEnvelope]) -> list[DomainEvent]:
        """Decode in order; raises on the first event that cannot be decoded."""
        payloads = [e.payload for e in envelopes]  # each read once (a store may parse it anew)
        keys = await self._keys_for(envelopes, payloads)
        return [self._decode(e, p, keys) for e, p in zip(envelopes, payloads, strict=True)]

    async def decode_each(
        self, envelopes: Sequence[EventEnvelope]
    ) -> list[DomainEvent | Exception]:
        """Decode in order; an event that cannot be decoded gives its exception instead."""
        payloads: list[Mapping[str, Any] | Exception] = []
        for e in envelopes:
            try:
                payloads.append(e.payload)
            except Exception as err:  # a stored payload that cannot be parsed
                payloads.append(err)
        keys = await self._keys_for(envelopes, payloads)
        decoded: list[DomainEvent | Exception] = []
        for e, p in zip(envelopes, payloads, strict=True):
            if isinstance(p, Exception):
                decoded.append(p)
                continue
            try:
                decoded.append(self._decode(e, p, keys))
            except Exception as err:
                decoded.append(err)
        return decoded

    def _decode(
        self, envelope: EventEnvelope, payload: Mapping[str, Any], keys: dict[str, bytes | None]
    ) -> DomainEvent:
        data: Any = payload
        personal = self.registry.model(envelope.event_type, envelope.schema_version).personal_fields
        if personal:
            data = dict(data)
            for f in personal:
                value = data.get(f)
                if is_encrypted(value):
                    key = keys.get(subject_of(value))
                    data[f] = ERASED if key is None else decrypt(key, f, value)
        return self.registry.decode(envelope.event_type, envelope.schema_version, data)

    async def _keys_for(
        self,
        envelopes: Sequence[EventEnvelope],
        payloads: Sequence[Mapping[str, Any] | Exception],
    ) -> dict[str, bytes | None]:
        now = time.monotonic()
        wanted: set[str] = set()
        model = self.registry.model
        for e, payload in zip(envelopes, payloads, strict=True):
            if isinstance(payload, Exception):
                continue
            try:
                values: Iterable[Any] = [
                    payload.get(f) for f in model(e.event_type, e.schema_version).personal_fields
                ]
            except UnknownEventType:  # decoding it fails on its own; its keys are not needed
                continue
            for value in values:
                if is_encrypted(value):
                    wanted.add(subject_of(value))
        keys: dict[str, bytes | None] = {}
        missing = self._cached(wanted, now, keys)
        while missing:
            others = [self._reading[s] for s in missing if s in self._reading]
            if others:  # read by another decode now: its answer is awaited, then looked up
                await asyncio.wait(others)
                missing = self._cached(missing, now, keys)
                continue
            done = asyncio.get_running_loop().create_future()
            for subject in missing:
                self._reading[subject] = done
            try:
                found = await self.keys.get(missing)
            finally:
                for subject in missing:
                    if self._reading.get(subject) is done:
                        del self._reading[subject]
                done.set_result(None)
            for subject in missing:
                key = found.get(subject)
                keys[subject] = key
                self._remember(subject, now, key)
            missing = []
        return keys

    def _cached(
        self, subjects: Iterable[str], now: float, keys: dict[str, bytes | None]
    ) -> list[str]:
        """Put the subjects' keys cached since ``now`` (or fresh) in ``keys``; the others."""
        missing = []
        for subject in subjects:
            cached = self._cache.get(subject)
            if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
                keys[subject] = cached[1]
            else:
                missing.append(subject)
        return missing

    def _remember(self, subject: str, asked: float, key: bytes | None) -> None:
        """Cache ``key``, read at ``asked``, unless a later answer (an erasure) is cached or the
        cache was dropped since."""
        cached = self._cache.get(subject)
        if asked < self._forgotten_at or (cached is not None and cached[0] > asked):
            return
        if len(self._cache) >= 100_000:
            self._cache.clear()
        self._cache[subject] = (asked, key)

    async def erase(self, subject: str) -> None:
        await self.keys.erase(subject)
        self._cache[subject] = (time.monotonic(), None)

    def forget_keys(self) -> None:
        """Drop the cached keys: the next decode asks the key store (an erasure made by
        another process is then seen at once, not after the cache's lifetime)."""
        self._cache.clear()
        self._forgotten_at = time.monotonic()
