"""Logs: ``CRM_LOG_FORMAT=json`` writes one JSON object a line (python-json-logger), ``text``
(the default) a line for a terminal. Every line carries what is known of the work at hand:
the correlation and causation ids, the tenant, the actor, and for a command its type, stream
and position; with tracing on, the trace and span ids. The platform logs ids and counts,
never a name, an e-mail, a phone number or any other value a person typed."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

FIELDS = ("correlation_id", "causation_id", "tenant", "actor", "command", "stream", "position")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_fields: ContextVar[dict[str, Any] | None] = ContextVar("crm_log_fields", default=None)


@contextlib.contextmanager
def log_fields(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (those of :data:`FIELDS`) to every line logged inside the block."""
    current = _fields.get() or {}
    token = _fields.set({**current, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def current_fields() -> dict[str, Any]:
    return dict(_fields.get() or {})


class ContextFilter(logging.Filter):
    """Puts the fields of the work at hand (and the trace's ids) on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_fields.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, str(value) if not isinstance(value, int | float) else value)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Configure the root logger (and uvicorn's) once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faust", "aiokafka"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's loggers routed to the root handler configured above (its access lines then
    have the same format; they carry the path, never a body)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "uvicorn": {"level": "INFO", "propagate": True},
            "uvicorn.error": {"level": "INFO", "propagate": True},
            "uvicorn.access": {"level": "INFO", "propagate": True},
        },
    }


def current_correlation() -> Any:
    """The correlation id of the work at hand (an HTTP request's), None outside one."""
    return (_fields.get() or {}).get("correlation_id")
