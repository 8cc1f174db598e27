"""The service-desk context (its domain arrives with its own issue)."""
