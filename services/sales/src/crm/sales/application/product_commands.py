"""The catalogue's commands: put a product in it, reprice it, retire it (managers).

A product's id is derived from its tenant and sku (:func:`~crm.sales.application.catalogue.
product_id_for`). Refusing a duplicate sku by looking it up in the catalogue read model first
would race: two concurrent creations of one sku both find nothing (or the model lags) and both
append. With the id derived from the sku both meet one stream: the first appends, the second
meets it on its retry and is answered 409 ``sku_taken``; the catalogue's unique (tenant, sku)
index then always holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from crm.events.money import Money
from crm.kernel.commands import CommandTable, Expect
from crm.kernel.errors import InvalidCommand, RuleViolated
from crm.kernel.repository import CommandContext
from crm.sales.application.catalogue import product_id_for
from crm.sales.application.policy import POLICY, SalesAction
from crm.sales.domain.products import Product, normalise_sku


@dataclass(frozen=True, slots=True)
class CreateProduct:
    """Build it with :meth:`in_tenant`: the id is the sku's in the tenant it is sent in."""

    product_id: str
    sku: str
    name: str
    list_price: Money
    description: str | None = None

    @classmethod
    def in_tenant(
        cls, tenant: str, *, sku: str, name: str, list_price: Money, description: str | None = None
    ) -> Self:
        return cls(product_id_for(tenant, sku), sku, name, list_price, description)


@dataclass(frozen=True, slots=True)
class RepriceProduct:
    product_id: str
    list_price: Money


@dataclass(frozen=True, slots=True)
class RetireProduct:
    product_id: str
    reason: str | None = None


def _create(p: Product, cmd: CreateProduct, ctx: CommandContext) -> None:
    if cmd.product_id != product_id_for(ctx.tenant, cmd.sku):
        raise InvalidCommand("product_id", "is derived from the sku: use CreateProduct.in_tenant")
    if p.state.created:
        raise RuleViolated(
            f"sku {normalise_sku(cmd.sku)} is already in the catalogue as product {p.id}",
            code="sku_taken",
        )
    p.define(sku=cmd.sku, name=cmd.name, list_price=cmd.list_price, description=cmd.description)


def product_commands() -> CommandTable[Product]:
    t = CommandTable(Product, POLICY, id_field="product_id")
    configure = SalesAction.CONFIGURE
    # ANY, not NEW: a concurrent creation of the sku conflicts, and the retry sees it taken.
    t.on(CreateProduct, Expect.ANY, configure, _create)
    t.on(RepriceProduct, Expect.EXISTING, configure, lambda p, cmd, _: p.reprice(cmd.list_price))
    t.on(RetireProduct, Expect.EXISTING, configure, lambda p, cmd, _: p.retire(cmd.reason))
    return t
