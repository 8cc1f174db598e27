"""Day one, as the README says it: `make run` (which is `.venv/bin/crm up`, from the
repository's root), then in another terminal, from the same directory and with no setting,
the README's `TOKEN=$(.venv/bin/crm token ...)` and a call with that token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Process

pytestmark = pytest.mark.integration

README = Path(__file__).parents[2] / "README.md"
VENV = Path(sys.executable).parent.parent


def readme_token_line(user: str) -> str:
    """The README's `TOKEN=$(...)` line of its first steps, exactly as written."""
    text = README.read_text()
    steps = text[text.index("## Use it") :]
    block = re.search(r"```sh\n(.*?)```", steps, re.S)
    assert block is not None
    line = next(x for x in block.group(1).splitlines() if x.startswith("TOKEN=$("))
    assert f"--user {user}" in line
    return line


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A checkout's root as `make` leaves it: the virtualenv in `.venv`, no data yet."""
    root = tmp_path / "crm"
    root.mkdir()
    (root / ".venv").symlink_to(VENV)
    return root


@pytest.fixture
def env() -> dict[str, str]:
    """A new user's shell: none of the platform's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}


def shell(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def make_run(root: Path, env: dict[str, str], tmp_path: Path) -> Iterator[Process]:
    process = Process(["up"], env, tmp_path / "up.log", cwd=root, exe=".venv/bin/crm")
    process.start()
    yield process
    process.stop()


def startup_message(process: Process) -> str:
    deadline = time.monotonic() + 10
    while "get a token:" not in (log := process.log.read_text()):
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    return log


def test_the_readmes_first_steps_work_as_written(
    make_run: Process, root: Path, env: dict[str, str]
) -> None:
    line = readme_token_line("alice")
    # the start-up message prints the very command the README gives
    printed = re.search(r"get a token:\s+(.*)", startup_message(make_run))
    assert printed is not None
    assert printed.group(1).strip() == line.removeprefix("TOKEN=$(").removesuffix(")")

    got = shell(f'{line}\necho "$TOKEN"', root, env)
    assert got.returncode == 0, got.stderr
    token = got.stdout.strip()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "7f1c-ada"}
    body = {"name": "Ada Lovelace", "email": "ada@example.com", "region": "EMEA", "tags": ["vip"]}
    created = httpx.post(f"{make_run.url}/customers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    customer = created.json()
    read = httpx.get(
        f"{make_run.url}/customers/{customer['id']}",
        params={"min_position": customer["position"]},
        headers=headers,
    )
    assert read.status_code == 200
    assert read.json()["name"] == "Ada Lovelace"
    # one secret: `crm token` created none of its own
    assert sorted(p.name for p in (root / ".crm-data").glob("*secret*")) == ["secret.key"]

    # from a subdirectory of the checkout, the same platform's data is found
    (root / "docs").mkdir()
    bob = shell("../.venv/bin/crm token --user bob --role sales_rep", root / "docs", env)
    assert bob.returncode == 0, bob.stderr
    assert f"using the platform data in {root / '.crm-data'}" in bob.stderr
    pool = httpx.get(
        f"{make_run.url}/customers",
        params={"in_pool": "true"},
        headers={"Authorization": f"Bearer {bob.stdout.strip()}"},
    )
    assert pool.status_code == 200, pool.text


def test_crm_token_without_the_platforms_data_says_where_it_looked(
    tmp_path: Path, root: Path, env: dict[str, str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    got = shell(f"{root}/.venv/bin/crm token --user alice --role manager", elsewhere, env)
    assert got.returncode == 2
    assert got.stdout == ""
    assert f"no platform data (no secret.key) in {elsewhere / '.crm-data'}" in got.stderr
    assert "CRM_DATA_DIR" in got.stderr
    assert not (elsewhere / ".crm-data").exists()  # no secret created


def test_crm_token_refuses_a_tenant_that_does_not_exist(
    make_run: Process, root: Path, env: dict[str, str]
) -> None:
    startup_message(make_run)
    crm = ".venv/bin/crm"
    refused = shell(f"{crm} token --user a --role admin --tenant acme", root, env)
    assert refused.returncode == 2
    assert "tenant 'acme' does not exist" in refused.stderr
    assert "crm tenants add acme" in refused.stderr
    added = shell(f"{crm} tenants add acme --name 'Acme Inc'", root, env)
    assert added.returncode == 0, added.stderr
    token = shell(f"{crm} token --user a --role admin --tenant acme", root, env).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{make_run.url}/customers", headers=auth).status_code == 200
    listed = shell(f"{crm} tenants list --json", root, env)
    assert [line.split(",")[0] for line in listed.stdout.splitlines()] == [
        '{"id": "acme"',
        '{"id": "default"',
    ]
    assert shell(f"{crm} tenants deactivate acme --reason unpaid", root, env).returncode == 0
    # another process recorded it: the platform refuses the tenant within the cache's 5 s
    deadline = time.monotonic() + 8
    while (r := httpx.get(f"{make_run.url}/customers", headers=auth)).status_code == 200:
        assert time.monotonic() < deadline, "the deactivation took no effect"
        time.sleep(0.25)
    assert r.status_code == 401
    assert "deactivated" in r.json()["message"]
