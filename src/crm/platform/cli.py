"""The ``crm`` command."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table

from crm.console.cli import users_app
from crm.kernel.auth import Role
from crm.kernel.context import BoundedContext
from crm.kernel.errors import InvalidCommand, RuleViolated
from crm.kernel.projection import Projection, rebuild
from crm.kernel.settings import Settings
from crm.kernel.tenants import (
    ActivateTenant,
    CreateTenant,
    DeactivateTenant,
    TenantRecord,
    TenantStatus,
    operator_context,
    tenant_records,
)
from crm.platform.bootstrap import (
    NoSecret,
    Platform,
    context_named,
    ensure_first_tenant,
    fed_by_bus,
    open_platform,
    token_issuer,
    topics_for,
)
from crm.platform.imports.cli import import_app
from crm.platform.local import NoDeployment, command_line, existing_deployment, uses_data_dir

app = typer.Typer(
    help="The CRM platform: serve it, issue tokens, publish schemas, run projections.",
    no_args_is_help=True,
)
events_app = typer.Typer(help="The published language.", no_args_is_help=True)
projections_app = typer.Typer(
    help="Read models: status, rebuilds, dead letters.", no_args_is_help=True
)
app.add_typer(events_app, name="events")
app.add_typer(projections_app, name="projections")
tenants_app = typer.Typer(
    help="Tenants: an operator creates, lists, deactivates and activates them.",
    no_args_is_help=True,
)
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
console = Console(stderr=True)


SERVE_CONSOLE = "console"  # `crm serve console`: the web console as its own service


def _serve(settings: Settings, build: Callable[[Platform], Any], service: str = "platform") -> None:
    from crm.platform import server
    from crm.platform.telemetry import setup_process

    setup_process(settings.log_level, service)  # CRM_LOG_FORMAT, OTLP, CRM_METRICS_PORT
    platform = open_platform(settings)
    try:
        server.run(
            build(platform),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
        )
    finally:
        asyncio.run(platform.close())


def _context(name: str) -> BoundedContext:
    try:
        return context_named(name)
    except KeyError as e:
        console.print(f"[red]{e.args[0]}[/red]")
        raise typer.Exit(2) from None


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Interface to bind (CRM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (CRM_PORT)")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Generate demo data first if the store is empty")
    ] = False,
    demo_customers: Annotated[int, typer.Option(min=1, help="Customers of the demo")] = 100,
    demo_months: Annotated[int, typer.Option(min=1, max=120, help="Months of the demo")] = 12,
) -> None:
    """Serve the whole platform in one process on the embedded default (SQLite, no server)."""
    from crm.platform.app import create_app

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    if demo:
        _demo_if_empty(settings, demo_customers, demo_months)
    created = _first_tenant(settings)
    token_line = command_line(settings, "token", "--user", "alice", "--role", "manager")
    console.print(
        f"[bold]CRM[/bold] on http://{settings.host}:{settings.port}  (API docs at /docs)\n"
        f"console at http://{settings.host}:{settings.port}/  (first admin: crm users add --help)\n"
        f"data in {settings.data_dir.resolve()}\n"
        + (f"created the tenant {created!r} (crm tenants --help)\n" if created else "")
        + f"get a token:  {token_line}",
        highlight=False,
        soft_wrap=True,
    )
    _serve(settings, create_app)


def _first_tenant(settings: Settings) -> str | None:
    """``crm up`` on a store where no tenant was ever created creates the default one."""

    async def run() -> str | None:
        platform = open_platform(settings, contexts=())
        try:
            return await ensure_first_tenant(platform)
        finally:
            await platform.close()

    return asyncio.run(run())


def _store_is_empty(settings: Settings) -> bool:
    """No context recorded anything yet (the tenants an operator created do not count)."""

    async def empty() -> bool:
        platform = open_platform(settings)
        categories = set().union(*(c.categories for c in platform.contexts))
        try:
            async for _ in platform.store.read_all(0, batch_size=1, categories=categories):
                return False
            return True
        finally:
            await platform.close()

    return asyncio.run(empty())


def _demo_if_empty(settings: Settings, customers: int, months: int) -> None:
    from crm.platform.demo import DEFAULT_SEED

    if _store_is_empty(settings):
        _generate(settings, customers, months, DEFAULT_SEED)
    else:
        console.print("the store holds events already: no demo data generated")


def _generate(settings: Settings, customers: int, months: int, seed: int) -> None:
    from crm.platform.demo import generate

    with Progress(
        TextColumn(f"demo: {customers} customers, {months} months"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days  {task.fields[commands]} commands"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("demo", total=None, commands=0)

        def progress(day: int, days: int, commands: int) -> None:
            bar.update(task, completed=day, total=days, commands=commands)

        report = asyncio.run(
            generate(settings, customers=customers, months=months, seed=seed, progress=progress)
        )
    console.print(
        f"{report.commands} commands in {report.seconds:.1f}s"
        f" ({report.commands_per_second:.0f}/s), {sum(report.events.values())} events,"
        f" {report.start} to {report.end}; ground truth in {report.truth}"
    )
    from crm.platform.demo.console_users import DEMO_PASSWORD

    people = Table("user", "role", "team", title="the demo company's users (crm token --user)")
    for user, role, team in report.users:
        people.add_row(user, role, team or "")
    console.print(people)
    console.print(
        f"the console at / signs in each of them with the password {DEMO_PASSWORD}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=1, help="How many customers")] = 100,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history")] = 12,
    seed: Annotated[int, typer.Option(help="Same seed, same behaviour")] = 42,
) -> None:
    """Generate realistic history through the HTTP commands, a simulated day at a time,
    with customers who drift away in known ways (truth in <data dir>/demo-truth.json)."""
    settings = Settings()
    if not _store_is_empty(settings):
        console.print(
            f"[red]the store in {settings.data_dir} holds events already: demo data goes into an"
            " empty one (set CRM_DATA_DIR)[/red]"
        )
        raise typer.Exit(2)
    _generate(settings, customers, months, seed)


@app.command()
def serve(
    context: Annotated[
        str,
        typer.Argument(help="customer, sales, service-desk, analytics, activities or console"),
    ],
) -> None:
    """Serve one context's HTTP API alone (its own deployment). Its own projections run
    in-process; with CRM_BUS set, those fed by other contexts are left to `crm worker`.
    `crm serve console`: the web console alone, over the stores the context services share
    (it runs none of their projections, reactions or schedulers)."""
    from crm.platform.app import create_app

    settings = Settings()
    if context == SERVE_CONSOLE:
        _serve(
            settings.model_copy(),
            lambda platform: create_app(platform, api=False),
            service="console",
        )
        return
    ctx = _context(context)
    by_bus = fed_by_bus(ctx) if settings.bus else []
    own = [p for p in ctx.projections if p not in by_bus]
    _serve(
        settings.model_copy(),
        lambda platform: create_app(platform.only(ctx), projections=own, console=False),
        service=ctx.name,
    )


@app.command()
def relay(
    context: Annotated[str, typer.Argument(help="The context whose events to publish")],
) -> None:
    """Publish a context's events from its event store to Kafka (`crm.<context>.events`)."""
    from crm.platform.processes import relay_app

    settings = Settings()
    ctx = _context(context)
    if not settings.bus:
        console.print("[red]CRM_BUS is not set (e.g. kafka://127.0.0.1:9092)[/red]")
        raise typer.Exit(2)
    bus = settings.bus
    _serve(settings, lambda platform: relay_app(platform, ctx, bus), service=f"relay-{ctx.name}")


@app.command()
def worker(context: Annotated[str, typer.Argument(help="analytics")] = "analytics") -> None:
    """Run a context's cross-context projections as a Faust app in a Kafka consumer group."""
    import faust

    from crm.platform.worker import build_app

    settings = Settings()
    ctx = _context(context)
    projections = fed_by_bus(ctx)
    if not settings.bus or not projections:
        console.print(
            "[red]needs CRM_BUS, and a context with projections fed by other contexts[/red]"
        )
        raise typer.Exit(2)
    from crm.platform.telemetry import setup_process

    setup_process(settings.log_level, f"worker-{ctx.name}")
    platform = open_platform(settings)
    faust_app, _ = build_app(
        platform.runtime,
        projections,
        topics_for(projections),
        bus_url=settings.bus,
        app_id=f"crm-{ctx.name}",
        partitions=settings.kafka_partitions,
        replication=settings.kafka_replication,
        web_port=settings.port,
        web_host=settings.host,
        rebalance_timeout=settings.kafka_rebalance_timeout_seconds,
        session_timeout=settings.kafka_session_timeout_seconds,
        datadir=settings.data_dir / "faust",
        fetch_wait_ms=settings.kafka_fetch_wait_ms,
    )
    faust.Worker(  # logging as setup_process configured it (CRM_LOG_FORMAT)
        faust_app, loglevel=settings.log_level.lower(), override_logging=False
    ).execute_from_commandline()


@app.command()
def token(
    user: Annotated[str, typer.Option(help="The user id the token is for")],
    role: Annotated[Role, typer.Option(help="The user's role")],
    tenant: Annotated[str | None, typer.Option(help="Tenant (default CRM_DEFAULT_TENANT)")] = None,
    team: Annotated[
        str | None, typer.Option(help="The user's sales team (a manager manages its records)")
    ] = None,
) -> None:
    """Print an access token signed with the secret of the platform `crm up` serves here, for
    a tenant that exists and is active (nothing is created: without the platform's data,
    this says where it looked)."""
    settings = existing_settings()
    try:
        issuer = token_issuer(settings, create=False)
    except NoSecret as e:
        console.print(
            f"[red]{e}: start the platform first (`crm up`), or set CRM_SECRET as it has it[/red]",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    name = tenant or settings.default_tenant

    async def status() -> TenantStatus:
        platform = open_platform(settings, contexts=())
        try:
            return await platform.runtime.tenants.status(name)
        finally:
            await platform.close()

    found = asyncio.run(status())
    if found is not TenantStatus.ACTIVE:
        said = "does not exist" if found is TenantStatus.UNKNOWN else "is deactivated"
        fix = "add" if found is TenantStatus.UNKNOWN else "activate"
        console.print(
            f"[red]tenant {name!r} {said}: its tokens would be refused (401);"
            f" `crm tenants {fix} {name}` first[/red]",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    typer.echo(issuer.issue(user, role, name, team=team))


def existing_settings() -> Settings:
    """The settings of the deployment a command acts on: its data directory found as
    :func:`crm.platform.local.existing_deployment` finds it, or exit 2 saying where it was
    looked for."""
    settings = Settings()
    try:
        found = existing_deployment(settings)
    except NoDeployment as e:
        console.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if uses_data_dir(found) and found.data_dir.absolute() != settings.data_dir.absolute():
        console.print(
            f"using the platform data in {found.data_dir}", highlight=False, soft_wrap=True
        )
    return found


@tenants_app.command("add")
def tenants_add(
    tenant: Annotated[str, typer.Argument(help="Its id, as tokens name it (e.g. acme)")],
    name: Annotated[str | None, typer.Option(help="What people call it (default: the id)")] = None,
) -> None:
    """Create a tenant: tokens naming it are accepted from now on."""
    _tenant_command(CreateTenant(tenant, name), f"tenant {tenant!r} created")


@tenants_app.command("deactivate")
def tenants_deactivate(
    tenant: Annotated[str, typer.Argument(help="The tenant's id")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in its record)")] = None,
) -> None:
    """Deactivate a tenant: its tokens are refused (401), its data stays."""
    _tenant_command(
        DeactivateTenant(tenant, reason),
        f"tenant {tenant!r} deactivated: every process refuses its tokens within"
        f" {Settings().tenant_cache_seconds:g} s (CRM_TENANT_CACHE_SECONDS)",
    )


@tenants_app.command("activate")
def tenants_activate(tenant: Annotated[str, typer.Argument(help="The tenant's id")]) -> None:
    """Activate a deactivated tenant again."""
    _tenant_command(ActivateTenant(tenant), f"tenant {tenant!r} active")


@tenants_app.command("list")
def tenants_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Every tenant ever created, with its status."""
    settings = existing_settings()

    async def run() -> list[TenantRecord]:
        platform = open_platform(settings, contexts=())
        try:
            return await tenant_records(platform.store)
        finally:
            await platform.close()

    records = asyncio.run(run())
    if as_json:
        for r in records:
            typer.echo(
                json.dumps(
                    {
                        "id": r.id,
                        "name": r.name,
                        "status": r.status.value,
                        "reason": r.reason,
                        "created_at": r.created_at.isoformat(),
                        "changed_at": r.changed_at.isoformat(),
                    }
                )
            )
        return
    table = Table("tenant", "name", "status", "since", "reason")
    for r in records:
        table.add_row(r.id, r.name, r.status.value, r.changed_at.isoformat(), r.reason or "")
    Console().print(table)


def _tenant_command(command: object, done: str) -> None:
    settings = existing_settings()
    tenant: str = getattr(command, "tenant_id")  # noqa: B009

    async def run() -> bool:
        platform = open_platform(settings, contexts=())
        try:
            ctx = operator_context(tenant, _operator(), platform.runtime.clock.now())
            return (await platform.runtime.commands.run(command, ctx)).recorded
        finally:
            await platform.close()

    try:
        recorded = asyncio.run(run())
    except InvalidCommand as e:
        console.print(f"[red]{e.message}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except RuleViolated as e:
        console.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        done if recorded else f"tenant {tenant!r}: nothing to change",
        highlight=False,
        soft_wrap=True,
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@events_app.command("schema")
def events_schema(
    out: Annotated[Path, typer.Option(help="Directory to write the schemas into")] = Path(
        "schemas/events"
    ),
) -> None:
    """Write the JSON Schema of the envelope and of every event type and version."""
    from crm.events.schema import write_schemas

    written = write_schemas(out)
    console.print(f"wrote {len(written)} schemas to {out}")


@events_app.command("asyncapi")
def events_asyncapi(
    out: Annotated[Path, typer.Option(help="File to write the document into")] = Path(
        "asyncapi.json"
    ),
) -> None:
    """Write the AsyncAPI 3 document of every topic (served too, at /asyncapi.json)."""
    from crm.events import REGISTRY
    from crm.platform.asyncapi import asyncapi_document
    from crm.platform.bootstrap import CONTEXTS

    document = asyncapi_document(REGISTRY, CONTEXTS, bus=Settings().bus)
    out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    console.print(f"wrote the AsyncAPI document of {len(document['channels'])} topics to {out}")


class _Steps:
    """One progress bar per file copied or projection rebuilt, on stderr."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, Any] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        if what not in self.tasks:
            unit = "events" if what.startswith("rebuild") else "pages"
            self.tasks[what] = self.bar.add_task(what, total=total or None, unit=unit)
        self.bar.update(self.tasks[what], completed=done, total=total or None)


def _steps_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeRemainingColumn(),
        console=console,
    )


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="A new directory for the event log's copy")],
    keys: Annotated[
        Path | None,
        typer.Option(
            help="A new directory, apart from DIRECTORY, for the key store's copy (without it"
            " the keys are not backed up)"
        ),
    ] = None,
) -> None:
    """Back up the embedded stores while the platform runs: the event log into DIRECTORY,
    the key store only into --keys (never beside the log: erasure deletes keys). Read
    models are not backed up; `crm restore` rebuilds them."""
    from crm.platform.backup import BackupError
    from crm.platform.backup import backup as run_backup

    settings = existing_settings()
    try:
        with _steps_bar() as bar:
            report = run_backup(settings, directory, keys, _Steps(bar))
    except BackupError as e:
        console.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"backed up {report.events} events (head {report.head_position}) to {directory}"
        + (f", the keys to {keys}" if keys is not None else "")
        + ("" if keys is not None else "; [yellow]the keys were not backed up (--keys)[/yellow]"),
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def restore(
    directory: Annotated[Path, typer.Argument(help="A directory `crm backup` wrote")],
    keys: Annotated[
        Path | None, typer.Option(help="The key store's backup (`crm backup --keys`)")
    ] = None,
    without_keys: Annotated[
        bool,
        typer.Option(
            "--without-keys", help="Restore the log without keys: every personal field erased"
        ),
    ] = False,
) -> None:
    """Restore a backup into a fresh data directory (CRM_DATA_DIR; nothing may be there
    yet), then rebuild every read model from the restored log."""
    from crm.platform.backup import BackupError
    from crm.platform.backup import restore as run_restore

    if (keys is None) == (not without_keys):
        console.print(
            "[red]give the key store's backup (--keys DIR), or --without-keys to restore the"
            " log with every personal field unreadable[/red]",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    settings = Settings()
    try:
        with _steps_bar() as bar:
            report = asyncio.run(run_restore(settings, directory, keys, _Steps(bar)))
    except BackupError as e:
        console.print(f"[red]{e}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(
        f"restored {report.events} events (head {report.head_position})"
        f" into {settings.data_dir}, {'with' if report.keys else 'without'} keys;"
        f" rebuilt {len(report.rebuilt)} read models",
        highlight=False,
        soft_wrap=True,
    )


def every_projection(platform: Platform) -> list[Projection]:
    """The contexts' projections and the console's (``console_users``, ``console_teams``),
    which ``crm up`` runs too: what ``crm projections`` lists and rebuilds."""
    from crm.console.install import console_projections

    return [*platform.projections, *console_projections()]


def projection_named(platform: Platform, name: str) -> Projection:
    """The projection ``name`` of :func:`every_projection` (KeyError naming the known)."""
    known = every_projection(platform)
    for p in known:
        if p.name == name:
            return p
    raise KeyError(f"no projection {name!r} (known: {', '.join(p.name for p in known)})")


@projections_app.command("rebuild")
def projections_rebuild(name: Annotated[str, typer.Argument(help="Projection to rebuild")]) -> None:
    """Rebuild a read model from position 0 beside the live one, then swap it in. The write
    side and a running platform keep working meanwhile."""
    settings = existing_settings()

    async def run() -> int:
        platform = open_platform(settings)
        try:
            projection = projection_named(platform, name)
            with Progress(
                TextColumn(f"rebuilding {name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("events"),
                TimeRemainingColumn(),
                console=console,
            ) as bar:
                task = bar.add_task(name, total=None)

                def progress(position: int, head: int) -> None:
                    bar.update(task, completed=position, total=head)

                return await rebuild(
                    projection,
                    platform.store,
                    platform.read_store,
                    platform.runtime.codec,
                    progress=progress,
                )
        finally:
            await platform.close()

    try:
        position = asyncio.run(run())
    except KeyError as e:
        console.print(f"[red]{e.args[0]}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{name} rebuilt up to position {position}")


@projections_app.command("status")
def projections_status() -> None:
    """Each projection's checkpoint, the events of its own categories it has yet to apply
    (``behind``: 0 is caught up, whatever other streams did since), and its dead letters."""
    from crm.platform.status import projection_status

    settings = existing_settings()

    async def run() -> None:
        platform = open_platform(settings)
        try:
            head = await platform.store.head_position()
            projections = every_projection(platform)
            widest = max((len(p.name) for p in projections), default=10)
            table = Table(
                Column("projection", no_wrap=True, min_width=widest),
                "version",
                "checkpoint",
                "behind",
                "dead letters",
            )
            for p in projections:
                s = await projection_status(platform.store, platform.read_store, p)
                version = (
                    f"{s.version} (outdated: rebuilt at start)" if s.outdated else str(s.version)
                )
                table.add_row(
                    s.name, version, str(s.checkpoint), s.behind_text, str(s.dead_letters)
                )
            console.print(f"head of the log: {head}")
            console.print(table)
        finally:
            await platform.close()

    asyncio.run(run())


@projections_app.command("dead-letters")
def projections_dead_letters(
    name: Annotated[str | None, typer.Argument(help="Only this projection's")] = None,
) -> None:
    """Print the events projections could not apply, with the reason, as JSON lines."""
    settings = existing_settings()

    async def run() -> None:
        platform = open_platform(settings)
        try:
            for letter in await platform.read_store.dead_letters(name):
                typer.echo(
                    json.dumps(
                        {
                            "projection": letter.projection,
                            "position": letter.position,
                            "event_id": letter.event_id,
                            "event_type": letter.event_type,
                            "error": letter.error,
                            "failed_at": letter.failed_at.isoformat(),
                        }
                    )
                )
        finally:
            await platform.close()

    asyncio.run(run())


def main() -> None:
    app()
