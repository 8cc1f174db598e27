"""Pure domain of the customer context: no I/O, no framework, no clock."""
