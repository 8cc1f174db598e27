"""The tenant's pipeline: its one command, and the lookup the opportunity's commands use.

A tenant has one pipeline aggregate (its id is the tenant) and the default pipeline until a
manager configures one. Every stage rule of an opportunity is checked against the pipeline as
it is when the command runs: :func:`tenant_pipeline` reads it for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crm.events.sales import StageDefinition
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.repository import CommandContext, Repository
from crm.sales.application.policy import POLICY, SalesAction
from crm.sales.domain.pipeline import DEFAULT_PIPELINE, Pipeline, PipelineDefinition

PipelineOf = Callable[[str], Awaitable[PipelineDefinition]]
"""The pipeline of a tenant."""


@dataclass(frozen=True, slots=True)
class ConfigurePipeline:
    """Replace the tenant's whole list of stages; the same list again records nothing."""

    tenant: str
    stages: tuple[StageDefinition, ...]


def tenant_pipeline(pipelines: Repository[Pipeline]) -> PipelineOf:
    """The lookup of a tenant's pipeline, read from its stream (one small aggregate)."""

    async def pipeline(tenant: str) -> PipelineDefinition:
        try:
            return (await pipelines.load(tenant, tenant=tenant)).definition
        except NotFound:
            return DEFAULT_PIPELINE

    return pipeline


def _configure(pipeline: Pipeline, cmd: ConfigurePipeline, ctx: CommandContext) -> None:
    if cmd.tenant != ctx.tenant:
        raise Forbidden("a tenant configures its own pipeline only")
    pipeline.configure(cmd.stages)


def pipeline_commands() -> CommandTable[Pipeline]:
    t = CommandTable(Pipeline, POLICY, id_field="tenant")
    t.on(ConfigurePipeline, Expect.ANY, SalesAction.CONFIGURE, _configure)
    return t
