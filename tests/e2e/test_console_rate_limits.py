"""The rate limits as a console visitor meets them: the session cookie, not a token, names the
user; a signed-out visitor is never a failed token."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.kernel.settings import Settings
from tests.conftest import SECRET, Api
from tests.e2e.test_console_http import _signed_in, _user

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Tight limits: a failed token allowed 3 at once, a user's reads 10 at once."""
    return Settings(
        data_dir=tmp_path / "data",
        secret=SECRET,
        read_wait_seconds=2.0,
        rate_limit_address_auth_failures="0.01:3",
        rate_limit_user_reads="0.01:10",
        rate_limit_address_reads="100:200",
    )


async def test_the_rate_limits_count_a_console_visitor_as_their_user(api: Api) -> None:
    """A console page carries a session cookie, not a token: signed out it is the address's
    read, never a failed token (the sign-in page and its style sheet load however often);
    signed in it counts against that user, as their token would."""
    client = api.client
    for _ in range(8):
        assert (await client.get("/console/sign-in")).status_code == 200
        assert (await client.get("/console/static/console.css")).status_code == 200
    assert (await client.get("/")).status_code == 303
    # the API without a token is still a failed token, limited per address
    codes = [(await client.get("/customers")).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    await _user(api, "ana", "sales_rep")
    await _user(api, "bob", "sales_rep")
    await _signed_in(client, "ana")  # its page after the sign-in is the first of her 10
    pages = [(await client.get("/console/customers")).status_code for _ in range(10)]
    assert pages == [200] * 9 + [429]
    # bob, from the same address (this client, without ana's cookie), has his own allowance
    client.cookies.clear()
    await _signed_in(client, "bob")
    assert (await client.get("/console/customers")).status_code == 200
