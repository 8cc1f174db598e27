"""The import page (admins and managers): a CSV or xlsx file uploaded with its kind (those
:func:`crm.platform.imports.kinds.available` offers), the columns matched to fields (each a
select the user changes, then checks again), day-first or month-first dates, and for customers
what a row that is a customer already there does (reported, or updated; a ``merge_into`` column
merges); the dry run's counts and its rows that do not simply create, paged; confirm; the
progress while it runs (the page reloads itself every two seconds until it finishes); the
tenant's imports and each import's records.

The page runs imports through :mod:`crm.platform.imports.service`, as ``/imports`` does, as
the signed-in user: a changed mapping plans a new import of the same kept file (the first
stays planned, never confirmed), so every dry run the user saw is on record.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from crm.console.i18n import Translator
from crm.console.pages import PREFIX, Console, guarded, see
from crm.events.imports import ImportOptions
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.errors import InvalidCommand
from crm.platform.imports.kinds import CUSTOM_OF, available
from crm.platform.imports.mapping import ANY_CUSTOM, CUSTOM, unmapped
from crm.platform.imports.record import import_record, import_records, may_import
from crm.platform.imports.routes import _save, outcome_rows
from crm.platform.imports.service import imports_of
from crm.platform.imports.sources import ENCODINGS, RowSource

PAGE = 20
ISSUES = ("error", "duplicate", "update", "merge", "unchanged")
"""The dry run's rows the page lists, by what they do (a row that creates is only counted)."""
RECORDS = ("created", "updated", "merged", "unchanged", "duplicate", "failed")
REFRESH_SECONDS = 2


def label(t: Translator, prefix: str, name: str) -> str:
    """The catalogue's text for ``prefix + name``, else the name itself (a kind or field
    another part of the platform added)."""
    key = prefix + name
    text = t(key)
    return name if text == key else text


def imports_router(console: Console, data_dir: Path) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    imports = imports_of(runtime, data_dir)
    definitions = DefinitionsOf(runtime.store, runtime.codec)
    page_ = guarded(console)
    KINDS = available(runtime)  # noqa: N806 (the kinds this process runs)

    async def choices(kind: str, tenant: str) -> list[str]:
        fields = [f for f in KINDS[kind].fields if f != ANY_CUSTOM]
        entity = CUSTOM_OF.get(kind)
        if ANY_CUSTOM in KINDS[kind].fields and entity is not None:
            defined = (await definitions(tenant)).of(entity)
            fields += [f"{CUSTOM}{d.key}" for d in defined]
        return fields

    async def owners(tenant: str) -> list[tuple[str, str]]:
        """Who may own what an import creates: the tenant's active reps and managers."""
        users = await console.directory.users(tenant)
        return [
            (u["id"], u["display_name"])
            for u in users
            if u["active"] and u["role"] in (Role.SALES_REP.value, Role.MANAGER.value)
        ]

    @api.get(f"{PREFIX}/imports")
    @page_
    async def listing(request: Request, page: int = 1) -> Response:
        visit, actor = await console.signed_in(request)
        may_import(Principal.of(actor))
        records = await import_records(runtime.store, runtime.codec, actor.tenant)
        pages = max(1, math.ceil(len(records) / PAGE))
        page = max(1, min(page, pages))
        t = visit.t
        return console.render(
            visit,
            request,
            "imports.html",
            records=records[(page - 1) * PAGE : page * PAGE],
            page=page,
            pages=pages,
            link=lambda p: f"{PREFIX}/imports?page={p}",
            kinds=[(k, label(t, "import.kind.", k)) for k in KINDS],
            owners=await owners(actor.tenant),
            encodings=ENCODINGS,
            kind_label=lambda k: label(t, "import.kind.", k),
            text=lambda prefix, name: label(t, prefix, name),
            names=await console.directory.names(actor.tenant),
        )

    @api.post(f"{PREFIX}/imports")
    @page_
    async def upload(
        request: Request,
        file: UploadFile = File(),
        kind: str = Form(max_length=40),
        day_first: bool = Form(default=False),
        on_match: str = Form(default="skip", max_length=20),
        region: str = Form(default="CN", min_length=2, max_length=2),
        currency: str = Form(default="", max_length=3),
        owner_id: str = Form(default="", max_length=200),
        encoding: str = Form(default="", max_length=20),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        may_import(Principal.of(actor))
        if kind not in KINDS:
            raise InvalidCommand("kind", f"must be one of {', '.join(KINDS)}")
        if on_match not in KINDS[kind].on_match_choices and on_match in ("skip", "update"):
            on_match = "skip"  # the form's choice is about customers; other kinds have none
        name = Path(file.filename or "upload.csv").name
        suffix = Path(name).suffix.lower()
        if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
            raise InvalidCommand("file", "must be a .csv or .xlsx file / 须为 CSV 或 Excel 文件")
        import_id = str(uuid4())
        path = imports.stored(actor.tenant, import_id, suffix)
        ctx = console.context(visit)
        try:
            await _save(file, path)
            owner = owner_id.strip() or None
            if owner is not None and owner not in dict(await owners(actor.tenant)):
                raise InvalidCommand("owner_id", "is not an active rep or manager / 不是在职销售")
            options = ImportOptions(
                day_first=day_first,
                region=region.upper(),
                currency=_currency(currency),
                owner_id=owner,
                encoding=_encoding(encoding),
            )
            planner = await imports.planner(
                kind, path, {}, options, actor.tenant, import_id, on_match=on_match, role=ctx.role
            )
            await imports.plan(planner, ctx, file_name=name)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return see(f"{PREFIX}/imports/{import_id}")

    @api.get(f"{PREFIX}/imports/{{import_id}}")
    @page_
    async def one(
        request: Request,
        import_id: UUID,
        show: str | None = None,
        page: int = 1,
        min_position: int | None = None,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        may_import(Principal.of(actor))
        id_ = str(import_id)
        record = await import_record(runtime.store, runtime.codec, id_, actor.tenant)
        t = visit.t
        values: dict[str, Any] = {}
        rows: list[Any]
        tabs: tuple[str, ...]
        if record.status == "planned":
            show = show if show in ISSUES else "error"
            report = await imports.dry_run_of(id_, actor.tenant, actor.role.value)
            outcomes = GROUPS.get(show, (show,))
            total = report.outcomes.count(outcomes)
            path = imports.kept(actor.tenant, id_)
            headers = (
                RowSource(path, encoding=record.options.get("encoding")).headers if path else []
            )
            fields = await choices(record.kind, actor.tenant)
            values.update(
                columns=list(enumerate(headers)),
                fields=[(f, label(t, "import.field.", f)) for f in fields],
                unmapped=unmapped(headers, record.mapping),
                counts=report.counts(),
                on_match_choices=KINDS[record.kind].on_match_choices,
            )
            tabs = ISSUES
        else:
            show = show if show in RECORDS else "created"
            chosen = outcome_rows(record, show)
            total = len(chosen)
            tabs = RECORDS
        pages = max(1, math.ceil(total / PAGE))
        page = max(1, min(page, pages))
        if record.status == "planned":
            rows = report.outcomes.page((page - 1) * PAGE, PAGE, outcomes)
        else:
            rows = [r.model_dump() for r in chosen[(page - 1) * PAGE : page * PAGE]]
        here = imports.running_here(id_)
        running = record.status == "running" and here
        return console.render(
            visit,
            request,
            "import.html",
            r=record,
            kind=label(t, "import.kind.", record.kind),
            show=show,
            tabs=[(s, t(f"import.show.{s}")) for s in tabs],
            rows=rows,
            page=page,
            pages=pages,
            link=lambda p, s=show: f"{PREFIX}/imports/{id_}?{urlencode({'show': s, 'page': p})}",
            tab_link=lambda s: f"{PREFIX}/imports/{id_}?{urlencode({'show': s})}",
            refresh=REFRESH_SECONDS if running else None,
            stopped=record.status == "running" and not here,
            # the records' pages wait for what the import wrote (read-your-writes)
            written=None if record.status == "planned" else await runtime.store.head_position(),
            percent=round(100 * record.through_row / max(record.rows + 1, 1)),
            field_label=lambda f: label(t, "import.field.", f),
            text=lambda prefix, name: label(t, prefix, name),
            **values,
        )

    @api.post(f"{PREFIX}/imports/{{import_id}}/mapping")
    @page_
    async def remap(
        request: Request,
        import_id: UUID,
        day_first: bool = Form(default=False),
        on_match: str = Form(default="skip", max_length=20),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        may_import(Principal.of(actor))
        id_ = str(import_id)
        record = await import_record(runtime.store, runtime.codec, id_, actor.tenant)
        if record.status != "planned":
            raise InvalidCommand("import_id", "is confirmed already / 已确认")
        path = imports.kept(actor.tenant, id_)
        if path is None:
            raise InvalidCommand("import_id", "its file is no longer kept / 文件已不在")
        headers = RowSource(path, encoding=record.options.get("encoding")).headers
        form = await request.form()
        changes: dict[str, str | None] = {}
        for i, header in enumerate(headers):
            chosen = form.get(f"column.{i}")
            changes[header] = str(chosen) if isinstance(chosen, str) and chosen else None
        new_id = await imports.replan(
            id_, changes, console.context(visit), day_first=day_first, on_match=on_match
        )
        return see(f"{PREFIX}/imports/{new_id}")

    @api.post(f"{PREFIX}/imports/{{import_id}}/confirm")
    @page_
    async def confirm(request: Request, import_id: UUID) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        may_import(Principal.of(actor))
        await imports.confirm(str(import_id), console.context(visit))
        return see(f"{PREFIX}/imports/{import_id}")

    return api


GROUPS = {"update": ("update", "updated"), "merge": ("merge", "merged")}
"""A dry run's tab → the outcomes its rows may have (else the tab's own)."""


def _encoding(text: str) -> str | None:
    """The form's encoding of a CSV (blank: found from the file), or a 422 naming it."""
    chosen = text.strip().lower() or None
    if chosen is not None and chosen not in ENCODINGS:
        raise InvalidCommand("encoding", f"must be one of {', '.join(ENCODINGS)} / 编码无效")
    return chosen


def _currency(text: str) -> str | None:
    """The form's currency (blank: none), or a 422 naming it."""
    code = text.strip().upper()
    if not code:
        return None
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidCommand("currency", "must be an ISO 4217 code such as CNY / 须为币种代码")
    return code
