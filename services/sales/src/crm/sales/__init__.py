"""The sales context (its domain arrives with its own issue)."""
