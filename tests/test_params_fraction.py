"""服务指标 1(1) "若店铺纠纷退款率过高": the text sets no threshold, so the platform's may be any number, a fraction
included. The multiples were integer parameters and a deployment setting 1.3 could not load the rulebook; they are
decimals now. With 1.3 x the category mean 0.0018 = 0.00234, worked out by hand: 9 / 3600 = 0.0025 is above it,
8 / 3600 = 0.002222 is not. (The golden cases run with the example deployment only: tests/test_testing_params.py.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from policy_eval.api import Outcome, Rulebook

RULE = "service-metrics/dispute-refund-rate-too-high"


def _case(dispute_orders: int) -> dict[str, Any]:
    return {
        "kind": "store_metrics", "case_id": f"F-{dispute_orders}",
        "store": {"id": "S-1301", "category": "家居日用"},
        "window": {"start": "2023-05-02T00:00:00+08:00", "end": "2023-06-01T00:00:00+08:00"},
        "counts": {"grouped_orders": 3600, "dispute_refund_orders": dispute_orders,
                   "upheld_malicious_intervention_orders": 0, "quality_refund_orders": 5, "intervention_orders": 4,
                   "logistics_exception_orders": 0,
                   "logistics_exception_breakdown": {"fake_shipping": 0, "xinjiang_non_fake": 0}},
        "penalty_points": 0,
        "category_mean": {"dispute_refund_rate": Decimal("0.0018"), "quality_refund_rate": Decimal("0.01"),
                          "quality_refund_orders": 10, "intervention_rate": Decimal("0.004"), "intervention_orders": 4,
                          "logistics_exception_rate": Decimal("0.0005"), "logistics_exception_orders": 2},
        "persistence": {"quality_refund_3x_prior_days": 0, "quality_refund_5x_prior_days": 0,
                        "logistics_5x_prior_days": 0, "intervention_high_prior_days": 0},
    }


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return Rulebook.load(entry_points=False, params={"service-metrics": {"dispute_rate_multiple": "1.3"}})


@pytest.mark.parametrize(("dispute_orders", "outcome"), [(9, Outcome.VIOLATED), (8, Outcome.COMPLIED)])
def test_a_fractional_multiple_is_a_threshold(book: Rulebook, dispute_orders: int, outcome: Outcome) -> None:
    result = book.evaluate(_case(dispute_orders))
    assert result.error is None, result.error
    (verdict,) = [r for r in result.results if f"{r.policy}/{r.rule}" == RULE]
    assert verdict.outcome is outcome
    if outcome is Outcome.VIOLATED:
        assert "1.3 倍类目均值" in (verdict.message or "")
