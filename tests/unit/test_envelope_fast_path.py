"""The stores' fast read path builds the same envelopes and payloads as the general one."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic_core import from_json

from crm.events import EventEnvelope
from crm.events.envelope import stored_envelope
from crm.kernel.adapters.sqlite.envelope import _uuid
from crm.kernel.adapters.sqlite.event_store import _payload_json


def test_stored_envelope_is_the_envelope_the_constructor_builds() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    ids = uuid4(), uuid4(), uuid4()
    values = dict(
        position=7,
        event_id=ids[0],
        stream_id="customer-1",
        stream_version=2,
        event_type="customer.tagged",
        schema_version=1,
        occurred_at=at,
        recorded_at=at,
        tenant="acme",
        actor="u-1",
        correlation_id=ids[1],
        causation_id=ids[2],
        payload={"tag": "vip"},
    )
    fast = stored_envelope(**values)  # type: ignore[arg-type]
    slow = EventEnvelope(**values)  # type: ignore[arg-type]
    assert fast == slow
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.position = 8  # type: ignore[misc]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "张伟 😀", "tags": ["vip", "新客户"], "n": None},
        {"big": 2**70, "small": -0.0, "tiny": 1e-7, "huge": 1.5e300, "one": 1.0},
        {"nested": [{"a": [1, 2, {"b": None}]}, True, False]},
    ],
)
def test_payloads_round_trip_as_with_the_json_module(payload: dict[str, object]) -> None:
    stored = _payload_json(payload)
    assert from_json(stored) == json.loads(stored) == payload
    assert json.loads(json.dumps(payload)) == from_json(stored)


def test_nan_and_infinity_survive_as_with_the_json_module() -> None:
    back = from_json(_payload_json({"x": math.nan, "y": math.inf}))
    assert math.isnan(back["x"])
    assert back["y"] == math.inf


def test_the_fast_uuid_equals_uuid() -> None:
    for _ in range(100):
        u = uuid4()
        assert _uuid(str(u)) == u
        assert str(_uuid(str(u))) == str(u)
        assert hash(_uuid(str(u))) == hash(u)
