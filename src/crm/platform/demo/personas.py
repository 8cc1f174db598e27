"""Who the customers are: the personas whose ground truth the demo knows.

The churn warnings are evaluated against these (``python -m bench --only churn``), so the
personas, which of them churn, and how often each is drawn are one fact kept in one place:
the plan draws from them, the truth file and the benchmark read them back.
"""

from __future__ import annotations

import random
from enum import StrEnum


class Persona(StrEnum):
    LOYAL = "loyal"
    SEASONAL = "seasonal"
    GROWING = "growing"
    SLOWING = "slowing"
    COMPLAINER = "complainer"
    SILENT = "silent"
    PAYMENT_TROUBLE = "payment_trouble"


CHURNERS = frozenset({Persona.SLOWING, Persona.COMPLAINER, Persona.SILENT, Persona.PAYMENT_TROUBLE})
WEIGHTS = {
    Persona.LOYAL: 0.33,
    Persona.SEASONAL: 0.12,
    Persona.GROWING: 0.15,
    Persona.SLOWING: 0.11,
    Persona.COMPLAINER: 0.11,
    Persona.SILENT: 0.09,
    Persona.PAYMENT_TROUBLE: 0.09,
}


def draw(rng: random.Random, n: int) -> list[Persona]:
    """Every persona at least once (when n allows), the rest drawn by weight."""
    kinds = list(WEIGHTS)
    chosen = kinds[:n] + rng.choices(
        kinds, weights=list(WEIGHTS.values()), k=max(0, n - len(kinds))
    )
    rng.shuffle(chosen)
    return chosen
