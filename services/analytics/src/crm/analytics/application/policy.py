"""Who reads what in analytics (object-level rules here, not in a UI).

* Customer analytics (the 360° view, the customer list, churn warnings): ``analyst``,
  ``manager``, ``admin`` see every customer of their tenant; analysts work on behaviour, not
  on people, so the personal fields (``name``, ``email``: :data:`CUSTOMER_PERSONAL`) read as
  :data:`REDACTED`, by the kernel's one rule for every context (:mod:`crm.kernel.redaction`).
  ``sales_rep``: only the customers they own (others answer 404, as if absent). ``agent``: none
  of it (403); the ticket views give agents the customer context they need.
* The churn report is about the whole customer base: not for sales reps (403).
* Reports: analysts, managers and admins read every report of their tenant; any other role
  gets 403. On the funnel a manager with a team sees their team's records only, and a sales
  rep their own.
* The service report is also the agents': an agent reads the KPIs of their own support group
  (the ``team`` claim of their token; none: 403), a manager with a team that team's group,
  and analysts, admins and managers without a team the whole tenant (or one ``group_id``).
"""

from __future__ import annotations

from typing import Any

from crm.analytics.projections.activity_models import ActivityDoc
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden
from crm.kernel.redaction import REDACTED as REDACTED
from crm.kernel.redaction import PersonalFields

CUSTOMER_PERSONAL = PersonalFields(contact=("name", "email"))
"""The personal fields of a customer's 360° view, list row, warning row and activity."""
CUSTOMER_READERS = frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.SALES_REP})
REPORT_READERS = frozenset({Role.ANALYST, Role.MANAGER, Role.ADMIN})


def customer_reader(actor: Actor) -> None:
    if actor.role not in CUSTOMER_READERS:
        raise Forbidden(f"role {actor.role.value} may not read the customer analytics")


def churn_report_reader(actor: Actor) -> None:
    customer_reader(actor)
    if actor.role is Role.SALES_REP:
        raise Forbidden("the churn report covers the whole customer base: analysts, managers")


def customer_scope(actor: Actor) -> dict[str, Any]:
    """The read-store filter of the customers ``actor`` may see."""
    scope: dict[str, Any] = {"tenant": actor.tenant}
    if actor.role is Role.SALES_REP:
        scope["owner_id"] = actor.id
    return scope


def report_reader(actor: Actor) -> None:
    if actor.role not in REPORT_READERS:
        raise Forbidden(f"role {actor.role.value} may not read reports")


def funnel_scope(
    actor: Actor, owner_id: str | None, team_id: str | None
) -> tuple[str | None, str | None]:
    """The owner and team filters an actor's funnel is bound to."""
    if actor.role in (Role.ANALYST, Role.ADMIN):
        return owner_id, team_id
    if actor.role is Role.MANAGER:
        if actor.team is None:
            return owner_id, team_id
        if team_id not in (None, actor.team):
            raise Forbidden(f"a manager of team {actor.team} sees that team's funnel only")
        return owner_id, actor.team
    if actor.role is Role.SALES_REP:
        if owner_id not in (None, actor.id):
            raise Forbidden("a sales rep sees their own funnel only")
        return actor.id, team_id
    raise Forbidden(f"role {actor.role.value} may not read the sales funnel")


def activity_visible(actor: Actor, doc: ActivityDoc) -> bool:
    """A customer's activity document is the actor's to read: their tenant's, and for a sales
    rep a customer they own or one in the shared pool."""
    if doc["tenant"] != actor.tenant:
        return False
    return not (actor.role is Role.SALES_REP and doc["owner_id"] not in (None, actor.id))


def service_scope(actor: Actor, group_id: str | None) -> str | None:
    """The support group an actor's service report is bound to (None: the whole tenant)."""
    if actor.role in (Role.ANALYST, Role.ADMIN) or (
        actor.role is Role.MANAGER and actor.team is None
    ):
        return group_id
    if actor.role in (Role.AGENT, Role.MANAGER):
        if actor.team is None:
            raise Forbidden("an agent without a support group has no service report to read")
        if group_id not in (None, actor.team):
            raise Forbidden(f"{actor.role.value}s of {actor.team} see that group's service report")
        return actor.team
    raise Forbidden(f"role {actor.role.value} may not read the service report")
