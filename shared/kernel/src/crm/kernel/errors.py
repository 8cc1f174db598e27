"""The errors the kernel and the domains raise; the HTTP layer maps each to one status code."""

from __future__ import annotations

from collections.abc import Mapping


class CrmError(Exception):
    """Base of every error the platform raises on purpose."""


class WrongExpectedVersion(CrmError):
    """An append's expected stream version did not match: someone else wrote first (409)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventId(CrmError):
    """An event with this id is already recorded."""


class NotFound(CrmError):
    """The aggregate or document does not exist, or the actor may not know it exists (404)."""


class Moved(NotFound):
    """The record was merged into another, which answers for it now (308 to ``location``,
    with ``details`` such as ``merged_into`` in the body). A kind of :class:`NotFound`: code
    that only asks whether the record is there (a ticket's page showing its customer) reads
    it as gone."""

    def __init__(
        self,
        message: str,
        location: str,
        *,
        code: str = "moved",
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.location = location
        self.code = code
        self.details: Mapping[str, object] = details or {}


class RuleViolated(CrmError):
    """A business rule refused the command in the aggregate's current state (409)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "rule_violated",
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.details: Mapping[str, object] = details or {}
        """More for programs, answered beside ``code`` (the candidates of a duplicate)."""


class InvalidCommand(CrmError):
    """A command's input is wrong in a way only the domain can tell (422, naming the field).

    ``location`` says where the field was sent: ``"body"``, ``"query"``, ``"header"`` or
    ``"path"``. Left out, the HTTP layer finds it from the route's own parameters (a ``sort``
    the route takes as a query parameter is ``["query", "sort"]``), else the body."""

    def __init__(self, field: str, message: str, *, location: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.location = location


class Forbidden(CrmError):
    """The actor is authenticated but not allowed to do this (403)."""


class Unauthenticated(CrmError):
    """No valid credentials (401)."""


class IdempotencyKeyReused(CrmError):
    """The same Idempotency-Key came back with a different request (422)."""
