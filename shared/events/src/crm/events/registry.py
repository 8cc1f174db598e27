"""From an event type name and schema version to its model, upgrading old versions on read.

Events are never rewritten: a payload stored at version 1 stays at version 1 forever. When a
model changes shape, its new version is registered and an upcaster turns the old JSON into
the new one each time it is read. Old models stay registered so their schema is published.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from crm.events.base import PERSONAL_DATA, DomainEvent

E = TypeVar("E", bound=type[DomainEvent])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """No model is registered for an event type (or for that version of it)."""


class EventRegistry:
    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[DomainEvent]] = {}
        self._latest: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[DomainEvent], event_type: str, version: int) -> None:
        key = (event_type, version)
        existing = self._models.get(key)
        if existing is not None and existing is not cls:
            raise ValueError(f"{event_type} v{version} is already registered as {existing}")
        named = cls.__dict__.get("event_type"), cls.__dict__.get("schema_version")
        if named != (None, None) and named != (event_type, version):
            # the type and version live on the class: naming it again would rename every
            # event of it that any registry encodes from then on
            raise ValueError(f"{cls.__name__} is already {named[0]} v{named[1]}")
        cls.event_type = event_type
        cls.schema_version = version
        cls.personal_fields = frozenset(
            name
            for name, field in cls.model_fields.items()
            if any(meta is PERSONAL_DATA for meta in field.metadata)
        )
        self._models[key] = cls
        self._latest[event_type] = max(version, self._latest.get(event_type, 0))

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn`` turning ``event_type`` JSON at ``from_version`` into the next one."""

        def add(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return add

    def has_upcaster(self, event_type: str, from_version: int) -> bool:
        return (event_type, from_version) in self._upcasters

    def latest_version(self, event_type: str) -> int:
        try:
            return self._latest[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def model(self, event_type: str, version: int | None = None) -> type[DomainEvent]:
        v = self.latest_version(event_type) if version is None else version
        try:
            return self._models[(event_type, v)]
        except KeyError:
            raise UnknownEventType(f"{event_type} v{v}") from None

    def upcast(
        self, event_type: str, version: int, payload: Mapping[str, Any]
    ) -> tuple[int, Mapping[str, Any]]:
        """Bring ``payload`` from ``version`` to the latest version of ``event_type``."""
        latest = self.latest_version(event_type)
        while version < latest:
            step = self._upcasters.get((event_type, version))
            if step is None:
                raise UnknownEventType(f"no upcaster for {event_type} v{version}")
            payload = step(dict(payload))
            version += 1
        return version, payload

    def decode(self, event_type: str, version: int, payload: Mapping[str, Any]) -> DomainEvent:
        """Validate a stored payload into the latest model of its type."""
        version, payload = self.upcast(event_type, version, payload)
        return self.model(event_type, version).model_validate(payload)

    def __iter__(self) -> Iterator[tuple[str, int, type[DomainEvent]]]:
        for (event_type, version), cls in sorted(self._models.items()):
            yield event_type, version, cls

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._latest


REGISTRY = EventRegistry()
"""The registry of the published language; every module of :mod:`crm.events` registers here."""


def event(event_type: str, version: int = 1) -> Callable[[E], E]:
    """Class decorator: register a payload model as ``event_type`` at ``version``."""

    def register(cls: E) -> E:
        REGISTRY.register(cls, event_type, version)
        return cls

    return register


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    return REGISTRY.upcaster(event_type, from_version)
