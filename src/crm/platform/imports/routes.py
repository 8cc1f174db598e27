"""``/imports``: upload a file and get its dry run, confirm it, follow it, list imports.

``POST /imports`` (multipart: ``file``, ``kind`` (``customers`` or ``interactions``),
optional ``mapping`` as a JSON object of column → field or null, ``day_first``, ``region``,
``owner_id``, ``encoding``) keeps the file in the data directory, runs the dry run and
records it as the import's plan: 201 with every row that would not create (duplicates,
errors with the column and value). Nothing else is
written until ``POST /imports/{id}/confirm`` (202), which runs the import in the background;
confirming again an import that stopped (the process died) resumes it, creating no row
twice. ``GET /imports/{id}`` is its status, ``GET /imports/{id}/rows`` what each row did,
``GET /imports`` the tenant's imports. Admins and managers only (403 for other roles).
"""

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from pydantic import BaseModel

from crm.events.imports import ImportOptions
from crm.kernel.access import Principal
from crm.kernel.auth import Actor
from crm.kernel.errors import InvalidCommand
from crm.kernel.event_store import Idempotency
from crm.kernel.http import Authenticator, Commands
from crm.kernel.http.commands import MAX_KEY_LENGTH
from crm.kernel.http.errors import ErrorBody
from crm.kernel.http.params import Limit, Offset
from crm.kernel.http.routers import api_router
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.platform.imports.mapping import BadMapping, edited, suggest, unmapped
from crm.platform.imports.record import (
    Import,
    ImportRecord,
    PlanImport,
    import_record,
    import_records,
    may_import,
)
from crm.platform.imports.run import KINDS, FileImport, Report, run
from crm.platform.imports.sources import ENCODINGS, RowSource, UnreadableFile
from crm.platform.imports.wiring import with_imports

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""A file larger than this is refused (422 naming ``file``): 100 000 rows of customers
are about 10 MB."""
MAX_ISSUES = 1000
"""Rows of a dry run's answer that would not create; the counts are complete."""
CHUNK = 1 << 20


class ImportSummary(BaseModel):
    id: str
    kind: str
    file_name: str
    status: Literal["planned", "running", "finished"]
    rows: int
    planned: dict[str, int]
    done: dict[str, int]
    through_row: int
    mapping: dict[str, str]
    options: dict[str, Any]
    planned_by: str
    planned_at: str
    finished_at: str | None
    running_here: bool = False
    """Whether this process is running it now (``running`` and not here: it stopped, and
    ``POST /imports/{id}/confirm`` resumes it)."""


class DryRun(BaseModel):
    summary: ImportSummary
    unmapped: list[str]
    """The file's columns no field takes (not imported)."""
    issues: list[dict[str, Any]]
    """Each row that would not create, in the file's order (at most 1000)."""
    issues_truncated: bool


class RowsPage(BaseModel):
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def router(runtime: Runtime, authenticate: Authenticator, data_dir: Path) -> APIRouter:
    """The routes, with uploaded files kept under ``data_dir``/imports/<tenant>/."""
    with_imports(runtime)
    api = api_router(prefix="/imports", tags=["imports"])
    commands = Commands(runtime, authenticate)
    Ctx = Annotated[CommandContext, Depends(commands.context())]  # noqa: N806
    Who = Annotated[Actor, Depends(authenticate)]  # noqa: N806
    running: dict[str, asyncio.Task[None]] = {}

    def folder(tenant: str) -> Path:
        path = data_dir / "imports" / tenant
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stored(tenant: str, import_id: str, suffix: str) -> Path:
        return folder(tenant) / f"{import_id}{suffix}"

    def summary(record: ImportRecord) -> ImportSummary:
        task = running.get(record.id)
        return ImportSummary(**record.summary(), running_here=task is not None and not task.done())

    @api.post(
        "",
        status_code=201,
        response_model=DryRun,
        responses={400: {"model": ErrorBody, "description": "The body is not multipart data"}},
    )
    async def upload(
        actor: Who,
        response: Response,
        file: Annotated[UploadFile, File(description="A .csv or .xlsx file, a header row first")],
        kind: Annotated[Literal["customers", "interactions"], Form()] = "customers",
        mapping: Annotated[
            str | None,
            Form(description='JSON: {"column": "field" or null}, edits of the suggested mapping'),
        ] = None,
        day_first: Annotated[bool, Form()] = False,
        region: Annotated[str, Form(min_length=2, max_length=2)] = "CN",
        owner_id: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
        encoding: Annotated[str | None, Form()] = None,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=MAX_KEY_LENGTH,
                description="A retry under the same key, with the same file and fields, plans"
                " nothing again: it answers the import the first request planned",
            ),
        ] = None,
    ) -> dict[str, Any]:
        may_import(Principal.of(actor))
        # the kernel's context hashes the raw body, which the form has consumed (and whose
        # multipart boundary differs on each retry): the request is the file and the fields
        ctx = CommandContext(
            actor=actor.id,
            role=actor.role.value,
            tenant=actor.tenant,
            now=runtime.clock.now(),
            team=actor.team,
        )
        if encoding is not None and encoding.lower() not in ENCODINGS:
            raise InvalidCommand("encoding", f"must be one of {', '.join(ENCODINGS)}")
        changes = _mapping(mapping)
        name = Path(file.filename or "upload.csv").name
        suffix = Path(name).suffix.lower()
        if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
            raise InvalidCommand("file", "must be a .csv or .xlsx file / 须为 CSV 或 Excel 文件")
        import_id = str(uuid4())
        path = stored(ctx.tenant, import_id, suffix)
        try:
            digest = await _save(file, path)
            idempotency = None
            if idempotency_key is not None:
                sent = json.dumps([kind, mapping, day_first, region, owner_id, encoding, digest])
                request_hash = hashlib.sha256(sent.encode()).hexdigest()
                key = f"{actor.tenant}:{actor.id}:{idempotency_key}"  # as every route scopes it
                idempotency = Idempotency(key, request_hash)
                replayed = await runtime.store.idempotent_result(idempotency)
                if replayed is not None:
                    path.unlink(missing_ok=True)
                    response.headers["Idempotent-Replayed"] = "true"
                    return await again(replayed.stream_id.partition("-")[2], ctx.tenant, response)
            try:
                source = RowSource(path, encoding=encoding)
                fields = KINDS[kind].fields
                chosen = edited(suggest(source.headers, fields), changes, source.headers, fields)
                options = ImportOptions(day_first=day_first, region=region, owner_id=owner_id)
                planner = KINDS[kind](runtime, source, chosen, options, ctx.tenant, import_id)
            except (UnreadableFile, BadMapping) as e:
                where = "mapping" if isinstance(e, BadMapping) else "file"
                raise InvalidCommand(where, str(e)) from None
            report = await planner.dry_run()
            plan_ctx = CommandContext(
                actor=ctx.actor,
                role=ctx.role,
                tenant=ctx.tenant,
                now=ctx.now,
                correlation_id=UUID(import_id),
                idempotency=idempotency,
                team=ctx.team,
            )
            await runtime.commands.execute(PlanImport(import_id, planner.planned(report)), plan_ctx)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return await answer(planner, report, response)

    async def answer(planner: FileImport, report: Report, response: Response) -> dict[str, Any]:
        response.headers["Location"] = f"/imports/{planner.import_id}"
        record = await import_record(
            runtime.store, runtime.codec, planner.import_id, planner.tenant
        )
        return {
            "summary": summary(record),
            "unmapped": unmapped(planner.source.headers, planner.mapping),
            "issues": [o.as_dict() for o in report.outcomes[:MAX_ISSUES]],
            "issues_truncated": len(report.outcomes) > MAX_ISSUES,
        }

    async def again(import_id: str, tenant: str, response: Response) -> dict[str, Any]:
        """The answer to an upload retried under its key: the import it planned, its dry run
        read again from the kept file (nothing is planned twice)."""
        planner = await planner_of(import_id, tenant)
        return await answer(planner, await planner.dry_run(), response)

    async def planner_of(import_id: str, tenant: str) -> FileImport:
        plan = (await runtime.commands.repository(Import).load(import_id, tenant=tenant)).state
        assert plan.plan is not None
        path = next(folder(tenant).glob(f"{import_id}.*"), None)
        if path is None:
            raise InvalidCommand("import_id", "its file is no longer kept / 文件已不在")
        options = plan.plan.options
        return KINDS[plan.plan.kind](
            runtime,
            RowSource(path, encoding=options.encoding),
            dict(plan.plan.mapping),
            options,
            tenant,
            import_id,
        )

    @api.post("/{import_id}/confirm", status_code=202, response_model=ImportSummary)
    async def confirm(import_id: UUID, ctx: Ctx) -> ImportSummary:
        may_import(Principal.of(ctx))
        id_ = str(import_id)
        record = await import_record(runtime.store, runtime.codec, id_, ctx.tenant)
        task = running.get(id_)
        if record.status != "finished" and (task is None or task.done()):
            planner = await planner_of(id_, ctx.tenant)
            run_ctx = CommandContext(
                actor=ctx.actor,
                role=ctx.role,
                tenant=ctx.tenant,
                now=ctx.now,
                correlation_id=import_id,
                team=ctx.team,
            )
            running[id_] = asyncio.create_task(_run(planner, run_ctx), name=f"import:{id_}")
            await asyncio.sleep(0)  # let it record the confirmation
        return summary(await import_record(runtime.store, runtime.codec, id_, ctx.tenant))

    @api.get("", response_model=list[ImportSummary])
    async def list_imports(actor: Who) -> list[ImportSummary]:
        may_import(Principal.of(actor))
        records = await import_records(runtime.store, runtime.codec, actor.tenant)
        return [summary(r) for r in records]

    @api.get("/{import_id}", response_model=ImportSummary)
    async def get_import(import_id: UUID, actor: Who) -> ImportSummary:
        may_import(Principal.of(actor))
        return summary(
            await import_record(runtime.store, runtime.codec, str(import_id), actor.tenant)
        )

    @api.get("/{import_id}/rows", response_model=RowsPage)
    async def rows(
        import_id: UUID,
        actor: Who,
        outcome: Annotated[Literal["created", "duplicate", "failed"], Query()] = "created",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """What each row did: the records it created (the import's records), the rows found
        duplicate (of which customer), the rows refused (column and reason)."""
        may_import(Principal.of(actor))
        record = await import_record(runtime.store, runtime.codec, str(import_id), actor.tenant)
        chosen: list[BaseModel] = list(
            record.records
            if outcome == "created"
            else record.duplicates
            if outcome == "duplicate"
            else record.failed
        )
        items = [r.model_dump() for r in chosen[offset : offset + limit]]
        return {"items": items, "total": len(chosen), "limit": limit, "offset": offset}

    return api


def _mapping(text: str | None) -> dict[str, str | None]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidCommand("mapping", "must be a JSON object / 须为 JSON 对象") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise InvalidCommand("mapping", 'must be {"column": "field" or null} / 格式错误')
    return value


async def _save(file: UploadFile, path: Path) -> str:
    """Write the upload to ``path``; its SHA-256."""
    size = 0
    digest = hashlib.sha256()
    with path.open("wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise InvalidCommand(
                    "file", f"is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB / 文件过大"
                )
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


async def _run(planner: FileImport, ctx: CommandContext) -> None:
    try:
        await run(planner, ctx)
    except Exception:  # the import stays running: confirming it again resumes it
        log.exception("import %s stopped", planner.import_id)
