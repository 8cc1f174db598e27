"""Input checks every service-desk aggregate makes the same way, each naming the field at
fault (the API answers 422 with it)."""

from __future__ import annotations

from datetime import datetime

from crm.kernel.errors import InvalidCommand

MAX_TEXT = 200
MAX_BODY = 10_000


def required_text(value: str, field: str, *, max_length: int = MAX_TEXT) -> str:
    """The value stripped; blank or overlong text is refused."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidCommand(field, "must not be blank")
    if len(cleaned) > max_length:
        raise InvalidCommand(field, f"at most {max_length} characters")
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int = MAX_TEXT) -> str | None:
    """Blank counts as absent."""
    if value is None or not value.strip():
        return None
    return required_text(value, field, max_length=max_length)


def aware(now: datetime, field: str = "now") -> datetime:
    """Naive datetimes cannot be compared with stored ones, so they are refused at the door."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidCommand(field, "must carry a time zone")
    return now
