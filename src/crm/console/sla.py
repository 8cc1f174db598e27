"""What the desk pages show of a ticket's SLA: each target's countdown against ``now``, and
the one falling due next. Pure (time passed in), so the queue, the ticket page and My day
count the same way and tests need no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Countdown:
    """One SLA target as a person reads it."""

    target: str
    """``first_response`` or ``resolution``."""
    due_at: str
    seconds_left: int
    """Negative: overdue by that much."""
    met_at: str | None
    breached_at: str | None

    @property
    def state(self) -> str:
        """``met``, ``met_late``, ``breached``, ``overdue`` (due but not yet checked by the
        scheduler) or ``running``."""
        if self.met_at is not None:
            late = self.breached_at is not None or _when(self.met_at) > _when(self.due_at)
            return "met_late" if late else "met"
        if self.breached_at is not None:
            return "breached"
        return "overdue" if self.seconds_left < 0 else "running"


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def countdowns(ticket: Mapping[str, Any], now: datetime) -> list[Countdown]:
    """The ticket's targets of its current cycle (a reopened ticket's earlier resolution
    targets are history), first response first."""
    cycle = ticket.get("cycle", 0)
    shown: list[Countdown] = []
    for t in ticket.get("sla_targets", []):
        if t["target"] == "resolution" and t["cycle"] != cycle:
            continue
        left = int((_when(t["due_at"]) - now).total_seconds())
        shown.append(Countdown(t["target"], t["due_at"], left, t["met_at"], t["breached_at"]))
    shown.sort(key=lambda c: (c.target != "first_response", c.due_at))
    return shown


def next_due(ticket: Mapping[str, Any], now: datetime) -> Countdown | None:
    """The unmet target falling due first (None: every target is met)."""
    running = [c for c in countdowns(ticket, now) if c.met_at is None]
    return min(running, key=lambda c: c.due_at) if running else None


def split_duration(seconds: int) -> tuple[int, int, int]:
    """Days, hours and minutes of ``|seconds|`` (rounded down to the minute)."""
    minutes = abs(seconds) // 60
    return minutes // (24 * 60), minutes // 60 % 24, minutes % 60


def by_due(tickets: Sequence[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The tickets with their next target (``due``), the one falling due first on top (the
    overdue ones therefore first), tickets with every target met last."""
    rows = [{**t, "due": next_due(t, now)} for t in tickets]
    rows.sort(key=lambda r: r["due"].due_at if r["due"] is not None else "9999")
    return rows
