"""Events of the user directory: who may sign in to a tenant's console, as whom, and the
teams they belong to.

Streams: ``user-<tenant>:<user id>`` and ``team-<tenant>:<team id>`` (tenant-qualified,
:mod:`crm.kernel.tenancy`), one per user and per team, written by ``crm users``, the console
and ``/users``, ``/teams`` through the command bus. A password is never in an event:
:class:`UserAdded` and :class:`PasswordChanged` carry its argon2 hash only. Sign-in failures
are events too, so the lock-out holds in every process and is audited.

Part of the published language like every other event (registered when :mod:`crm.events` is
imported, their schemas in ``schemas/events``), so a tool reading the log (an audit, a
backup's rebuild) decodes them without the console; no context's relay publishes them to a
topic (:func:`crm.platform.asyncapi.event_channel`), as no relay publishes ``tenant.*``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from crm.events.base import DomainEvent
from crm.events.registry import event

ROLES = ("admin", "manager", "sales_rep", "agent", "analyst")


@event("user.added", version=1)
class UserAdded(DomainEvent):
    display_name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|manager|sales_rep|agent|analyst)$")
    team: str | None = Field(default=None, max_length=100)
    password_hash: str = Field(min_length=20, max_length=500)
    locale: str = Field(default="en", pattern="^(en|zh-CN)$")


@event("user.role_changed", version=1)
class UserRoleChanged(DomainEvent):
    role: str = Field(pattern="^(admin|manager|sales_rep|agent|analyst)$")
    team: str | None = Field(default=None, max_length=100)


@event("user.renamed", version=1)
class UserRenamed(DomainEvent):
    display_name: str = Field(min_length=1, max_length=200)


@event("user.password_changed", version=1)
class PasswordChanged(DomainEvent):
    password_hash: str = Field(min_length=20, max_length=500)


@event("user.locale_chosen", version=1)
class LocaleChosen(DomainEvent):
    locale: str = Field(pattern="^(en|zh-CN)$")


@event("user.deactivated", version=1)
class UserDeactivated(DomainEvent):
    """From now on the user cannot sign in, and their open sessions are refused."""


@event("user.activated", version=1)
class UserActivated(DomainEvent):
    pass


@event("user.sign_in_failed", version=1)
class SignInFailed(DomainEvent):
    failures: int = Field(ge=1)
    """Consecutive failures, this one included."""
    locked_until: datetime | None = None
    """Set when this failure locks the user out."""


@event("user.signed_in", version=1)
class SignedIn(DomainEvent):
    """A successful sign-in: the count of failures starts again; its time is when the user
    was last seen."""


@event("user.password_reset", version=1)
class PasswordReset(DomainEvent):
    """An admin gave the user a temporary password: they sign in with it and must choose
    their own (:class:`PasswordChanged`) before any other page opens."""

    password_hash: str = Field(min_length=20, max_length=500)


@event("user.session_ended", version=1)
class SessionEnded(DomainEvent):
    """The user signed out of one console session: every process refuses its cookie from now
    on (the cookie is signed, so without this record another replica would accept a copy
    until it expires). The session is named by a hash of its id, never the id itself."""

    session_hash: str = Field(pattern="^[0-9a-f]{32}$")
    expires_at: datetime
    """When the session would have expired anyway: the record is needed until then only."""


# -- teams ------------------------------------------------------------------------------------
# Streams ``team-<tenant>:<team id>``. A team's id is the name users already carry as their
# ``team`` (``north``, a support group): a team in use before it had a record keeps working,
# and recording it later gives it a display name and a manager.


@event("team.created", version=1)
class TeamCreated(DomainEvent):
    name: str = Field(min_length=1, max_length=200)


@event("team.renamed", version=1)
class TeamRenamed(DomainEvent):
    name: str = Field(min_length=1, max_length=200)


@event("team.manager_assigned", version=1)
class TeamManagerAssigned(DomainEvent):
    """The team's manager (a user of the team with the manager or admin role); None: none."""

    manager_id: str | None = Field(default=None, max_length=64)
