"""The KurrentDB (formerly EventStoreDB) event store, through the official ``kurrentdbclient``.

KurrentDB's licence (KLv1) is not OSI-approved: PostgreSQL is the open-source production
option beside it.
"""

from crm.kernel.adapters.kurrentdb.event_store import (
    KurrentDBEventStore,
    client_url,
)

__all__ = ["KurrentDBEventStore", "client_url"]
