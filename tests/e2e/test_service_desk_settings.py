"""The satisfaction and reopen settings reach the ticket service: a platform opened with
custom ``Settings`` (``CRM_SATISFACTION_LOW_SCORE`` and friends) treats scores and reopens
by them, end to end over HTTP; the defaults keep the documented behaviour."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.settings import Settings
from tests.conftest import SECRET, Api, UserClient
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("service-desk")]

_customers = known_customers("c-9")


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The shared fixture's settings, with the test's overrides (``indirect`` parameters)."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return Settings(data_dir=tmp_path / "data", secret=SECRET, **overrides)


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def resolved_complaint(ann: UserClient) -> str:
    opened = await ok(
        await ann.post(
            "/tickets",
            json={
                "customer_id": "c-9",
                "kind": "complaint",
                "channel": "phone",
                "priority": "normal",
                "subject": "Late delivery",
                "description": "The parcel came a week late.",
            },
        ),
        201,
    )
    tid = str(opened["id"])
    await ok(await ann.post(f"/tickets/{tid}/assign", json={"agent_id": "ann"}))
    await ok(await ann.post(f"/tickets/{tid}/resolve", json={"resolution": "apologised"}))
    return tid


@pytest.mark.parametrize(
    ("settings", "score", "reopened"),
    [
        ({"satisfaction_low_score": 3}, 3, True),
        ({}, 3, False),  # the default threshold is 2
        ({}, 2, True),
        ({"satisfaction_reopens_complaints": False}, 1, False),
    ],
    indirect=["settings"],
)
async def test_the_low_score_rules_come_from_the_settings(
    api: Api, score: int, reopened: bool
) -> None:
    ann = api.as_user("ann", Role.AGENT)
    tid = await resolved_complaint(ann)
    scored = await ok(await ann.post(f"/tickets/{tid}/satisfaction", json={"score": score}))
    r = await ann.get(f"/tickets/{tid}", params={"min_position": scored["position"]})
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    ticket = r.json()
    assert ticket["satisfaction"]["score"] == score
    if reopened:
        assert (ticket["status"], ticket["cycle"]) == ("assigned", 1)
        assert ticket["reopens"][0]["for_review"] is True
    else:
        assert (ticket["status"], ticket["reopens"]) == ("resolved", [])


@pytest.mark.parametrize(
    ("settings", "status"),
    [({"ticket_reopen_window_days": 1}, 409), ({}, 200)],
    indirect=["settings"],
)
async def test_the_reopen_window_comes_from_the_settings(
    api: Api, clock: ManualClock, status: int
) -> None:
    ann = api.as_user("ann", Role.AGENT)
    tid = await resolved_complaint(ann)
    await ok(await ann.post(f"/tickets/{tid}/close"))
    clock.advance(timedelta(days=2))
    r = await ann.post(f"/tickets/{tid}/reopen", json={"reason": "it happened again"})
    assert r.status_code == status, r.text
    if status == 409:
        assert r.json()["code"] == "reopen_window_passed"


def test_the_settings_are_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_SATISFACTION_LOW_SCORE", "3")
    monkeypatch.setenv("CRM_SATISFACTION_REOPENS_COMPLAINTS", "false")
    monkeypatch.setenv("CRM_TICKET_REOPEN_WINDOW_DAYS", "14")
    s = Settings()
    assert (
        s.satisfaction_low_score,
        s.satisfaction_reopens_complaints,
        s.ticket_reopen_window_days,
    ) == (3, False, 14)
    invalid: list[dict[str, Any]] = [
        {"satisfaction_low_score": 0},
        {"satisfaction_low_score": 5},
        {"ticket_reopen_window_days": -1},
        {"ticket_reopen_window_days": 366},
    ]
    for bad in invalid:
        with pytest.raises(ValidationError):
            Settings(**bad)
