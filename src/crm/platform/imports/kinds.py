"""The kinds of file an import takes, and those a process can run: a kind's rows are
commands of its contexts, so a process without them (the customer service alone, in the
distributed deployment) offers only the kinds whose commands its bus runs."""

from __future__ import annotations

from collections.abc import Mapping

from crm.customer.application.customer_commands import (
    AddContact,
    LogInteraction,
    RegisterCustomer,
)
from crm.events.custom_fields import FieldEntity
from crm.kernel.custom_fields import DefinitionsOf
from crm.kernel.runtime import Runtime
from crm.platform.imports.billing import InvoiceImport, PaymentImport
from crm.platform.imports.contacts import ContactImport
from crm.platform.imports.mapping import CUSTOM
from crm.platform.imports.pipeline import LeadImport, OpportunityImport
from crm.platform.imports.run import CustomerImport, FileImport, InteractionImport
from crm.platform.imports.sales import OrderImport, ProductImport
from crm.sales.application.invoice_commands import IssueInvoice, RecordPayment
from crm.sales.application.lead_commands import CaptureLead
from crm.sales.application.opportunity_commands import OpenOpportunity
from crm.sales.application.order_commands import PlaceOrder
from crm.sales.application.product_commands import CreateProduct

KINDS: Mapping[str, type[FileImport]] = {
    "customers": CustomerImport,
    "interactions": InteractionImport,
    "leads": LeadImport,
    "opportunities": OpportunityImport,
    "products": ProductImport,
    "orders": OrderImport,
    "contacts": ContactImport,
    "invoices": InvoiceImport,
    "payments": PaymentImport,
}
NEEDS: Mapping[str, tuple[type[object], ...]] = {
    "customers": (RegisterCustomer,),
    "interactions": (LogInteraction,),
    "leads": (CaptureLead,),
    "opportunities": (RegisterCustomer, OpenOpportunity),
    "products": (CreateProduct,),
    # an order's customer is found in the customers read model, by id or e-mail
    "orders": (RegisterCustomer, PlaceOrder, IssueInvoice, RecordPayment),
    "contacts": (AddContact,),
    "invoices": (IssueInvoice,),
    "payments": (RecordPayment,),
}
"""The commands a kind's rows run (and, for orders, the customer context beside them)."""


CUSTOM_OF: Mapping[str, FieldEntity] = {
    "customers": FieldEntity.CUSTOMER,
    "leads": FieldEntity.LEAD,
    "opportunities": FieldEntity.OPPORTUNITY,
}
"""The kinds whose rows fill custom fields, and of what."""


async def custom_labels(runtime: Runtime, tenant: str, kind: str) -> dict[str, str]:
    """The labels (English and Chinese) of the tenant's custom fields a kind fills → the
    field (``custom.<key>``), for the suggested mapping: a column headed 合同编号 is the custom
    field the tenant named so."""
    entity = CUSTOM_OF.get(kind)
    if entity is None:
        return {}
    defined = (await DefinitionsOf(runtime.store, runtime.codec)(tenant)).of(entity)
    return {label: f"{CUSTOM}{d.key}" for d in defined for label in (d.label_en, d.label_zh)}


def available(runtime: Runtime) -> dict[str, type[FileImport]]:
    """The kinds this runtime's command bus can run, in :data:`KINDS`' order."""
    return {
        kind: factory
        for kind, factory in KINDS.items()
        if all(runtime.commands.handles(command) for command in NEEDS[kind])
    }
