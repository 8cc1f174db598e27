"""Exports are complete: ``format=csv`` of a list is every row its filters select, streamed
page by page (it was cut to the first page of 50), with the redaction the role gets on
screen, and ``limit``/``offset`` still mean what they say when given."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from crm.analytics.application.customer_view import CUSTOMER_COLUMNS
from crm.analytics.application.policy import REDACTED
from crm.customer.application.customer_commands import RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events.customer import CustomerKind
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from tests.conftest import T0, Api

pytestmark = pytest.mark.contexts("customer", "analytics")

CUSTOMERS = 1_234
"""More than two export pages (500) and more than the largest JSON page (1 000)."""


async def csv_rows(api: Api, platform: Platform, role: str, query: str) -> list[dict[str, str]]:
    head = await platform.store.head_position()
    client = api.as_user("u1", role)
    r = await client.get(f"/analytics/customers?format=csv&min_position={head}&{query}")
    assert r.status_code == 200, r.text
    assert "X-CRM-Stale" not in r.headers
    reader = csv.DictReader(io.StringIO(r.text))
    assert tuple(reader.fieldnames or ()) == CUSTOMER_COLUMNS
    return list(reader)


async def test_the_customer_export_is_every_row_with_the_roles_redaction(
    api: Api, platform: Platform
) -> None:
    for n in range(CUSTOMERS):
        now = T0 + timedelta(seconds=n)  # the export's order is the registration's
        ctx = CommandContext(actor="m1", role="manager", tenant="default", now=now)
        region = "EMEA" if n % 2 else "APAC"
        profile = Profile(kind=CustomerKind.PERSON, name=f"Customer {n:04}", region=region)
        await platform.runtime.commands.execute(RegisterCustomer(profile), ctx)

    everyone = await csv_rows(api, platform, "manager", "sort=registered")
    assert len(everyone) == CUSTOMERS
    assert len({row["id"] for row in everyone}) == CUSTOMERS
    assert [row["name"] for row in everyone[:2]] == ["Customer 0000", "Customer 0001"]
    assert everyone[-1]["name"] == f"Customer {CUSTOMERS - 1:04}"

    emea = await csv_rows(api, platform, "manager", "region=EMEA&sort=registered")
    assert len(emea) == CUSTOMERS // 2
    assert {row["region"] for row in emea} == {"EMEA"}

    analyst = await csv_rows(api, platform, "analyst", "sort=registered")
    assert len(analyst) == CUSTOMERS
    assert {row["name"] for row in analyst} == {REDACTED}

    window = await csv_rows(api, platform, "manager", "sort=registered&offset=499&limit=3")
    assert [row["name"] for row in window] == ["Customer 0499", "Customer 0500", "Customer 0501"]
    beyond = await csv_rows(api, platform, "manager", f"sort=registered&offset={CUSTOMERS}")
    assert beyond == []


async def test_a_bad_filter_of_an_export_is_still_a_422(api: Api) -> None:
    r = await api.as_user("u1").get("/analytics/customers?format=csv&sort=secret")
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    r = await api.as_user("u1").get("/analytics/customers?format=csv&limit=0")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "limit"]
