"""Custom fields on leads: checked when a lead is captured, carried by its event, held by
the leads read model and filtered; a personal one is sealed with the lead's key."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from crm.kernel.auth import Role
from crm.sales.domain.leads import Lead
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_leads_take_their_custom_fields(api: Api) -> None:
    admin = api.as_user("root", Role.ADMIN)
    channels = [
        {"key": "fair", "label_en": "Trade fair", "label_zh": "展会"},
        {"key": "web", "label_en": "Website", "label_zh": "网站"},
    ]
    await ok(
        await admin.put(
            "/custom-fields/lead/heard_via",
            json={
                "label_en": "Heard via",
                "label_zh": "了解渠道",
                "type": "choice",
                "choices": channels,
            },
        )
    )
    await ok(
        await admin.put(
            "/custom-fields/lead/wechat",
            json={"label_en": "WeChat", "label_zh": "微信", "type": "text", "personal": True},
        )
    )
    rep = api.as_user("rep-1", Role.SALES_REP)
    bad = await rep.post("/leads", json={"name": "Zhang", "custom": {"heard_via": "tv"}})
    assert bad.status_code == 422
    assert "custom.heard_via" in bad.text
    other = await rep.post("/leads", json={"name": "Zhang", "custom": {"size": 1}})
    assert other.status_code == 422
    assert "custom.size" in other.text  # a customer's field is not a lead's
    a = await ok(
        await rep.post(
            "/leads", json={"name": "Zhang", "custom": {"heard_via": "fair", "wechat": "zh88"}}
        ),
        201,
    )
    await ok(await rep.post("/leads", json={"name": "Wang", "custom": {"heard_via": "web"}}), 201)
    (stored,) = await api.platform.store.read_stream(Lead.stream_id_for(a["id"]))
    assert stored.payload["custom"] == {"heard_via": "fair"}
    assert str(stored.payload["custom_personal"]).startswith("enc:")
    head = await api.platform.store.head_position()
    found = await ok(
        await rep.get("/leads", params={"custom.heard_via": "fair", "min_position": head})
    )
    assert [d["id"] for d in found["items"]] == [a["id"]]
    assert found["items"][0]["custom"] == {"heard_via": "fair", "wechat": "zh88"}
    unknown = await rep.get("/leads", params={"custom.nope": "x"})
    assert unknown.status_code == 422
    assert "custom.nope" in unknown.text
    by_channel = await ok(await rep.get("/leads", params={"sort": "-custom.heard_via"}))
    assert [d["name"] for d in by_channel["items"]] == ["Wang", "Zhang"]  # web, fair
    assert (await rep.get("/leads", params={"sort": "custom.nope"})).status_code == 422
    analyst = api.as_user("ana", Role.ANALYST)
    assert (await analyst.get("/leads", params={"sort": "custom.heard_via"})).status_code == 200
    assert (await analyst.get("/leads", params={"sort": "custom.wechat"})).status_code == 403
    exported = await rep.get("/leads", params={"format": "csv", "sort": "custom.heard_via"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["name"], r["custom.heard_via"], r["custom.wechat"]) for r in rows] == [
        ("Zhang", "fair", "zh88"),
        ("Wang", "web", ""),
    ]
    assert "custom" not in rows[0]
