"""The import run: a dry run that says what each row would do, then the run that does it.

Each row is one command of its context through the command bus (authorised, checked by the
domain, appended like any other), under an idempotency key made of the import's id and the
row's number, and with an id derived from them: a run cut short (a crash, SIGKILL) and run
again finds the rows it had done by their keys and creates none twice. Every ``batch`` rows
the import records how far it got (``import.progressed``), so a resumed run skips what was
recorded and checks the keys of the rest.

A customers row is a duplicate when it likely is a customer already there (the customer
context's :func:`~crm.customer.application.duplicates.find_duplicates`, on the read model the
import caught up first) or one an earlier row of the same file creates (scored the same way);
an interactions row, when its customer already has that interaction or an earlier row logs
it. A duplicate is reported, never created. What the dry run says is what the run does,
unless the tenant's records changed in between (the run checks each row again).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4, uuid5

from crm.console.domain.users import User
from crm.customer.application.customer_commands import LogInteraction, RegisterCustomer
from crm.customer.application.duplicates import SCANNED_PER_KEY, find_duplicates
from crm.customer.domain.customer import Customer
from crm.customer.domain.duplicates import Match, MatchKeys, score
from crm.customer.projections.customers import CustomersProjection
from crm.events.imports import (
    ChangedRow,
    DuplicateRow,
    FailedRow,
    ImportedRow,
    ImportKind,
    ImportMatchingPlanned,
    ImportOptions,
    ImportPlanned,
    OnMatch,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.auth import Role
from crm.kernel.custom_fields import CustomFieldsState, DefinitionsOf
from crm.kernel.errors import CrmError, InvalidCommand, NotFound, WrongExpectedVersion
from crm.kernel.event_store import Idempotency
from crm.kernel.projection import wait_until
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import qualified
from crm.platform.imports.customers import FIELDS as CUSTOMER_FIELDS
from crm.platform.imports.customers import CustomerRow, RowError, RowReader
from crm.platform.imports.interactions import FIELDS as INTERACTION_FIELDS
from crm.platform.imports.interactions import InteractionReader, InteractionRow
from crm.platform.imports.matching import Decision, Matcher
from crm.platform.imports.record import (
    Changed,
    ConfirmImport,
    FinishImport,
    Import,
    ImportState,
    RecordProgress,
)
from crm.platform.imports.sources import RowSource
from crm.platform.imports.spool import Issues, KeyIndex, RowsByKey

BATCH = 200
"""Rows between two records of how far the run got (what a resumed run skips)."""

A = TypeVar("A", bound=Aggregate[Any])

_IDS = UUID("5b7e2a3c-0d1f-4c8e-9a6b-2f4d8e1c7a90")

Outcome = Literal[
    "create", "created", "duplicate", "error", "update", "updated", "merge", "merged", "unchanged"
]
Progress = Callable[[int, int], None]
"""Called with the rows done so far and the rows of the file."""


def record_id(import_id: str, row: int) -> str:
    """The id of the record row ``row`` of import ``import_id`` creates: the same on every
    run, so a second run's command is the first one's."""
    return str(uuid5(uuid5(_IDS, import_id), str(row)))


@dataclass(frozen=True, slots=True)
class Step:
    """One command of a row: its key's suffix (``""``: the row's own key), the command and
    when its fact happened (None: now)."""

    suffix: str
    command: object
    happened: datetime | None


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    outcome: Outcome
    """``create`` (would create, or is about to), ``created`` (by an earlier run of this
    import), ``duplicate``, ``error``; a customers row that is a customer already there
    (:mod:`.matching`): ``update``/``updated``, ``merge``/``merged``, ``unchanged``."""
    id: str | None = None
    """The record the row creates (or created)."""
    item: Any = None
    """What the row reads as (the kind's: a customer, an interaction)."""
    duplicate_of: str | None = None
    duplicate_row: int | None = None
    """When it duplicates an earlier row of the file: that row."""
    score: int | None = None
    reasons: tuple[str, ...] = ()
    error: RowError | None = None
    noun: str = "customer"
    """What the row creates: ``customer``, ``interaction``."""
    into: str | None = None
    """A merge row's survivor (``id`` is the customer merged into it)."""
    change: object = None
    """The command of an ``update`` or ``merge`` row."""

    @property
    def message(self) -> str:
        """What the row does, in English and Chinese."""
        if self.outcome in ("create", "created"):
            return f"creates {self.noun} {self.id} / 新建"
        if self.outcome in CHANGING:
            return _changing_message(self)
        if self.outcome == "duplicate":
            of = (
                f"row {self.duplicate_row} / 第 {self.duplicate_row} 行"
                if self.duplicate_row
                else ""
            )
            return (
                f"duplicate of {self.noun} {self.duplicate_of} {of}".rstrip()
                + f" (score {self.score}: {', '.join(self.reasons)}) / 疑似重复"
            )
        assert self.error is not None
        return self.error.message

    def as_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {"row": self.row, "outcome": self.outcome}
        if self.id is not None:
            answer["id"] = self.id
        if self.into is not None:
            answer["into"] = self.into
        if self.outcome == "duplicate":
            answer.update(
                duplicate_of=self.duplicate_of,
                duplicate_row=self.duplicate_row,
                score=self.score,
                reasons=list(self.reasons),
            )
        if self.error is not None:
            answer.update(
                column=self.error.column, value=self.error.value, reason=self.error.reason
            )
        answer["message"] = self.message
        return answer


@dataclass(frozen=True, slots=True)
class _Seen:
    row: int
    id: str
    doc: dict[str, str | None]


class FileIndex:
    """The match keys of the rows of this file that create a record, to find a later row
    that duplicates one of them (the read model has not seen them yet); kept on disk
    (:class:`~crm.platform.imports.spool.KeyIndex`), so a file's size does not grow the
    process."""

    def __init__(self) -> None:
        self.keys = KeyIndex(SCANNED_PER_KEY)

    def add(self, keys: MatchKeys, row: int, id_: str) -> None:
        self.keys.add(keys, row, id_)

    def match(self, keys: MatchKeys) -> tuple[_Seen, Match] | None:
        best: tuple[_Seen, Match] | None = None
        for row, id_, doc in self.keys.found(keys):
            match = score(keys, id_, doc)
            if match is not None and (best is None or match.score > best[1].score):
                best = (_Seen(row, id_, doc), match)
        return best


@dataclass
class Report:
    rows: int = 0
    create: int = 0
    created: int = 0
    duplicate: int = 0
    error: int = 0
    update: int = 0
    merge: int = 0
    unchanged: int = 0
    outcomes: Issues = field(default_factory=Issues)
    """Every row that does not create (duplicates, errors, updates, merges, unchanged), in
    the file's order: on disk, read a page at a time."""

    def count(self, outcome: RowOutcome) -> None:
        self.rows += 1
        if outcome.outcome in CHANGING:
            _count_changing(self, outcome)
        elif outcome.outcome == "create":
            self.create += 1
        elif outcome.outcome == "created":
            self.created += 1
        elif outcome.outcome == "duplicate":
            self.duplicate += 1
            self.outcomes.append(outcome)
        else:
            self.error += 1
            self.outcomes.append(outcome)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "create": self.create + self.created,
            "duplicate": self.duplicate,
            "error": self.error,
            "update": self.update,
            "merge": self.merge,
            "unchanged": self.unchanged,
        }


class FileImport:
    """The rows of one file of a kind, as what each would do (:meth:`rows`), for a dry run
    (:meth:`dry_run`) or a run (:func:`run`). A kind says how a row reads (:meth:`read`),
    what it duplicates (:meth:`duplicate`), and the command it is (:meth:`command`)."""

    kind: ImportKind
    fields: tuple[str, ...]
    prefers: tuple[str, ...] = ()
    """Fields that take a header two of the kind's fields are named by (see ``suggest``)."""
    noun: str
    on_match: OnMatch = "skip"
    """What a row that is a record already there does (a customers import may ``update``)."""
    on_match_choices: tuple[OnMatch, ...] = ("skip",)
    merges: bool = False
    """Whether the importing user may merge customers (a merge row fails otherwise)."""
    looks_up: tuple[str, ...] = ("customers",)
    """The read models its rows are checked against (``crm import`` catches them up first)."""

    def __init__(
        self,
        runtime: Runtime,
        source: RowSource,
        mapping: dict[str, str],
        options: ImportOptions,
        tenant: str,
        import_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.mapping = mapping
        self.options = options
        self.tenant = tenant
        self.import_id = import_id or str(uuid4())
        self._fields: CustomFieldsState | None = None
        self._owners: dict[str, bool] = {}
        self.setup()

    def setup(self) -> None:
        """The kind's own state and checks of the mapping, once the import is made (a
        :class:`~crm.platform.imports.mapping.BadMapping` refuses the mapping)."""

    async def _definitions(self) -> CustomFieldsState:
        """The tenant's custom fields, read once per pass (:meth:`rows` forgets them)."""
        if self._fields is None:
            reader = DefinitionsOf(self.runtime.store, self.runtime.codec)
            self._fields = await reader(self.tenant)
        return self._fields

    def column_of(self, field: str) -> str | None:
        return next((h for h, f in self.mapping.items() if f == field), None)

    async def read(self, cells: Sequence[str]) -> Any:
        """The row as the kind's item, or a :class:`RowError`."""
        raise NotImplementedError

    def fingerprint(self, item: Any) -> str:
        """What the row's command carries (the hash under its idempotency key)."""
        raise NotImplementedError

    async def duplicate(self, row: int, id_: str, item: Any) -> RowOutcome | None:
        """The row's outcome if it duplicates a record already there or an earlier row."""
        raise NotImplementedError

    async def already_there(
        self,
        aggregate: type[Aggregate[Any]],
        row: int,
        id_: str,
        item: Any,
        reason: str,
        earlier_row: int | None = None,
    ) -> RowOutcome | None:
        """The row's outcome when the record it would create (of ``aggregate``, under the id
        derived from what it is) is an earlier row's or is already there: a duplicate, for
        ``reason``. A record this import created and stopped before finishing (its row's first
        key recorded, a resumed run) is not a duplicate: its row goes on."""
        if earlier_row is None:
            try:
                await self.runtime.commands.repository(aggregate).load(id_, tenant=self.tenant)
            except NotFound:
                return None
            if await self.runtime.store.idempotent_result(self.key(row, item)):
                return None
        return RowOutcome(
            row,
            "duplicate",
            duplicate_of=id_,
            duplicate_row=earlier_row,
            score=100,
            reasons=(reason,),
            item=item,
            noun=self.noun,
        )

    def start(self) -> None:
        """A pass over the file begins: forget the rows of an earlier pass."""

    async def loaded(self, aggregate: type[A], id_: str) -> tuple[A, datetime] | None:
        """The tenant's record of ``aggregate`` as its stream has it, and when its first fact
        happened (None: no such record in this tenant)."""
        envelopes = await self.runtime.store.read_stream(aggregate.stream_id_for(id_))
        if not envelopes or envelopes[0].tenant != self.tenant:
            return None
        events = await self.runtime.codec.decode(envelopes)
        return aggregate.rehydrate(id_, events, envelopes[-1].stream_version), envelopes[
            0
        ].occurred_at

    async def may_own(self, user_id: str) -> bool:
        """Whether ``user_id`` is an active rep or manager of the tenant (who may own what an
        import creates or changes, as the import page's owner), read from the user's stream."""
        known = self._owners.get(user_id)
        if known is None:
            found = await self.loaded(User, qualified(self.tenant, user_id))
            state = found[0].state if found is not None else None
            known = (
                state is not None
                and state.added
                and state.active
                and state.role in (Role.SALES_REP.value, Role.MANAGER.value)
            )
            self._owners[user_id] = known
        return known

    def remember(self, row: int, id_: str, item: Any) -> None:
        """The row creates: later rows are matched against it."""

    def record_for(self, row: int, item: Any) -> str:
        """The id of the record the row creates: derived from the import and the row, the
        same on every run."""
        return record_id(self.import_id, row)

    def command(self, id_: str, item: Any) -> tuple[object, datetime | None]:
        """The row's command and when its fact happened (None: now)."""
        raise NotImplementedError

    def steps(self, id_: str, item: Any) -> list[Step]:
        """The row's commands in order, each with when its fact happened and the suffix of
        its idempotency key: one (the row's key, :meth:`command`) unless the kind records a
        history of several facts (an order placed, delivered, invoiced and paid)."""
        return [Step("", *self.command(id_, item))]

    def last_key(self, row: int, item: Any) -> Idempotency:
        """The key of the row's last step: once it is recorded, the row is done."""
        return self.step_key(row, item, self.steps(self.record_for(row, item), item)[-1].suffix)

    def step_key(self, row: int, item: Any, suffix: str) -> Idempotency:
        key = self.key(row, item)
        return key if not suffix else Idempotency(f"{key.key}/{suffix}", key.request_hash)

    async def items(self) -> AsyncIterator[tuple[int, Any]]:
        """Each row's number and what it reads as (the kind's item, or a RowError); a kind
        whose record spans several rows (an order's lines) reads them as one, numbered by
        its first row."""
        for row in self.source:
            yield row.number, await self.read(row.values)

    def lane(self, item: Any) -> str | None:
        """Rows of one lane run one after another, in the file's order (payments of one
        invoice: its balance, and the day it was paid off, follow the file); None: the row
        runs beside the others of its batch."""
        return None

    def subjects(self, id_: str, item: Any) -> list[str]:
        """Whose keys the command's personal data is sealed with (made for a batch at once)."""
        return []

    def key(self, row: int, item: Any) -> Idempotency:
        """The row's idempotency key (the tenant's, the import's, the row's) and the hash of
        what it records."""
        digest = hashlib.sha256(self.fingerprint(item).encode()).hexdigest()
        return Idempotency(f"{self.tenant}:import/{self.import_id}/{row}", digest)

    async def rows(
        self, *, through_row: int = 0, resumed: bool = False
    ) -> AsyncIterator[RowOutcome]:
        """Each row's outcome in the file's order. ``resumed``: rows whose key is recorded
        were created by an earlier run (``created``); rows up to ``through_row`` were
        recorded done and are only read again (to know what they created)."""
        self.start()
        self._fields = None  # a pass reads the tenant's custom fields as they are then
        store = self.runtime.store
        async for number, read in self.items():
            if isinstance(read, RowError):
                yield RowOutcome(number, "error", error=read)
                continue
            id_ = self.record_for(number, read)
            if resumed and await store.idempotent_result(self.last_key(number, read)):
                self.remember(number, id_, read)
                yield RowOutcome(number, "created", id_, read, noun=self.noun)
                continue
            if number <= through_row:  # done, and created nothing: a duplicate or refused
                continue
            duplicate = await self.duplicate(number, id_, read)
            if duplicate is not None:
                yield duplicate
                continue
            self.remember(number, id_, read)
            yield RowOutcome(number, "create", id_, read, noun=self.noun)

    async def caught_up(self) -> None:
        """Wait (up to the read wait) for the customers read model to reach the log's head:
        duplicates and customers are looked up in it, once per row, without waiting."""
        projection = CustomersProjection()
        await self.wait_for(projection.name, projection.categories)

    async def wait_for(self, projection: str, categories: Collection[str] | None) -> None:
        """Wait (up to the read wait) for the read model ``projection`` (fed by streams of
        ``categories``) to reach the log's head."""
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            projection,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=categories,
        )

    async def dry_run(self, progress: Progress | None = None) -> Report:
        await self.caught_up()
        report = Report()
        async for outcome in self.rows():
            report.count(outcome)
            if progress is not None and report.rows % BATCH == 0:
                progress(report.rows, 0)
        if progress is not None:
            progress(report.rows, report.rows)
        return report

    def matching(self, report: Report) -> ImportMatchingPlanned | None:
        """What the plan records beside ``import.planned`` of the rows that are records
        already there (None: the kind has none)."""
        return None

    def planned(self, report: Report) -> ImportPlanned:
        return ImportPlanned(
            kind=self.kind,
            file_name=self.source.path.name[-255:],
            sha256=file_hash(self.source),
            format=self.source.format,
            mapping=self.mapping,
            options=self.options.model_copy(update={"encoding": self.source.encoding}),
            rows=report.rows,
            creates=report.create,
            duplicates=report.duplicate,
            errors=report.error,
        )


class CustomerImport(FileImport):
    """Customers: each row registers one, unless it likely is a customer already there or
    one an earlier row registers."""

    kind = "customers"
    fields = CUSTOMER_FIELDS
    noun = "customer"

    def __init__(
        self,
        runtime: Runtime,
        source: RowSource,
        mapping: dict[str, str],
        options: ImportOptions,
        tenant: str,
        import_id: str | None = None,
    ) -> None:
        super().__init__(runtime, source, mapping, options, tenant, import_id)
        self.reader = RowReader(source.headers, mapping, options.region, options.owner_id)
        self.index = FileIndex()
        self.definitions: CustomFieldsState | None = None
        self.matcher = Matcher(runtime, tenant, self.column_of)

    on_match_choices = ("skip", "update")

    def start(self) -> None:
        self.matcher = Matcher(
            self.runtime, self.tenant, self.column_of, self.on_match, self.merges
        )
        self.index = FileIndex()
        self.definitions = None  # a pass reads the tenant's custom fields as they are then

    async def read(self, cells: Sequence[str]) -> CustomerRow | RowError:
        if self.definitions is None:
            self.definitions = await DefinitionsOf(self.runtime.store, self.runtime.codec)(
                self.tenant
            )
        read = self.reader.read(cells, self.definitions)
        owner = read.owner_id if isinstance(read, CustomerRow) else None
        if owner is not None and not await self.may_own(owner):
            return RowError(
                self.column_of("owner"), owner, "is not an active rep or manager / 不是在职销售"
            )
        return read

    def fingerprint(self, item: CustomerRow) -> str:
        owner = item.owner_id or self.options.owner_id
        base = repr((item.profile.as_dict(), item.tags, owner, sorted(item.custom.items())))
        if item.customer_id is not None or item.merge_into is not None:
            base = f"{base}|{item.customer_id}|{item.merge_into}"
        return base

    @staticmethod
    def _keys(item: CustomerRow) -> MatchKeys:
        p = item.profile
        return MatchKeys.of(p.name, p.email, p.phone, p.company)

    def remember(self, row: int, id_: str, item: CustomerRow) -> None:
        self.index.add(self._keys(item), row, id_)

    async def duplicate(self, row: int, id_: str, item: CustomerRow) -> RowOutcome | None:
        if self.matcher.wanted(item):  # a customer already there, by its key (.matching)
            decided = await self.matcher.decide(row, item)
            if decided is not None:
                return _decided(row, item, decided)
        in_file = self.index.match(self._keys(item))
        if in_file is not None:
            seen, match = in_file
            return RowOutcome(
                row,
                "duplicate",
                duplicate_of=seen.id,
                duplicate_row=seen.row,
                score=match.score,
                reasons=match.reasons,
                item=item,
            )
        found = await find_duplicates(
            self.runtime, self.tenant, item.profile, exclude=id_, wait=False
        )
        if not found:
            return None
        best = found[0].match
        return RowOutcome(
            row,
            "duplicate",
            duplicate_of=best.customer_id,
            score=best.score,
            reasons=best.reasons,
            item=item,
        )

    async def rows(
        self, *, through_row: int = 0, resumed: bool = False
    ) -> AsyncIterator[RowOutcome]:
        """As every kind's, but a row an earlier run did may have updated or merged a
        customer already there rather than registered one: its key's stream says which."""
        async for outcome in super().rows(through_row=through_row, resumed=resumed):
            if resumed and outcome.outcome == "created":
                outcome = await self._done_earlier(outcome)
            yield outcome

    async def _done_earlier(self, outcome: RowOutcome) -> RowOutcome:
        item: CustomerRow = outcome.item
        found = await self.runtime.store.idempotent_result(self.key(outcome.row, item))
        assert outcome.id is not None
        if found is None or found.stream_id == Customer.stream_id_for(outcome.id):
            return outcome
        customer = found.stream_id.partition("-")[2]
        self.matcher.targets.setdefault(customer, outcome.row)  # a later row: its duplicate
        if item.merge_into is None:
            return RowOutcome(outcome.row, "updated", customer, item)
        into = await self.matcher.survivor(item)
        into_id = into if isinstance(into, str) else None
        return RowOutcome(outcome.row, "merged", customer, item, into=into_id)

    def matching(self, report: Report) -> ImportMatchingPlanned:
        return ImportMatchingPlanned(
            on_match=self.on_match,
            updates=report.update,
            merges=report.merge,
            unchanged=report.unchanged,
        )

    def command(self, id_: str, item: CustomerRow) -> tuple[object, datetime | None]:
        command = RegisterCustomer(
            item.profile,
            tags=item.tags,
            owner_id=item.owner_id or self.options.owner_id,
            customer_id=id_,
            confirm_distinct=True,  # the import found the duplicates itself, with the same rule
            custom=item.custom,
        )
        return command, None

    def subjects(self, id_: str, item: CustomerRow) -> list[str]:
        return [Customer.stream_id_for(id_)]


class InteractionImport(FileImport):
    """Interactions of the past: each row logs one on its customer, dated by its date (the
    event's ``occurred_at``); one the customer already has (the same customer, channel, time
    and summary) is a duplicate."""

    kind = "interactions"
    fields = INTERACTION_FIELDS
    noun = "interaction"

    def __init__(
        self,
        runtime: Runtime,
        source: RowSource,
        mapping: dict[str, str],
        options: ImportOptions,
        tenant: str,
        import_id: str | None = None,
    ) -> None:
        super().__init__(runtime, source, mapping, options, tenant, import_id)
        self.reader = InteractionReader(
            source.headers,
            mapping,
            options.day_first,
            runtime.read_store,
            tenant,
            runtime.clock.now(),
        )
        self.seen = RowsByKey()
        """An interaction's id → the first row that logs it."""

    def start(self) -> None:
        self.seen = RowsByKey()

    async def read(self, cells: Sequence[str]) -> InteractionRow | RowError:
        return await self.reader.read(cells)

    def fingerprint(self, item: InteractionRow) -> str:
        return item.fingerprint()

    def record_for(self, row: int, item: InteractionRow) -> str:
        return item.interaction_id

    def remember(self, row: int, id_: str, item: InteractionRow) -> None:
        self.seen.setdefault(item.interaction_id, row)

    async def duplicate(self, row: int, id_: str, item: InteractionRow) -> RowOutcome | None:
        earlier = self.seen.get(item.interaction_id)
        if earlier is None:
            customer = await self.runtime.commands.repository(Customer).load(
                item.customer_id, tenant=self.tenant
            )
            if item.interaction_id not in customer.state.interactions:
                return None
        return RowOutcome(
            row,
            "duplicate",
            duplicate_of=item.interaction_id,
            duplicate_row=earlier,
            score=100,
            reasons=("same_interaction",),
            item=item,
            noun=self.noun,
        )

    def command(self, id_: str, item: InteractionRow) -> tuple[object, datetime | None]:
        command = LogInteraction(
            item.customer_id,
            channel=item.channel,
            summary=item.summary,
            direction=item.direction,
            occurred_at=item.occurred_at,
            duration_minutes=item.duration_minutes,
            interaction_id=item.interaction_id,
        )
        return command, item.occurred_at


def file_hash(source: RowSource) -> str:
    digest = hashlib.sha256()
    with source.path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def record_confirmation(planner: FileImport, ctx: CommandContext) -> ImportState:
    """Record that the user confirmed the import (once: again is nothing), after checking
    that its file is the one planned; the import's state before."""
    bus = planner.runtime.commands
    state = (await bus.repository(Import).load(planner.import_id, tenant=ctx.tenant)).state
    assert state.plan is not None
    sha256 = await asyncio.to_thread(file_hash, planner.source)
    if state.plan.sha256 != sha256:
        raise InvalidCommand("file", "is not the file this import planned (its hash differs)")
    await bus.execute(ConfirmImport(planner.import_id), ctx)
    return state


async def run(
    planner: FileImport,
    ctx: CommandContext,
    progress: Progress | None = None,
    *,
    batch: int = BATCH,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
    confirmed: ImportState | None = None,
) -> Report:
    """Confirm the import and run it, or resume it where it stopped: every row that would
    create registers its customer (one command each, under the row's key); returns what
    this run did (``created`` counts the rows an earlier run had created). ``confirmed``:
    what :func:`record_confirmation` gave the caller just now (its file is not hashed, nor
    its stream read, again)."""
    runtime = planner.runtime
    bus = runtime.commands
    import_id = planner.import_id
    state = confirmed if confirmed is not None else await record_confirmation(planner, ctx)
    assert state.plan is not None
    if state.finished:
        return Report()
    total = state.plan.rows
    await planner.caught_up()
    report = Report()
    done = state.created + state.duplicates + state.failed  # the rows recorded done
    done += state.updated + state.merged + state.unchanged
    changed = Changes()
    created: list[ImportedRow] = []
    duplicates: list[DuplicateRow] = []
    failed: list[FailedRow] = []
    if progress is not None:
        progress(done, total)

    async def record(through: int) -> None:
        await bus.execute(
            RecordProgress(
                import_id,
                through,
                tuple(created),
                tuple(duplicates),
                tuple(failed),
                changed.taken(),
            ),
            ctx,
        )
        created.clear()
        duplicates.clear()
        failed.clear()
        if after_batch is not None:
            await after_batch(through)

    def tally(outcome: RowOutcome) -> None:
        report.count(outcome)
        if outcome.outcome in CHANGING:
            changed.add(outcome)
        elif outcome.outcome in ("create", "created"):
            assert outcome.id is not None
            created.append(ImportedRow(row=outcome.row, id=outcome.id))
        elif outcome.outcome == "duplicate":
            assert outcome.duplicate_of is not None
            assert outcome.score is not None
            duplicates.append(
                DuplicateRow(row=outcome.row, of=outcome.duplicate_of, score=outcome.score)
            )
        else:
            assert outcome.error is not None
            failed.append(
                FailedRow(row=outcome.row, column=outcome.error.column, reason=outcome.error.reason)
            )

    async def flush(chunk: list[RowOutcome]) -> None:
        """Run the batch's commands side by side: the event store commits the appends that
        wait together in one transaction (its group commit), and the data subjects' keys are
        created for the batch at once; then record the batch done."""
        nonlocal done
        creating = [
            s
            for o in chunk
            if o.id and o.outcome == "create"
            for s in planner.subjects(o.id, o.item)
        ]
        if creating:  # the batch's keys in one transaction, not one each
            await runtime.codec.keys.get_or_create(creating)
        lanes: dict[object, list[RowOutcome]] = {}
        for o in chunk:
            lane = planner.lane(o.item) if o.outcome == "create" else None
            lanes.setdefault(lane if lane is not None else ("row", o.row), []).append(o)

        async def in_turn(outcomes: list[RowOutcome]) -> list[RowOutcome]:
            return [await _execute(planner, o, ctx) for o in outcomes]

        ran = {
            o.row: o for done_ in await asyncio.gather(*map(in_turn, lanes.values())) for o in done_
        }
        for o in chunk:
            tally(ran[o.row])
        await record(chunk[-1].row)
        done += len(chunk)
        chunk.clear()
        if progress is not None:
            progress(done, total)

    chunk: list[RowOutcome] = []
    async for outcome in planner.rows(through_row=state.through_row, resumed=True):
        if outcome.row <= state.through_row:
            continue
        chunk.append(outcome)
        if len(chunk) >= batch:
            await flush(chunk)
    if chunk:
        await flush(chunk)
    await bus.execute(FinishImport(import_id), ctx)
    if progress is not None:
        progress(done, total)
    return report


COMMAND_FIELDS = {"occurred_at": "date", "duration_minutes": "duration"}
"""A command's field → the file's field it came from, where they are named apart."""


async def _execute(planner: FileImport, outcome: RowOutcome, ctx: CommandContext) -> RowOutcome:
    if outcome.outcome in ("update", "merge"):
        return await _change(planner, outcome, ctx)
    if outcome.outcome != "create":
        return outcome
    assert outcome.id is not None
    replayed = True
    for step in planner.steps(outcome.id, outcome.item):
        now = planner.runtime.clock.now()
        row_ctx = CommandContext(
            actor=ctx.actor,
            role=ctx.role,
            tenant=ctx.tenant,
            now=now,
            correlation_id=UUID(planner.import_id),
            idempotency=planner.step_key(outcome.row, outcome.item, step.suffix),
            team=ctx.team,
            occurred_at=step.happened if step.happened is None or step.happened < now else None,
        )
        try:
            result = await planner.runtime.commands.run(step.command, row_ctx)
        except WrongExpectedVersion:  # an overlapping run of this import recorded it first
            return RowOutcome(outcome.row, "created", outcome.id, outcome.item, noun=outcome.noun)
        except CrmError as e:
            return _refused(planner, outcome.row, e)
        replayed = replayed and result.result.replayed
    return RowOutcome(
        outcome.row,
        "created" if replayed else "create",
        outcome.id,
        outcome.item,
        noun=outcome.noun,
    )


def _refused(planner: FileImport, row: int, e: CrmError) -> RowOutcome:
    """The row's outcome when the domain refused its command: the reason, and the column of
    the field it names (where the file has it)."""
    field_ = getattr(e, "field", None)
    field_ = COMMAND_FIELDS.get(field_, field_) if isinstance(field_, str) else None
    column = planner.column_of(field_) if field_ is not None else None
    reason = getattr(e, "message", None) or str(e)
    return RowOutcome(row, "error", error=RowError(column, None, f"{reason} / 无法导入"))


# -- rows that are customers already there (crm.platform.imports.matching) --------------------

CHANGING = frozenset({"update", "updated", "merge", "merged", "unchanged"})
"""The outcomes of a row that names a customer already there."""


def _decided(row: int, item: CustomerRow, decided: Decision | RowError) -> RowOutcome:
    if isinstance(decided, RowError):
        return RowOutcome(row, "error", error=decided)
    if decided.outcome == "duplicate":
        return RowOutcome(
            row,
            "duplicate",
            duplicate_of=decided.customer_id,
            duplicate_row=decided.earlier_row,
            score=100,
            reasons=decided.reasons,
            item=item,
        )
    change = decided if decided.outcome != "unchanged" else None
    return RowOutcome(
        row, decided.outcome, decided.customer_id, item, into=decided.into, change=change
    )


def _changing_message(o: RowOutcome) -> str:
    if o.outcome in ("update", "updated"):
        fields = ", ".join(o.change.changed) if isinstance(o.change, Decision) else ""
        return f"updates customer {o.id}" + (f" ({fields})" if fields else "") + " / 更新"
    if o.outcome in ("merge", "merged"):
        return f"merges customer {o.id} into customer {o.into} / 合并"
    into = f" (merged into {o.into})" if o.into else ""
    return f"customer {o.id} is as the row says already{into} / 无需更改"


def _count_changing(report: Report, o: RowOutcome) -> None:
    if o.outcome in ("update", "updated"):
        report.update += 1
    elif o.outcome in ("merge", "merged"):
        report.merge += 1
    else:
        report.unchanged += 1
    report.outcomes.append(o)


@dataclass
class Changes:
    """A batch's rows that changed (or found unchanged) customers already there."""

    updated: list[ChangedRow] = field(default_factory=list)
    merged: list[ChangedRow] = field(default_factory=list)
    unchanged: list[ChangedRow] = field(default_factory=list)

    def add(self, o: RowOutcome) -> None:
        assert o.id is not None
        changed = ChangedRow(row=o.row, id=o.id, into=o.into)
        if o.outcome in ("update", "updated"):
            self.updated.append(changed)
        elif o.outcome in ("merge", "merged"):
            self.merged.append(changed)
        else:
            self.unchanged.append(changed)

    def taken(self) -> Changed | None:
        """The batch's rows, then none (for the next batch)."""
        if not (self.updated or self.merged or self.unchanged):
            return None
        taken = (tuple(self.updated), tuple(self.merged), tuple(self.unchanged))
        self.updated, self.merged, self.unchanged = [], [], []
        return taken


async def _change(planner: FileImport, outcome: RowOutcome, ctx: CommandContext) -> RowOutcome:
    """Run an ``update`` or ``merge`` row's commands, each under the row's key and its suffix
    (the row's own key last), as the user: the customer context's rules hold (a merge needs an
    admin, an owner is assigned by whoever may assign), and a row run again is replayed."""
    assert isinstance(outcome.change, Decision)
    for suffix, command in outcome.change.commands():
        row_ctx = CommandContext(
            actor=ctx.actor,
            role=ctx.role,
            tenant=ctx.tenant,
            now=planner.runtime.clock.now(),
            correlation_id=UUID(planner.import_id),
            idempotency=planner.step_key(outcome.row, outcome.item, suffix),
            team=ctx.team,
        )
        try:
            await planner.runtime.commands.run(command, row_ctx)
        except CrmError as e:
            return _refused(planner, outcome.row, e)
    done: Outcome = "updated" if outcome.outcome == "update" else "merged"
    return RowOutcome(outcome.row, done, outcome.id, outcome.item, into=outcome.into)
