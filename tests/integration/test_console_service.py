"""The console as its own service (`crm serve console`), as the distributed deployment runs it:
beside the customer service, over the stores they share, with no projection of the contexts'
of its own. A customer registered on a console page is the customer service's (its API
answers it, its projection built the page the console shows); one registered over the API
is on the console's list; neither process serves the other's routes."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crm.kernel.auth import Role
from crm.kernel.settings import Settings
from crm.platform.bootstrap import token_issuer
from crm.platform.server import GRACEFUL_SHUTDOWN_SECONDS
from tests.support.console import PASSWORD, UUID, csrf_of
from tests.support.processes import Process, operator

pytestmark = pytest.mark.integration


class Pair:
    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "data"
        self.env = {**os.environ, "CRM_DATA_DIR": str(self.data), "CRM_LOG_LEVEL": "INFO"}
        self.env.pop("CRM_BUS", None)
        logs = tmp / "logs"
        logs.mkdir()
        self.customer = Process(["serve", "customer"], self.env, logs / "customer.log")
        self.console = Process(["serve", "console"], self.env, logs / "console.log")

    def auth(self) -> dict[str, str]:
        issuer = token_issuer(Settings(data_dir=self.data))
        return {"Authorization": f"Bearer {issuer.issue('boss', Role.MANAGER, 'default')}"}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = Pair(tmp_path)
    p.customer.start()  # creates the data directory and its secret first
    operator(p.env, "tenants", "add", "default")
    operator(p.env, "users", "add", "nora", "--name", "Nora", "--role", "manager",
             "--password", PASSWORD)  # fmt: skip
    p.console.start()
    yield p
    p.console.stop()
    p.customer.stop()


def signed_in(console: Process, user: str) -> httpx.Client:
    client = httpx.Client(base_url=console.url, timeout=10)
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"csrf": csrf_of(page.text), "tenant": "default", "user_id": user,
              "password": PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    return client


def test_the_console_service_works_over_the_customer_service_stores(pair: Pair) -> None:
    client = signed_in(pair.console, "nora")
    csrf = csrf_of(client.get("/console/").text)

    # a customer registered on the console's form: the command lands in the shared event
    # store, the customer service's projection builds the read model the console then shows
    answer = client.post(
        "/console/customers",
        data={"csrf": csrf, "name": "Ada Lovelace", "email": "ada@example.com", "tags": "vip"},
    )
    assert answer.status_code == 303, answer.text
    found = re.search(rf"/console/customers/({UUID})", answer.headers["location"])
    assert found is not None
    page = client.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    assert "Ada Lovelace" in page.text
    api = httpx.get(f"{pair.customer.url}/customers/{found[1]}", headers=pair.auth())
    assert api.status_code == 200, api.text
    assert api.json()["name"] == "Ada Lovelace"

    # one registered over the customer service's API is on the console's list
    created = httpx.post(
        f"{pair.customer.url}/customers", json={"name": "Grace Hopper"}, headers=pair.auth()
    )
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 10
    while "Grace Hopper" not in (listed := client.get("/console/customers")).text:
        assert time.monotonic() < deadline, listed.text
        time.sleep(0.1)

    # each serves its own part only
    assert httpx.get(f"{pair.customer.url}/console/sign-in").status_code == 404
    assert httpx.get(f"{pair.console.url}/customers", headers=pair.auth()).status_code == 404
    assert httpx.get(f"{pair.console.url}/ready").json() == {"ready": True}


def test_a_live_page_streams_changes_and_never_holds_the_server_up(pair: Pair) -> None:
    """A customer page's stream says where a change of that customer landed (another
    process's commit, seen through the shared store) and nothing of another customer; a
    server told to stop with a stream still open stops within its grace period instead of
    waiting for the stream forever."""
    auth = pair.auth()
    ada = httpx.post(f"{pair.customer.url}/customers", json={"name": "Ada"}, headers=auth)
    grace = httpx.post(f"{pair.customer.url}/customers", json={"name": "Grace"}, headers=auth)
    assert ada.status_code == grace.status_code == 201
    client = signed_in(pair.console, "nora")
    url = f"/console/live/customer?id={ada.json()['id']}"
    with client.stream("GET", url, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = (line for line in stream.iter_lines() if line)  # events end in a blank line
        assert next(lines) == "retry: 3000"
        other = httpx.post(
            f"{pair.customer.url}/customers/{grace.json()['id']}/tags",
            json={"tag": "navy"},
            headers=auth,
        )
        tagged = httpx.post(
            f"{pair.customer.url}/customers/{ada.json()['id']}/tags",
            json={"tag": "vip"},
            headers=auth,
        )
        assert other.status_code == tagged.status_code == 200
        said = [next(lines), next(lines)]
        assert said == ["event: changed", f"data: {tagged.json()['position']}"]

        started = time.monotonic()
        process = pair.console.proc
        assert process is not None
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)
        assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS + 5
