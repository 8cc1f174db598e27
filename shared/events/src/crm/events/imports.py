"""Events of an import: a file of records brought in, planned, confirmed, run, finished.

Streams: ``import-<uuid>``, one per import, tagged with the tenant whose records it brings in.
No context owns them and no relay publishes them (like ``tenant.*``): the platform's import
(:mod:`crm.platform.imports`) appends them through the command bus, and the records it
creates are each an ordinary command of their context, under an idempotency key made of the
import's id and the row. They carry no personal data: a failed row is named by its number,
column and reason, never by its value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.events.base import DomainEvent
from crm.events.registry import event

ImportKind = Literal[
    "customers",
    "interactions",
    "leads",
    "opportunities",
    "products",
    "orders",
    "invoices",
    "payments",
    "contacts",
]


class ImportOptions(BaseModel):
    """How the file's values are read (the same for the dry run and the run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day_first: bool = False
    region: str = Field(default="CN", min_length=2, max_length=2)
    """The phone numbers' country when they name none."""
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    owner_id: str | None = Field(default=None, max_length=200)
    """Who owns the created records; None: the shared pool."""
    encoding: str | None = None
    """A CSV's encoding as chosen or found (``utf-8``, ``utf-8-sig``, ``gb18030``)."""


class ImportedRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    id: str
    """The record the row created."""


class DuplicateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    of: str
    """The record it duplicates (one already there, or one an earlier row created)."""
    score: int


class FailedRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    column: str | None
    """The file's column at fault (None: the row as a whole)."""
    reason: str = Field(max_length=500)
    """Why, in English and Chinese (without the value: it may be personal data)."""


@event("import.planned", version=1)
class ImportPlanned(DomainEvent):
    """A file was read in a dry run; nothing is created until the import is confirmed."""

    kind: ImportKind
    file_name: str = Field(max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """The file's hash: a resumed import refuses any other file."""
    format: Literal["csv", "xlsx"]
    mapping: dict[str, str]
    """The file's column → the field it fills."""
    options: ImportOptions
    rows: int
    creates: int
    duplicates: int
    errors: int


@event("import.confirmed", version=1)
class ImportConfirmed(DomainEvent):
    """The user confirmed the dry run: the rows that would create now create."""


@event("import.progressed", version=1)
class ImportProgressed(DomainEvent):
    """Every row up to ``through_row`` is done (a resumed import goes on after it)."""

    through_row: int
    created: tuple[ImportedRow, ...] = ()
    duplicates: tuple[DuplicateRow, ...] = ()
    failed: tuple[FailedRow, ...] = ()


class ChangedRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    id: str
    """The customer already there the row updated (or merged, or found as it says)."""
    into: str | None = None
    """A merge row's survivor: the customer ``id`` was merged into."""


OnMatch = Literal["skip", "update"]
"""What a customers import does with a row whose key (its customer id, else its e-mail, else
its phone) is a customer already there: report it as a duplicate, or update that customer."""


@event("import.matching_planned", version=1)
class ImportMatchingPlanned(DomainEvent):
    """Recorded with a customers import's ``import.planned``: the user's choice for rows that
    are customers already there, and how many rows the dry run found updating, merging, or
    already as they say (unchanged)."""

    on_match: OnMatch = "skip"
    updates: int = 0
    merges: int = 0
    unchanged: int = 0


@event("import.rows_changed", version=1)
class ImportRowsChanged(DomainEvent):
    """Beside a batch's ``import.progressed``: its rows that updated a customer already there,
    merged one into another, or found them already as the row says (nothing written)."""

    updated: tuple[ChangedRow, ...] = ()
    merged: tuple[ChangedRow, ...] = ()
    unchanged: tuple[ChangedRow, ...] = ()


@event("import.finished", version=1)
class ImportFinished(DomainEvent):
    created: int
    duplicates: int
    failed: int


IMPORT_EVENTS: tuple[type[DomainEvent], ...] = (
    ImportPlanned,
    ImportConfirmed,
    ImportProgressed,
    ImportFinished,
    ImportMatchingPlanned,
    ImportRowsChanged,
)
