"""Use cases of the customer context: who may do what, and the commands and queries."""
