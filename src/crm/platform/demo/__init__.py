"""Demo data: a company's history, generated through the real command path.

``crm demo`` opens the platform from settings with a :class:`ManualClock` set months back,
builds the real HTTP app and drives it through httpx's ASGI transport with the tokens of a
few managers, reps and agents, moving the clock one simulated day at a time. Every event
therefore goes through routes, authentication, validation, the domain and the store, with
``occurred_at`` in simulated time, and the projections, reactions (lead conversion) and
schedulers (overdue invoices, SLA breaches, complaint follow-ups) do what they do in
production.

Customers follow personas whose ground truth is known, so the churn warnings can be
evaluated (``python -m bench --only churn``): loyal (a regular rhythm), seasonal (orders in
a few months of the year), growing (intervals shorten), and churners who drift away in known
ways: slowing (intervals lengthen, then stop), complainer (complaints, low satisfaction,
then stop), silent (stop abruptly) and payment trouble (overdue invoices, then stop). The
truth (customer id -> persona, churned, churn date) is written to ``demo-truth.json`` in the
data directory.

Behaviour is a pure function of the seed: each customer's whole history is planned up front
from its own ``random.Random``, and the executor runs each customer's actions of a day in
plan order (customers run concurrently, which changes only the interleaving). Ids are random
UUIDs; the counts of events per type are the same for the same seed and end date.

The package holds one concept a module: the :mod:`~crm.platform.demo.personas` and the
:mod:`~crm.platform.demo.company` they deal with, the :mod:`~crm.platform.demo.plan`
(every customer's history from the seed), the :mod:`~crm.platform.demo.client` (the HTTP
app as the company's users), the :mod:`~crm.platform.demo.agenda` and the
:mod:`~crm.platform.demo.story` that fills it, the :mod:`~crm.platform.demo.simulation`
that runs it day by day, and the :mod:`~crm.platform.demo.truth` it leaves behind.
"""

from crm.platform.demo.personas import CHURNERS, Persona
from crm.platform.demo.simulation import DEFAULT_SEED, generate
from crm.platform.demo.truth import TRUTH_FILE, load_truth

__all__ = ["CHURNERS", "DEFAULT_SEED", "TRUTH_FILE", "Persona", "generate", "load_truth"]
