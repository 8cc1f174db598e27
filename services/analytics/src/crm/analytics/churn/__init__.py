"""Churn: the BG/NBD purchase model and the churn assessment that combines it with service
signals. Pure (no I/O, no clock); the projections and the API live elsewhere."""

from crm.analytics.churn.assessment import (
    Assessment,
    CustomerSignals,
    Level,
    PurchaseBasis,
    Reason,
    Thresholds,
    assess,
    level_for,
)
from crm.analytics.churn.bgnbd import (
    MIN_CUSTOMERS,
    BgNbdParams,
    expected_purchases,
    expected_purchases_unconditional,
    fit,
    individual_log_likelihood,
    log_likelihood,
    p_alive,
)

__all__ = [
    "MIN_CUSTOMERS",
    "Assessment",
    "BgNbdParams",
    "CustomerSignals",
    "Level",
    "PurchaseBasis",
    "Reason",
    "Thresholds",
    "assess",
    "expected_purchases",
    "expected_purchases_unconditional",
    "fit",
    "individual_log_likelihood",
    "level_for",
    "log_likelihood",
    "p_alive",
]
