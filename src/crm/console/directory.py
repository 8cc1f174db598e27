"""The user directory read model: one document per user of a tenant, for the lists (the
console's user page, owners' display names) and the check every console request makes of
its session's user (role, team and whether they are still active).

Keyed by the user's qualified stream id (``<tenant>:<user id>``); ``id`` is the user id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypedDict

from crm.console.session import MAX_AGE_SECONDS
from crm.events import EventEnvelope
from crm.events.users import (
    LocaleChosen,
    PasswordChanged,
    PasswordReset,
    SessionEnded,
    SignedIn,
    SignInFailed,
    UserActivated,
    UserAdded,
    UserDeactivated,
    UserRenamed,
    UserRoleChanged,
)
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec, Index, Page, Query, ReadStore
from crm.kernel.tenancy import qualified

COLLECTION = "console_users"


class UserDoc(TypedDict):
    id: str
    tenant: str
    display_name: str
    role: str
    team: str | None
    locale: str
    active: bool
    locked_until: str | None
    failures: int
    must_change_password: bool
    """An admin reset the password: no page opens before the user chooses their own."""
    signed_in_at: str | None
    """The latest sign-in..."""
    previous_sign_in_at: str | None
    """...and the one before it: what changed since then is new to the user."""
    session_generation: int
    """Sessions signed in at an older generation are ended (a password changed or reset, the
    user deactivated)."""
    ended_sessions: dict[str, str]
    """The sessions the user signed out of (a hash of the id -> when it would expire), kept
    until they would have expired anyway."""
    created_at: str
    updated_at: str
    version: int


on: Handlers[UserDoc] = Handlers()


def _touch(doc: UserDoc, envelope: EventEnvelope) -> UserDoc:
    doc["updated_at"] = envelope.occurred_at.isoformat()
    doc["version"] = envelope.stream_version
    return doc


@on(UserAdded)
def _added(key: DocKey, doc: UserDoc | None, e: UserAdded, env: EventEnvelope) -> UserDoc:
    return UserDoc(
        id=key[1].partition(":")[2],
        tenant=env.tenant,
        display_name=e.display_name,
        role=e.role,
        team=e.team,
        locale=e.locale,
        active=True,
        locked_until=None,
        failures=0,
        must_change_password=False,
        signed_in_at=None,
        previous_sign_in_at=None,
        session_generation=0,
        ended_sessions={},
        created_at=env.occurred_at.isoformat(),
        updated_at=env.occurred_at.isoformat(),
        version=env.stream_version,
    )


@on(UserRoleChanged)
def _role(
    key: DocKey, doc: UserDoc | None, e: UserRoleChanged, env: EventEnvelope
) -> UserDoc | None:
    if doc is None:
        return None
    doc["role"], doc["team"] = e.role, e.team
    return _touch(doc, env)


@on(UserRenamed)
def _renamed(
    key: DocKey, doc: UserDoc | None, e: UserRenamed, env: EventEnvelope
) -> UserDoc | None:
    if doc is None:
        return None
    doc["display_name"] = e.display_name
    return _touch(doc, env)


@on(LocaleChosen)
def _locale(
    key: DocKey, doc: UserDoc | None, e: LocaleChosen, env: EventEnvelope
) -> UserDoc | None:
    if doc is None:
        return None
    doc["locale"] = e.locale
    return _touch(doc, env)


@on(UserDeactivated, UserActivated)
def _active(
    key: DocKey, doc: UserDoc | None, e: UserDeactivated | UserActivated, env: EventEnvelope
) -> UserDoc | None:
    if doc is None:
        return None
    doc["active"] = isinstance(e, UserActivated)
    if doc["active"]:
        doc["failures"], doc["locked_until"] = 0, None
    else:
        doc["session_generation"] = doc.get("session_generation", 0) + 1
    return _touch(doc, env)


@on(SignInFailed)
def _failed(
    key: DocKey, doc: UserDoc | None, e: SignInFailed, env: EventEnvelope
) -> UserDoc | None:
    if doc is None:
        return None
    doc["failures"] = e.failures
    doc["locked_until"] = None if e.locked_until is None else e.locked_until.isoformat()
    return _touch(doc, env)


@on(SignedIn, PasswordChanged, PasswordReset)
def _reset(
    key: DocKey,
    doc: UserDoc | None,
    e: SignedIn | PasswordChanged | PasswordReset,
    env: EventEnvelope,
) -> UserDoc | None:
    if doc is None:
        return None
    doc["failures"], doc["locked_until"] = 0, None
    if not isinstance(e, SignedIn):
        doc["must_change_password"] = isinstance(e, PasswordReset)
        doc["session_generation"] = doc.get("session_generation", 0) + 1
    if isinstance(e, SignedIn):
        doc["previous_sign_in_at"] = doc.get("signed_in_at")
        doc["signed_in_at"] = env.occurred_at.isoformat()
    return _touch(doc, env)


@on(SessionEnded)
def _session_ended(
    key: DocKey, doc: UserDoc | None, e: SessionEnded, env: EventEnvelope
) -> UserDoc | None:
    """The ended session is kept until it would have expired; so is every other one not yet
    expired then (each expires at most :data:`~crm.console.session.MAX_AGE_SECONDS` after
    it was issued, and the one ending now was issued before now: what expired before its
    issue is expired for good, whatever clock the events carry)."""
    if doc is None:
        return None
    issued = e.expires_at - timedelta(seconds=MAX_AGE_SECONDS)
    kept = {
        h: t
        for h, t in doc.get("ended_sessions", {}).items()
        if datetime.fromisoformat(t) >= issued
    }
    doc["ended_sessions"] = {**kept, e.session_hash: e.expires_at.isoformat()}
    return _touch(doc, env)


class UserDirectoryProjection:
    name = "console_users"
    version = 4
    collections = (CollectionSpec(COLLECTION, (Index(("tenant", "display_name")),)),)
    event_types = on.event_types
    categories = frozenset({"user"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(COLLECTION, envelope),)


class UserDirectory:
    """Reads of the directory, within one tenant."""

    def __init__(self, read_store: ReadStore) -> None:
        self.read_store = read_store

    async def get(self, tenant: str, user_id: str) -> UserDoc | None:
        doc = await self.read_store.get(COLLECTION, qualified(tenant, user_id))
        return None if doc is None else UserDoc(**doc)  # type: ignore[typeddict-item]

    async def users(self, tenant: str) -> list[UserDoc]:
        page = await self.read_store.find(
            COLLECTION, Query(filter={"tenant": tenant}, sort=(("display_name", 1),), limit=1000)
        )
        return [UserDoc(**d) for d in page.items]  # type: ignore[typeddict-item]

    async def find(
        self,
        tenant: str,
        *,
        role: str | None = None,
        team: str | None = None,
        active: bool | None = None,
        sort: str = "display_name",
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """A page of the tenant's users (the API's list), filtered by role, team, status."""
        flt: dict[str, object] = {"tenant": tenant}
        for field, value in (("role", role), ("team", team), ("active", active)):
            if value is not None:
                flt[field] = value
        by = ((sort.lstrip("-"), -1 if sort.startswith("-") else 1),)
        return await self.read_store.find(
            COLLECTION, Query(filter=flt, sort=by, limit=limit, offset=offset)
        )

    async def names_of(self, tenant: str, user_ids: Iterable[str | None]) -> dict[str, str]:
        """User id -> display name for just these users (those the directory knows), each
        read by its key: a page showing a few owners needs no read of the whole directory."""
        found = {}
        for user_id in dict.fromkeys(u for u in user_ids if u):
            doc = await self.get(tenant, user_id)
            if doc is not None:
                found[user_id] = doc["display_name"]
        return found

    async def names(self, tenant: str) -> dict[str, str]:
        """User id -> display name, for showing owners."""
        return {u["id"]: u["display_name"] for u in await self.users(tenant)}
