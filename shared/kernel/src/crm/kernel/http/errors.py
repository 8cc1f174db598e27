"""Every error the platform answers has one shape, the one FastAPI gives its validation errors:

    {"detail": [{"loc": ["query", "sort"], "msg": "...", "type": "..."}],
     "code": "invalid", "message": "sort: ..."}

``detail`` lists what is wrong; each ``loc`` starts with where it was sent (``body``, ``query``,
``path``, ``header``, or ``request`` for the request as a whole: a rate limit, a URL too long).
``code`` names the error for programs (``not_found``, ``version_conflict``, a domain rule such
as ``overpayment``); ``message`` is one line for people. A 409 of a stale version also says
``expected_version`` and ``actual_version``."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm.kernel.errors import (
    CrmError,
    DuplicateEventId,
    Forbidden,
    IdempotencyKeyReused,
    InvalidCommand,
    Moved,
    NotFound,
    RuleViolated,
    Unauthenticated,
    WrongExpectedVersion,
)
from crm.kernel.http.query import route_parameters
from crm.kernel.read_store import InvalidQuery

log = logging.getLogger(__name__)

Loc = Sequence[str | int]


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every 4xx (and of a 500)."""

    model_config = ConfigDict(extra="allow")

    detail: list[ErrorItem]
    code: str
    message: str


def error_body(code: str, message: str, loc: Loc, **extra: object) -> dict[str, Any]:
    """One error, in the shape every error has."""
    item = {"loc": list(loc), "msg": message, "type": code}
    return {"detail": [item], "code": code, "message": message, **extra}


def error_response(
    status: int,
    code: str,
    message: str,
    loc: Loc,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, loc, **extra), status_code=status, headers=headers
    )


AUTHORIZATION: Loc = ("header", "Authorization")


def _path_loc(request: Request, message: str = "") -> list[str]:
    """A 404 of a record points at the path parameter that named it: the last one whose
    value the message names (``customer X does not exist`` on
    ``/customers/{customer_id}/contacts/{contact_id}`` is the customer's), else the last."""
    params: dict[str, object] = dict(request.scope.get("path_params") or {})
    if not params:
        return ["path"]
    named = [name for name, value in params.items() if str(value) and str(value) in message]
    return ["path", (named or list(params))[-1]]


def _invalid_command_loc(request: Request, exc: InvalidCommand) -> list[str | int]:
    parts = exc.field.split(".")
    location = exc.location
    if location is None:
        parameters = route_parameters(request.scope.get("route"))
        location = (parameters.location_of(parts[0]) if parameters else None) or "body"
    return [location, *parts]


def _crm_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, Moved):
        body = error_body(exc.code, str(exc), _path_loc(request, str(exc)), **exc.details)
        return JSONResponse(body, 308, headers={"Location": exc.location})
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", str(exc), _path_loc(request, str(exc)))
    if isinstance(exc, WrongExpectedVersion):
        conditional = "if-match" in request.headers
        return error_response(
            409,
            "version_conflict",
            "the resource was changed by someone else; reload it and try again",
            ("header", "If-Match") if conditional else ("body",),
            expected_version=exc.expected,
            actual_version=exc.actual,
        )
    if isinstance(exc, RuleViolated):
        return JSONResponse(error_body(exc.code, str(exc), ("body",), **exc.details), 409)
    if isinstance(exc, DuplicateEventId):
        return error_response(409, "duplicate_event", str(exc), ("body",))
    if isinstance(exc, InvalidCommand):
        loc = _invalid_command_loc(request, exc)
        body = {
            "detail": [{"loc": loc, "msg": exc.message, "type": "value_error"}],
            "code": "invalid",
            "message": f"invalid input: {exc.field}: {exc.message}",
        }
        return JSONResponse(body, status_code=422)
    if isinstance(exc, IdempotencyKeyReused):
        return error_response(
            422, "idempotency_key_reused", str(exc), ("header", "Idempotency-Key")
        )
    if isinstance(exc, InvalidQuery):
        return error_response(422, "invalid_query", str(exc), ("query",))
    if isinstance(exc, Forbidden):
        return error_response(403, "forbidden", str(exc), AUTHORIZATION)
    if isinstance(exc, Unauthenticated):
        return error_response(
            401,
            "unauthenticated",
            str(exc),
            AUTHORIZATION,
            headers={"WWW-Authenticate": "Bearer"},
        )
    log.exception("unmapped platform error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", "internal error", ("request",))


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


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """An ``HTTPException`` raised anywhere (Starlette's own 404 of an unknown route and 405 of
    a wrong method among them) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    code = _HTTP_CODES.get(status, "error" if status >= 400 else "http")
    if isinstance(exc.detail, list) and all(isinstance(d, dict) and "loc" in d for d in exc.detail):
        items = [
            {"loc": list(d["loc"]), "msg": str(d.get("msg", "")), "type": str(d.get("type", code))}
            for d in exc.detail
        ]
        message = "; ".join(i["msg"] for i in items)
        return JSONResponse(
            {"detail": items, "code": code, "message": message},
            status_code=status,
            headers=headers,
        )
    if status == 400 and isinstance(exc.__cause__, ValueError | UnicodeError):
        # FastAPI's answer to a body it cannot even decode (not UTF-8): bad input, a 422
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": "the body is not JSON in UTF-8",
                        "type": "json_invalid",
                    }
                ],
                "code": "invalid",
                "message": "invalid input: body",
            },
            status_code=422,
        )
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if status == 404 and request.scope.get("route") is None:
        message = f"no route {request.url.path}"
    loc: Loc = ("path",) if status in (404, 405) else ("request",)
    if status in (401, 403):
        loc = AUTHORIZATION
    return error_response(status, code, message, loc, headers=headers)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No valid bearer token"),
        (403, "The token's role may not do this"),
        (404, "Unknown record, or one the caller may not see"),
        (409, "A rule of the domain, or a stale version, refused it"),
        (429, "Too many requests: wait `Retry-After` seconds"),
    )
}
"""The error answers every operation may give, for the OpenAPI description (422 is
FastAPI's own, in the same shape)."""


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CrmError, _crm_error)
    app.add_exception_handler(InvalidQuery, _crm_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
