"""The service-desk context's use cases: commands, queries, access rules and processes."""
