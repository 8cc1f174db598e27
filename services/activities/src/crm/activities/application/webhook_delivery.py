"""The webhook deliverer: POSTs each subscribed event to its subscription's URL, signed.

For each enabled subscription it follows the event log from the subscription's checkpoint
(``webhook:<id>`` in the read store, moved only past events the receiver acknowledged with a
2xx, every ``COMMIT_EVERY`` of them and at the end of each run; a new subscription's starts
at its creation: the events before it are sent only by a replay), and delivers the events
of the subscription's tenant and types one at a time, in log order. A failed attempt (no
answer, not a 2xx, the URL no longer allowed) is retried with exponential backoff and
jitter (1, 2, 4... s up to ``max_delay``); the subscription waits meanwhile, so its events
arrive in the order of the log, per stream and across streams.
After ``max_attempts`` the event goes to the dead letters
(``activities.webhook.dead_lettered``) and delivery goes on with the next one. Attempts are
counted in memory: a restart grants a failing event a fresh count (it is never skipped).

Every body is the event's envelope as the relay publishes it on Kafka (personal fields
sealed), with the Standard Webhooks headers ``webhook-id`` (the event id, the same on every
retry and replay: receivers deduplicate by it), ``webhook-timestamp`` and
``webhook-signature``. At least once: a deliverer that dies after the receiver answered and
before its checkpoint moved delivers those events (at most ``COMMIT_EVERY``) again.

Of several replicas one delivers a subscription at a time: it takes the subscription's lease
(``webhooklease-<id>``, :class:`~crm.activities.domain.webhooks.WebhookLease`) before it
delivers, and renews it while it works; the others leave that subscription alone until the
lease runs out.

A replay (``activities.webhook.replay_requested``) moves the checkpoint back to just before
its position; a redelivery asked of a dead letter is one more attempt at that event, beside
the main flow (it does not wait for it), dead-lettered again if it fails.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import uuid4

import httpx
from prometheus_client import Counter, Gauge, Histogram

from crm.activities.application.webhook_commands import (
    AllowedHosts,
    RecordDeadLetter,
    RecordRedelivered,
    TakeWebhookLease,
    check_url,
    sign,
    wants,
)
from crm.activities.domain.webhooks import LEASE, Webhook, WebhookState
from crm.activities.projections.webhook_models import WEBHOOKS
from crm.events import EventEnvelope
from crm.events.envelope import envelope_to_json
from crm.kernel.context import Job
from crm.kernel.errors import CrmError, NotFound, WrongExpectedVersion
from crm.kernel.observability.metrics import LATENCY
from crm.kernel.reactor import SYSTEM_ROLE
from crm.kernel.read_store import Checkpoint, CheckpointMoved, find_all
from crm.kernel.repository import CommandContext, Repository
from crm.kernel.runtime import Runtime
from crm.kernel.scheduling import tick_forever

log = logging.getLogger(__name__)

ACTOR = "process:activities-webhooks"
COMMIT_EVERY = 20
"""The checkpoint is committed at the end of a tick's run and after every this many
acknowledged events: a deliverer that dies delivers at most these again."""

DELIVERIES = Counter(
    "crm_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (delivered, failed, dead_lettered, redelivered).",
    ["outcome"],
)
ATTEMPT_DURATION = Histogram(
    "crm_webhook_attempt_duration_seconds",
    "Time of one webhook POST, until its answer or failure.",
    buckets=LATENCY,
)
DEAD_LETTERS = Counter(
    "crm_webhook_dead_letters_total", "Events webhook delivery gave up on after its attempts."
)
LAG = Gauge(
    "crm_webhook_lag_events",
    "Log positions between the head and the furthest-behind enabled webhook subscription.",
)


@dataclass
class Failing:
    """The event a subscription is stuck on: its attempts so far, when to try again."""

    position: int
    attempts: int
    retry_at: datetime
    error: str


@dataclass(frozen=True)
class DeliveryReport:
    now: datetime
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0


@dataclass
class _Tally:
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0


@dataclass
class WebhookDeliverer:
    runtime: Runtime
    allowed: AllowedHosts
    name: str = ACTOR
    holder: str = field(
        default_factory=lambda: f"{ACTOR}@{socket.gethostname()}:{uuid4().hex[:12]}"
    )
    """Who holds a subscription's lease: this deliverer, and no other (process or replica)."""
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 600.0
    timeout: float = 10.0
    batch_size: int = 100
    jitter: Callable[[], float] = random.random
    wall: Callable[[], float] = time.time
    """The signature's timestamp: the receiver checks it against its own clock."""
    transport: httpx.AsyncBaseTransport | None = None
    failing: dict[str, Failing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repository = Repository(self.runtime.store, self.runtime.codec, Webhook)
        self._tls: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext:
        """The TLS settings of every delivery, made once: loading the certificate
        authorities cost milliseconds of CPU on every tick (a client per tick)."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure: doubling, capped, with jitter (half of
        it fixed, half random)."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        return timedelta(seconds=delay / 2 + self.jitter() * delay / 2)

    async def tick(self, now: datetime) -> DeliveryReport:
        docs = await find_all(self.runtime.read_store, WEBHOOKS, {"enabled": True})
        tally = _Tally()
        behind = 0
        if not docs:  # nothing to deliver: no client, no connection pool
            LAG.set(behind)
            return DeliveryReport(now)
        head = await self.runtime.store.head_position()
        async with httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            transport=self.transport,
            verify=self.tls(),
        ) as client:
            for doc in docs:
                try:
                    reached = await self._subscription(client, doc["id"], doc["tenant"], now, tally)
                except Exception:
                    log.exception("webhook %s: delivery failed; the next tick retries", doc["id"])
                    continue
                if reached is not None:
                    behind = max(behind, head - reached)
        LAG.set(behind)
        return DeliveryReport(now, tally.delivered, tally.failed, tally.dead_lettered)

    def _ctx(self, tenant: str, now: datetime) -> CommandContext:
        return CommandContext(actor=self.name, role=SYSTEM_ROLE, tenant=tenant, now=now)

    async def _lease(self, webhook_id: str, tenant: str, now: datetime) -> bool:
        try:
            outcome = await self.runtime.commands.run(
                TakeWebhookLease(webhook_id, self.holder), self._ctx(tenant, now)
            )
        except WrongExpectedVersion:
            return False
        return bool(outcome.aggregate.state.holder == self.holder)

    async def _subscription(
        self, client: httpx.AsyncClient, webhook_id: str, tenant: str, now: datetime, tally: _Tally
    ) -> int | None:
        """Deliver what is due of one subscription; the position its checkpoint reached."""
        try:
            hook = await self.repository.load(webhook_id, tenant=tenant)
        except NotFound:
            return None
        state = hook.state
        if not state.enabled:
            return None
        name = f"webhook:{webhook_id}"
        store = self.runtime.read_store
        checkpoint = await store.checkpoint(name)
        if checkpoint.position == 0:  # new: it starts from its creation (a replay goes back)
            stream = await self.runtime.store.read_stream(hook.stream_id)
            checkpoint = await self._commit(name, stream[0].position, checkpoint)
        replays = await store.checkpoint(f"webhook-replays:{webhook_id}")
        failing = self.failing.get(webhook_id)
        if failing is not None and failing.retry_at > now:
            return checkpoint.position
        replay = state.replays > replays.position
        page: list[EventEnvelope] = []
        due: list[EventEnvelope] = []
        started = time.monotonic()
        if not replay:
            async for page in self.runtime.store.read_all(
                checkpoint.position, batch_size=self.batch_size
            ):
                due = [
                    e for e in page if e.tenant == tenant and wants(state.event_types, e.event_type)
                ]
                if due or state.redeliveries:
                    break
                # nothing of its own: move past the others' events, page after page
                checkpoint = await self._commit(name, page[-1].position, checkpoint)
                if time.monotonic() - started > LEASE.total_seconds() / 2:
                    break
        if not (replay or due or state.redeliveries):
            return checkpoint.position
        if not await self._lease(webhook_id, tenant, now):
            return checkpoint.position
        if replay:
            checkpoint = await self._commit(name, state.replay_from - 1, checkpoint)
            await self._commit(f"webhook-replays:{webhook_id}", state.replays, replays)
            self.failing.pop(webhook_id, None)
            return checkpoint.position  # the next tick delivers from there
        for position in state.redeliveries:
            await self._redeliver(client, webhook_id, tenant, state, position, now, tally)
        started = time.monotonic()
        positions = {e.position for e in due}
        passed = checkpoint.position
        unsaved = 0
        for envelope in page:
            if time.monotonic() - started > LEASE.total_seconds() / 2:
                break  # the lease is renewed at the next tick, before it runs out
            done = envelope.position not in positions or await self._deliver_due(
                client, webhook_id, state, envelope, now, tally
            )
            if not done:
                break
            passed = envelope.position
            unsaved += envelope.position in positions
            if unsaved >= COMMIT_EVERY:
                checkpoint = await self._commit(name, passed, checkpoint)
                unsaved = 0
        if passed != checkpoint.position:
            checkpoint = await self._commit(name, passed, checkpoint)
        return checkpoint.position

    async def _deliver_due(
        self,
        client: httpx.AsyncClient,
        webhook_id: str,
        state: WebhookState,
        envelope: EventEnvelope,
        now: datetime,
        tally: _Tally,
    ) -> bool:
        """One attempt at the event the subscription is on: True if it is done with it
        (delivered, or given up on), False if it is to be tried again later."""
        error = await self._post(client, state, envelope)
        if error is None:
            self.failing.pop(webhook_id, None)
            tally.delivered += 1
            DELIVERIES.labels("delivered").inc()
            return True
        failing = self.failing.get(webhook_id)
        attempts = (
            1
            if failing is None or failing.position != envelope.position
            else (failing.attempts + 1)
        )
        if attempts < self.max_attempts:
            self.failing[webhook_id] = Failing(
                envelope.position, attempts, now + self.backoff(attempts), error
            )
            tally.failed += 1
            DELIVERIES.labels("failed").inc()
            log.warning(
                "webhook %s: event at %s failed (attempt %s of %s): %s",
                webhook_id,
                envelope.position,
                attempts,
                self.max_attempts,
                error,
            )
            return False
        await self._dead_letter(webhook_id, envelope, attempts, error, now)
        self.failing.pop(webhook_id, None)
        tally.dead_lettered += 1
        return True

    async def _dead_letter(
        self, webhook_id: str, envelope: EventEnvelope, attempts: int, error: str, now: datetime
    ) -> None:
        await self.runtime.commands.execute(
            RecordDeadLetter(
                webhook_id,
                envelope.position,
                str(envelope.event_id),
                envelope.event_type,
                envelope.stream_id,
                attempts,
                error,
            ),
            self._ctx(envelope.tenant, now),
        )
        DELIVERIES.labels("dead_lettered").inc()
        DEAD_LETTERS.inc()
        log.error("webhook %s: event at %s dead-lettered: %s", webhook_id, envelope.position, error)

    async def _redeliver(
        self,
        client: httpx.AsyncClient,
        webhook_id: str,
        tenant: str,
        state: WebhookState,
        position: int,
        now: datetime,
        tally: _Tally,
    ) -> None:
        envelope = None
        async for page in self.runtime.store.read_all(position - 1, batch_size=1):
            envelope = page[0] if page and page[0].position == position else None
            break
        if envelope is None or envelope.tenant != tenant:
            return
        error = await self._post(client, state, envelope)
        if error is None:
            await self.runtime.commands.execute(
                RecordRedelivered(webhook_id, position), self._ctx(tenant, now)
            )
            tally.delivered += 1
            DELIVERIES.labels("redelivered").inc()
        else:
            await self._dead_letter(webhook_id, envelope, 1, error, now)
            tally.dead_lettered += 1

    async def _post(
        self, client: httpx.AsyncClient, state: WebhookState, envelope: EventEnvelope
    ) -> str | None:
        """POST the event; None if the receiver acknowledged it, else why not."""
        try:
            url = await check_url(state.url, self.allowed)
        except CrmError as e:
            return f"the URL is not allowed now: {e}"
        body = envelope_to_json(envelope)
        message_id = str(envelope.event_id)
        timestamp = int(self.wall())
        headers = {
            "content-type": "application/json",
            "user-agent": "crm-webhooks/1",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(state.secret, message_id, timestamp, body),
        }
        started = time.perf_counter()
        try:
            answer = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"[:1000]
        finally:
            ATTEMPT_DURATION.observe(time.perf_counter() - started)
        if 200 <= answer.status_code < 300:
            return None
        return f"HTTP {answer.status_code}"

    async def _commit(self, name: str, position: int, expected: Checkpoint) -> Checkpoint:
        try:
            return await self.runtime.read_store.commit(
                name, [], checkpoint=position, expected=expected
            )
        except CheckpointMoved:
            return await self.runtime.read_store.checkpoint(name)

    async def run(self, interval: float) -> None:
        await tick_forever("activities-webhooks", self.tick, self.runtime.clock, interval, _summary)


def _summary(report: DeliveryReport) -> tuple[dict[str, int], str | None]:
    due = {
        "recorded": report.delivered,
        "failed": report.failed,
        "dead_lettered": report.dead_lettered,
    }
    line = f"{report.delivered} delivered, {report.failed} failed, {report.dead_lettered} dead"
    return due, line if any(due.values()) else None


def webhook_job(runtime: Runtime) -> Job:
    deliverer = WebhookDeliverer(runtime, AllowedHosts.parse(runtime.webhook_allowed_hosts))
    return lambda: deliverer.run(runtime.webhook_interval_seconds)
