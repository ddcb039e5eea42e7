"""Drift a planner can trust: calendar, weekday profile, phasing, run-rate, noise, bias; and the
seeded benchmark's precision and recall, pinned loosely."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sop_excel.core.drift import (
    ALL_ITEMS,
    DAYS,
    WorkCalendar,
    bias_alerts,
    dow_profile,
    drift_table,
    drift_z,
    forecast_error_sigma,
    mtd_share,
    phase_plan,
    run_rate,
    tracking_signal,
)
from sop_excel.core.execution import working_days

NOV = dt.date(2026, 11, 1)  # a Sunday; 21 working days, 30 Nov is a Monday
D = dt.date


def bench():
    path = Path(__file__).parents[3] / "bench" / "drift_precision.py"
    spec = importlib.util.spec_from_file_location("drift_precision", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)
    spec.loader.exec_module(mod)
    return mod


# --- calendar ---------------------------------------------------------------------------------


def test_calendar_counts_working_days_and_holidays():
    cal = WorkCalendar()
    assert cal.working_days(NOV) == 21
    assert cal.elapsed(NOV, D(2026, 11, 6)) == 5
    assert cal.elapsed(NOV, D(2026, 10, 31)) == 0 and cal.elapsed(NOV, D(2026, 12, 5)) == 21
    hol = WorkCalendar([D(2026, 11, 11), D(2026, 11, 14)])  # the 14th is a Saturday: no effect
    assert hol.working_days(NOV) == 20 and hol.elapsed(NOV, D(2026, 11, 11)) == 7
    assert not hol.is_working(D(2026, 11, 11)) and hol.is_working(D(2026, 11, 12))
    assert hol.share(NOV, D(2026, 11, 30)) == 1.0
    assert hol.weekday_counts(NOV).tolist() == [5, 4, 3, 4, 4, 3, 5]


@pytest.mark.parametrize(
    "through", [D(2026, 11, 1), D(2026, 11, 2), D(2026, 11, 13), D(2026, 11, 29)]
)
def test_calendar_agrees_with_execution_working_days(through):
    cal = WorkCalendar()
    assert (cal.elapsed(NOV, through), cal.working_days(NOV)) == working_days(NOV, through)


# --- day-of-week profile -------------------------------------------------------------------------


def daily_history(
    per_day: dict[str, list[float]],
    start=D(2026, 9, 1),  # noqa: B008
    end=D(2026, 10, 31),  # noqa: B008
) -> pd.DataFrame:
    rows = []
    for d in pd.date_range(start, end):
        for item, week in per_day.items():
            if week[d.day_of_week]:
                rows.append((d, item, float(week[d.day_of_week])))
    return pd.DataFrame(rows, columns=["date", "item", "orders"])


def test_profile_learns_weekday_shares_and_falls_back():
    hist = daily_history({"MON": [60, 10, 10, 10, 10, 0, 0], "FLAT": [20, 20, 20, 20, 20, 0, 0]})
    prof = dow_profile(hist)
    assert list(prof.columns) == list(DAYS) and ALL_ITEMS in prof.index
    assert np.allclose(prof.sum(axis=1), 1.0)
    assert prof.loc["MON", "Mon"] > 0.5 and prof.loc["MON", "Sat"] < 0.01
    assert prof.loc["FLAT", ["Mon", "Tue", "Wed", "Thu", "Fri"]].to_numpy() == pytest.approx(
        [0.2] * 5, abs=0.03
    )


def test_profile_is_not_biased_by_unequal_weekday_counts():
    # October 2026 has five Thursdays, Fridays and Saturdays, four of the rest
    hist = daily_history({"A": [10] * 5 + [0, 0]}, start=D(2026, 10, 1), end=D(2026, 10, 31))
    prof = dow_profile(hist)
    assert prof.loc["A", ["Mon", "Tue", "Wed", "Thu", "Fri"]].to_numpy() == pytest.approx(
        [0.2] * 5, abs=1e-6
    )


def test_thin_item_is_shrunk_toward_all_items():
    hist = daily_history({"BIG": [60, 10, 10, 10, 10, 0, 0]})
    thin = pd.DataFrame(
        {"date": pd.to_datetime(["2026-10-30"]), "item": ["THIN"], "orders": [2.0]}
    )  # a Friday
    prof = dow_profile(pd.concat([hist, thin]))
    assert prof.loc["THIN", "Fri"] < 0.25  # two Friday orders do not make a Friday item
    assert prof.loc["THIN", "Mon"] > 0.3  # it looks like everyone else
    assert dow_profile(hist.iloc[:0]).loc[ALL_ITEMS].tolist() == [0.2] * 5 + [0, 0]


# --- phasing ----------------------------------------------------------------------------------------


def test_phase_plan_by_working_days_and_by_profile():
    plan = pd.Series({"MON": 210.0, "NEW": 210.0})
    flat = phase_plan(plan, NOV, D(2026, 11, 2))  # first Monday: 1 of 21 working days
    assert flat.tolist() == pytest.approx([10.0, 10.0])
    prof = dow_profile(daily_history({"MON": [60, 10, 10, 10, 10, 0, 0]}))
    shaped = phase_plan(plan, NOV, D(2026, 11, 2), profile=prof)
    assert shaped["MON"] > 2 * flat["MON"]  # Monday-heavy: much of the week is behind it
    assert (
        flat["NEW"] < shaped["NEW"] < shaped["MON"]
    )  # no history: the all-items profile, shrunk more
    assert mtd_share(["MON"], NOV, D(2026, 11, 30), profile=prof).iloc[0] == pytest.approx(1.0)
    assert mtd_share(["MON"], NOV, D(2026, 11, 1), profile=prof).iloc[0] == 0.0


def test_holiday_moves_phasing():
    cal = WorkCalendar([D(2026, 11, 11)])
    assert phase_plan(pd.Series({"A": 200.0}), NOV, D(2026, 11, 11), cal).iloc[0] == pytest.approx(
        70.0
    )


# --- run-rate --------------------------------------------------------------------------------------


def test_run_rate_projection_and_interval():
    proj, lo, hi = run_rate([50.0, 0.0, 10.0, 30.0], [0.5, 0.5, 0.0, 1.0])
    assert proj[0] == 100 and lo[0] < 100 < hi[0] and lo[0] >= 50
    assert proj[1] == 0 and hi[1] > 0  # a silent start still has an interval
    assert np.isnan(proj[2])
    assert proj[3] == lo[3] == hi[3] == 30


def test_run_rate_interval_covers_poisson_months():
    rng = np.random.default_rng(1)
    lam, s = 200.0, 0.4
    a = rng.poisson(lam * s, 4000).astype(float)
    total = a + rng.poisson(lam * (1 - s), 4000)
    _, lo, hi = run_rate(a, s, level=0.9)
    cover = np.mean((total >= lo) & (total <= hi))
    assert 0.85 <= cover <= 0.95


# --- drift -------------------------------------------------------------------------------------------


def test_drift_z_matches_normal_for_big_counts_and_is_careful_with_small():
    assert drift_z([1100.0], [1000.0], [np.sqrt(1000)])[0] == pytest.approx(
        100 / np.sqrt(1000), abs=0.1
    )
    assert drift_z([9.0], [3.0], [np.sqrt(3.0)])[0] < 3.0  # normal would say 3.46
    assert drift_z([3.0], [3.0], [2.0])[0] == 0.0
    assert drift_z([0.0], [50.0], [10.0])[0] < -3


def month_of(orders: dict[str, float], through=D(2026, 11, 13)) -> pd.DataFrame:  # noqa: B008
    days = [d for d in pd.date_range(NOV, through) if d.day_of_week < 5]
    return pd.DataFrame(
        [(d, i, q / len(days)) for d in days for i, q in orders.items()],
        columns=["date", "item", "orders"],
    )


def test_drift_table_flags_beyond_the_items_noise_only():
    plan = pd.Series({"ON": 2100.0, "HOT": 2100.0, "NOISY": 2100.0, "COLD": 2100.0})
    mtd = {"ON": 1010.0, "HOT": 1300.0, "NOISY": 1300.0, "COLD": 600.0, "NEW": 40.0}
    sigma = pd.Series({"ON": 100.0, "HOT": 100.0, "NOISY": 900.0, "COLD": 100.0})
    t = drift_table(plan, month_of(mtd), NOV, D(2026, 11, 13), sigma_month=sigma).set_index("item")
    assert list(t.columns) == [
        "month_plan",
        "share",
        "mtd_plan",
        "mtd_actual",
        "drift_pct",
        "sigma_mtd",
        "z",
        "beyond_noise",
        "projection",
        "lo",
        "hi",
    ]
    assert t.loc["ON", "mtd_plan"] == pytest.approx(1000.0)
    assert t.loc["HOT", "drift_pct"] == pytest.approx(0.3)
    assert t["beyond_noise"].to_dict() == {
        "COLD": True,
        "HOT": True,
        "NEW": True,
        "NOISY": False,
        "ON": False,
    }
    assert t.loc["NEW", "month_plan"] == 0 and np.isnan(t.loc["NEW", "drift_pct"])
    assert t.loc["HOT", "projection"] == pytest.approx(2730.0)
    assert t.loc["HOT", "lo"] < 2730.0 < t.loc["HOT", "hi"]
    floor = drift_table(
        plan, month_of(mtd), NOV, D(2026, 11, 13), sigma_month=sigma, min_drift=0.35
    )
    assert not floor.set_index("item").loc["HOT", "beyond_noise"]


def test_drift_table_ignores_other_months_and_days_after_through():
    d = month_of({"A": 1000.0})
    extra = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-10-30", "2026-11-20"]),
            "item": ["A", "A"],
            "orders": [500.0, 500.0],
        }
    )
    t = drift_table(pd.Series({"A": 2100.0}), pd.concat([d, extra]), NOV, D(2026, 11, 13))
    assert t["mtd_actual"].iloc[0] == pytest.approx(1000.0)


# --- tracking signal and bias ---------------------------------------------------------------------


def test_tracking_signal():
    assert tracking_signal([1, 1, 1, 1]) == 4.0
    assert tracking_signal([5, -5, 1, 1, 1, 1], n=4) == 4.0
    assert tracking_signal([np.nan, 2, -2]) == 0.0
    assert tracking_signal([]) == 0.0 and tracking_signal([0, 0]) == 0.0


def test_bias_alerts_per_item():
    months = pd.date_range("2026-01-01", periods=8, freq="MS")
    rows = [("OVER", m, 100.0, 120.0 + k) for k, m in enumerate(months)]
    rows += [("MIXED", m, 100.0, 100.0 + (10 if k % 2 else -10)) for k, m in enumerate(months)]
    rows += [("UNDER", m, 100.0, 100.0 - 30 if k >= 2 else 150.0) for k, m in enumerate(months)]
    rows += [("SHORT", m, 100.0, 130.0) for m in months[:2]]
    f = pd.DataFrame(rows, columns=["item", "period", "actual", "forecast"])
    out = bias_alerts(f, window=6, threshold=4.0).set_index("item")
    assert out.loc["OVER", "alert"] and out.loc["OVER", "bias"] == "over-forecast"
    assert out.loc["OVER", "tracking_signal"] == pytest.approx(6.0)
    assert out.loc["UNDER", "bias"] == "under-forecast"  # the early over-forecasts left the window
    assert not out.loc["MIXED", "alert"] and out.loc["MIXED", "reason"] == ""
    assert not out.loc["SHORT", "alert"]  # two periods are not a pattern
    assert "tracking signal +6.0 (limit +-4)" in out.loc["OVER", "reason"]


def test_forecast_error_sigma():
    f = pd.DataFrame(
        {
            "item": ["A"] * 4 + ["B"],
            "period": [1, 2, 3, 4, 1],
            "actual": [100.0, 100, 100, 100, 5],
            "forecast": [90.0, 110, 90, 110, 5],
        }
    )
    s = forecast_error_sigma(f)
    assert s["A"] == pytest.approx(10.0) and np.isnan(s["B"])


# --- the seeded case: precision and recall, pinned loosely --------------------------------------


def test_injected_drift_precision_and_recall():
    b = bench()
    case = b.simulate(n_items=300, seed=11, drifted=0.2)
    days = b.checkpoints(case, (5, 10, 15))
    early, mid, late = (b.evaluate(case, d) for d in days)
    print(
        f"\nprecision/recall by working day 5, 10, 15: "
        f"{early['precision']:.2f}/{early['recall']:.2f}, {mid['precision']:.2f}/{mid['recall']:.2f}, "
        f"{late['precision']:.2f}/{late['recall']:.2f}"
    )
    assert mid["precision"] >= 0.8 and mid["recall"] >= 0.5
    assert late["precision"] >= 0.8 and late["recall"] >= 0.7

    def f1(p, r):
        return 2 * p * r / (p + r) if p + r else 0.0

    print(f"naive 25% rule, working day 10: {mid['naive_precision']:.2f}/{mid['naive_recall']:.2f}")
    assert f1(mid["precision"], mid["recall"]) > f1(mid["naive_precision"], mid["naive_recall"])
