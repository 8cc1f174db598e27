"""The customer context: master data, owners, the shared pool, tags, interactions,
consent and erasure."""
