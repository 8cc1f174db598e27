"""The console's analytics pages over HTTP, fed by the contexts' real commands: churn warnings
with their reasons in the reader's language; the funnel, revenue, customers and service
reports as SVG charts beside tables of the same numbers; customer value; every table's CSV
equal to the API's CSV for the same user (same rows, same redaction); and the analytics
access rules through the pages (a rep reads their own customers only and no revenue report,
an agent only the service report, an analyst no names; a bad filter or an unknown parameter
is a 422 naming it)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest

from crm.analytics.churn.monitor import ChurnMonitor
from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.redaction import REDACTED
from crm.platform.bootstrap import Platform
from tests.conftest import Api, UserClient
from tests.support.console import console_user, own_client, sign_in

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.contexts("customer", "sales", "service-desk", "analytics"),
]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def head(platform: Platform) -> int:
    return await platform.store.head_position()


async def story(api: Api, platform: Platform, clock: ManualClock) -> dict[str, str]:
    """Ada (rep ana's) complained four times, her tickets still open: a churn warning.
    Ana has two opportunities, one moved on to qualification and one lost for its price;
    Bob (rep ben's) has an order of 500 EUR."""
    boss = api.as_user("boss", Role.ADMIN)
    ana, ben = api.as_user("ana", Role.SALES_REP), api.as_user("ben", Role.SALES_REP)
    agent = api.as_user("ivy", Role.AGENT, team="support")
    product = {"sku": "BOX", "name": "Box", "list_price": {"amount": "100", "currency": "EUR"}}
    await ok(await boss.post("/products", json=product), 201)
    ada = (await ok(await boss.post("/customers", json={"name": "Ada", "owner_id": "ana"}), 201))[
        "id"
    ]
    bob = (await ok(await boss.post("/customers", json={"name": "Bob", "owner_id": "ben"}), 201))[
        "id"
    ]
    order = {"customer_id": bob, "currency": "EUR", "lines": [{"sku": "BOX", "quantity": "5"}]}
    await ok(await ben.post("/orders", json=order), 201)
    deal = {
        "customer_id": ada,
        "name": "Boxes",
        "amount": {"amount": "1000.00", "currency": "EUR"},
        "expected_close_date": "2026-06-30",
    }
    moved = await ok(await ana.post("/opportunities", json=deal), 201)
    stage = {"stage": "qualification"}
    await ok(await ana.post(f"/opportunities/{moved['id']}/stage", json=stage))
    lost = await ok(await ana.post("/opportunities", json={**deal, "name": "Old"}), 201)
    await ok(await ana.post(f"/opportunities/{lost['id']}/lose", json={"reason": "price"}))
    for n in range(4):
        ticket = {
            "customer_id": ada,
            "kind": "complaint",
            "channel": "phone",
            "priority": "high",
            "subject": f"Broken box {n}",
            "description": "It arrived broken.",
        }
        await ok(await agent.post("/tickets", json=ticket), 201)
    await ChurnMonitor(platform.runtime).tick(clock.now())
    return {"ada": ada, "bob": bob}


async def page(client: httpx.AsyncClient, platform: Platform, url: str, status: int = 200) -> str:
    sep = "&" if "?" in url else "?"
    answer = await client.get(f"{url}{sep}min_position={await head(platform)}")
    assert answer.status_code == status, answer.text
    return answer.text


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def api_csv(client: UserClient, url: str) -> str:
    answer = await client.get(url)
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_churn_warnings_with_reasons_in_both_languages_and_as_csv(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await story(api, platform, clock)
    await console_user(api, "mgr", "manager")
    await console_user(api, "wang", "manager", locale="zh-CN")
    async with own_client(api) as mgr, own_client(api) as wang:
        await sign_in(mgr, "mgr")
        await sign_in(wang, "wang")
        html = await page(mgr, platform, "/console/analytics/churn")
        assert f'href="/console/customers/{ids["ada"]}">Ada</a>' in html
        assert "Complained recently" in html
        assert "Several tickets still open" in html
        assert "(4 complaints in 30 days)" in html  # the assessment's own detail
        assert "1 customers at risk" in html
        zh = await page(wang, platform, "/console/analytics/churn")
        assert "近期有投诉" in zh
        assert "多张工单仍未解决" in zh
        assert "流失预警" in zh
        profile = await page(wang, platform, f"/console/customers/{ids['ada']}")
        assert "近期有投诉" in profile  # the customer page's reasons in the reader's words
        assert "Complained recently" not in profile
        high = await page(mgr, platform, "/console/analytics/churn?level=high")
        assert "No customer is at risk." in high

        assert 'href="/console/analytics/churn/csv"' in html
        answer = await mgr.get("/console/analytics/churn/csv")
        assert answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in answer.headers["content-disposition"]
        expected = await api_csv(api.as_user("mgr"), "/analytics/churn/warnings?format=csv")
        assert answer.text == expected
        [row] = rows_of(answer.text)
        assert (row["customer_id"], row["name"]) == (ids["ada"], "Ada")

        bad = await mgr.get("/console/analytics/churn?level=extreme")
        assert bad.status_code == 422
        assert "level" in bad.text
        unknown = await mgr.get("/console/analytics/churn?colour=red")
        assert unknown.status_code == 422
        assert "colour" in unknown.text


async def test_the_funnel_as_charts_and_tables(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    await story(api, platform, clock)
    await console_user(api, "mgr", "manager")
    async with own_client(api) as mgr:
        await sign_in(mgr, "mgr")
        html = await page(mgr, platform, "/console/analytics/funnel")
        svg = re.search(r'<svg[^>]*id="chart-entered".*?</svg>', html, re.S)
        assert svg is not None
        chart = svg.group(0)
        assert 'role="img"' in chart
        assert '<title id="chart-entered-title">Opportunities that entered each stage</title>' in (
            chart
        )
        bars = re.findall(r"<title>([^<]+)</title>", chart)
        assert "Prospecting: 2" in bars
        assert "Qualification: 1" in bars
        assert "Needs analysis: 0" in bars
        assert re.findall(r'data-value="([^"]+)"', chart)[:3] == ["2", "1", "0"]
        conversion = re.search(r'<svg[^>]*id="chart-conversion".*?</svg>', html, re.S)
        assert conversion is not None
        assert "Prospecting: 50 %" in conversion.group(0)  # 1 of 2 moved on
        lost = re.search(r'<svg[^>]*id="chart-lost".*?</svg>', html, re.S)
        assert lost is not None
        assert "price · Prospecting: 1" in lost.group(0)
        table = re.search(r'<table class="cards" id="table-stages">.*?</table>', html, re.S)
        assert table is not None
        assert '<td data-label="Entered">2</td>' in table.group(0)
        assert "<script" not in html.split("</main>")[0]  # the charts need no script

        link = re.search(r'href="(/console/analytics/funnel/csv\?table=lost_reasons)"', html)
        assert link is not None
        answer = await mgr.get(link.group(1))
        assert answer.text == await api_csv(
            api.as_user("mgr"), "/analytics/funnel?format=csv&table=lost_reasons"
        )
        assert rows_of(answer.text)[0]["reason"] == "price"

        filtered = await page(mgr, platform, "/console/analytics/funnel?from=2030-01-01")
        assert "Prospecting: 0" in filtered
        assert 'href="/console/analytics/funnel/csv?from=2030-01-01&amp;table=stages"' in filtered
        bad = await mgr.get("/console/analytics/funnel/csv?table=secrets")
        assert bad.status_code == 422
        assert "table" in bad.text
        wrong = await mgr.get("/console/analytics/funnel?from=2026-13-01")
        assert wrong.status_code == 422
        assert "from" in wrong.text


async def test_revenue_customers_service_and_value_pages(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    await story(api, platform, clock)
    await console_user(api, "mgr", "manager", locale="zh-CN")
    async with own_client(api) as mgr:
        await sign_in(mgr, "mgr")
        revenue = await page(mgr, platform, "/console/analytics/revenue")
        chart = re.search(r'<svg[^>]*id="chart-revenue".*?</svg>', revenue, re.S)
        assert chart is not None
        assert "2026-03 EUR: €500.00" in chart.group(0)
        assert "每月收入" in chart.group(0)
        answer = await mgr.get("/console/analytics/revenue/csv?table=months")
        assert answer.text == await api_csv(
            api.as_user("mgr"), "/analytics/reports/revenue?format=csv"
        )
        assert rows_of(answer.text)[0]["revenue.amount"] == "500.00"

        customers = await page(mgr, platform, "/console/analytics/customers?from=2026-03")
        assert re.search(r'id="chart-new".*?2026-03: 1', customers, re.S)
        service = await page(mgr, platform, "/console/analytics/service")
        assert re.search(r'id="chart-tickets".*?2026-03: 4', service, re.S)
        assert "服务报表" in service
        answer = await mgr.get("/console/analytics/service/csv")
        assert rows_of(answer.text)[0]["complaints"] == "4"
        wrong = await mgr.get("/console/analytics/revenue?to=March")
        assert wrong.status_code == 422
        assert "to" in wrong.text

        value = await page(mgr, platform, "/console/analytics/value")
        assert "客户价值" in value
        # one order in the tenant: too little history to fit the models, said plainly
        assert "订单历史太短" in value
        empty = await mgr.get("/console/analytics/value/csv")
        assert empty.text.splitlines()[0].startswith("customer_id,name,owner_id,tier,clv")


async def test_who_reads_which_analytics_page(
    api: Api, platform: Platform, clock: ManualClock
) -> None:
    ids = await story(api, platform, clock)
    await console_user(api, "ana", "sales_rep")
    await console_user(api, "ben", "sales_rep")
    await console_user(api, "ivy", "agent", team="support")
    await console_user(api, "sue", "analyst")
    async with (
        own_client(api) as ana,
        own_client(api) as ben,
        own_client(api) as ivy,
        own_client(api) as sue,
    ):
        for client, user in ((ana, "ana"), (ben, "ben"), (ivy, "ivy"), (sue, "sue")):
            await sign_in(client, user)
        index = await page(ana, platform, "/console/analytics")
        assert 'href="/console/analytics/churn"' in index
        assert 'href="/console/analytics/funnel"' in index
        assert 'href="/console/analytics/revenue"' not in index
        assert "Ada" in await page(ana, platform, "/console/analytics/churn")
        assert "No customer is at risk." in await page(ben, platform, "/console/analytics/churn")
        assert (await ben.get("/console/analytics/churn/csv")).text.count("\n") == 1  # header
        await page(ana, platform, "/console/analytics/revenue", 403)
        await page(ana, platform, "/console/analytics/revenue/csv", 403)
        ben_funnel = await page(ben, platform, "/console/analytics/funnel")
        assert "Prospecting: 0" in ben_funnel  # his own funnel: Ana's deals are not in it

        agent_index = await page(ivy, platform, "/console/analytics")
        assert 'href="/console/analytics/service"' in agent_index
        assert 'href="/console/analytics/churn"' not in agent_index
        await page(ivy, platform, "/console/analytics/churn", 403)
        await page(ivy, platform, "/console/analytics/churn/csv", 403)
        await page(ivy, platform, "/console/analytics/funnel", 403)
        # the agent's own group's report: the complaints were never assigned to "support"
        assert "Nothing in this period." in await page(ivy, platform, "/console/analytics/service")

        analyst = await page(sue, platform, "/console/analytics/churn")
        assert REDACTED in analyst
        assert ">Ada<" not in analyst
        rows = rows_of((await sue.get("/console/analytics/churn/csv")).text)
        assert [(r["customer_id"], r["name"]) for r in rows] == [(ids["ada"], REDACTED)]
        assert (await sue.get("/console/analytics/revenue/csv")).status_code == 200

    async with own_client(api) as nobody:
        answer = await nobody.get("/console/analytics/churn/csv")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in")
