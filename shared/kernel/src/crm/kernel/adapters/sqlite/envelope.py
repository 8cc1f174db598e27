"""The envelopes the SQLite store reads, decoded lazily.

A row of ``events`` holds the ids as text, the times as microseconds and the payload as JSON.
Decoding all of that for every envelope read cost four times the query itself, and a reader
often looks at little of it: a subscriber filters on ``event_type`` or ``stream_id``, a
projection decodes the payloads of the types it handles. :class:`StoredEnvelope` is an
:class:`EventEnvelope` that keeps the row and decodes each of those fields on first use:

- ``position``, ``stream_id``, ``stream_version``, ``event_type``, ``schema_version``,
  ``tenant`` and ``actor`` are set when it is built (they come out of SQLite as they are);
- ``event_id``, ``correlation_id``, ``causation_id``, ``occurred_at`` and ``recorded_at``
  are parsed on first use (the ids together, each time alone) and kept in their slots
  (immutable values: read at a plain field's cost from then on);
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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
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

_EVENT_ID, _OCCURRED, _RECORDED, _CORRELATION, _CAUSATION = 1, 7, 8, 11, 12
_PAYLOAD: Final = 13

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
    if text.__class__ is not str:
        raise ValueError(f"badly formed UUID {text!r}")
    digits = text.replace("-", "")
    if len(digits) != 32:
        raise ValueError(f"badly formed UUID {text!r}")
    value = _new(UUID)
    object.__setattr__(value, "int", int(digits, 16))
    object.__setattr__(value, "is_safe", _SAFE_UNKNOWN)
    return value


def _from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _optional_uuid(text: str | None) -> UUID | None:
    return _uuid(text) if text else None


_Decoder = tuple[str, int, Callable[[Any], Any], Callable[[EventEnvelope, Any], None]]
_IDS: tuple[_Decoder, ...] = tuple(
    (name, index, decode, _slot[name].__set__)
    for name, index, decode in (
        ("event_id", _EVENT_ID, _uuid),
        ("correlation_id", _CORRELATION, _uuid),
        ("causation_id", _CAUSATION, _optional_uuid),
    )
)
_OCCURRED_AT: tuple[_Decoder, ...] = (
    ("occurred_at", _OCCURRED, _from_micros, _slot["occurred_at"].__set__),
)
_RECORDED_AT: tuple[_Decoder, ...] = (
    ("recorded_at", _RECORDED, _from_micros, _slot["recorded_at"].__set__),
)
_GROUP_OF = {name: group for group in (_IDS, _OCCURRED_AT, _RECORDED_AT) for name, *_ in group}
"""The fields decoded on first use, by the group decoded together: the ids (what a reaction or
the relay reads), each time alone (a projection reads ``occurred_at``, seldom the other)."""


class StoredEnvelope(EventEnvelope):
    """See the module docstring. Built by :func:`stored_envelope`, never by its constructor
    (which gives a plain :class:`EventEnvelope`, as ``dataclasses.replace`` and copies do).

    The fields decoded on first use are the dataclass's own slots, left unset when it is
    built: reading an unset slot falls back to :meth:`__getattr__`, which decodes the field
    (with the other ids, for an id) into its slot, where every later read finds it at the cost
    of a plain field. The payload is a property: parsed at every access."""

    __slots__ = ("_raw",)
    _raw: Row

    def __new__(cls, *args: Any, **kwargs: Any) -> EventEnvelope:  # type: ignore[misc]
        return EventEnvelope(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        group = _GROUP_OF.get(name)
        if group is None:
            raise AttributeError(f"'EventEnvelope' object has no attribute {name!r}")
        raw = self._raw
        wanted: Any = None
        for member, index, decode, store in group:
            try:
                value = decode(raw[index])
            except (TypeError, ValueError, OverflowError, OSError) as e:
                if member == name:
                    raise CorruptEvent(
                        f"event {self.position} of stream {self.stream_id!r}: its stored"
                        f" {name} cannot be decoded ({e})"
                    ) from e
                continue  # left unset: its own first use raises
            store(self, value)
            if member == name:
                wanted = value
        return wanted

    @property
    def payload(self) -> dict[str, Any]:
        """A fresh parse of the stored JSON at each access (see the module docstring)."""
        try:
            parsed: dict[str, Any] = from_json(self._raw[_PAYLOAD])
        except ValueError as e:
            raise CorruptEvent(
                f"event {self.position} of stream {self.stream_id!r}: its stored payload"
                f" cannot be decoded ({e})"
            ) from e
        return parsed

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventEnvelope):
            return bool(_values(self) == _values(other))
        return NotImplemented

    __hash__ = EventEnvelope.__hash__

    def __repr__(self) -> str:
        pairs = zip(_FIELDS, _values(self), strict=True)
        fields = ", ".join(f"{name}={value!r}" for name, value in pairs)
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
    _set_raw(e, row)
    _set_position(e, row[0])
    _set_stream_id(e, row[2])
    _set_stream_version(e, row[3])
    _set_event_type(e, row[5])
    _set_schema_version(e, row[6])
    _set_tenant(e, row[9])
    _set_actor(e, row[10])
    return e
