"""Knowledge-base articles edited and retired from the console, over HTTP.

An agent edits a published article: a new version, unpublished until she publishes it, the
search finding the published one meanwhile. A manager who opened the article before her edit
sends his form: a 409 page in Chinese saying which version he edited and which it is at now,
his text kept in the form, nothing saved. The article is retired after ticking the
confirmation: no search finds it (the console's and the API's), the ticket page offers it no
more, its page says it is retired, when and why, with no form left; an edit posted anyway is
the 409 page. Refusals: no CSRF token, a rep (403; the retired article is the 404 page for
her, as over the API), the confirmation left unticked (422 naming it)."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import console_user, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "service-desk")]


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def published_article(api: Api) -> tuple[str, str]:
    """A published article and an open ticket, made over the API: (article id, ticket id)."""
    boss = api.as_user("boss", "manager")
    customer = await ok(await boss.post("/customers", json={"name": "Ada Lovelace"}), 201)
    ticket = {
        "customer_id": customer["id"],
        "kind": "service_request",
        "channel": "phone",
        "priority": "normal",
        "subject": "Printer",
        "description": "It jams",
    }
    opened = await ok(await boss.post("/tickets", json=ticket), 201)
    article = {
        "title": "Printer jams",
        "problem": "Paper jams in tray 2",
        "solution": "Open tray 2 and pull gently",
        "tags": ["printer"],
        "product": "LaserJet 200",
    }
    drafted = await ok(await boss.post("/kb/articles", json=article), 201)
    done = await ok(await boss.post(f"/kb/articles/{drafted['id']}/publish"))
    head = {"min_position": done["position"]}  # the pages read the models as they are
    await ok(await boss.get(f"/kb/articles/{drafted['id']}", params=head))
    await ok(await boss.get(f"/tickets/{opened['id']}", params=head))
    return drafted["id"], opened["id"]


def hits(page: httpx.Response) -> str:
    """The search's hits on the knowledge base's page (not its list of every article)."""
    return page.text.split('id="hits"', 1)[1].split("</section>", 1)[0]


def form(csrf: str, version: int, **content: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "version": str(version),
        "title": "Printer jams",
        "problem": "Paper jams in tray 2",
        "solution": "Open tray 2 and pull gently",
        "tags": "printer",
        "product": "LaserJet 200",
        **content,
    }


async def test_an_edit_is_a_new_version_and_a_stale_form_is_a_conflict(api: Api) -> None:
    article_id, _ = await published_article(api)
    await console_user(api, "ivy", "agent")
    await console_user(api, "wang", "manager", locale="zh-CN")
    page_url = f"/console/kb/{article_id}"
    async with own_client(api) as ivy, own_client(api) as wang:
        ivy_csrf = await sign_in(ivy, "ivy")
        wang_csrf = await sign_in(wang, "wang")
        page = await ivy.get(page_url)
        assert "Edit the article" in page.text
        assert "Save as version 2" in page.text
        assert 'name="version" value="1"' in page.text
        assert (await wang.get(page_url)).status_code == 200  # he opens it at version 1 too

        edited = await ivy.post(
            f"{page_url}/edit",
            data=form(
                ivy_csrf,
                1,
                title="Printer jams in tray 2",
                solution="Fan the paper, then open tray 2",
                tags="printer, Paper Jam",
                product="",
            ),
        )
        page = await followed(ivy, edited)
        assert "Saved." in page.text
        assert "version 2" in page.text
        assert "Searches find version 1; version 2 is not published yet." in page.text
        assert "Fan the paper, then open tray 2" in page.text
        assert '<span class="tag">paper-jam</span>' in page.text
        assert "LaserJet 200" not in page.text  # the product cleared
        doc = await ok(await api.as_user("boss", "manager").get(f"/kb/articles/{article_id}"))
        assert (doc["version"], doc["published_version"], doc["product"]) == (2, 1, None)
        assert doc["versions"][1]["changed"] == ["title", "solution", "tags", "product"]
        assert doc["versions"][1]["by"] == "ivy"
        # the search still finds the published version until the new one is published
        found = await ivy.get("/console/kb", params={"q": "printer"})
        assert "Printer jams</a>" in hits(found)
        assert "Printer jams in tray 2</a>" not in hits(found)

        # the manager's form, filled from version 1: refused, his text kept, in Chinese
        stale = await wang.post(
            f"{page_url}/edit", data=form(wang_csrf, 1, solution="Call the technician")
        )
        assert stale.status_code == 409
        text = html.unescape(stale.text)
        assert "您编辑的是第 1 版，现在已是第 2 版。本次未保存。" in text
        assert ">Call the technician</textarea>" in text  # what he typed
        assert "Fan the paper, then open tray 2" in text  # the article as it is now
        assert 'name="version" value="2"' in stale.text  # sent again, it is made from 2
        assert '<details class="card" id="edit" open>' in stale.text
        doc = await ok(await api.as_user("boss", "manager").get(f"/kb/articles/{article_id}"))
        assert (doc["version"], doc["solution"]) == (2, "Fan the paper, then open tray 2")

        # the same form, unchanged, records nothing: still version 2
        same = await ivy.post(
            f"{page_url}/edit",
            data=form(
                ivy_csrf,
                2,
                title="Printer jams in tray 2",
                solution="Fan the paper, then open tray 2",
                tags="printer, paper-jam",
                product="",
            ),
        )
        page = await followed(ivy, same)
        assert "Save as version 3" in page.text

        published = await ivy.post(f"{page_url}/publish", data={"csrf": ivy_csrf, "version": "2"})
        await followed(ivy, published)
        found = await ivy.get("/console/kb", params={"q": "fan paper"})
        assert "Printer jams in tray 2</a>" in hits(found)

        # a blank title is refused naming it, nothing saved
        blank = await ivy.post(f"{page_url}/edit", data=form(ivy_csrf, 2, title=" "))
        assert blank.status_code == 422
        assert "title" in blank.text.lower()


async def test_a_retired_article_is_found_by_no_search_and_its_page_says_so(api: Api) -> None:
    article_id, ticket_id = await published_article(api)
    await console_user(api, "ivy", "agent")
    await console_user(api, "wang", "manager", locale="zh-CN")
    await console_user(api, "ana", "sales_rep")
    page_url = f"/console/kb/{article_id}"
    async with own_client(api) as ivy, own_client(api) as wang, own_client(api) as ana:
        csrf = await sign_in(ivy, "ivy")
        ticket = await ivy.get(f"/console/tickets/{ticket_id}")
        assert f'<option value="{article_id}"' in ticket.text
        ana_csrf = await sign_in(ana, "ana")
        assert (await ana.get(page_url)).status_code == 200  # published: readers read it

        no_token = await ivy.post(f"{page_url}/retire", data={"confirm": "true"})
        assert no_token.status_code == 403
        by_rep = await ana.post(f"{page_url}/retire", data={"csrf": ana_csrf, "confirm": "true"})
        assert by_rep.status_code == 403
        unticked = await ivy.post(f"{page_url}/retire", data={"csrf": csrf, "reason": "old"})
        assert unticked.status_code == 422
        assert "the confirmation" in unticked.text
        assert "tick the box to retire the article" in unticked.text
        doc = await ok(await api.as_user("boss", "manager").get(f"/kb/articles/{article_id}"))
        assert doc["status"] == "published"

        retired = await ivy.post(
            f"{page_url}/retire",
            data={"csrf": csrf, "reason": "LaserJet 200 discontinued", "confirm": "true"},
        )
        page = await followed(ivy, retired)
        assert "Retired on" in page.text
        assert "searches no longer find this article" in page.text
        assert "Reason: LaserJet 200 discontinued" in page.text
        assert f"{page_url}/edit" not in page.text
        assert f"{page_url}/retire" not in page.text
        assert f"{page_url}/publish" not in page.text

        found = await ivy.get("/console/kb", params={"q": "printer"})
        assert "No published article matches." in hits(found)
        api_found = await ok(await api.as_user("ivy", "agent").get("/kb/search?q=printer"))
        assert api_found["items"] == []
        ticket = await ivy.get(f"/console/tickets/{ticket_id}")
        assert f'<option value="{article_id}"' not in ticket.text
        listed = await ivy.get("/console/kb")
        assert "retired</span>" in listed.text  # writers still list it, marked

        await sign_in(wang, "wang")
        zh = await wang.get(page_url)
        assert "停用：搜索不再显示此文章，也不能再编辑或发布。" in zh.text
        assert "已于 2026年" in zh.text
        assert "原因：LaserJet 200 discontinued" in zh.text

        edit = await ivy.post(f"{page_url}/edit", data=form(csrf, 1, title="Back again"))
        assert edit.status_code == 409
        assert "retired" in edit.text
        again = await ivy.post(f"{page_url}/retire", data={"csrf": csrf, "confirm": "true"})
        await followed(ivy, again)  # retiring it again records nothing
        assert (await ana.get(page_url)).status_code == 404  # readers: as over the API
