"""The activities context."""
