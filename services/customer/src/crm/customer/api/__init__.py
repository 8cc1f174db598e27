"""HTTP entry points of the customer context."""
