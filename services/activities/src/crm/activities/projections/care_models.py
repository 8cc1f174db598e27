"""The ``activities_care_dates`` read model: per customer, the dates customer care looks at
(the day of their first order, with its month and day for the yearly anniversary, and the end
of their service contract), from ``sales.order.placed`` and ``service_desk.contract.*``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.sales_orders import OrderPlaced
from crm.events.service_desk import ContractEnded, ContractSigned
from crm.kernel.handlers import DocKey, Handlers
from crm.kernel.read_store import CollectionSpec, Index

CARE_DATES = "activities_care_dates"


class CareDatesDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    first_order_on: str | None
    anniversary: str | None
    """``MM-DD`` of the first order."""
    contract_ends_on: str | None


on: Handlers[CareDatesDoc] = Handlers()


def _doc(key: DocKey, doc: CareDatesDoc | None, env: EventEnvelope) -> CareDatesDoc:
    if doc is not None:
        return doc.copy()
    return CareDatesDoc(
        id=key[1], tenant=env.tenant, first_order_on=None, anniversary=None, contract_ends_on=None
    )


@on(OrderPlaced)
def ordered(
    key: DocKey, doc: CareDatesDoc | None, e: OrderPlaced, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    day = env.occurred_at.date()
    if new["first_order_on"] is None or day.isoformat() < new["first_order_on"]:
        new["first_order_on"] = day.isoformat()
        new["anniversary"] = day.strftime("%m-%d")
    return new


@on(ContractSigned)
def signed(
    key: DocKey, doc: CareDatesDoc | None, e: ContractSigned, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["contract_ends_on"] = e.ends_on.isoformat() if e.ends_on else None
    return new


@on(ContractEnded)
def ended(
    key: DocKey, doc: CareDatesDoc | None, e: ContractEnded, env: EventEnvelope
) -> CareDatesDoc:
    new = _doc(key, doc, env)
    new["contract_ends_on"] = None
    return new


class CareDatesProjection:
    name = CARE_DATES
    version = 1
    collections = (
        CollectionSpec(CARE_DATES, (Index(("anniversary",)), Index(("contract_ends_on",)))),
    )
    event_types = on.event_types
    categories = frozenset({"order", "servicecontract"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        customer_id = getattr(event, "customer_id")  # noqa: B009 (every event here names one)
        return ((CARE_DATES, str(customer_id)),)


CARE_DATES_PROJECTION = CareDatesProjection()
