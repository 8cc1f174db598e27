"""Reads of the sales pipeline, filtered by what the actor may see.

Leads and opportunities are owned records (the policy's visibility filter);
campaigns are visible to everyone who may view sales; a rep sees their own and their team's
targets, a manager with a team that team's targets (a team target of the team, a rep target
set under it: the same rule the target commands apply), everyone else all.

A lead's contact (name, e-mail address, phone, title: :data:`LEAD_PERSONAL`) is shown by the
kernel's one rule for personal data (:mod:`crm.kernel.redaction`): an analyst reads it
redacted and may not sort leads by name; reps, agents, managers and admins see it.

A lead whose key was deleted (with the customer it was converted into: the customer
context's erasure deletes both) shows its contact as erased: the document may predate the
erasure and no event can reach it (see :mod:`crm.kernel.erasure`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from crm.events import ERASED
from crm.events.sales import StageDefinition
from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.custom_fields import personal_custom, without_personal
from crm.kernel.directory import Customers, records_of
from crm.kernel.erasure import redact_erased
from crm.kernel.errors import NotFound
from crm.kernel.http import checked_sort
from crm.kernel.keys import KeyStore
from crm.kernel.read_store import Document, Page, Query, ReadStore, equal_to, sort_order
from crm.kernel.redaction import PersonalFields, PersonalKind, refuse_unless_sees
from crm.kernel.repository import Repository
from crm.sales.application.policy import POLICY, SalesAction, scope_of
from crm.sales.domain.leads import Lead
from crm.sales.domain.pipeline import DEFAULT_PIPELINE, Pipeline
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
    """``name`` or ``-name`` (descending) among ``allowed`` (API name: document field);
    anything else is a 422 naming the parameter."""
    name, direction = sort_order(checked_sort(sort, allowed))
    return ((allowed[name], direction),)


@dataclass(frozen=True, slots=True)
class LeadFilter:
    owner_id: str | None = None
    status: str | None = None
    source: str | None = None
    campaign_id: str | None = None
    customer_id: str | None = None
    """The customer the lead was converted into or for."""
    custom: tuple[dict[str, Any], ...] = ()
    """Conditions on the lead's custom fields (:func:`crm.kernel.custom_fields.custom_filters`)."""
    custom_sorts: tuple[tuple[str, str], ...] = ()
    """Sorts by custom fields allowed beside :data:`LEAD_SORTS` (API name, document path)."""


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    owner_id: str | None = None
    stage: str | None = None
    status: Literal["open", "won", "lost"] | None = None
    customer_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    """The team the opportunity was opened for (within what the reader may see)."""
    custom: tuple[dict[str, Any], ...] = ()
    """Conditions on the opportunity's custom fields (see :class:`LeadFilter`)."""
    custom_sorts: tuple[tuple[str, str], ...] = ()
    """Sorts by custom fields allowed beside :data:`OPPORTUNITY_SORTS`."""


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

LEAD_PERSONAL = PersonalFields(contact=(*LEAD_PERSONAL_FIELDS, "title"))
"""The lead's contact as the redaction rule sees it: who they are and how to reach them."""


def lead_subject(doc: Document) -> str:
    """The data subject of a lead's contact: the lead's stream."""
    return Lead.stream_id_for(doc["id"])


def customer_subject(doc: Document) -> str:
    """The data subject of an opportunity's personal custom values: its customer."""
    return f"customer-{doc['customer_id']}"


@dataclass(frozen=True, slots=True)
class TenantPipeline:
    stages: tuple[StageDefinition, ...]
    configured: bool
    """False: the default pipeline (no manager configured one yet)."""
    version: int
    """Of the pipeline's stream, -1 before it is configured (the ETag)."""


class PipelineQueries:
    def __init__(
        self,
        read_store: ReadStore,
        keys: KeyStore,
        pipelines: Repository[Pipeline],
        customers: Customers | None = None,
    ) -> None:
        """``customers``: the context's directory, through which the leads and opportunities
        of a customer include those of the customers merged into them."""
        self.read_store = read_store
        self.keys = keys
        self.pipelines = pipelines
        self.customers = customers

    async def _unerased_leads(self, docs: list[Document]) -> list[Document]:
        shown = await redact_erased(self.keys, docs, lead_subject, LEAD_PERSONAL_FIELDS)
        # an erased lead's personal custom values go with its contact
        return [without_personal(d) if d.get("name") == ERASED else d for d in shown]

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

    async def _owned(self, collection: str, noun: str, actor: Actor, id: str) -> Document:
        doc = await self.read_store.get(collection, id)
        what = f"{noun} {id}"
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"{what} does not exist")
        scope = scope_of(doc["owner_id"], doc["team_id"])
        POLICY.authorize(actor, SalesAction.VIEW, what=what, scope=scope)
        return doc

    # -- leads -------------------------------------------------------------------------------

    async def lead(self, actor: Actor, lead_id: str) -> Document:
        [doc] = await self._unerased_leads([await self._owned(LEADS, "lead", actor, lead_id)])
        return LEAD_PERSONAL.shown_to(actor, doc)

    async def leads(self, actor: Actor, flt: LeadFilter, paging: Paging) -> Page:
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(
                owner_id=flt.owner_id,
                status=flt.status,
                source=flt.source,
                campaign_id=flt.campaign_id,
            ),
            *await records_of(self.customers, actor.tenant, flt.customer_id),
            *flt.custom,
        ]
        if visible := POLICY.visibility_filter(actor):
            conditions.append(visible)
        if sort_order(paging.sort)[0] == "name":
            refuse_unless_sees(actor, PersonalKind.CONTACT, "sort leads by name")
        page = await self._find(LEADS, conditions, paging, {**LEAD_SORTS, **dict(flt.custom_sorts)})
        items = LEAD_PERSONAL.all_shown_to(actor, await self._unerased_leads(list(page.items)))
        return Page(items, page.total, page.limit, page.offset)

    # -- opportunities -----------------------------------------------------------------------

    async def _shown_opportunities(self, actor: Actor, docs: list[Document]) -> list[Document]:
        """The personal custom values (the customer's contact data) erased with the customer
        and redacted for a role that does not see contact data."""
        paths = personal_custom(docs)
        if not paths:
            return docs
        shown = await redact_erased(self.keys, docs, customer_subject, paths)
        return PersonalFields(contact=paths).all_shown_to(actor, shown)

    async def opportunity(self, actor: Actor, opportunity_id: str) -> Document:
        doc = await self._owned(OPPORTUNITIES, "opportunity", actor, opportunity_id)
        [shown] = await self._shown_opportunities(actor, [doc])
        return shown

    async def opportunities(self, actor: Actor, flt: OpportunityFilter, paging: Paging) -> Page:
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(
                owner_id=flt.owner_id,
                stage=flt.stage,
                status=flt.status,
                campaign_id=flt.campaign_id,
                team_id=flt.team_id,
            ),
            *await records_of(self.customers, actor.tenant, flt.customer_id),
            *flt.custom,
        ]
        if visible := POLICY.visibility_filter(actor):
            conditions.append(visible)
        sorts = {**OPPORTUNITY_SORTS, **dict(flt.custom_sorts)}
        page = await self._find(OPPORTUNITIES, conditions, paging, sorts)
        items = await self._shown_opportunities(actor, list(page.items))
        return Page(items, page.total, page.limit, page.offset)

    # -- campaigns ---------------------------------------------------------------------------

    async def campaign(self, actor: Actor, campaign_id: str) -> Document:
        POLICY.visibility_filter(actor)  # refuses roles that may not view sales at all
        doc = await self.read_store.get(CAMPAIGNS, campaign_id)
        if doc is None or doc["tenant"] != actor.tenant:
            raise NotFound(f"campaign {campaign_id} does not exist")
        return doc

    async def campaigns(self, actor: Actor, flt: CampaignFilter, paging: Paging) -> Page:
        POLICY.visibility_filter(actor)
        conditions = [
            {"tenant": actor.tenant},
            *equal_to(status=flt.status, channel=flt.channel),
        ]
        return await self._find(CAMPAIGNS, conditions, paging, CAMPAIGN_SORTS)

    # -- targets -----------------------------------------------------------------------------

    @staticmethod
    def _targets_visible(actor: Actor) -> dict[str, Any]:
        POLICY.visibility_filter(actor)  # refuses roles that may not view sales at all
        p = Principal.of(actor)
        own = {"$and": [{"owner_kind": "rep"}, {"owner_id": p.id}]}
        if p.role is Role.SALES_REP:
            if p.team is None:
                return own
            return {"$or": [own, {"$and": [{"owner_kind": "team"}, {"owner_id": p.team}]}]}
        if p.role is Role.MANAGER and p.team is not None:
            return {"$or": [own, {"team_id": p.team}]}
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

    # -- the pipeline ------------------------------------------------------------------------

    async def pipeline(self, actor: Actor) -> TenantPipeline:
        """Read from the pipeline's stream, not a read model: it is one small aggregate per
        tenant, and a stage move right after a change must see the change."""
        POLICY.visibility_filter(actor)
        try:
            pipeline = await self.pipelines.load(actor.tenant, tenant=actor.tenant)
        except NotFound:
            return TenantPipeline(DEFAULT_PIPELINE.stages, configured=False, version=-1)
        configured = pipeline.state.configured is not None
        return TenantPipeline(pipeline.definition.stages, configured, version=pipeline.version)
