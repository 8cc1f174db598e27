"""The analytics context as the platform wires it."""

from crm.analytics.api.routes import router
from crm.analytics.projections.activity import CustomerActivityProjection
from crm.kernel.context import BoundedContext

CONTEXT = BoundedContext(
    name="analytics",
    router=router,
    categories=frozenset({"analytics"}),
    projections=(CustomerActivityProjection(),),
)
