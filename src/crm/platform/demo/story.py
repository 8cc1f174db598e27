"""The story: the plan told as HTTP commands on the agenda.

The company sets itself up (catalogue, price book, support hours and SLA, campaigns, monthly
targets, leads that go nowhere); each customer arrives as a lead or a registration, then
orders, pays (or not), raises tickets and talks to its rep as its plan says. Nothing is sent
here: each step is an action for a day, and actions that depend on ids made by earlier ones
read them when they run.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from crm.platform.demo.agenda import Action, Agenda
from crm.platform.demo.client import Crm, DemoError, eur
from crm.platform.demo.company import (
    AGENTS,
    ARTICLES,
    COMPANY,
    DISQUALIFY_REASONS,
    FIRST,
    LAST,
    MANAGERS,
    PRODUCTS,
    REGIONS,
    SOURCES,
    SUPPORT_GROUP,
    TEAMS,
    Company,
)
from crm.platform.demo.plan import (
    CustomerPlan,
    LostOpportunity,
    PlannedInteraction,
    PlannedOrder,
    PlannedTicket,
    weekday,
)

DEAD_LEAD_SOURCE_WEIGHTS = (5, 1, 2, 4)
"""How often a lead that goes nowhere came from each of ``SOURCES`` (website, referral, trade
fair, cold call); a lead that becomes a customer comes from each alike."""
DEAD_LEAD_COMPANY = 0.4
"""The share of leads that go nowhere that gave a company (every converted one did)."""
DEAD_LEAD_QUALIFIED = 0.3
"""The share of them qualified before being disqualified (every converted one was)."""
STREETS = ("Hauptstraße", "Bahnhofstraße", "Marktplatz", "Ringstraße", "Lindenallee")
POSTCODES = {
    "Berlin": "10115",
    "Hamburg": "20095",
    "Munich": "80331",
    "Vienna": "1010",
    "Zurich": "8001",
}


def profile_extras(index: int, company: str, region: str) -> dict[str, Any]:
    """Addresses, a birthday for every second customer, an anniversary (the company's
    founding) for every fifth, and how they like to be reached: from the index, not the
    plan's random draws, so the rest of the demo's history is the same with or without."""
    street = f"{STREETS[index % len(STREETS)]} {1 + index % 97}"
    town = f"{POSTCODES.get(region, '')} {region}".strip()
    extras: dict[str, Any] = {
        "billing_address": f"{company}\n{street}\n{town}",
        "preferred_channel": ("email", "call", "meeting", "chat")[index % 4],
        "preferred_language": "zh-CN" if index % 7 == 0 else "en",
    }
    if index % 3 == 0:
        extras["shipping_address"] = f"{company}, Lager\n{STREETS[(index + 2) % 5]} 2\n{town}"
        extras["visit_address"] = f"{street}\n{town}"
    if index % 2 == 0:
        extras["birthday"] = date(1955 + index % 45, 1 + index % 12, 1 + index % 28).isoformat()
    if index % 5 == 0:
        extras["anniversary"] = date(
            1990 + index % 30, 1 + (index * 5) % 12, 1 + index % 28
        ).isoformat()
    return extras


@dataclass
class Customer:
    plan: CustomerPlan
    id: str = ""


def stages() -> Iterator[str]:
    yield from ("qualification", "needs_analysis", "proposal", "negotiation")


PIPELINE_STAGES: tuple[str | None, ...] = (None, *stages())
"""Where the open pipeline stands at the end: every open stage of the default pipeline
(``None``: the first, ``prospecting``, where an opportunity opens)."""


class Story:
    """Turns the plan into actions on the agenda."""

    def __init__(self, crm: Crm, company: Company, agenda: Agenda, end: date) -> None:
        self.crm = crm
        self.company = company
        self.agenda = agenda
        self.end = end
        self.lately = 0
        """The seed of what the company does besides the personas' plans (the open
        pipeline, the pool, the latest leads): drawn apart, so the plans stay as they are."""

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
        self.agenda.at(first, "company", self._knowledge_base())

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

        # drawn after everything above, so that the rest of the company stays as it was
        self.lately = rng.getrandbits(32)
        self._prospects(start, end, leads, random.Random(f"{self.lately}:prospects"))

    def _knowledge_base(self) -> Action:
        """The agents' first articles, published: tickets are resolved with them."""

        async def act() -> None:
            for n, (subject, (title, problem, solution, tags)) in enumerate(ARTICLES.items()):
                agent = AGENTS[n % len(AGENTS)]
                body = {"title": title, "problem": problem, "solution": solution, "tags": tags}
                made = await self.crm.send(agent, "POST", "/kb/articles", body)
                await self.crm.send(agent, "POST", f"/kb/articles/{made['id']}/publish")
                self.company.articles[subject] = made["id"]

        return act

    def _prospects(self, start: date, end: date, n: int, rng: random.Random) -> None:
        """Customers outside the personas: prospects registered into the shared pool over
        the last months (for reps to claim), and leads of the last weeks converted into
        customers whose first opportunity is still open at the end, at every stage."""
        span = (end - start).days
        for i in range(max(2, n // 2)):
            day = weekday(end - timedelta(days=rng.randint(3, max(4, min(span - 1, 120)))))
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            region = rng.choice(REGIONS)
            self.agenda.at(day, f"pool-{i}", self._pooled(i, name, region))
        for i in range(max(len(PIPELINE_STAGES), n // 3)):
            team = rng.choice(sorted(TEAMS))
            rep = rng.choice(TEAMS[team])
            day = weekday(end - timedelta(days=rng.randint(10, max(11, min(span - 1, 30)))))
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            company = f"{name.split()[1]} {rng.choice(COMPANY)}"
            stage = PIPELINE_STAGES[i % len(PIPELINE_STAGES)]
            self.agenda.at(day, f"fresh-{i}", self._fresh(i, rep, name, company, day, stage))

    def _pooled(self, i: int, name: str, region: str) -> Action:
        async def act() -> None:
            first, last = name.split(" ", 1)
            body = {
                "name": name,
                "email": f"{first}.{last}.prospect{i}@example.com".lower(),
                "region": region,
                "source": "trade fair",
                "tags": ["prospect"],
            }
            done = await self.crm.register(MANAGERS["north"], body)
            self.company.prospects.append(done["id"])

        return act

    def _fresh(
        self, i: int, rep: str, name: str, company: str, day: date, stage: str | None
    ) -> Action:
        async def act() -> None:
            first, last = name.split(" ", 1)
            body: dict[str, Any] = {
                "name": name,
                "email": f"{first}.{last}.lead{i}@example.com".lower(),
                "company": company,
                "source": "referral",
            }
            campaign = self.company.campaign_on(day)
            if campaign:
                body["campaign_id"] = campaign
            lead = await self.crm.send(rep, "POST", "/leads", body)
            await self.crm.send(rep, "POST", f"/leads/{lead['id']}/qualify", {"note": "fit"})
            done = await self.crm.send(
                rep,
                "POST",
                f"/leads/{lead['id']}/convert",
                {
                    "opportunity_name": f"{company}: first order",
                    "amount": eur(2000 + 500 * (len(name) % 7)),
                    "expected_close_date": (self.end + timedelta(days=30)).isoformat(),
                },
            )
            self.company.prospects.append(done["customer_id"])
            opportunity = done["opportunity_id"]
            await self.crm.until(rep, f"/leads/{lead['id']}", lambda d: d["status"] == "converted")
            await self.crm.until(rep, f"/opportunities/{opportunity}", lambda d: True)
            for step in stages():
                if stage is None:
                    break
                await self.crm.send(
                    rep, "POST", f"/opportunities/{opportunity}/stage", {"stage": step}
                )
                if step == stage:
                    break

        return act

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
        """A lead that goes nowhere. Unlike the leads that become customers (any source,
        always a company, always qualified), it comes mostly from the website or a cold call,
        gives a company less often and is qualified before being dropped only sometimes, so
        its conversion depends on these facts plausibly, not as a rule (the lead score's
        ``bench/lead_scoring.py`` measures against that). Drawn from its own generator, seeded
        by the lead, so the rest of the company stays as it was."""
        own = random.Random(f"dead-lead:{name}:{day.isoformat()}:{rep}")
        source = own.choices(SOURCES, weights=DEAD_LEAD_SOURCE_WEIGHTS)[0]
        company = own.random() < DEAD_LEAD_COMPANY
        qualified = own.random() < DEAD_LEAD_QUALIFIED

        async def act() -> None:
            body: dict[str, Any] = {"name": name, "source": source}
            if company:
                body["company"] = f"{name.split()[-1]} {COMPANY[len(name) % len(COMPANY)]}"
            campaign = self.company.campaign_on(day)
            if campaign:
                body["campaign_id"] = campaign
            lead = await self.crm.send(rep, "POST", "/leads", body)
            if qualified:
                await self.crm.send(rep, "POST", f"/leads/{lead['id']}/qualify", {"note": "fit"})
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
        self._open_pipeline(c)

    def _open_pipeline(self, c: Customer) -> None:
        """A customer still buying may be in talks at the end: an opportunity opened in the
        last weeks, at some stage, expected to close after the end (the forecast)."""
        p = c.plan
        rng = random.Random(f"{self.lately}:pipeline:{p.index}")
        opened = weekday(self.end - timedelta(days=rng.randint(12, 40)))
        if p.churned or rng.random() > 0.3 or opened <= p.joined + timedelta(days=20):
            return
        who, ids = f"customer-{p.index}", dict[str, str]()
        stage = rng.choice(PIPELINE_STAGES)

        async def open_() -> None:
            done = await self.crm.send(
                p.rep,
                "POST",
                "/opportunities",
                {
                    "customer_id": c.id,
                    "name": f"{p.company}: {rng.choice(('renewal', 'new site', 'upgrade'))}",
                    "amount": eur(rng.choice((3000, 5000, 8000, 12000))),
                    "expected_close_date": (
                        self.end + timedelta(days=rng.randint(5, 75))
                    ).isoformat(),
                },
            )
            ids["opportunity"] = done["id"]

        self.agenda.at(opened, who, open_)
        day = opened
        for step in stages():
            if stage is None:
                break
            day = weekday(day + timedelta(days=2))
            if day >= self.end:
                break
            self.agenda.at(day, who, self._move(c, ids, step))
            if step == stage:
                break

    def _lead(self, c: Customer, lead: dict[str, str]) -> Action:
        async def act() -> None:
            p = c.plan
            first, last = p.name.split(" ", 1)
            body: dict[str, Any] = {
                "name": p.name,
                "email": f"{first}.{last}.{p.index}@example.com".lower(),
                "company": p.company,
                "source": SOURCES[p.index % len(SOURCES)],
            }
            campaign = self.company.campaign_on(p.joined)
            if campaign:
                body["campaign_id"] = campaign
                lead["campaign"] = campaign
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
            done = await self.crm.register(
                p.rep,
                {
                    "name": p.name,
                    "email": f"{first}.{last}.{p.index}@example.com".lower(),
                    "company": p.company,
                    "region": p.region,
                    "source": SOURCES[p.index % len(SOURCES)],
                    "tags": ["demo", p.team],
                    "owner_id": p.rep,
                    **profile_extras(p.index, p.company, p.region),
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
                if lead is not None and lead.get("campaign"):
                    body["campaign_id"] = lead["campaign"]  # the campaign that won the deal
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

    @staticmethod
    def _reply_time(c: Customer, t: PlannedTicket) -> time:
        """When the agent answers: some minutes after the ticket was opened (at the work
        hour), sooner the more urgent; the next day's first thing when planned for then.
        A function of the ticket alone (not drawn from the plan's generator)."""
        if t.respond_after:
            return time(8, 30 + zlib.crc32(f"{c.plan.index}:{t.day}".encode()) % 30)
        span = {"urgent": 40, "high": 90, "normal": 180, "low": 300}.get(t.priority, 180)
        minutes = 10 + zlib.crc32(f"{c.plan.index}:{t.day}:{t.kind}".encode()) % span
        return time(10 + minutes // 60, minutes % 60)

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
            ids["ticket"], ids["subject"] = done["id"], subject
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
            body: dict[str, Any] = {"resolution": "Sorted out."}
            article = self.company.articles.get(ids["subject"])
            if article is not None:
                body["kb_article_id"] = article
            await self.crm.send(agent, "POST", f"{url}/resolve", body)
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
        at(responded, who, respond, self._reply_time(c, t))
        resolved = weekday(responded + timedelta(days=t.resolve_after))
        at(resolved, who, resolve)
        reopened = complaint and t.score is not None and t.score <= 2
        later = weekday(resolved + timedelta(days=1 if reopened else 2))
        at(later, who, review if reopened else close)
        if complaint and t.follow_up_after is not None:
            due = weekday(resolved + timedelta(days=3 + t.follow_up_after))
            at(max(due, later), who, follow_up)
