"""The customer context as the platform wires it."""

from crm.customer.api import custom_field_routes, merge_routes, routes
from crm.customer.application.customer_commands import customer_commands
from crm.customer.application.duplicates import refuse_duplicates
from crm.customer.application.reactions import reactions
from crm.customer.projections.customers import CustomersProjection
from crm.kernel.context import BoundedContext
from crm.kernel.custom_fields import DefinitionsOf, custom_field_commands
from crm.kernel.http.routers import merged

CONTEXT = BoundedContext(
    name="customer",
    router=lambda runtime, authenticate: merged(
        merge_routes.router(runtime, authenticate),  # /customers/duplicates before /{id}
        routes.router(runtime, authenticate),
        custom_field_routes.router(runtime, authenticate),
    ),
    categories=frozenset({"customer", "customfields"}),
    commands=lambda runtime: [
        customer_commands(
            runtime.codec,
            lambda ctx, profile, exclude: refuse_duplicates(runtime, ctx, profile, exclude=exclude),
            DefinitionsOf(runtime.store, runtime.codec),
            runtime.commands,
        ),
        custom_field_commands(),
    ],
    projections=(CustomersProjection(),),
    reactions=reactions,
)
