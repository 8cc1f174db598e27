"""The aggregate base: immutable state evolved by events, commands as methods.

An aggregate's command methods check the rules against ``self.state`` and call
``self.trigger(event)``, which evolves the state and collects the event for the repository
to append. State is an immutable value with an ``evolve(event) -> state`` method, the same
function that rebuilds it from history, so what a command sees is exactly what a reload sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, Protocol, Self, TypeVar

from crm.events import DomainEvent
from crm.kernel.event_store import NO_STREAM


class State(Protocol):
    def evolve(self, event: DomainEvent) -> Self: ...


S = TypeVar("S", bound=State)


class Aggregate(Generic[S]):
    category: ClassVar[str]
    """The stream category: streams are named ``<category>-<id>``."""
    keeps_state: ClassVar[bool] = False
    """Whether a repository may keep the state it loaded and, next time, read only the events
    after it: for long streams (an import's, an event each batch) whose events hold no
    personal data, since a copy decrypted before an erasure must not outlive it."""

    def __init__(self, id: str, state: S, version: int = NO_STREAM) -> None:
        self.id = id
        self.state = state
        self.version = version
        """The version of the last stored event this instance was loaded at."""
        self._changes: list[DomainEvent] = []

    @classmethod
    def initial_state(cls) -> S:
        raise NotImplementedError

    @classmethod
    def stream_id_for(cls, id: str) -> str:
        return f"{cls.category}-{id}"

    @property
    def stream_id(self) -> str:
        return self.stream_id_for(self.id)

    @property
    def is_new(self) -> bool:
        return self.version == NO_STREAM and not self._changes

    @classmethod
    def create(cls, id: str) -> Self:
        return cls(id, cls.initial_state())

    @classmethod
    def rehydrate(cls, id: str, history: Iterable[DomainEvent], version: int) -> Self:
        state = cls.initial_state()
        for event in history:
            state = state.evolve(event)
        return cls(id, state, version)

    def trigger(self, event: DomainEvent) -> None:
        self.state = self.state.evolve(event)
        self._changes.append(event)

    @property
    def changes(self) -> tuple[DomainEvent, ...]:
        return tuple(self._changes)
