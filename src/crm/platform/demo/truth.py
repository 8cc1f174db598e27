"""The ground truth: which customer had which persona, and whether and when it churned.

Written next to the store (``demo-truth.json`` in the data directory) so that an evaluation
of the churn warnings, run later and in another process, can score them against what the
demo knows and the platform does not.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from crm.platform.demo.story import Customer

TRUTH_FILE = "demo-truth.json"


def write_truth(
    path: Path,
    people: list[Customer],
    seed: int,
    start: date,
    end: date,
    events: Counter[str],
    prospects: list[str] | None = None,
) -> Path:
    """The ground truth of the personas, for evaluations of the churn warnings."""
    truth = {
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "events": dict(sorted(events.items())),
        "customers": {
            c.id: {
                "persona": c.plan.persona.value,
                "churned": c.plan.churned,
                "churn_date": c.plan.churn_date.isoformat() if c.plan.churn_date else None,
                "joined": c.plan.joined.isoformat(),
                "orders_planned": len(c.plan.orders),
            }
            for c in people
            if c.id
        },
        "prospects": sorted(prospects or []),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=2) + "\n")
    return path


def load_truth(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))
