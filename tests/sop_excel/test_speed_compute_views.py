"""The S&OE views computed faster give the frames they gave before (issue 21's speed round).

``weekly_view`` now makes each item's day-of-week matrix once and books the 13 weeks' orders in
one groupby; :func:`_weekly_view_before` below is the code it replaced, kept verbatim as the
reference. Every view of :func:`pipeline.execution_from_basis` (Execution, Exceptions, Sensing,
Weeks, Weekly, the supply weeks and items) is compared frame for frame, exactly, on seeded
companies: with supply (a breakdown, a late receipt), items missing from the actuals and the
master, holidays, no orders yet, and nothing at all.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel import pipeline
from sop_excel.core import weekly
from sop_excel.core.drift import DateLike, WorkCalendar, mtd_share
from sop_excel.core.events import check_events
from sop_excel.models import Settings
from sop_excel.sources.sql import _series
from tests.sop_excel.core.test_supply_weeks import events as supply_events

AS_OF = dt.date(2026, 11, 18)
MONTHS = pd.date_range("2026-10-01", periods=6, freq="MS")


# -- the code before (sop_excel/core/weekly.py as of main a0c8d40), verbatim but for names --------
def _share_between_before(
    items: pd.Index,
    month: pd.Timestamp,
    after: pd.Timestamp,
    through: pd.Timestamp,
    calendar: WorkCalendar,
    profile: pd.DataFrame | None,
) -> np.ndarray:
    if through <= after:
        return np.zeros(len(items))
    hi = mtd_share(items, month, through, calendar, profile).to_numpy()
    lo = mtd_share(items, month, after, calendar, profile).to_numpy()
    return np.clip(hi - lo, 0.0, 1.0)


def _weekly_view_before(  # noqa: C901, PLR0915 - the reference, as it was
    plan: pd.DataFrame,
    daily: pd.DataFrame,
    as_of: DateLike,
    through: DateLike,
    *,
    sensed: pd.DataFrame | None = None,
    frozen_weeks: int = 4,
    weeks: int = 13,
    calendar: WorkCalendar | None = None,
    profile: pd.DataFrame | None = None,
) -> pd.DataFrame:
    calendar = calendar or WorkCalendar()
    starts = weekly.week_starts(as_of, weeks)
    items = pd.Index(sorted(set(plan["item"].astype(str))), name="item")
    cut = pd.Timestamp(through).normalize()
    monthly = (
        plan.assign(month=pd.to_datetime(plan["month"]).dt.to_period("M").dt.start_time)
        .pivot_table(index="item", columns="month", values="volume", aggfunc="sum", fill_value=0.0)
        .reindex(items, fill_value=0.0)
    )
    d = daily[["date", "item", "orders"]].copy()
    d["date"] = pd.to_datetime(d["date"]).dt.normalize()
    d = d[(d["date"] <= cut) & d["item"].isin(items)]
    this_month = cut.to_period("M").start_time
    next_month = this_month + pd.offsets.MonthBegin(1)
    rest_rate = pd.Series(np.nan, index=items)
    next_ratio = pd.Series(1.0, index=items)
    if sensed is not None and len(sensed):
        s = sensed.set_index("item").reindex(items)
        remaining = 1.0 - s["share"].fillna(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rest_rate = ((s["sensed_month"] - s["mtd_actual"]) / remaining).where(remaining > 0)
            next_ratio = (s["sensed_next_month"] / s["next_month_plan"]).where(
                s["next_month_plan"] > 0, 1.0
            )
        next_ratio = next_ratio.fillna(1.0)

    rows = []
    for k, start in enumerate(starts, start=1):
        end = start + pd.Timedelta(days=6)
        week_orders = (
            d[(d["date"] >= start) & (d["date"] <= end)]
            .groupby("item")["orders"]
            .sum()
            .reindex(items, fill_value=0.0)
            .to_numpy(dtype=float)
        )
        plan_w = np.zeros(len(items))
        plan_ahead = np.zeros(len(items))
        sensed_w = np.zeros(len(items))
        for month in pd.date_range(
            start.to_period("M").start_time, end.to_period("M").start_time, freq="MS"
        ):
            vol = (
                monthly[month].to_numpy(dtype=float)
                if month in monthly.columns
                else np.zeros(len(items))
            )
            share = _share_between_before(
                items, month, start - pd.Timedelta(days=1), end, calendar, profile
            )
            plan_w += vol * share
            if month < this_month:
                continue
            if month == this_month:
                ahead = _share_between_before(
                    items, month, max(start - pd.Timedelta(days=1), cut), end, calendar, profile
                )
                plan_ahead += vol * ahead
                rate = rest_rate.fillna(pd.Series(vol, index=items)).to_numpy(dtype=float)
                sensed_w += rate * ahead
            elif month == next_month:
                plan_ahead += vol * share
                sensed_w += vol * next_ratio.to_numpy(dtype=float) * share
            else:
                plan_ahead += vol * share
                sensed_w += vol * share
        sensed_w += week_orders
        workdays = int(
            np.busday_count(
                start.date(),
                (end + pd.Timedelta(days=1)).date(),
                weekmask=calendar.weekmask,
                holidays=[np.datetime64(h) for h in sorted(calendar.holidays)],
            )
        )
        rows.append(
            pd.DataFrame(
                {
                    "item": items,
                    "week": k,
                    "week_start": start,
                    "week_end": end,
                    "horizon": weekly.FROZEN if k <= frozen_weeks else weekly.OPEN,
                    "working_days": workdays,
                    "plan": plan_w,
                    "sensed": sensed_w,
                    "orders": week_orders,
                    "plan_ahead": plan_ahead,
                    "sensed_ahead": sensed_w - week_orders,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out.attrs.update(
        as_of=pd.Timestamp(as_of).date(), through=cut.date(), frozen_weeks=frozen_weeks
    )
    return out


# -- seeded companies ---------------------------------------------------------------------------
def _company(seed: int, n: int = 60, *, holidays: tuple[dt.date, ...] = ()) -> dict:
    """Items on three resources (and bought ones), a plan of six months, orders of the month to
    the day before the as-of date (some items never ordered, some orders of items without a
    plan), production with R1 down three days from 20 Nov and a receipt delayed two weeks."""
    rng = np.random.default_rng(seed)
    codes = [f"IT-{i:03d}" for i in range(n)]
    resources = np.array(["R1", "R2", "R3", ""])[rng.integers(0, 4, n)]
    items = pd.DataFrame(
        {
            "item": codes,
            "family": np.array(["F1", "F2", "F3"])[rng.integers(0, 3, n)],
            "site": np.where(resources == "R3", "Brno", np.where(resources == "", "", "Leeds")),
            "resource": resources,
            "price": rng.uniform(5, 200, n).round(2),
            "unit_cost": rng.uniform(2, 100, n).round(2),
            "hours_per_unit": np.where(resources == "", 0.0, rng.uniform(0.05, 1.0, n).round(3)),
            "lead_time_days": rng.integers(5, 40, n),
            "opening_stock": rng.uniform(0, 400, n).round(0),
        }
    )
    rate = rng.gamma(2.0, 3.0, n)
    planned = codes[: n - 3]  # the last three items have no plan
    plan = pd.DataFrame(
        [
            {"item": c, "month": m, "volume": float(round(rate[i] * 21 * rng.uniform(0.8, 1.2)))}
            for i, c in enumerate(codes)
            if c in planned
            for m in MONTHS
        ]
    )
    # working days, and two weekends' days (web orders): each week from Monday to Sunday
    days = pd.bdate_range("2026-11-02", "2026-11-17").union(
        pd.DatetimeIndex(["2026-11-08", "2026-11-14", "2026-11-15"])
    )
    ordering = codes[5:]  # the first five never ordered this month
    actuals = pd.DataFrame(
        [
            {
                "date": d,
                "item": c,
                "orders": float(rng.poisson(rate[i] * (1.6 if d.day_of_week == 0 else 1.0))),
                "shipments": float(rng.poisson(rate[i])),
            }
            for d in days
            for i, c in enumerate(codes)
            if c in ordering and rng.random() < 0.9
        ]
    )
    made = items[items["resource"] != ""]
    production = pd.DataFrame(
        [
            {
                "date": d,
                "item": r.item,
                "resource": r.resource,
                "produced": float(rng.poisson(rate[i])),
                "receipts": 0.0,
            }
            for d in days
            for i, r in enumerate(made.itertuples())
            if rng.random() < 0.8
        ]
        + [
            {
                "date": pd.Timestamp("2026-11-23") + pd.Timedelta(days=int(k)),
                "item": c,
                "resource": "",
                "produced": 0.0,
                "receipts": float(rng.integers(20, 200)),
            }
            for k, c in enumerate(items.loc[items["resource"] == "", "item"])
        ]
    )
    bought = items.loc[items["resource"] == "", "item"].iloc[0]
    events = supply_events().assign(item=["", bought])  # the breakdown and a late receipt
    calendar = WorkCalendar(holidays=holidays)
    checked = check_events(
        events,
        items=set(codes),
        resources={"R1", "R2", "R3"},
        calendar=calendar,
        locate=lambda pos, field: f"row {pos}, {field}",
    )
    capacity = pd.DataFrame(
        [
            {"resource": r, "month": m, "hours": h * calendar.working_days(m)}
            for r, h in (("R1", 30.0), ("R2", 12.0), ("R3", 50.0))
            for m in MONTHS
        ]
    )
    month = pd.Timestamp(AS_OF).replace(day=1)
    this = plan[plan["month"] == month].set_index("item")["volume"]
    basis_items = pd.DataFrame(
        {
            "item": planned,
            "family": items.set_index("item").loc[planned, "family"].to_numpy(),
            "month_plan": this.reindex(planned).fillna(0.0).to_numpy(),
            "sigma": rng.uniform(5, 60, len(planned)),
            "tracking_signal": rng.normal(0, 3, len(planned)),
            "bias": rng.normal(0, 0.2, len(planned)),
            "interval_sigma": rng.uniform(3, 40, len(planned)),
        }
    )
    basis = pipeline.ExecutionBasis(basis_items, plan, "v1 locked (Base)", scenario="Base")
    settings = Settings(
        as_of=AS_OF,
        horizon=12,
        forecast_method="auto",
        correct_outliers=False,
        drift_watch_pct=0.1,
        drift_act_pct=0.2,
        min_value_at_risk=50.0,
        holidays=holidays,
    )
    supply = pipeline.SupplyInputs(production, checked, capacity)
    return {
        "settings": settings,
        "items": items,
        "basis": basis,
        "actuals": actuals,
        "supply": supply,
    }


def _views(case: dict, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple:
    if monkeypatch is not None:
        monkeypatch.setattr(weekly, "weekly_view", _weekly_view_before)
    return pipeline.execution_from_basis(
        case["settings"], case["items"], case["basis"], case["actuals"], case["supply"]
    )


def _same(before: tuple, after: tuple) -> None:
    execution, exceptions, through, views = after
    pd.testing.assert_frame_equal(execution, before[0], check_exact=True)
    pd.testing.assert_frame_equal(exceptions, before[1], check_exact=True)
    assert through == before[2]
    assert list(views) == list(before[3])
    for name, frame in views.items():
        pd.testing.assert_frame_equal(frame, before[3][name], check_exact=True, obj=name)


CASES = {
    "supply, breakdown and late receipt": lambda: _company(1),
    "another seed, holidays": lambda: _company(
        7, 90, holidays=(dt.date(2026, 11, 11), dt.date(2026, 12, 25), dt.date(2026, 12, 1))
    ),
    "no orders yet": lambda: {
        **_company(3),
        "actuals": pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "item": pd.Series(dtype=object),
                "orders": pd.Series(dtype=float),
                "shipments": pd.Series(dtype=float),
            }
        ),
    },
    "no supply data": lambda: {
        **(c := _company(4)),
        "supply": pipeline.SupplyInputs(
            c["supply"].production.iloc[0:0], c["supply"].events.iloc[0:0], c["supply"].capacity
        ),
    },
    "orders of last month too": lambda: {
        **(c := _company(5)),
        "actuals": pd.concat(
            [
                c["actuals"],
                c["actuals"].assign(date=c["actuals"]["date"] - pd.Timedelta(days=28)),
            ],
            ignore_index=True,
        ),
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_view_is_the_frame_it_was(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    after = _views(CASES[case]())
    with monkeypatch.context() as m:
        before = _views(CASES[case](), m)
    _same(before, after)
    weeks = after[3]["tblWeekly"]
    assert len(weeks) and after[3]["tblWeeks"]["orders"].sum() >= 0  # the views are not empty


def test_the_weekly_view_alone_is_the_frame_it_was() -> None:
    """weekly_view's own columns (orders, plan_ahead, sensed_ahead are not all on the sheet)."""
    case = _company(11, 40)
    plan, actuals = case["basis"].monthly, case["actuals"]
    for as_of, through in (
        (AS_OF, dt.date(2026, 11, 17)),
        (AS_OF, dt.date(2026, 10, 31)),
        (AS_OF, dt.date(2026, 11, 30)),
        (dt.date(2026, 11, 3), dt.date(2026, 11, 17)),  # three weeks of orders, weekends too
        (dt.date(2026, 10, 29), dt.date(2026, 11, 15)),
    ):
        got = weekly.weekly_view(plan, actuals, as_of, through, calendar=WorkCalendar())
        want = _weekly_view_before(plan, actuals, as_of, through, calendar=WorkCalendar())
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got.attrs == want.attrs
        assert (got["orders"] > 0).any() or through < dt.date(2026, 11, 1)


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
