"""``/imports``: upload a file and get its dry run, confirm it, follow it, list imports.

``POST /imports`` (multipart: ``file``, ``kind`` (one of :data:`.kinds.KINDS` this process
runs: customers, interactions, leads, opportunities, products, orders, invoices, payments),
optional ``mapping`` as a JSON object of column → field or null, ``day_first``, ``region``,
``owner_id``, ``encoding``, and for customers ``on_match``: ``skip`` or ``update``, see
:mod:`.matching`) keeps the file in the data directory, runs the dry run and
records it as the import's plan: 201 with every row that would not create (duplicates,
errors with the column and value). Nothing else is
written until ``POST /imports/{id}/confirm`` (202), which runs the import in the background;
confirming again an import that stopped (the process died) resumes it, creating no row
twice. ``GET /imports/{id}`` is its status, ``GET /imports/{id}/rows`` what each row did,
``GET /imports`` the tenant's imports. Admins and managers only (403 for other roles).
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from pydantic import BaseModel

from crm.events.imports import ImportKind, ImportOptions
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
from crm.platform.imports.mapping import unmapped
from crm.platform.imports.record import (
    ImportRecord,
    import_record,
    import_records,
    may_import,
)
from crm.platform.imports.run import FileImport, Report
from crm.platform.imports.service import imports_of
from crm.platform.imports.sources import ENCODINGS
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
    imports = imports_of(runtime, data_dir)
    stored = imports.stored

    def summary(record: ImportRecord) -> ImportSummary:
        return ImportSummary(**record.summary(), running_here=imports.running_here(record.id))

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
        kind: Annotated[ImportKind, Form()] = "customers",
        mapping: Annotated[
            str | None,
            Form(description='JSON: {"column": "field" or null}, edits of the suggested mapping'),
        ] = None,
        day_first: Annotated[bool, Form()] = False,
        region: Annotated[str, Form(min_length=2, max_length=2)] = "CN",
        owner_id: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
        encoding: Annotated[str | None, Form()] = None,
        currency: Annotated[
            str | None,
            Form(
                pattern="^[A-Z]{3}$",
                description="products, orders: the prices' currency where a cell names none",
            ),
        ] = None,
        on_match: Annotated[
            Literal["skip", "update"],
            Form(
                description="customers: a row whose key is a customer already there is"
                " reported as a duplicate (skip) or updates that customer (update)"
            ),
        ] = "skip",
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
                sent = json.dumps(
                    [kind, mapping, day_first, region, owner_id, encoding, digest]
                    + ([on_match] if on_match != "skip" else [])
                    + ([currency] if currency is not None else [])
                )
                request_hash = hashlib.sha256(sent.encode()).hexdigest()
                key = f"{actor.tenant}:{actor.id}:{idempotency_key}"  # as every route scopes it
                idempotency = Idempotency(key, request_hash)
                replayed = await runtime.store.idempotent_result(idempotency)
                if replayed is not None:
                    path.unlink(missing_ok=True)
                    response.headers["Idempotent-Replayed"] = "true"
                    return await again(replayed.stream_id.partition("-")[2], ctx.tenant, response)
            options = ImportOptions(
                day_first=day_first,
                region=region,
                owner_id=owner_id,
                encoding=encoding,
                currency=currency,
            )
            planner = await imports.planner(
                kind,
                path,
                changes,
                options,
                ctx.tenant,
                import_id,
                on_match=on_match,
                role=ctx.role,
            )
            report = await imports.plan(planner, ctx, idempotency, name)
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
            "issues": [o.as_dict() for o in report.outcomes.page(0, MAX_ISSUES)],
            "issues_truncated": len(report.outcomes) > MAX_ISSUES,
        }

    async def again(import_id: str, tenant: str, response: Response) -> dict[str, Any]:
        """The answer to an upload retried under its key: the import it planned, its dry run
        read again from the kept file (nothing is planned twice)."""
        planner = await imports.planner_of(import_id, tenant)
        return await answer(planner, await planner.dry_run(), response)

    @api.post("/{import_id}/confirm", status_code=202, response_model=ImportSummary)
    async def confirm(import_id: UUID, ctx: Ctx) -> ImportSummary:
        may_import(Principal.of(ctx))
        return summary(await imports.confirm(str(import_id), ctx))

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
        outcome: Annotated[
            Literal["created", "duplicate", "failed", "updated", "merged", "unchanged"], Query()
        ] = "created",
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """What each row did: the records it created (the import's records), the rows found
        duplicate (of which customer), the rows refused (column and reason); a customers
        import's rows that updated, merged or found unchanged customers already there."""
        may_import(Principal.of(actor))
        record = await import_record(runtime.store, runtime.codec, str(import_id), actor.tenant)
        chosen: list[BaseModel] = list(outcome_rows(record, outcome))
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


def outcome_rows(record: ImportRecord, outcome: str) -> Sequence[BaseModel]:
    """The rows of a finished (or running) import that did ``outcome``."""
    rows: dict[str, Sequence[BaseModel]] = {
        "created": record.records,
        "duplicate": record.duplicates,
        "failed": record.failed,
        "updated": record.updated,
        "merged": record.merged,
        "unchanged": record.unchanged,
    }
    return rows[outcome]
