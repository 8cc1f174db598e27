"""Users and teams over the API and in the console: an admin adds, lists, renames, moves and
resets a user over ``/users`` and records teams over ``/teams`` (a team users carried before
it had a record keeps its members); in the console an admin renames a user and resets their
password, and the user, signed in with the temporary password, reaches no page but the
password page until they choose their own; teams are created, renamed and given a manager
who must be a manager of the team; stages reordered. Every refusal names its field; only
admins manage users and teams; no form without its token."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.support.console import PASSWORD, console_user, csrf_of, followed, own_client, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer", "sales")]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert field in response.text, response.text


async def test_users_and_teams_over_the_api(api: Api) -> None:
    await console_user(api, "ada", "admin")
    await console_user(api, "old", "sales_rep", team="north")  # a team before team records
    admin = api.as_user("ada", "admin")
    head = await api.platform.store.head_position()
    await ok(await admin.get("/users", params={"min_position": head}))  # old's team is in use
    added = await admin.post(
        "/users",
        json={
            "user_id": "Nia",
            "display_name": "Nia Novak",
            "role": "sales_rep",
            "team": "north",
            "password": "nia's first password",
        },
    )
    body = await ok(added, 201)
    assert body["id"] == "nia"
    assert added.headers["location"] == "/users/nia"
    nia = await ok(await admin.get("/users/nia", params={"min_position": body["position"]}))
    assert (nia["display_name"], nia["role"], nia["team"], nia["active"]) == (
        "Nia Novak",
        "sales_rep",
        "north",
        True,
    )
    assert "password_hash" not in nia
    listed = await ok(await admin.get("/users", params={"team": "north", "sort": "-created_at"}))
    assert [u["id"] for u in listed["items"]] == ["nia", "old"]
    refused(await admin.get("/users", params={"sort": "password"}), 422, "sort")
    refused(await admin.get("/users", params={"colour": "red"}), 422, "colour")
    refused(
        await admin.post(
            "/users",
            json={"user_id": "x", "display_name": "X", "role": "king", "password": "long enough"},
        ),
        422,
        "role",
    )
    refused(
        await admin.post(
            "/users",
            json={
                "user_id": "y",
                "display_name": "Y",
                "role": "agent",
                "team": "nowhere",
                "password": "long enough",
            },
        ),
        422,
        "team",
    )
    refused(await admin.post("/users/nia/rename", json={"display_name": " "}), 422, "display_name")

    # teams: north is in use without a record; recording it keeps its members
    teams = await ok(await admin.get("/teams"))
    assert teams["items"] == [
        {
            "id": "north",
            "name": "north",
            "manager_id": None,
            "recorded": False,
            "members": ["nia", "old"],
        }
    ]
    await ok(await admin.post("/teams", json={"team_id": "north", "name": "North sales"}), 201)
    await ok(await admin.post("/teams", json={"team_id": "south", "name": "South"}), 201)
    refused(
        await admin.post("/teams", json={"team_id": "south", "name": "Again"}),
        409,
        "version_conflict",
    )
    refused(await admin.post("/teams", json={"team_id": "a:b", "name": "X"}), 422, "team_id")
    moved = await ok(await admin.post("/users/old/role", json={"role": "manager", "team": "south"}))
    renamed = await ok(await admin.post("/users/nia/rename", json={"display_name": "Nia N."}))
    assert renamed["id"] == "nia"
    refused(await admin.post("/teams/south/manager", json={"manager_id": "nia"}), 422, "manager_id")
    refused(
        await admin.post("/teams/south/manager", json={"manager_id": "ghost"}), 422, "manager_id"
    )
    assert (await admin.post("/teams/east/manager", json={"manager_id": None})).status_code == 404
    chosen = await ok(await admin.post("/teams/south/manager", json={"manager_id": "old"}))
    south = await ok(await admin.get("/teams/south", params={"min_position": chosen["position"]}))
    assert south == {
        "id": "south",
        "name": "South",
        "manager_id": "old",
        "recorded": True,
        "members": ["old"],
    }
    north = await ok(await admin.post("/teams/north/rename", json={"name": "Northern"}))
    assert north["position"] > moved["position"]
    teams = await ok(await admin.get("/teams", params={"min_position": north["position"]}))
    assert [(t["id"], t["name"], t["members"]) for t in teams["items"]] == [
        ("north", "Northern", ["nia"]),
        ("south", "South", ["old"]),
    ]

    # deactivate, activate, a temporary password
    await ok(await admin.post("/users/nia/deactivate"))
    await ok(await admin.post("/users/nia/activate"))
    reset = await ok(await admin.post("/users/nia/password", json={"password": "temporary-1"}))
    nia = await ok(await admin.get("/users/nia", params={"min_position": reset["position"]}))
    assert nia["must_change_password"] is True
    refused(await admin.post("/users/nia/password", json={"password": "short"}), 422, "password")
    assert (await admin.post("/users/ghost/rename", json={"display_name": "G"})).status_code == 404

    # the user: their own entry and password; never another's, never a change
    me = api.as_user("nia", "sales_rep", team="north")
    assert (await ok(await me.get("/users/me")))["id"] == "nia"
    assert (await me.get("/users")).status_code == 403
    assert (await me.get("/users/old")).status_code == 403
    assert (await me.post("/users/old/rename", json={"display_name": "X"})).status_code == 403
    assert (await me.post("/teams", json={"team_id": "x", "name": "X"})).status_code == 403
    refused(
        await me.post(
            "/users/me/password",
            json={"current_password": "wrong one", "password": "nia's own now"},
        ),
        422,
        "current_password",
    )
    own = await ok(
        await me.post(
            "/users/me/password",
            json={"current_password": "temporary-1", "password": "nia's own now"},
        )
    )
    nia = await ok(await admin.get("/users/nia", params={"min_position": own["position"]}))
    assert nia["must_change_password"] is False


async def test_an_admin_renames_and_resets_and_the_user_must_choose_a_password(
    api: Api,
) -> None:
    await console_user(api, "ada", "admin")
    await console_user(api, "ana", "sales_rep", team="north")
    async with own_client(api) as ada, own_client(api) as ana:
        csrf = await sign_in(ada, "ada")
        renamed = await ada.post(
            "/console/users/ana/rename", data={"csrf": csrf, "display_name": "Ana Silva"}
        )
        page = await followed(ada, renamed)
        assert 'value="Ana Silva"' in page.text
        short = await ada.post("/console/users/ana/password", data={"csrf": csrf, "password": "x"})
        assert short.status_code == 422
        no_token = await ada.post("/console/users/ana/password", data={"password": "temporary-2"})
        assert no_token.status_code == 403
        reset = await ada.post(
            "/console/users/ana/password", data={"csrf": csrf, "password": "temporary-2"}
        )
        page = await followed(ada, reset)
        assert "ana signs in with the temporary password" in page.text
        assert "must choose a new password" in page.text

        # the old password is gone; the temporary one opens the password page only
        sign_page = await ana.get("/console/sign-in")
        old = await ana.post(
            "/console/sign-in",
            data={
                "csrf": csrf_of(sign_page.text),
                "tenant": "default",
                "user_id": "ana",
                "password": PASSWORD,
            },
        )
        assert old.status_code == 401
        signed = await ana.post(
            "/console/sign-in",
            data={
                "csrf": csrf_of(sign_page.text),
                "tenant": "default",
                "user_id": "ana",
                "password": "temporary-2",
            },
        )
        assert signed.status_code == 303
        day = await ana.get(signed.headers["location"])
        assert day.status_code == 303
        assert day.headers["location"] == "/console/password"
        customers = await ana.get("/console/customers")
        assert customers.headers["location"] == "/console/password"
        page = await ana.get("/console/password")
        assert "An admin gave you a temporary password" in page.text
        token = csrf_of(page.text)
        form = {
            "csrf": token,
            "current_password": "temporary-2",
            "password": "ana's very own",
            "password_again": "ana's very own",
        }
        wrong = await ana.post("/console/password", data={**form, "current_password": "nope"})
        assert wrong.status_code == 422
        assert "Current password" in wrong.text
        differ = await ana.post("/console/password", data={**form, "password_again": "other"})
        assert differ.status_code == 422
        assert "The new password again" in differ.text
        done = await ana.post("/console/password", data=form)
        day = await followed(ana, done)
        assert "Ana Silva" in day.text
        assert (await ana.get("/console/customers")).status_code == 200

        # a rep may not open the users page nor post to it
        assert (await ana.get("/console/users")).status_code == 403
        token = csrf_of(day.text)
        assert (
            await ana.post("/console/users/ada/rename", data={"csrf": token, "display_name": "X"})
        ).status_code == 403


async def test_teams_as_records_in_the_console(api: Api) -> None:
    await console_user(api, "ada", "admin")
    await console_user(api, "mia", "manager", team="north")
    await console_user(api, "ana", "sales_rep", team="north")
    await console_user(api, "ivy", "agent")
    async with own_client(api) as ada:
        csrf = await sign_in(ada, "ada")
        page = await ada.get("/console/admin/teams")
        assert "in use, not recorded yet" in page.text
        recorded = await ada.post(
            "/console/admin/teams", data={"csrf": csrf, "team_id": "north", "name": "North"}
        )
        page = await followed(ada, recorded)
        assert "in use, not recorded yet" not in page.text
        created = await ada.post(
            "/console/admin/teams", data={"csrf": csrf, "team_id": "support", "name": "Support"}
        )
        await followed(ada, created)
        moved = await ada.post(
            "/console/admin/teams/members/ivy", data={"csrf": csrf, "team": "support"}
        )
        await followed(ada, moved)
        unknown = await ada.post(
            "/console/admin/teams/members/ivy", data={"csrf": csrf, "team": "mars"}
        )
        assert unknown.status_code == 422
        assert "create it first" in unknown.text
        not_manager = await ada.post(
            "/console/admin/teams/north/manager", data={"csrf": csrf, "manager_id": "ana"}
        )
        assert not_manager.status_code == 422
        assert "not a manager" in not_manager.text
        chosen = await ada.post(
            "/console/admin/teams/north/manager", data={"csrf": csrf, "manager_id": "mia"}
        )
        await followed(ada, chosen)
        renamed = await ada.post(
            "/console/admin/teams/north/rename", data={"csrf": csrf, "name": "北区销售"}
        )
        page = await followed(ada, renamed)
        assert re.search(r"<h2[^>]*>北区销售", page.text)
        assert re.search(r'<option value="mia" selected>', page.text)
    teams = await ok(await api.as_user("ada", "admin").get("/teams"))
    assert [(t["id"], t["name"], t["manager_id"], t["members"]) for t in teams["items"]] == [
        ("support", "Support", None, ["ivy"]),
        ("north", "北区销售", "mia", ["ana", "mia"]),
    ] or [(t["id"], t["name"], t["manager_id"], t["members"]) for t in teams["items"]] == [
        ("north", "北区销售", "mia", ["ana", "mia"]),
        ("support", "Support", None, ["ivy"]),
    ]


async def test_an_admin_reorders_the_open_stages(api: Api) -> None:
    await console_user(api, "ada", "admin")
    async with own_client(api) as ada:
        csrf = await sign_in(ada, "ada")
        page = await ada.get("/console/admin/stages")
        version = re.search(r'name="version" value="(-?\d+)"', page.text)
        assert version is not None
        down = await ada.post(
            "/console/admin/stages/0/move",
            data={"csrf": csrf, "direction": "down", "version": version[1]},
        )
        page = await followed(ada, down)
        names = [
            s["name"]
            for s in (await ok(await api.as_user("ada", "admin").get("/pipeline")))["stages"]
        ]
        assert names[:2] == ["qualification", "prospecting"]
        assert names[-2:] == ["won", "lost"]
        stale = await ada.post(
            "/console/admin/stages/1/move",
            data={"csrf": csrf, "direction": "up", "version": version[1]},
        )
        assert stale.status_code == 409
        current = re.search(r'name="version" value="(-?\d+)"', page.text)
        assert current is not None
        last_open = names.index("won") - 1
        past_the_end = await ada.post(
            f"/console/admin/stages/{last_open}/move",
            data={"csrf": csrf, "direction": "down", "version": current[1]},
        )
        assert past_the_end.status_code == 422
        wrong = await ada.post(
            "/console/admin/stages/0/move",
            data={"csrf": csrf, "direction": "sideways", "version": current[1]},
        )
        assert wrong.status_code == 422
        assert 'aria-label="Move Qualification down"' in page.text or "Move" in page.text


async def test_every_signed_in_user_has_the_password_link(api: Api) -> None:
    """ "Your password" / "修改密码" is in the navigation of every role, in both languages,
    and marked as the current page on the password page; signed out there is no link."""
    nav_link = re.compile(
        r'<nav aria-label="[^"]+">.*<a href="/console/password"[^>]*>([^<]+)</a>', re.S
    )
    users = (
        ("ada", "admin", "en"),
        ("mgr", "manager", "zh-CN"),
        ("ana", "sales_rep", "en"),
        ("ivy", "agent", "zh-CN"),
        ("sue", "analyst", "en"),
    )
    for user, role, locale in users:
        await console_user(api, user, role, locale=locale)
        async with own_client(api) as client:
            assert "/console/password" not in (await client.get("/console/sign-in")).text
            await sign_in(client, user)
            home = await client.get("/console/")
            found = nav_link.search(home.text)
            assert found is not None, (user, home.text[:2000])
            assert found.group(1) == ("Your password" if locale == "en" else "修改密码")
            page = await client.get("/console/password")
            assert page.status_code == 200
            assert re.search(r'<a href="/console/password" aria-current="page">', page.text)
