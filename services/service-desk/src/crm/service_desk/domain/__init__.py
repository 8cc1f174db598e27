"""Pure domain of the service desk's ticket half: tickets, SLA policies and contract levels,
business calendars and service contracts. No I/O, no framework, no clock: every time-based
fact (``now``) comes from the command, so the scheduler's checks are plain functions of the
events and the time it passes in."""
