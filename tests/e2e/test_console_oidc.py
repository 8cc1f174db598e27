"""Sign-in to the console through OpenID Connect, against a provider the test starts on
loopback (tests/support/oidc_provider.py: real HTTP, RS256 tokens, PKCE checked): the
authorization code flow with PKCE and a confidential client signs a console user in; every
wrong answer (a token for another audience, another nonce, expired, signed by a key not in
the JWKS, a code of another sign-in, a state that is not the browser's, no user or a
deactivated one in the tenant) is the sign-in page with one message and no session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crm.console.users import DeactivateUser, system_context
from crm.kernel.settings import Settings
from tests.conftest import SECRET, Api
from tests.support.console import console_user, csrf_of, own_client
from tests.support.oidc_provider import Provider, running_provider

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales", "service-desk")]

CALLBACK = "http://crm.test/console/oidc/callback"
REFUSED = "did not work, or that account has no active user in this tenant"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider(CALLBACK) as p:
        yield p


@pytest.fixture
def settings(tmp_path: Path, provider: Provider) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret=SECRET,
        read_wait_seconds=5.0,
        oidc_issuer=provider.url,
        oidc_client_id=provider.client_id,
        oidc_client_secret=provider.client_secret,
        oidc_redirect_url=CALLBACK,
    )


@pytest.fixture
async def browser(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    await console_user(api, "ada", "sales_rep", "north")
    async with own_client(api) as client:
        yield client


async def start(browser: httpx.AsyncClient) -> str:
    """The sign-in page's provider button: the provider's authorization URL."""
    page = await browser.get("/console/sign-in")
    assert "Sign in with your organisation&#39;s account" in page.text
    answer = await browser.post(
        "/console/oidc/start",
        data={"csrf": csrf_of(page.text), "tenant": "default", "next": "/console/"},
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def at_provider(authorization_url: str, username: str) -> str:
    """The person signs in at the provider (its own form): where it sends them back."""
    with httpx.Client(timeout=10) as person:
        form = person.get(authorization_url)
        assert form.status_code == 200, form.text
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.text))
        back = person.post(
            f"{urlsplit(authorization_url)._replace(path='/authorize', query='').geturl()}",
            data={**{k: v.replace("&amp;", "&") for k, v in fields.items()}, "username": username},
        )
        assert back.status_code == 302, back.text
        return back.headers["location"]


async def signed_in_as(browser: httpx.AsyncClient) -> str:
    page = await browser.get("/console/")
    assert page.status_code == 200, page.text
    found = re.search(r'class="who">([^<]+)<', page.text)
    assert found is not None, page.text
    return found[1]


async def test_a_user_signs_in_through_the_provider(
    browser: httpx.AsyncClient, provider: Provider
) -> None:
    authorization = await start(browser)
    query = parse_qs(urlsplit(authorization).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [CALLBACK]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    back = at_provider(authorization, "ada")
    answer = await browser.get(back)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/console/?min_position=")
    assert "Ada" in await signed_in_as(browser)
    # the code was exchanged once, with the verifier whose challenge was sent, and by Basic
    (exchange,) = provider.token_requests
    assert exchange["grant_type"] == "authorization_code"
    assert len(exchange["code_verifier"]) >= 43
    assert "client_secret" not in exchange
    # the code is spent: the same answer from the provider again signs nobody in
    again = await browser.get(back)
    assert again.status_code == 401


@pytest.mark.parametrize(
    "tamper",
    [{"aud": "another-client"}, {"nonce": "another-nonce"}, {"exp": 1_000_000},
     {"foreign_key": True}, {"iss": "http://127.0.0.1:1"}],
    ids=["audience", "nonce", "expired", "foreign-key", "issuer"],
)  # fmt: skip
async def test_a_wrong_id_token_signs_nobody_in(
    browser: httpx.AsyncClient, provider: Provider, tamper: dict[str, object]
) -> None:
    authorization = await start(browser)
    back = at_provider(authorization, "ada")
    provider.tamper = dict(tamper)
    answer = await browser.get(back)
    assert answer.status_code == 401
    assert REFUSED in answer.text
    assert "Sign in to the CRM" in answer.text
    assert (
        (await browser.get("/console/")).headers.get("location", "").startswith("/console/sign-in")
    )


async def test_a_code_of_another_sign_in_fails_its_pkce_check(
    api: Api, browser: httpx.AsyncClient, provider: Provider
) -> None:
    """An attacker's code injected into the victim's callback: the victim's verifier does
    not match the challenge the attacker's sign-in sent."""
    victims = await start(browser)
    async with own_client(api) as attacker:
        attackers = await start(attacker)
        stolen = parse_qs(urlsplit(at_provider(attackers, "ada")).query)["code"][0]
    state = parse_qs(urlsplit(victims).query)["state"][0]
    answer = await browser.get(f"{CALLBACK}?code={stolen}&state={state}")
    assert answer.status_code == 401
    assert provider.token_requests[-1]["code"] == stolen  # refused by the provider: PKCE


async def test_the_state_must_be_the_browsers_own(api: Api, browser: httpx.AsyncClient) -> None:
    authorization = await start(browser)
    back = at_provider(authorization, "ada")
    async with own_client(api) as other:  # no sign-in in flight in this browser
        assert (await other.get(back)).status_code == 401
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    assert (await browser.get(forged)).status_code == 401


async def test_the_provider_proves_who_not_that_they_may_sign_in(
    api: Api, browser: httpx.AsyncClient
) -> None:
    for name in ("nobody", "ada"):
        if name == "ada":
            runtime = api.platform.runtime
            ctx = system_context("default", runtime.clock.now())
            await runtime.commands.execute(DeactivateUser("ada"), ctx)
        answer = await browser.get(at_provider(await start(browser), name))
        assert answer.status_code == 401, name
        assert REFUSED in answer.text
        signed_out = await browser.get("/console/")
        assert signed_out.headers["location"].startswith("/console/sign-in"), name


async def test_without_settings_there_is_no_provider_button(tmp_path: Path) -> None:
    from crm.platform.app import create_app
    from crm.platform.bootstrap import open_platform

    platform = open_platform(Settings(data_dir=tmp_path / "plain", secret=SECRET))
    try:
        app = create_app(platform)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://crm.test") as c:
            page = await c.get("/console/sign-in")
            assert "organisation" not in page.text
            answer = await c.post("/console/oidc/start", data={"tenant": "default"})
            assert answer.status_code in (404, 405)
    finally:
        await platform.close()
