"""The composition root: wires every bounded context on the configured adapters."""
