"""Erasure at read time, for read models that copied personal data out of events.

Crypto-shredding erases a subject's data in every event at once, and a projection fed
*after* the erasure reads it as :data:`~crm.events.ERASED`. A document built *before* it
still holds the plaintext it copied, and it cannot always be reached by an event: the
``customer.erased`` event names the customer, while a ticket or a visit document is keyed by
its own id, and a projection must compute its keys from the event alone (it runs in the
partitioned worker too). So the query layer that serves such documents asks the key store
whose keys are gone and shows those fields as erased: the same answer in embedded and
distributed mode, and the same answer a rebuild gives, since the rebuilt document copies
``ERASED`` from the events.

The key store is asked on every read (one batched ``get``, plus ``is_erased`` for the rare
subject without a key), not through the codec's cache, so an erasure made by another
service shows at once.

The stored copies are then purged by :class:`RebuildAfterErasure`, a reaction to
``customer.erased`` that rebuilds those read models online: the rebuilt documents copy
``ERASED`` from the events, so no plaintext stays in the database either. Nor on disk: the
read store overwrites what it replaces or deletes with zeros (SQLite's ``secure_delete``),
and once the documents are rewritten the reaction asks it to drop every earlier version of
them (:class:`PurgesOldCopies`: SQLite checkpoints and truncates its write-ahead log), so no
old page of the file still holds the plaintext.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from crm.events import ERASED, DomainEvent, EventEnvelope
from crm.kernel.keys import KeyStore
from crm.kernel.projection import Projection, rebuild
from crm.kernel.read_store import Document
from crm.kernel.runtime import Runtime

ERASURE_EVENT = "customer.erased"
SETTLE_SECONDS = 30.0
"""How long the purge after an erasure waits for the projections that apply the erasure
event themselves (the customers read model) before it drops the old copies anyway."""


@runtime_checkable
class PurgesOldCopies(Protocol):
    """A read store that can leave no earlier version of its documents on disk (the SQLite
    store: its write-ahead log checkpointed and truncated)."""

    async def purge_old_copies(self) -> None: ...


async def purge_old_copies(read_store: object) -> None:
    """Drop the earlier versions of every document ``read_store`` keeps on disk, if it keeps
    any (a store without a write-ahead log of its own, such as the in-memory one, does not)."""
    if isinstance(read_store, PurgesOldCopies):
        await read_store.purge_old_copies()


class KeyNotYetErased(RuntimeError):
    """The erasure is recorded but its key is not deleted yet (that follows the append): a
    transient state, so the reaction is retried rather than dead-lettered."""


def replace_fields(doc: Document, paths: Iterable[str], value: Any) -> Document:
    """A copy of ``doc`` with each field of ``paths`` set to ``value`` where it is not None
    (None stays None: there was nothing there) nor :data:`~crm.events.ERASED` (an erased
    field stays erased, whatever would replace it: erasure wins over redaction). A dotted
    path goes into a nested document and into every element of a list on the way
    (``"comments.body"`` is each comment's body). ``doc`` itself is not changed."""
    result = dict(doc)
    for path in paths:
        _replace(result, path.split("."), value)
    return result


def _replace(node: dict[str, Any], parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if head not in node:
        return
    current = node[head]
    if not rest:
        if current is not None and current != ERASED:
            node[head] = value
        return
    if isinstance(current, dict):
        node[head] = copy = dict(current)
        _replace(copy, rest, value)
    elif isinstance(current, list):
        copies = []
        for item in current:
            if isinstance(item, dict):
                item = dict(item)
                _replace(item, rest, value)
            copies.append(item)
        node[head] = copies


async def erased_subjects(keys: KeyStore, subjects: Iterable[str]) -> frozenset[str]:
    """Which of ``subjects`` were erased. A subject with a key is not; one without is asked
    for explicitly, since a key that was never created (no personal data was ever sealed)
    is not an erasure."""
    wanted = set(subjects)
    if not wanted:
        return frozenset()
    found = await keys.get(wanted)
    keyless = sorted(wanted - set(found))
    answers = await asyncio.gather(*(keys.is_erased(s) for s in keyless))
    return frozenset(s for s, erased in zip(keyless, answers, strict=True) if erased)


async def redact_erased(
    keys: KeyStore,
    docs: Sequence[Document],
    subject_of: Callable[[Document], str | None],
    fields: Iterable[str],
) -> list[Document]:
    """``docs`` in order, each whose data subject (``subject_of``; None: no subject) was
    erased with its personal ``fields`` (dotted paths, see :func:`replace_fields`) read as
    :data:`~crm.events.ERASED`; the others unchanged. The key store is asked once for all of
    them (see :func:`erased_subjects`)."""
    paths = tuple(fields)
    subjects = [subject_of(doc) for doc in docs]
    erased = await erased_subjects(keys, (s for s in subjects if s is not None))
    return [
        replace_fields(doc, paths, ERASED) if subject in erased else doc
        for doc, subject in zip(docs, subjects, strict=True)
    ]


class RebuildAfterErasure:
    """A reaction to ``customer.erased``: rebuild the read models that copied the customer's
    personal data into documents the event cannot reach (tickets, visits, the lead), so the
    stored plaintext is replaced by ``ERASED`` as well.

    The rebuild runs online (staging collections, then a swap; the live runner follows on),
    and only once the customer's key is gone: the customer service records the erasure,
    then deletes the keys (a converted lead's first, the customer's last), so a deleted
    customer key means every key of the person is gone. Cached keys are dropped first, so an
    erasure made in another process cannot be decoded around. A redelivered erasure
    rebuilds again, to the same documents (erasures are rare; a rebuild is a read of the
    context's own log).
    """

    categories = frozenset({"customer"})
    event_types = frozenset({ERASURE_EVENT})

    def __init__(
        self,
        name: str,
        projections: Sequence[Projection],
        runtime: Runtime,
        *,
        settled: Sequence[Projection] = (),
    ) -> None:
        """``projections`` are rebuilt; ``settled`` are the read models that apply the
        erasure event themselves (no rebuild needed), waited for before the purge."""
        self.name = name
        self.projections = tuple(projections)
        self.settled = tuple(settled)
        self.runtime = runtime

    async def react(self, event: DomainEvent, envelope: EventEnvelope) -> None:
        if not await self.runtime.codec.keys.is_erased(envelope.stream_id):
            raise KeyNotYetErased(f"the key of {envelope.stream_id} is not deleted yet")
        runtime = self.runtime
        runtime.codec.forget_keys()
        for projection in self.projections:
            await rebuild(projection, runtime.store, runtime.read_store, runtime.codec)
        for projection in self.settled:
            await runtime.read_store.wait_for_checkpoint(
                projection.name, envelope.position, SETTLE_SECONDS
            )
        # the documents are rewritten: now no earlier version of them may stay on disk
        await purge_old_copies(runtime.read_store)
