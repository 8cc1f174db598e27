"""SQLite adapters: the embedded default, no server to install."""
