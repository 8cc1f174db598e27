# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons)
"""Customer care: the tenant's rules (``GET``/``PUT /care/rules``) and the scheduler that
opens, for every occasion a rule says is coming, a task for the customer's owner (a customer
in the shared pool: the team queue).

A tick reads the care dates whose occasion falls in the next :data:`LOOKAHEAD` days (indexed:
the contract end dates, and the month-days of first orders), checks each against its tenant's
rules, and schedules the task under an id derived from (tenant, occasion, customer, date): one
task per occasion however often the scheduler ticks, restarts or runs in several replicas.

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

from crm.activities.application.policy import POLICY, TaskAction
from crm.activities.application.task_commands import ScheduleTask
from crm.activities.domain.care import LOOKAHEAD, CareRules, due_care, month_days
from crm.activities.domain.tasks import TaskPlan
from crm.activities.projections.care_models import CARE_DATES
from crm.activities.projections.consent_models import (
    CONSENTS,
    CONSENTS_PROJECTION,
    ConsentDoc,
    withdrawn,
)
from crm.activities.projections.reference_models import CUSTOMER_DIRECTORY
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
}

CARE_PURPOSE: dict[TaskKind, ConsentPurpose] = {TaskKind.EMAIL: ConsentPurpose.MARKETING_EMAIL}
"""The consent a care contact of each task kind needs; any other kind: ``marketing_phone``."""


def care_purpose(kind: TaskKind) -> ConsentPurpose:
    return CARE_PURPOSE.get(kind, ConsentPurpose.MARKETING_PHONE)


@dataclass(frozen=True, slots=True)
class SetCareRules:
    tenant: str
    rules: tuple[CareRule, ...]


def care_rules_commands() -> CommandTable[CareRules]:
    def set_(rules: CareRules, cmd: SetCareRules, ctx: CommandContext) -> None:
        POLICY.authorize(ctx, TaskAction.ASSIGN, what="care rules", whole_action=True)
        rules.set(cmd.rules, ctx.actor)

    table = CommandTable(CareRules, id_field="tenant")
    table.on(SetCareRules, Expect.ANY, None, set_)
    return table


class RulesOf:
    def __init__(self, runtime: Runtime) -> None:
        self.repository = Repository(runtime.store, runtime.codec, CareRules)

    async def __call__(self, tenant: str) -> tuple[CareRule, ...]:
        try:
            return (await self.repository.load(tenant, tenant=tenant)).state.rules
        except NotFound:
            return CareRules.initial_state().rules


@dataclass(frozen=True)
class CareReport:
    today: date
    opened: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()
    """The tasks not opened because the customer withdrew consent for the purpose."""


def care_task_id(tenant: str, occasion: CareOccasion, customer_id: str, on: date) -> str:
    return str(uuid5(NAMESPACE_URL, f"crm:care:{tenant}:{occasion.value}:{customer_id}:{on}"))


class CareScheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.rules = RulesOf(runtime)
        self.customers = Customers(runtime, CUSTOMER_DIRECTORY)

    async def _candidates(self, today: date) -> list[Document]:
        store = self.runtime.read_store
        horizon = (today + timedelta(days=LOOKAHEAD)).isoformat()
        ending = {"contract_ends_on": {"$gte": today.isoformat(), "$lte": horizon}}
        yearly = {"anniversary": {"$in": month_days(today)}}
        return await find_all(store, CARE_DATES, {"$or": [ending, yearly]})

    async def tick(self, now: datetime) -> CareReport:
        today = now.astimezone(UTC).date()
        opened: list[str] = []
        failed: list[str] = []
        withheld: list[str] = []
        rules: dict[str, tuple[CareRule, ...]] = {}
        await self._consents_caught_up()
        for doc in await self._candidates(today):
            tenant = doc["tenant"]
            if tenant not in rules:
                rules[tenant] = await self.rules(tenant)
            first = doc.get("first_order_on")
            ends = doc.get("contract_ends_on")
            for due in due_care(
                rules[tenant],
                today,
                first_order_on=date.fromisoformat(first) if first else None,
                contract_ends_on=date.fromisoformat(ends) if ends else None,
            ):
                task_id = care_task_id(tenant, due.occasion, doc["id"], due.on)
                try:
                    if await self._withdrawn(tenant, doc["id"], care_purpose(due.rule.task_kind)):
                        withheld.append(task_id)
                    elif await self._open(
                        tenant, doc["id"], due.occasion, due.on, due.rule, task_id, now
                    ):
                        opened.append(task_id)
                except Exception:
                    log.exception("care task %s failed; the next tick retries", task_id)
                    failed.append(task_id)
        return CareReport(today, tuple(opened), tuple(failed), tuple(withheld))

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
        tenant: str,
        customer_id: str,
        occasion: CareOccasion,
        on: date,
        rule: CareRule,
        task_id: str,
        now: datetime,
    ) -> bool:
        entry = await self.customers.entry(tenant, customer_id)
        if entry is None or entry["erased"]:
            return False
        en, zh = TITLES[occasion]
        plan = TaskPlan(
            kind=rule.task_kind,
            title=f"{en} {on.isoformat()} / {zh} {on.isoformat()}",
            due_at=datetime.combine(on, DUE_TIME, tzinfo=UTC),
            assignee_id=entry["owner_id"],
        )
        command = ScheduleTask(
            plan,
            SubjectKind.CUSTOMER,
            customer_id,
            task_id=task_id,
            reasons=(occasion.value,),
            origin=f"care:{occasion.value}:{on.isoformat()}",
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
