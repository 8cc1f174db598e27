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

from enum import Enum
from typing import Any

from crm.analytics.projections.activity_models import ActivityDoc
from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import Forbidden
from crm.kernel.redaction import REDACTED as REDACTED
from crm.kernel.redaction import PersonalFields

CUSTOMER_PERSONAL = PersonalFields(contact=("name", "email"))
"""The personal fields of a customer's 360° view, list row, warning row and activity."""


class AnalyticsAction(Enum):
    CUSTOMERS = "read the customer analytics"
    """The 360° view, the customer list, churn warnings, a customer's activity."""
    CHURN_REPORT = "read the churn report"
    REPORTS = "read reports"
    FUNNEL = "read the sales funnel"
    SERVICE_REPORT = "read the service report"


ROLE_ACTIONS: dict[Role, frozenset[AnalyticsAction]] = {
    Role.ADMIN: frozenset(AnalyticsAction),
    Role.MANAGER: frozenset(AnalyticsAction),
    Role.ANALYST: frozenset(AnalyticsAction),
    Role.SALES_REP: frozenset({AnalyticsAction.CUSTOMERS, AnalyticsAction.FUNNEL}),
    Role.AGENT: frozenset({AnalyticsAction.SERVICE_REPORT}),
}


def _sees(who: Principal, scope: Scope) -> bool:
    """A rep sees the analytics of the customers they own; everyone else the tenant's."""
    return who.role is not Role.SALES_REP or scope.owner_id == who.id


def _visible(who: Principal) -> dict[str, Any]:
    return {"owner_id": who.id} if who.role is Role.SALES_REP else {}


POLICY = AccessPolicy(
    "analytics", ROLE_ACTIONS, sees=_sees, visible=_visible, view=AnalyticsAction.CUSTOMERS
)
"""The analytics rules in the kernel's one shape (``POLICY.authorize(who, action, what=...)``);
the functions below are the scopes the queries apply on top of it."""

_TENANT = "tenant"


def customer_reader(actor: Actor) -> None:
    POLICY.authorize(actor, AnalyticsAction.CUSTOMERS, what="tenant", whole_action=True)


def churn_report_reader(actor: Actor) -> None:
    POLICY.authorize(actor, AnalyticsAction.CHURN_REPORT, what="tenant", whole_action=True)


def customer_scope(actor: Actor) -> dict[str, Any]:
    """The read-store filter of the customers ``actor`` may see."""
    return {_TENANT: actor.tenant, **POLICY.visibility_filter(actor)}


def report_reader(actor: Actor) -> None:
    POLICY.authorize(actor, AnalyticsAction.REPORTS, what="tenant", whole_action=True)


def funnel_scope(
    actor: Actor, owner_id: str | None, team_id: str | None
) -> tuple[str | None, str | None]:
    """The owner and team filters an actor's funnel is bound to."""
    POLICY.authorize(actor, AnalyticsAction.FUNNEL, what="tenant", whole_action=True)
    if actor.role is Role.MANAGER and actor.team is not None:
        if team_id not in (None, actor.team):
            raise Forbidden(f"a manager of team {actor.team} sees that team's funnel only")
        return owner_id, actor.team
    if actor.role is Role.SALES_REP:
        if owner_id not in (None, actor.id):
            raise Forbidden("a sales rep sees their own funnel only")
        return actor.id, team_id
    return owner_id, team_id


def activity_visible(actor: Actor, doc: ActivityDoc) -> bool:
    """A customer's activity document is the actor's to read: their tenant's, and for a sales
    rep a customer they own or one in the shared pool (whose activity a rep claiming from the
    pool needs)."""
    if doc["tenant"] != actor.tenant:
        return False
    owner = doc["owner_id"]
    return owner is None or POLICY.sees(Principal.of(actor), Scope(owner_id=owner))


def service_scope(actor: Actor, group_id: str | None) -> str | None:
    """The support group an actor's service report is bound to (None: the whole tenant)."""
    POLICY.authorize(actor, AnalyticsAction.SERVICE_REPORT, what="tenant", whole_action=True)
    if actor.role in (Role.ANALYST, Role.ADMIN) or (
        actor.role is Role.MANAGER and actor.team is None
    ):
        return group_id
    if actor.team is None:
        raise Forbidden("an agent without a support group has no service report to read")
    if group_id not in (None, actor.team):
        raise Forbidden(f"{actor.role.value}s of {actor.team} see that group's service report")
    return actor.team
