"""Every list as a file: ``?format=csv`` and ``?format=xlsx`` of the customer service's list,
leads and tickets answer every row the filters select (beyond one export page of 500), with
the role's access rule and redaction, the same columns in both formats; the xlsx is read back
with openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from crm.customer.application.customer_commands import RegisterCustomer
from crm.customer.domain.customer import Profile
from crm.events.customer import CustomerKind
from crm.kernel.http.export import EXPORT_PAGE, columns_of, inert
from crm.kernel.redaction import REDACTED
from crm.kernel.repository import CommandContext
from crm.platform.bootstrap import Platform
from crm.sales.projections.pipeline_models import LeadDoc
from tests.conftest import T0, Api

pytestmark = pytest.mark.contexts("customer", "sales", "service-desk")

CUSTOMERS = EXPORT_PAGE + 120
"""More than one export page and more than the largest JSON page."""


async def register(platform: Platform, n: int, *, owner: str | None, region: str) -> str:
    ctx = CommandContext(
        actor="m1", role="manager", tenant="default", now=T0 + timedelta(seconds=n)
    )
    name = f'=HYPERLINK("x") {n:04}' if n == 0 else f"Customer {n:04}"
    profile = Profile(kind=CustomerKind.PERSON, name=name, email=f"c{n}@example.com", region=region)
    result = await platform.runtime.commands.execute(RegisterCustomer(profile, owner_id=owner), ctx)
    return result.stream_id.partition("-")[2]


async def exported(api: Api, platform: Platform, role: str, url: str) -> list[dict[str, str]]:
    """The rows of ``url`` as CSV, checked to be the same rows and columns as its xlsx."""
    head = await platform.store.head_position()
    client = api.as_user("r1", role)
    sep = "&" if "?" in url else "?"
    r = await client.get(f"{url}{sep}format=csv&min_position={head}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "X-CRM-Stale" not in r.headers
    reader = csv.DictReader(io.StringIO(r.text))
    from_csv = list(reader)
    r = await client.get(f"{url}{sep}format=xlsx&min_position={head}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert r.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    cells = list(sheet.iter_rows())
    formulas = [c.value for line in cells for c in line if c.data_type == "f"]
    assert formulas == []  # text that looks like a formula stays text
    lines = [tuple(c.value for c in line) for line in cells]
    header = [str(c) for c in lines[0]]
    assert header == list(reader.fieldnames or ())
    from_xlsx = [  # the CSV's text that would start a formula has its apostrophe (inert)
        {h: "" if v is None else inert(text(v)) for h, v in zip(header, line, strict=True)}
        for line in lines[1:]
    ]
    assert from_xlsx == from_csv
    return from_csv


def text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def test_the_customer_list_exports_every_row_with_its_filters_and_the_roles_view(
    api: Api, platform: Platform
) -> None:
    ids = [
        await register(
            platform, n, owner="r1" if n % 3 == 0 else None, region="EU" if n % 2 else "CN"
        )
        for n in range(CUSTOMERS)
    ]

    everyone = await exported(api, platform, "manager", "/customers?sort=created_at")
    assert [row["id"] for row in everyone] == ids
    assert everyone[1]["name"] == "Customer 0001"
    assert everyone[1]["email"] == "c1@example.com"
    assert everyone[0]["name"].startswith("'=HYPERLINK")  # never a formula (CSV injection)

    eu = await exported(api, platform, "manager", "/customers?region=EU&sort=created_at")
    assert [row["id"] for row in eu] == ids[1::2]

    window = await exported(
        api, platform, "manager", f"/customers?sort=created_at&offset={EXPORT_PAGE - 1}&limit=3"
    )
    assert [row["id"] for row in window] == ids[EXPORT_PAGE - 1 : EXPORT_PAGE + 2]

    analyst = await exported(api, platform, "analyst", "/customers?sort=created_at")
    assert len(analyst) == CUSTOMERS
    assert {row["name"] for row in analyst} == {REDACTED}
    assert {row["email"] for row in analyst} == {REDACTED}

    # a rep sees their own customers and the pool's, none of another rep's
    others = await register(platform, CUSTOMERS, owner="r2", region="EU")
    rep = await exported(api, platform, "sales_rep", "/customers?sort=created_at")
    assert [row["id"] for row in rep] == ids
    assert others not in {row["id"] for row in rep}
    mine = await exported(api, platform, "sales_rep", "/customers?owner_id=r1&sort=created_at")
    assert [row["id"] for row in mine] == ids[::3]


async def test_leads_export_with_the_analysts_redaction(api: Api, platform: Platform) -> None:
    rep = api.as_user("r1", "sales_rep")
    for n in range(3):
        body = {"name": f"Lead {n}", "email": f"l{n}@example.com", "company": f"Firm {n}"}
        assert (await rep.post("/leads", json=body)).status_code == 201
    assert (
        await api.as_user("r2", "sales_rep").post("/leads", json={"name": "Not r1's"})
    ).status_code == 201

    leads = await exported(api, platform, "sales_rep", "/leads?sort=name")
    assert [row["name"] for row in leads] == ["Lead 0", "Lead 1", "Lead 2"]
    assert [row["email"] for row in leads] == [f"l{n}@example.com" for n in range(3)]
    # no custom field is defined: no custom column (one per field when there are)
    assert list(leads[0]) == [c for c in columns_of(LeadDoc) if c != "custom"]
    analyst = await exported(api, platform, "analyst", "/leads")
    assert len(analyst) == 4
    assert {row["name"] for row in analyst} == {REDACTED}
    assert {row["company"] for row in analyst} == {"Firm 0", "Firm 1", "Firm 2", ""}


async def test_tickets_export_with_the_service_texts_only_for_those_who_see_them(
    api: Api, platform: Platform
) -> None:
    customer = await register(platform, 1, owner="r1", region="EU")
    agent = api.as_user("a1", "agent")
    body = {
        "customer_id": customer,
        "kind": "complaint",
        "channel": "email",
        "priority": "high",
        "subject": "Broken",
        "description": "The private story",
    }
    assert (await agent.post("/tickets", json=body)).status_code == 201, "ticket"
    complaints = await exported(api, platform, "agent", "/tickets?kind=complaint")
    assert [(r["subject"], r["description"]) for r in complaints] == [
        ("Broken", "The private story")
    ]
    assert await exported(api, platform, "agent", "/tickets?kind=inquiry") == []
    analyst = await exported(api, platform, "analyst", "/tickets")
    assert [(r["subject"], r["description"]) for r in analyst] == [("Broken", REDACTED)]


async def test_a_bad_format_or_filter_of_an_export_is_a_422(api: Api) -> None:
    client = api.as_user("m1")
    r = await client.get("/customers?format=pdf")
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["query", "format"])
    r = await client.get("/customers?format=xlsx&sort=secret")
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["query", "sort"])
    r = await client.get("/leads?format=csv&limit=0")
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["query", "limit"])
    r = await api.as_user("m1", "analyst").get("/customers?format=csv&q=someone")
    assert r.status_code == 403
