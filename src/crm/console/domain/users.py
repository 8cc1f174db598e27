"""A user of a tenant's console: display name, role, team, password hash, language, and the
state of the lock-out. Pure: no I/O, no clock (time is passed in)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Self

from crm.events import DomainEvent
from crm.events.users import (
    ROLES,
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
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, RuleViolated

MAX_FAILURES = 5
"""Consecutive failed sign-ins that lock a user out..."""
LOCK_OUT = timedelta(minutes=15)
"""...for this long (a correct password is refused meanwhile)."""
SESSION_HASH = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class UserState:
    added: bool = False
    display_name: str = ""
    role: str = ""
    team: str | None = None
    password_hash: str = ""
    locale: str = "en"
    active: bool = False
    failures: int = 0
    locked_until: datetime | None = None
    must_change_password: bool = False
    """An admin reset the password: the user must choose their own at their next sign-in."""
    session_generation: int = 0
    """How many times every session of the user was ended at once (a password changed or
    reset, the user deactivated): a session carries the generation it was signed in at, and
    one of an older generation is refused (after a reactivation too)."""

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case UserAdded():
                return replace(
                    self,
                    added=True,
                    display_name=event.display_name,
                    role=event.role,
                    team=event.team,
                    password_hash=event.password_hash,
                    locale=event.locale,
                    active=True,
                )
            case UserRoleChanged():
                return replace(self, role=event.role, team=event.team)
            case UserRenamed():
                return replace(self, display_name=event.display_name)
            case PasswordChanged():
                return replace(
                    self,
                    password_hash=event.password_hash,
                    failures=0,
                    locked_until=None,
                    must_change_password=False,
                    session_generation=self.session_generation + 1,
                )
            case PasswordReset():
                return replace(
                    self,
                    password_hash=event.password_hash,
                    failures=0,
                    locked_until=None,
                    must_change_password=True,
                    session_generation=self.session_generation + 1,
                )
            case LocaleChosen():
                return replace(self, locale=event.locale)
            case UserDeactivated():
                return replace(self, active=False, session_generation=self.session_generation + 1)
            case UserActivated():
                return replace(self, active=True, failures=0, locked_until=None)
            case SignInFailed():
                return replace(self, failures=event.failures, locked_until=event.locked_until)
            case SignedIn():
                return replace(self, failures=0, locked_until=None)
        return self

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


class User(Aggregate[UserState]):
    category = "user"

    @classmethod
    def initial_state(cls) -> UserState:
        return UserState()

    def add(
        self, display_name: str, role: str, team: str | None, password_hash: str, locale: str
    ) -> None:
        if self.state.added:
            raise RuleViolated(f"user {self.id} exists already", code="user_exists")
        _check_role(role)
        if not display_name.strip():
            raise InvalidCommand("display_name", "must not be blank")
        self.trigger(
            UserAdded(
                display_name=display_name.strip(),
                role=role,
                team=team or None,
                password_hash=password_hash,
                locale=locale,
            )
        )

    def change_role(self, role: str, team: str | None) -> None:
        _check_role(role)
        if (role, team or None) != (self.state.role, self.state.team):
            self.trigger(UserRoleChanged(role=role, team=team or None))

    def rename(self, display_name: str) -> None:
        if not display_name.strip():
            raise InvalidCommand("display_name", "must not be blank")
        if display_name.strip() != self.state.display_name:
            self.trigger(UserRenamed(display_name=display_name.strip()))

    def change_password(self, password_hash: str) -> None:
        self.trigger(PasswordChanged(password_hash=password_hash))

    def reset_password(self, temporary_hash: str) -> None:
        """A temporary password an admin gives: it signs the user in once, to choose their
        own (a lock-out ends with it)."""
        self.trigger(PasswordReset(password_hash=temporary_hash))

    def choose_locale(self, locale: str) -> None:
        if locale != self.state.locale:
            self.trigger(LocaleChosen(locale=locale))

    def deactivate(self) -> None:
        if self.state.active:
            self.trigger(UserDeactivated())

    def activate(self) -> None:
        if not self.state.active:
            self.trigger(UserActivated())

    def end_session(self, session_hash: str, expires_at: datetime) -> None:
        """The user signed out of the session named by ``session_hash`` (a hash of its id)."""
        if not SESSION_HASH.fullmatch(session_hash):
            raise InvalidCommand("session_hash", "must be 32 lower-case hexadecimal digits")
        self.trigger(SessionEnded(session_hash=session_hash, expires_at=expires_at))

    def record_sign_in(self, succeeded: bool, now: datetime) -> None:
        """A password check's outcome: a failure counts (the fifth in a row locks the user
        out for :data:`LOCK_OUT`); a success starts the count again (and is when the user
        was last seen: My day shows what changed since the sign-in before)."""
        if succeeded:
            self.trigger(SignedIn())
            return
        failures = self.state.failures + 1
        locked = now + LOCK_OUT if failures >= MAX_FAILURES else None
        self.trigger(SignInFailed(failures=failures, locked_until=locked))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidCommand("role", f"must be one of {', '.join(ROLES)}")
