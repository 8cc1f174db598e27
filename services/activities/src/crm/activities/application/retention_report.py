"""The retention report: what came of the churn warnings (the retention tasks the platform
opened when a customer's churn risk became high) whose warning fell in a window of days, per
rep (the task's assignee; null: still in the team's queue) and per reason code (a warning with
two reasons counts under each), and in total:

- ``warned``: warnings (retention tasks opened);
- ``contacted``: of them, completed with an outcome that says the customer was spoken to
  (reached, offer made, won back, lost);
- ``median_hours_to_contact``: the median of the hours from warning to that contact (null
  when none was contacted);
- ``kept``: completed as won back; ``lost``: completed as lost.

Read from the ``activities_retention`` read model; whose warnings one reads is the tasks'
rule (:data:`~crm.activities.application.policy.POLICY`): a rep or an agent their own, a
manager their team's and their own, admins and analysts the tenant's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from statistics import median
from typing import Any

from crm.activities.application.policy import POLICY
from crm.activities.application.work_reports import FIRST_YEAR, LAST_YEAR, MAX_DAYS
from crm.activities.projections.retention_models import RETENTION
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.read_store import Document, ReadStore, find_all

FIGURES = ("warned", "contacted", "median_hours_to_contact", "kept", "lost")


def figures(docs: Iterable[Document]) -> dict[str, Any]:
    """The report's figures of ``docs`` (retention documents)."""
    rows = list(docs)
    hours = [d["hours_to_contact"] for d in rows if d["contacted_at"] is not None]
    return {
        "warned": len(rows),
        "contacted": len(hours),
        "median_hours_to_contact": round(float(median(hours)), 2) if hours else None,
        "kept": sum(1 for d in rows if d["outcome"] == "won_back"),
        "lost": sum(1 for d in rows if d["outcome"] == "lost"),
    }


def by_rep(docs: Sequence[Document]) -> list[dict[str, Any]]:
    reps = sorted({d["assignee_id"] for d in docs}, key=lambda r: (r is None, r or ""))
    return [
        {"assignee_id": rep, **figures(d for d in docs if d["assignee_id"] == rep)} for rep in reps
    ]


def by_reason(docs: Sequence[Document]) -> list[dict[str, Any]]:
    codes = sorted({code for d in docs for code in d["reasons"]})
    rows = [{"reason": c, **figures(d for d in docs if c in d["reasons"])} for c in codes]
    return sorted(rows, key=lambda r: (-r["warned"], r["reason"]))


class RetentionReport:
    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def report(self, actor: Actor, first: date, last: date) -> dict[str, Any]:
        """The figures of the warnings from day ``first`` to day ``last`` (inclusive, UTC)."""
        for name, day in (("from", first), ("to", last)):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise InvalidCommand(
                    name, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}", location="query"
                )
        if last < first:
            raise InvalidCommand("to", "must not be before from", location="query")
        if (last - first).days >= MAX_DAYS:
            raise InvalidCommand("to", f"a report covers {MAX_DAYS} days at most", location="query")
        conditions: list[dict[str, Any]] = [
            {"tenant": actor.tenant},
            {"warned_on": {"$gte": first.isoformat()}},
            {"warned_on": {"$lte": last.isoformat()}},
        ]
        visible = POLICY.visibility_filter(actor)
        if visible:
            conditions.append(visible)
        docs = await find_all(self.read_store, RETENTION, {"$and": conditions})
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "total": figures(docs),
            "by_rep": by_rep(docs),
            "by_reason": by_reason(docs),
        }


__all__ = ["FIGURES", "RetentionReport", "by_reason", "by_rep", "figures"]
