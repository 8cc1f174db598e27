"""Rows of a customers file that are customers already there: found by their key, then
updated or merged through the customer context's own commands.

A row's **key** is its ``customer_id`` cell (an id of this CRM's customers), else its e-mail
address, else its phone number, folded as the duplicate check folds them. The key names a
customer when exactly one customer that is neither erased nor merged has it (two: the row
fails, naming the column; merge them first). An e-mail that names nobody does not fall back
to the phone: the row is then matched as a new one (its likely duplicates reported).

- **Update** (the import's ``on_match`` is ``update``): a row whose key names a customer
  changes that customer's profile with the row's non-blank cells (``UpdateProfile``; a blank
  cell leaves its field as it is), adds the row's tags the customer has not (``TagCustomer``,
  one each: a tag is never removed) and gives it the row's ``owner`` (``AssignOwner``, an
  active rep or manager of the tenant), each under a key of its own, the row's own key last
  (so a run cut short between them does the rest when resumed). A row that changes nothing
  is ``unchanged``; one whose new e-mail or phone is another customer's fails, and so does one
  whose tags would take the customer over its limit.
- **Merge**: a row with a ``merge_into`` cell (a customer id, or an e-mail address one
  customer has) says its customer, found by its key, is a duplicate of that one: it is merged
  into it (``MergeCustomers``: admins only, as over ``POST /customers/{id}/merge``). Its other
  cells change nothing. A row whose customer is merged into that one already is
  ``unchanged``, so the same file imported again merges nothing twice.
- A second row of the file naming a customer an earlier row updates or merges is a duplicate
  of that row, never applied twice.

With ``on_match`` ``skip`` (the default) a row with a ``customer_id`` that names a customer is
a duplicate of it (score 100, ``same_id``), and the other rows are matched as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from crm.customer.application.customer_commands import (
    AssignOwner,
    MergeCustomers,
    TagCustomer,
    UpdateProfile,
)
from crm.customer.application.policy import ROLE_ACTIONS
from crm.customer.application.policy import Action as CustomerAction
from crm.customer.domain.customer import (
    MAX_TAGS,
    PROFILE_FIELDS,
    Customer,
    CustomerState,
    normalise_tag,
)
from crm.customer.domain.duplicates import email_key, phone_key
from crm.customer.projections.customers import COLLECTION
from crm.kernel.auth import Role
from crm.kernel.errors import NotFound
from crm.kernel.read_store import find_all
from crm.kernel.runtime import Runtime
from crm.platform.imports.customers import CustomerRow, RowError
from crm.platform.imports.spool import RowsByKey

Decided = Literal["update", "merge", "unchanged", "duplicate"]
SAME_ID = 100


def may_merge(role: str) -> bool:
    """Whether ``role`` merges customers (the customer context's rule: admins)."""
    try:
        return CustomerAction.MERGE in ROLE_ACTIONS[Role(role)]
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Decision:
    """What a row that names a customer already there does."""

    outcome: Decided
    customer_id: str
    """The customer updated (or merged, or found unchanged, or duplicated)."""
    into: str | None = None
    """A merge's survivor."""
    changes: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    earlier_row: int | None = None
    """A duplicate of an earlier row of the file (that row updates or merges it)."""
    reasons: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    """The row's tags the customer has not (an update adds them)."""
    owner_id: str | None = None
    """The row's owner, where the customer has another (an update assigns it)."""

    @property
    def changed(self) -> list[str]:
        """What an update changes: the profile's fields, the custom fields, tags, owner."""
        named = sorted([*self.changes, *self.custom])
        return named + ["tags"] * bool(self.tags) + ["owner"] * (self.owner_id is not None)

    def commands(self) -> list[tuple[str, object]]:
        """The row's commands, each with the suffix of its key (``""``: the row's own key,
        which is the last one's: once it is recorded, the row is done)."""
        if self.outcome == "merge":
            assert self.into is not None
            return [("", MergeCustomers(survivor_id=self.into, merged_id=self.customer_id))]
        steps: list[tuple[str, object]] = [
            (f"tag/{tag}", TagCustomer(self.customer_id, tag)) for tag in self.tags
        ]
        if self.owner_id is not None:
            steps.append(("owner", AssignOwner(self.customer_id, self.owner_id)))
        if self.changes or self.custom:
            profile = UpdateProfile(
                self.customer_id, self.changes, confirm_distinct=True, custom=self.custom
            )
            steps.append(("profile", profile))
        command = steps[-1][1]
        return [*steps[:-1], ("", command)]


@dataclass(frozen=True, slots=True)
class _Keyed:
    field: str
    """``customer_id``, ``email`` or ``phone``: which cell named the customer."""
    docs: list[dict[str, Any]]
    """The customers (not erased) that have the key, merged ones included."""

    @property
    def active(self) -> list[dict[str, Any]]:
        return [d for d in self.docs if d.get("merged_into") is None]


class Matcher:
    """The rows of one pass over a file, against the tenant's customers (the ``customers``
    read model, which the import caught up first, and each named customer's stream)."""

    def __init__(
        self,
        runtime: Runtime,
        tenant: str,
        column_of: Any,
        on_match: str = "skip",
        merges: bool = False,
    ) -> None:
        self.runtime = runtime
        self.tenant = tenant
        self.column_of = column_of
        self.on_match = on_match
        self.merges = merges
        """Whether the importing user may merge (else a merge row fails in the dry run)."""
        self.targets = RowsByKey()
        """Customer → the row of this pass that updates or merges it (on disk)."""

    def start(self) -> None:
        self.targets = RowsByKey()

    def wanted(self, item: CustomerRow) -> bool:
        """Whether the row is matched here (else it is a new customer, or a duplicate)."""
        return (
            item.merge_into is not None or item.customer_id is not None or self.on_match == "update"
        )

    async def decide(self, row: int, item: CustomerRow) -> Decision | RowError | None:
        """What the row does with a customer already there; None: it names none (it is
        matched as a new customer)."""
        keyed = await self._keyed(item)
        if isinstance(keyed, RowError):
            return keyed
        if item.merge_into is not None:
            return await self._merge(row, item, keyed)
        if keyed is None:
            return None
        if keyed.field == "customer_id" and not keyed.docs:
            return self._error("customer_id", item.customer_id, "no such customer / 客户不存在")
        active = keyed.active
        if keyed.field == "customer_id" and not active:
            into = keyed.docs[0]["merged_into"]
            return self._error(
                "customer_id", item.customer_id, f"was merged into {into} / 已合并到 {into}"
            )
        if not active:
            return None
        if len(active) > 1:
            return self._ambiguous(keyed)
        target = str(active[0]["id"])
        if self.on_match != "update":
            return Decision("duplicate", target, reasons=(f"same_{_reason(keyed.field)}",))
        earlier = self.targets.get(target)
        if earlier is not None:
            return Decision("duplicate", target, earlier_row=earlier, reasons=("same_target",))
        state = await self._state(target)
        changes, custom = _changes(item, state)
        tags = tuple(dict.fromkeys(t for t in map(normalise_tag, item.tags) if t not in state.tags))
        owner = item.owner_id if item.owner_id not in (None, state.owner_id) else None
        if not changes and not custom and not tags and owner is None:
            self.targets[target] = row
            return Decision("unchanged", target)
        clash = await self._clash(changes, target)
        if clash is not None:
            return clash
        if len(state.tags) + len(tags) > MAX_TAGS:
            return self._error(
                "tags",
                None,
                f"the customer would have more than {MAX_TAGS} tags / 标签超过 {MAX_TAGS} 个",
            )
        self.targets[target] = row
        return Decision("update", target, changes=changes, custom=custom, tags=tags, owner_id=owner)

    async def survivor(self, item: CustomerRow) -> str | RowError:
        """The customer the row's ``merge_into`` names (an id, or an e-mail one has)."""
        named = item.merge_into
        assert named is not None
        if "@" in named:
            docs = [d for d in await self._docs("email_key", email_key(named)) if _active(d)]
            if not docs:
                return self._error("merge_into", named, "no customer has it / 无此客户")
            if len(docs) > 1:
                return self._error(
                    "merge_into", named, f"{len(docs)} customers have it / 多个客户使用此邮箱"
                )
            return str(docs[0]["id"])
        try:
            state = await self._state(named)
        except NotFound:
            return self._error("merge_into", named, "no such customer / 客户不存在")
        if state.erased:
            return self._error("merge_into", named, "was erased / 已删除")
        if state.merged_into is not None:
            return self._error(
                "merge_into",
                named,
                f"was merged into {state.merged_into}: name that one"
                f" / 已合并到 {state.merged_into}",
            )
        return named

    async def _merge(
        self, row: int, item: CustomerRow, keyed: _Keyed | None
    ) -> Decision | RowError:
        into = await self.survivor(item)
        if isinstance(into, RowError):
            return into
        if keyed is None or not keyed.docs:
            column = keyed.field if keyed is not None else "name"
            return self._error(column, None, "names no customer to merge / 没有可合并的客户")
        if any(d.get("merged_into") == into for d in keyed.docs):
            return Decision(
                "unchanged",
                str(next(d for d in keyed.docs if d.get("merged_into") == into)["id"]),
                into=into,
            )
        active = keyed.active
        if not active:
            merged = keyed.docs[0]
            return self._error(
                keyed.field,
                None,
                f"was merged into {merged['merged_into']} / 已合并到 {merged['merged_into']}",
            )
        if len(active) > 1:
            return self._ambiguous(keyed)
        merged_id = str(active[0]["id"])
        if merged_id == into:
            return self._error(
                "merge_into", item.merge_into, "is the row's own customer / 不能合并到自身"
            )
        if not self.merges:
            return self._error(
                "merge_into", None, "only an admin merges customers / 仅管理员可合并客户"
            )
        earlier = self.targets.get(merged_id)
        if earlier is not None:
            return Decision("duplicate", merged_id, earlier_row=earlier, reasons=("same_target",))
        self.targets[merged_id] = row
        return Decision("merge", merged_id, into=into)

    async def _keyed(self, item: CustomerRow) -> _Keyed | RowError | None:
        if item.customer_id is not None:
            try:
                state = await self._state(item.customer_id)
            except NotFound:
                return _Keyed("customer_id", [])
            if state.erased:
                return self._error("customer_id", item.customer_id, "was erased / 已删除")
            doc = {"id": item.customer_id, "merged_into": state.merged_into}
            return _Keyed("customer_id", [doc])
        p = item.profile
        for name, key in (("email", email_key(p.email)), ("phone", phone_key(p.phone))):
            if key is not None:
                return _Keyed(name, await self._docs(f"{name}_key", key))
        return None

    async def _docs(self, key_field: str, value: str | None) -> list[dict[str, Any]]:
        if value is None:
            return []
        docs = await find_all(
            self.runtime.read_store,
            COLLECTION,
            {"tenant": self.tenant, key_field: value, "erased": False},
            sort=(("created_at", 1), ("id", 1)),
        )
        return [dict(d) for d in docs]

    async def _state(self, customer_id: str) -> CustomerState:
        repository = self.runtime.commands.repository(Customer)
        state = (await repository.load(customer_id, tenant=self.tenant)).state
        if not state.registered:
            raise NotFound(f"customer {customer_id} does not exist")
        return state

    async def _clash(self, changes: dict[str, Any], target: str) -> RowError | None:
        """A new e-mail or phone that another customer has: refused, as a profile edit
        would be refused as a likely duplicate."""
        for name, fold in (("email", email_key), ("phone", phone_key)):
            if name not in changes:
                continue
            others = [
                d
                for d in await self._docs(f"{name}_key", fold(changes[name]))
                if _active(d) and d["id"] != target
            ]
            if others:
                other = others[0]["id"]
                return self._error(name, None, f"is customer {other}'s / 与客户 {other} 相同")
        return None

    def _ambiguous(self, keyed: _Keyed) -> RowError:
        n = len(keyed.active)
        return self._error(
            keyed.field,
            None,
            f"{n} customers have it: merge them first / {n} 个客户相同, 请先合并",
        )

    def _error(self, field_: str, value: str | None, reason: str) -> RowError:
        return RowError(self.column_of(field_) or field_, value, reason)


def _active(doc: dict[str, Any]) -> bool:
    return doc.get("merged_into") is None


def _reason(key_field: str) -> str:
    return "id" if key_field == "customer_id" else key_field


def _changes(item: CustomerRow, state: CustomerState) -> tuple[dict[str, Any], dict[str, str]]:
    """The row's non-blank cells that differ from the customer's profile and custom fields."""
    assert state.profile is not None
    current = state.profile.as_dict()
    row = item.profile.as_dict()
    changes = {
        f: row[f]
        for f in PROFILE_FIELDS
        if f in item.filled and row[f] is not None and row[f] != current[f]
    }
    values = state.custom_values
    custom = {k: v for k, v in item.custom.items() if _text(values.get(k)) != v}
    return changes, custom


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
