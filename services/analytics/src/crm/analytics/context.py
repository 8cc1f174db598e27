"""The analytics context as the platform wires it: no routes or projections yet."""

from fastapi import APIRouter

from crm.kernel.context import BoundedContext
from crm.kernel.http import Authenticator
from crm.kernel.runtime import Runtime


def router(runtime: Runtime, authenticate: Authenticator) -> APIRouter:
    return APIRouter(prefix="/analytics", tags=["analytics"])


CONTEXT = BoundedContext(name="analytics", router=router)
