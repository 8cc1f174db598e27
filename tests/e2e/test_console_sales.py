"""The console's sales pages over HTTP: a rep captures, qualifies and converts a lead and
works the opportunity it became (the next step, a stage change, and a change from a stale
page shown as a conflict that changes nothing); the leads and opportunities lists' filters;
a customer's quotes, orders and invoices; a manager's team pipeline, in Chinese; and the
sales access rules through the pages (another rep's lead and opportunity are the 404 page,
an agent reads without forms and a form they post anyway is refused, a form without its
token is refused, a filter value the page does not know is a 422 naming it)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from crm.console.users import AddUser, hash_password, system_context
from tests.conftest import Api
from tests.support.console import (
    PASSWORD,
    UUID,
    console_user,
    csrf_of,
    followed,
    own_client,
    sign_in,
    until_shown,
)

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_a_rep_qualifies_and_converts_a_lead_and_moves_its_opportunity(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        captured = await ana.post(
            "/console/leads",
            data={
                "csrf": csrf,
                "name": "Grace Hopper",
                "company": "Navy",
                "email": "grace@navy.example",
                "source": "webinar",
            },
        )
        page = await followed(ana, captured)
        assert "Lead captured." in page.text
        lead = captured.headers["location"].split("?")[0]
        assert re.fullmatch(f"/console/leads/{UUID}", lead)
        assert "grace@navy.example" in page.text
        assert ">open<" in page.text

        listed = await ana.get("/console/leads?status=open&owner=mine&source=webinar")
        assert "Grace Hopper" in listed.text
        assert "1 leads" in listed.text
        none = await ana.get("/console/leads?status=converted")
        assert "No lead matches." in none.text

        qualified = await ana.post(f"{lead}/qualify", data={"csrf": csrf, "note": "has budget"})
        page = await followed(ana, qualified)
        assert ">qualified<" in page.text
        assert "has budget" in page.text
        assert f"{lead}/qualify" not in page.text  # qualified once

        converted = await ana.post(
            f"{lead}/convert",
            data={
                "csrf": csrf,
                "opportunity_name": "Navy compilers",
                "amount": "50000.00",
                "currency": "EUR",
                "expected_close_date": "2027-09-30",
            },
        )
        await followed(ana, converted)
        page = await until_shown(ana, lead, ">converted<")
        [opportunity] = re.findall(f'href="(/console/opportunities/{UUID})"', page.text)
        [customer] = re.findall(f'href="(/console/customers/{UUID})"', page.text)
        assert "Grace Hopper" in (await ana.get(customer)).text

        page = await ana.get(opportunity)
        assert page.status_code == 200, page.text
        assert "Navy compilers" in page.text
        assert "€50,000.00" in page.text
        assert "<dt>Next step</dt><dd>Qualification</dd>" in page.text
        version = re.search(r'name="version" value="(\d+)"', page.text)
        assert version is not None
        moved = await ana.post(
            f"{opportunity}/move",
            data={"csrf": csrf, "stage": "qualification", "version": version.group(1)},
        )
        page = await followed(ana, moved)
        assert "Saved." in page.text
        assert "<dt>Next step</dt><dd>Needs analysis</dd>" in page.text

        # the same form, from the page as it was before the move: a conflict, nothing changes
        stale = await ana.post(
            f"{opportunity}/move",
            data={"csrf": csrf, "stage": "proposal", "version": version.group(1)},
        )
        assert stale.status_code == 409
        assert "Someone else changed this opportunity after you opened it" in stale.text
        assert "it is now at version" in stale.text
        assert "in Qualification" in stale.text
        doc = await ok(
            await api.as_user("ana", "sales_rep", team="north").get(
                f"/opportunities/{opportunity.rsplit('/', 1)[1]}"
            )
        )
        assert doc["stage"] == "qualification"

        listed = await ana.get("/console/opportunities?stage=qualification&owner=mine")
        assert "Navy compilers" in listed.text
        other_stage = await ana.get("/console/opportunities?stage=proposal")
        assert "No opportunity matches." in other_stage.text
        lost = await ana.post(
            f"{opportunity}/lose",
            data={"csrf": csrf, "reason": "budget cut", "version": str(doc["version"])},
        )
        page = await followed(ana, lost)
        assert "budget cut" in page.text
        assert f"{opportunity}/move" not in page.text
        closed = await ana.get("/console/opportunities?status=lost")
        assert "Navy compilers" in closed.text


async def test_a_lead_disqualified_and_bad_input_named(api: Api) -> None:
    await console_user(api, "ana", "sales_rep", team="north")
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        captured = await ana.post("/console/leads", data={"csrf": csrf, "name": "Spam Bot"})
        lead = captured.headers["location"].split("?")[0]
        bad = await ana.post(
            f"{lead}/convert",
            data={
                "csrf": csrf,
                "opportunity_name": "x",
                "amount": "12.345",
                "currency": "EUR",
                "expected_close_date": "2027-01-01",
            },
        )
        assert bad.status_code == 422
        assert "Please check Amount" in bad.text
        page = await followed(
            ana, await ana.post(f"{lead}/disqualify", data={"csrf": csrf, "reason": "a bot"})
        )
        assert ">disqualified<" in page.text
        assert "a bot" in page.text
        again = await ana.post(f"{lead}/qualify", data={"csrf": csrf})
        assert again.status_code == 409
        # filters the page does not know are errors naming them, never ignored
        wrong = await ana.get("/console/leads?status=maybe")
        assert wrong.status_code == 422
        assert "Please check the status" in wrong.text
        unknown = await ana.get("/console/leads?colour=red")
        assert unknown.status_code == 422
        assert "colour" in unknown.text
        stage = await ana.get("/console/opportunities?stage=nowhere")
        assert stage.status_code == 422
        assert "not a stage of the pipeline" in stage.text
        missing = await ana.get("/console/leads/00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        refused = await ana.post(f"{lead}/qualify", data={})
        assert refused.status_code == 403


async def _customer_with_sales(api: Api) -> dict[str, Any]:
    """Ana's customer with a quote, an order and its invoice; Ben's customer with none."""
    boss = api.as_user("mgr", "manager", team="north")
    await ok(
        await boss.post(
            "/products",
            json={
                "sku": "BOILER-1",
                "name": "Boiler",
                "list_price": {"amount": "1200.00", "currency": "EUR"},
            },
        ),
        201,
    )
    ana = api.as_user("ana", "sales_rep", team="north")
    customer = await ok(
        await ana.post("/customers", json={"name": "Ada Lovelace", "owner_id": "ana"}), 201
    )
    line = {"sku": "BOILER-1", "quantity": "2"}
    await ok(
        await ana.post(
            "/quotes",
            json={
                "customer_id": customer["id"],
                "currency": "EUR",
                "valid_until": "2027-06-30",
                "lines": [line],
            },
        ),
        201,
    )
    order = await ok(
        await ana.post(
            "/orders", json={"customer_id": customer["id"], "currency": "EUR", "lines": [line]}
        ),
        201,
    )
    invoice = await ok(await ana.post("/invoices", json={"order_id": order["id"]}), 201)
    ben = api.as_user("ben", "sales_rep", team="north")
    bens = await ok(
        await ben.post("/customers", json={"name": "Alan Turing", "owner_id": "ben"}), 201
    )
    return {"customer": customer["id"], "bens": bens["id"], "position": invoice["position"]}


async def test_a_customers_quotes_orders_and_invoices_and_whose_they_are(api: Api) -> None:
    ids = await _customer_with_sales(api)
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ben", "sales_rep", team="north")
    async with own_client(api) as ana:
        await sign_in(ana, "ana")
        page = await ana.get(
            f"/console/customers/{ids['customer']}/sales?min_position={ids['position']}"
        )
        assert page.status_code == 200, page.text
        assert "Quotes, orders and invoices of Ada Lovelace" in page.text
        assert "BOILER-1 × 2" in page.text
        assert ">draft<" in page.text
        assert ">placed<" in page.text
        assert ">issued<" in page.text
        assert page.text.count("€2,400.00") >= 4  # quote, order, invoice amount and balance
        customer = await ana.get(f"/console/customers/{ids['customer']}")
        assert f"/console/customers/{ids['customer']}/sales" in customer.text
        theirs = await ana.get(f"/console/customers/{ids['bens']}/sales")
        assert theirs.status_code == 404
        assert "Alan Turing" not in theirs.text
    async with own_client(api) as ben:
        await sign_in(ben, "ben")
        page = await ben.get(f"/console/customers/{ids['bens']}/sales")
        assert "No quote." in page.text
        assert "No invoice." in page.text
        assert (await ben.get(f"/console/customers/{ids['customer']}/sales")).status_code == 404


async def _opportunities(api: Api) -> dict[str, str]:
    """Ana's and Ben's opportunities (team north) and Cai's (team south)."""
    ids = {}
    for rep, team, name, amount in (
        ("ana", "north", "Analytical engine", "125000.00"),
        ("ana", "north", "Difference engine", "5000.00"),
        ("ben", "north", "Bombe", "7000.00"),
        ("cai", "south", "Abacus", "99.00"),
    ):
        client = api.as_user(rep, "sales_rep", team=team)
        customer = await ok(await client.post("/customers", json={"name": f"{name} Ltd"}), 201)
        opened = await ok(
            await client.post(
                "/opportunities",
                json={
                    "customer_id": customer["id"],
                    "name": name,
                    "amount": {"amount": amount, "currency": "EUR"},
                    "expected_close_date": "2027-03-31",
                },
            ),
            201,
        )
        ids[name] = opened["id"]
        ids["position"] = str(opened["position"])
    return ids


async def test_a_manager_reads_the_teams_pipeline_in_chinese_and_reps_only_their_own(
    api: Api,
) -> None:
    ids = await _opportunities(api)
    await console_user(api, "wang", "manager", team="north", locale="zh-CN")
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ben", "sales_rep", team="north")
    await console_user(api, "cai", "sales_rep", team="south")
    await console_user(api, "ivy", "agent", team="support")
    async with own_client(api) as wang:
        await sign_in(wang, "wang")
        page = await wang.get(f"/console/team?min_position={ids['position']}")
        assert page.status_code == 200, page.text
        assert '<html lang="zh-CN">' in page.text
        assert "团队销售漏斗" in page.text
        assert "团队 north" in page.text
        assert "按销售代表" in page.text
        assert "Ana" in page.text
        assert "Ben" in page.text
        assert "Cai" not in page.text  # another team's rep
        assert "€130,000.00" in page.text  # Ana's two open ones
        assert "€137,000.00" in page.text  # the team's
        assert "初步接触" in page.text  # the stage, in Chinese
        listed = await wang.get("/console/opportunities")
        assert "Bombe" in listed.text
        assert "Abacus" not in listed.text
        assert "共 3 个商机" in listed.text
        rep = await wang.get("/console/opportunities?rep=ben")
        assert "Bombe" in rep.text
        assert "Analytical engine" not in rep.text
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        assert (await ana.get("/console/team")).status_code == 403
        mine = await ana.get("/console/opportunities")
        assert "Analytical engine" in mine.text
        assert "Bombe" not in mine.text
        bombe = f"/console/opportunities/{ids['Bombe']}"
        assert (await ana.get(bombe)).status_code == 404
        moved = await ana.post(
            f"{bombe}/move", data={"csrf": csrf, "stage": "qualification", "version": "0"}
        )
        assert moved.status_code == 404
    async with own_client(api) as ivy:
        csrf = await sign_in(ivy, "ivy")
        engine = f"/console/opportunities/{ids['Analytical engine']}"
        page = await ivy.get(engine)
        assert page.status_code == 200
        assert "Your role reads opportunities but does not work them." in page.text
        assert f"{engine}/move" not in page.text
        refused = await ivy.post(
            f"{engine}/move", data={"csrf": csrf, "stage": "qualification", "version": "0"}
        )
        assert refused.status_code == 403


async def test_a_lead_converted_for_an_existing_customer_and_other_tenants_see_nothing(
    api: Api,
) -> None:
    ana_api = api.as_user("ana", "sales_rep", team="north")
    mine = await ok(
        await ana_api.post("/customers", json={"name": "Ada Lovelace", "owner_id": "ana"}), 201
    )
    ben_api = api.as_user("ben", "sales_rep", team="north")
    bens = await ok(
        await ben_api.post("/customers", json={"name": "Alan Turing", "owner_id": "ben"}), 201
    )
    await console_user(api, "ana", "sales_rep", team="north")
    runtime = api.platform.runtime
    command = AddUser("root", "Root", "admin", hash_password(PASSWORD), None)
    await runtime.commands.execute(command, system_context("acme", runtime.clock.now()))
    async with own_client(api) as ana:
        csrf = await sign_in(ana, "ana")
        captured = await ana.post("/console/leads", data={"csrf": csrf, "name": "Ada again"})
        lead = captured.headers["location"].split("?")[0]
        page = await followed(ana, captured)
        assert f"{lead}/convert" not in page.text  # qualified first
        assert "Once qualified, the lead can be converted." in page.text
        page = await followed(ana, await ana.post(f"{lead}/qualify", data={"csrf": csrf}))
        # the form offers the rep's own customers, not another rep's
        assert f'<option value="{mine["id"]}">Ada Lovelace</option>' in page.text
        assert bens["id"] not in page.text
        form = {
            "csrf": csrf,
            "opportunity_name": "Second engine",
            "amount": "1000",
            "currency": "EUR",
            "expected_close_date": "2027-05-31",
        }
        refused = await ana.post(
            f"{lead}/convert", data={**form, "existing_customer_id": bens["id"]}
        )
        assert refused.status_code == 422, refused.text
        assert "Please check the existing customer" in refused.text
        assert "Alan Turing" not in refused.text
        converted = await ana.post(
            f"{lead}/convert", data={**form, "existing_customer_id": mine["id"]}
        )
        await followed(ana, converted)
        page = await until_shown(ana, lead, ">converted<")
        assert f'href="/console/customers/{mine["id"]}">Ada Lovelace</a>' in page.text
        listed = await ana.get(f"/console/opportunities?status=all&customer={mine['id']}")
        assert "Second engine" in listed.text
        theirs = await ana.get(f"/console/opportunities?customer={bens['id']}")
        assert theirs.status_code == 404
    async with own_client(api) as root:
        page = await root.get("/console/sign-in")
        answer = await root.post(
            "/console/sign-in",
            data={
                "csrf": csrf_of(page.text),
                "tenant": "acme",
                "user_id": "root",
                "password": PASSWORD,
            },
        )
        assert answer.status_code == 303, answer.text
        assert (await root.get(lead)).status_code == 404
        assert "Ada again" not in (await root.get("/console/leads?status=all")).text
        assert "No opportunity matches." in (await root.get("/console/opportunities")).text
        assert (await root.get(f"/console/customers/{mine['id']}/sales")).status_code == 404
        team = await root.get("/console/team")
        assert team.status_code == 200
        assert "No opportunity in the team yet." in team.text


async def test_an_admin_chooses_a_team_on_the_sales_pages_and_a_manager_only_their_own(
    api: Api,
) -> None:
    ids = await _opportunities(api)
    await console_user(api, "root", "admin")
    await console_user(api, "wang", "manager", team="north", locale="zh-CN")
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "cai", "sales_rep", team="south")
    async with own_client(api) as root:
        await sign_in(root, "root")
        everyone = await root.get(f"/console/team?min_position={ids['position']}")
        assert "Every team" in everyone.text
        assert '<option value="south"' in everyone.text
        assert ">Cai</a>" in everyone.text
        assert ">Ana</a>" in everyone.text
        south = await root.get("/console/team?team=south")
        assert south.status_code == 200, south.text
        assert "Team south" in south.text
        assert ">Cai</a>" in south.text
        assert ">Ana</a>" not in south.text
        assert "€99.00" in south.text
        assert "€137,000.00" not in south.text
        assert "team=south" in south.text  # its links keep the team
        listed = await root.get("/console/opportunities?team=north")
        assert "Bombe" in listed.text
        assert "Abacus" not in listed.text
        assert '<option value="north" selected>' in listed.text
        unknown = await root.get("/console/team?team=west")
        assert unknown.status_code == 404, unknown.text
        assert (await root.get("/console/opportunities?team=west")).status_code == 404
    async with own_client(api) as wang:
        await sign_in(wang, "wang")
        own = await wang.get("/console/team?team=north")
        assert (own.status_code, "团队 north" in own.text) == (200, True)
        assert '<select id="team"' not in own.text  # nothing to choose from
        assert (await wang.get("/console/team?team=south")).status_code == 403
        assert (await wang.get("/console/opportunities?team=south")).status_code == 403
        mine = await wang.get("/console/opportunities?team=north")
        assert "Bombe" in mine.text
        assert "Abacus" not in mine.text
    async with own_client(api) as ana:
        await sign_in(ana, "ana")
        assert (await ana.get("/console/opportunities?team=south")).status_code == 403


async def test_a_signed_out_visitor_is_led_to_sign_in_and_cannot_post(api: Api) -> None:
    some = "00000000-0000-0000-0000-000000000001"
    async with own_client(api) as visitor:
        for path in (
            "/console/leads",
            f"/console/leads/{some}",
            "/console/opportunities",
            f"/console/opportunities/{some}",
            f"/console/customers/{some}/sales",
            "/console/team",
        ):
            answer = await visitor.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/sign-in?next="), path
        posted = await visitor.post(f"/console/leads/{some}/qualify", data={"csrf": "x"})
        assert posted.status_code == 403
        posted = await visitor.post("/console/leads", data={"name": "Mallory"})
        assert posted.status_code == 403
