"""The user directory's commands and the sign-in check, on the runtime's command bus.

A user's id is the name they sign in with, unique within their tenant (the stream is
tenant-qualified, so two tenants may both have an ``alice``). Admins of the tenant manage
users (in the console; ``crm users`` runs as the system for the first admin); every user
chooses their own language. Sign-in outcomes are recorded by the system.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults); the hash, never the
password, is what the events carry.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from crm.console.domain.users import User, UserState
from crm.kernel.access import SYSTEM_ROLE, Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.commands import CommandBus, CommandTable, Expect
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.event_store import AppendResult
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.tenancy import qualified

USER_ID = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
LOCALES = ("en", "zh-CN")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password no user has")
"""Verified against when the user does not exist, so that an unknown name costs the same
time as a wrong password and sign-in does not tell which names exist."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidCommand("password", f"must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class AddUser:
    user_id: str
    display_name: str
    role: str
    password_hash: str
    team: str | None = None
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class ChangeRole:
    user_id: str
    role: str
    team: str | None = None


@dataclass(frozen=True, slots=True)
class RenameUser:
    user_id: str
    display_name: str


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class ResetPassword:
    """An admin gives ``user_id`` a temporary password (its hash), to be changed at the
    user's next sign-in."""

    user_id: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class ChooseLocale:
    user_id: str
    locale: str


@dataclass(frozen=True, slots=True)
class DeactivateUser:
    user_id: str


@dataclass(frozen=True, slots=True)
class ActivateUser:
    user_id: str


@dataclass(frozen=True, slots=True)
class EndSession:
    """The user signs out of one session (named by a hash of its id): every process refuses
    it from then on."""

    user_id: str
    session_hash: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RecordSignIn:
    user_id: str
    succeeded: bool


def _admin(ctx: CommandContext) -> None:
    p = Principal.of(ctx)
    if not (p.is_system or p.role is Role.ADMIN):
        raise Forbidden("only an admin manages the tenant's users")


def _self_or_admin(user: User, ctx: CommandContext) -> None:
    if ctx.actor != user.id.partition(":")[2]:
        _admin(ctx)


def _system(ctx: CommandContext) -> None:
    if ctx.role != SYSTEM_ROLE:
        raise Forbidden("sign-ins are recorded by the system")


def _existing(user: User) -> None:
    if not user.state.added:
        raise NotFound(f"user {user.id.partition(':')[2]} does not exist")


def _add(user: User, cmd: AddUser, ctx: CommandContext) -> None:
    _admin(ctx)
    if USER_ID.fullmatch(cmd.user_id) is None:
        raise InvalidCommand("user_id", "1 to 64 lower-case letters, digits, '.', '_', '@' or '-'")
    if cmd.locale not in LOCALES:
        raise InvalidCommand("locale", f"must be one of {', '.join(LOCALES)}")
    user.add(cmd.display_name, cmd.role, cmd.team, cmd.password_hash, cmd.locale)


def _change_role(user: User, cmd: ChangeRole, ctx: CommandContext) -> None:
    _admin(ctx)
    _existing(user)
    user.change_role(cmd.role, cmd.team)


def _rename(user: User, cmd: RenameUser, ctx: CommandContext) -> None:
    _self_or_admin(user, ctx)
    user.rename(cmd.display_name)


def _change_password(user: User, cmd: ChangePassword, ctx: CommandContext) -> None:
    _self_or_admin(user, ctx)
    user.change_password(cmd.password_hash)


def _reset_password(user: User, cmd: ResetPassword, ctx: CommandContext) -> None:
    _admin(ctx)
    user.reset_password(cmd.password_hash)


def _choose_locale(user: User, cmd: ChooseLocale, ctx: CommandContext) -> None:
    _self_or_admin(user, ctx)
    if cmd.locale not in LOCALES:
        raise InvalidCommand("locale", f"must be one of {', '.join(LOCALES)}")
    user.choose_locale(cmd.locale)


def _deactivate(user: User, cmd: DeactivateUser, ctx: CommandContext) -> None:
    _admin(ctx)
    user.deactivate()


def _activate(user: User, cmd: ActivateUser, ctx: CommandContext) -> None:
    _admin(ctx)
    user.activate()


def _end_session(user: User, cmd: EndSession, ctx: CommandContext) -> None:
    if ctx.actor != user.id.partition(":")[2] and ctx.role != SYSTEM_ROLE:
        raise Forbidden("a user signs out of their own sessions only")
    user.end_session(cmd.session_hash, cmd.expires_at)


def _record_sign_in(user: User, cmd: RecordSignIn, ctx: CommandContext) -> None:
    _system(ctx)
    user.record_sign_in(cmd.succeeded, ctx.now)


def user_commands() -> CommandTable[User]:
    """The user's table: every row's rule is checked by its action (admins, the user
    themself, or the system), against the actor's tenant (the stream is qualified by it)."""
    t: CommandTable[User] = CommandTable(User, id_field="user_id", tenant_qualified=True)
    t.on(AddUser, Expect.NEW, None, _add)
    t.on(ChangeRole, Expect.EXISTING, None, _change_role)
    t.on(RenameUser, Expect.EXISTING, None, _rename)
    t.on(ChangePassword, Expect.EXISTING, None, _change_password)
    t.on(ResetPassword, Expect.EXISTING, None, _reset_password)
    t.on(ChooseLocale, Expect.EXISTING, None, _choose_locale)
    t.on(DeactivateUser, Expect.EXISTING, None, _deactivate)
    t.on(ActivateUser, Expect.EXISTING, None, _activate)
    t.on(EndSession, Expect.EXISTING, None, _end_session)
    t.on(RecordSignIn, Expect.EXISTING, None, _record_sign_in)
    return t


def system_context(tenant: str, now: datetime, actor: str = "console") -> CommandContext:
    return CommandContext(actor=f"system:{actor}", role=SYSTEM_ROLE, tenant=tenant, now=now)


@dataclass(frozen=True, slots=True)
class SignInResult:
    actor: Actor | None
    """None: refused (wrong name or password, deactivated, locked out: one answer)."""
    locale: str = "en"
    display_name: str = ""
    locked: bool = False
    position: int = 0
    """Of the sign-in's event: My day waits for the directory to have it."""
    generation: int = 0
    """The user's session generation (:attr:`UserState.session_generation`), which the
    session carries."""


async def load_user(bus: CommandBus, tenant: str, user_id: str) -> UserState | None:
    """The user as their stream has it now (the source of truth), None if there is none."""
    repository: Repository[User] = bus.repository(User)
    try:
        user = await repository.load(qualified(tenant, user_id), tenant=tenant)
    except (NotFound, InvalidCommand):
        return None
    return user.state if user.state.added else None


async def password_is(state: UserState, password: str) -> bool:
    """Whether ``password`` is the user's (checked off the event loop: argon2 is slow)."""
    return await asyncio.to_thread(_verify, state.password_hash, password)


def actor_of(state: UserState, user_id: str, tenant: str) -> Actor:
    """The same actor an API token of this user gives (:class:`crm.kernel.auth.Actor`)."""
    return Actor(id=user_id, role=Role(state.role), tenant=tenant, team=state.team)


async def sign_in(
    bus: CommandBus, tenant: str, user_id: str, password: str, now: datetime
) -> SignInResult:
    """Check a password and record the outcome (the lock-out counts failures)."""
    user_id = user_id.strip().lower()
    state = await load_user(bus, tenant, user_id) if USER_ID.fullmatch(user_id) else None
    if state is None:
        await asyncio.to_thread(_verify, _DUMMY_HASH, password)
        return SignInResult(None)
    ok = await asyncio.to_thread(_verify, state.password_hash, password)
    if state.locked(now):
        return SignInResult(None, locked=True)
    if not state.active:
        return SignInResult(None)
    recorded = await bus.execute(RecordSignIn(user_id, ok), system_context(tenant, now))
    if not ok:
        return SignInResult(None)
    actor = actor_of(state, user_id, tenant)
    return SignInResult(
        actor,
        state.locale,
        state.display_name,
        position=recorded.position,
        generation=state.session_generation,
    )


async def sign_in_verified(
    bus: CommandBus, tenant: str, user_id: str, now: datetime
) -> SignInResult:
    """Sign in a user whom an identity provider has authenticated (OpenID Connect: the
    provider checked the password, or whatever it asks): the same refusals as a password
    sign-in for an unknown, deactivated or locked-out user, and the same record."""
    user_id = user_id.strip().lower()
    state = await load_user(bus, tenant, user_id) if USER_ID.fullmatch(user_id) else None
    if state is None or not state.active:
        return SignInResult(None)
    if state.locked(now):
        return SignInResult(None, locked=True)
    recorded = await bus.execute(RecordSignIn(user_id, True), system_context(tenant, now))
    actor = actor_of(state, user_id, tenant)
    return SignInResult(
        actor,
        state.locale,
        state.display_name,
        position=recorded.position,
        generation=state.session_generation,
    )


__all__ = [
    "ActivateUser",
    "AddUser",
    "AppendResult",
    "ChangePassword",
    "ChangeRole",
    "ChooseLocale",
    "DeactivateUser",
    "EndSession",
    "RecordSignIn",
    "RenameUser",
    "ResetPassword",
    "SignInResult",
    "hash_password",
    "password_is",
    "sign_in",
    "sign_in_verified",
    "system_context",
    "user_commands",
]
