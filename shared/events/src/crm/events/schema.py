"""JSON Schema of the published language, for the services that subscribe to our events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm.events.envelope import ENVELOPE_ADAPTER
from crm.events.registry import REGISTRY, EventRegistry


def event_schemas(registry: EventRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type and version, keyed ``<type>.v<version>``."""
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, version, model in registry:
        schema = model.model_json_schema()
        schema["$id"] = f"urn:crm:event:{event_type}:v{version}"
        schema["title"] = f"{event_type} v{version}"
        schema["x-event-type"] = event_type
        schema["x-schema-version"] = version
        schema["x-personal-fields"] = sorted(model.personal_fields)
        schemas[f"{event_type}.v{version}"] = schema
    return schemas


def envelope_schema() -> dict[str, Any]:
    schema = ENVELOPE_ADAPTER.json_schema()
    schema["$id"] = "urn:crm:event-envelope"
    return schema


def write_schemas(directory: Path, registry: EventRegistry = REGISTRY) -> list[Path]:
    """Write ``envelope.json`` and one file per event type and version into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in {"envelope": envelope_schema(), **event_schemas(registry)}.items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
