"""PostgreSQL adapters (asyncpg): the open-source production event store and key store."""
