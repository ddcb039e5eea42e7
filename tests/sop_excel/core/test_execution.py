import datetime as dt

import pandas as pd
import pytest

from sop_excel.core.execution import (
    compute_exceptions,
    compute_execution,
    merge_actuals,
    working_days,
)


def test_working_days_november_2026():
    # Nov 2026: 21 weekdays; through Wed 18th: 13 of them
    assert working_days(dt.date(2026, 11, 1), dt.date(2026, 11, 18)) == (13, 21)
    assert working_days(dt.date(2026, 11, 1), dt.date(2026, 10, 31)) == (0, 21)


def test_merge_replaces_same_day_and_is_idempotent():
    old = pd.DataFrame({"date": pd.to_datetime(["2026-11-02", "2026-11-03"]), "item": ["A", "A"],
                        "orders": [1.0, 2.0], "shipments": [1.0, 2.0]})
    new = pd.DataFrame({"date": pd.to_datetime(["2026-11-03", "2026-11-04"]), "item": ["A", "A"],
                        "orders": [5.0, 6.0], "shipments": [5.0, 6.0]})
    once = merge_actuals(old, new)
    twice = merge_actuals(once, new)
    assert once["orders"].tolist() == [1.0, 5.0, 6.0]
    pd.testing.assert_frame_equal(once, twice)


def test_drift_status_and_value_at_risk_by_hand():
    plan = pd.DataFrame({"item": ["HOT", "OK", "COLD", "NEW"], "family": ["F"] * 4,
                         "month_plan": [210.0, 210.0, 210.0, 0.0], "price": [10.0, 10.0, 10.0, 5.0]})
    # through Nov 18: 13/21 working days -> MTD plan 130
    actuals = pd.DataFrame({"date": pd.to_datetime(["2026-11-18"] * 4), "item": ["HOT", "OK", "COLD", "NEW"],
                            "orders": [169.0, 135.0, 85.0, 4.0], "shipments": [0.0] * 4})
    ex = compute_execution(plan, actuals, dt.date(2026, 11, 1), dt.date(2026, 11, 18), watch=0.1, act=0.2)
    ex = ex.set_index("item")
    assert ex.loc["HOT", "mtd_plan"] == pytest.approx(130.0)
    assert ex.loc["HOT", "drift_pct"] == pytest.approx(0.3)
    assert ex.loc["COLD", "drift_pct"] == pytest.approx(85 / 130 - 1)
    assert ex["status"].to_dict() == {"HOT": "Act", "OK": "On track", "COLD": "Act", "NEW": "Act"}
    assert ex.loc["HOT", "projected"] == pytest.approx(169 * 21 / 13)
    assert ex.loc["HOT", "value_at_risk"] == pytest.approx((169 * 21 / 13 - 210) * 10)
    exc = compute_exceptions(ex.reset_index(), min_value_at_risk=0)
    assert exc["item"].tolist() == ["COLD", "HOT", "NEW"]  # worst value at risk first
    assert exc["rank"].tolist() == [1, 2, 3]
    assert "35% below plan" in exc.loc[0, "reason"]
    assert "30% above plan" in exc.loc[1, "reason"]
    assert exc.loc[1, "action"].startswith("Expedite")
    assert "no plan" in exc.loc[2, "reason"]
