"""Request and response bodies of the ticket half's routes. Unknown fields are refused and
enum fields take only their values, so a typo is a 422 naming the field; time stamps in
responses are UTC ISO strings."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from crm.events.service_desk import (
    ContractLevel,
    TicketChannel,
    TicketKind,
    TicketPriority,
)
from crm.kernel.http.body import Body as Request
from crm.service_desk.domain.sla import MAX_TARGET_MINUTES

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Slug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
"""A calendar id chosen by the tenant (policies name it), safe in a URL."""


# -- tickets -------------------------------------------------------------------------------------


class NewTicket(Request):
    customer_id: Id
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority
    subject: Text
    description: Body
    custom: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="The tenant's custom fields of tickets by key "
        "(GET /custom-fields?entity=ticket)",
    )


class TicketPatch(Request):
    custom: dict[str, Any] = Field(
        min_length=1,
        max_length=100,
        description="Custom values to set by key (null or blank clears one); the others stay",
    )


class Assignment(Request):
    """To an agent, a group, or an agent of a group; a ticket already assigned is reassigned."""

    agent_id: Id | None = None
    group_id: Id | None = None
    reason: Reason | None = Field(default=None, description="Why it is reassigned")


class Escalation(Request):
    reason: Reason
    to_manager: bool = Field(
        default=False, description="To a manager instead of up one support tier"
    )
    manager_id: Id | None = None


class NewComment(Request):
    body: Body
    public: bool = Field(description="True: a reply the customer sees; False: an internal note")


class ArticleLink(Request):
    article_id: Id


class Resolution(Request):
    resolution: Body
    kb_article_id: Id | None = Field(
        default=None, description="The knowledge-base article that solved it"
    )


class Reopening(Request):
    reason: Reason


class Satisfaction(Request):
    score: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class FollowUp(Request):
    note: Body


# -- configuration -------------------------------------------------------------------------------


class HoursIn(Request):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    start: time
    end: time = Field(description="00:00 is midnight at the end of the day")


class NewCalendar(Request):
    id: Slug | None = Field(default=None, description="Default: a new UUID")
    name: Text
    time_zone: Text = Field(description="An IANA zone, e.g. Europe/Berlin")
    hours: Annotated[list[HoursIn], Field(min_length=1, max_length=100)]
    holidays: Annotated[list[date], Field(default_factory=list, max_length=1000)]


class TargetsIn(Request):
    first_response_minutes: int = Field(
        gt=0, le=MAX_TARGET_MINUTES, description="business minutes, at most a year's"
    )
    resolution_minutes: int = Field(
        gt=0, le=MAX_TARGET_MINUTES, description="business minutes, at most a year's"
    )


class NewPolicy(Request):
    """Define the policy of a contract level (``level`` null: the default policy) or revise
    it if it exists. Targets for all four priorities, in business minutes of ``calendar_id``."""

    level: ContractLevel | None = None
    name: Text
    targets: dict[TicketPriority, TargetsIn]
    calendar_id: Id = "default"
    follow_up_days: int = Field(default=3, ge=1, le=365)
    follow_up_escalation_days: int = Field(default=2, ge=0, le=365)


class NewContract(Request):
    customer_id: Id
    level: ContractLevel
    starts_on: date
    ends_on: date | None = None


class ContractChange(Request):
    level: ContractLevel


class ContractEnd(Request):
    ended_on: date | None = Field(default=None, description="Default: today")
    reason: Reason | None = None
