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
    old = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-02", "2026-11-03"]),
            "item": ["A", "A"],
            "orders": [1.0, 2.0],
            "shipments": [1.0, 2.0],
        }
    )
    new = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-03", "2026-11-04"]),
            "item": ["A", "A"],
            "orders": [5.0, 6.0],
            "shipments": [5.0, 6.0],
        }
    )
    once = merge_actuals(old, new)
    twice = merge_actuals(once, new)
    assert once["orders"].tolist() == [1.0, 5.0, 6.0]
    pd.testing.assert_frame_equal(once, twice)


def test_drift_status_and_value_at_risk_by_hand():
    plan = pd.DataFrame(
        {
            "item": ["HOT", "OK", "COLD", "NEW"],
            "family": ["F"] * 4,
            "month_plan": [210.0, 210.0, 210.0, 0.0],
            "price": [10.0, 10.0, 10.0, 5.0],
        }
    )
    # through Nov 18: 13/21 working days -> MTD plan 130
    actuals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-18"] * 4),
            "item": ["HOT", "OK", "COLD", "NEW"],
            "orders": [169.0, 135.0, 85.0, 4.0],
            "shipments": [0.0] * 4,
        }
    )
    # a well-forecast item (monthly error 10 units): 39 units off month to date is far beyond noise
    ex = compute_execution(
        plan,
        actuals,
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 18),
        watch=0.1,
        act=0.2,
        sigma_month=pd.Series(10.0, index=plan["item"]),
    )
    ex = ex.set_index("item")
    assert (ex.loc[["HOT", "COLD"], "beyond_noise"] == "Yes").all()
    # the same drift on items with the default 20% forecast error is within noise: Watch, not Act
    noisy = compute_execution(
        plan, actuals, dt.date(2026, 11, 1), dt.date(2026, 11, 18), watch=0.1, act=0.2
    )
    noisy = noisy.set_index("item")
    assert noisy.loc["HOT", "beyond_noise"] == "No" and abs(noisy.loc["HOT", "z"]) < 2.5
    assert noisy["status"].to_dict() == {
        "HOT": "Watch",
        "OK": "On track",
        "COLD": "Watch",
        "NEW": "Act",
    }
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
    assert "no plan" in exc.loc[2, "reason"] and exc.loc[2, "action"].startswith("Raise to S&OP")
    exc = compute_exceptions(
        ex.reset_index(), min_value_at_risk=100
    )  # NEW's 32 at risk is below it
    assert exc["item"].tolist() == ["COLD", "HOT"]
    assert exc.loc[0, "action"].startswith("Re-forecast") and exc.loc[1, "action"].startswith(
        "Expedite"
    )
    exc = compute_exceptions(ex.reset_index(), min_value_at_risk=50)  # 630 at risk >= 10 x 50
    assert exc.loc[1, "action"].startswith("Raise to S&OP")


def test_an_item_at_the_tracking_signal_limit_is_never_on_track():
    """Status and colour agree with the tracking-signal limit: a bias alert with drift in bounds is
    Bias (amber), not On track (green); drift still decides Act and Watch."""
    plan = pd.DataFrame(
        {
            "item": ["BIASED", "FINE", "HOT"],
            "family": ["F"] * 3,
            "month_plan": [210.0] * 3,
            "price": [10.0] * 3,
        }
    )
    actuals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-18"] * 3),
            "item": ["BIASED", "FINE", "HOT"],
            "orders": [131.0, 129.0, 169.0],
            "shipments": [0.0] * 3,
        }
    )
    bias = pd.DataFrame(
        {
            "item": ["BIASED", "FINE", "HOT"],
            "tracking_signal": [-5.2, 1.0, 6.0],
            "bias": ["under-forecast", "", "over-forecast"],
        }
    )
    ex = compute_execution(
        plan,
        actuals,
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 18),
        watch=0.1,
        act=0.2,
        sigma_month=pd.Series(10.0, index=plan["item"]),
        bias=bias,
    ).set_index("item")
    assert ex["status"].to_dict() == {"BIASED": "Bias", "FINE": "On track", "HOT": "Act"}
    exc = compute_exceptions(ex.reset_index(), min_value_at_risk=0).set_index("item")
    assert exc.loc["BIASED", "flag"] == "Bias" and exc.loc["BIASED", "action"].startswith(
        "Re-forecast"
    )


def _exc(items, flags, vars_):
    from sop_excel.core.execution import compute_exceptions  # noqa: F401 - shape reference

    return pd.DataFrame(
        {
            "rank": range(1, len(items) + 1),
            "item": items,
            "family": "F",
            "flag": flags,
            "drift_pct": 0.3,
            "value_at_risk": vars_,
            "reason": "r",
            "action": "a",
        }
    )


def test_exception_workflow_resolved_items_leave_and_come_back_only_when_worse():
    from sop_excel.core.execution import exception_workflow

    month, t1 = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-18 09:00")
    empty_log = pd.DataFrame(
        columns=["time", "item", "event", "flag", "value_at_risk", "owner", "comment"]
    )
    empty_old = pd.DataFrame(columns=["item", "owner", "status", "comment"])
    shown, log = exception_workflow(
        _exc(["A", "B", "C"], ["Act", "Watch", "Act"], [900.0, 500.0, 300.0]),
        empty_old,
        empty_log,
        t1,
        month,
    )
    assert shown["status"].tolist() == ["Open"] * 3 and log["event"].tolist() == ["opened"] * 3
    # planners: A resolved, B owned with a comment; C's drift goes away
    old = shown.assign(
        owner=["Ann", "Bo", ""],
        status=["Resolved", "In progress", "Open"],
        comment=["called customer", "", ""],
    )
    t2 = t1 + pd.Timedelta(days=1)
    shown2, log2 = exception_workflow(
        _exc(["A", "B"], ["Act", "Watch"], [950.0, 520.0]), old, log, t2, month
    )
    assert shown2["item"].tolist() == ["B"] and shown2["rank"].tolist() == [1]
    assert shown2.iloc[0][["owner", "status"]].tolist() == ["Bo", "In progress"]
    ev = dict(zip(log2["item"], log2["event"], strict=True))
    assert ev == {"A": "resolved", "C": "cleared"}
    assert log2.set_index("item").loc["A", "comment"] == "called customer"
    log_all = pd.concat([log, log2], ignore_index=True)
    # next day A is still drifting a little more: stays out; then it doubles: back, reopened
    t3 = t2 + pd.Timedelta(days=1)
    shown3, log3 = exception_workflow(
        _exc(["A", "B"], ["Act", "Watch"], [1000.0, 520.0]), shown2, log_all, t3, month
    )
    assert shown3["item"].tolist() == ["B"] and log3.empty
    shown4, log4 = exception_workflow(
        _exc(["A", "B"], ["Act", "Watch"], [2000.0, 520.0]), shown3, log_all, t3, month
    )
    assert shown4["item"].tolist() == ["A", "B"]
    assert log4["event"].tolist() == ["reopened"]
