"""Routers whose routes are built once.

FastAPI's ``include_router`` builds every route it includes anew (its dependencies and
parameter models analysed again, the most expensive part of an app's start-up), so a route
included into a context's router and that into the app was built three times, paid by every
process and every test. A router's prefix, tags, dependencies and responses are in its routes
from the moment each is added, so:

- :func:`api_router` makes a router whose routes carry what the app gives every route (the
  refusal of unknown query parameters, the documented error answers);
- :func:`merged` joins routers by moving their routes;
- :func:`install` puts a router's routes into the app as they are when they carry what the
  app would add, and includes the others the usual way (built again, with it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from crm.kernel.http.errors import ERROR_RESPONSES
from crm.kernel.http.query import reject_unknown_query_parameters

STANDARD_DEPENDENCIES = [Depends(reject_unknown_query_parameters)]


def api_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` (same arguments) whose routes the app takes as they are."""
    responses = {**ERROR_RESPONSES, **kwargs.pop("responses", {})}
    dependencies = [*STANDARD_DEPENDENCIES, *kwargs.pop("dependencies", [])]
    return APIRouter(dependencies=dependencies, responses=responses, **kwargs)


def merged(*routers: APIRouter) -> APIRouter:
    """A router holding the routes of ``routers`` as they were built."""
    api = APIRouter()
    for router in routers:
        api.routes.extend(router.routes)
    return api


def _standard(route: APIRoute) -> bool:
    calls = [d.call for d in route.dependant.dependencies]
    return (
        reject_unknown_query_parameters in calls
        and ERROR_RESPONSES.keys() <= route.responses.keys()
    )


def install(app: FastAPI, router: APIRouter) -> None:
    """Add ``router``'s routes to ``app``: as built when they carry the app's standard
    dependencies and responses, included (and so built again, gaining them) otherwise."""
    rest = APIRouter()
    for route in router.routes:
        if isinstance(route, APIRoute) and _standard(route):
            app.router.routes.append(route)
        else:
            rest.routes.append(route)
    if rest.routes:
        app.include_router(rest)
