"""Faust's aiokafka transport with the consumer's fetch wait as a setting.

faust-streaming 0.15 builds the worker's ``AIOKafkaConsumer`` with ``fetch_max_wait_ms=1500``
written into ``AIOKafkaConsumerThread._create_worker_consumer``, with no setting to change it.
How long a fetch waits matters on brokers that hold a waiting fetch until it times out
instead of answering as soon as data arrives (Tansu does): each of the worker's two hops (the
source topic to the route agent, the routed topic to the apply agent) then waits up to that
long. Faust lets an app carry its own transport (``App.transport`` is settable); this one
keeps every other consumer setting Faust chooses and only replaces the fetch wait, before the
consumer starts (the fetcher is built from it in ``AIOKafkaConsumer.start``).
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

DEFAULT_FETCH_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer: aiokafka.AIOKafkaConsumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(transport, "fetch_max_wait_ms", DEFAULT_FETCH_WAIT_MS)
        if not hasattr(consumer, "_fetch_max_wait_ms"):  # pragma: no cover - aiokafka changed
            raise RuntimeError("aiokafka's consumer no longer keeps _fetch_max_wait_ms")
        consumer._fetch_max_wait_ms = wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FetchWaitTransport(faust_aiokafka.Transport):
    """The aiokafka transport whose worker consumer waits at most ``fetch_max_wait_ms`` for
    a fetch to fill (``fetch_min_bytes`` stays aiokafka's 1: any record answers it)."""

    Consumer = _Consumer

    def __init__(self, url: Any, app: faust.App, *, fetch_max_wait_ms: int) -> None:
        if fetch_max_wait_ms < 1:
            raise ValueError(f"fetch_max_wait_ms must be at least 1, not {fetch_max_wait_ms}")
        super().__init__(url, app)
        self.fetch_max_wait_ms = fetch_max_wait_ms


def use_fetch_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Give ``app`` the transport above; call it before the app's first topic or agent."""
    app.transport = FetchWaitTransport(
        app.conf.broker_consumer, app, fetch_max_wait_ms=fetch_max_wait_ms
    )


__all__ = ["DEFAULT_FETCH_WAIT_MS", "FetchWaitTransport", "use_fetch_wait"]
