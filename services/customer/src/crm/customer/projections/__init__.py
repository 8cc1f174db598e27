"""Read models of the customer context."""
