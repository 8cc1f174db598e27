"""A customer's timeline on their page: what happened to them, newest first, in plain words in
the reader's language ("Registered by Ana", "Tagged vip", "Call logged: asked for a quote",
"Order placed: €1,200.00", "Ticket opened: printer jams").

Each line comes from what the page's reader may read, through the same queries as the rest
of the page, so it is redacted the same way:

- the customer's own stream (registered by whom, tagged, owner and pool changes, profile
  fields changed, consent, erasure): only events that carry no personal data are described,
  by the kind of change, never a personal value;
- their interactions as :meth:`CustomerQueries.interactions` shows them to the reader (a
  summary redacted for a role that may not read it is shown as redacted), as the page read
  them already;
- their quotes, orders, invoices and payments (:class:`OrderQueries`: a rep sees their own),
  opportunities (:class:`PipelineQueries`) and tickets (:class:`TicketQueries`), each only
  for a reader whose role may list them; those of the customers merged into them too
  (through the contexts' customer directories, :meth:`Console.know_customers`), as the
  API's lists filtered by the customer give them.

Building the lines (:func:`lines`) is pure; :func:`customer_timeline` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crm.customer.domain.customer import Customer
from crm.events.customer import (
    ConsentRecorded,
    CustomerClaimedFromPool,
    CustomerErased,
    CustomerOwnerAssigned,
    CustomerProfileUpdated,
    CustomerRegistered,
    CustomerReleasedToPool,
    CustomerTagged,
    CustomerUntagged,
)
from crm.kernel.auth import Actor
from crm.kernel.directory import CustomerEntry, CustomersReadOnce
from crm.kernel.errors import Forbidden, NotFound
from crm.kernel.read_store import Document, Page
from crm.sales.application.order_queries import (
    InvoiceFilter,
    OrderFilter,
    OrderQueries,
    QuoteFilter,
)
from crm.sales.application.pipeline_queries import OpportunityFilter, Paging, PipelineQueries
from crm.sales.domain.pipeline import Pipeline
from crm.service_desk.application.ticket_queries import TicketFilter, TicketQueries

if TYPE_CHECKING:
    from crm.console.i18n import Translator
    from crm.console.pages import Console

SHOWN = 50
"""Lines the page shows, the newest."""
PER_SOURCE = 50
"""Records read per source (orders, tickets...), the newest."""

STREAM_TYPES = {
    CustomerRegistered.event_type,
    CustomerTagged.event_type,
    CustomerUntagged.event_type,
    CustomerOwnerAssigned.event_type,
    CustomerClaimedFromPool.event_type,
    CustomerReleasedToPool.event_type,
    CustomerProfileUpdated.event_type,
    ConsentRecorded.event_type,
    CustomerErased.event_type,
}
"""The customer's own events the timeline describes (interactions come redacted from
:meth:`CustomerQueries.interactions`)."""


@dataclass(frozen=True, slots=True)
class Happening:
    """One thing that happened, before it is put in words: when, the text's key, its values
    (``money`` values are ``{"amount", "currency"}``, ``user`` values user ids, ``text``
    values shown as they are, ``label`` values translated)."""

    at: str
    kind: str
    values: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    at: str
    text: str
    link: str | None


def _word(t: Translator, names: Mapping[str, str], name: str, value: Any) -> str:
    if name.startswith("money"):
        return t.money(value)
    if name.startswith("user"):
        return names.get(str(value), str(value))
    if name.startswith("label"):
        return t(str(value))
    return str(value)


def _newest(happenings: Iterable[Happening], limit: int) -> list[Happening]:
    """Newest first (at the same moment: the one given later first), at most ``limit``."""
    numbered = sorted(enumerate(happenings), key=lambda n: (n[1].at, n[0]), reverse=True)
    return [h for _, h in numbered[:limit]]


def users_named(happenings: Iterable[Happening], limit: int = SHOWN) -> set[str]:
    """The users the lines of :func:`lines` name (their happenings' ``user`` values)."""
    return {
        str(v)
        for h in _newest(happenings, limit)
        for k, v in h.values.items()
        if k.startswith("user")
    }


def lines(
    happenings: Iterable[Happening], t: Translator, names: Mapping[str, str], limit: int = SHOWN
) -> list[Line]:
    """The happenings in plain words, newest first (at the same moment: the one given
    later first), at most ``limit``."""
    ordered = _newest(happenings, limit)
    return [
        Line(
            h.at,
            t(
                f"timeline.{h.kind}",
                **{k: _word(t, names, k, v) for k, v in h.values.items()},
            ),
            h.link,
        )
        for h in ordered
    ]


def from_stream(pairs: Iterable[tuple[str, str, object]]) -> list[Happening]:
    """The customer's own events (when, by whom, the event) as happenings; a field changed
    is named by its label, never its value."""
    found = []
    for at, by, event in pairs:
        match event:
            case CustomerRegistered():  # the tags given with it: as tagged then
                found.append(Happening(at, "registered", {"user": by}))
                found += [Happening(at, "tagged", {"tag": tag}) for tag in event.tags]
            case CustomerTagged():
                found.append(Happening(at, "tagged", {"tag": event.tag}))
            case CustomerUntagged():
                found.append(Happening(at, "untagged", {"tag": event.tag}))
            case CustomerOwnerAssigned():
                found.append(Happening(at, "owner", {"user": event.owner_id}))
            case CustomerClaimedFromPool():
                found.append(Happening(at, "claimed", {"user": event.owner_id}))
            case CustomerReleasedToPool():
                found.append(Happening(at, "released", {"user": by}))
            case CustomerProfileUpdated():
                fields = ", ".join(event.changed)
                found.append(Happening(at, "profile", {"fields": fields, "user": by}))
            case ConsentRecorded():
                kind = "consent_given" if event.granted else "consent_withdrawn"
                found.append(Happening(at, kind, {"label": "purpose." + event.purpose.value}))
            case CustomerErased():
                found.append(Happening(at, "erased", {"user": by}))
    return found


def from_interactions(items: Sequence[Mapping[str, Any]]) -> list[Happening]:
    return [
        Happening(
            str(i["occurred_at"]),
            "interaction",
            {"label": "channel." + str(i["channel"]), "summary": i["summary"]},
        )
        for i in items
    ]


def from_sales(
    prefix: str,
    quotes: Sequence[Mapping[str, Any]],
    orders: Sequence[Mapping[str, Any]],
    invoices: Sequence[Mapping[str, Any]],
) -> list[Happening]:
    """Quotes drafted, sent and answered; orders placed; invoices issued and their
    payments; each linking to its page."""
    found = []
    for q in quotes:
        link = f"{prefix}/quotes/{q['id']}"
        found.append(Happening(q["created_at"], "quote_drafted", {"money": q["total"]}, link))
        if q.get("sent_at"):
            found.append(Happening(q["sent_at"], "quote_sent", {"money": q["total"]}, link))
        if q.get("answered_at") and q["status"] in ("accepted", "rejected"):
            kind = f"quote_{q['status']}"
            found.append(Happening(q["answered_at"], kind, {"money": q["total"]}, link))
    for o in orders:
        link = f"{prefix}/orders/{o['id']}"
        found.append(Happening(o["placed_at"], "order_placed", {"money": o["total"]}, link))
    for i in invoices:
        link = f"{prefix}/invoices/{i['id']}"
        found.append(Happening(i["created_at"], "invoice_issued", {"money": i["amount"]}, link))
        for p in i.get("payments") or ():
            found.append(Happening(p["recorded_at"], "payment", {"money": p["amount"]}, link))
    return found


def from_opportunities(prefix: str, items: Sequence[Mapping[str, Any]]) -> list[Happening]:
    found = []
    for o in items:
        link = f"{prefix}/opportunities/{o['id']}"
        values = {"name": o["name"], "money": o["amount"]}
        found.append(Happening(o["created_at"], "opportunity_opened", values, link))
        if o.get("closed_at") and o["status"] in ("won", "lost"):
            found.append(Happening(o["closed_at"], f"opportunity_{o['status']}", values, link))
    return found


def from_tickets(prefix: str, items: Sequence[Mapping[str, Any]]) -> list[Happening]:
    found = []
    for k in items:
        link = f"{prefix}/tickets/{k['id']}"
        found.append(Happening(k["opened_at"], "ticket_opened", {"subject": k["subject"]}, link))
        if k.get("resolved_at"):
            found.append(
                Happening(k["resolved_at"], "ticket_resolved", {"subject": k["subject"]}, link)
            )
    return found


@dataclass(frozen=True, slots=True)
class CustomerStory:
    """What the customer page's timeline is made of, and the tickets it read on the way
    (the page lists them too, so they are read once)."""

    happened: list[Happening]
    tickets: list[Document]


def entry_of(tenant: str, customer: Mapping[str, Any]) -> CustomerEntry:
    """The ``tenant``'s customer's directory entry as the customer context's read model has
    it (both are projected from the customer's events; a merge adds to ``absorbed`` in
    each)."""
    return CustomerEntry(
        id=str(customer["id"]),
        tenant=tenant,
        owner_id=customer.get("owner_id"),
        erased=bool(customer.get("erased")),
        version=int(customer.get("version", 0)),
        merged_into=customer.get("merged_into"),
        absorbed=list(customer.get("absorbed") or ()),
    )


async def customer_timeline(
    console: Console,
    actor: Actor,
    customer: Mapping[str, Any],
    interactions: Sequence[Mapping[str, Any]],
) -> CustomerStory:
    """What the reader may know happened to the ``customer`` (their page already read them,
    so the reader may see them, and ``interactions`` as :meth:`CustomerQueries.interactions`
    shows them to the reader). A source the reader's role may not list adds nothing."""
    from crm.console.pages import PREFIX

    runtime = console.runtime
    customer_id = str(customer["id"])
    # the lists' condition (theirs and the merged customers') from the customer the page
    # read: each context's directory is not waited for and read again (it was a third of
    # the page's reads)
    known = (entry_of(actor.tenant, customer),)
    sales = CustomersReadOnce.of(console.sales_customers, known)
    desk = CustomersReadOnce.of(console.desk_customers, known)
    keys = runtime.codec.keys
    orders = OrderQueries(runtime.read_store, sales)
    pipeline = PipelineQueries(
        runtime.read_store, keys, runtime.commands.repository(Pipeline), sales
    )
    desk_queries = TicketQueries(runtime.read_store, keys, desk)
    of_customer = {"limit": PER_SOURCE, "offset": 0}

    async def listed(query: Awaitable[Page]) -> list[Document]:
        """The records a source gives the reader; none if their role may not list them."""
        with contextlib.suppress(Forbidden, NotFound):
            return list((await query).items)
        return []

    async def own_events() -> list[Happening]:
        envelopes = await runtime.store.read_stream(Customer.stream_id_for(customer_id))
        described = [e for e in envelopes if e.event_type in STREAM_TYPES]
        events = await runtime.codec.decode(described)
        return from_stream(
            (e.occurred_at.isoformat(), e.actor, event)
            for e, event in zip(described, events, strict=True)
        )

    # independent reads: asked together (the SQLite read store reads on a pool of threads)
    stream, quotes, placed, invoices, opportunities, tickets = await asyncio.gather(
        own_events(),
        listed(
            orders.quotes(
                actor, QuoteFilter(customer_id=customer_id), sort="-created_at", **of_customer
            )
        ),
        listed(
            orders.orders(
                actor, OrderFilter(customer_id=customer_id), sort="-placed_at", **of_customer
            )
        ),
        listed(
            orders.invoices(
                actor, InvoiceFilter(customer_id=customer_id), sort="-issue_date", **of_customer
            )
        ),
        listed(
            pipeline.opportunities(
                actor,
                OpportunityFilter(customer_id=customer_id),
                Paging(sort="-created_at", limit=PER_SOURCE, offset=0),
            )
        ),
        listed(
            desk_queries.tickets(
                actor, TicketFilter(customer_id=customer_id), sort="-opened_at", **of_customer
            )
        ),
    )
    found = [
        *stream,
        *from_interactions(interactions),
        *from_sales(PREFIX, quotes, placed, invoices),
        *from_opportunities(PREFIX, opportunities),
        *from_tickets(PREFIX, tickets),
    ]
    return CustomerStory(found, tickets)


__all__ = [
    "CustomerStory",
    "Happening",
    "Line",
    "customer_timeline",
    "from_stream",
    "lines",
    "users_named",
]
