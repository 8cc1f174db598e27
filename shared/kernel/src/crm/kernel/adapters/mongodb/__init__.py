"""MongoDB adapters through PyMongo's native async API (``AsyncMongoClient``; motor is retired)."""

from crm.kernel.adapters.mongodb.read_store import MongoReadStore

__all__ = ["MongoReadStore"]
