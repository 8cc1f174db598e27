"""The check every console request makes of its session, the same in every process.

A session's cookie is signed, so any replica accepts it on its own; what ends it early is in
the user directory: a sign-out records the session's end (``user.session_ended``, a hash of
its id), and a password changed or reset or the user deactivated moves the user's session
generation on, which refuses every session signed in before. Each request reads the user's
document from the ``console_users`` read model...

...and the user's stream after the version that document has: a process whose read model
lags behind (its runner far behind, stopped, or rebuilding; or the document not there yet
after a sign-up) applies the events it has not projected yet with the projection's own
handlers, so it never accepts a session the log has already ended. That tail is one indexed
read of a short stream's end, empty when the read model is caught up.

What was read is kept for :data:`CACHE_SECONDS` at most (a user's clicks come in bursts),
and less once this process's own ``console_users`` runner has applied any user event since:
a sign-out or a deactivation anywhere is refused everywhere within those few seconds, and in
the process that served the sign-out at once (:meth:`Sessions.end`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from crm.console.directory import COLLECTION, UserDoc, on
from crm.console.domain.users import User
from crm.console.session import Session
from crm.kernel.event_store import NO_STREAM
from crm.kernel.runtime import Runtime
from crm.kernel.tenancy import qualified

CACHE_SECONDS = 2.0
CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Seen:
    doc: UserDoc | None
    at: float
    position: int


def holds(session: Session, doc: UserDoc | None) -> bool:
    """Whether ``session`` is still one of the user's: they exist and are active, it was
    signed in at their current generation, and they did not sign out of it."""
    return (
        doc is not None
        and doc["active"]
        and session.generation >= doc.get("session_generation", 0)
        and session.hash not in doc.get("ended_sessions", {})
    )


class SessionCheck:
    def __init__(
        self,
        runtime: Runtime,
        *,
        seconds: float = CACHE_SECONDS,
        size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self.position: Callable[[], int] = lambda: 0
        """The position this process's ``console_users`` runner has applied (set where it
        runs): a cached document read before it moved is read again."""
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    async def user(self, tenant: str, user_id: str) -> UserDoc | None:
        """The user as the log has them now (or at most a few seconds ago)."""
        key = qualified(tenant, user_id)
        now, position = self.clock(), self.position()
        seen = self._seen.get(key)
        if seen is not None and now - seen.at < self.seconds and seen.position == position:
            return seen.doc
        doc = await self._current(key)
        self._seen[key] = _Seen(doc, now, position)
        self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return doc

    def forget(self, tenant: str, user_id: str) -> None:
        """Read the user again at the next request (this process just changed them)."""
        self._seen.pop(qualified(tenant, user_id), None)

    async def _current(self, key: str) -> UserDoc | None:
        found = await self.runtime.read_store.get(COLLECTION, key)
        doc: UserDoc | None = None if found is None else UserDoc(**found)  # type: ignore[typeddict-item]
        after = NO_STREAM if doc is None else doc["version"]
        tail = await self.runtime.store.read_stream(User.stream_id_for(key), after)
        if not tail:
            return doc
        events = await self.runtime.codec.decode(tail)
        current: dict[str, object] | None = dict(doc) if doc is not None else None
        for envelope, event in zip(tail, events, strict=True):
            current = on.evolve((COLLECTION, key), current, event, envelope)
        return None if current is None else UserDoc(**current)  # type: ignore[typeddict-item]
