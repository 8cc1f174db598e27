"""Customer value refuses to answer rather than answer nonsense: a purchase model whose
parameters make the expected purchases explode (as a fit on a very short history can) is a
``value_model_unavailable`` refusal, not a crash converting 1e30 into money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm.analytics.application.value_queries import value_customers
from crm.analytics.churn.bgnbd import BgNbdParams
from crm.analytics.churn.clv import ValuePolicy
from crm.kernel.errors import RuleViolated

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def customer(i: int, orders: int, spent: str) -> dict[str, Any]:
    first = NOW - timedelta(days=300 - i)
    return {
        "id": f"c{i}",
        "name": None,
        "owner_id": None,
        "churn": None,
        "orders": {
            "purchase_days": orders,
            "count": orders,
            "first_at": first.isoformat(),
            "last_at": (first + timedelta(days=20 * orders)).isoformat(),
            "totals": {"EUR": spent},
        },
    }


DOCS = [customer(i, 2 + i % 4, f"{100 + 37 * i}.00") for i in range(30)]


def test_sensible_parameters_value_every_customer() -> None:
    sensible = BgNbdParams(r=0.24, alpha=4.4, a=0.79, b=2.4)
    valued = value_customers(DOCS, sensible, ValuePolicy(), "EUR", NOW)
    assert len(valued.rows) == 30


@pytest.mark.parametrize(
    "params",
    [BgNbdParams(r=1e12, alpha=1e-6, a=0.79, b=2.4), BgNbdParams(r=1e9, alpha=1e-9, a=1e-9, b=1e9)],
    ids=["huge", "not-a-number"],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_exploding_parameters_are_a_refusal_not_a_crash(params: BgNbdParams) -> None:
    with pytest.raises(RuleViolated) as refused:
        value_customers(DOCS, params, ValuePolicy(), "EUR", NOW)
    assert refused.value.code == "value_model_unavailable"
    assert "credible" in str(refused.value)
