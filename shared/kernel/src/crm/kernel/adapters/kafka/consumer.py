"""A reaction fed from Kafka: the distributed form of :class:`~crm.kernel.reactor.ReactionRunner`.

A consumer group (``crm-<context>.<reaction>``) reads the context topics a reaction listens
to. Each partition's records are handled in order; the group's offset for a partition is
committed only after every reaction in the batch returned and the batch's dead letters are
stored, so a crash or a rebalance re-delivers instead of skipping (the reactions are
idempotent). Events are filtered by the ``event_type`` header before the value is parsed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from crm.events.envelope import envelope_from_json
from crm.kernel.adapters.kafka.publisher import bootstrap_servers
from crm.kernel.codec import EventCodec
from crm.kernel.lifecycle import stop_after_batch
from crm.kernel.observability import tracing
from crm.kernel.observability.commands import observed_reactions
from crm.kernel.reactor import Delivery, Reaction, react_with_retry
from crm.kernel.read_store import CheckpointMoved, DeadLetter, ReadStore

log = logging.getLogger(__name__)


class KafkaReactionConsumer:
    def __init__(
        self,
        url: str,
        reaction: Reaction,
        topics: Sequence[str],
        codec: EventCodec,
        dead_letters: ReadStore,
        *,
        group_id: str,
        batch_size: int = 200,
        session_timeout_seconds: float = 30.0,
        rebalance_timeout_seconds: float = 60.0,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self.servers = bootstrap_servers(url)
        self.reaction = reaction
        self.topics = list(topics)
        self.codec = codec
        self.dead_letter_store = dead_letters
        self.group_id = group_id
        self.batch_size = batch_size
        self.session_timeout_ms = int(session_timeout_seconds * 1000)
        self.rebalance_timeout_ms = int(rebalance_timeout_seconds * 1000)
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.name = f"reaction:{reaction.name}"
        self.reacted = 0
        self.assigned = asyncio.Event()
        self._wanted = reaction.event_types
        self._stopping = False
        self._busy = False

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=min(3000, self.session_timeout_ms // 3),
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            max_poll_records=self.batch_size,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
        )
        await consumer.start()
        log.info("%s: consuming %s in group %s", self.name, self.topics, self.group_id)
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if consumer.assignment():
                    self.assigned.set()
                if not batches:
                    if self._stopping:
                        return
                    continue
                self._busy = True
                for tp, records in batches.items():
                    await self._handle(tp, records)
                    try:
                        await consumer.commit({tp: records[-1].offset + 1})
                    except CommitFailedError as e:
                        # the partition moved to another member, which re-delivers from the
                        # last committed offset: the reactions are idempotent
                        log.warning("%s: commit of %s failed (%s)", self.name, tp, e)
                self._busy = False
                if self._stopping:
                    return
        finally:
            await consumer.stop()

    async def stop(self, task: asyncio.Task[None], timeout: float = 10.0) -> None:
        """Finish the batch in hand and commit its offsets, then leave the group."""
        await stop_after_batch(self, task, timeout)

    async def _handle(self, tp: TopicPartition, records: Sequence[ConsumerRecord]) -> None:
        dead: list[DeadLetter] = []
        before = self.reacted
        for record in records:
            if not self._wanted_type(record):
                continue
            position = record.offset + 1
            try:
                envelope = envelope_from_json(record.value)
            except ValueError as e:
                dead.append(self._undecodable(tp, record, e))
                continue
            parent = tracing.context_from_headers(record.headers)  # the relay's publish span
            with tracing.parents({envelope.correlation_id: parent} if parent else {}):
                letter = await react_with_retry(
                    self.reaction,
                    self.codec,
                    Delivery(envelope, position),
                    checkpoint_name=self.name,
                )
            if letter is None:
                self.reacted += 1
            else:
                dead.append(letter)
        if dead:
            await self._store_dead_letters(tp, records[-1].offset + 1, dead)
        observed_reactions(self.reaction.name, self.reacted - before, len(dead))

    def _wanted_type(self, record: ConsumerRecord) -> bool:
        for key, value in record.headers or ():
            if key == "event_type":
                return value.decode() in self._wanted
        return True  # no header: parse it and let the type decide

    def _undecodable(
        self, tp: TopicPartition, record: ConsumerRecord, error: Exception
    ) -> DeadLetter:
        log.error("%s: undecodable record at %s@%d: %s", self.name, tp, record.offset, error)
        return DeadLetter(
            projection=self.name,
            position=record.offset + 1,
            event_id=f"{tp.topic}:{tp.partition}:{record.offset}",
            event_type="(undecodable)",
            error=str(error),
            failed_at=datetime.now(UTC),
        )

    async def _store_dead_letters(
        self, tp: TopicPartition, position: int, dead: Sequence[DeadLetter]
    ) -> None:
        """Dead letters are kept in the read store under a per-partition checkpoint, which
        also records how far this group got in the partition (for operators)."""
        name = f"{self.name}@{tp.topic}:{tp.partition}"
        for _ in range(3):
            current = await self.dead_letter_store.checkpoint(name)
            try:
                await self.dead_letter_store.commit(
                    name,
                    [],
                    checkpoint=max(position, current.position),
                    expected=current,
                    dead_letters=dead,
                )
                return
            except CheckpointMoved:
                continue
        raise CheckpointMoved(f"{name}: could not record {len(dead)} dead letters")


__all__ = ["KafkaReactionConsumer"]
