"""Reads of the sales pipeline, filtered by what the actor may see.

Leads and opportunities are owned records (:func:`~crm.sales.application.policy.visibility_filter`);
campaigns are visible to everyone who may view sales; a rep sees their own and their team's
targets, a manager with a team that team's targets and those they set, everyone else all.

A lead whose key was deleted (with the customer it was converted into: the customer
context's erasure deletes both) shows its contact as erased: the document may predate the
erasure and no event can reach it (see :mod:`crm.kernel.erasure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from crm.kernel.auth import Actor, Role
from crm.kernel.erasure import redact_erased
from crm.kernel.errors import Forbidden, InvalidCommand, NotFound
from crm.kernel.keys import KeyStore
from crm.kernel.read_store import Document, Page, Query, ReadStore, equal_to, sort_order
from crm.sales.application.policy import Principal, SalesAction, visibility_filter
from crm.sales.domain.leads import Lead
from crm.sales.projections.pipeline_models import CAMPAIGNS, LEADS, OPPORTUNITIES, TARGETS

LEAD_SORTS = {"created_at": "created_at", "updated_at": "updated_at", "name": "name"}
OPPORTUNITY_SORTS = {
    "expected_close_date": "expected_close_date",
    "amount": "amount_sort",
    "updated_at": "updated_at",
    "created_at": "created_at",
}
CAMPAIGN_SORTS = {"starts_on": "starts_on", "created_at": "created_at", "name": "name"}
TARGET_SORTS = {"period": "period", "owner_id": "owner_id", "updated_at": "updated_at"}


@dataclass(frozen=True, slots=True)
class Paging:
    sort: str
    limit: int = 50
    offset: int = 0


def sort_spec(sort: str, allowed: dict[str, str]) -> tuple[tuple[str, int], ...]:
    """``name`` or ``-name`` (descending) among ``allowed``; anything else names the field."""
    name, direction = sort_order(sort)
    if name not in allowed:
        raise InvalidCommand("sort", f"must be one of {sorted(allowed)}, optionally with '-'")
    return ((allowed[name], direction),)


@dataclass(frozen=True, slots=True)
class LeadFilter:
    owner_id: str | None = None
    status: str | None = None
    source: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    owner_id: str | None = None
    stage: str | None = None
    status: Literal["open", "won", "lost"] | None = None
    customer_id: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    status: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class TargetFilter:
    owner_kind: str | None = None
    owner_id: str | None = None
    period: str | None = None


LEAD_PERSONAL_FIELDS = ("name", "email", "phone")
"""The lead's contact in a lead document: personal data sealed with the lead's key."""


def lead_subject(doc: Document) -> str:
    """The data subject of a lead's contact: the lead's stream."""
    return Lead.stream_id_for(doc["id"])


class PipelineQueries:
    def __init__(self, read_store: ReadStore, keys: KeyStore) -> None:
        self.read_store = read_store
        self.keys = keys

    async def _unerased_leads(self, docs: list[Document]) -> list[Document]:
        return await redact_erased(self.keys, docs, lead_subject, LEAD_PERSONAL_FIELDS)

    async def _find(
        self,
        collection: str,
        conditions: list[dict[str, Any]],
        paging: Paging,
        sorts: dict[str, str],
    ) -> Page:
        return await self.read_store.find(
            collection,
            Query(
                filter={"$and": conditions},
                sort=sort_spec(paging.sort, sorts),
                limit=paging.limit,
                offset=paging.offset,
            ),
        )

    async def _owned(self, collection: str, what: str, actor: Actor, id: str) -> Document:
        doc = await self.read_store.get(collection, id)
        principal = Principal.of(actor)
        if not principal.may(SalesAction.VIEW):
            raise Forbidden(f"role {actor.role.value} may not view sales records")
        if (
            doc is None
            or doc["tenant"] != actor.tenant
            or not principal.can_see(doc["owner_id"], doc["team_id"])
        ):
            raise NotFound(f"{what} {id} does not exist")
        return doc

    # -- leads -------------------------------------------------------------------------------

    async def lead(self, actor: Actor, lead_id: str) -> Document:
        [doc] = await self._unerased_leads([await self._owned(LEADS, "lead", actor, lead_id)])
        return doc

    async def leads(self, actor: Actor, flt: LeadFilter, paging: Paging) -> Page:
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(
                owner_id=flt.owner_id,
                status=flt.status,
                source=flt.source,
                campaign_id=flt.campaign_id,
            ),
        ]
        if visible := visibility_filter(actor):
            conditions.append(visible)
        page = await self._find(LEADS, conditions, paging, LEAD_SORTS)
        items = await self._unerased_leads(list(page.items))
        return Page(items, page.total, page.limit, page.offset)

    # -- opportunities -----------------------------------------------------------------------

    async def opportunity(self, actor: Actor, opportunity_id: str) -> Document:
        return await self._owned(OPPORTUNITIES, "opportunity", actor, opportunity_id)

    async def opportunities(self, actor: Actor, flt: OpportunityFilter, paging: Paging) -> Page:
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(
                owner_id=flt.owner_id,
                stage=flt.stage,
                status=flt.status,
                customer_id=flt.customer_id,
                campaign_id=flt.campaign_id,
            ),
        ]
        if visible := visibility_filter(actor):
            conditions.append(visible)
        return await self._find(OPPORTUNITIES, conditions, paging, OPPORTUNITY_SORTS)

    # -- campaigns ---------------------------------------------------------------------------

    async def campaign(self, actor: Actor, campaign_id: str) -> Document:
        visibility_filter(actor)  # refuses roles that may not view sales at all
        doc = await self.read_store.get(CAMPAIGNS, campaign_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"campaign {campaign_id} does not exist")
        return doc

    async def campaigns(self, actor: Actor, flt: CampaignFilter, paging: Paging) -> Page:
        visibility_filter(actor)
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(status=flt.status, channel=flt.channel),
        ]
        return await self._find(CAMPAIGNS, conditions, paging, CAMPAIGN_SORTS)

    # -- targets -----------------------------------------------------------------------------

    @staticmethod
    def _targets_visible(actor: Actor) -> dict[str, Any]:
        p = Principal.of(actor)
        if not p.may(SalesAction.VIEW):
            raise Forbidden(f"role {p.role.value} may not view sales records")
        own = {"$and": [{"owner_kind": "rep"}, {"owner_id": p.id}]}
        if p.role is Role.SALES_REP:
            if p.team is None:
                return own
            return {"$or": [own, {"$and": [{"owner_kind": "team"}, {"owner_id": p.team}]}]}
        if p.scoped_to_team:
            return {"$or": [own, {"team_id": p.team}, {"created_by": p.id}]}
        return {}

    async def targets(self, actor: Actor, flt: TargetFilter, paging: Paging) -> Page:
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(owner_kind=flt.owner_kind, owner_id=flt.owner_id, period=flt.period),
        ]
        if visible := self._targets_visible(actor):
            conditions.append(visible)
        return await self._find(TARGETS, conditions, paging, TARGET_SORTS)

    async def target(self, actor: Actor, target_id: str) -> Document:
        conditions: list[dict[str, Any]] = [{"tenant": actor.tenant}, {"id": target_id}]
        if visible := self._targets_visible(actor):
            conditions.append(visible)
        page = await self.read_store.find(TARGETS, Query(filter={"$and": conditions}, limit=1))
        if not page.items:
            raise NotFound(f"target {target_id} does not exist")
        return page.items[0]
