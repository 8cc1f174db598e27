"""The agenda: what happens on which simulated day, and who does it.

The story fills it, the simulation empties it one day at a time. Actions of one actor (a
customer, or the company) run in the order they were added, so a customer's day goes as
planned however the actors of that day interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

Action = Callable[[], Awaitable[None]]


@dataclass
class Agenda:
    """Actions per simulated day, per actor (a customer, or the company), in plan order."""

    days: dict[date, dict[str, list[Action]]] = field(default_factory=lambda: defaultdict(dict))

    def at(self, day: date, who: str, action: Action) -> None:
        self.days[day].setdefault(who, []).append(action)
