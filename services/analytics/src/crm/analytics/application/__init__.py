"""Analytics' reads: who may see what, the query-time views and the report engines over the
read models, and the queries the routes call."""
