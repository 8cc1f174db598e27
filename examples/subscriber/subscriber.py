"""An internal service that subscribes to the CRM's customer events (a worked example).

It lives outside the platform and depends on two libraries only: ``aiokafka`` for Kafka and
``crm-events`` (the published language: envelope, one model per event type and version, the
registry with its upcasters). It imports nothing else of the CRM.

What it does: it reads ``crm.customer.events`` in its own consumer group and appends one JSON
line per ``customer.registered`` to a file. The guarantees, and how they are kept:

- **Nothing lost.** The group's offsets are committed only after the batch's lines are written
  and fsync'ed. A crash before the commit re-delivers the batch to the next run.
- **Nothing twice.** The relay publishes at least once, and a re-delivered batch comes again:
  the file is idempotent by event id (the ids already in it are loaded at start). A line cut
  short by a crash mid-write was never committed, so it is cut off and written again.
- **Old versions read as new.** Each record's value is the JSON envelope, its headers carry
  ``event_type``, ``schema_version``, ``event_id``, ``correlation_id`` and ``stream_id``;
  ``REGISTRY.decode`` validates the payload into the latest model of its type, upcasting a
  payload stored at an older version (``customer.registered`` v1 had one ``full_name``).
- **Personal data stays sealed.** Personal fields (the name, e-mail, phone) travel encrypted
  with the customer's key (``enc:v1:...``); this service has no key and writes none of them.

Run it (``--help`` for every option)::

    python examples/subscriber/subscriber.py --bootstrap 127.0.0.1:9092 --out registrations.jsonl

SIGTERM or Ctrl-C finishes the batch in hand, commits it and leaves the group.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from crm.events import REGISTRY, DomainEvent, EventEnvelope
from crm.events.customer import CustomerRegistered
from crm.events.envelope import envelope_from_json

log = logging.getLogger("subscriber")

TOPIC = "crm.customer.events"
GROUP = "example-subscriber"


class JsonLines:
    """An append-only JSON-lines file, idempotent by one field of its lines."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self.keys: set[str] = set()
        self._load()
        self._file = path.open("a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            # the end of a line a crash cut short: its batch was not committed, it comes again
            log.warning(
                "%s: cutting off a partial last line (%d bytes)", self.path, len(data) - whole
            )
            with self.path.open("r+b") as f:
                f.truncate(whole)
        for line in data[:whole].splitlines():
            if line.strip():
                self.keys.add(str(json.loads(line)[self.key]))

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, line: dict[str, Any]) -> bool:
        """Append ``line`` unless a line with its key is there; whether it was appended."""
        key = str(line[self.key])
        if key in self.keys:
            return False
        self._file.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        self.keys.add(key)
        return True

    def sync(self) -> None:
        """Make every appended line durable (before the offsets that produced it move on)."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


@dataclass
class Counts:
    records: int = 0
    appended: int = 0
    duplicates: int = 0
    other: int = 0
    unknown: int = 0
    dead: int = 0


def decode(record: ConsumerRecord) -> tuple[EventEnvelope, DomainEvent | None]:
    """The envelope of ``record`` and its typed event at the latest version (``None``: a type
    this version of crm-events does not know, published by a newer platform)."""
    headers = {key: value.decode() for key, value in record.headers or ()}
    envelope = envelope_from_json(record.value)
    if headers.get("event_id", str(envelope.event_id)) != str(envelope.event_id):
        raise ValueError(f"header event_id {headers['event_id']} is not the envelope's")
    if envelope.event_type not in REGISTRY:
        return envelope, None
    return envelope, REGISTRY.decode(envelope.event_type, envelope.schema_version, envelope.payload)


def registration_line(envelope: EventEnvelope, event: CustomerRegistered) -> dict[str, Any]:
    """What this service keeps of a registration: no personal field (they are sealed)."""
    return {
        "event_id": str(envelope.event_id),
        "customer_id": envelope.stream_id.removeprefix("customer-"),
        "tenant": envelope.tenant,
        "kind": event.kind.value,
        "company": event.company,
        "region": event.region,
        "source": event.source,
        "tags": list(event.tags),
        "owner_id": event.owner_id,
        "registered_at": envelope.occurred_at.isoformat(),
        "published_version": envelope.schema_version,
    }


class Subscriber:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.registrations = JsonLines(Path(args.out), "event_id")
        self.dead = JsonLines(Path(f"{args.out}.dead"), "record")
        self.stopping = asyncio.Event()

    def handle(self, tp: TopicPartition, records: Sequence[ConsumerRecord], counts: Counts) -> None:
        for record in records:
            counts.records += 1
            where = f"{tp.topic}:{tp.partition}:{record.offset}"
            try:
                envelope, event = decode(record)
            except (ValueError, LookupError) as e:  # ValidationError, UnknownEventType
                log.error("%s: cannot decode: %s", where, e)
                self.dead.add({"record": where, "error": str(e)})
                counts.dead += 1
                continue
            if event is None:
                counts.unknown += 1
            elif isinstance(event, CustomerRegistered):
                if self.registrations.add(registration_line(envelope, event)):
                    counts.appended += 1
                else:
                    counts.duplicates += 1
            else:
                counts.other += 1

    async def run(self) -> None:
        a = self.args
        consumer = AIOKafkaConsumer(
            a.topic,
            bootstrap_servers=a.bootstrap,
            group_id=a.group,
            enable_auto_commit=False,  # committed by hand, after the effect
            auto_offset_reset="earliest",  # a new group starts at the beginning of the topic
            max_poll_records=a.batch_size,
            session_timeout_ms=a.session_timeout_ms,
            heartbeat_interval_ms=min(3000, a.session_timeout_ms // 3),
            rebalance_timeout_ms=a.rebalance_timeout_ms,
            fetch_max_wait_ms=a.fetch_wait_ms,
        )
        await consumer.start()
        log.info(
            "consuming %s in group %s into %s (%d lines there)",
            a.topic,
            a.group,
            a.out,
            len(self.registrations),
        )
        try:
            while not self.stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=a.batch_size)
                if not batches:
                    continue
                counts = Counts()
                for tp, records in batches.items():
                    self.handle(tp, records, counts)
                self.registrations.sync()
                self.dead.sync()
                offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
                try:
                    await consumer.commit(offsets)
                except CommitFailedError as e:
                    # the partitions moved to another member, which re-reads from the last
                    # committed offsets: the file is idempotent
                    log.warning("commit failed (%s)", e)
                log.info(
                    "batch: %d records, %d appended, %d duplicates, %d other, %d unknown,"
                    " %d dead; committed %s",
                    counts.records,
                    counts.appended,
                    counts.duplicates,
                    counts.other,
                    counts.unknown,
                    counts.dead,
                    " ".join(f"{tp.partition}@{offset}" for tp, offset in sorted(offsets.items())),
                )
        finally:
            await consumer.stop()
            self.registrations.close()
            self.dead.close()
            log.info("stopped; %d registrations in %s", len(self.registrations), a.out)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Append one JSON line per customer registration.")
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    p.add_argument("--topic", default=TOPIC)
    p.add_argument("--group", default=GROUP, help="this service's own consumer group")
    p.add_argument("--out", default="registrations.jsonl", help="the JSON-lines file")
    p.add_argument("--batch-size", type=int, default=200, help="records per batch and commit")
    p.add_argument("--session-timeout-ms", type=int, default=30_000)
    p.add_argument("--rebalance-timeout-ms", type=int, default=60_000)
    p.add_argument("--fetch-wait-ms", type=int, default=100)
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error("--batch-size must be at least 1")
    return args


async def main(argv: Sequence[str] | None = None) -> None:
    subscriber = Subscriber(parse(argv))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, subscriber.stopping.set)
    await subscriber.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(main())
