"""The analytics context (its domain arrives with its own issue)."""
