"""The subscriber example (``examples/subscriber/``) as an internal service would run it:
``crm serve customer`` and ``crm relay customer`` publish to a real Kafka-protocol broker
(Tansu), the example consumes ``crm.customer.events`` in its own group, is SIGKILLed while
registrations keep arriving, restarts, and its file holds each registration exactly once."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from crm.events import REGISTRY, EventMetadata
from crm.events.customer import CustomerRegisteredV1
from crm.kernel.adapters.sqlite.event_store import SqliteEventStore
from crm.kernel.adapters.sqlite.key_store import SqliteKeyStore
from crm.kernel.auth import Role
from crm.kernel.codec import EventCodec
from crm.kernel.event_store import NO_STREAM
from crm.kernel.settings import Settings
from crm.platform.bootstrap import token_issuer
from tests.support.processes import Process, operator, platform_env
from tests.support.tansu import Broker

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "subscriber" / "subscriber.py"
BATCH = 3


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("subscriber_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


class Subscriber:
    """The example run as its own process, the way its README starts it."""

    def __init__(self, broker: Broker, out: Path, log: Path, group: str) -> None:
        self.group = group
        self.args = [
            sys.executable,
            str(EXAMPLE),
            "--bootstrap",
            broker.servers,
            "--group",
            group,
            "--out",
            str(out),
            "--batch-size",
            str(BATCH),
            # Tansu holds a rebalance for its full timeout: keep both short for tests
            "--session-timeout-ms",
            "6000",
            "--rebalance-timeout-ms",
            "3000",
        ]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"==== start {self.starts}\n".encode())
        self.proc = subprocess.Popen(
            self.args, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def run_log(self, start: int) -> str:
        return self.log.read_text().split(f"==== start {start}\n", 1)[1].split("==== start")[0]


class Stack:
    def __init__(self, tmp: Path, broker: Broker) -> None:
        self.data = tmp / "data"
        self.env = platform_env(self.data, broker.url)
        logs = tmp / "logs"
        logs.mkdir()
        self.customer = Process(["serve", "customer"], self.env, logs / "customer.log")
        self.relay = Process(["relay", "customer"], self.env, logs / "relay.log")
        self.subscriber = Subscriber(
            broker,
            tmp / "registrations.jsonl",
            logs / "subscriber.log",
            f"example-{uuid4().hex[:6]}",
        )

    def auth(self) -> dict[str, str]:
        issuer = token_issuer(Settings(data_dir=self.data))
        return {"Authorization": f"Bearer {issuer.issue('tester', Role.MANAGER, 'default')}"}


@pytest.fixture
def stack(tmp_path: Path, broker: Broker) -> Iterator[Stack]:
    s = Stack(tmp_path, broker)
    s.customer.start()
    operator(s.env, "tenants", "add", "default")
    s.relay.start()
    yield s
    if s.subscriber.alive():
        s.subscriber.stop()
    s.relay.stop()
    s.customer.stop()


def register(stack: Stack, names: list[str], ids: list[str], pause: float = 0.0) -> None:
    with httpx.Client(base_url=stack.customer.url, headers=stack.auth(), timeout=30) as client:
        for name in names:
            r = client.post("/customers", json={"name": name, "region": "east", "tags": ["x"]})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
            time.sleep(pause)


async def record_v1_registration(data: Path) -> str:
    """A registration stored at schema version 1 (before ``name`` replaced ``full_name``), as
    an older platform wrote it: the relay publishes it as it is stored."""
    store = SqliteEventStore(data / "events.db")
    keys = SqliteKeyStore(data / "keys.db")
    try:
        customer_id = str(uuid4())
        stream = f"customer-{customer_id}"
        event = CustomerRegisteredV1(full_name="Old Style", company="Acme")
        metadata = EventMetadata(tenant="default", actor="test", correlation_id=uuid4())
        new = await EventCodec(REGISTRY, keys).encode(stream, [event], metadata, datetime.now(UTC))
        assert new[0].schema_version == 1
        await store.append(stream, new, NO_STREAM)
        return customer_id
    finally:
        await store.close()
        await keys.close()


async def committed_and_end(servers: str, group: str) -> tuple[dict[int, int], dict[int, int]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition("crm.customer.events", p)
            for p in sorted(consumer.partitions_for_topic("crm.customer.events") or ())
        ]
        committed = {tp.partition: await consumer.committed(tp) or 0 for tp in partitions}
        ends = await consumer.end_offsets(partitions)
        return committed, {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


def test_the_example_survives_a_sigkill_mid_stream_with_each_registration_once(
    stack: Stack, tmp_path: Path, broker: Broker
) -> None:
    out = tmp_path / "registrations.jsonl"
    old_id = asyncio.run(record_v1_registration(stack.data))
    ids: list[str] = []
    register(stack, [f"Early {i}" for i in range(10)], ids)

    sub = stack.subscriber
    sub.start()
    wait_until(lambda: len(lines(out)) >= 1, 60, "the first registration in the file")

    # registrations keep arriving while the subscriber works through them; it dies mid-stream
    live = threading.Thread(
        target=register, args=(stack, [f"Live {i}" for i in range(30)], ids, 0.1)
    )
    live.start()
    wait_until(lambda: len(lines(out)) >= 15, 60, "live registrations in the file")
    sub.kill()
    assert live.is_alive(), "the subscriber should have died while registrations were arriving"
    killed_with = len(lines(out))
    live.join()
    assert killed_with < 41

    sub.start()
    wait_until(lambda: len(lines(out)) >= 41, 90, "every registration in the file")
    time.sleep(1.5)  # anything re-delivered or doubled would land by now
    assert sub.stop() == 0

    got = lines(out)
    assert len(got) == 41
    assert len({line["event_id"] for line in got}) == 41
    assert sorted(str(line["customer_id"]) for line in got) == sorted([old_id, *ids])
    by_id = {line["customer_id"]: line for line in got}
    # the v1 payload was upcast on read: `full_name` became `name`, `kind` defaulted to person
    assert by_id[old_id]["published_version"] == 1
    assert by_id[old_id]["kind"] == "person"
    assert by_id[old_id]["company"] == "Acme"
    assert by_id[ids[0]]["published_version"] == REGISTRY.latest_version("customer.registered")
    assert by_id[ids[0]]["region"] == "east"
    assert by_id[ids[0]]["tags"] == ["x"]
    assert all(line["tenant"] == "default" for line in got)
    text = out.read_text()
    for name in ("Early", "Live", "Old Style"):  # no personal field is written
        assert name not in text
    assert not Path(f"{out}.dead").read_text()

    # the restart resumed from the committed offsets, not from the start: at most the one
    # batch in hand when it was killed came again
    second = sub.run_log(2)
    duplicates = sum(int(n) for n in _counts(second, "duplicates"))
    assert duplicates <= BATCH, second
    assert sum(int(n) for n in _counts(second, "appended")) == 41 - killed_with

    # and the group's offsets stand at the end of every partition
    committed, ends = asyncio.run(committed_and_end(broker.servers, sub.group))
    assert committed == ends
    assert sum(ends.values()) == 41

    # a batch written but not committed comes again; here all of it does, to a new group
    # over the same file: every record is a duplicate by its event id, nothing is appended
    replay = Subscriber(broker, out, tmp_path / "logs" / "replay.log", f"replay-{uuid4().hex[:6]}")
    replay.start()
    wait_until(
        lambda: sum(int(n) for n in _counts(replay.run_log(1), "duplicates")) >= 41,
        60,
        "the whole topic re-delivered to the new group",
    )
    assert replay.stop() == 0
    assert set(_counts(replay.run_log(1), "appended")) == {"0"}
    assert out.read_text() == text


def _counts(log: str, what: str) -> list[str]:
    return [
        part.strip().split(" ")[0]
        for line in log.splitlines()
        if "batch:" in line
        for part in line.split(",")
        if part.strip().endswith(what)
    ]


def test_the_file_is_idempotent_by_event_id_and_cut_lines_are_dropped(tmp_path: Path) -> None:
    example = load_example()
    path = tmp_path / "r.jsonl"
    sink = example.JsonLines(path, "event_id")
    assert sink.add({"event_id": "a", "n": 1})
    assert not sink.add({"event_id": "a", "n": 2})
    assert sink.add({"event_id": "b", "n": 3})
    sink.sync()
    sink.close()
    with path.open("a") as f:
        f.write('{"event_id": "c", "n"')  # a crash in the middle of a line
    again = example.JsonLines(path, "event_id")
    assert len(again) == 2
    assert not again.add({"event_id": "b", "n": 4})
    assert again.add({"event_id": "c", "n": 5})
    again.sync()
    again.close()
    assert [json.loads(line)["event_id"] for line in path.read_text().splitlines()] == [
        "a",
        "b",
        "c",
    ]


def test_the_example_depends_on_crm_events_alone() -> None:
    """It is a service outside the platform: of the CRM it may import the published
    language (crm-events) and nothing else."""
    tree = ast.parse(EXAMPLE.read_text())
    modules = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    crm = {m for m in modules if m == "crm" or m.startswith("crm.")}
    assert crm
    assert all(m == "crm.events" or m.startswith("crm.events.") for m in crm), crm
