"""Benchmarks of the CRM platform, each figure next to a peer measured side by side:
``python -m bench`` (see bench/README.md)."""
