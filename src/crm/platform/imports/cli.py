"""``crm import``: bring records in from a CSV or Excel file, on the deployment's own stores.

``crm import customers FILE --dry-run`` says what each row would do and writes nothing;
without ``--dry-run`` the import is planned, confirmed and run, with a progress bar; an import
stopped half-way (Ctrl-C, a crash, SIGKILL) goes on with ``--resume ID``, creating no row
twice. The command runs as an admin or manager of the tenant (``--user``, ``--role``): the
same access rules as ``POST /imports``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Annotated
from uuid import UUID, uuid4

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from crm.customer.context import CONTEXT as CUSTOMER
from crm.events.imports import ImportOptions
from crm.kernel.access import Principal
from crm.kernel.auth import Role
from crm.kernel.errors import CrmError, InvalidCommand, NotFound
from crm.kernel.projection import ProjectionRunner, ensure_version
from crm.kernel.repository import CommandContext
from crm.kernel.tenants import TenantStatus
from crm.platform.bootstrap import Platform, open_platform
from crm.platform.imports.kinds import KINDS, custom_labels
from crm.platform.imports.mapping import BadMapping, edited, suggest, unmapped
from crm.platform.imports.matching import may_merge
from crm.platform.imports.record import (
    Import,
    ImportRecord,
    PlanImport,
    import_records,
    may_import,
)
from crm.platform.imports.run import FileImport, Report, run
from crm.platform.imports.sources import RowSource, UnreadableFile
from crm.platform.imports.wiring import with_imports
from crm.sales.context import CONTEXT as SALES

import_app = typer.Typer(
    help="Bring records in from CSV (UTF-8, GB18030) or Excel files.", no_args_is_help=True
)
err = Console(stderr=True)


def _operator() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


def _changes(pairs: list[str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep:
            raise BadMapping(pair, "write COLUMN=FIELD, or COLUMN= to leave it out / 格式错误")
        changes[column.strip()] = field.strip() or None
    return changes


FileArg = Annotated[
    Path,
    typer.Argument(
        help="A .csv or .xlsx file, a header row first",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Say what each row would do; write nothing")
]
Mappings = Annotated[
    list[str] | None,
    typer.Option(help="COLUMN=FIELD (or COLUMN= to leave it out); repeat for more"),
]
Resume = Annotated[
    str | None, typer.Option(help="Go on with this import (the same file) where it stopped")
]
DayFirst = Annotated[bool, typer.Option(help="03/04/2019 is 3 April")]
Region = Annotated[str, typer.Option(help="Phone numbers' country when they name none")]
Encoding = Annotated[str | None, typer.Option(help="utf-8, utf-8-sig or gb18030 (default: found)")]
Importer = Annotated[str | None, typer.Option(help="Who imports (recorded as the actor)")]
ImporterRole = Annotated[Role, typer.Option(help="admin or manager")]
TenantOpt = Annotated[str | None, typer.Option(help="Tenant (default CRM_DEFAULT_TENANT)")]
"""The options every kind's command takes."""


@import_app.command("customers")
def customers(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    region: Region = "CN",
    owner: Annotated[
        str | None, typer.Option(help="Owner of the customers (else: the pool)")
    ] = None,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="A row whose key (CRM id, e-mail, phone) is a customer already there updates"
            " it (else: reported as a duplicate)",
        ),
    ] = False,
) -> None:
    """Import customers: `--dry-run` first to see every row's outcome (would create,
    duplicate of, error with the column and the value), then without it to run."""
    _import(
        "customers",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        region,
        owner,
        encoding,
        user,
        role,
        tenant,
        on_match="update" if update else "skip",
    )


@import_app.command("interactions")
def interactions(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import past interactions (calls, e-mails, meetings, visits, chats) of existing
    customers, named by id or e-mail, each dated by its own date."""
    _import(
        "interactions",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        "CN",
        None,
        encoding,
        user,
        role,
        tenant,
    )


@import_app.command("contacts")
def contacts(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    region: Region = "CN",
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import the contacts (people) of company customers, each row's company named by its
    id, an e-mail address or its name; one the company has already is a duplicate."""
    _import(
        "contacts",
        file,
        dry_run,
        mapping,
        resume,
        False,
        region,
        None,
        encoding,
        user,
        role,
        tenant,
    )


@import_app.command("leads")
def leads(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    region: Region = "CN",
    owner: Annotated[
        str | None, typer.Option(help="The rep who owns the leads (else: who imports)")
    ] = None,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import leads (open, qualified or disqualified, each captured on its date); one whose
    e-mail or phone a lead has already is a duplicate."""
    _import(
        "leads",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        region,
        owner,
        encoding,
        user,
        role,
        tenant,
    )


@import_app.command("opportunities")
def opportunities(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    currency: Annotated[
        str | None, typer.Option(help="Currency of the amounts whose cells name none")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="The rep who owns them (else: who imports)")
    ] = None,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import opportunities of existing customers (open, won or lost), each opened and
    closed on its own dates, in a stage of the pipeline."""
    _import(
        "opportunities",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        "CN",
        owner,
        encoding,
        user,
        role,
        tenant,
        currency=currency,
    )


@import_app.command("products")
def products(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    currency: Annotated[
        str | None, typer.Option(help="Currency of the prices that name none (CNY, EUR...)")
    ] = None,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import the catalogue: each row a product (sku, name, list price); a sku already in
    the catalogue is a duplicate."""
    _import(
        "products",
        file,
        dry_run,
        mapping,
        resume,
        False,
        "CN",
        None,
        encoding,
        user,
        role,
        tenant,
        currency=currency,
    )


@import_app.command("orders")
def orders(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    currency: Annotated[
        str | None, typer.Option(help="Currency of the orders whose cells name none")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="The rep who owns the orders (else: who imports)")
    ] = None,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import past orders: one row per line, the rows of one order number together; each
    order placed, delivered, invoiced and paid on its own dates."""
    _import(
        "orders",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        "CN",
        owner,
        encoding,
        user,
        role,
        tenant,
        currency=currency,
    )


@import_app.command("invoices")
def invoices(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import invoices of orders already in the CRM (by order number or id): each row
    invoices its order on its own date; an order invoiced already is a duplicate."""
    _import(
        "invoices",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        "CN",
        None,
        encoding,
        user,
        role,
        tenant,
    )


@import_app.command("payments")
def payments(
    file: FileArg,
    dry_run: DryRun = False,
    mapping: Mappings = None,
    resume: Resume = None,
    day_first: DayFirst = False,
    encoding: Encoding = None,
    user: Importer = None,
    role: ImporterRole = Role.ADMIN,
    tenant: TenantOpt = None,
) -> None:
    """Import payments of invoices already in the CRM (by invoice id or its order): each row
    records one payment on its own date; an overpayment or an unknown invoice is the row's
    error, a payment imported already a duplicate."""
    _import(
        "payments",
        file,
        dry_run,
        mapping,
        resume,
        day_first,
        "CN",
        None,
        encoding,
        user,
        role,
        tenant,
    )


def _import(
    kind: str,
    file: Path,
    dry_run: bool,
    mapping: list[str] | None,
    resume: str | None,
    day_first: bool,
    region: str,
    owner: str | None,
    encoding: str | None,
    user: str | None,
    role: Role,
    tenant: str | None,
    *,
    on_match: str = "skip",
    currency: str | None = None,
) -> None:
    from crm.platform.cli import existing_settings

    settings = existing_settings()
    name = tenant or settings.default_tenant
    try:
        source = RowSource(file, encoding=encoding)
        if resume is not None and (
            mapping or owner or day_first or region != "CN" or on_match != "skip" or currency
        ):
            raise InvalidCommand(
                "resume", "a resumed import keeps its own mapping and options / 续导沿用原设置"
            )
        if resume is not None:
            try:
                UUID(resume)
            except ValueError:
                raise InvalidCommand("resume", "is not an import id / 不是导入编号") from None
        code = asyncio.run(
            _run(
                settings,
                KINDS[kind],
                source,
                name,
                user or _operator(),
                role,
                dry_run=dry_run,
                changes=_changes(mapping or []),
                resume=resume,
                options=_options(day_first, region, owner, currency),
                on_match=on_match,
            )
        )
    except (UnreadableFile, BadMapping) as e:
        err.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except InvalidCommand as e:
        err.print(f"[red]{e.field}: {e.message}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except CrmError as e:
        err.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


async def _run(
    settings: object,
    kind: type[FileImport],
    source: RowSource,
    tenant: str,
    user: str,
    role: Role,
    *,
    dry_run: bool,
    changes: dict[str, str | None],
    resume: str | None,
    options: ImportOptions,
    on_match: str = "skip",
) -> int:
    from crm.kernel.settings import Settings

    assert isinstance(settings, Settings)
    platform = open_platform(settings, contexts=(CUSTOMER, SALES))
    with_imports(platform.runtime)
    try:
        runtime = platform.runtime
        if await runtime.tenants.status(tenant) is not TenantStatus.ACTIVE:
            err.print(f"[red]tenant {tenant!r} does not exist or is deactivated[/red]")
            return 2
        import_id = resume or str(uuid4())
        ctx = CommandContext(
            actor=user,
            role=role.value,
            tenant=tenant,
            now=runtime.clock.now(),
            correlation_id=UUID(import_id),
        )
        may_import(Principal.of(ctx))
        await _catch_up(platform, kind.looks_up)
        if resume is not None:
            try:
                state = (
                    await runtime.commands.repository(Import).load(resume, tenant=tenant)
                ).state
            except NotFound:
                raise InvalidCommand("resume", f"no import {resume} / 没有此导入") from None
            assert state.plan is not None
            if state.plan.kind != kind.kind:
                raise InvalidCommand("resume", f"import {resume} is of {state.plan.kind}")
            planner = kind(
                runtime,
                RowSource(source.path, encoding=state.plan.options.encoding),
                dict(state.plan.mapping),
                state.plan.options,
                tenant,
                resume,
            )
            planner.merges = may_merge(role.value)
            if state.matching is not None:
                planner.on_match = state.matching.on_match
            err.print(f"resuming import {resume} after row {state.through_row}")
        else:
            fields = kind.fields
            labels = await custom_labels(runtime, tenant, kind.kind)
            suggested = suggest(source.headers, fields, labels, kind.prefers)
            chosen = edited(suggested, changes, source.headers, fields)
            left = unmapped(source.headers, chosen)
            err.print(
                "columns / 列: "
                + ", ".join(f"{h} → {f}" for h, f in chosen.items())
                + (f"; not imported / 不导入: {', '.join(left)}" if left else ""),
                highlight=False,
                soft_wrap=True,
            )
            planner = kind(runtime, source, chosen, options, tenant, import_id)
            if on_match not in kind.on_match_choices:
                raise InvalidCommand("update", f"{kind.kind} has no update / 不支持更新")
            planner.on_match = on_match  # type: ignore[assignment,unused-ignore]
            planner.merges = may_merge(role.value)
            with _Bar("dry run / 试运行", total=None) as (bar, task):
                report = await planner.dry_run(
                    lambda n, total: bar.update(task, completed=n, total=total or None)
                )
            _print_report(report)
            if dry_run:
                return 1 if report.error else 0
            plan = PlanImport(import_id, planner.planned(report), planner.matching(report))
            await runtime.commands.execute(plan, ctx)
            err.print(
                f"import {import_id} planned; if it stops, go on with --resume {import_id}",
                highlight=False,
                soft_wrap=True,
            )
        with _Bar("import / 导入", total=None) as (bar, task):
            done = await run(
                planner, ctx, lambda n, total: bar.update(task, completed=n, total=total)
            )
        typer.echo(
            f"import {import_id}: {done.create} created, {done.created} created by an earlier"
            f" run, {done.duplicate} duplicates, {done.error} failed"
            f" / 新建 {done.create + done.created}, 重复 {done.duplicate}, 失败 {done.error}"
        )
        if resume is None:
            return 0
        for outcome in done.outcomes:
            typer.echo(f"row {outcome.row}: {outcome.message}")
        return 0
    finally:
        await platform.close()


async def _catch_up(platform: Platform, names: tuple[str, ...]) -> None:
    """The read models the rows are checked against up to the log's head, once (duplicates
    and customers are looked up in them; the import matches its own rows itself, and a
    running platform keeps them current)."""
    runtime = platform.runtime
    for name in names:
        err.print(f"catching the {name} read model up (the rows are checked against it) ...")
        projection = platform.projection(name)
        await ensure_version(projection, platform.store, platform.read_store, runtime.codec)
        await ProjectionRunner(
            projection, platform.store, platform.read_store, runtime.codec
        ).catch_up()


def _options(
    day_first: bool, region: str, owner: str | None, currency: str | None
) -> ImportOptions:
    code = currency.strip().upper() if currency else None
    if code is not None and (len(code) != 3 or not code.isalpha()):
        raise InvalidCommand("currency", "must be an ISO 4217 code such as CNY / 须为币种代码")
    return ImportOptions(day_first=day_first, region=region, owner_id=owner, currency=code)


def _print_report(report: Report) -> None:
    for outcome in report.outcomes:
        typer.echo(f"row {outcome.row}: {outcome.outcome}: {outcome.message}")
    c = report.counts()
    typer.echo(
        f"{c['rows']} rows: {c['create']} would create, {c['duplicate']} duplicates,"
        f" {c['error']} errors / 共 {c['rows']} 行: 新建 {c['create']}, 重复 {c['duplicate']},"
        f" 错误 {c['error']}"
    )
    if c["update"] or c["merge"] or c["unchanged"]:
        typer.echo(
            f"{c['update']} would update, {c['merge']} would merge, {c['unchanged']} unchanged"
            f" / 更新 {c['update']}, 合并 {c['merge']}, 无需更改 {c['unchanged']}"
        )


class _Bar:
    """A progress bar on stderr (rich draws it on a terminal, and prints the end otherwise)."""

    def __init__(self, title: str, total: int | None) -> None:
        self.progress = Progress(
            TextColumn(title),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows / 行"),
            TimeRemainingColumn(),
            console=err,
        )
        self.total = total

    def __enter__(self) -> tuple[Progress, TaskID]:
        self.progress.__enter__()
        return self.progress, self.progress.add_task("rows", total=self.total)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


@import_app.command("list")
def list_imports(
    tenant: TenantOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """The tenant's imports, newest first: what each planned and did, and where it stands
    (an import `running` that no process runs any more goes on with `--resume ID`)."""
    from crm.platform.cli import existing_settings

    settings = existing_settings()
    name = tenant or settings.default_tenant

    async def records() -> list[ImportRecord]:
        platform = open_platform(settings, contexts=())
        try:
            return await import_records(platform.store, platform.runtime.codec, name)
        finally:
            await platform.close()

    found = asyncio.run(records())
    if as_json:
        for record in found:
            typer.echo(json.dumps(record.summary(), ensure_ascii=False))
        return
    table = Table(
        "import",
        "kind",
        "file",
        "status",
        "rows",
        "created",
        "duplicates",
        "failed",
        "by",
        "planned at",
    )
    for r in found:
        table.add_row(
            r.id,
            r.kind,
            r.file_name,
            r.status,
            str(r.rows),
            str(r.done["created"]),
            str(r.done["duplicate"]),
            str(r.done["failed"]),
            r.planned_by,
            r.planned_at.isoformat(timespec="seconds"),
        )
    Console().print(table)
