"""Custom fields on customers through HTTP: defined by admins per tenant, checked at the
command, carried by the events, held by the read model, filtered, sorted, exported as CSV
columns, redacted like contact data when personal, and erased with the customer."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any
from uuid import uuid4

import pytest

from crm.customer.domain.customer import Customer
from crm.kernel.auth import Role
from crm.kernel.redaction import REDACTED
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

SIZES = [
    {"key": "small", "label_en": "Small", "label_zh": "小型"},
    {"key": "large", "label_en": "Large", "label_zh": "大型"},
]
FIELDS: dict[str, dict[str, Any]] = {
    "contract_no": {"label_en": "Contract", "label_zh": "合同号", "type": "text"},
    "budget": {"label_en": "Budget", "label_zh": "预算", "type": "money"},
    "employees": {"label_en": "Employees", "label_zh": "员工数", "type": "number"},
    "size": {"label_en": "Size", "label_zh": "规模", "type": "choice", "choices": SIZES},
    "interests": {
        "label_en": "Interests",
        "label_zh": "兴趣",
        "type": "multi_choice",
        "choices": SIZES,
    },
    "vip": {"label_en": "VIP", "label_zh": "贵宾", "type": "boolean"},
    "id_number": {"label_en": "ID number", "label_zh": "证件号", "type": "text", "personal": True},
}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def define(api: Api, tenant: str = "default") -> None:
    admin = api.as_user("root", Role.ADMIN, tenant)
    for key, body in FIELDS.items():
        await ok(await admin.put(f"/custom-fields/customer/{key}", json=body))


async def register(api: Api, custom: dict[str, Any], **fields: Any) -> str:
    body = {"name": "Li Wei", "email": f"li-{uuid4().hex[:10]}@example.com", **fields}
    done = await ok(
        await api.as_user("boss").post("/customers", json={**body, "custom": custom}), 201
    )
    return str(done["id"])


async def listed(api: Api, role: Role = Role.MANAGER, **params: Any) -> Any:
    head = await api.platform.store.head_position()
    r = await api.as_user("u", role).get("/customers", params={"min_position": head, **params})
    return r


async def test_only_admins_define_and_everyone_reads_the_definitions(api: Api) -> None:
    r = await api.as_user("boss", Role.MANAGER).put("/custom-fields/customer/x", json=FIELDS["vip"])
    assert r.status_code == 403, r.text
    await define(api)
    shown = await ok(await api.as_user("rep", Role.SALES_REP).get("/custom-fields?entity=customer"))
    assert [f["key"] for f in shown] == list(FIELDS)
    assert shown[3]["choices"][1] == {"key": "large", "label_en": "Large", "label_zh": "大型"}
    # another tenant has none of them
    other = await ok(await api.as_user("x", Role.ADMIN, "acme").get("/custom-fields"))
    assert other == []
    bad = await api.as_user("root", Role.ADMIN).put(
        "/custom-fields/customer/vip", json={**FIELDS["vip"], "type": "text"}
    )
    assert bad.status_code == 422
    assert "type" in bad.text


async def test_values_are_checked_at_the_command_naming_the_field(api: Api) -> None:
    await define(api)
    boss = api.as_user("boss")
    for custom, name in [
        ({"nope": 1}, "custom.nope"),
        ({"budget": "12"}, "custom.budget"),
        ({"size": "huge"}, "custom.size"),
        ({"employees": "many"}, "custom.employees"),
    ]:
        r = await boss.post("/customers", json={"name": "Li", "custom": custom})
        assert r.status_code == 422, r.text
        assert name in r.text
    cid = await register(api, {"vip": True})
    r = await boss.patch(f"/customers/{cid}", json={"custom": {"vip": "perhaps"}})
    assert r.status_code == 422
    assert "custom.vip" in r.text


async def test_register_edit_filter_sort_and_export(api: Api) -> None:
    await define(api)
    a = await register(
        api,
        {"contract_no": "C-1", "budget": "1200.50 EUR", "size": "large", "interests": ["small"]},
    )
    b = await register(api, {"contract_no": "C-2", "budget": "300 EUR", "vip": True})
    c = await register(api, {"budget": "99999 EUR", "interests": ["large", "small"]})
    await ok(
        await api.as_user("boss").patch(
            f"/customers/{b}", json={"custom": {"employees": 40, "contract_no": None}}
        )
    )
    events = await api.platform.store.read_stream(Customer.stream_id_for(b))
    assert events[-1].payload["changed"] == ["custom.contract_no", "custom.employees"]
    assert events[-1].payload["custom"] == {"budget": "300 EUR", "vip": True, "employees": 40}

    one = (await ok(await listed(api, **{"custom.size": "large"})))["items"]
    assert [d["id"] for d in one] == [a]
    assert one[0]["custom"] == {
        "contract_no": "C-1",
        "budget": "1200.50 EUR",
        "size": "large",
        "interests": ["small"],
    }
    having = await ok(await listed(api, **{"custom.interests": "small"}))
    assert {d["id"] for d in having["items"]} == {a, c}
    vip = (await ok(await listed(api, **{"custom.vip": "true"})))["items"]
    assert [d["id"] for d in vip] == [b]
    by_budget = await ok(await listed(api, sort="-custom.budget"))
    assert [d["id"] for d in by_budget["items"]] == [c, a, b]  # by amount, not as text
    unknown = await listed(api, **{"custom.nope": "1"})
    assert unknown.status_code == 422
    assert "custom.nope" in unknown.text
    assert (await listed(api, sort="custom.nope")).status_code == 422
    assert (await listed(api, other="1")).status_code == 422  # still refused

    exported = await listed(api, format="csv", sort="custom.budget")
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [r["id"] for r in rows] == [b, a, c]
    assert [r["custom.contract_no"] for r in rows] == ["", "C-1", ""]
    assert [r["custom.budget"] for r in rows] == ["300 EUR", "1200.50 EUR", "99999 EUR"]
    assert rows[2]["custom.interests"] == "small;large"
    assert "custom" not in rows[0]


async def test_personal_ones_are_sealed_redacted_and_erased(api: Api) -> None:
    await define(api)
    cid = await register(api, {"id_number": "X-7788", "vip": True})
    (stored,) = await api.platform.store.read_stream(Customer.stream_id_for(cid))
    assert str(stored.payload["custom_personal"]).startswith("enc:")
    assert "X-7788" not in str(stored.payload)
    manager = (await ok(await listed(api)))["items"][0]
    assert manager["custom"] == {"id_number": "X-7788", "vip": True}
    analyst = await ok(await listed(api, Role.ANALYST))
    assert analyst["items"][0]["custom"] == {"id_number": REDACTED, "vip": True}
    refused = await listed(api, Role.ANALYST, **{"custom.id_number": "X-7788"})
    assert refused.status_code == 403
    await ok(await api.as_user("root", Role.ADMIN).post(f"/customers/{cid}/erase"))
    head = await api.platform.store.head_position()
    doc = await ok(
        await api.as_user("root", Role.ADMIN).get(
            f"/customers/{cid}", params={"min_position": head}
        )
    )
    assert doc["custom"] == {"vip": True}
    assert doc["birthday"] is None


async def test_a_retired_field_is_refused_but_its_values_stay(api: Api) -> None:
    await define(api)
    cid = await register(api, {"vip": True})
    await ok(await api.as_user("root", Role.ADMIN).delete("/custom-fields/customer/vip"))
    r = await api.as_user("boss").post("/customers", json={"name": "X", "custom": {"vip": True}})
    assert r.status_code == 422
    head = await api.platform.store.head_position()
    doc = await ok(await api.as_user("boss").get(f"/customers/{cid}?min_position={head}"))
    assert doc["custom"] == {"vip": True}


async def test_a_customers_file_fills_custom_fields_by_custom_key_columns(api: Api) -> None:
    await define(api)
    boss = api.as_user("boss")
    out = io.StringIO(newline="")
    csv.writer(out).writerows(
        [
            ["name", "email", "custom.budget", "custom.interests", "custom.vip"],
            ["Ana", "ana@example.com", "500 EUR", "small;large", "yes"],
            ["Ben", "ben@example.com", "lots", "", ""],  # row 3: not money
        ]
    )
    files = {"file": ("c.csv", out.getvalue().encode(), "text/csv")}
    planned = await ok(await boss.post("/imports", files=files), 201)
    assert planned["summary"]["mapping"]["custom.budget"] == "custom.budget"
    (issue,) = planned["issues"]
    assert (issue["row"], issue["column"], issue["value"]) == (3, "custom.budget", "lots")
    import_id = planned["summary"]["id"]
    await ok(await boss.post(f"/imports/{import_id}/confirm"), 202)
    for _ in range(400):
        status = await ok(await boss.get(f"/imports/{import_id}"))
        if status["status"] == "finished":
            break
        await asyncio.sleep(0.05)
    assert status["done"]["created"] == 1
    (ana,) = (await ok(await listed(api, **{"custom.vip": "true"})))["items"]
    assert ana["custom"] == {"budget": "500 EUR", "interests": ["small", "large"], "vip": True}
