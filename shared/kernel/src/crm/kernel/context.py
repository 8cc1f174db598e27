"""What a bounded context hands the platform: its routes and its projections. The platform
wires every context the same way, in one place, whether it runs one or all of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter

from crm.kernel.http.security import Authenticator
from crm.kernel.projection import Projection
from crm.kernel.runtime import Runtime


@dataclass(frozen=True)
class BoundedContext:
    name: str
    """As in URLs, topics and settings: ``customer``, ``sales``, ``service-desk``, ``analytics``."""
    router: Callable[[Runtime, Authenticator], APIRouter]
    categories: frozenset[str] = frozenset()
    """The stream categories it writes: what its relay publishes to ``crm.<name>.events``."""
    projections: Sequence[Projection] = field(default_factory=tuple)

    @property
    def topic(self) -> str:
        return f"crm.{self.name}.events"
