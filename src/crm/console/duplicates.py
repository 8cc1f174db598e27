"""The suspected duplicates page (admins): the pairs of customers that likely are one person
or company, best first, scored as a registration's duplicate check scores them (the customer
context's :func:`~crm.customer.application.duplicates.suspected_pairs`, what
``GET /customers/duplicates`` lists); for each, merge one into the other (either way round:
the admin chooses who survives) or mark them as two customers after all. Both run the customer
context's own commands (``MergeCustomers``, ``MarkDistinct``) on the runtime's bus, as the
signed-in admin, with the rules of ``POST /customers/{id}/merge`` and ``/distinct``.
"""

from __future__ import annotations

import math
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from crm.console.pages import PREFIX, Console, guarded, see
from crm.customer.application.customer_commands import MarkDistinct, MergeCustomers
from crm.customer.application.duplicates import pair_view, suspected_pairs
from crm.customer.projections.customers import CustomersProjection
from crm.kernel.auth import Role
from crm.kernel.errors import Forbidden, InvalidCommand
from crm.kernel.http import ReadConsistency

PAGE = f"{PREFIX}/admin/duplicates"
PER_PAGE = 20


def duplicates_router(console: Console) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    page_ = guarded(console)
    consistent = Depends(ReadConsistency(runtime, CustomersProjection()))

    def _admin(role: Role) -> None:
        if role is not Role.ADMIN:
            raise Forbidden("only an admin merges customers")

    @api.get(PAGE)
    @page_
    async def duplicates(
        request: Request,
        page: Annotated[int, Query(ge=1)] = 1,
        done: Annotated[str | None, Query(pattern="^(merged|distinct)$")] = None,
        _: int = consistent,
    ) -> Response:
        visit, actor = await console.signed_in(request)
        _admin(actor.role)
        pairs = await suspected_pairs(runtime, actor.tenant)
        pages = max(1, math.ceil(len(pairs) / PER_PAGE))
        page = min(page, pages)
        shown = [pair_view(p) for p in pairs[(page - 1) * PER_PAGE : page * PER_PAGE]]
        return console.render(
            visit,
            request,
            "admin_duplicates.html",
            pairs=shown,
            total=len(pairs),
            page=page,
            pages=pages,
            link=lambda p: f"{PAGE}?page={p}",
            done=done,
        )

    @api.post(f"{PAGE}/merge")
    @page_
    async def merge(
        request: Request,
        survivor_id: UUID = Form(),
        merged_id: UUID = Form(),
        confirm: bool = Form(default=False),
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        _admin(actor.role)
        if not confirm:
            raise InvalidCommand("confirm", "tick the box to merge them / 请勾选以确认合并")
        survivor = str(survivor_id)
        await runtime.commands.execute(
            MergeCustomers(survivor, str(merged_id)), console.context(visit)
        )
        last = (await runtime.store.read_stream(f"customer-{survivor}"))[-1]
        return see(f"{PREFIX}/customers/{survivor}?min_position={last.position}&done=merged")

    @api.post(f"{PAGE}/distinct")
    @page_
    async def distinct(
        request: Request, customer_id: UUID = Form(), other_id: UUID = Form()
    ) -> Response:
        visit = await console.check_csrf(request)
        _visit, actor = await console.signed_in(request)
        _admin(actor.role)
        result = await runtime.commands.execute(
            MarkDistinct(str(customer_id), str(other_id)), console.context(visit)
        )
        return see(f"{PAGE}?min_position={result.position}&done=distinct")

    return api


__all__ = ["duplicates_router"]
