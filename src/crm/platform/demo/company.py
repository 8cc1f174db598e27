"""The company the demo plays: its teams, agents and catalogue, the market its customers and
leads are drawn from, and the ids of what it set up on the platform.

The plan, the client's tokens and the story all speak of the same people and products; they
are fixed here so that a seed's company is the same whichever part asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
ADMIN = "admin"
ARTICLES = {
    "Please schedule a maintenance visit": (
        "Booking a maintenance visit",
        "The customer wants a technician to service furniture or machines on site.",
        "Book a visit with a free technician in the customer's region; confirm by e-mail.",
        ("maintenance", "visit"),
    ),
    "Question about delivery times": (
        "Delivery times",
        "When will my delivery arrive?",
        "Orders placed before 14:00 are delivered within two working days by DHL.",
        ("delivery", "shipping"),
    ),
    "Delivery arrived damaged": (
        "Damaged deliveries",
        "The parcel or the goods were damaged when they were delivered.",
        "Ask for a photo, send a replacement at once and file the claim with the carrier.",
        ("delivery", "complaint", "damage"),
    ),
    "Wrong items delivered again": (
        "Wrong items delivered",
        "The customer received other products than the ones they ordered.",
        "Collect the wrong items for free and ship the right ones with priority delivery.",
        ("delivery", "complaint", "picking"),
    ),
}
"""The knowledge base the agents write first: per ticket subject, the article (title,
problem, solution, tags) that resolves it."""


def users() -> list[tuple[str, str, str | None]]:
    """Who works at the demo company: (user, role, team or support group), the names the
    demo's commands were sent as and ``crm token --user`` can speak as."""
    people: list[tuple[str, str, str | None]] = [(ADMIN, "admin", None)]
    for team, reps in TEAMS.items():
        people.append((MANAGERS[team], "manager", team))
        people.extend((rep, "sales_rep", team) for rep in reps)
    people.extend((agent, "agent", SUPPORT_GROUP) for agent in AGENTS)
    return people


@dataclass
class Company:
    """Ids of what the company set up, filled in as the setup runs."""

    products: list[str] = field(default_factory=list)
    price_book: str = ""
    campaigns: list[tuple[date, date, str]] = field(default_factory=list)
    articles: dict[str, str] = field(default_factory=dict)
    """Per ticket subject, the id of the published article that resolves it."""
    prospects: list[str] = field(default_factory=list)
    """Customers outside the personas: in the shared pool, or fresh leads converted lately."""

    def campaign_on(self, day: date) -> str | None:
        for starts, ends, cid in self.campaigns:
            if starts <= day <= ends:
                return cid
        return None
