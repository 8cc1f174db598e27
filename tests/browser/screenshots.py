"""Screenshots of the console's main pages at laptop (1366x768) and phone (390x844) width,
over a small demo company, into ``docs/screenshots/`` (shown in the README)::

    .venv/bin/python -m tests.browser.screenshots

Starts ``crm up --demo`` in a temporary directory (half a minute of demo generation), signs
in as the demo's users with the demo password and saves one PNG per page and width: a rep's
pages, a rep reading Chinese, an agent's day, ticket queue and a ticket, an admin's users, a
manager's analytics index, funnel and churn warnings."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from crm.platform.demo.console_users import DEMO_PASSWORD
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.support.processes import Process

OUT = Path(__file__).parents[2] / "docs" / "screenshots"
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(url + "/console/sign-in")
    page.locator("#user_id").fill(user)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form[action='/console/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/(\?min_position=\d+)?$"))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "CRM_DATA_DIR": f"{tmp}/data",
            "CRM_SECRET": "screenshots-secret-" + "s" * 40,
            "CRM_SQLITE_SYNCHRONOUS": "NORMAL",
        }
        args = ["up", "--demo", "--demo-customers", "40", "--demo-months", "8"]
        crm = Process(args, env, Path(tmp) / "up.log").start(timeout=300)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    page.goto(crm.url + "/")
                    page.screenshot(path=OUT / f"sign-in-{size}.png")
                    sign_in(page, crm.url, "rep-ana")
                    page.screenshot(path=OUT / f"my-day-{size}.png", full_page=size == "laptop")
                    at_risk = page.get_by_role("region", name="My customers at risk of churning")
                    customer = at_risk.get_by_role("link").first.get_attribute("href")
                    page.goto(crm.url + "/console/customers")
                    page.screenshot(path=OUT / f"customers-{size}.png")
                    page.goto(f"{crm.url}{customer}")
                    page.screenshot(path=OUT / f"customer-{size}.png", full_page=True)
                    page.goto(crm.url + "/console/pipeline")
                    page.screenshot(path=OUT / f"pipeline-{size}.png")
                    context.close()
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    sign_in(page, crm.url, "rep-cai")  # reads Chinese
                    page.screenshot(path=OUT / f"my-day-zh-{size}.png", full_page=size == "laptop")
                    context.close()
                    for user, name, path in (
                        ("agent-jon", "my-day-agent", "/console/"),
                        ("admin", "users", "/console/users"),
                    ):
                        context = browser.new_context(viewport={"width": width, "height": height})
                        page = context.new_page()
                        sign_in(page, crm.url, user)
                        page.goto(crm.url + path)
                        page.screenshot(path=OUT / f"{name}-{size}.png")
                        context.close()
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    sign_in(page, crm.url, "agent-jon")
                    page.goto(crm.url + "/console/tickets")
                    page.screenshot(path=OUT / f"tickets-{size}.png")
                    ticket = page.get_by_role("table").get_by_role("link").first
                    page.goto(crm.url + (ticket.get_attribute("href") or ""))
                    page.screenshot(path=OUT / f"ticket-{size}.png")
                    context.close()
                    context = browser.new_context(viewport={"width": width, "height": height})
                    page = context.new_page()
                    sign_in(page, crm.url, "mgr-nora")
                    for name, path in (
                        ("analytics", "/console/analytics"),
                        ("funnel", "/console/analytics/funnel"),
                        ("churn-warnings", "/console/analytics/churn"),
                    ):
                        page.goto(crm.url + path)
                        page.screenshot(path=OUT / f"{name}-{size}.png")
                    context.close()
                browser.close()
        finally:
            crm.stop()
    print(f"screenshots in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
