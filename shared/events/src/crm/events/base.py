"""The base of every event payload, and the marker for personal data.

Payloads are frozen pydantic models: the published language other services code against.
A field annotated with :data:`Personal` holds personal data of the event's data subject; the
kernel encrypts it with the subject's key before it is stored, so erasing the key erases the
data everywhere it was ever written (crypto-shredding) without rewriting a single event.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict


class PersonalData:
    """Marks a field as personal data of the event's data subject."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "PersonalData()"


PERSONAL_DATA = PersonalData()

Personal = Annotated[str, PERSONAL_DATA]
"""A string that is personal data (a name, an e-mail address, a note about a person)."""

OptionalPersonal = Annotated[str | None, PERSONAL_DATA]

ERASED = "\u2039erased\u203a"
"""What a personal field reads as once its subject's key has been deleted."""


class DomainEvent(BaseModel):
    """Something that happened in a bounded context. Subclasses are registered with
    :func:`crm.events.registry.event`, which sets ``event_type`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]
    personal_fields: ClassVar[frozenset[str]] = frozenset()

    def data_subject(self, stream_id: str) -> str:
        """Whose personal data this event carries: by default the aggregate it belongs to."""
        return stream_id
