"""The service-desk context's HTTP routes and their request and response bodies."""
