"""The plan: every customer's whole history, decided up front, before any command is sent.

Behaviour is a pure function of the seed because of this split: each customer's orders,
tickets, interactions and lost opportunities are drawn from its own ``random.Random``, so a
customer's history does not depend on how many customers there are or on the order the
executor runs them in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from crm.platform.demo.company import COMPANY, FIRST, LAST, LOST_REASONS, PRODUCTS, REGIONS, TEAMS
from crm.platform.demo.personas import CHURNERS, Persona, draw


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
    kinds = draw(random.Random(f"{seed}:personas"), customers)
    return [
        plan_customer(i, kinds[i], random.Random(f"{seed}:customer:{i}"), start, end)
        for i in range(customers)
    ]
