"""An import's own record: the ``import-<id>`` stream, its commands and what it says.

An import is planned (the dry run's counts, the file's hash, its mapping and options), then
confirmed, then advances batch by batch (``import.progressed``: every row up to a number is
done, with the rows it created, found duplicate or refused), then finishes. Admins and
managers of the tenant run imports; the record is read from its stream (no read model: an
import is a few events per thousand rows, read when someone asks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Self

from crm.events import DomainEvent, EventEnvelope
from crm.events.imports import (
    ChangedRow,
    DuplicateRow,
    FailedRow,
    ImportConfirmed,
    ImportedRow,
    ImportFinished,
    ImportMatchingPlanned,
    ImportPlanned,
    ImportProgressed,
    ImportRowsChanged,
)
from crm.kernel.access import AccessPolicy, Principal, Scope
from crm.kernel.aggregate import Aggregate
from crm.kernel.auth import Role
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import NotFound, RuleViolated
from crm.kernel.event_store import EventStore

CATEGORY = "import"


class Action(Enum):
    IMPORT = "import"


POLICY: AccessPolicy[Action] = AccessPolicy(
    "import",
    {
        Role.ADMIN: frozenset({Action.IMPORT}),
        Role.MANAGER: frozenset({Action.IMPORT}),
        Role.SALES_REP: frozenset(),
        Role.AGENT: frozenset(),
        Role.ANALYST: frozenset(),
    },
    sees=lambda who, scope: True,
    visible=lambda who: {},
    view=Action.IMPORT,
)
"""Admins and managers import (and see the tenant's imports); no other role does either."""


@dataclass(frozen=True, slots=True)
class ImportState:
    plan: ImportPlanned | None = None
    confirmed: bool = False
    through_row: int = 0
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    finished: bool = False
    matching: ImportMatchingPlanned | None = None
    """A customers import's choice for rows that are customers already there."""
    updated: int = 0
    merged: int = 0
    unchanged: int = 0

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case ImportPlanned():
                return replace(self, plan=event)
            case ImportConfirmed():
                return replace(self, confirmed=True)
            case ImportProgressed():
                return replace(
                    self,
                    through_row=event.through_row,
                    created=self.created + len(event.created),
                    duplicates=self.duplicates + len(event.duplicates),
                    failed=self.failed + len(event.failed),
                )
            case ImportFinished():
                return replace(self, finished=True)
            case ImportMatchingPlanned():
                return replace(self, matching=event)
            case ImportRowsChanged():
                return replace(
                    self,
                    updated=self.updated + len(event.updated),
                    merged=self.merged + len(event.merged),
                    unchanged=self.unchanged + len(event.unchanged),
                )
        return self


class Import(Aggregate[ImportState]):
    category = CATEGORY
    keeps_state = True  # an event a batch, and no personal data in any of them

    @classmethod
    def initial_state(cls) -> ImportState:
        return ImportState()

    def plan(self, planned: ImportPlanned, matching: ImportMatchingPlanned | None = None) -> None:
        self.trigger(planned)
        if matching is not None:
            self.trigger(matching)

    def confirm(self) -> None:
        if self.state.plan is None:
            raise NotFound(f"import {self.id} does not exist")
        if not self.state.confirmed:
            self.trigger(ImportConfirmed())

    def progress(
        self,
        through_row: int,
        created: Sequence[ImportedRow],
        duplicates: Sequence[DuplicateRow],
        failed: Sequence[FailedRow],
        changed: Changed | None = None,
    ) -> None:
        """Rows up to ``through_row`` are done; a batch already recorded (by a run that
        overlapped this one) records nothing. ``changed``: its rows that updated or merged
        customers already there, or found them as they say."""
        if not self.state.confirmed:
            raise RuleViolated(f"import {self.id} is not confirmed", code="not_confirmed")
        if self.state.finished or through_row <= self.state.through_row:
            return
        self.trigger(
            ImportProgressed(
                through_row=through_row,
                created=tuple(created),
                duplicates=tuple(duplicates),
                failed=tuple(failed),
            )
        )
        if changed is not None and any(changed):
            updated, merged, unchanged = changed
            self.trigger(ImportRowsChanged(updated=updated, merged=merged, unchanged=unchanged))

    def finish(self) -> None:
        if not self.state.confirmed:
            raise RuleViolated(f"import {self.id} is not confirmed", code="not_confirmed")
        if not self.state.finished:
            s = self.state
            self.trigger(
                ImportFinished(created=s.created, duplicates=s.duplicates, failed=s.failed)
            )


Changed = tuple[tuple[ChangedRow, ...], tuple[ChangedRow, ...], tuple[ChangedRow, ...]]
"""A batch's rows that updated, merged, or found unchanged customers already there."""


@dataclass(frozen=True, slots=True)
class PlanImport:
    import_id: str
    planned: ImportPlanned
    matching: ImportMatchingPlanned | None = None


@dataclass(frozen=True, slots=True)
class ConfirmImport:
    import_id: str


@dataclass(frozen=True, slots=True)
class RecordProgress:
    import_id: str
    through_row: int
    created: tuple[ImportedRow, ...] = ()
    duplicates: tuple[DuplicateRow, ...] = ()
    failed: tuple[FailedRow, ...] = ()
    changed: Changed | None = None


@dataclass(frozen=True, slots=True)
class FinishImport:
    import_id: str


def import_commands() -> CommandTable[Import]:
    t = CommandTable(Import, POLICY, scope=lambda _: Scope(), id_field="import_id")
    t.on(PlanImport, Expect.NEW, Action.IMPORT, lambda i, c, _: i.plan(c.planned, c.matching))
    t.on(ConfirmImport, Expect.EXISTING, Action.IMPORT, lambda i, c, _: i.confirm())
    t.on(
        RecordProgress,
        Expect.EXISTING,
        Action.IMPORT,
        lambda i, c, _: i.progress(c.through_row, c.created, c.duplicates, c.failed, c.changed),
    )
    t.on(FinishImport, Expect.EXISTING, Action.IMPORT, lambda i, c, _: i.finish())
    return t


@dataclass
class ImportRecord:
    """What an import's stream says, for its status and the list of imports."""

    id: str
    kind: str
    file_name: str
    status: str
    """``planned`` (the dry run, not confirmed), ``running`` (confirmed, not finished: a run
    under way, or stopped and waiting to be resumed) or ``finished``."""
    rows: int
    planned: dict[str, int]
    done: dict[str, int]
    through_row: int
    mapping: dict[str, str]
    options: dict[str, Any]
    planned_by: str
    planned_at: datetime
    finished_at: datetime | None = None
    records: list[ImportedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)
    failed: list[FailedRow] = field(default_factory=list)
    updated: list[ChangedRow] = field(default_factory=list)
    merged: list[ChangedRow] = field(default_factory=list)
    unchanged: list[ChangedRow] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "file_name": self.file_name,
            "status": self.status,
            "rows": self.rows,
            "planned": self.planned,
            "done": self.done,
            "through_row": self.through_row,
            "mapping": self.mapping,
            "options": self.options,
            "planned_by": self.planned_by,
            "planned_at": self.planned_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


async def import_record(store: EventStore, codec: Any, import_id: str, tenant: str) -> ImportRecord:
    """The import as its stream tells it; NotFound for none, or another tenant's."""
    envelopes = await store.read_stream(Import.stream_id_for(import_id))
    if not envelopes or envelopes[0].tenant != tenant:
        raise NotFound(f"import {import_id} does not exist")
    return _record(import_id, envelopes, await codec.decode(envelopes))


def _record(
    import_id: str, envelopes: Sequence[EventEnvelope], events: Sequence[DomainEvent]
) -> ImportRecord:
    plan = events[0]
    assert isinstance(plan, ImportPlanned)
    record = ImportRecord(
        id=import_id,
        kind=plan.kind,
        file_name=plan.file_name,
        status="planned",
        rows=plan.rows,
        planned={"create": plan.creates, "duplicate": plan.duplicates, "error": plan.errors},
        done={"created": 0, "duplicate": 0, "failed": 0},
        through_row=0,
        mapping=dict(plan.mapping),
        options=plan.options.model_dump(),
        planned_by=envelopes[0].actor,
        planned_at=envelopes[0].recorded_at,
    )
    for envelope, event in zip(envelopes[1:], events[1:], strict=True):
        if isinstance(event, ImportConfirmed):
            record.status = "running"
        elif isinstance(event, ImportProgressed):
            record.through_row = event.through_row
            record.records.extend(event.created)
            record.duplicates.extend(event.duplicates)
            record.failed.extend(event.failed)
            record.done = {
                "created": len(record.records),
                "duplicate": len(record.duplicates),
                "failed": len(record.failed),
            }
        elif isinstance(event, ImportFinished):
            record.status = "finished"
            record.finished_at = envelope.recorded_at
        elif isinstance(event, ImportMatchingPlanned):
            record.options["on_match"] = event.on_match
            record.planned.update(
                update=event.updates, merge=event.merges, unchanged=event.unchanged
            )
        elif isinstance(event, ImportRowsChanged):
            record.updated.extend(event.updated)
            record.merged.extend(event.merged)
            record.unchanged.extend(event.unchanged)
        if record.updated or record.merged or record.unchanged or "update" in record.planned:
            record.done.update(
                updated=len(record.updated),
                merged=len(record.merged),
                unchanged=len(record.unchanged),
            )
    return record


async def import_records(store: EventStore, codec: Any, tenant: str) -> list[ImportRecord]:
    """The tenant's imports, newest first."""
    streams: dict[str, list[EventEnvelope]] = {}
    async for page in store.read_all(0, categories={CATEGORY}):
        for envelope in page:
            if envelope.tenant == tenant:
                streams.setdefault(envelope.stream_id, []).append(envelope)
    records = [
        _record(stream.partition("-")[2], envs, await codec.decode(envs))
        for stream, envs in streams.items()
    ]
    records.sort(key=lambda r: r.planned_at, reverse=True)
    return records


def may_import(who: Principal) -> None:
    """Forbidden unless ``who`` may run (and see) imports."""
    POLICY.authorize(who, Action.IMPORT, what="import", whole_action=True)
