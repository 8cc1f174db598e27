"""The platform as a person starts it: `crm up` in its own process, `crm token`, the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

CRM = str(Path(sys.executable).parent / "crm")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CRM_DATA_DIR": str(tmp_path / "data"), "CRM_PORT": str(free_port())}


def crm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRM, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    proc = subprocess.Popen(
        [CRM, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{env['CRM_PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "crm up did not become ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal (exit status -SIGTERM)
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete." in output


def test_crm_up_serves_the_platform_and_keeps_its_data(server: str, env: dict[str, str]) -> None:
    token = crm(env, "token", "--user", "boss", "--role", "manager")
    assert token.returncode == 0, token.stderr
    auth = {"Authorization": f"Bearer {token.stdout.strip()}"}
    assert httpx.get(f"{server}/health").json() == {"status": "ok"}
    assert httpx.get(f"{server}/customers").status_code == 401
    created = httpx.post(f"{server}/customers", json={"name": "Ada", "tags": ["vip"]}, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    got = httpx.get(
        f"{server}/customers/{body['id']}", params={"min_position": body["position"]}, headers=auth
    )
    assert got.status_code == 200
    assert got.json()["name"] == "Ada"
    assert "X-CRM-Stale" not in got.headers
    assert httpx.get(f"{server}/openapi.json").json()["info"]["title"] == "CRM platform"
    secret = Path(env["CRM_DATA_DIR"]) / "secret.key"
    assert secret.stat().st_mode & 0o077 == 0


def test_token_rejects_an_unknown_role(env: dict[str, str]) -> None:
    result = crm(env, "token", "--user", "x", "--role", "emperor")
    assert result.returncode != 0
    assert "emperor" in result.stderr


def test_cli_rebuilds_a_projection_beside_a_running_platform(
    server: str, env: dict[str, str]
) -> None:
    auth = {
        "Authorization": "Bearer "
        + crm(env, "token", "--user", "boss", "--role", "admin").stdout.strip()
    }
    ids = []
    for i in range(25):
        r = httpx.post(f"{server}/customers", json={"name": f"C{i}", "region": "EU"}, headers=auth)
        ids.append(r.json())
    rebuilt = crm(env, "projections", "rebuild", "customers")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"customers rebuilt up to position {ids[-1]['position']}" in rebuilt.stderr
    # the running platform follows on from the swapped-in model
    r = httpx.post(f"{server}/customers/{ids[0]['id']}/tags", json={"tag": "after"}, headers=auth)
    got = httpx.get(
        f"{server}/customers/{ids[0]['id']}",
        params={"min_position": r.json()["position"]},
        headers=auth,
    )
    assert got.json()["tags"] == ["after"]
    assert "X-CRM-Stale" not in got.headers
    listed = httpx.get(f"{server}/customers", params={"region": "EU"}, headers=auth).json()
    assert listed["total"] == 25
    status = crm(env, "projections", "status")
    assert status.returncode == 0
    assert "customers" in status.stderr
    assert "console_users" in status.stderr  # the console's own read models too
    users = crm(env, "projections", "rebuild", "console_users")
    assert users.returncode == 0, users.stderr
    assert "console_users rebuilt up to position" in users.stderr
    unknown = crm(env, "projections", "rebuild", "nope")
    assert unknown.returncode == 2
    assert "no projection 'nope'" in unknown.stderr


def test_events_schema_writes_every_schema(env: dict[str, str], tmp_path: Path) -> None:
    result = crm(env, "events", "schema", "--out", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    names = {p.name for p in (tmp_path / "schemas").iterdir()}
    assert {"envelope.json", "customer.registered.v1.json", "customer.registered.v2.json"} <= names
