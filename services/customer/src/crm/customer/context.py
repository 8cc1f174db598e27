"""The customer context as the platform wires it."""

from crm.customer.api.routes import router
from crm.customer.application.customer_commands import customer_commands
from crm.customer.application.duplicates import refuse_duplicates
from crm.customer.application.reactions import reactions
from crm.customer.projections.customers import CustomersProjection
from crm.kernel.context import BoundedContext

CONTEXT = BoundedContext(
    name="customer",
    router=router,
    categories=frozenset({"customer"}),
    commands=lambda runtime: [
        customer_commands(
            runtime.codec,
            lambda ctx, profile, exclude: refuse_duplicates(runtime, ctx, profile, exclude=exclude),
        )
    ],
    projections=(CustomersProjection(),),
    reactions=reactions,
)
