"""The sales service's HTTP routes."""
