"""The console over HTTP without a browser: what every page answers (its security headers,
the session cookie, the CSRF check, a tenant that does not exist), bad form input as a page
and not a server error, and read-your-writes after a form."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from crm.console.users import AddUser, hash_password, system_context
from tests.conftest import Api

pytestmark = pytest.mark.e2e

PASSWORD = "a long password"
TEMPLATES = Path(__file__).parents[2] / "src/crm/console/templates"


async def _user(api: Api, user: str, role: str, tenant: str = "default") -> None:
    runtime = api.platform.runtime
    command = AddUser(user, user.title(), role, hash_password(PASSWORD))
    await runtime.commands.execute(command, system_context(tenant, runtime.clock.now()))


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _signed_in(client: httpx.AsyncClient, user: str, tenant: str = "default") -> str:
    page = await client.get("/console/sign-in")
    answer = await client.post(
        "/console/sign-in",
        data={"csrf": _csrf(page.text), "tenant": tenant, "user_id": user, "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text
    return _csrf((await client.get("/console/")).text)


async def test_pages_answer_with_a_policy_that_allows_forms_and_nothing_inline(api: Api) -> None:
    client = api.client
    assert (await client.get("/")).headers["location"] == "/console/"
    assert (await client.get("/console/")).headers["location"].startswith("/console/sign-in")
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "form-action 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    css = await client.get("/console/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        scripts = re.findall(r"<script[^>]*>.*?</script>", text, re.DOTALL)
        assert text.count("<script") == len(scripts), template.name
        for script in scripts:  # the console's own file, never inline code
            own = r'<script src="\{\{ prefix \}\}/static/[a-z]+\.js" defer></script>'
            assert re.fullmatch(own, script), template.name
        assert "style=" not in text, template.name
        assert not re.search(r"(src|href)=\"(https?:)?//", text), template.name


async def test_sign_in_is_per_tenant_and_refuses_unknown_tenants(api: Api) -> None:
    await _user(api, "ana", "sales_rep", tenant="acme")
    client = api.client
    page = await client.get("/console/sign-in")
    csrf = _csrf(page.text)
    for tenant in ("default", "no-such-tenant"):
        refused = await client.post(
            "/console/sign-in",
            data={"csrf": csrf, "tenant": tenant, "user_id": "ana", "password": PASSWORD},
        )
        assert refused.status_code == 401
        assert "Wrong user name or password" in refused.text
    await _signed_in(client, "ana", "acme")


async def test_a_post_without_the_sessions_token_is_refused(api: Api) -> None:
    await _user(api, "ana", "sales_rep")
    client = api.client
    await _signed_in(client, "ana")
    refused = await client.post("/console/customers", data={"name": "Mallory"})
    assert refused.status_code == 403
    other = httpx.AsyncClient(transport=client._transport, base_url="http://crm.test")
    async with other:
        theirs = _csrf((await other.get("/console/sign-in")).text)
    stolen = await client.post("/console/customers", data={"name": "Mallory", "csrf": theirs})
    assert stolen.status_code == 403


async def test_a_form_shows_its_write_at_once_and_bad_input_is_a_page(api: Api) -> None:
    await _user(api, "ana", "sales_rep")
    client = api.client
    csrf = await _signed_in(client, "ana")
    registered = await client.post(
        "/console/customers", data={"csrf": csrf, "name": "Ada Lovelace", "tags": "vip, EMEA"}
    )
    assert registered.status_code == 303
    location = registered.headers["location"]
    assert re.fullmatch(
        r"/console/customers/[0-9a-f-]{36}\?min_position=\d+&done=registered", location
    )
    page = await client.get(location)
    assert page.status_code == 200
    assert "<h1>Ada Lovelace</h1>" in page.text
    assert "Customer registered." in page.text
    customer = location.split("?")[0]
    tagged = await client.post(f"{customer}/tag", data={"csrf": csrf, "tag": "x" * 51})
    assert tagged.status_code == 422
    assert tagged.headers["content-type"].startswith("text/html")
    assert "Please check" in tagged.text
    odd = await client.post(
        f"{customer}/interactions", data={"csrf": csrf, "channel": "pigeon", "summary": "hi"}
    )
    assert odd.status_code == 422
    assert "Channel" in odd.text
    blank = await client.post(f"{customer}/edit", data={"csrf": csrf, "name": " "})
    assert blank.status_code in (303, 422)
    assert blank.status_code != 500
    missing = await client.get("/console/customers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "This page does not exist" in missing.text


async def test_consent_is_recorded_and_only_an_admin_erases_after_confirming(api: Api) -> None:
    await _user(api, "ana", "sales_rep")
    await _user(api, "boss", "admin")
    client = api.client
    csrf = await _signed_in(client, "ana")
    registered = await client.post(
        "/console/customers", data={"csrf": csrf, "name": "Ada Lovelace", "email": "a@x.org"}
    )
    customer = registered.headers["location"].split("?")[0]
    consent = await client.post(
        f"{customer}/consent",
        data={"csrf": csrf, "purpose": "marketing_email", "granted": "true"},
    )
    assert consent.status_code == 303
    page = (await client.get(consent.headers["location"])).text
    assert re.search(r"<dt>Marketing e-mails</dt>\s*<dd>given", page)
    assert "Erase personal data" not in page
    refused = await client.post(f"{customer}/erase", data={"csrf": csrf, "confirm": "true"})
    assert refused.status_code == 403
    client.cookies.clear()
    csrf = await _signed_in(client, "boss")
    unconfirmed = await client.post(f"{customer}/erase", data={"csrf": csrf})
    assert unconfirmed.status_code == 422
    erased = await client.post(f"{customer}/erase", data={"csrf": csrf, "confirm": "true"})
    assert erased.status_code == 303
    page = (await client.get(erased.headers["location"])).text
    assert "Ada Lovelace" not in page
    assert "a@x.org" not in page
    assert ">erased</span>" in page
