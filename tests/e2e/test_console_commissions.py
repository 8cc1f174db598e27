"""The commission statements in the console: a rep sees their own without the approve form, a
manager (in Chinese) sees them all and approves one; the page then says it is approved."""

from __future__ import annotations

import asyncio

import pytest

from crm.kernel.auth import Role
from tests.conftest import Api
from tests.support.console import console_user, csrf_of, followed, own_client, sign_in
from tests.support.customers import known_customers

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("sales")]

_customers = known_customers("cust-1")


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


async def test_a_rep_reads_their_statement_and_a_manager_approves_it_in_chinese(
    api: Api,
) -> None:
    boss, rep = api.as_user("boss"), api.as_user("rep-1", Role.SALES_REP)
    terms = {"currency": "EUR", "basis": "booked", "base_rate": "5"}
    assert (
        await boss.post("/commissions/plans", json={"name": "P", "terms": terms})
    ).status_code == 201
    product = {"sku": "SW-1", "name": "Software", "list_price": eur("1234.50")}
    assert (await boss.post("/products", json=product)).status_code == 201
    order = await rep.post(
        "/orders",
        json={
            "customer_id": "cust-1",
            "currency": "EUR",
            "lines": [{"sku": "SW-1", "quantity": "1", "unit_price": eur("1234.50")}],
        },
    )
    assert order.status_code == 201, order.text
    for _ in range(250):  # the commission process runs after the order's answer
        r = await boss.get("/commissions/statements/rep-1-2026-03")
        if r.status_code == 200:
            break
        await asyncio.sleep(0.02)
    assert r.status_code == 200, r.text
    await console_user(api, "rep-1", "sales_rep")
    await console_user(api, "wang", "manager", locale="zh-CN")
    async with own_client(api) as ana:
        await sign_in(ana, "rep-1")
        page = await ana.get("/console/commissions")
        assert page.status_code == 200, page.text
        assert "Commission statements" in page.text
        assert "€61.72" in page.text  # 1 234.50 x 5 % = 61.725, half to even: 61.72
        assert "Approve</button>" not in page.text
    async with own_client(api) as wang:
        await sign_in(wang, "wang")
        page = await wang.get("/console/commissions")
        assert "佣金结算单" in page.text
        assert "审批</button>" in page.text
        answer = await wang.post(
            "/console/commissions/rep-1-2026-03/approve", data={"csrf": csrf_of(page.text)}
        )
        shown = await followed(wang, answer)
        assert "结算单已审批" in shown.text
        assert "已由" in shown.text
        assert "审批</button>" not in shown.text
