"""A real ``crm up`` and Debian's Chromium driven by Playwright: the console clicked through
as its users would. Skipped, saying why, where ``/usr/bin/chromium`` is missing
(``apt-get install -y chromium``; ``.ci/run`` installs it).

Every page of every test is watched: a request to any host but the platform, an uncaught
JavaScript error or a console error fails the test that caused it."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from crm.console import register_user_commands
from crm.console.users import AddUser, hash_password, system_context
from crm.kernel.auth import Role, TokenIssuer
from crm.kernel.settings import Settings
from crm.platform.bootstrap import open_platform
from tests.support.processes import CRM, Process

CHROMIUM = Path(os.environ.get("CRM_TEST_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium (``CRM_TEST_CHROMIUM`` points elsewhere)."""
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "browser-test-secret-" + "b" * 40
PASSWORD = "correct horse battery"
TENANT = "default"
NO_CHROMIUM = f"no {CHROMIUM}: apt-get install -y chromium (Debian's; .ci/run installs it)"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


@dataclass
class Crm:
    url: str
    env: dict[str, str]
    customers: dict[str, str] = field(default_factory=dict)
    """Name -> id of the customers seeded through the API."""

    def token(self, user: str, role: Role, team: str | None = None) -> str:
        return TokenIssuer(SECRET).issue(user, role, TENANT, team=team)

    def api(self, user: str, role: Role, team: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user, role, team)}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def add_user_with_cli(
        self, user: str, name: str, role: str, *, team: str | None = None, locale: str = "en"
    ) -> None:
        """``crm users add``, as the first admin of a deployment would run it."""
        args = [CRM, "users", "add", user, "--name", name, "--role", role, "--locale", locale]
        if team:
            args += ["--team", team]
        env = {**self.env, "CRM_USER_PASSWORD": PASSWORD}
        subprocess.run(args, env=env, check=True, capture_output=True)

    def add_users(self, *users: tuple[str, str, str, str | None, str]) -> None:
        """The same commands in this process, on the platform's store (a CLI run costs
        seconds of imports): (user, name, role, team, locale) each."""

        async def add() -> None:
            settings = Settings(data_dir=Path(self.env["CRM_DATA_DIR"]), secret=SECRET)
            platform = open_platform(settings, contexts=())
            register_user_commands(platform.runtime.commands)
            hashed = hash_password(PASSWORD)
            try:
                for user, name, role, team, locale in users:
                    command = AddUser(user, name, role, hashed, team, locale)
                    ctx = system_context(TENANT, platform.runtime.clock.now(), "test")
                    await platform.runtime.commands.execute(command, ctx)
            finally:
                await platform.close()

        # Playwright's sync API runs a loop in this thread: the store's work runs in another
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, add()).result()


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    """``crm up`` with two reps, a manager (who reads Chinese) and their customers."""
    root = tmp_path_factory.mktemp("console")
    env = {
        **os.environ,
        "CRM_DATA_DIR": str(root / "data"),
        "CRM_SECRET": SECRET,
        "CRM_SQLITE_SYNCHRONOUS": "NORMAL",
    }
    process = Process(["up"], env, root / "up.log")
    process.start(timeout=60)
    try:
        platform = Crm(process.url, process.env)
        platform.add_user_with_cli("rep-ana", "Ana Silva", "sales_rep", team="north")
        platform.add_users(
            ("rep-ben", "Ben Okafor", "sales_rep", "north", "en"),
            ("mgr-wang", "王珊", "manager", "north", "zh-CN"),
            ("locked-lu", "Lu Locked", "agent", None, "en"),
            ("admin-ada", "Ada Admin", "admin", None, "en"),
            ("agent-ivy", "Ivy Chen", "agent", "support", "en"),
        )
        with platform.api("boss", Role.ADMIN) as admin:
            for name, owner in (
                ("Ada Lovelace", "rep-ana"),
                ("Grace Hopper", "rep-ana"),
                ("Alan Turing", "rep-ben"),
            ):
                answer = admin.post(
                    "/customers",
                    json={
                        "name": name,
                        "email": f"{name.split()[0].lower()}@example.com",
                        "owner_id": owner,
                        "region": "EMEA",
                        "tags": ["vip"],
                    },
                )
                answer.raise_for_status()
                platform.customers[name] = answer.json()["id"]
        with platform.api("rep-ana", Role.SALES_REP, "north") as ana:
            answer = ana.post(
                "/opportunities",
                json={
                    "customer_id": platform.customers["Ada Lovelace"],
                    "name": "Analytical engine",
                    "amount": {"amount": "125000.00", "currency": "EUR"},
                    "expected_close_date": (date.today() + timedelta(days=30)).isoformat(),
                },
            )
            answer.raise_for_status()
        with platform.api("agent-ivy", Role.AGENT, "support") as ivy:
            ticket = ivy.post(
                "/tickets",
                json={
                    "customer_id": platform.customers["Grace Hopper"],
                    "kind": "complaint",
                    "channel": "phone",
                    "priority": "high",
                    "subject": "Compiler crashes on startup",
                    "description": "Since the last update the compiler will not start.",
                },
            )
            ticket.raise_for_status()
            ivy.post(
                f"/tickets/{ticket.json()['id']}/assign", json={"agent_id": "agent-ivy"}
            ).raise_for_status()
        yield platform
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API runs an event loop in the test thread while it is
    open, and the async tests of later modules need that thread's loop to themselves."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@dataclass
class Watched:
    context: BrowserContext
    page: Page
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Browser, crm: Crm) -> Iterator[Watched]:
    """A fresh browser context (no cookies) whose every request and error is recorded."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    page = context.new_page()
    w = Watched(context, page)

    def on_request(request: object) -> None:
        url: str = request.url  # type: ignore[attr-defined]
        w.requests.append(url)
        if not (url.startswith(crm.url + "/") or url.startswith("data:")):
            w.foreign.append(url)

    def on_console(message: object) -> None:
        if message.type == "error":  # type: ignore[attr-defined]
            text: str = message.text  # type: ignore[attr-defined]
            # a page answered 4xx on purpose (the 404 and 403 tests) logs its status
            if "the server responded with a status of" not in text:
                w.errors.append(text)

    context.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: w.errors.append(str(error)))
    yield w
    context.close()
    assert not w.foreign, f"requests to other hosts: {w.foreign}"
    assert not w.errors, f"JavaScript or console errors: {w.errors}"
    assert w.requests, "the page made no request at all"


def sign_in(w: Watched, crm: Crm, user: str, password: str = PASSWORD) -> None:
    """From ``/`` (which leads to the sign-in form) as ``user``, in the default tenant."""
    w.page.goto(crm.url + "/")
    w.page.locator("#user_id").fill(user)
    w.page.locator("#password").fill(password)
    w.page.locator("form[action='/console/sign-in'] button[type=submit]").click()
