"""The weekly view after issue 21's speed round: each item's day-of-week matrix made once and the
13 weeks' orders booked in one groupby. Its orders and plan per item and week are checked
against a computation by hand from the public per-date functions (each week's orders summed
from the daily rows; each month's plan phased with :func:`drift.phase_plan` to the week's last
day less to the day before it), on seeded companies: holidays, weekend orders, items never
ordered, orders of items without a plan, no orders yet, last month's orders, a learned
day-of-week profile. The SQL readers' float columns are the Series pandas made.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel.core import weekly
from sop_excel.core.drift import WorkCalendar, dow_profile, phase_plan
from sop_excel.sources.sql import _series

AS_OF = dt.date(2026, 11, 18)
MONTHS = pd.date_range("2026-10-01", periods=6, freq="MS")


def _company(seed: int, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the plan: item, month, volume, six months; the daily orders of the month to 17 Nov):
    the last three items have no plan, the first five never ordered, some orders on weekends."""
    rng = np.random.default_rng(seed)
    codes = [f"IT-{i:03d}" for i in range(n)]
    rate = rng.gamma(2.0, 3.0, n)
    plan = pd.DataFrame(
        [
            {"item": c, "month": m, "volume": float(round(rate[i] * 21 * rng.uniform(0.8, 1.2)))}
            for i, c in enumerate(codes[: n - 3])
            for m in MONTHS
        ]
    )
    days = pd.bdate_range("2026-11-02", "2026-11-17").union(
        pd.DatetimeIndex(["2026-11-08", "2026-11-14", "2026-11-15"])
    )
    actuals = pd.DataFrame(
        [
            {
                "date": d,
                "item": c,
                "orders": float(rng.poisson(rate[i] * (1.6 if d.day_of_week == 0 else 1.0))),
            }
            for d in days
            for i, c in enumerate(codes)
            if i >= 5 and rng.random() < 0.9
        ]
    )
    return plan, actuals


def _by_hand(plan, actuals, as_of, through, calendar, profile) -> pd.DataFrame:
    """item, week, orders, plan for the 13 weeks from ``as_of``, orders through ``through``."""
    items = pd.Index(sorted(set(plan["item"])), name="item")
    volume = plan.pivot_table(index="item", columns="month", values="volume", aggfunc="sum")
    cut = pd.Timestamp(through)
    d = actuals[(actuals["date"] <= cut) & actuals["item"].isin(items)]
    day = pd.Timedelta(days=1)
    rows = []
    for k, start in enumerate(weekly.week_starts(as_of), start=1):
        end = start + 6 * day
        orders = d[(d["date"] >= start) & (d["date"] <= end)].groupby("item")["orders"].sum()
        planned = pd.Series(0.0, index=items)
        for month in {start.to_period("M").start_time, end.to_period("M").start_time}:
            vol = volume[month].reindex(items, fill_value=0.0)
            planned += phase_plan(vol, month, end, calendar, profile).to_numpy()
            planned -= phase_plan(vol, month, start - day, calendar, profile).to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "item": items,
                    "week": k,
                    "orders": orders.reindex(items, fill_value=0.0).to_numpy(),
                    "plan": planned.to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


HOLIDAYS = (dt.date(2026, 11, 11), dt.date(2026, 12, 25), dt.date(2026, 12, 1))
CASES = {
    "seed 1": lambda: _company(1),
    "another seed": lambda: _company(7, 90),
    "no orders yet": lambda: (_company(3)[0], _company(3)[1].iloc[0:0]),
    "orders of last month too": lambda: (
        (c := _company(5))[0],
        pd.concat([c[1], c[1].assign(date=c[1]["date"] - pd.Timedelta(days=28))]),
    ),
}
DATES = [
    (AS_OF, dt.date(2026, 11, 17)),
    (AS_OF, dt.date(2026, 10, 31)),
    (AS_OF, dt.date(2026, 11, 30)),
    (dt.date(2026, 11, 3), dt.date(2026, 11, 17)),  # three weeks of orders, weekends too
    (dt.date(2026, 10, 29), dt.date(2026, 11, 15)),  # the first week starts in October
]


@pytest.mark.parametrize("holidays", [(), HOLIDAYS], ids=["no holidays", "holidays"])
@pytest.mark.parametrize("learned", [False, True], ids=["working days", "learned profile"])
@pytest.mark.parametrize("case", list(CASES))
def test_weekly_orders_and_plan_are_the_days_summed_by_hand(case, learned, holidays) -> None:
    plan, actuals = CASES[case]()
    calendar = WorkCalendar(holidays=holidays)
    profile = dow_profile(actuals, calendar=calendar) if learned and len(actuals) else None
    for as_of, through in DATES:
        got = weekly.weekly_view(
            plan, actuals, as_of, through, calendar=calendar, profile=profile
        ).sort_values(["week", "item"], ignore_index=True)
        want = _by_hand(plan, actuals, as_of, through, calendar, profile)
        pd.testing.assert_series_equal(got["item"], want["item"])
        assert got["week"].tolist() == want["week"].tolist()
        np.testing.assert_array_equal(got["orders"], want["orders"])  # the same sums, exactly
        np.testing.assert_allclose(got["plan"], want["plan"], rtol=1e-12, atol=1e-9)
        if len(actuals) and through >= dt.date(2026, 11, 2):
            assert got["orders"].sum() > 0 and got["plan"].sum() > 0


@pytest.mark.parametrize(
    "values",
    [
        [1.5, 2.0, 0.0],
        [1.5, None, 2.0],  # a NULL
        [1, 2, 3],  # INTEGER
        [1.5, 2],
        ["2026-11-01", "2026-11-02"],
        [1.5, "x"],
        [],
    ],
)
def test_sql_columns_are_the_series_pandas_made(values: list) -> None:
    for infer in (True, False):
        want = pd.Series(values, dtype=None if infer else object)
        pd.testing.assert_series_equal(_series(values, infer), want, check_exact=True)
