"""Given/when/then for aggregates: given past events, when a command, then new events (or an
error). The domain is tested on events alone, the way it is stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import pytest

from crm.events import DomainEvent
from crm.kernel.aggregate import Aggregate

A = TypeVar("A", bound=Aggregate)  # type: ignore[type-arg]


class Scenario(Generic[A]):
    def __init__(self, aggregate: type[A], id: str = "42") -> None:
        self.aggregate = aggregate
        self.id = id
        self.history: Sequence[DomainEvent] = ()

    def given(self, *events: DomainEvent) -> Scenario[A]:
        self.history = events
        return self

    def _subject(self) -> A:
        return self.aggregate.rehydrate(self.id, self.history, len(self.history) - 1)

    def when(self, command: Callable[[A], None]) -> Outcome[A]:
        subject = self._subject()
        try:
            command(subject)
        except Exception as e:
            return Outcome(subject, e)
        return Outcome(subject, None)


class Outcome(Generic[A]):
    def __init__(self, subject: A, error: Exception | None) -> None:
        self.subject = subject
        self.error = error

    def then(self, *events: DomainEvent) -> A:
        if self.error is not None:
            raise AssertionError(f"expected events, the command raised {self.error!r}")
        assert list(self.subject.changes) == list(events)
        return self.subject

    def then_nothing(self) -> A:
        return self.then()

    def then_raises(self, error: type[Exception], match: str | None = None) -> Exception:
        if self.error is None:
            raise AssertionError(f"expected {error.__name__}, got events {self.subject.changes}")
        assert isinstance(self.error, error), self.error
        if match is not None:
            with pytest.raises(error, match=match):
                raise self.error
        return self.error
