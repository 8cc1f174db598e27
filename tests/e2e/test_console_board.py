"""Moving a card on the pipeline board is the stage command at the version the card showed:
two sessions load the board, the first moves the card, the second (stale) move is refused by
the store itself (nothing recorded) and the board says plainly that someone else moved it and
where it is now, in English and in Chinese; a move without the version is a 422 naming it."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from crm.sales.domain.opportunities import Opportunity
from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def _opened(api: Api) -> tuple[str, int]:
    rep = api.as_user("ana", "sales_rep", team="north")
    customer = await rep.post("/customers", json={"name": "Babbage Ltd"})
    assert customer.status_code == 201, customer.text
    opened = await rep.post(
        "/opportunities",
        json={
            "customer_id": customer.json()["id"],
            "name": "Analytical engine",
            "amount": {"amount": "125000.00", "currency": "EUR"},
            "expected_close_date": "2027-03-31",
        },
    )
    assert opened.status_code == 201, opened.text
    return opened.json()["id"], opened.json()["position"]


def card_form(page: str, opportunity_id: str) -> dict[str, str]:
    """The card's move form as the board drew it: its hidden fields."""
    form = re.search(
        rf'<form method="post" action="/console/opportunities/{opportunity_id}/stage".*?</form>',
        page,
        re.S,
    )
    assert form is not None, page
    return dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form[0]))


async def _board(client: httpx.AsyncClient, position: int) -> str:
    page = await client.get(f"/console/pipeline?min_position={position}")
    assert page.status_code == 200, page.text
    return page.text


async def stage_changes(api: Api, opportunity_id: str) -> list[Any]:
    stream = await api.platform.runtime.store.read_stream(Opportunity.stream_id_for(opportunity_id))
    return [e.payload["to_stage"] for e in stream if e.event_type.endswith("stage_changed")]


async def test_a_stale_card_move_is_refused_by_the_store_and_shown_plainly(api: Api) -> None:
    opportunity_id, position = await _opened(api)
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "nora", "manager", team="north")
    async with own_client(api) as ana, own_client(api) as nora:
        await sign_in(ana, "ana")
        await sign_in(nora, "nora")
        seen_by_ana = card_form(await _board(ana, position), opportunity_id)
        seen_by_nora = card_form(await _board(nora, position), opportunity_id)
        assert seen_by_ana["version"] == seen_by_nora["version"] == "0"
        assert seen_by_nora["stage"] == "qualification"

        moved = await nora.post(f"/console/opportunities/{opportunity_id}/stage", data=seen_by_nora)
        assert "Moved." in (await followed(nora, moved)).text

        stale = await ana.post(f"/console/opportunities/{opportunity_id}/stage", data=seen_by_ana)
        assert stale.status_code == 409, stale.text
        said = html.unescape(stale.text)
        assert (
            "Someone else moved or changed \u201cAnalytical engine\u201d after you loaded the"
            " board: it is now in Qualification. Nothing was moved" in said
        )
        assert 'role="alert"' in stale.text
        assert await stage_changes(api, opportunity_id) == ["qualification"]  # one move only
        # the board under the message is the one after the other's move: the card at version
        # 1 in Qualification, so the move from there lands
        fresh = card_form(stale.text, opportunity_id)
        assert (fresh["version"], fresh["stage"]) == ("1", "needs_analysis")
        again = await ana.post(f"/console/opportunities/{opportunity_id}/stage", data=fresh)
        assert "Moved." in (await followed(ana, again)).text
        assert await stage_changes(api, opportunity_id) == ["qualification", "needs_analysis"]


async def test_a_stale_move_is_said_in_chinese_and_a_move_without_its_version_is_refused(
    api: Api,
) -> None:
    opportunity_id, position = await _opened(api)
    await console_user(api, "wang", "manager", team="north", locale="zh-CN")
    async with own_client(api) as wang:
        csrf = await sign_in(wang, "wang")
        seen = card_form(await _board(wang, position), opportunity_id)
        url = f"/console/opportunities/{opportunity_id}/stage"
        assert (await wang.post(url, data=seen)).status_code == 303
        stale = await wang.post(url, data=seen)
        assert stale.status_code == 409, stale.text
        assert "其他人已移动或修改了「Analytical engine」：它现在处于" in stale.text
        unversioned = await wang.post(url, data={"csrf": csrf, "stage": "proposal"})
        assert unversioned.status_code == 422, unversioned.text
        assert "version" in unversioned.text
        assert await stage_changes(api, opportunity_id) == ["qualification"]
