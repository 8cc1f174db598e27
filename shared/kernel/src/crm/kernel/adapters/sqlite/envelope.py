"""The envelopes the SQLite store reads, decoded lazily.

A row of ``events`` holds the ids as text, the times as microseconds and the payload as JSON.
Decoding all of that for every envelope read cost four times the query itself, and a reader
often looks at little of it: a subscriber filters on ``event_type`` or ``stream_id``, a
projection decodes the payloads of the types it handles. :class:`StoredEnvelope` is an
:class:`EventEnvelope` that keeps the row and decodes each of those fields on first use:

- ``position``, ``stream_id``, ``stream_version``, ``event_type``, ``schema_version``,
  ``tenant`` and ``actor`` are set when it is built (they come out of SQLite as they are);
- ``event_id``, ``correlation_id``, ``causation_id``, ``occurred_at`` and ``recorded_at``
  are parsed on first use and kept (immutable values);
- ``payload`` is parsed from the stored JSON **at every access**, so whoever reads it gets a
  mapping of their own: changing it changes nothing for any other reader of the same envelope
  (the feed hands one envelope to every subscriber of the process). Read it once per use.

Everything else is the envelope's: equal to an :class:`EventEnvelope` with the same fields
(either way round), frozen, the same ``repr``; copies, pickles and ``dataclasses.replace``
give plain envelopes. A field that cannot be decoded (a row written by hand, a damaged file)
raises :class:`CorruptEvent` (a ``ValueError``) naming the event, when it is used.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, SafeUUID

from pydantic_core import from_json

from crm.events import EventEnvelope

Row = tuple[int, str, str, int, str, str, int, int, int, str, str, str, str | None, str]
"""An ``events`` row in the order of its columns: position, event_id, stream_id,
stream_version, category, event_type, schema_version, occurred_at, recorded_at, tenant,
actor, correlation_id, causation_id, payload (as inserted, and as read by :data:`COLUMNS`)."""

COLUMNS = (
    "position, event_id, stream_id, stream_version, category, event_type, schema_version,"
    " occurred_at, recorded_at, tenant, actor, correlation_id, causation_id, payload"
)

_EVENT_ID, _OCCURRED, _RECORDED, _CORRELATION, _CAUSATION, _PAYLOAD = 1, 7, 8, 11, 12, 13

_FIELDS = tuple(EventEnvelope.__dataclass_fields__)
_values = operator.attrgetter(*_FIELDS)
_SAFE_UNKNOWN = SafeUUID.unknown
_new = object.__new__
_slot = EventEnvelope.__dict__


class CorruptEvent(ValueError):
    """A stored field of an event cannot be decoded."""


def _uuid(text: str) -> UUID:
    """``UUID(text)`` for the one form this store writes (``str(uuid)``), without the parsing
    of every other form ``UUID()`` accepts: half its cost."""
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise ValueError(f"badly formed UUID {text!r}")
    value = _new(UUID)
    object.__setattr__(value, "int", int(digits, 16))
    object.__setattr__(value, "is_safe", _SAFE_UNKNOWN)
    return value


def _from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


class StoredEnvelope(EventEnvelope):
    """See the module docstring. Built by :func:`stored_envelope`, never by its constructor
    (which gives a plain :class:`EventEnvelope`, as ``dataclasses.replace`` and copies do)."""

    __slots__ = ("_raw",)
    _raw: list[Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> EventEnvelope:  # type: ignore[misc]
        return EventEnvelope(*args, **kwargs)

    def _fail(self, name: str, error: Exception) -> CorruptEvent:
        return CorruptEvent(
            f"event {self.position} of stream {self.stream_id!r}: its stored {name} cannot"
            f" be decoded ({error})"
        )

    def _id(self, index: int, name: str) -> UUID:
        raw = self._raw
        value = raw[index]
        if value.__class__ is str:
            try:
                value = raw[index] = _uuid(value)
            except ValueError as e:
                raise self._fail(name, e) from e
        return cast(UUID, value)

    def _time(self, index: int, name: str) -> datetime:
        raw = self._raw
        value = raw[index]
        if value.__class__ is not datetime:
            try:
                value = raw[index] = _from_micros(value)
            except (TypeError, ValueError, OverflowError, OSError) as e:
                raise self._fail(name, e) from e
        return value

    @property
    def event_id(self) -> UUID:
        value = self._raw[_EVENT_ID]
        if value.__class__ is str:
            return self._id(_EVENT_ID, "event_id")
        return cast(UUID, value)

    @property
    def correlation_id(self) -> UUID:
        value = self._raw[_CORRELATION]
        if value.__class__ is str:
            return self._id(_CORRELATION, "correlation_id")
        return cast(UUID, value)

    @property
    def causation_id(self) -> UUID | None:
        if not self._raw[_CAUSATION]:
            return None
        return self._id(_CAUSATION, "causation_id")

    @property
    def occurred_at(self) -> datetime:
        value = self._raw[_OCCURRED]
        if value.__class__ is datetime:
            return value
        return self._time(_OCCURRED, "occurred_at")

    @property
    def recorded_at(self) -> datetime:
        value = self._raw[_RECORDED]
        if value.__class__ is datetime:
            return value
        return self._time(_RECORDED, "recorded_at")

    @property
    def payload(self) -> dict[str, Any]:
        """A fresh parse of the stored JSON at each access (see the module docstring)."""
        try:
            parsed: dict[str, Any] = from_json(self._raw[_PAYLOAD])
        except ValueError as e:
            raise self._fail("payload", e) from e
        return parsed

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventEnvelope):
            return bool(_values(self) == _values(other))
        return NotImplemented

    __hash__ = EventEnvelope.__hash__

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={value!r}" for name, value in zip(_FIELDS, _values(self), strict=True)
        )
        return f"EventEnvelope({fields})"

    def __reduce__(self) -> tuple[type[EventEnvelope], tuple[Any, ...]]:
        return EventEnvelope, _values(self)


_set_raw = StoredEnvelope.__dict__["_raw"].__set__
_set_position = _slot["position"].__set__
_set_stream_id = _slot["stream_id"].__set__
_set_stream_version = _slot["stream_version"].__set__
_set_event_type = _slot["event_type"].__set__
_set_schema_version = _slot["schema_version"].__set__
_set_tenant = _slot["tenant"].__set__
_set_actor = _slot["actor"].__set__


def stored_envelope(row: Row) -> StoredEnvelope:
    """The envelope of an ``events`` row (about a tenth of decoding every field at once)."""
    e: StoredEnvelope = _new(StoredEnvelope)
    _set_raw(e, list(row))
    _set_position(e, row[0])
    _set_stream_id(e, row[2])
    _set_stream_version(e, row[3])
    _set_event_type(e, row[5])
    _set_schema_version(e, row[6])
    _set_tenant(e, row[9])
    _set_actor(e, row[10])
    return e
