"""The compatibility check of the published language against its committed schemas.

An event version, once published, is a contract: its payloads sit in the log and in every
subscriber's topic forever. Changing the model of an existing version (a field renamed,
removed, retyped, made required, an enum value dropped) would make stored payloads fail to
decode and subscribers' parsers break. The way to change an event is a new version plus an
upcaster from the previous one. This module compares the registry with the schemas committed
under ``schemas/events`` (``crm events schema`` writes them) and names every break.

Only documentation (``title``, ``description``, ``examples``) may change in place; a new
version is fine once its schema is committed, and so is a new event type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.events.registry import EventRegistry
from crm.events.schema import event_schemas

DOCUMENTATION = frozenset({"title", "description", "examples"})
_FILE = re.compile(r"^(?P<type>.+)\.v(?P<version>\d+)\.json$")


@dataclass(frozen=True, slots=True)
class Break:
    """One incompatibility: which event version, and what is wrong with it."""

    key: str
    problem: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


def committed_schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """The committed event schemas of ``directory``, keyed ``<type>.v<version>``."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        if _FILE.match(path.name):
            found[path.name.removesuffix(".json")] = json.loads(path.read_text())
    return found


def _contract(node: Any) -> Any:
    """The schema without its documentation: what a payload is checked against."""
    if isinstance(node, dict):
        return {k: _contract(v) for k, v in node.items() if k not in DOCUMENTATION}
    if isinstance(node, list):
        return [_contract(v) for v in node]
    return node


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            where = f"{path}/{key}"
            if key not in new:
                out.append(f"{where} removed")
            elif key not in old:
                out.append(f"{where} added")
            else:
                out.extend(_differences(old[key], new[key], where))
        return out
    if old != new:
        return [f"{path or '/'} changed from {json.dumps(old)} to {json.dumps(new)}"]
    return []


def check_compatibility(
    registry: EventRegistry, committed: Mapping[str, Mapping[str, Any]]
) -> list[Break]:
    """Every break of ``registry`` against the ``committed`` schemas: an existing version
    whose contract changed or that is gone, a version without an upcaster to the next one,
    and a registered version whose schema is not committed yet."""
    current = event_schemas(registry)
    breaks: list[Break] = []
    for key, old in sorted(committed.items()):
        new = current.get(key)
        if new is None:
            breaks.append(
                Break(key, "committed, but no longer registered (its events stay in the log)")
            )
            continue
        diffs = _differences(_contract(old), _contract(new))
        if diffs:
            breaks.append(
                Break(
                    key,
                    "its schema changed in place ("
                    + "; ".join(diffs[:5])
                    + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else "")
                    + "): register a new version and an upcaster from this one instead",
                )
            )
    for event_type, version, _ in registry:
        key = f"{event_type}.v{version}"
        if key not in committed:
            breaks.append(Break(key, "not committed: run `crm events schema` and commit it"))
        if version < registry.latest_version(event_type) and not registry.has_upcaster(
            event_type, version
        ):
            breaks.append(
                Break(
                    key,
                    f"older than v{registry.latest_version(event_type)} and no upcaster from it",
                )
            )
    return breaks
