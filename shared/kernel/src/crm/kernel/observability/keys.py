"""The key store, observed: each operation counted with its outcome and timed. The subjects
(customer ids) are never labels; only the operation and how many subjects it asked for."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Collection, Mapping
from typing import TypeVar

from prometheus_client import Counter, Histogram

from crm.kernel.keys import KeyStore
from crm.kernel.observability.metrics import LATENCY, SIZES

KEY_OPERATIONS = Counter(
    "crm_key_store_operations_total",
    "Key store operations (get_or_create, get, erase, is_erased) by outcome (ok, failed).",
    ["operation", "outcome"],
)
KEY_DURATION = Histogram(
    "crm_key_store_operation_duration_seconds",
    "Time a key store operation took.",
    ["operation"],
    buckets=LATENCY,
)
KEY_SUBJECTS = Histogram(
    "crm_key_store_subjects",
    "Subjects (keys) one get or get_or_create asked for.",
    ["operation"],
    buckets=SIZES,
)

T = TypeVar("T")


async def _measured(operation: str, call: Awaitable[T]) -> T:
    started = time.perf_counter()
    try:
        result = await call
    except BaseException:
        KEY_OPERATIONS.labels(operation, "failed").inc()
        raise
    finally:
        KEY_DURATION.labels(operation).observe(time.perf_counter() - started)
    KEY_OPERATIONS.labels(operation, "ok").inc()
    return result


class ObservedKeyStore:
    """A :class:`KeyStore` that measures the one it wraps."""

    def __init__(self, inner: KeyStore) -> None:
        self.inner = inner

    async def get_or_create(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        KEY_SUBJECTS.labels("get_or_create").observe(len(subjects))
        return await _measured("get_or_create", self.inner.get_or_create(subjects))

    async def get(self, subjects: Collection[str]) -> Mapping[str, bytes]:
        KEY_SUBJECTS.labels("get").observe(len(subjects))
        return await _measured("get", self.inner.get(subjects))

    async def erase(self, subject: str) -> None:
        await _measured("erase", self.inner.erase(subject))

    async def is_erased(self, subject: str) -> bool:
        return await _measured("is_erased", self.inner.is_erased(subject))

    async def close(self) -> None:
        await self.inner.close()
