"""Demo data: a company's history, generated through the real command path.

``crm demo`` opens the platform from settings with a :class:`ManualClock` set months back,
builds the real HTTP app and drives it through httpx's ASGI transport with the tokens of a
few managers, reps and agents, moving the clock one simulated day at a time. Every event
therefore goes through routes, authentication, validation, the domain and the store, with
``occurred_at`` in simulated time, and the projections, reactions (lead conversion) and
schedulers (overdue invoices, SLA breaches, complaint follow-ups) do what they do in
production.

Customers follow personas whose ground truth is known, so the churn warnings can be
evaluated (``python -m bench --only churn``): loyal (a regular rhythm), seasonal (orders in
a few months of the year), growing (intervals shorten), and churners who drift away in known
ways: slowing (intervals lengthen, then stop), complainer (complaints, low satisfaction,
then stop), silent (stop abruptly) and payment trouble (overdue invoices, then stop). The
truth (customer id -> persona, churned, churn date) is written to ``demo-truth.json`` in the
data directory.

Behaviour is a pure function of the seed: each customer's whole history is planned up front
from its own ``random.Random``, and the executor runs each customer's actions of a day in
plan order (customers run concurrently, which changes only the interleaving). Ids are random
UUIDs; the counts of events per type are the same for the same seed and end date.
"""

from __future__ import annotations

import asyncio
import json
import random
import time as clock_time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from crm.kernel.auth import Role
from crm.kernel.clock import ManualClock
from crm.kernel.projection import wait_until
from crm.kernel.settings import Settings
from crm.platform.app import create_app
from crm.platform.bootstrap import Platform, open_platform
from crm.sales.application.scheduler import SalesScheduler
from crm.service_desk.application.scheduler import ServiceDeskScheduler

TRUTH_FILE = "demo-truth.json"
DEFAULT_CUSTOMERS = 100
DEFAULT_MONTHS = 12
DEFAULT_SEED = 42
DAYS_PER_MONTH = 30.44
WORK_HOUR = time(10, 0)
TICK_HOUR = time(18, 0)
WAIT_SECONDS = 30.0
NEVER = 365 * 24 * 3600.0
"""The app's own scheduler jobs tick once at start-up and then never: the generator ticks
them itself at the end of each simulated day, so what they record depends on the simulated
days only, never on how fast this machine runs."""


class Persona(StrEnum):
    LOYAL = "loyal"
    SEASONAL = "seasonal"
    GROWING = "growing"
    SLOWING = "slowing"
    COMPLAINER = "complainer"
    SILENT = "silent"
    PAYMENT_TROUBLE = "payment_trouble"


CHURNERS = frozenset({Persona.SLOWING, Persona.COMPLAINER, Persona.SILENT, Persona.PAYMENT_TROUBLE})
WEIGHTS = {
    Persona.LOYAL: 0.33,
    Persona.SEASONAL: 0.12,
    Persona.GROWING: 0.15,
    Persona.SLOWING: 0.11,
    Persona.COMPLAINER: 0.11,
    Persona.SILENT: 0.09,
    Persona.PAYMENT_TROUBLE: 0.09,
}

TEAMS = {"north": ("rep-ana", "rep-ben"), "south": ("rep-cai", "rep-dee")}
MANAGERS = {"north": "mgr-nora", "south": "mgr-sam"}
AGENTS = ("agent-ivy", "agent-jon", "agent-kim")
SUPPORT_GROUP = "support"
PRODUCTS = (
    ("PAP-A4", "Copy paper A4, box", "38.00"),
    ("TON-BK", "Toner cartridge, black", "89.00"),
    ("CHR-ERG", "Ergonomic office chair", "420.00"),
    ("DSK-STD", "Standing desk", "690.00"),
    ("LMP-LED", "LED desk lamp", "45.00"),
    ("CAB-3D", "Filing cabinet, 3 drawers", "260.00"),
    ("SRV-MNT", "Maintenance visit", "150.00"),
    ("COF-BNS", "Coffee beans, 6 kg", "95.00"),
)
FIRST = ("Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas")
LAST = ("Keller", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Sato")
COMPANY = ("Logistics", "Dental", "Architects", "Bakery", "Consulting", "Legal", "Print", "Labs")
REGIONS = ("Berlin", "Hamburg", "Munich", "Vienna", "Zurich")
LOST_REASONS = ("price too high", "went with a competitor", "no budget this year", "bad timing")
DISQUALIFY_REASONS = ("no budget", "student project", "duplicate", "outside our market")
SOURCES = ("website", "referral", "trade fair", "cold call")


class DemoError(RuntimeError):
    """A command of the generator was refused: the demo data would not be what it claims."""


# -- the plan: every customer's history, decided up front ------------------------------------


@dataclass(frozen=True)
class PlannedOrder:
    day: date
    lines: tuple[tuple[int, int], ...]
    """(product index, quantity)."""
    via_quote: bool
    opportunity: bool
    """Won through an opportunity opened a few days before."""
    pay_after: int | None
    """Days after invoicing the invoice is paid; None: never."""
    partial: bool


@dataclass(frozen=True)
class PlannedTicket:
    day: date
    kind: str
    priority: str
    channel: str
    respond_after: int
    resolve_after: int
    score: int | None
    follow_up_after: int | None
    """Days after the resolution the complaint's follow-up is recorded; None: never."""


@dataclass(frozen=True)
class PlannedInteraction:
    day: date
    channel: str
    direction: str
    summary: str


@dataclass(frozen=True)
class LostOpportunity:
    day: date
    stages: int
    reason: str


@dataclass(frozen=True)
class CustomerPlan:
    index: int
    persona: Persona
    name: str
    company: str
    region: str
    team: str
    rep: str
    joined: date
    via_lead: bool
    churn_date: date | None
    orders: tuple[PlannedOrder, ...]
    tickets: tuple[PlannedTicket, ...]
    interactions: tuple[PlannedInteraction, ...]
    lost: tuple[LostOpportunity, ...]

    @property
    def churned(self) -> bool:
        return self.churn_date is not None


def weekday(d: date) -> date:
    """The next working day (the company and its customers work Monday to Friday)."""
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def personas(rng: random.Random, n: int) -> list[Persona]:
    """Every persona at least once (when n allows), the rest drawn by weight."""
    kinds = list(WEIGHTS)
    chosen = kinds[:n] + rng.choices(
        kinds, weights=list(WEIGHTS.values()), k=max(0, n - len(kinds))
    )
    rng.shuffle(chosen)
    return chosen


def plan_customer(
    index: int, persona: Persona, rng: random.Random, start: date, end: date
) -> CustomerPlan:
    """One customer's whole history between ``start`` and ``end`` (exclusive)."""
    span = (end - start).days
    joined = weekday(start + timedelta(days=rng.randint(0, max(1, int(span * 0.35)))))
    churn: date | None = None
    drift = end
    if persona in CHURNERS:
        # gone between a third of the span and two weeks before the end: some long gone,
        # some so recently that recency alone cannot tell them from a slow regular
        low = max((joined - start).days + 45, int(span * 0.65))
        high = max(low + 1, span - 14)
        churn = min(start + timedelta(days=rng.randint(low, high)), end - timedelta(days=7))
        drift = max(joined + timedelta(days=14), churn - timedelta(days=min(100, span // 3)))
    stop = churn or end
    team = rng.choice(sorted(TEAMS))
    rep = rng.choice(TEAMS[team])
    via_lead = rng.random() < 0.5
    first_order = joined + timedelta(days=12 if via_lead else 0)

    mu = rng.uniform(12.0, 40.0)
    season = {(rng.randint(1, 12) + k - 1) % 12 + 1 for k in range(4)}
    orders: list[PlannedOrder] = []
    day = first_order
    while day < stop:
        if persona is Persona.SEASONAL and day.month not in season and orders:
            day = weekday(date(day.year + day.month // 12, day.month % 12 + 1, 1))
            continue
        day = weekday(day)
        if day >= stop:
            break
        late = persona is Persona.PAYMENT_TROUBLE and day >= drift
        if late:
            pay_after: int | None = rng.randint(40, 75)
        else:
            pay_after = rng.randint(3, 25) if rng.random() > 0.04 else rng.randint(32, 45)
        count = rng.randint(1, 3)
        scale = 1 + len(orders) * 0.15 if persona is Persona.GROWING else 1.0
        lines = tuple(
            (p, max(1, round(rng.randint(1, 6) * scale)))
            for p in sorted(rng.sample(range(len(PRODUCTS)), count))
        )
        orders.append(
            PlannedOrder(
                day=day,
                lines=lines,
                via_quote=rng.random() < 0.3,
                opportunity=(day - first_order).days >= 10 and rng.random() < 0.12,
                pay_after=pay_after,
                partial=late and rng.random() < 0.5,
            )
        )
        gap = mu * rng.uniform(0.75, 1.25)
        if persona is Persona.SEASONAL:
            gap = mu * 0.5 * rng.uniform(0.75, 1.25)
        if persona is Persona.GROWING:
            mu = max(7.0, mu * 0.92)
        if persona is Persona.SLOWING and day >= drift:
            mu *= 1.5
        day += timedelta(days=max(3, round(gap)))
    if persona is Persona.PAYMENT_TROUBLE and orders:
        # the last invoices before leaving are never paid
        last = orders[-1]
        orders[-1] = PlannedOrder(
            last.day, last.lines, last.via_quote, last.opportunity, None, False
        )

    tickets: list[PlannedTicket] = []
    day = first_order + timedelta(days=round(rng.expovariate(1 / 120)))
    while day < stop:
        kind = rng.choices(("service_request", "inquiry", "complaint"), (0.5, 0.4, 0.1))[0]
        if not (persona is Persona.COMPLAINER and day >= drift):
            tickets.append(
                PlannedTicket(
                    day=weekday(day),
                    kind=kind,
                    priority=rng.choice(("low", "normal", "normal", "high")),
                    channel=rng.choice(("phone", "email", "web", "chat")),
                    respond_after=0,
                    resolve_after=rng.randint(1, 2),
                    score=rng.choice((4, 5, 5)) if kind != "complaint" else rng.choice((3, 4)),
                    follow_up_after=0,
                )
            )
        day += timedelta(days=max(7, round(rng.expovariate(1 / 120))))
    if persona is Persona.COMPLAINER:
        window = max(1, (stop - drift).days)
        for _ in range(rng.randint(2, 4)):
            tickets.append(
                PlannedTicket(
                    day=weekday(drift + timedelta(days=rng.randint(0, window - 1))),
                    kind="complaint",
                    priority=rng.choice(("high", "urgent")),
                    channel=rng.choice(("phone", "email")),
                    respond_after=1,
                    resolve_after=rng.randint(3, 6),
                    score=rng.choice((1, 1, 2)),
                    follow_up_after=rng.choice((None, 6)),
                )
            )
    tickets.sort(key=lambda t: t.day)

    interactions: list[PlannedInteraction] = []
    day = first_order + timedelta(days=rng.randint(3, 20))
    while day < stop:
        channel = rng.choice(("call", "email", "email", "meeting"))
        direction = rng.choice(("outbound", "outbound", "inbound"))
        summary = {
            "call": "Checked in on stock levels and upcoming needs",
            "email": "Sent the new catalogue and price list",
            "meeting": "Quarterly review of orders and service",
        }[channel]
        interactions.append(PlannedInteraction(weekday(day), channel, direction, summary))
        day += timedelta(days=rng.randint(15, 45))

    lost: list[LostOpportunity] = []
    if rng.random() < 0.3 and (stop - joined).days > 40:
        when = joined + timedelta(days=rng.randint(20, (stop - joined).days - 15))
        lost.append(LostOpportunity(weekday(when), rng.randint(0, 3), rng.choice(LOST_REASONS)))
    if persona in (Persona.SLOWING, Persona.COMPLAINER) and rng.random() < 0.5:
        when = drift + timedelta(days=rng.randint(0, max(1, (stop - drift).days - 10)))
        lost.append(LostOpportunity(weekday(when), rng.randint(1, 3), "went with a competitor"))

    given, family = rng.choice(FIRST), rng.choice(LAST)
    return CustomerPlan(
        index=index,
        persona=persona,
        name=f"{given} {family}",
        company=f"{family} {rng.choice(COMPANY)}",
        region=rng.choice(REGIONS),
        team=team,
        rep=rep,
        joined=joined,
        via_lead=via_lead,
        churn_date=churn,
        orders=tuple(orders),
        tickets=tuple(tickets),
        interactions=tuple(interactions),
        lost=tuple(lost),
    )


def plan(customers: int, seed: int, start: date, end: date) -> list[CustomerPlan]:
    """Every customer's history; customer ``i`` draws from its own generator, so its history
    does not depend on how many customers there are or on the order they run in."""
    kinds = personas(random.Random(f"{seed}:personas"), customers)
    return [
        plan_customer(i, kinds[i], random.Random(f"{seed}:customer:{i}"), start, end)
        for i in range(customers)
    ]


# -- the executor: HTTP commands on simulated days -------------------------------------------


def eur(amount: Decimal | int | str) -> dict[str, str]:
    return {"amount": f"{Decimal(amount):.2f}", "currency": "EUR"}


class Crm:
    """The HTTP app spoken to as the company's users; counts the commands it sends."""

    def __init__(self, client: httpx.AsyncClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.commands = 0
        self._headers: dict[str, dict[str, str]] = {}

    def user(self, user: str) -> dict[str, str]:
        if user not in self._headers:
            role, team = Role.SALES_REP, None
            for t, reps in TEAMS.items():
                if user in reps:
                    team = t
            for t, manager in MANAGERS.items():
                if user == manager:
                    role, team = Role.MANAGER, t
            if user in AGENTS:
                role, team = Role.AGENT, SUPPORT_GROUP
            if user == "admin":
                role = Role.ADMIN
            token = self.platform.runtime.tokens.issue(user, role, "default", team=team)
            self._headers[user] = {"Authorization": f"Bearer {token}"}
        return self._headers[user]

    async def send(
        self, user: str, method: str, url: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        r = await self.client.request(method, url, json=body, headers=self.user(user))
        self.commands += 1
        if r.status_code >= 300:
            raise DemoError(f"{user}: {method} {url} -> {r.status_code} {r.text}")
        return dict(r.json())

    async def get(self, user: str, url: str, **params: Any) -> httpx.Response:
        return await self.client.get(url, params=params, headers=self.user(user))

    async def until(self, user: str, url: str, done: Callable[[dict[str, Any]], bool]) -> None:
        """Wait for something another process does (the lead conversion's reaction)."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            r = await self.get(user, url)
            if r.status_code == 200 and done(r.json()):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"{url} did not get there in {WAIT_SECONDS}s: {r.text}")
            await asyncio.sleep(0.02)


Action = Callable[[], Awaitable[None]]


@dataclass
class Agenda:
    """Actions per simulated day, per actor (a customer, or the company), in plan order."""

    days: dict[date, dict[str, list[Action]]] = field(default_factory=lambda: defaultdict(dict))

    def at(self, day: date, who: str, action: Action) -> None:
        self.days[day].setdefault(who, []).append(action)


@dataclass
class Company:
    """Ids of what the company set up, filled in as the setup runs."""

    products: list[str] = field(default_factory=list)
    price_book: str = ""
    campaigns: list[tuple[date, date, str]] = field(default_factory=list)

    def campaign_on(self, day: date) -> str | None:
        for starts, ends, cid in self.campaigns:
            if starts <= day <= ends:
                return cid
        return None


@dataclass
class Customer:
    plan: CustomerPlan
    id: str = ""


def stages() -> Iterator[str]:
    yield from ("qualification", "needs_analysis", "proposal", "negotiation")


class Story:
    """Turns the plan into actions on the agenda."""

    def __init__(self, crm: Crm, company: Company, agenda: Agenda, end: date) -> None:
        self.crm = crm
        self.company = company
        self.agenda = agenda
        self.end = end

    def lines(self, order: PlannedOrder) -> list[dict[str, Any]]:
        return [
            {"product_id": self.company.products[p], "quantity": str(q)} for p, q in order.lines
        ]

    # company-level
    def setup(self, start: date, end: date, leads: int, rng: random.Random) -> None:
        crm, company = self.crm, self.company
        boss = MANAGERS["north"]

        async def catalogue() -> None:
            for sku, name, price in PRODUCTS:
                done = await crm.send(
                    boss, "POST", "/products", {"sku": sku, "name": name, "list_price": eur(price)}
                )
                company.products.append(done["id"])
            book = await crm.send(
                boss, "POST", "/price-books", {"name": "Standard EUR", "currency": "EUR"}
            )
            company.price_book = book["id"]
            for sku, _, price in PRODUCTS:
                await crm.send(
                    boss,
                    "PUT",
                    f"/price-books/{book['id']}/entries/{sku}",
                    {"unit_price": eur(Decimal(price) * Decimal("0.95"))},
                )
            await crm.send(
                "admin",
                "POST",
                "/calendars",
                {
                    "id": "support-hours",
                    "name": "Support hours",
                    "time_zone": "UTC",
                    "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in range(5)],
                },
            )
            targets = {
                "urgent": {"first_response_minutes": 60, "resolution_minutes": 480},
                "high": {"first_response_minutes": 120, "resolution_minutes": 960},
                "normal": {"first_response_minutes": 240, "resolution_minutes": 1440},
                "low": {"first_response_minutes": 480, "resolution_minutes": 2400},
            }
            await crm.send(
                "admin",
                "POST",
                "/sla/policies",
                {
                    "name": "Standard",
                    "targets": targets,
                    "calendar_id": "support-hours",
                    "follow_up_days": 3,
                    "follow_up_escalation_days": 2,
                },
            )

        first = weekday(start)
        self.agenda.at(first, "company", catalogue)

        # a campaign per quarter, launched when it starts and ended when it ends
        day = first
        n = 0
        while day < end:
            ends = min(day + timedelta(days=60), end)
            channel = ("webinar", "email", "event", "social")[n % 4]
            self.agenda.at(day, "company", self._campaign(n, day, ends, channel))
            day = weekday(day + timedelta(days=91))
            n += 1

        # monthly targets per rep, set by their team's manager on the first working day
        month = date(start.year, start.month, 1)
        while month < end:
            when = max(first, weekday(month))
            for team, reps in TEAMS.items():
                for rep in reps:
                    amount = rng.choice(("8000", "10000", "12000"))
                    self.agenda.at(
                        when, "company", self._target(MANAGERS[team], rep, month, amount)
                    )
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)

        # leads that never become customers: most disqualified, some left open
        span = (end - start).days
        for i in range(leads):
            day = weekday(start + timedelta(days=rng.randint(1, max(2, span - 3))))
            reason = rng.choice(DISQUALIFY_REASONS) if rng.random() < 0.8 else None
            team = rng.choice(sorted(TEAMS))
            rep = rng.choice(TEAMS[team])
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            self.agenda.at(day, f"lead-{i}", self._dead_lead(rep, name, day, reason))

    def _campaign(self, n: int, starts: date, ends: date, channel: str) -> Action:
        async def act() -> None:
            boss = MANAGERS["north" if n % 2 == 0 else "south"]
            made = await self.crm.send(
                boss,
                "POST",
                "/campaigns",
                {
                    "name": f"{channel.title()} campaign {starts:%b %Y}",
                    "channel": channel,
                    "budget": eur(2000 + 500 * (n % 4)),
                    "starts_on": starts.isoformat(),
                    "ends_on": ends.isoformat(),
                },
            )
            await self.crm.send(boss, "POST", f"/campaigns/{made['id']}/launch")
            self.company.campaigns.append((starts, ends, made["id"]))
            if ends < self.end:
                self.agenda.at(weekday(ends), "company", self._end_campaign(boss, made["id"]))

        return act

    def _end_campaign(self, boss: str, cid: str) -> Action:
        async def act() -> None:
            await self.crm.send(boss, "POST", f"/campaigns/{cid}/end", {"reason": "ran its course"})

        return act

    def _target(self, boss: str, rep: str, month: date, amount: str) -> Action:
        async def act() -> None:
            body = {
                "owner_kind": "rep",
                "owner_id": rep,
                "period": f"{month:%Y-%m}",
                "amount": eur(amount),
            }
            await self.crm.send(boss, "POST", "/targets", body)

        return act

    def _dead_lead(self, rep: str, name: str, day: date, reason: str | None) -> Action:
        async def act() -> None:
            body: dict[str, Any] = {"name": name, "source": "website"}
            campaign = self.company.campaign_on(day)
            if campaign:
                body["campaign_id"] = campaign
            lead = await self.crm.send(rep, "POST", "/leads", body)
            if reason is not None:
                await self.crm.send(
                    rep, "POST", f"/leads/{lead['id']}/disqualify", {"reason": reason}
                )

        return act

    # customer-level
    def customer(self, c: Customer) -> None:
        p, who = c.plan, f"customer-{c.plan.index}"
        at = self.agenda.at
        if p.via_lead:
            lead: dict[str, str] = {}
            at(p.joined, who, self._lead(c, lead))
            at(weekday(p.joined + timedelta(days=1)), who, self._convert(c, lead))
            day = p.joined + timedelta(days=1)
            for stage in stages():
                day = weekday(day + timedelta(days=1))
                at(day, who, self._stage(c, lead, stage))
        else:
            at(p.joined, who, self._register(c))
        for k, order in enumerate(p.orders):
            won = lead if p.via_lead and k == 0 else None
            self._order(c, order, won)
        for ticket in p.tickets:
            self._ticket(c, ticket)
        for interaction in p.interactions:
            at(interaction.day, who, self._interaction(c, interaction))
        for opportunity in p.lost:
            self._lost(c, opportunity)

    def _lead(self, c: Customer, lead: dict[str, str]) -> Action:
        async def act() -> None:
            p = c.plan
            first, last = p.name.split(" ", 1)
            body: dict[str, Any] = {
                "name": p.name,
                "email": f"{first}.{last}@example.com".lower(),
                "company": p.company,
                "source": SOURCES[p.index % len(SOURCES)],
            }
            campaign = self.company.campaign_on(p.joined)
            if campaign:
                body["campaign_id"] = campaign
            made = await self.crm.send(p.rep, "POST", "/leads", body)
            lead["id"] = made["id"]
            await self.crm.send(p.rep, "POST", f"/leads/{made['id']}/qualify", {"note": "fit"})

        return act

    def _convert(self, c: Customer, lead: dict[str, str]) -> Action:
        async def act() -> None:
            p = c.plan
            amount = sum(
                Decimal(PRODUCTS[i][2]) * q for i, q in (p.orders[0].lines if p.orders else ())
            )
            done = await self.crm.send(
                p.rep,
                "POST",
                f"/leads/{lead['id']}/convert",
                {
                    "opportunity_name": f"{p.company}: first order",
                    "amount": eur(amount or Decimal("500")),
                    "expected_close_date": (p.joined + timedelta(days=14)).isoformat(),
                },
            )
            c.id, lead["opportunity"] = done["customer_id"], done["opportunity_id"]
            await self.crm.until(
                p.rep, f"/leads/{lead['id']}", lambda d: d["status"] == "converted"
            )
            await self.crm.until(p.rep, f"/customers/{c.id}", lambda d: True)
            await self.crm.until(p.rep, f"/opportunities/{lead['opportunity']}", lambda d: True)

        return act

    def _stage(self, c: Customer, lead: dict[str, str], stage: str) -> Action:
        async def act() -> None:
            await self.crm.send(
                c.plan.rep, "POST", f"/opportunities/{lead['opportunity']}/stage", {"stage": stage}
            )

        return act

    def _register(self, c: Customer) -> Action:
        async def act() -> None:
            p = c.plan
            first, last = p.name.split(" ", 1)
            done = await self.crm.send(
                p.rep,
                "POST",
                "/customers",
                {
                    "name": p.name,
                    "email": f"{first}.{last}@example.com".lower(),
                    "company": p.company,
                    "region": p.region,
                    "source": SOURCES[p.index % len(SOURCES)],
                    "tags": ["demo", p.team],
                    "owner_id": p.rep,
                },
            )
            c.id = done["id"]
            await self.crm.send(
                p.rep,
                "POST",
                f"/customers/{c.id}/consent",
                {"purpose": "marketing_email", "granted": p.index % 3 != 0, "method": "web form"},
            )

        return act

    def _order(self, c: Customer, order: PlannedOrder, lead: dict[str, str] | None) -> None:
        who, rep, at = f"customer-{c.plan.index}", c.plan.rep, self.agenda.at
        ids: dict[str, str] = {}
        if lead is not None:
            ids["opportunity"] = ""
        elif order.opportunity:
            opened = weekday(order.day - timedelta(days=6))
            at(opened, who, self._open_opportunity(c, order, ids))
            day = opened
            for stage in stages():
                day = weekday(day + timedelta(days=1))
                if day < order.day:
                    at(day, who, self._move(c, ids, stage))

        async def place() -> None:
            crm = self.crm
            opportunity = lead["opportunity"] if lead is not None else ids.get("opportunity")
            if order.via_quote or opportunity:
                body: dict[str, Any] = {
                    "customer_id": c.id,
                    "currency": "EUR",
                    "valid_until": (order.day + timedelta(days=30)).isoformat(),
                    "price_book_id": self.company.price_book,
                    "lines": self.lines(order),
                }
                if opportunity:
                    body["opportunity_id"] = opportunity
                quote = await crm.send(rep, "POST", "/quotes", body)
                await crm.send(rep, "POST", f"/quotes/{quote['id']}/send")
                await crm.send(rep, "POST", f"/quotes/{quote['id']}/accept")
                if opportunity:
                    await crm.send(rep, "POST", f"/opportunities/{opportunity}/win")
                placed = await crm.send(rep, "POST", "/orders", {"quote_id": quote["id"]})
            else:
                body = {
                    "customer_id": c.id,
                    "currency": "EUR",
                    "price_book_id": self.company.price_book,
                    "lines": self.lines(order),
                }
                placed = await crm.send(rep, "POST", "/orders", body)
            ids["order"] = placed["id"]

        async def ship() -> None:
            await self.crm.send(rep, "POST", f"/orders/{ids['order']}/ship", {"carrier": "DHL"})
            invoice = await self.crm.send(rep, "POST", "/invoices", {"order_id": ids["order"]})
            ids["invoice"], ids["invoiced_at"] = invoice["id"], str(invoice["position"])

        async def deliver() -> None:
            await self.crm.send(rep, "POST", f"/orders/{ids['order']}/deliver")

        def pay(share: Decimal) -> Action:
            async def act() -> None:
                r = await self.crm.get(
                    rep, f"/invoices/{ids['invoice']}", min_position=ids["invoiced_at"]
                )
                if r.status_code != 200:
                    raise DemoError(f"invoice {ids['invoice']}: {r.status_code} {r.text}")
                balance = Decimal(r.json()["balance"]["amount"])
                amount = (balance * share).quantize(Decimal("0.01"))
                if amount > 0:
                    await self.crm.send(
                        rep,
                        "POST",
                        "/payments",
                        {"invoice_id": ids["invoice"], "amount": eur(amount), "method": "transfer"},
                    )

            return act

        at(order.day, who, place)
        shipped = weekday(order.day + timedelta(days=1))
        at(shipped, who, ship)
        at(weekday(shipped + timedelta(days=2)), who, deliver)
        if order.pay_after is not None:
            paid = weekday(shipped + timedelta(days=order.pay_after))
            if order.partial:
                at(
                    weekday(shipped + timedelta(days=order.pay_after // 2)),
                    who,
                    pay(Decimal("0.5")),
                )
            at(paid, who, pay(Decimal(1)))

    def _open_opportunity(self, c: Customer, order: PlannedOrder, ids: dict[str, str]) -> Action:
        async def act() -> None:
            amount = sum(Decimal(PRODUCTS[i][2]) * q for i, q in order.lines)
            done = await self.crm.send(
                c.plan.rep,
                "POST",
                "/opportunities",
                {
                    "customer_id": c.id,
                    "name": f"{c.plan.company}: expansion",
                    "amount": eur(amount),
                    "expected_close_date": (order.day + timedelta(days=7)).isoformat(),
                },
            )
            ids["opportunity"] = done["id"]

        return act

    def _move(self, c: Customer, ids: dict[str, str], stage: str) -> Action:
        async def act() -> None:
            await self.crm.send(
                c.plan.rep, "POST", f"/opportunities/{ids['opportunity']}/stage", {"stage": stage}
            )

        return act

    def _lost(self, c: Customer, lost: LostOpportunity) -> None:
        who, ids = f"customer-{c.plan.index}", dict[str, str]()
        day = lost.day
        self.agenda.at(day, who, self._open_lost(c, lost, ids))
        for stage in list(stages())[: lost.stages]:
            day = weekday(day + timedelta(days=2))
            self.agenda.at(day, who, self._move(c, ids, stage))

        async def lose() -> None:
            await self.crm.send(
                c.plan.rep,
                "POST",
                f"/opportunities/{ids['opportunity']}/lose",
                {"reason": lost.reason},
            )

        self.agenda.at(weekday(day + timedelta(days=3)), who, lose)

    def _open_lost(self, c: Customer, lost: LostOpportunity, ids: dict[str, str]) -> Action:
        async def act() -> None:
            done = await self.crm.send(
                c.plan.rep,
                "POST",
                "/opportunities",
                {
                    "customer_id": c.id,
                    "name": f"{c.plan.company}: new office fit-out",
                    "amount": eur("15000"),
                    "expected_close_date": (lost.day + timedelta(days=30)).isoformat(),
                },
            )
            ids["opportunity"] = done["id"]

        return act

    def _interaction(self, c: Customer, i: PlannedInteraction) -> Action:
        async def act() -> None:
            body: dict[str, Any] = {
                "channel": i.channel,
                "direction": i.direction,
                "summary": i.summary,
            }
            if i.channel in ("call", "meeting"):
                body["duration_minutes"] = 15 if i.channel == "call" else 60
            await self.crm.send(c.plan.rep, "POST", f"/customers/{c.id}/interactions", body)

        return act

    def _ticket(self, c: Customer, t: PlannedTicket) -> None:
        who, at = f"customer-{c.plan.index}", self.agenda.at
        agent = AGENTS[c.plan.index % len(AGENTS)]
        ids: dict[str, str] = {}
        complaint = t.kind == "complaint"

        async def open_() -> None:
            subject = {
                "service_request": "Please schedule a maintenance visit",
                "inquiry": "Question about delivery times",
                "complaint": "Delivery arrived damaged"
                if t.score and t.score > 2
                else "Wrong items delivered again",
            }[t.kind]
            done = await self.crm.send(
                agent,
                "POST",
                "/tickets",
                {
                    "customer_id": c.id,
                    "kind": t.kind,
                    "channel": t.channel,
                    "priority": t.priority,
                    "subject": subject,
                    "description": f"{subject}. Reported by {c.plan.name}.",
                },
            )
            ids["ticket"] = done["id"]
            await self.crm.send(
                agent,
                "POST",
                f"/tickets/{done['id']}/assign",
                {"agent_id": agent, "group_id": SUPPORT_GROUP},
            )

        async def respond() -> None:
            await self.crm.send(
                agent,
                "POST",
                f"/tickets/{ids['ticket']}/comment",
                {"body": "Thank you, we are looking into it.", "public": True},
            )

        async def resolve() -> None:
            url = f"/tickets/{ids['ticket']}"
            await self.crm.send(agent, "POST", f"{url}/resolve", {"resolution": "Sorted out."})
            if t.score is not None:
                await self.crm.send(agent, "POST", f"{url}/satisfaction", {"score": t.score})

        async def review() -> None:
            # a complaint scored low was reopened for review: resolved again, then closed
            url = f"/tickets/{ids['ticket']}"
            await self.crm.send(
                agent, "POST", f"{url}/resolve", {"resolution": "Reviewed with the customer."}
            )
            await self.crm.send(agent, "POST", f"{url}/close")

        async def close() -> None:
            await self.crm.send(agent, "POST", f"/tickets/{ids['ticket']}/close")

        async def follow_up() -> None:
            await self.crm.send(
                agent,
                "POST",
                f"/tickets/{ids['ticket']}/follow-up",
                {"note": "Called the customer: the issue is settled."},
            )

        at(t.day, who, open_)
        responded = weekday(t.day + timedelta(days=t.respond_after))
        at(responded, who, respond)
        resolved = weekday(responded + timedelta(days=t.resolve_after))
        at(resolved, who, resolve)
        reopened = complaint and t.score is not None and t.score <= 2
        later = weekday(resolved + timedelta(days=1 if reopened else 2))
        at(later, who, review if reopened else close)
        if complaint and t.follow_up_after is not None:
            due = weekday(resolved + timedelta(days=3 + t.follow_up_after))
            at(max(due, later), who, follow_up)


# -- running it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoReport:
    customers: int
    start: date
    end: date
    days: int
    commands: int
    seconds: float
    events: dict[str, int]
    truth: Path

    @property
    def commands_per_second(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0


Progress = Callable[[int, int, int], None]
"""``(day, days, commands)`` after each simulated day."""


async def caught_up(platform: Platform) -> None:
    """Wait until every projection has applied the head of the log, so a scheduler tick
    sees everything done that day (what it records then depends on the plan only)."""
    head = await platform.store.head_position()
    for runner in platform.runners:
        p = runner.projection
        _, done = await wait_until(
            platform.read_store,
            p.name,
            head,
            WAIT_SECONDS,
            store=platform.store,
            categories=p.categories,
        )
        if not done:
            raise DemoError(f"projection {p.name} did not catch up in {WAIT_SECONDS}s")


async def generate(
    settings: Settings,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    months: int = DEFAULT_MONTHS,
    seed: int = DEFAULT_SEED,
    end: date | None = None,
    concurrency: int = 16,
    progress: Progress | None = None,
) -> DemoReport:
    """Generate ``months`` of history for ``customers`` customers, ending the day before
    ``end`` (default: today), into the platform ``settings`` describe."""
    end = end or datetime.now(UTC).date()
    start = end - timedelta(days=round(months * DAYS_PER_MONTH))
    plans = plan(customers, seed, start, end)
    clock = ManualClock(datetime.combine(start, WORK_HOUR, UTC))
    quiet = settings.model_copy(update={"scheduler_interval_seconds": NEVER})
    platform = open_platform(quiet, clock=clock)
    started = clock_time.perf_counter()
    try:
        app = create_app(platform)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                crm = Crm(client, platform)
                agenda = Agenda()
                company = Company()
                story = Story(crm, company, agenda, end)
                story.setup(start, end, max(2, customers // 4), random.Random(f"{seed}:company"))
                people = [Customer(p) for p in plans]
                for person in people:
                    story.customer(person)
                await simulate(platform, crm, clock, agenda, start, end, concurrency, progress)
                commands = crm.commands
        seconds = clock_time.perf_counter() - started
        events: Counter[str] = Counter()
        async for page in platform.store.read_all(0):
            events.update(envelope.event_type for envelope in page)
    finally:
        await platform.close()
    truth = write_truth(settings.data_dir / TRUTH_FILE, people, seed, start, end, events)
    return DemoReport(
        customers=customers,
        start=start,
        end=end,
        days=(end - start).days,
        commands=commands,
        seconds=seconds,
        events=dict(sorted(events.items())),
        truth=truth,
    )


async def simulate(
    platform: Platform,
    crm: Crm,
    clock: ManualClock,
    agenda: Agenda,
    start: date,
    end: date,
    concurrency: int,
    progress: Progress | None,
) -> None:
    sales = SalesScheduler(platform.runtime)
    desk = ServiceDeskScheduler(platform.runtime)
    bound = asyncio.Semaphore(concurrency)

    async def run(actions: list[Action]) -> None:
        async with bound:
            for action in actions:
                await action()

    days = (end - start).days
    for n in range(days):
        day = start + timedelta(days=n)
        clock.set(datetime.combine(day, WORK_HOUR, UTC))
        # actions may add actions for the same day (a campaign's end): run until none are left
        while todo := agenda.days.pop(day, None):
            company = todo.pop("company", [])
            await run(company)
            await asyncio.gather(*(run(actions) for actions in todo.values()))
        clock.set(datetime.combine(day, TICK_HOUR, UTC))
        await caught_up(platform)
        await sales.tick(clock.now())
        await desk.tick(clock.now())
        if progress is not None:
            progress(n + 1, days, crm.commands)
    await caught_up(platform)


def write_truth(
    path: Path,
    people: list[Customer],
    seed: int,
    start: date,
    end: date,
    events: Counter[str],
) -> Path:
    """The ground truth of the personas, for evaluations of the churn warnings."""
    truth = {
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "events": dict(sorted(events.items())),
        "customers": {
            c.id: {
                "persona": c.plan.persona.value,
                "churned": c.plan.churned,
                "churn_date": c.plan.churn_date.isoformat() if c.plan.churn_date else None,
                "joined": c.plan.joined.isoformat(),
                "orders_planned": len(c.plan.orders),
            }
            for c in people
            if c.id
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2) + "\n")
    return path


def load_truth(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))
