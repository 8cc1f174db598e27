"""Read models of the analytics context, fed by every context's events."""
