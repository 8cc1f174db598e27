"""Which customers exist, and who may act on them: each context's own directory of customers.

A command of another context that names a customer (an opportunity, a quote, an order, a
lead converted for an existing customer, a ticket, a contract, a visit) must name one that
exists, in the actor's tenant, that the actor may act on. The customer context owns the
customers; every other context learns them from the customer events into a read model of
its own, a :class:`CustomerDirectory` it declares among its projections under its own name
(``sales_customer_directory``, ``service_desk_customer_directory``). In one process it reads
the shared store; as separate services the platform feeds it from the ``crm.customer.events``
topic, like every projection that reads another context's streams.

The rule, in one place for every context (the customer context's own, in the shape of
:class:`~crm.kernel.access.Scope`):

- a customer of another tenant, or one that was never registered, does not exist;
- a sales rep acts on the customers they own and those in the shared pool; for a rep,
  another rep's customer does not exist either (the same answer, so it does not leak);
- everyone else (managers, admins, agents, the system) acts on every customer of the tenant;
- an erased customer takes no new records (409 ``customer_erased``);
- nor does one merged into another (409 ``customer_merged``, naming ``merged_into``): new
  records name the survivor, and :meth:`Customers.records_of` selects the survivor's records
  (its own and those of the customers merged into it) for the lists filtered by customer.

A customer that does not exist for the actor is a 422 naming the field that referred to it.
Read-your-writes: a customer registered (claimed, erased) a moment ago may not be in the
directory yet; :meth:`Customers.require` first waits (up to the runtime's
``read_wait_seconds``) for the directory to reach the last customer event of the log, which
costs a checkpoint read when it is caught up. Where the directory is fed from the customer
topic (separate services), the local store holds no customer events and the wait is none:
a customer registered a moment ago may answer 422 until its event arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NotRequired

from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.customer import (
    CustomerAbsorbed,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerMergedInto,
    CustomerOwnerAssigned,
    CustomerRegistered,
    CustomerReleasedToPool,
)
from crm.kernel.access import Principal, Scope
from crm.kernel.auth import Actor, Role
from crm.kernel.errors import InvalidCommand, Moved, RuleViolated
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.projection import wait_until
from crm.kernel.read_store import CollectionSpec, Index
from crm.kernel.repository import CommandContext
from crm.kernel.runtime import Runtime

CUSTOMER = "customer"


class CustomerEntry(TypedDict):
    """A customer as the other contexts know it: whose it is, and whether it was erased."""

    id: str
    tenant: str
    owner_id: str | None
    """None: in the shared pool."""
    erased: bool
    version: int
    merged_into: NotRequired[str | None]
    """The customer this one was merged into."""
    absorbed: NotRequired[list[str]]
    """The customers merged into this one."""


on: Handlers[CustomerEntry] = Handlers()


def _existing(doc: CustomerEntry | None, key: DocKey, envelope: EventEnvelope) -> CustomerEntry:
    if doc is None:
        raise LookupError(f"{envelope.event_type} for customer {key[1]} that was never registered")
    new = doc.copy()
    new["version"] = envelope.stream_version
    return new


@on(CustomerRegistered)
def registered(
    key: DocKey, doc: CustomerEntry | None, event: CustomerRegistered, envelope: EventEnvelope
) -> CustomerEntry:
    return CustomerEntry(
        id=key[1],
        tenant=envelope.tenant,
        owner_id=event.owner_id,
        erased=False,
        version=envelope.stream_version,
    )


@on(CustomerOwnerAssigned, CustomerClaimedFromPool)
def owned(
    key: DocKey,
    doc: CustomerEntry | None,
    event: CustomerOwnerAssigned | CustomerClaimedFromPool,
    envelope: EventEnvelope,
) -> CustomerEntry:
    new = _existing(doc, key, envelope)
    new["owner_id"] = event.owner_id
    return new


@on(CustomerReleasedToPool)
def released(
    key: DocKey, doc: CustomerEntry | None, event: CustomerReleasedToPool, envelope: EventEnvelope
) -> CustomerEntry:
    new = _existing(doc, key, envelope)
    new["owner_id"] = None
    return new


@on(CustomerErased)
def erased(
    key: DocKey, doc: CustomerEntry | None, event: CustomerErased, envelope: EventEnvelope
) -> CustomerEntry:
    new = _existing(doc, key, envelope)
    new["erased"] = True
    return new


@on(CustomerMergedInto)
def merged_into(
    key: DocKey, doc: CustomerEntry | None, event: CustomerMergedInto, envelope: EventEnvelope
) -> CustomerEntry:
    new = _existing(doc, key, envelope)
    new["merged_into"] = event.survivor_id
    return new


@on(CustomerAbsorbed)
def absorbed(
    key: DocKey, doc: CustomerEntry | None, event: CustomerAbsorbed, envelope: EventEnvelope
) -> CustomerEntry:
    new = _existing(doc, key, envelope)
    new["absorbed"] = sorted({*new.get("absorbed", ()), event.merged_id})
    return new


class CustomerDirectory:
    """The projection of the customer events into a context's directory: one
    :class:`CustomerEntry` per customer, in a collection named like the projection."""

    version = 2
    categories = frozenset({CUSTOMER})
    event_types = on.event_types
    evolve = staticmethod(on.evolve)

    def __init__(self, name: str) -> None:
        self.name = name
        self.collection = name
        self.collections: Sequence[CollectionSpec] = (
            CollectionSpec(name, (Index(("tenant", "owner_id")),)),
        )

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(self.collection, envelope),)


async def records_of(
    customers: Customers | None, tenant: str, customer_id: str | None
) -> list[dict[str, Any]]:
    """The condition of a list filtered by ``customer_id`` (none if None): through
    ``customers`` (:meth:`Customers.records_of`), theirs and the merged customers'; without
    a directory, theirs alone."""
    if customer_id is None:
        return []
    if customers is None:
        return [{"customer_id": customer_id}]
    return await customers.records_of(tenant, customer_id)


def refuse_if_merged(customer_id: str, doc: Mapping[str, Any], location: str) -> None:
    """A read of a customer merged into another (its document's ``merged_into``) answers with
    a 308 to the survivor's ``location`` (``{}`` where the survivor's id goes), code
    ``customer_merged`` and ``merged_into`` naming the survivor."""
    survivor = doc.get("merged_into")
    if survivor:
        raise Moved(
            f"customer {customer_id} was merged into customer {survivor}",
            location.format(survivor),
            code="customer_merged",
            details={"merged_into": survivor},
        )


def customer_scope(entry: CustomerEntry) -> Scope:
    return Scope(owner_id=entry["owner_id"])


def may_act_on(who: Principal, scope: Scope) -> bool:
    """The customer rule: a rep acts on their own customers and the pool's; everyone else
    (and the system) on every customer of their tenant."""
    return who.role is not Role.SALES_REP or scope.owner_id in (None, who.id)


class Customers:
    """The directory as commands consult it (see the module's docstring)."""

    def __init__(self, runtime: Runtime, directory: CustomerDirectory) -> None:
        self.runtime = runtime
        self.directory = directory

    async def entry(self, tenant: str, customer_id: str) -> CustomerEntry | None:
        """The tenant's customer ``customer_id`` as the log has it now (the directory is
        waited for, briefly, up to the last customer event: a customer registered, claimed or
        erased a moment ago is seen so); None if there is none."""
        runtime = self.runtime
        await wait_until(
            runtime.read_store,
            self.directory.name,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=self.directory.categories,
        )
        return await self._get(tenant, customer_id)

    async def _get(self, tenant: str, customer_id: str) -> CustomerEntry | None:
        doc = await self.runtime.read_store.get(self.directory.collection, customer_id)
        if doc is None or doc.get("tenant") != tenant:
            return None
        return CustomerEntry(
            id=doc["id"],
            tenant=doc["tenant"],
            owner_id=doc.get("owner_id"),
            erased=bool(doc.get("erased")),
            version=int(doc.get("version", 0)),
            merged_into=doc.get("merged_into"),
            absorbed=list(doc.get("absorbed") or ()),
        )

    async def records_of(
        self, tenant: str, customer_id: str | None, field: str = "customer_id"
    ) -> list[dict[str, Any]]:
        """The read-model condition of a list filtered by a customer (none if ``customer_id``
        is None): their records, and those of the customers merged into them, which are
        theirs now. The directory is waited for as by :meth:`entry`, so a merge a moment ago
        is seen."""
        if customer_id is None:
            return []
        entry = await self.entry(tenant, customer_id)
        absorbed = list(entry.get("absorbed") or ()) if entry else []
        if not absorbed:
            return [{field: customer_id}]
        return [{field: {"$in": [customer_id, *absorbed]}}]

    async def require(
        self,
        who: Actor | CommandContext | Principal,
        customer_id: str,
        *,
        field: str = "customer_id",
    ) -> CustomerEntry:
        """The customer ``who`` names in ``field``, if they may act on it (else a 422 naming
        the field, the same whether it does not exist or is not theirs); an erased customer
        is a 409 ``customer_erased``."""
        p = Principal.of(who)
        wanted = customer_id.strip()
        entry = await self.entry(p.tenant, wanted) if wanted else None
        if entry is None or not may_act_on(p, customer_scope(entry)):
            raise InvalidCommand(field, f"customer {wanted[:100]!r} does not exist")
        if entry["erased"]:
            raise RuleViolated(
                f"customer {wanted} was erased: it takes no new records", code="customer_erased"
            )
        survivor = entry.get("merged_into")
        if survivor:
            raise RuleViolated(
                f"customer {wanted} was merged into customer {survivor}: name that one",
                code="customer_merged",
                details={"merged_into": survivor},
            )
        return entry


class CustomersReadOnce(Customers):
    """The directory as one request consults it: each customer's entry waited for and read
    once, however many of the request's lists ask (a customer's page lists their quotes,
    orders, invoices and opportunities, each through :meth:`Customers.records_of`). Asked
    together (``asyncio.gather``), the lists share the one read in flight. For one request
    only: an entry is not read again, so a later merge or claim is not seen.

    ``known``: entries the request has read already (the customer's own page read them from
    the customer context's read model, projected from the same events): not read again."""

    def __init__(self, customers: Customers, known: Iterable[CustomerEntry] = ()) -> None:
        super().__init__(customers.runtime, customers.directory)
        self._entries: dict[tuple[str, str], asyncio.Future[CustomerEntry | None]] = {}
        self._known = {(e["tenant"], e["id"]): e for e in known}

    async def entry(self, tenant: str, customer_id: str) -> CustomerEntry | None:
        key = (tenant, customer_id)
        if key in self._known:
            return self._known[key]
        found = self._entries.get(key)
        if found is None:
            found = asyncio.ensure_future(super().entry(tenant, customer_id))
            self._entries[key] = found
        return await asyncio.shield(found)

    @classmethod
    def of(
        cls, customers: Customers | None, known: Iterable[CustomerEntry] = ()
    ) -> CustomersReadOnce | None:
        return None if customers is None else cls(customers, known)


__all__ = [
    "CustomerDirectory",
    "CustomerEntry",
    "Customers",
    "CustomersReadOnce",
    "customer_scope",
    "may_act_on",
    "records_of",
]
