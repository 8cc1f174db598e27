"""The AsyncAPI 3 document of the topics an internal service can subscribe to.

Generated, never written by hand: channels are the contexts' topics (what each relay
publishes to), messages are the event registry's types and versions (old versions too: a
topic's history still holds them), and each message's payload is the envelope the relay
publishes, with its ``payload`` the JSON Schema of that event version. The schemas pydantic
derives keep their shared definitions under ``$defs``; here they are hoisted into
``components/schemas`` and referenced from there, so every ``$ref`` resolves against the
document itself (the way AsyncAPI tools resolve them).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from crm.events import EventRegistry
from crm.events.schema import envelope_schema, event_schemas
from crm.kernel.adapters.kafka.publisher import bootstrap_servers
from crm.kernel.context import BoundedContext

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
ENVELOPE = "EventEnvelope"
HEADERS = "EventHeaders"

HEADER_DESCRIPTIONS = {
    "event_type": "The event's type, e.g. `customer.registered`: route or filter on it unparsed.",
    "schema_version": "The version of the payload's schema, a decimal integer as text.",
    "event_id": "The event's id (a UUID): the same event delivered twice has the same id.",
    "correlation_id": "The id of the request that caused the event (a UUID).",
    "stream_id": "The aggregate's stream, e.g. `customer-<uuid>`; also the record's key.",
}

DESCRIPTION = """The events of the CRM, as its relays publish them to Kafka.

Each context's relay publishes the events of its streams to one topic, in the order of its
event store. A record's **key** is the stream id (`customer-<uuid>`): one aggregate's events
stay in one partition, in order. Its **value** is the JSON envelope (position, stream
version, tenant, actor, correlation and causation ids) around the event's payload; its
**headers** name the event type and schema version, so a consumer routes without parsing.

Delivery is **at least once**: after a relay restart a page may be published again; skip
an `event_id` (or a `position`) you have already applied. Old schema versions stay in a
topic forever: decode with the `crm-events` package (`REGISTRY.decode(type, version,
payload)`), which upcasts them to the latest model. Fields listed in `x-personal-fields`
are personal data, sealed with the data subject's key (`enc:` …): a subscriber without the
key store sees them sealed, and after an erasure nobody can read them.
"""


PUBLISHED_BY = {"custom-fields": "customer"}
"""Kernel events some context's relay publishes: a tenant's custom field definitions (stream
``customfields-<tenant>``) go out with the customer context's events, whose categories
include theirs."""


def event_channel(event_type: str, contexts: Iterable[BoundedContext]) -> BoundedContext | None:
    """The context whose topic carries ``event_type``: its first segment names the context
    (``service_desk.ticket.opened`` -> ``service-desk``) or is one of :data:`PUBLISHED_BY`;
    None for the kernel's own events (``tenant.*``), which no relay publishes."""
    prefix = event_type.split(".", 1)[0].replace("_", "-")
    name = PUBLISHED_BY.get(prefix, prefix)
    return next((c for c in contexts if c.name == name), None)


def _hoist(schema: dict[str, Any], shared: dict[str, Any], owner: str) -> dict[str, Any]:
    """``schema`` without its ``$defs``, moved into ``shared`` (a name taken by another,
    different definition is prefixed by ``owner``), refs rewritten to the components."""
    schema = copy.deepcopy(schema)
    defs: dict[str, Any] = schema.pop("$defs", {})
    schema.pop("$id", None)  # an $id would rebase the refs below away from the document
    renamed: dict[str, str] = {}
    for name, definition in defs.items():
        target = name
        if target in shared and shared[target] != definition:
            target = f"{owner}.{name}"
        renamed[name] = target
    for name, definition in defs.items():
        shared[renamed[name]] = _rewrite(definition, renamed)
    rewritten: dict[str, Any] = _rewrite(schema, renamed)
    return rewritten


def _rewrite(node: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                name = value.removeprefix("#/$defs/")
                out[key] = f"#/components/schemas/{renamed.get(name, name)}"
            else:
                out[key] = _rewrite(value, renamed)
        return out
    if isinstance(node, list):
        return [_rewrite(item, renamed) for item in node]
    return node


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Kafka record headers (values are UTF-8 text).",
        "properties": {
            name: {"type": "string", "description": HEADER_DESCRIPTIONS[name]}
            for name in HEADER_DESCRIPTIONS
        },
        "required": sorted(HEADER_DESCRIPTIONS),
    }


def asyncapi_document(
    registry: EventRegistry,
    contexts: Iterable[BoundedContext],
    *,
    version: str = "0.1.0",
    bus: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``contexts``' topics and ``registry``'s events;
    ``bus`` (a ``kafka://`` URL) becomes the document's server when given."""
    contexts = tuple(contexts)
    schemas: dict[str, Any] = {}
    envelope = envelope_schema()
    envelope.pop("$id", None)
    schemas[ENVELOPE] = envelope
    schemas[HEADERS] = _headers_schema()
    messages: dict[str, Any] = {}
    by_channel: dict[str, list[str]] = {c.name: [] for c in contexts}
    for key, schema in event_schemas(registry).items():
        event_type = schema["x-event-type"]
        schema_version = schema["x-schema-version"]
        context = event_channel(event_type, contexts)
        if context is None:
            continue
        schemas[key] = _hoist(schema, schemas, key)
        latest = registry.latest_version(event_type)
        messages[key] = {
            "name": event_type,
            "title": f"{event_type} v{schema_version}",
            "summary": (schema.get("description") or event_type).strip().split("\n")[0],
            "contentType": "application/json",
            "headers": {
                "allOf": [
                    {"$ref": f"#/components/schemas/{HEADERS}"},
                    {
                        "properties": {
                            "event_type": {"const": event_type},
                            "schema_version": {"const": str(schema_version)},
                        }
                    },
                ]
            },
            "payload": {
                "allOf": [
                    {"$ref": f"#/components/schemas/{ENVELOPE}"},
                    {
                        "properties": {
                            "event_type": {"const": event_type},
                            "schema_version": {"const": schema_version},
                            "payload": {"$ref": f"#/components/schemas/{key}"},
                        }
                    },
                ]
            },
            "correlationId": {
                "description": "The request that caused the event.",
                "location": "$message.header#/correlation_id",
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": "The stream id."},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
            "x-event-type": event_type,
            "x-schema-version": schema_version,
            "x-latest-version": latest,
            "x-personal-fields": schema["x-personal-fields"],
            "deprecated": schema_version < latest,
        }
        by_channel[context.name].append(key)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for context in contexts:
        keys = by_channel[context.name]
        if not keys:
            continue
        channels[context.name] = {
            "address": context.topic,
            "title": context.topic,
            "description": (
                f"The events of the {context.name} context's streams "
                f"(categories: {', '.join(sorted(context.categories))}), keyed by stream id."
            ),
            "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in keys},
            "bindings": {"kafka": {"topic": context.topic, "bindingVersion": "0.5.0"}},
        }
        operations[f"publish.{context.name}"] = {
            "action": "send",
            "title": f"The {context.name} relay publishes",
            "channel": {"$ref": f"#/channels/{context.name}"},
            "messages": [{"$ref": f"#/channels/{context.name}/messages/{k}"} for k in keys],
        }
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:crm:events",
        "info": {
            "title": "CRM platform events",
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
    if bus is not None:
        document["servers"] = {
            "kafka": {
                "host": bootstrap_servers(bus),
                "protocol": "kafka",
                "description": "The deployment's Kafka cluster.",
            }
        }
    return document
