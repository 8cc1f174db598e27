"""The service-desk context's own read models (lists and lookups behind its GET routes)."""
