"""The quote: priced lines offered to a customer until a date.

A quote is drafted in one currency and edited only while it is a draft; once sent, what the
customer holds is what they answer, so it can only be accepted, rejected, or expire. Validity
is a date: a quote is good through ``valid_until`` and expired from the day after, which a
scheduled check records with :meth:`Quote.expire` (accepting it after that day is refused even
before the check has run). An accepted quote becomes exactly one order: :meth:`Quote.mark_ordered`
records the order's id on the quote's stream first, so two concurrent conversions race on that
stream and the loser is refused; the order then checks that the quote names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Self

from crm.events import DomainEvent
from crm.events.money import Money
from crm.events.sales_orders import (
    LineItem,
    QuoteAccepted,
    QuoteDrafted,
    QuoteExpired,
    QuoteLineAdded,
    QuoteLineChanged,
    QuoteLineRemoved,
    QuoteOrdered,
    QuoteRejected,
    QuoteSent,
    QuoteStatus,
)
from crm.kernel.aggregate import Aggregate
from crm.kernel.errors import InvalidCommand, NotFound, RuleViolated
from crm.sales.domain import pricing
from crm.sales.domain.checks import aware, optional_text, required_text

MAX_LINES = 500


def today(now: datetime) -> date:
    """The calendar day of ``now`` in UTC: validity and due dates are compared in UTC."""
    return aware(now).astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class QuoteState:
    status: QuoteStatus | None = None
    customer_id: str = ""
    owner_id: str = ""
    currency: str = ""
    valid_until: date = date.min
    opportunity_id: str | None = None
    campaign_id: str | None = None
    team_id: str | None = None
    lines: Mapping[str, LineItem] = field(default_factory=lambda: MappingProxyType({}))
    order_id: str | None = None

    @property
    def drafted(self) -> bool:
        return self.status is not None

    @property
    def total(self) -> Money:
        return pricing.total(self.lines.values(), self.currency)

    def evolve(self, event: DomainEvent) -> Self:
        match event:
            case QuoteDrafted():
                return replace(
                    self,
                    status=QuoteStatus.DRAFT,
                    customer_id=event.customer_id,
                    owner_id=event.owner_id,
                    currency=event.currency,
                    valid_until=event.valid_until,
                    opportunity_id=event.opportunity_id,
                    campaign_id=event.campaign_id,
                    team_id=event.team_id,
                )
            case QuoteLineAdded() | QuoteLineChanged():
                lines = dict(self.lines)
                lines[event.line.line_id] = event.line
                return replace(self, lines=MappingProxyType(lines))
            case QuoteLineRemoved():
                lines = dict(self.lines)
                lines.pop(event.line_id, None)
                return replace(self, lines=MappingProxyType(lines))
            case QuoteSent():
                return replace(self, status=QuoteStatus.SENT)
            case QuoteAccepted():
                return replace(self, status=QuoteStatus.ACCEPTED)
            case QuoteRejected():
                return replace(self, status=QuoteStatus.REJECTED)
            case QuoteExpired():
                return replace(self, status=QuoteStatus.EXPIRED)
            case QuoteOrdered():
                return replace(self, order_id=event.order_id)
        return self


class Quote(Aggregate[QuoteState]):
    category = "quote"

    @classmethod
    def initial_state(cls) -> QuoteState:
        return QuoteState()

    # -- guards ------------------------------------------------------------------------------

    def _require_drafted(self) -> QuoteState:
        if not self.state.drafted:
            raise NotFound(f"quote {self.id} does not exist")
        return self.state

    def _require_status(self, status: QuoteStatus, doing: str) -> QuoteState:
        state = self._require_drafted()
        if state.status is not status:
            article = "an" if status is QuoteStatus.ACCEPTED else "a"
            raise RuleViolated(
                f"only {article} {status.value} quote can be {doing}; this one is {state.status}",
                code=f"quote_not_{status.value}",
            )
        return state

    # -- commands ----------------------------------------------------------------------------

    def draft(
        self,
        *,
        customer_id: str,
        owner_id: str,
        currency: str,
        valid_until: date,
        now: datetime,
        opportunity_id: str | None = None,
        campaign_id: str | None = None,
        team_id: str | None = None,
    ) -> None:
        """Draft for ``owner_id``, in the sales team ``team_id`` (the order it becomes and that
        order's invoice stay in that team)."""
        if self.state.drafted:
            raise RuleViolated(f"quote {self.id} already exists", code="already_exists")
        pricing.currency_code(currency)
        if valid_until < today(now):
            raise InvalidCommand("valid_until", "is in the past")
        self.trigger(
            QuoteDrafted(
                customer_id=required_text(customer_id, "customer_id", max_length=64),
                owner_id=required_text(owner_id, "owner_id", max_length=64),
                currency=currency,
                valid_until=valid_until,
                opportunity_id=optional_text(opportunity_id, "opportunity_id", max_length=64),
                campaign_id=optional_text(campaign_id, "campaign_id", max_length=64),
                team_id=optional_text(team_id, "team_id", max_length=64),
            )
        )

    def add_line(self, request: pricing.LineRequest) -> None:
        state = self._require_status(QuoteStatus.DRAFT, "edited")
        line = pricing.price_line(request, state.currency)
        if line.line_id in state.lines:
            raise RuleViolated(
                f"quote {self.id} already has a line {line.line_id}; change it instead",
                code="line_exists",
            )
        if len(state.lines) >= MAX_LINES:
            raise RuleViolated(f"a quote has at most {MAX_LINES} lines", code="too_many_lines")
        self.trigger(QuoteLineAdded(line=line))

    def change_line(self, request: pricing.LineRequest) -> None:
        """Replace line ``request.line_id`` with the request; no change records nothing."""
        state = self._require_status(QuoteStatus.DRAFT, "edited")
        line = pricing.price_line(request, state.currency)
        if line.line_id not in state.lines:
            raise NotFound(f"quote {self.id} has no line {line.line_id}")
        if state.lines[line.line_id] == line:
            return
        self.trigger(QuoteLineChanged(line=line))

    def remove_line(self, line_id: str) -> None:
        state = self._require_status(QuoteStatus.DRAFT, "edited")
        if line_id not in state.lines:
            raise NotFound(f"quote {self.id} has no line {line_id}")
        self.trigger(QuoteLineRemoved(line_id=line_id))

    def send(self, now: datetime) -> None:
        state = self._require_status(QuoteStatus.DRAFT, "sent")
        if not state.lines:
            raise RuleViolated("a quote without lines cannot be sent", code="quote_empty")
        if today(now) > state.valid_until:
            raise RuleViolated(
                f"the quote was valid until {state.valid_until}; draft a new one",
                code="quote_validity_passed",
            )
        self.trigger(
            QuoteSent(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                valid_until=state.valid_until,
                opportunity_id=state.opportunity_id,
                campaign_id=state.campaign_id,
            )
        )

    def accept(self, now: datetime) -> None:
        state = self._require_status(QuoteStatus.SENT, "accepted")
        if today(now) > state.valid_until:
            raise RuleViolated(f"the quote expired after {state.valid_until}", code="quote_expired")
        self.trigger(
            QuoteAccepted(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                opportunity_id=state.opportunity_id,
                campaign_id=state.campaign_id,
            )
        )

    def reject(self, reason: str | None = None) -> None:
        state = self._require_status(QuoteStatus.SENT, "rejected")
        self.trigger(
            QuoteRejected(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                reason=optional_text(reason, "reason", max_length=2000),
                opportunity_id=state.opportunity_id,
                campaign_id=state.campaign_id,
            )
        )

    def expire(self, now: datetime) -> None:
        """Called by a scheduled check on any quote: records the expiry of a sent quote once
        its validity has passed, and does nothing otherwise (too early, or already answered)."""
        state = self._require_drafted()
        if state.status is not QuoteStatus.SENT or today(now) <= state.valid_until:
            return
        self.trigger(
            QuoteExpired(
                customer_id=state.customer_id,
                owner_id=state.owner_id,
                total=state.total,
                valid_until=state.valid_until,
                opportunity_id=state.opportunity_id,
                campaign_id=state.campaign_id,
            )
        )

    def mark_ordered(self, order_id: str) -> None:
        """Record that this accepted quote became ``order_id``. Repeating it for the same order
        (a retried conversion) records nothing; another order is refused."""
        state = self._require_status(QuoteStatus.ACCEPTED, "ordered")
        order = required_text(order_id, "order_id", max_length=64)
        if state.order_id == order:
            return
        if state.order_id is not None:
            raise RuleViolated(
                f"quote {self.id} already became order {state.order_id}", code="quote_ordered"
            )
        self.trigger(QuoteOrdered(order_id=order))
