"""Demand sensing: this month and the next re-forecast from daily actuals, beside the plan."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel.core.sensing import sense_demand

NOV = dt.date(2026, 11, 1)


def month_of(orders: dict[str, float], through=dt.date(2026, 11, 13)) -> pd.DataFrame:
    days = [d for d in pd.date_range(NOV, through) if d.day_of_week < 5]
    return pd.DataFrame(
        [(d, i, q / len(days)) for d in days for i, q in orders.items()],
        columns=["date", "item", "orders"],
    )


PLAN = pd.Series({"ON": 2100.0, "HOT": 2100.0, "NOISY": 2100.0})
NEXT = pd.Series({"ON": 1000.0, "HOT": 1000.0, "NOISY": 1000.0})
SIGMA = pd.Series({"ON": 200.0, "HOT": 200.0, "NOISY": 900.0})


def test_columns_and_on_plan_item_stays_on_plan():
    t = sense_demand(
        month_of({"ON": 1000.0, "HOT": 1400.0, "NOISY": 1400.0}),
        PLAN,
        NEXT,
        dt.date(2026, 11, 13),
        sigma_month=SIGMA,
    ).set_index("item")
    assert list(t.columns) == [
        "month_plan",
        "mtd_actual",
        "share",
        "weight",
        "sensed_month",
        "change_pct",
        "next_month_plan",
        "sensed_next_month",
    ]
    assert t.loc["ON", "sensed_month"] == pytest.approx(2100.0, rel=0.01)
    assert ((t["weight"] > 0) & (t["weight"] < 1)).all()
    hot = t.loc["HOT"]
    assert 2100.0 < hot["sensed_month"] < 2940.0  # between the plan and the run-rate
    assert hot["sensed_next_month"] > 1000.0
    # an item whose plans are usually far off trusts its actuals more
    assert t.loc["NOISY", "weight"] > hot["weight"]
    assert t.loc["NOISY", "sensed_month"] > hot["sensed_month"]


def test_weight_grows_as_the_month_fills():
    early = sense_demand(
        month_of({"HOT": 200.0}, dt.date(2026, 11, 3)), PLAN, NEXT, dt.date(2026, 11, 3)
    )
    late = sense_demand(
        month_of({"HOT": 2000.0}, dt.date(2026, 11, 24)), PLAN, NEXT, dt.date(2026, 11, 24)
    )
    assert (
        early.set_index("item").loc["HOT", "weight"] < late.set_index("item").loc["HOT", "weight"]
    )


def test_before_the_month_and_at_its_end():
    before = sense_demand(month_of({}), PLAN, NEXT, dt.date(2026, 11, 1)).set_index("item")
    assert before["sensed_month"].tolist() == PLAN.tolist() and (before["weight"] == 0).all()
    end = sense_demand(
        month_of({"HOT": 2500.0}, dt.date(2026, 11, 30)), PLAN, NEXT, dt.date(2026, 11, 30)
    ).set_index("item")
    assert end.loc["HOT", "sensed_month"] == pytest.approx(2500.0)


def test_unplanned_item_and_no_carry():
    t = sense_demand(
        month_of({"NEW": 100.0, "HOT": 1400.0}), PLAN, NEXT, dt.date(2026, 11, 13), carry=0.0
    )
    t = t.set_index("item")
    assert t.loc["NEW", "sensed_month"] == pytest.approx(210.0)  # 10 of 21 working days
    assert np.isnan(t.loc["NEW", "change_pct"]) and t.loc[
        "NEW", "sensed_next_month"
    ] == pytest.approx(210.0)
    assert t.loc["HOT", "sensed_next_month"] == 1000.0


def test_sensing_beats_the_plan_on_the_seeded_case():
    from tests.sop_excel.core.test_drift import bench

    b = bench()
    case = b.simulate(n_items=200, seed=5)
    full = case.actuals.groupby("item")["orders"].sum().reindex(case.plan.index, fill_value=0.0)
    t = sense_demand(
        case.actuals,
        case.plan,
        case.plan,
        dt.date(2026, 11, 16),
        calendar=case.calendar,
        sigma_month=case.sigma,
    ).set_index("item")
    plan_err = (case.plan - full).abs().mean()
    sensed_err = (t["sensed_month"] - full).abs().mean()
    assert sensed_err < 0.6 * plan_err
