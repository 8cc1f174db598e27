"""Finding the likely duplicates of a customer in the ``customers`` read model.

:func:`find_duplicates` is the one entry point: registration and profile edits call it (a
match is answered 409 ``possible_duplicate`` with the candidates unless the request says
``confirm_distinct``), and so may an import, row by row. It first waits (up to
``read_wait_seconds``) for the read model to reach the last customer event, so a customer
registered a moment ago is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.customer.application.policy import CUSTOMER_PERSONAL, POLICY, scope_of
from crm.customer.domain.customer import Profile
from crm.customer.domain.duplicates import Match, MatchKeys, score
from crm.customer.projections.customers import COLLECTION, CustomersProjection
from crm.kernel.access import Principal
from crm.kernel.errors import RuleViolated
from crm.kernel.projection import wait_until
from crm.kernel.read_store import Query, find_all
from crm.kernel.redaction import Who
from crm.kernel.runtime import Runtime

MAX_CANDIDATES = 10
SCANNED_PER_KEY = 200


@dataclass(frozen=True, slots=True)
class Candidate:
    match: Match
    doc: dict[str, Any]
    """The candidate's ``customers`` document (unredacted: show it through :func:`shown`)."""


async def find_duplicates(
    runtime: Runtime,
    tenant: str,
    profile: Profile,
    *,
    exclude: str | None = None,
    wait: bool = True,
) -> list[Candidate]:
    """The tenant's customers that are likely ``profile``, best first (at most 10);
    ``exclude``: the customer being edited. Erased customers, and those merged into
    another, are never candidates.
    ``wait=False``: the read model as it is (an import, which caught it up before its first
    row and matches its own rows itself, asks once per row and cannot wait each time)."""
    projection = CustomersProjection()
    if wait:
        await wait_until(
            runtime.read_store,
            projection.name,
            await runtime.store.head_position(),
            runtime.read_wait_seconds,
            store=runtime.store,
            categories=projection.categories,
        )
    keys = MatchKeys.of(profile.name, profile.email, profile.phone, profile.company)
    lookups = [
        (field, value)
        for field, value in (
            ("email_key", keys.email),
            ("phone_key", keys.phone),
            ("company_key", keys.company),
        )
        if value is not None
    ]
    docs: dict[str, dict[str, Any]] = {}
    for field, value in lookups:
        page = await runtime.read_store.find(
            COLLECTION,
            Query.all_of(
                [{"tenant": tenant}, {field: value}, {"erased": False}, {"merged_into": None}],
                sort="created_at",
                limit=SCANNED_PER_KEY,
                offset=0,
            ),
        )
        for doc in page.items:
            docs.setdefault(doc["id"], dict(doc))
    found = []
    for id_, doc in docs.items():
        if id_ == exclude:
            continue
        match = score(keys, id_, doc)
        if match is not None:
            found.append(Candidate(match, doc))
    found.sort(key=lambda c: (-c.match.score, c.doc["created_at"]))
    return found[:MAX_CANDIDATES]


def shown(who: Who, candidate: Candidate) -> dict[str, Any]:
    """What the user who ran into a duplicate is told: the candidate's id, score and reasons,
    and its contact as their role shows it if they may see the customer at all (a rep is told
    that another rep's customer matches, by id only: enough to ask its owner, no more)."""
    doc = candidate.doc
    answer: dict[str, Any] = {
        "id": candidate.match.customer_id,
        "score": candidate.match.score,
        "reasons": list(candidate.match.reasons),
    }
    if POLICY.sees(Principal.of(who), scope_of(doc["owner_id"])):
        visible = CUSTOMER_PERSONAL.shown_to(who, doc)
        answer.update({f: visible[f] for f in ("name", "email", "phone", "company", "owner_id")})
    return answer


async def refuse_duplicates(
    runtime: Runtime, who: Who, profile: Profile, *, exclude: str | None = None
) -> None:
    """409 ``possible_duplicate`` naming the candidates, if ``profile`` has any."""
    candidates = await find_duplicates(runtime, Principal.of(who).tenant, profile, exclude=exclude)
    if candidates:
        raise RuleViolated(
            f"{len(candidates)} customer(s) look like the same person or company; send "
            "confirm_distinct: true to register them anyway",
            code="possible_duplicate",
            details={"candidates": [shown(who, c) for c in candidates]},
        )


@dataclass(frozen=True, slots=True)
class SuspectedPair:
    """Two customers that likely are one: ``first`` registered before ``second``."""

    first: dict[str, Any]
    second: dict[str, Any]
    match: Match


SHOWN = ("id", "name", "email", "phone", "company", "owner_id", "created_at")


def pair_view(pair: SuspectedPair) -> dict[str, Any]:
    return {
        "customer_id": pair.first["id"],
        "other_id": pair.second["id"],
        "score": pair.match.score,
        "reasons": list(pair.match.reasons),
        "customers": [
            {f: pair.first.get(f) for f in SHOWN},
            {f: pair.second.get(f) for f in SHOWN},
        ],
    }


async def suspected_pairs(runtime: Runtime, tenant: str) -> list[SuspectedPair]:
    """Every pair of the tenant's customers that :func:`find_duplicates` would name as each
    other's duplicates, scored the same way (best first), but those an admin marked
    distinct; erased and merged customers are in none. Customers sharing a key are compared
    among the first :data:`SCANNED_PER_KEY` of them (by registration) per key value."""
    docs = await find_all(
        runtime.read_store,
        COLLECTION,
        {"$and": [{"tenant": tenant}, {"erased": False}, {"merged_into": None}]},
        sort=(("created_at", 1), ("id", 1)),
    )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for doc in docs:
        for field in ("email_key", "phone_key", "company_key"):
            if doc.get(field):
                group = groups.setdefault((field, doc[field]), [])
                if len(group) < SCANNED_PER_KEY:
                    group.append(dict(doc))
    found: dict[tuple[str, str], SuspectedPair] = {}
    for group in groups.values():
        for i, first in enumerate(group):
            keys = MatchKeys.of(first["name"], first["email"], first["phone"], first["company"])
            for second in group[i + 1 :]:
                pair = (first["id"], second["id"])
                if pair in found or _distinct(first, second):
                    continue
                match = score(keys, second["id"], second)
                if match is not None:
                    found[pair] = SuspectedPair(first, second, match)
    return sorted(
        found.values(),
        key=lambda p: (-p.match.score, p.first["created_at"], p.first["id"], p.second["id"]),
    )


def _distinct(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return b["id"] in (a.get("distinct_from") or ()) or a["id"] in (b.get("distinct_from") or ())
