"""A company's pipeline of the past as imports: its leads (``leads``) and its opportunities
(``opportunities``), each dated by its own date.

**Leads.** A row captures one lead (``CaptureLead``): ``name`` (required), ``email``,
``phone`` (to E.164, with the import's region), ``company``, ``title``, ``source``, the
``date`` it was captured (default now) and its ``status``: ``open`` (the default),
``qualified`` (``已确认``) or ``disqualified`` (``无效``) with its ``reason`` (default "imported
as disqualified"). A lead with the e-mail or phone of a lead already there, or of an earlier
row, is a duplicate (compared as the customer check compares them: case, spaces, number
format), never a second lead. Converted leads are not imported as leads: their customers and
opportunities are.

**Opportunities.** A row opens one for an existing customer (``customer`` id or ``email``):
its name (``opportunity``, required), ``amount`` (required, with its ``currency`` or the
import's), ``close_date`` (required: the expected close, or the day it was won or lost),
``stage`` (a stage of the tenant's pipeline, by name in any case; default the first), the
``date`` it was opened (default the close date's, at the latest now) and its ``status``:
``open``, ``won`` (``赢单``) or ``lost`` (``输单``) with its ``reason``. Won and lost are recorded
on the close date. An opportunity's id is derived from its customer, name and opening date, so
the same file imported again is a duplicate of itself.

The dry run plays each row on the domain's aggregates in memory (the pipeline read once per
pass), so what the domain would refuse (a stage the pipeline has not, a lost one without a
reason) is the row's error, naming the column, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import uuid5

from crm.customer.domain.duplicates import email_key, phone_key
from crm.events.custom_fields import FieldEntity
from crm.events.imports import ImportKind
from crm.events.money import Money
from crm.events.sales import StageOutcome
from crm.kernel.custom_fields import CustomFieldsState, check_values
from crm.kernel.errors import CrmError, InvalidCommand
from crm.kernel.read_store import find_all
from crm.kernel.repository import CLOCK_SKEW
from crm.platform.imports import values
from crm.platform.imports.customers import RowError
from crm.platform.imports.interactions import customer_named
from crm.platform.imports.mapping import ANY_CUSTOM, CUSTOM, cells_by_field, require_columns
from crm.platform.imports.run import FileImport, RowOutcome, Step
from crm.platform.imports.spool import RowsByKey
from crm.sales.application.catalogue import NAMESPACE
from crm.sales.application.lead_commands import CaptureLead, DisqualifyLead, QualifyLead
from crm.sales.application.opportunity_commands import (
    LoseOpportunity,
    OpenOpportunity,
    WinOpportunity,
)
from crm.sales.application.pipeline_commands import tenant_pipeline
from crm.sales.domain.leads import Lead
from crm.sales.domain.opportunities import Opportunity
from crm.sales.domain.pipeline import Pipeline, PipelineDefinition
from crm.sales.projections.pipeline_models import LEADS, LeadsProjection

LEAD_FIELDS = (
    "name",
    "email",
    "phone",
    "company",
    "title",
    "source",
    "date",
    "status",
    "reason",
    ANY_CUSTOM,
)
"""What a leads file may fill: ``name`` is required; ``custom.<key>`` columns fill the
tenant's custom fields of leads."""

OPPORTUNITY_FIELDS = (
    "opportunity",
    "customer",
    "email",
    "amount",
    "currency",
    "close_date",
    "stage",
    "date",
    "status",
    "reason",
    ANY_CUSTOM,
)
"""What an opportunities file may fill: ``opportunity``, the customer (``customer`` or
``email``), ``amount`` and ``close_date`` are required; ``custom.<key>`` columns fill the
tenant's custom fields of opportunities."""

LEAD_STATUSES: Mapping[str, str] = {
    "open": "open",
    "new": "open",
    "新建": "open",
    "新线索": "open",
    "未处理": "open",
    "qualified": "qualified",
    "已确认": "qualified",
    "合格": "qualified",
    "有效": "qualified",
    "disqualified": "disqualified",
    "unqualified": "disqualified",
    "无效": "disqualified",
    "不合格": "disqualified",
}
OPPORTUNITY_STATUSES: Mapping[str, str] = {
    "open": "open",
    "进行中": "open",
    "跟进中": "open",
    "won": "won",
    "win": "won",
    "赢单": "won",
    "成交": "won",
    "已成交": "won",
    "lost": "lost",
    "lose": "lost",
    "输单": "lost",
    "丢单": "lost",
    "失败": "lost",
}
DISQUALIFIED = "imported as disqualified / 导入时已无效"
_OPPORTUNITIES = "imported-opportunity"


def imported_opportunity_id(tenant: str, customer_id: str, name: str, opened: datetime) -> str:
    fact = f"{_OPPORTUNITIES}\x00{tenant}\x00{customer_id}\x00{name}\x00{opened.isoformat()}"
    return str(uuid5(NAMESPACE, fact))


def _custom(row: Mapping[str, str]) -> dict[str, str]:
    """The row's custom cells by key (blank ones left out)."""
    return {f.removeprefix(CUSTOM): v for f, v in row.items() if f.startswith(CUSTOM) and v}


def _named(field_: str, fields: Sequence[str]) -> str | None:
    """The file's field a refusal names (a custom field's own), if the kind has it."""
    return field_ if field_ in fields or field_.startswith(CUSTOM) else None


def _refusal(column: str | None, e: CrmError) -> RowError:
    return RowError(column, None, f"{getattr(e, 'message', None) or e} / 无法导入")


# -- leads ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadRow:
    name: str
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    source: str | None
    captured_at: datetime | None
    status: str
    reason: str | None
    custom: Mapping[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str | None, str | None]:
        return email_key(self.email), phone_key(self.phone)


class LeadImport(FileImport):
    """Leads: each row captures one, unless its e-mail or phone is a lead's already."""

    kind: ImportKind = "leads"
    fields = LEAD_FIELDS
    noun = "lead"
    looks_up = ("sales_leads",)

    def setup(self) -> None:
        require_columns(self.mapping, "name")
        self.known: dict[str, tuple[str, int | None]] | None = None
        self.now = self.runtime.clock.now()

    def start(self) -> None:
        self.known = None  # a pass reads the tenant's leads as they are then
        self.now = self.runtime.clock.now()

    async def caught_up(self) -> None:
        """Wait (up to the read wait) for the leads read model to reach the log's head: the
        duplicates are looked up in it."""
        projection = LeadsProjection()
        await self.wait_for(projection.name, projection.categories)

    async def _known(self) -> dict[str, tuple[str, int | None]]:
        """The e-mail and phone keys of the tenant's leads → (lead id, None), and of this
        pass's earlier rows → (record id, row)."""
        if self.known is None:
            self.known = {}
            docs = await find_all(self.runtime.read_store, LEADS, {"tenant": self.tenant})
            for doc in docs:
                for key in (email_key(doc.get("email")), phone_key(doc.get("phone"))):
                    if key is not None:
                        self.known.setdefault(key, (str(doc["id"]), None))
        return self.known

    async def read(self, cells: Sequence[str]) -> LeadRow | RowError:
        row = cells_by_field(self.source.headers, self.mapping, cells)
        if not row.get("name"):
            return RowError(self.column_of("name"), None, "is required / 必填")
        try:
            email = values.email(row["email"]) if row.get("email") else None
        except values.BadValue as e:
            return RowError(self.column_of("email"), e.value, e.reason)
        try:
            phone = values.phone(row["phone"], self.options.region) if row.get("phone") else None
        except values.BadValue as e:
            return RowError(self.column_of("phone"), e.value, e.reason)
        captured: datetime | None = None
        if row.get("date"):
            try:
                captured = values.instant(row["date"], day_first=self.options.day_first)
            except values.BadValue as e:
                return RowError(self.column_of("date"), e.value, e.reason)
            if captured > self.now + CLOCK_SKEW:
                return RowError(
                    self.column_of("date"), row["date"], "is in the future / 日期在将来"
                )
        status = LEAD_STATUSES.get((row.get("status") or "open").lower())
        if status is None:
            return RowError(
                self.column_of("status"),
                row["status"],
                "one of open, qualified, disqualified / 状态无效",
            )
        reason = row.get("reason") or (DISQUALIFIED if status == "disqualified" else None)
        item = LeadRow(
            row["name"],
            email,
            phone,
            row.get("company") or None,
            row.get("title") or None,
            row.get("source") or None,
            captured,
            status,
            reason,
            _custom(row),
        )
        lead = Lead.create("dry-run")
        step = "name"
        definitions = await self._definitions()
        try:  # the domain's own checks, on a lead of no stream
            lead.capture(
                custom=check_values(definitions, FieldEntity.LEAD, item.custom),
                name=item.name,
                owner_id=self.options.owner_id or "import",
                email=item.email,
                phone=item.phone,
                company=item.company,
                title=item.title,
                source=item.source,
            )
            step = "reason"
            if status == "qualified":
                lead.qualify(reason)
            elif status == "disqualified":
                assert reason is not None
                lead.disqualify(reason)
        except InvalidCommand as e:
            return _refusal(self.column_of(_named(e.field, self.fields) or step), e)
        except CrmError as e:
            return _refusal(self.column_of(step), e)
        return item

    def fingerprint(self, item: LeadRow) -> str:
        return repr(
            (
                item.name,
                item.email,
                item.phone,
                item.company,
                item.title,
                item.source,
                item.captured_at and item.captured_at.isoformat(),
                item.status,
                item.reason,
                self.options.owner_id,
                sorted(item.custom.items()),
            )
        )

    def remember(self, row: int, id_: str, item: LeadRow) -> None:
        assert self.known is not None  # duplicate() read it first
        for key in item.keys:
            if key is not None:
                self.known.setdefault(key, (id_, row))

    async def duplicate(self, row: int, id_: str, item: LeadRow) -> RowOutcome | None:
        known = await self._known()
        for reason, key in zip(("same_email", "same_phone"), item.keys, strict=True):
            found = known.get(key) if key is not None else None
            if found is not None and found[0] != id_:
                return RowOutcome(
                    row,
                    "duplicate",
                    duplicate_of=found[0],
                    duplicate_row=found[1],
                    score=100,
                    reasons=(reason,),
                    item=item,
                    noun=self.noun,
                )
        return None

    def steps(self, id_: str, item: LeadRow) -> list[Step]:
        capture = CaptureLead(
            item.name,
            email=item.email,
            phone=item.phone,
            company=item.company,
            title=item.title,
            source=item.source,
            owner_id=self.options.owner_id,
            lead_id=id_,
            custom=item.custom,
        )
        steps = [Step("", capture, item.captured_at)]
        if item.status == "qualified":
            steps.append(Step("qualified", QualifyLead(id_, item.reason), item.captured_at))
        elif item.status == "disqualified":
            assert item.reason is not None
            steps.append(Step("disqualified", DisqualifyLead(id_, item.reason), item.captured_at))
        return steps

    def subjects(self, id_: str, item: LeadRow) -> list[str]:
        return [Lead.stream_id_for(id_)]


# -- opportunities ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    customer_id: str
    name: str
    amount: Money
    close_date: date
    stage: str | None
    opened_at: datetime
    status: str
    reason: str | None
    custom: Mapping[str, str] = field(default_factory=dict)

    @property
    def closed_at(self) -> datetime:
        return max(self.opened_at, values.midnight(self.close_date))


class OpportunityImport(FileImport):
    """Opportunities of the past and of now, for existing customers (see the module)."""

    kind: ImportKind = "opportunities"
    fields = OPPORTUNITY_FIELDS
    noun = "opportunity"
    looks_up = ("customers", "sales_customer_directory")

    def setup(self) -> None:
        require_columns(self.mapping, "opportunity", "amount", "close_date")
        require_columns(self.mapping, customer=True)
        self.pipeline: PipelineDefinition | None = None
        self.seen = RowsByKey()
        self.now = self.runtime.clock.now()

    def start(self) -> None:
        self.pipeline = None  # a pass reads the tenant's pipeline as it is then
        self.seen = RowsByKey()
        self.now = self.runtime.clock.now()

    async def _pipeline(self) -> PipelineDefinition:
        if self.pipeline is None:
            lookup = tenant_pipeline(self.runtime.commands.repository(Pipeline))
            self.pipeline = await lookup(self.tenant)
        return self.pipeline

    async def read(self, cells: Sequence[str]) -> OpportunityRow | RowError:
        row = cells_by_field(self.source.headers, self.mapping, cells)
        for required in ("opportunity", "amount", "close_date"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        try:
            amount = values.money(row["amount"], row.get("currency") or self.options.currency)
        except values.BadValue as e:
            return RowError(self.column_of("amount"), e.value, e.reason)
        day_first = self.options.day_first
        try:
            close = values.day(row["close_date"], day_first=day_first)
        except values.BadValue as e:
            return RowError(self.column_of("close_date"), e.value, e.reason)
        status = OPPORTUNITY_STATUSES.get((row.get("status") or "open").lower())
        if status is None:
            return RowError(
                self.column_of("status"), row["status"], "one of open, won, lost / 状态无效"
            )
        closed_at = values.midnight(close)
        if row.get("date"):
            try:
                opened = values.instant(row["date"], day_first=day_first)
            except values.BadValue as e:
                return RowError(self.column_of("date"), e.value, e.reason)
        else:
            opened = min(closed_at, self.now)
        customer = await customer_named(self.runtime.read_store, self.tenant, row, self.column_of)
        if isinstance(customer, RowError):
            return customer
        pipeline = await self._pipeline()
        stage: str | None = None
        if row.get("stage"):
            wanted = row["stage"].casefold()
            found = next((s for s in pipeline.stages if s.name.casefold() == wanted), None)
            if found is None:
                names = ", ".join(s.name for s in pipeline.stages)
                return RowError(
                    self.column_of("stage"), row["stage"], f"not a stage of {names} / 没有此阶段"
                )
            if found.outcome is StageOutcome.OPEN:
                stage = found.name
            elif not row.get("status"):  # the won or lost stage says how it ended
                status = "won" if found.outcome is StageOutcome.WON else "lost"
        for name, when in (("date", opened), ("close_date", closed_at)):
            if when > self.now + CLOCK_SKEW and (name == "date" or status != "open"):
                future = "is in the future / 日期在将来"
                return RowError(self.column_of(name), row.get(name), future)
        if status != "open" and close < opened.date():
            before = "is before it opened / 早于创建日期"
            return RowError(self.column_of("close_date"), row["close_date"], before)
        item = OpportunityRow(
            customer,
            row["opportunity"],
            amount,
            close,
            stage,
            opened,
            status,
            row.get("reason") or None,
            _custom(row),
        )
        return self._played(item, pipeline, await self._definitions())

    def _played(
        self, item: OpportunityRow, pipeline: PipelineDefinition, definitions: CustomFieldsState
    ) -> OpportunityRow | RowError:
        o = Opportunity.create("dry-run")
        step = "stage"
        try:
            o.open(
                custom=check_values(definitions, FieldEntity.OPPORTUNITY, item.custom),
                customer_id=item.customer_id,
                owner_id=self.options.owner_id or "import",
                name=item.name,
                amount=item.amount,
                expected_close_date=item.close_date,
                pipeline=pipeline,
                now=item.opened_at,
                stage=item.stage,
            )
            step = "status"
            if item.status == "won":
                o.win(pipeline=pipeline, now=item.closed_at)
            elif item.status == "lost":
                step = "reason"
                o.lose(item.reason or "", pipeline=pipeline, now=item.closed_at)
        except InvalidCommand as e:
            named = {"name": "opportunity", "expected_close_date": "close_date"}.get(e.field)
            return _refusal(self.column_of(named or _named(e.field, self.fields) or step), e)
        except CrmError as e:
            return _refusal(self.column_of(step), e)
        return item

    def record_for(self, row: int, item: OpportunityRow) -> str:
        return imported_opportunity_id(self.tenant, item.customer_id, item.name, item.opened_at)

    def fingerprint(self, item: OpportunityRow) -> str:
        return repr(
            (
                item.customer_id,
                item.name,
                str(item.amount),
                item.close_date.isoformat(),
                item.stage,
                item.opened_at.isoformat(),
                item.status,
                item.reason,
                self.options.owner_id,
                sorted(item.custom.items()),
            )
        )

    def remember(self, row: int, id_: str, item: OpportunityRow) -> None:
        self.seen.setdefault(id_, row)

    async def duplicate(self, row: int, id_: str, item: OpportunityRow) -> RowOutcome | None:
        earlier = self.seen.get(id_)
        return await self.already_there(Opportunity, row, id_, item, "same_opportunity", earlier)

    def steps(self, id_: str, item: OpportunityRow) -> list[Step]:
        opened = OpenOpportunity(
            item.customer_id,
            item.name,
            item.amount,
            item.close_date,
            stage=item.stage,
            owner_id=self.options.owner_id,
            opportunity_id=id_,
            custom=item.custom,
        )
        steps = [Step("", opened, item.opened_at)]
        if item.status == "won":
            steps.append(Step("won", WinOpportunity(id_), item.closed_at))
        elif item.status == "lost":
            steps.append(Step("lost", LoseOpportunity(id_, item.reason or ""), item.closed_at))
        return steps
