"""HTTP entry points of the analytics context (the analyst API)."""
