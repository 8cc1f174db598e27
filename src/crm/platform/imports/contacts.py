"""A file's row of contacts (the people of company customers) as the command that adds one,
or the reason it cannot be.

The row's company is its ``customer`` cell: the customer's id, an e-mail address one
customer has, or a company customer's name (case and spacing ignored; one company of the
tenant, neither erased nor merged, has it). A person is not a company: the row fails. The
contact's ``name`` is required; ``email`` and ``phone`` are normalised as a customers file's
(phones to E.164 with the import's region); ``primary`` is yes/no (``是``/``否``). The
contact's id is derived from the company and its e-mail address (else its name), so the
same file imported again finds every contact there; one with an e-mail address the
company's contacts, or an earlier row's of that company, have is a duplicate
(``same_email``), never a second contact. The dry run checks the rest on the company's
aggregate (a second primary contact is the row's error, naming the column)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from crm.customer.application.customer_commands import AddContact
from crm.customer.domain.customer import Contact, Customer
from crm.customer.domain.duplicates import email_key, text_key
from crm.customer.projections.customers import COLLECTION
from crm.events.customer import CustomerKind
from crm.kernel.errors import CrmError
from crm.kernel.read_store import Query, ReadStore
from crm.platform.imports import values
from crm.platform.imports.customers import RowError
from crm.platform.imports.interactions import customer_named
from crm.platform.imports.mapping import cells_by_field, require_columns
from crm.platform.imports.run import FileImport, RowOutcome

FIELDS = ("customer", "name", "title", "email", "phone", "primary", "note")
"""What a contacts file may fill: ``customer`` (the company) and ``name`` are required."""

YES = frozenset({"yes", "y", "true", "1", "x", "primary", "是", "主要", "主联系人", "√"})
NO = frozenset({"no", "n", "false", "0", "否", "不是", ""})
_IDS = UUID("9d3c5f0e-61b4-4a8e-8f27-3e5b1c7a9d40")


@dataclass(frozen=True, slots=True)
class ContactRow:
    customer_id: str
    contact: Contact

    @property
    def contact_id(self) -> str:
        """The same person at the same company: the same id, whichever file names them."""
        who = email_key(self.contact.email) or f"name:{text_key(self.contact.name)}"
        return str(uuid5(_IDS, f"{self.customer_id}|{who}"))

    def fingerprint(self) -> str:
        return repr((self.customer_id, *self.contact.as_dict().values()))


@dataclass(frozen=True, slots=True)
class ContactReader:
    headers: Sequence[str]
    mapping: Mapping[str, str]
    region: str
    read_store: ReadStore
    tenant: str

    def __post_init__(self) -> None:
        require_columns(self.mapping, "customer", "name")

    def column_of(self, field: str) -> str | None:
        return next((h for h, f in self.mapping.items() if f == field), None)

    async def read(self, cells: Sequence[str]) -> ContactRow | RowError:
        row = cells_by_field(self.headers, self.mapping, cells)
        for required in ("customer", "name"):
            if not row.get(required):
                return RowError(self.column_of(required), None, "is required / 必填")
        if len(row["name"]) > 200:
            return RowError(self.column_of("name"), row["name"][:100], "too long / 过长")
        try:
            email = values.email(row["email"]) if row.get("email") else None
        except values.BadValue as e:
            return RowError(self.column_of("email"), e.value, e.reason)
        try:
            phone = values.phone(row["phone"], self.region) if row.get("phone") else None
        except values.BadValue as e:
            return RowError(self.column_of("phone"), e.value, e.reason)
        flag = row.get("primary", "").lower()
        if flag not in YES | NO:
            return RowError(self.column_of("primary"), row["primary"], "yes or no / 须为是或否")
        title, note = row.get("title") or None, row.get("note") or None
        if title is not None and len(title) > 100:
            return RowError(self.column_of("title"), title[:100], "too long / 过长")
        if note is not None and len(note) > 2000:
            return RowError(self.column_of("note"), note[:100], "too long / 过长")
        company = await self._company(row["customer"])
        if isinstance(company, RowError):
            return company
        contact = Contact(row["name"], title, email, phone, flag in YES, note)
        return ContactRow(company, contact)

    async def _company(self, text: str) -> str | RowError:
        column = self.column_of("customer")
        if "@" in text:
            found = await customer_named(
                self.read_store, self.tenant, {"email": text}, lambda _: column
            )
        else:
            try:
                UUID(text)
            except ValueError:
                return await self._company_named(text)
            found = await customer_named(
                self.read_store, self.tenant, {"customer": text}, lambda _: column
            )
        if isinstance(found, RowError):
            return found
        doc = await self.read_store.get(COLLECTION, found)
        if doc is None or doc.get("kind") != CustomerKind.COMPANY.value:
            return RowError(column, text, "a person, not a company / 该客户是个人而非公司")
        return found

    async def _company_named(self, text: str) -> str | RowError:
        column, key = self.column_of("customer"), text_key(text)
        if key is None:
            return RowError(column, text, "no company has this name / 没有此名称的公司客户")
        longest = max(key.split(), key=len)  # the read model finds it; the key decides
        page = await self.read_store.find(
            COLLECTION,
            Query.all_of(
                [
                    {"tenant": self.tenant},
                    {"kind": CustomerKind.COMPANY.value},
                    {"name": {"$icontains": longest}},
                    {"erased": False},
                    {"merged_into": None},
                ],
                sort="created_at",
                limit=50,
            ),
        )
        named = [d for d in page.items if text_key(d["name"]) == key]
        if not named:
            return RowError(column, text, "no company has this name / 没有此名称的公司客户")
        if len(named) > 1:
            return RowError(
                column,
                text,
                "more than one company has it: use its id / 多个公司同名 (请用客户编号)",
            )
        return str(named[0]["id"])


class ContactImport(FileImport):
    """Contacts: each row adds one person to a company customer; one the company has already
    (the same e-mail address, or no e-mail and the same name) is a duplicate."""

    kind = "contacts"
    fields = FIELDS
    prefers = ("customer",)
    noun = "contact"

    def setup(self) -> None:
        self.reader = ContactReader(
            self.source.headers,
            self.mapping,
            self.options.region,
            self.runtime.read_store,
            self.tenant,
        )
        self.seen: dict[str, int] = {}
        self.primaries: dict[str, int] = {}

    def start(self) -> None:
        self.seen, self.primaries = {}, {}

    async def read(self, cells: Sequence[str]) -> ContactRow | RowError:
        return await self.reader.read(cells)

    def fingerprint(self, item: ContactRow) -> str:
        return item.fingerprint()

    def record_for(self, row: int, item: ContactRow) -> str:
        return item.contact_id

    def remember(self, row: int, id_: str, item: ContactRow) -> None:
        self.seen.setdefault(id_, row)
        if item.contact.primary:
            self.primaries.setdefault(item.customer_id, row)

    async def duplicate(self, row: int, id_: str, item: ContactRow) -> RowOutcome | None:
        earlier = self.seen.get(id_)
        company = await self.runtime.commands.repository(Customer).load(
            item.customer_id, tenant=self.tenant
        )
        if earlier is not None or id_ in company.state.contacts or self._same_email(company, item):
            return RowOutcome(
                row,
                "duplicate",
                duplicate_of=id_,
                duplicate_row=earlier,
                score=100,
                reasons=("same_email" if item.contact.email else "same_name",),
                item=item,
                noun=self.noun,
            )
        if item.contact.primary and item.customer_id in self.primaries:
            reason = f"row {self.primaries[item.customer_id]} is the company's primary contact"
            error = RowError(self.column_of("primary"), "yes", f"{reason} / 已有主要联系人")
            return RowOutcome(row, "error", error=error)
        try:  # the domain's own rules, on the company's aggregate, recording nothing
            company.add_contact(id_, item.contact)
        except CrmError as e:
            column = self.column_of("primary" if "primary" in str(e) else "customer")
            return RowOutcome(row, "error", error=RowError(column, None, f"{e} / 无法添加"))
        return None

    @staticmethod
    def _same_email(company: Customer, item: ContactRow) -> bool:
        mine = email_key(item.contact.email)
        return mine is not None and any(
            email_key(c.email) == mine for c in company.state.contacts.values()
        )

    def command(self, id_: str, item: ContactRow) -> tuple[object, datetime | None]:
        return AddContact(item.customer_id, item.contact, id_), None
