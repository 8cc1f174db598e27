"""Which personal data each role sees: one rule for every context, every route and every
export, so a name hidden in analytics cannot be read from ``/customers`` instead.

Personal data comes in four kinds (:class:`PersonalKind`), by what a role needs it for:

- ``contact``: who a person is and how to reach them -- a customer's or a lead's name,
  e-mail address, phone number and job title;
- ``notes``: what was said with the customer, as whoever talked to them wrote it down --
  interaction summaries (calls, e-mails, meetings, visits, chats);
- ``service``: what the customer told the service desk -- ticket descriptions, comment
  bodies, satisfaction comments, follow-up notes, a visit's notes and report;
- ``address``: where they are -- a visit's address.

Who sees which (:data:`SEES`):

============  =======  =====  =======  =======
role          contact  notes  service  address
============  =======  =====  =======  =======
admin         yes      yes    yes      yes
manager       yes      yes    yes      yes
agent         yes      yes    yes      yes
sales_rep     yes      yes    no       no
analyst       no       no     no       no
============  =======  =====  =======  =======

Analysts work on behaviour and aggregates, never on people: nothing personal, anywhere. A
sales rep calls and writes to their customers and leads and reads back what was said with
them, but the desk's cases are the desk's: a complaint's text and a visit's address are not
what a rep needs. Agents, managers and admins work with the customer themselves. The system
(a reaction, a job) sees everything. The rule is about *kinds* of data; *which* records a
principal sees at all is each context's :class:`~crm.kernel.access.AccessPolicy`.

A field the principal may not see reads :data:`REDACTED`; nothing (None) stays nothing; a
field already erased stays :data:`~crm.events.ERASED` (erasure wins over redaction: the
data is gone, whoever asks). Nor may such a field be used to find or order records (a search
by name, a sort by name): that would tell what it hides, so it is refused
(:func:`refuse_unless_sees`, a 403).

Each context declares where the kinds sit in its documents (:class:`PersonalFields`) and its
queries answer ``fields.shown_to(who, doc)``; company names, regions, tags, amounts, subjects
and the like are business data, not personal, and are shown to every role that sees the
record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, cast

from crm.kernel.access import Principal
from crm.kernel.auth import Actor, Role
from crm.kernel.erasure import replace_fields
from crm.kernel.errors import Forbidden
from crm.kernel.repository import CommandContext

REDACTED = "\u2039redacted\u203a"
"""What a personal field shows to a role that may not see it."""

Who = Actor | CommandContext | Principal
Doc = TypeVar("Doc", bound=Mapping[str, Any])


class PersonalKind(Enum):
    CONTACT = "contact"
    """Name, e-mail address, phone number, job title (a customer's, a lead's)."""
    NOTES = "notes"
    """Interaction summaries."""
    SERVICE = "service"
    """What the customer told the service desk: ticket texts, a visit's notes and report."""
    ADDRESS = "address"
    """A visit's address."""


SEES: Mapping[Role, frozenset[PersonalKind]] = {
    Role.ADMIN: frozenset(PersonalKind),
    Role.MANAGER: frozenset(PersonalKind),
    Role.AGENT: frozenset(PersonalKind),
    Role.SALES_REP: frozenset({PersonalKind.CONTACT, PersonalKind.NOTES}),
    Role.ANALYST: frozenset(),
}
"""The kinds of personal data each role sees (the system sees all)."""


def sees(who: Who, kind: PersonalKind) -> bool:
    """Whether ``who`` sees personal data of ``kind``."""
    p = Principal.of(who)
    return p.role is None or kind in SEES[p.role]


def refuse_unless_sees(who: Who, kind: PersonalKind, use: str) -> None:
    """Forbidden unless ``who`` sees ``kind``: for a filter or sort over such a field
    (``use``: "search customers by name or e-mail"), which would tell what redaction hides."""
    if not sees(who, kind):
        p = Principal.of(who)
        raise Forbidden(f"role {p.role_name} may not {use}: it does not see {kind.value} data")


@dataclass(frozen=True, slots=True)
class PersonalFields:
    """Where each kind of personal data sits in one kind of document: dotted paths, which go
    into nested documents and every element of a list on the way (``"comments.body"``)."""

    contact: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    address: tuple[str, ...] = ()

    def of(self, kind: PersonalKind) -> tuple[str, ...]:
        return cast(tuple[str, ...], getattr(self, kind.value))

    @property
    def paths(self) -> tuple[str, ...]:
        """Every personal field, whatever its kind (what an erasure erases)."""
        return tuple(path for kind in PersonalKind for path in self.of(kind))

    def hidden_from(self, who: Who) -> tuple[str, ...]:
        """The fields ``who`` may not see."""
        return tuple(path for kind in PersonalKind if not sees(who, kind) for path in self.of(kind))

    def shown_to(self, who: Who, doc: Doc) -> Doc:
        """``doc`` as ``who`` may see it: a copy with each field they may not see reading
        :data:`REDACTED` (None stays None, an erased field stays erased); ``doc`` itself
        unchanged, and returned as it is when nothing is hidden."""
        hidden = self.hidden_from(who)
        if not hidden:
            return doc
        return cast(Doc, replace_fields(dict(doc), hidden, REDACTED))

    def all_shown_to(self, who: Who, docs: Iterable[Doc]) -> list[Doc]:
        return [self.shown_to(who, doc) for doc in docs]
