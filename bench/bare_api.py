"""The peer of ``crm up`` in the ``http`` group: a bare FastAPI app with the same two routes,
validating the same bodies with the same pydantic models (``NewCustomer``, ``ProfileChanges``)
and served by uvicorn the way ``crm`` serves it (:func:`crm.platform.server.run`), but with
no authentication, no store, no domain and no projections: what the web stack alone costs.

``python -m bench.bare_api`` listens on ``CRM_PORT`` (as :class:`tests.support.processes.Process`
starts it) and answers ``GET /ready``.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

from fastapi import FastAPI

from crm.customer.api.schemas import NewCustomer, ProfileChanges
from crm.platform.server import run


def create_app() -> FastAPI:
    app = FastAPI(title="bare peer", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/customers", status_code=201)
    async def register(body: NewCustomer) -> dict[str, Any]:
        return {"id": str(uuid4()), "name": body.name, "position": 1}

    @app.patch("/customers/{customer_id}")
    async def change(customer_id: str, body: ProfileChanges) -> dict[str, Any]:
        return {"id": customer_id, **body.model_dump(exclude_unset=True), "position": 2}

    return app


if __name__ == "__main__":
    run(create_app(), host="127.0.0.1", port=int(os.environ["CRM_PORT"]), log_level="warning")
