"""The imports of one runtime, as ``/imports`` and the console's import page both run them:
a kept file planned (its dry run recorded), its dry run read again, confirmed and run in the
background (one task per import in this process), its record.

One :class:`Imports` per runtime (:func:`imports_of`), so that an import confirmed from the
console is seen running from the API and the other way round.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import weakref
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from crm.events.imports import ImportOptions
from crm.kernel.errors import InvalidCommand
from crm.kernel.event_store import Idempotency
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.platform.imports.kinds import KINDS, available, custom_labels
from crm.platform.imports.mapping import BadMapping, edited, suggest
from crm.platform.imports.matching import may_merge
from crm.platform.imports.record import (
    Import,
    ImportRecord,
    ImportState,
    PlanImport,
    import_record,
)
from crm.platform.imports.run import FileImport, Report, record_confirmation, run
from crm.platform.imports.sources import RowSource, UnreadableFile
from crm.platform.imports.wiring import with_imports

log = logging.getLogger(__name__)

KEPT_REPORTS = 8
"""Dry runs kept in memory (the console pages a planned import's rows without reading its
file again each time)."""


class Imports:
    def __init__(self, runtime: Runtime, data_dir: Path) -> None:
        with_imports(runtime)
        self.runtime = runtime
        self.data_dir = data_dir
        self.running: dict[str, asyncio.Task[None]] = {}
        self.reports: dict[str, Report] = {}

    def folder(self, tenant: str) -> Path:
        path = self.data_dir / "imports" / tenant
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stored(self, tenant: str, import_id: str, suffix: str) -> Path:
        return self.folder(tenant) / f"{import_id}{suffix}"

    def kept(self, tenant: str, import_id: str) -> Path | None:
        return next(self.folder(tenant).glob(f"{import_id}.*"), None)

    def running_here(self, import_id: str) -> bool:
        task = self.running.get(import_id)
        return task is not None and not task.done()

    async def planner(
        self,
        kind: str,
        path: Path,
        changes: dict[str, str | None],
        options: ImportOptions,
        tenant: str,
        import_id: str,
        *,
        on_match: str = "skip",
        role: str = "admin",
    ) -> FileImport:
        """The kind's import of the kept file ``path``: the suggested mapping with the user's
        ``changes``; 422 naming ``file``, ``mapping`` or ``on_match``."""
        kinds = available(self.runtime)
        if kind not in kinds:
            raise InvalidCommand(
                "kind",
                f"must be one of {', '.join(kinds)}"
                + (" (this process runs no sales context)" if kind in KINDS else ""),
            )
        factory = kinds[kind]
        if on_match not in factory.on_match_choices:
            raise InvalidCommand(
                "on_match", f"must be one of {', '.join(factory.on_match_choices)} for {kind}"
            )
        try:
            source = RowSource(path, encoding=options.encoding)
            fields = factory.fields
            labels = await custom_labels(self.runtime, tenant, kind)
            suggested = suggest(source.headers, fields, labels, factory.prefers)
            chosen = edited(suggested, changes, source.headers, fields)
            planner = factory(self.runtime, source, chosen, options, tenant, import_id)
        except (UnreadableFile, BadMapping) as e:
            where = "mapping" if isinstance(e, BadMapping) else "file"
            raise InvalidCommand(where, str(e)) from None
        planner.on_match = on_match  # type: ignore[assignment,unused-ignore]
        planner.merges = may_merge(role)
        return planner

    async def plan(
        self,
        planner: FileImport,
        ctx: CommandContext,
        idempotency: Idempotency | None = None,
        file_name: str | None = None,
    ) -> Report:
        """The dry run, recorded as the import's plan (``file_name``: as the user named the
        file, not as it is kept)."""
        report = await planner.dry_run()
        plan_ctx = CommandContext(
            actor=ctx.actor,
            role=ctx.role,
            tenant=ctx.tenant,
            now=ctx.now,
            correlation_id=UUID(planner.import_id),
            idempotency=idempotency,
            team=ctx.team,
        )
        planned = planner.planned(report)
        if file_name:
            planned = planned.model_copy(update={"file_name": Path(file_name).name[-255:]})
        command = PlanImport(planner.import_id, planned, planner.matching(report))
        await self.runtime.commands.execute(command, plan_ctx)
        self.keep(planner.import_id, report)
        return report

    def keep(self, import_id: str, report: Report) -> None:
        self.reports[import_id] = report
        while len(self.reports) > KEPT_REPORTS:
            self.reports.pop(next(iter(self.reports)))

    async def planner_of(self, import_id: str, tenant: str, role: str = "admin") -> FileImport:
        """The import as planned, over its kept file."""
        plan = (await self.runtime.commands.repository(Import).load(import_id, tenant=tenant)).state
        assert plan.plan is not None
        path = self.kept(tenant, import_id)
        if path is None:
            raise InvalidCommand("import_id", "its file is no longer kept / 文件已不在")
        options = plan.plan.options
        planner = KINDS[plan.plan.kind](
            self.runtime,
            RowSource(path, encoding=options.encoding),
            dict(plan.plan.mapping),
            options,
            tenant,
            import_id,
        )
        if plan.matching is not None:
            planner.on_match = plan.matching.on_match
        planner.merges = may_merge(role)
        return planner

    async def dry_run_of(self, import_id: str, tenant: str, role: str) -> Report:
        """The planned import's dry run: the one kept, else read again from its file."""
        report = self.reports.get(import_id)
        if report is None:
            report = await (await self.planner_of(import_id, tenant, role)).dry_run()
            self.keep(import_id, report)
        return report

    async def replan(
        self, import_id: str, changes: dict[str, str | None], ctx: CommandContext, **chosen: Any
    ) -> str:
        """A new import of a planned one's file with an edited mapping (and options): its id.
        The first stays as it was planned (never confirmed)."""
        record = await import_record(self.runtime.store, self.runtime.codec, import_id, ctx.tenant)
        path = self.kept(ctx.tenant, import_id)
        if path is None:
            raise InvalidCommand("import_id", "its file is no longer kept / 文件已不在")
        new_id = str(uuid4())
        copy = self.stored(ctx.tenant, new_id, path.suffix)
        shutil.copyfile(path, copy)
        try:
            options = ImportOptions.model_validate(
                {
                    k: v
                    for k, v in {**record.options, **chosen}.items()
                    if k in ImportOptions.model_fields
                }
            )
            on_match = str(chosen.get("on_match") or record.options.get("on_match", "skip"))
            planner = await self.planner(
                record.kind,
                copy,
                changes,
                options,
                ctx.tenant,
                new_id,
                on_match=on_match,
                role=ctx.role,
            )
            await self.plan(planner, ctx, file_name=record.file_name)
        except BaseException:
            copy.unlink(missing_ok=True)
            raise
        return new_id

    async def confirm(self, import_id: str, ctx: CommandContext) -> ImportRecord:
        """Run the import in the background (again: resume one that stopped)."""
        record = await import_record(self.runtime.store, self.runtime.codec, import_id, ctx.tenant)
        if record.status != "finished" and not self.running_here(import_id):
            planner = await self.planner_of(import_id, ctx.tenant, ctx.role)
            run_ctx = CommandContext(
                actor=ctx.actor,
                role=ctx.role,
                tenant=ctx.tenant,
                now=ctx.now,
                correlation_id=UUID(import_id),
                team=ctx.team,
            )
            # on record before the answer, so the page the user is sent to says it runs
            confirmed = await record_confirmation(planner, run_ctx)
            self.running[import_id] = asyncio.create_task(
                _run(planner, run_ctx, confirmed), name=f"import:{import_id}"
            )
        self.reports.pop(import_id, None)
        return await import_record(self.runtime.store, self.runtime.codec, import_id, ctx.tenant)


_OF: dict[int, tuple[weakref.ref[Runtime], Imports]] = {}


def imports_of(runtime: Runtime, data_dir: Path) -> Imports:
    """The runtime's imports (made at the first call)."""
    found = _OF.get(id(runtime))
    if found is not None and found[0]() is runtime:
        return found[1]
    for key in [k for k, (ref, _) in _OF.items() if ref() is None]:
        del _OF[key]
    imports = Imports(runtime, data_dir)
    _OF[id(runtime)] = (weakref.ref(runtime), imports)
    return imports


async def _run(planner: FileImport, ctx: CommandContext, confirmed: ImportState) -> None:
    try:
        await run(planner, ctx, confirmed=confirmed)
    except Exception:  # the import stays running: confirming it again resumes it
        log.exception("import %s stopped", planner.import_id)
