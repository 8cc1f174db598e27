"""The sales pipeline of a tenant: its ordered stages and their default win probabilities.

One aggregate per tenant (stream ``pipeline-<tenant>``). A tenant that never configured its
pipeline works with :data:`DEFAULT_PIPELINE`. Opportunities do not read the pipeline's stream:
the application loads it and passes its :class:`PipelineDefinition` to each opportunity
command, which checks the stage it is asked for against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self

from pydantic import ValidationError

from crm.events import DomainEvent
from crm.events.sales import (
    DEFAULT_PIPELINE_STAGES,
    PipelineConfigured,
    StageDefinition,
    StageOutcome,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand

STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_STAGES = 30


class UnknownStage(InvalidCommand):
    """A stage that is not in the pipeline, or not one an opportunity may move to."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__("stage", message)
        self.stage = stage


@dataclass(frozen=True, slots=True)
class PipelineDefinition:
    """A valid pipeline: build it with :meth:`of`, which refuses anything else."""

    stages: tuple[StageDefinition, ...]

    @classmethod
    def of(cls, stages: Iterable[StageDefinition | tuple[str, int, StageOutcome]]) -> Self:
        return cls(validate_stages(stages))

    @property
    def open_stages(self) -> tuple[StageDefinition, ...]:
        return tuple(s for s in self.stages if s.outcome is StageOutcome.OPEN)

    @property
    def won(self) -> StageDefinition:
        return next(s for s in self.stages if s.outcome is StageOutcome.WON)

    @property
    def lost(self) -> StageDefinition:
        return next(s for s in self.stages if s.outcome is StageOutcome.LOST)

    @property
    def first_open(self) -> StageDefinition:
        return self.open_stages[0]

    def stage(self, name: str) -> StageDefinition | None:
        return next((s for s in self.stages if s.name == name), None)

    def open_stage(self, name: str) -> StageDefinition:
        """The open stage called ``name``; anything else is refused, naming the open ones."""
        found = self.stage(name)
        if found is None or found.outcome is not StageOutcome.OPEN:
            names = ", ".join(s.name for s in self.open_stages)
            what = "not a stage" if found is None else f"the {found.outcome.value} stage"
            raise UnknownStage(name, f"{name!r} is {what} of the pipeline; open stages: {names}")
        return found

    def index(self, name: str) -> int | None:
        """Position of a stage in the pipeline's order, None if it is not (or no longer) in it."""
        return next((i for i, s in enumerate(self.stages) if s.name == name), None)


def validate_stages(
    stages: Iterable[StageDefinition | tuple[str, int, StageOutcome]],
) -> tuple[StageDefinition, ...]:
    """Unique names, at least one open stage, probabilities 0-100, exactly one won stage (100%)
    and exactly one lost stage (0%)."""
    result: list[StageDefinition] = []
    for i, raw in enumerate(stages):
        where = f"stages[{i}]"
        if isinstance(raw, StageDefinition):
            stage = raw
        else:
            name, probability, outcome = raw
            try:
                stage = StageDefinition(name=name, probability=probability, outcome=outcome)
            except ValidationError as e:
                error = e.errors()[0]
                field = ".".join(str(p) for p in error["loc"])
                raise InvalidCommand(f"{where}.{field}", error["msg"]) from None
        if not STAGE_NAME.match(stage.name):
            raise InvalidCommand(
                f"{where}.name", "lower-case letters, digits and _, starting with a letter, max 40"
            )
        if any(s.name == stage.name for s in result):
            raise InvalidCommand(f"{where}.name", f"stage {stage.name!r} appears twice")
        if stage.outcome is StageOutcome.WON and stage.probability != 100:
            raise InvalidCommand(f"{where}.probability", "the won stage has probability 100")
        if stage.outcome is StageOutcome.LOST and stage.probability != 0:
            raise InvalidCommand(f"{where}.probability", "the lost stage has probability 0")
        result.append(stage)
    if len(result) > MAX_STAGES:
        raise InvalidCommand("stages", f"at most {MAX_STAGES} stages")
    if not any(s.outcome is StageOutcome.OPEN for s in result):
        raise InvalidCommand("stages", "at least one open stage")
    for outcome in (StageOutcome.WON, StageOutcome.LOST):
        count = sum(1 for s in result if s.outcome is outcome)
        if count != 1:
            raise InvalidCommand("stages", f"exactly one {outcome.value} stage, not {count}")
    return tuple(result)


DEFAULT_PIPELINE = PipelineDefinition.of(DEFAULT_PIPELINE_STAGES)


@dataclass(frozen=True, slots=True)
class PipelineState:
    configured: PipelineDefinition | None = None

    @property
    def definition(self) -> PipelineDefinition:
        return self.configured or DEFAULT_PIPELINE

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case PipelineConfigured():
                # Stored events were valid when written; they are not validated again, so a
                # rule made stricter later never makes a tenant's history unreadable.
                return replace(self, configured=PipelineDefinition(event.stages))
        return self


class Pipeline(Aggregate[PipelineState]):
    """Id: the tenant. Every configuration replaces the whole list of stages."""

    category = "pipeline"

    @classmethod
    def initial_state(cls) -> PipelineState:
        return PipelineState()

    @property
    def definition(self) -> PipelineDefinition:
        return self.state.definition

    def configure(self, stages: Iterable[StageDefinition | tuple[str, int, StageOutcome]]) -> None:
        """Same stages as now: nothing recorded (a retried request changes nothing)."""
        valid = validate_stages(stages)
        if self.state.configured is not None and self.state.configured.stages == valid:
            return
        self.trigger(PipelineConfigured(stages=valid))
