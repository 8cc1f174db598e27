"""The published language: registry, upcasting and schemas."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from uuid import RFC_4122

import pytest

from crm.events import REGISTRY, DomainEvent, EventRegistry, UnknownEventType
from crm.events.customer import (
    CustomerKind,
    CustomerRegistered,
    CustomerRegisteredV1,
    InteractionLogged,
)
from crm.events.envelope import new_event_id
from crm.events.schema import event_schemas, write_schemas


def test_every_customer_event_is_registered_at_its_latest_version() -> None:
    for name in (
        "registered",
        "profile_updated",
        "owner_assigned",
        "released_to_pool",
        "claimed_from_pool",
        "tagged",
        "untagged",
        "interaction_logged",
        "consent_recorded",
        "erased",
        "contact_added",
        "contact_updated",
        "contact_removed",
    ):
        assert f"customer.{name}" in REGISTRY
    assert REGISTRY.model("customer.registered") is CustomerRegistered
    assert REGISTRY.model("customer.registered", 1) is CustomerRegisteredV1


def test_a_v1_registration_is_read_as_v2() -> None:
    stored_v1 = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "owner_id": "rep-1",
        "source": "fair",
    }
    event = REGISTRY.decode("customer.registered", 1, stored_v1)
    assert event == CustomerRegistered(
        kind=CustomerKind.PERSON,
        name="Ada Lovelace",
        email="ada@example.com",
        owner_id="rep-1",
        source="fair",
    )
    assert stored_v1["full_name"] == "Ada Lovelace"  # the stored payload is never rewritten


def test_the_latest_version_decodes_as_is() -> None:
    payload = CustomerRegistered(kind=CustomerKind.COMPANY, name="Acme", tags=("a",)).model_dump(
        mode="json"
    )
    assert REGISTRY.decode("customer.registered", 2, payload).model_dump(mode="json") == payload


def test_unknown_types_and_missing_upcasters_are_errors() -> None:
    with pytest.raises(UnknownEventType):
        REGISTRY.decode("customer.teleported", 1, {})

    class MadeV1(DomainEvent):
        full_name: str

    class Made(DomainEvent):
        name: str

    registry = EventRegistry()
    registry.register(MadeV1, "x.made", 1)
    registry.register(Made, "x.made", 2)
    with pytest.raises(UnknownEventType, match="no upcaster"):
        registry.decode("x.made", 1, {"full_name": "A"})


def test_a_registered_class_keeps_its_name() -> None:
    """An event class is one type and version: naming it again elsewhere is refused, or every
    event of it would be written under the new name from then on."""
    with pytest.raises(ValueError, match=r"already customer\.registered v3"):
        EventRegistry().register(CustomerRegistered, "x.made", 2)
    assert (CustomerRegistered.event_type, CustomerRegistered.schema_version) == (
        "customer.registered",
        3,
    )


def test_personal_fields_are_known_from_the_model() -> None:
    assert CustomerRegistered.personal_fields == frozenset(
        {
            "name",
            "email",
            "phone",
            "billing_address",
            "shipping_address",
            "visit_address",
            "birthday",
            "anniversary",
            "custom_personal",
        }
    )
    assert InteractionLogged.personal_fields == frozenset({"summary"})


def test_events_are_immutable_and_strict() -> None:
    e = CustomerRegistered(kind=CustomerKind.PERSON, name="A")
    with pytest.raises(ValueError, match="frozen"):
        e.name = "B"  # type: ignore[misc]
    with pytest.raises(ValueError, match="extra"):
        CustomerRegistered(kind=CustomerKind.PERSON, name="A", shoe_size=42)  # type: ignore[call-arg]


def test_schemas_cover_every_type_and_version(tmp_path: Path) -> None:
    schemas = event_schemas()
    assert {"customer.registered.v1", "customer.registered.v2", "customer.erased.v1"} <= set(
        schemas
    )
    v2 = schemas["customer.registered.v2"]
    assert v2["x-event-type"] == "customer.registered"
    assert v2["x-personal-fields"] == ["email", "name", "phone"]
    assert "kind" in v2["required"]
    written = write_schemas(tmp_path)
    assert (tmp_path / "envelope.json").exists()
    assert len(written) == len(schemas) + 1
    envelope = json.loads((tmp_path / "envelope.json").read_text())
    assert {"event_id", "position", "stream_id", "correlation_id", "payload"} <= set(
        envelope["properties"]
    )


def test_event_ids_are_time_ordered_uuid7() -> None:
    before = int(time.time() * 1000)
    first = new_event_id()
    after = int(time.time() * 1000)
    time.sleep(0.002)
    later = [new_event_id() for _ in range(10_000)]
    assert {first.version, *(i.version for i in later)} == {7}
    assert all(i.variant == RFC_4122 for i in later)
    assert len(set(later)) == len(later)
    assert all(first < i for i in later)  # a later millisecond sorts after
    assert before <= first.int >> 80 <= after  # its first 48 bits: the Unix time in ms


def test_the_user_and_team_events_are_the_published_languages() -> None:
    """Importing ``crm.events`` alone registers them (no console needed to decode the log),
    each as its committed schema in ``schemas/events`` says."""
    script = (
        "import json, sys\n"
        "from crm.events import REGISTRY\n"
        "from crm.events.schema import event_schemas\n"
        "assert 'crm.console' not in sys.modules\n"
        "mine = {k: v for k, v in event_schemas().items() if k.split('.')[0] in ('user', 'team')}\n"
        "print(json.dumps(mine))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    schemas = json.loads(done.stdout)
    committed = Path(__file__).resolve().parents[2] / "schemas" / "events"
    assert len(schemas) == 14
    assert {"user.added.v1", "user.password_reset.v1", "team.manager_assigned.v1"} <= set(schemas)
    for key, schema in schemas.items():
        assert json.loads((committed / f"{key}.json").read_text()) == schema, key
