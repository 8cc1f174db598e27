# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons)
"""Customer care: the tenant's rules (``GET``/``PUT /care/rules``) and the scheduler that
opens, for every occasion a rule says is coming, a task for the customer's owner (a customer
in the shared pool: the queue of the tenant's pool team, ``pool_team_id``, else the tenant's).

A tick reads the care dates whose occasion may be due (indexed: the contract end dates and the
month-days of first orders, birthdays and anniversaries in the next :data:`LOOKAHEAD` days,
the orders and resolved complaints of the last :data:`LOOKBACK`, the customers of the
valuable tier), checks each
against its tenant's rules on the tenant's day (its ``time_zone``), and schedules the task
under an id derived from (tenant, occasion, customer, date): one task per occasion however
often the scheduler ticks, restarts or runs in several replicas. Its notes are the rule's
message in English and Chinese, with the customer's name from the care read model.

Never contacted: an erased customer, and one whose latest consent for the care contact's
purpose (:data:`CARE_PURPOSE`: ``marketing_email`` for an e-mail task, ``marketing_phone`` for
every other kind, a call, a meeting or a visit being arranged by phone) is a withdrawal
(the ``activities_consents`` read model, waited for up to the last event of the log). A
customer never asked has not withdrawn; one who gives consent again is contacted again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from crm.activities.application.policy import POLICY, TaskAction
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.care import (
    AFTER_MAX_DAYS,
    GRACE,
    LOOKAHEAD,
    VALUABLE_TIER,
    CareDue,
    CareFacts,
    CareRules,
    CareRulesState,
    care_message,
    due_care,
    month_days,
)
from crm.activities.domain.tasks import MAX_NOTES, TaskPlan
from crm.activities.projections.care_models import CARE_COMPLAINTS, CARE_DATES
from crm.activities.projections.consent_models import (
    CONSENTS,
    CONSENTS_PROJECTION,
    ConsentDoc,
    withdrawn,
)
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY
from crm.activities.projections.task_models import instant
from crm.events.activities import CareOccasion, CareRule, SubjectKind, TaskKind
from crm.events.customer import ConsentPurpose
from crm.kernel.clock import Clock
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.context import Job
from crm.kernel.directory import Customers
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.projection import wait_until
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import Document, find_all
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:activities-care"
DUE_TIME = time(9, 0)
TITLES: dict[CareOccasion, tuple[str, str]] = {
    CareOccasion.FIRST_ORDER_ANNIVERSARY: (
        "Customer care: first-order anniversary",
        "客户关怀：首单周年",
    ),
    CareOccasion.CONTRACT_END: ("Customer care: service contract ends", "客户关怀：服务合同到期"),
    CareOccasion.AFTER_PURCHASE: ("Customer care: after the purchase", "客户关怀：购买后回访"),
    CareOccasion.AFTER_COMPLAINT: (
        "Customer care: after the complaint",
        "客户关怀：投诉解决后回访",
    ),
    CareOccasion.NO_CONTACT: (
        "Customer care: valuable customer not contacted",
        "客户关怀：高价值客户久未联系",
    ),
    CareOccasion.BIRTHDAY: ("Customer care: birthday", "客户关怀：生日"),
    CareOccasion.ANNIVERSARY: ("Customer care: anniversary", "客户关怀：纪念日"),
}
NAMELESS = ("the customer", "客户")
"""In a message, a customer whose name is not known (yet)."""
LOOKBACK = timedelta(days=AFTER_MAX_DAYS + GRACE + 1)
"""How far back the purchases and resolved complaints a tick reads go (a day more than any
rule waits, for the tenants whose day is ahead of UTC's)."""

CARE_PURPOSE: dict[TaskKind, ConsentPurpose] = {TaskKind.EMAIL: ConsentPurpose.MARKETING_EMAIL}
"""The consent a care contact of each task kind needs; any other kind: ``marketing_phone``."""


def care_purpose(kind: TaskKind) -> ConsentPurpose:
    return CARE_PURPOSE.get(kind, ConsentPurpose.MARKETING_PHONE)


@dataclass(frozen=True, slots=True)
class SetCareRules:
    tenant: str
    rules: tuple[CareRule, ...]
    time_zone: str = "UTC"
    pool_team_id: str | None = None


def care_rules_commands() -> CommandTable[CareRules]:
    def set_(rules: CareRules, cmd: SetCareRules, ctx: CommandContext) -> None:
        POLICY.authorize(ctx, TaskAction.ASSIGN, what="care rules", whole_action=True)
        rules.set(cmd.rules, ctx.actor, time_zone=cmd.time_zone, pool_team_id=cmd.pool_team_id)

    table = CommandTable(CareRules, id_field="tenant")
    table.on(SetCareRules, Expect.ANY, None, set_)
    return table


class RulesOf:
    """A tenant's care settings: its rules, time zone and pool team."""

    def __init__(self, runtime: Runtime) -> None:
        self.repository = Repository(runtime.store, runtime.codec, CareRules)

    async def settings(self, tenant: str) -> CareRulesState:
        try:
            return (await self.repository.load(tenant, tenant=tenant)).state
        except NotFound:
            return CareRules.initial_state()

    async def __call__(self, tenant: str) -> tuple[CareRule, ...]:
        return (await self.settings(tenant)).rules


@dataclass(frozen=True)
class CareReport:
    today: date
    opened: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()
    """The tasks not opened because the customer withdrew consent for the purpose."""


def care_task_id(tenant: str, occasion: CareOccasion, customer_id: str, on: date) -> str:
    return str(uuid5(NAMESPACE_URL, f"crm:care:{tenant}:{occasion.value}:{customer_id}:{on}"))


def _local_day(value: str | None, zone: ZoneInfo) -> date | None:
    return datetime.fromisoformat(value).astimezone(zone).date() if value else None


def facts_of(doc: Document, complaints: list[Document], zone: ZoneInfo) -> CareFacts:
    """A customer's care facts, their instants as days in the tenant's ``zone``."""
    first = doc.get("first_order_on")
    ends = doc.get("contract_ends_on")
    born = doc.get("birthday")
    celebrates = doc.get("celebration")
    resolved = (_local_day(c.get("resolved_at"), zone) for c in complaints)
    return CareFacts(
        first_order_on=date.fromisoformat(first) if first else None,
        contract_ends_on=date.fromisoformat(ends) if ends else None,
        last_order_on=_local_day(doc.get("last_order_at"), zone),
        last_contact_on=_local_day(doc.get("last_contact_at"), zone),
        value_tier=doc.get("value_tier"),
        complaints_resolved_on=tuple(sorted(d for d in resolved if d is not None)),
        birthday=date.fromisoformat(born) if born else None,
        celebration=date.fromisoformat(celebrates) if celebrates else None,
    )


class CareScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.rules = RulesOf(runtime)
        self.customers = Customers(runtime, CUSTOMER_DIRECTORY)

    async def _candidates(self, now: datetime) -> list[tuple[Document, list[Document]]]:
        """The customers with an occasion near enough ``now`` in some time zone, each with
        their recently resolved complaints."""
        store = self.runtime.read_store
        today = now.astimezone(UTC).date()
        since = instant(now - LOOKBACK)
        low = (today - timedelta(days=1)).isoformat()
        horizon = (today + timedelta(days=LOOKAHEAD + 1)).isoformat()
        ending = {"contract_ends_on": {"$gte": low, "$lte": horizon}}
        days = {"$in": month_days(today - timedelta(days=1), LOOKAHEAD + 2)}
        yearly = [{"anniversary": days}, {"birthday_md": days}, {"celebration_md": days}]
        bought = {"last_order_at": {"$gte": since}}
        valuable = {"value_tier": VALUABLE_TIER}
        wanted = {"$or": [ending, *yearly, bought, valuable]}
        docs = await find_all(store, CARE_DATES, wanted)
        by_id = {doc["id"]: doc for doc in docs}
        resolved = await find_all(store, CARE_COMPLAINTS, {"resolved_at": {"$gte": since}})
        complaints: dict[str, list[Document]] = {}
        for c in resolved:
            complaints.setdefault(c["customer_id"], []).append(c)
            if c["customer_id"] not in by_id:
                doc = await store.get(CARE_DATES, c["customer_id"])
                by_id[c["customer_id"]] = doc or {"id": c["customer_id"], "tenant": c["tenant"]}
        return [(doc, complaints.get(cid, [])) for cid, doc in by_id.items()]

    async def tick(self, now: datetime) -> CareReport:
        opened: list[str] = []
        failed: list[str] = []
        withheld: list[str] = []
        settings: dict[str, CareRulesState] = {}
        await self._consents_caught_up()
        for doc, complaints in await self._candidates(now):
            tenant = doc["tenant"]
            if tenant not in settings:
                settings[tenant] = await self.rules.settings(tenant)
            tenant_settings = settings[tenant]
            zone = ZoneInfo(tenant_settings.time_zone)
            today = now.astimezone(zone).date()
            mine = [c for c in complaints if c["tenant"] == tenant]
            for due in due_care(tenant_settings.rules, today, facts_of(doc, mine, zone)):
                task_id = care_task_id(tenant, due.occasion, doc["id"], due.on)
                try:
                    if await self._withdrawn(tenant, doc["id"], care_purpose(due.rule.task_kind)):
                        withheld.append(task_id)
                    elif await self._open(
                        doc, due, max(due.on, today), tenant_settings, task_id, now
                    ):
                        opened.append(task_id)
                except Exception:
                    log.exception("care task %s failed; the next tick retries", task_id)
                    failed.append(task_id)
        return CareReport(now.astimezone(UTC).date(), tuple(opened), tuple(failed), tuple(withheld))

    async def _consents_caught_up(self) -> None:
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            CONSENTS,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=CONSENTS_PROJECTION.categories,
        )

    async def _withdrawn(self, tenant: str, customer_id: str, purpose: ConsentPurpose) -> bool:
        doc = await self.runtime.read_store.get(CONSENTS, customer_id)
        if doc is None or doc.get("tenant") != tenant:
            return False
        return withdrawn(cast(ConsentDoc, doc), purpose)

    async def _open(
        self,
        doc: Document,
        due: CareDue,
        day: date,
        settings: CareRulesState,
        task_id: str,
        now: datetime,
    ) -> bool:
        """Open the task (due at 09:00 on ``day`` in the tenant's zone), its notes the rule's
        message: sealed with the customer's key like every task's notes, so erasing the
        customer erases the name in them."""
        tenant, customer_id = doc["tenant"], doc["id"]
        entry = await self.customers.entry(tenant, customer_id)
        if entry is None or entry["erased"]:
            return False
        name_en, name_zh = (doc["name"], doc["name"]) if doc.get("name") else NAMELESS
        en, _ = care_message(due, name_en)
        _, zh = care_message(due, name_zh)
        title_en, title_zh = TITLES[due.occasion]
        owner = entry["owner_id"]
        plan = TaskPlan(
            kind=due.rule.task_kind,
            title=f"{title_en} {due.on.isoformat()} / {title_zh} {due.on.isoformat()}",
            due_at=datetime.combine(day, DUE_TIME, tzinfo=ZoneInfo(settings.time_zone)),
            assignee_id=owner,
            notes=f"{en}\n\n{zh}"[:MAX_NOTES],
        )
        command = ScheduleTask(
            plan,
            SubjectKind.CUSTOMER,
            customer_id,
            task_id=task_id,
            reasons=(due.occasion.value,),
            origin=f"care:{due.occasion.value}:{due.on.isoformat()}",
            team_id=settings.pool_team_id if owner is None else None,
        )
        ctx = CommandContext(actor=ACTOR, role=SYSTEM_ROLE, tenant=tenant, now=now)
        try:
            outcome = await self.runtime.commands.run(command, ctx)
        except RuleViolated as e:
            if e.code == "customer_erased":
                return False
            raise
        return outcome.recorded

    async def run(self, clock: Clock, interval: float) -> None:
        await tick_forever("activities-care", self.tick, clock, interval, _summary)


def _summary(report: CareReport) -> tuple[dict[str, int], str | None]:
    due = {"recorded": len(report.opened), "failed": len(report.failed)}
    line = (
        f"{len(report.opened)} care tasks opened, {len(report.failed)} failed, "
        f"{len(report.withheld)} withheld (consent withdrawn)"
    )
    return due, line if report.opened or report.failed else None


def care_job(runtime: Runtime) -> Job:
    scheduler = CareScheduler(runtime)
    return lambda: scheduler.run(runtime.clock, runtime.scheduler_interval_seconds)
