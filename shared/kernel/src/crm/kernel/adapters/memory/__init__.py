"""In-memory adapters: the event store and the read store held in this process's memory.

For tests and quick experiments (``memory://`` URLs): they keep every promise of their
ports, as the contract suites check, but nothing is written anywhere, so everything is lost
when the process exits. ``memory://`` opens a fresh, private store; ``memory://NAME`` the
store of that name, shared by every opening in this process (as a file would be shared).
"""

from crm.kernel.adapters.memory.event_store import EventLog, InMemoryEventStore, shared_log
from crm.kernel.adapters.memory.read_store import (
    InMemoryReadStore,
    ReadState,
    UniqueIndexViolated,
    compile_predicate,
    shared_state,
    sort_key,
)

__all__ = [
    "EventLog",
    "InMemoryEventStore",
    "InMemoryReadStore",
    "ReadState",
    "UniqueIndexViolated",
    "compile_predicate",
    "shared_log",
    "shared_state",
    "sort_key",
]
