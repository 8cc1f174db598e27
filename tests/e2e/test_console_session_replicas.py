"""A console session ends in every process, not only the one that served the sign-out: two
platforms over one store (the replicas of a deployment), a browser signed in on one and its
cookie copied to the other. A sign-out, a deactivation (and a reactivation after it), a
password change and an admin's reset each end the copy on the other replica too, within the
few seconds its cache may keep a user; the user's own session survives their password change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from crm.console.session import COOKIE
from crm.console.session_check import CACHE_SECONDS
from crm.console.users import AddUser, hash_password, system_context
from crm.kernel.clock import ManualClock
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, context_named, open_platform
from tests.support.console import PASSWORD, csrf_of, sign_in
from tests.support.tenants import create_tenants

pytestmark = pytest.mark.e2e


class Replica:
    def __init__(self, platform: Platform, transport: httpx.ASGITransport) -> None:
        self.platform = platform
        self.transport = transport

    def browser(self, cookie: str | None = None) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=self.transport, base_url="http://crm.test")
        if cookie is not None:
            client.cookies.set(COOKIE, cookie, domain="crm.test")
        return client


@asynccontextmanager
async def replica(settings: Settings, clock: ManualClock) -> AsyncIterator[Replica]:
    """A process of the deployment: its own platform (runtime, projections) and app on the
    data directory every replica shares."""
    platform = open_platform(settings, clock=clock, contexts=(context_named("customer"),))
    try:
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            yield Replica(platform, httpx.ASGITransport(app=app))
    finally:
        await platform.close()


@pytest.fixture
async def replicas(
    settings: Settings, clock: ManualClock
) -> AsyncIterator[tuple[Replica, Replica]]:
    async with replica(settings, clock) as one, replica(settings, clock) as two:
        await create_tenants(one.platform)
        yield one, two


async def add_user(replica: Replica, user: str, role: str, team: str | None = None) -> None:
    runtime = replica.platform.runtime
    command = AddUser(user, user.title(), role, hash_password(PASSWORD), team)
    await runtime.commands.execute(command, system_context("default", runtime.clock.now()))


async def signed_in_copy(one: Replica, two: Replica, user: str) -> tuple[httpx.AsyncClient, ...]:
    """A browser signed in on ``one``, and a second one on ``two`` with its cookie copied."""
    browser = one.browser()
    await sign_in(browser, user)
    copy = two.browser(browser.cookies[COOKIE])
    assert await on_my_day(copy), "the other replica accepts the session"
    return browser, copy


async def on_my_day(client: httpx.AsyncClient) -> bool:
    page = await client.get("/console/")
    if page.status_code == 303:
        assert page.headers["location"].startswith("/console/sign-in")
        return False
    assert page.status_code == 200, page.text
    return True


async def refused_soon(client: httpx.AsyncClient) -> float:
    """Seconds until ``client``'s session is refused (it must be, within the cache's life)."""
    started = time.monotonic()
    while await on_my_day(client):
        assert time.monotonic() - started < CACHE_SECONDS + 3, "the session was never refused"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_sign_out_on_one_replica_ends_the_session_on_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    one, two = replicas
    await add_user(one, "ana", "sales_rep", "north")
    browser, copy = await signed_in_copy(one, two, "ana")
    other_tab = two.browser()
    await sign_in(other_tab, "ana")  # the same user's other session, on the other replica

    page = await browser.get("/console/")
    answer = await browser.post("/console/sign-out", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 303
    assert not await on_my_day(browser)
    assert await refused_soon(copy) <= CACHE_SECONDS + 3
    # the cookie once more on the replica that served the sign-out, and on a third browser
    assert not await on_my_day(one.browser(copy.cookies[COOKIE]))
    assert not await on_my_day(two.browser(copy.cookies[COOKIE]))
    assert await on_my_day(other_tab), "only that session ended, not the user's others"

    # the log records the end as a hash of the session's id, never the id
    events = await two.platform.store.read_stream("user-default:ana")
    ended = [e for e in events if e.event_type == "user.session_ended"]
    assert len(ended) == 1
    assert ended[0].actor == "ana"
    assert len(ended[0].payload["session_hash"]) == 32
    cookie_text = copy.cookies[COOKIE]
    assert ended[0].payload["session_hash"] not in cookie_text


async def test_deactivation_password_change_and_reset_end_copies_on_every_replica(
    replicas: tuple[Replica, Replica],
) -> None:
    one, two = replicas
    await add_user(one, "root", "admin")
    await add_user(two, "ana", "sales_rep", "north")
    admin = one.browser()
    admin_csrf = await sign_in(admin, "root")

    # deactivated on one replica: the copy on the other is refused, and stays refused once
    # the user is active again (a session from before the deactivation never comes back)
    _browser, copy = await signed_in_copy(one, two, "ana")
    answer = await admin.post("/console/users/ana/deactivate", data={"csrf": admin_csrf})
    assert answer.status_code == 303
    await refused_soon(copy)
    answer = await admin.post("/console/users/ana/activate", data={"csrf": admin_csrf})
    assert answer.status_code == 303
    await asyncio.sleep(CACHE_SECONDS + 0.5)
    assert not await on_my_day(copy)
    assert not await on_my_day(two.browser(copy.cookies[COOKIE]))

    # ana changes her password on one replica: her own browser goes on signed in, the copy
    # of her old cookie on the other replica is refused
    browser, copy = await signed_in_copy(one, two, "ana")
    page = await browser.get("/console/password")
    answer = await browser.post(
        "/console/password",
        data={"csrf": csrf_of(page.text), "current_password": PASSWORD,
              "password": "another long password", "password_again": "another long password"},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    await refused_soon(copy)
    assert await on_my_day(browser), "the session that changed the password goes on"
    assert await on_my_day(two.browser(browser.cookies[COOKIE])), "...on every replica"

    # an admin resets her password on the other replica: every session of hers ends
    admin_two = two.browser()
    csrf_two = await sign_in(admin_two, "root")
    answer = await admin_two.post(
        "/console/users/ana/password",
        data={"csrf": csrf_two, "password": "a temporary password"},
    )
    assert answer.status_code == 303, answer.text
    await refused_soon(browser)
    assert not await on_my_day(two.browser(browser.cookies[COOKIE]))
