"""Every error the platform raises on purpose becomes a 4xx that says what is wrong."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from crm.kernel.errors import (
    CrmError,
    DuplicateEventId,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCommand,
    NotFound,
    RuleViolated,
    Unauthenticated,
    WrongExpectedVersion,
)
from crm.kernel.read_store import InvalidQuery

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": message, "code": code, **extra}, status_code=status)


def _crm_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, NotFound):
        return _error(404, "not_found", str(exc))
    if isinstance(exc, WrongExpectedVersion):
        return _error(
            409,
            "version_conflict",
            "the resource was changed by someone else; reload it and try again",
            expected_version=exc.expected,
            actual_version=exc.actual,
        )
    if isinstance(exc, RuleViolated):
        return _error(409, exc.code, str(exc))
    if isinstance(exc, DuplicateEventId):
        return _error(409, "duplicate_event", str(exc))
    if isinstance(exc, InvalidCommand):
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["body", *exc.field.split(".")],
                        "msg": exc.message,
                        "type": "value_error",
                    }
                ],
                "code": "invalid",
            },
            status_code=422,
        )
    if isinstance(exc, IdempotencyKeyReused):
        return _error(422, "idempotency_key_reused", str(exc))
    if isinstance(exc, InvalidQuery):
        return _error(422, "invalid_query", str(exc))
    if isinstance(exc, Forbidden):
        return _error(403, "forbidden", str(exc))
    if isinstance(exc, Unauthenticated):
        response = _error(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    log.exception("unmapped platform error on %s %s", request.method, request.url.path)
    return _error(500, "internal", "internal error")


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"] if p != "body") or "body" for e in errors)
    return JSONResponse(
        {"detail": errors, "code": "invalid", "message": f"invalid input: {fields}"},
        status_code=422,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CrmError, _crm_error)
    app.add_exception_handler(InvalidQuery, _crm_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
