"""How a projection says what it does with each event: one handler per event type.

A projection declares its handlers once, and the event types it reads are derived from them,
never written a second time::

    on: Handlers[CustomerDoc] = Handlers()

    @on(CustomerTagged)
    def tagged(key: DocKey, doc: CustomerDoc | None, event: CustomerTagged,
               envelope: EventEnvelope) -> CustomerDoc: ...

    class CustomersProjection:
        event_types = on.event_types
        evolve = on.evolve

The document type ``D`` is the read model's typed shape (a ``TypedDict``): the projection
writes it, and the query and the route serving it reuse it as their answer, so the fields are
written down once. A ``TypedDict`` costs nothing at run time (documents stay plain JSON
objects in every read store) while mypy checks each handler against it.

:class:`ByCategory` is the projection of several kinds of stream into one collection each
(orders, invoices, quotes...), under one checkpoint, so a position of any of them can be
waited for by every read of that side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from crm.events import DomainEvent, EventEnvelope
from crm.kernel.read_store import CollectionSpec, Document

D = TypeVar("D")
E = TypeVar("E", bound=DomainEvent)

DocKey = tuple[str, str]
"""(collection, document id)"""

Handler = Callable[[DocKey, Any, E, EventEnvelope], Any]


class Handlers(Generic[D]):
    """A projection's handlers by event class: ``@on(SomeEvent)`` (or several classes that
    share one handler) registers the function below it."""

    def __init__(self) -> None:
        self._by_type: dict[str, Callable[[DocKey, Any, Any, EventEnvelope], Any]] = {}

    def __call__(
        self, event: type[E], *more: type[DomainEvent]
    ) -> Callable[
        [Callable[[DocKey, D | None, E, EventEnvelope], D | None]],
        Callable[[DocKey, D | None, E, EventEnvelope], D | None],
    ]:
        def register(
            handler: Callable[[DocKey, D | None, E, EventEnvelope], D | None],
        ) -> Callable[[DocKey, D | None, E, EventEnvelope], D | None]:
            classes: tuple[type[DomainEvent], ...] = (event, *more)
            for each in classes:
                if each.event_type in self._by_type:
                    raise ValueError(f"{each.event_type} already has a handler")
                self._by_type[each.event_type] = handler
            return handler

        return register

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._by_type)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        """The document after ``event``, by the handler of its type (an event type without
        one leaves the document as it is)."""
        handler = self._by_type.get(envelope.event_type)
        if handler is None:
            return doc
        new: Document | None = handler(key, doc, event, envelope)
        return new


def stream_key(collection: str, envelope: EventEnvelope) -> DocKey:
    """The document of the event's own stream: ``<category>-<id>`` is document ``id``."""
    return (collection, envelope.stream_id.partition("-")[2])


class Model(Protocol):
    """How one kind of stream becomes the documents of one collection."""

    @property
    def collection(self) -> str:
        """The collection its documents are in (one document per stream)."""
        ...

    @property
    def collections(self) -> Sequence[CollectionSpec]:
        """Its collections with their indexes (``collection`` and any it also keeps)."""
        ...

    @property
    def event_types(self) -> frozenset[str]: ...

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None: ...


class ByCategory:
    """One projection of several kinds of stream, each (by its category) into a collection
    of its own, one document per stream, under one checkpoint."""

    def __init__(self, name: str, version: int, models: Mapping[str, Model]) -> None:
        self.name = name
        self.version = version
        self.models = dict(models)
        self.collections: Sequence[CollectionSpec] = tuple(
            spec for m in models.values() for spec in m.collections
        )
        self.event_types: frozenset[str] = frozenset().union(
            *(m.event_types for m in models.values())
        )
        self.categories: frozenset[str] | None = frozenset(models)

    def keys(self, event: DomainEvent, envelope: EventEnvelope) -> Iterable[DocKey]:
        return (stream_key(self.models[envelope.category].collection, envelope),)

    def evolve(
        self, key: DocKey, doc: Document | None, event: DomainEvent, envelope: EventEnvelope
    ) -> Document | None:
        return self.models[envelope.category].evolve(key, doc, event, envelope)


__all__ = ["ByCategory", "DocKey", "Handlers", "Model", "stream_key"]
