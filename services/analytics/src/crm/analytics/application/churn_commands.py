"""The churn monitor's commands: one plain value each, and the tables that run them.

Only the monitor sends them, as the system (no route does: analytics changes nothing on a
user's request), so no row names an access rule. Each aggregate decides itself whether the
fact is new (see :mod:`crm.analytics.domain.churn`): run again, a command records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm.analytics.churn.assessment import Assessment
from crm.analytics.churn.bgnbd import BgNbdParams
from crm.analytics.domain.churn import ChurnModel, CustomerRisk
from crm.kernel.commands import CommandTable, Expect

ATTEMPTS = 3
"""Fresh loads when another monitor appends to the same stream meanwhile: after one, the
aggregate's guard finds the fact recorded."""


@dataclass(frozen=True, slots=True)
class RecordFit:
    """Record the tenant's model fitted at the command's time, unless it was fitted that day."""

    tenant: str
    params: BgNbdParams


@dataclass(frozen=True, slots=True)
class RecordAssessment:
    """Record the customer's assessment if it says something new."""

    customer_id: str
    verdict: Assessment
    source_position: int
    """The last position of the customer's events the assessment saw."""


def churn_model_commands() -> CommandTable[ChurnModel]:
    t = CommandTable(ChurnModel, id_field="tenant")
    t.on(
        RecordFit,
        Expect.ANY,
        None,
        lambda model, cmd, ctx: model.record_fit(cmd.params, ctx.now),
        attempts=ATTEMPTS,
    )
    return t


def churn_risk_commands() -> CommandTable[CustomerRisk]:
    t = CommandTable(CustomerRisk, id_field="customer_id")
    t.on(
        RecordAssessment,
        Expect.ANY,
        None,
        lambda risk, cmd, ctx: risk.record(cmd.verdict, ctx.now, cmd.source_position),
        attempts=ATTEMPTS,
    )
    return t
