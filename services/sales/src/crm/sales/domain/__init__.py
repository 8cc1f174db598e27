"""Pure domain of the sales context: leads, opportunities and the pipeline, campaigns, targets,
products, quotes, orders, invoices and payments. No I/O, no framework, no clock: every
time-based fact comes from the command."""
