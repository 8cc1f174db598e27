"""Input checks every sales aggregate makes the same way, each naming the field at fault."""

from __future__ import annotations

from datetime import datetime

from crm.events.money import MAX_INTEGER_DIGITS, Money, within_bound
from crm.kernel.errors import InvalidCommand

MAX_TEXT = 200


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


def bounded(amount: Money, field: str) -> Money:
    """The one bound of money (:data:`~crm.events.money.MAX_INTEGER_DIGITS` digits before the
    point), whatever computed the amount (a line total, a sum)."""
    if not within_bound(amount.amount):
        raise InvalidCommand(
            field, f"the amount must have at most {MAX_INTEGER_DIGITS} digits before the point"
        )
    return amount


def positive(amount: Money, field: str) -> Money:
    bounded(amount, field)
    if amount.amount <= 0:
        raise InvalidCommand(field, "must be greater than zero")
    return amount


def aware(now: datetime, field: str = "now") -> datetime:
    """Naive datetimes cannot be compared with stored ones, so they are refused at the door."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidCommand(field, "must carry a time zone")
    return now


def not_before(now: datetime, last: datetime | None) -> datetime:
    """``now``, or ``last`` when a clock behind the last recorded fact would put this one
    before it: the order of facts in a stream is also their order in time, so no stage or
    campaign ever has a negative duration."""
    aware(now)
    return now if last is None or now >= last else last
