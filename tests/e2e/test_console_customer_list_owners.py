"""The customer list names each shown customer's owner by their display name, read from the
user directory for just the owners on the page (an owner the directory does not know is
shown by their id)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Api
from tests.e2e.test_console_http import _signed_in, _user

pytestmark = pytest.mark.e2e


async def test_the_list_names_the_owners_on_the_page(api: Api) -> None:
    await _user(api, "ana", "sales_rep")
    await _user(api, "mia", "manager")
    client = api.client
    csrf = await _signed_in(client, "ana")
    registered = await client.post("/console/customers", data={"csrf": csrf, "name": "Ada"})
    assert registered.status_code == 303
    position = re.search(r"min_position=(\d+)", registered.headers["location"])
    assert position is not None
    await client.post("/console/sign-out", data={"csrf": csrf})
    await _signed_in(client, "mia")
    page = await client.get(f"/console/customers?min_position={position[1]}")
    assert page.status_code == 200
    row = re.search(r"<tr>\s*<td[^>]*><a [^>]*>Ada</a>.*?</tr>", page.text, re.S)
    assert row is not None, page.text
    assert 'data-label="Owner">Ana</td>' in row[0]
