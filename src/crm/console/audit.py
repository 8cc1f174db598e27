"""The audit page of a record (admins and managers): every change of it, by whom and when,
with what changed, before and after; the customer page links to its customer's. The trail
is :func:`crm.platform.audit.trail`, the rule and the history of ``GET /audit/{kind}/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crm.console.pages import PREFIX, Console, guarded
from crm.kernel.context import BoundedContext
from crm.platform.audit import owners_of, trail

SHOWN = 200
"""Changes a page shows, the latest; the route pages through all of them."""


def shown(value: Any) -> str:
    """A field's value in a cell: nothing as a dash, anything else as written."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def audit_router(console: Console, contexts: tuple[BoundedContext, ...]) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    page = guarded(console)
    owners = owners_of(contexts)

    @api.get(f"{PREFIX}/audit/{{kind}}/{{record_id}}")
    @page
    async def audit_page(request: Request, kind: str, record_id: str) -> Response:
        visit, actor = await console.signed_in(request)
        changes = await trail(console.runtime, owners, actor, kind[:40], record_id[:100])
        rows = [
            {
                **c,
                "fields": [
                    (f, shown((c["before"] or {}).get(f)), shown((c["after"] or {}).get(f)))
                    for f in c["changed"]
                    if f not in ("version", "updated_at", "_streams")
                ],
            }
            for c in reversed(changes[-SHOWN:])
        ]
        return console.render(
            visit,
            request,
            "audit.html",
            kind=kind,
            record_id=record_id,
            rows=rows,
            total=len(changes),
        )

    return api
