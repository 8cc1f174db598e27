"""How far each read model is, told the same way by ``crm projections status`` and ``/ready``.

A projection reads only the stream categories it declares, and its checkpoint is the
position of the last event it applied (or skipped) of those. The head of the whole log says
nothing about it: events of other categories after its checkpoint are not work it has to
do. So **behind** is the number of events *of its own categories* after its checkpoint: what
it still has to apply, 0 when it is caught up, however far the log went on elsewhere.

``/ready`` answers whether this process may serve reads: every projection it runs caught up
with the log once at start (or finished the rebuild its new version needed) and every runner,
reaction and job is still alive. A ready platform may be a few events behind for a moment
(it follows the log live; a read passes ``min_position`` to wait for its own write), never
more than that while it stays ready.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.kernel.event_store import EventStore
from crm.kernel.projection import Projection, outdated
from crm.kernel.read_store import ReadStore

COUNT_LIMIT = 100_000
"""Counting stops there (shown as ``100000+``): a status is a glance, not a scan."""


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    version: int
    checkpoint: int
    behind: int
    """Events of the projection's categories after its checkpoint (capped at COUNT_LIMIT)."""
    outdated: bool
    """Built by another version of the projection: rebuilt online at the next start."""
    dead_letters: int

    @property
    def behind_text(self) -> str:
        return f"{self.behind}+" if self.behind >= COUNT_LIMIT else str(self.behind)


async def events_to_apply(store: EventStore, projection: Projection, checkpoint: int) -> int:
    """Events of ``projection``'s categories after ``checkpoint`` (up to COUNT_LIMIT)."""
    behind = 0
    async for page in store.read_all(checkpoint, batch_size=1000, categories=projection.categories):
        behind += sum(1 for e in page if e.position > checkpoint)
        if behind >= COUNT_LIMIT:
            return COUNT_LIMIT
    return behind


async def projection_status(
    store: EventStore, read_store: ReadStore, projection: Projection
) -> ProjectionStatus:
    cp = await read_store.checkpoint(projection.name)
    return ProjectionStatus(
        name=projection.name,
        version=projection.version,
        checkpoint=cp.position,
        behind=await events_to_apply(store, projection, cp.position),
        outdated=await outdated(read_store, projection),
        dead_letters=len(await read_store.dead_letters(projection.name)),
    )
