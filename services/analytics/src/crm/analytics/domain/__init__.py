"""Analytics' own aggregates: what the churn monitor records."""
