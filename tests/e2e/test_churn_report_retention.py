"""The churn report's retention figures (``retention`` of ``GET /analytics/churn/report``):
analytics' own read of the published task events gives, for the warnings of the months asked,
the same figures as the activities retention report over the same days, per rep and per
reason; rebuilt from the log, the same again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from crm.analytics.projections.retention_models import RETENTION_PROJECTION
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import rebuild
from crm.platform.bootstrap import Platform
from tests.conftest import UserClient
from tests.e2e.test_retention_report_api import Story, ok, row
from tests.support.reads import caught_up

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "activities", "analytics")]

Users = Callable[..., UserClient]


async def test_the_churn_report_shows_what_came_of_the_warnings(
    platform: Platform, clock: ManualClock, as_user: Users
) -> None:
    admin = as_user("root", Role.ADMIN)
    ana = as_user("ana", Role.SALES_REP)
    bob = as_user("bob", Role.SALES_REP)
    story = Story(platform, clock, admin)
    c1, c2, c3 = (
        await story.customer("ana"),
        await story.customer("ana"),
        await story.customer("bob"),
    )
    t1 = await story.warn(c1, "silence", "complaints")
    t2 = await story.warn(c2, "silence")
    t3 = await story.warn(c3, "complaints")
    await story.warn(await story.customer(None), "overdue_invoices")  # the pool: the queue
    await story.at(4)
    await ok(await ana.post(f"/tasks/{t1}/complete", json={"outcome": "won_back"}))
    await story.at(6)
    await ok(await ana.post(f"/tasks/{t2}/complete", json={"outcome": "no_answer"}))
    await story.at(30)
    await ok(await bob.post(f"/tasks/{t3}/complete", json={"outcome": "lost"}))
    await story.at(24 * 31)  # 2 April: a warning of another month
    await story.warn(await story.customer("ana"), "silence")
    head = await caught_up(platform, RETENTION_PROJECTION.name, "activities_retention")

    async def churn(**months: str) -> dict[str, Any]:
        params = {**months, "min_position": str(head)}
        return await ok(await admin.get("/analytics/churn/report", params=params))

    march = (await churn(period_from="2026-03", period_to="2026-03"))["retention"]
    assert march == {
        "total": row(4, 2, 17.0, 1, 1),
        "by_rep": [
            {"assignee_id": "ana", **row(2, 1, 4.0, 1, 0)},
            {"assignee_id": "bob", **row(1, 1, 30.0, 0, 1)},
            {"assignee_id": None, **row(1, 0, None, 0, 0)},
        ],
        "by_reason": [
            {"reason": "complaints", **row(2, 2, 17.0, 1, 1)},
            {"reason": "silence", **row(2, 1, 4.0, 1, 0)},
            {"reason": "overdue_invoices", **row(1, 0, None, 0, 0)},
        ],
    }
    # the activities retention report over the same days says the same
    days = {"from": "2026-03-01", "to": "2026-03-31", "min_position": str(head)}
    theirs = await ok(await admin.get("/reports/retention", params=days))
    assert {k: theirs[k] for k in ("total", "by_rep", "by_reason")} == march
    everything = (await churn())["retention"]
    assert everything["total"] == row(5, 2, 17.0, 1, 1)
    april = (await churn(period_from="2026-04"))["retention"]
    assert april["total"] == row(1, 0, None, 0, 0)

    runtime = platform.runtime
    await rebuild(RETENTION_PROJECTION, runtime.store, runtime.read_store, runtime.codec)
    assert (await churn(period_from="2026-03", period_to="2026-03"))["retention"] == march
    # reps do not read the churn report
    assert (await ana.get("/analytics/churn/report")).status_code == 403
