"""The AsyncAPI document of the topics, and the compatibility check of the published language.

The document is validated against the official AsyncAPI 3.0.0 JSON Schema, vendored in
``tests/data/asyncapi`` (asyncapi/spec-json-schemas, Apache-2.0: no download at test time),
and real envelopes, as the relay publishes them, against the document's own message schemas.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from crm.events import REGISTRY, DomainEvent, EventRegistry
from crm.events.compat import check_compatibility, committed_schemas
from crm.events.envelope import envelope_headers, envelope_to_json
from crm.events.schema import event_schemas
from crm.platform.asyncapi import HEADER_DESCRIPTIONS, asyncapi_document, event_channel
from crm.platform.bootstrap import CONTEXTS
from crm.platform.cli import app as cli
from tests.conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.contexts("customer")]

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "data" / "asyncapi" / "3.0.0.json"
COMMITTED = ROOT / "schemas" / "events"


@cache
def spec_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SPEC.read_text()))


@cache
def document() -> dict[str, Any]:
    return asyncapi_document(REGISTRY, CONTEXTS, bus="kafka://broker-1:9092,broker-2:9092")


def spec_errors(doc: dict[str, Any]) -> list[str]:
    return [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in spec_validator().iter_errors(doc)
    ]


def validate_part(doc: dict[str, Any], ref: str, instance: object) -> None:
    """Validate ``instance`` against the schema at ``ref`` of ``doc``, refs resolved in doc."""
    jsonschema.Draft7Validator({**doc, "$ref": ref}).validate(instance)


def test_the_document_is_valid_asyncapi_3() -> None:
    assert spec_errors(document()) == []


def test_the_official_schema_refuses_a_broken_document() -> None:
    """The validation reaches into channels and messages (the vendored bundle resolves its
    own refs offline): a wrong address and an unknown message field are both found."""
    broken = copy.deepcopy(document())
    broken["channels"]["customer"]["address"] = 42
    broken["components"]["messages"]["customer.registered.v2"]["topic"] = "x"
    errors = spec_errors(broken)
    assert any("channels" in e for e in errors), errors
    assert any("components" in e for e in errors), errors


def test_every_published_event_version_is_a_message_of_its_contexts_topic() -> None:
    doc = document()
    assert doc["servers"]["kafka"]["host"] == "broker-1:9092,broker-2:9092"
    for event_type, version, _ in REGISTRY:
        key = f"{event_type}.v{version}"
        context = event_channel(event_type, CONTEXTS)
        if event_type.split(".")[0] in {"tenant", "user", "team", "import"}:  # on no topic
            assert context is None
            assert key not in doc["components"]["messages"]
            continue
        assert context is not None, f"{event_type} is on no topic"
        channel = doc["channels"][context.name]
        assert channel["address"] == context.topic
        assert key in channel["messages"]
        message = doc["components"]["messages"][key]
        assert message["deprecated"] == (version < REGISTRY.latest_version(event_type))
    assert set(doc["channels"]) == {c.name for c in CONTEXTS}
    assert doc["components"]["messages"]["customer.registered.v1"]["deprecated"] is True


def test_refs_resolve_within_the_document() -> None:
    text = json.dumps(document())
    assert "#/$defs/" not in text
    for ref in {r.split('"')[0] for r in text.split('"$ref": "')[1:]}:
        node: Any = document()
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert node is not None, ref


async def test_a_published_envelope_matches_its_message(api: Api) -> None:
    r = await api.as_user("boss").post(
        "/customers", json={"name": "Ada Lovelace", "email": "ada@example.com", "tags": ["vip"]}
    )
    assert r.status_code == 201
    envelopes = [e async for page in api.platform.store.read_all(0) for e in page]
    customer = [e for e in envelopes if e.category == "customer"]
    assert customer
    doc = document()
    for envelope in customer:
        key = f"{envelope.event_type}.v{envelope.schema_version}"
        value = json.loads(envelope_to_json(envelope))
        validate_part(doc, f"#/components/messages/{key}/payload", value)
        headers = {k: v.decode() for k, v in envelope_headers(envelope)}
        assert set(headers) >= set(HEADER_DESCRIPTIONS)
        validate_part(doc, f"#/components/messages/{key}/headers", headers)
        wrong = {**value, "payload": {**value["payload"], "surprise": 1}}
        with pytest.raises(jsonschema.ValidationError):
            validate_part(doc, f"#/components/messages/{key}/payload", wrong)
    served = await api.client.get("/asyncapi.json")  # no token needed
    assert served.status_code == 200
    assert served.json()["channels"]["customer"]["address"] == "crm.customer.events"
    assert served.json()["components"]["messages"].keys() == doc["components"]["messages"].keys()


def test_crm_events_asyncapi_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    result = CliRunner().invoke(cli, ["events", "asyncapi", "--out", str(out)], env={})
    assert result.exit_code == 0, result.output
    assert spec_errors(json.loads(out.read_text())) == []


# --- compatibility of the published language ----------------------------------------------


def test_the_registry_is_compatible_with_the_committed_schemas() -> None:
    breaks = check_compatibility(REGISTRY, committed_schemas(COMMITTED))
    assert [str(b) for b in breaks] == []


class Noted(DomainEvent):
    note: str


class NotedRenamed(DomainEvent):
    text: str


class NotedTwo(DomainEvent):
    note: str
    urgent: bool


def test_changing_an_existing_version_in_place_is_a_break() -> None:
    before = EventRegistry()
    before.register(Noted, "demo.noted", 1)
    committed = event_schemas(before)
    assert check_compatibility(before, committed) == []

    after = EventRegistry()
    after.register(NotedRenamed, "demo.noted", 1)
    (problem,) = check_compatibility(after, committed)
    assert problem.key == "demo.noted.v1"
    assert "/properties/note removed" in problem.problem
    assert "/properties/text added" in problem.problem


def test_a_new_version_needs_its_upcaster_and_its_committed_schema() -> None:
    before = EventRegistry()
    before.register(Noted, "demo.noted", 1)
    committed = event_schemas(before)

    no_upcaster = EventRegistry()
    no_upcaster.register(Noted, "demo.noted", 1)
    no_upcaster.register(NotedTwo, "demo.noted", 2)
    problems = {str(b) for b in check_compatibility(no_upcaster, committed)}
    assert problems == {
        "demo.noted.v1: older than v2 and no upcaster from it",
        "demo.noted.v2: not committed: run `crm events schema` and commit it",
    }

    upcast = EventRegistry()
    upcast.register(Noted, "demo.noted", 1)
    upcast.register(NotedTwo, "demo.noted", 2)
    upcast.upcaster("demo.noted", 1)(lambda p: {**p, "urgent": False})
    assert check_compatibility(upcast, event_schemas(upcast)) == []
    assert upcast.decode("demo.noted", 1, {"note": "x"}) == NotedTwo(note="x", urgent=False)


def test_documentation_may_change_in_place() -> None:
    before = EventRegistry()
    before.register(Noted, "demo.noted", 1)
    committed = event_schemas(before)
    committed["demo.noted.v1"]["description"] = "an older wording"
    committed["demo.noted.v1"]["properties"]["note"]["title"] = "Old title"
    assert check_compatibility(before, committed) == []
