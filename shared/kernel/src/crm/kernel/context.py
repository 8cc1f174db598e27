"""What a bounded context hands the platform: its routes, command tables, projections,
reactions and background jobs. The platform wires every context the same way, in one place,
whether it runs one or all of them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from crm.kernel.commands import CommandTable
from crm.kernel.http.security import Authenticator
from crm.kernel.projection import Projection
from crm.kernel.reactor import Reaction
from crm.kernel.runtime import Runtime

Job = Callable[[], Coroutine[Any, Any, None]]
"""A background loop the context runs while it is served (a scheduler): cancelled at stop,
so each of its steps must be safe to cut short and run again."""


@dataclass(frozen=True)
class BoundedContext:
    name: str
    """As in URLs, topics and settings: ``customer``, ``sales``, ``service-desk``, ``analytics``."""
    router: Callable[[Runtime, Authenticator], APIRouter]
    categories: frozenset[str] = frozenset()
    """The stream categories it writes: what its relay publishes to ``crm.<name>.events``."""
    commands: Callable[[Runtime], Sequence[CommandTable[Any]]] | None = None
    """Its aggregates' command tables, registered on the runtime's command bus."""
    projections: Sequence[Projection] = field(default_factory=tuple)
    reactions: Callable[[Runtime], Sequence[Reaction]] | None = None
    """The steps of its processes (built on the runtime: they run commands). A reaction fed
    by the context's own categories follows its event store; one fed by other contexts'
    follows their topics when a bus is configured, and the shared store otherwise."""
    jobs: Callable[[Runtime], Sequence[Job]] | None = None

    @property
    def topic(self) -> str:
        return f"crm.{self.name}.events"
