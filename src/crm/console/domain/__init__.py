"""The console's domain: pure aggregates, no I/O."""
