"""The agenda: what happens on which simulated day, at what time, and who does it.

The story fills it, the simulation empties it one day at a time, and within a day one time
at a time (an agent answers a ticket some minutes after it was opened). Actions of one actor
(a customer, or the company) run in the order they were added, so a customer's day goes as
planned however the actors of that day interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, time

Action = Callable[[], Awaitable[None]]
WORK_HOUR = time(10, 0)
"""When the day's business happens, unless an action is given another time."""


@dataclass
class Agenda:
    """Actions per simulated day and time, per actor (a customer, or the company), in plan
    order."""

    days: dict[date, dict[time, dict[str, list[Action]]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def at(self, day: date, who: str, action: Action, when: time = WORK_HOUR) -> None:
        self.days[day].setdefault(when, {}).setdefault(who, []).append(action)

    def next_on(self, day: date) -> tuple[time, dict[str, list[Action]]] | None:
        """The earliest time of ``day`` with actions left, and its actions (taken off)."""
        times = self.days.get(day)
        if not times:
            self.days.pop(day, None)
            return None
        when = min(times)
        return when, times.pop(when)
