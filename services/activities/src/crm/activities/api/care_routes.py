"""Routes of the tenant's customer-care rules: GET and PUT /care/rules."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from crm.activities.application.care import RulesOf, SetCareRules
from crm.activities.application.policy import POLICY
from crm.events.activities import CareRule
from crm.kernel.auth import Actor
from crm.kernel.http import Authenticator, CommandAccepted, Commands, accepted
from crm.kernel.http.body import Body
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime


class CareRulesBody(Body):
    rules: Annotated[list[CareRule], Field(max_length=10)]
    time_zone: Annotated[str, Field(max_length=60, description="IANA, e.g. Asia/Shanghai")] = "UTC"
    pool_team_id: Annotated[str | None, Field(max_length=100)] = None
    """The team whose managers answer for customers in the shared pool."""


class CareRulesView(BaseModel):
    rules: list[CareRule]
    time_zone: str
    pool_team_id: str | None


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    api = api_router(prefix="/care", tags=["activities: customer care"])
    rules_of = RulesOf(runtime)
    Ctx = Annotated[CommandContext, Depends(Commands(runtime, authenticate).context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806

    @api.get("/rules", response_model=CareRulesView)
    async def get_rules(actor: Who) -> dict[str, Any]:
        """The tenant's rules (the defaults until a manager or an admin sets them)."""
        POLICY.visibility_filter(actor)
        settings = await rules_of.settings(actor.tenant)
        return {
            "rules": list(settings.rules),
            "time_zone": settings.time_zone,
            "pool_team_id": settings.pool_team_id,
        }

    @api.put("/rules", response_model=CommandAccepted)
    async def set_rules(body: CareRulesBody, ctx: Ctx, response: Response) -> CommandAccepted:
        """Replace the tenant's rules, time zone and pool team (managers and admins)."""
        team = body.pool_team_id.strip() if body.pool_team_id else None
        command = SetCareRules(ctx.tenant, tuple(body.rules), body.time_zone.strip(), team or None)
        return accepted(await runtime.commands.execute(command, ctx), response)

    return api
