"""The weekly execution view: the next weeks of plan and sensed demand, with the frozen horizon.

Monthly quantities are phased into weeks by each item's share of the month that falls in the
week: working days weighted by the item's day-of-week profile (the same phasing as drift, see
:func:`sop_excel.core.drift.mtd_share`), so a week that straddles two months takes its part of
each.

* **Plan**: the plan of record (or final forecast) phased into weeks.
* **Sensed**: orders already booked for the days behind us; for the rest of this month the sensed
  rate of :func:`sop_excel.core.sensing.sense_demand`; next month's plan scaled to the sensed next
  month; later months at plan.
* **Frozen**: the first ``frozen_weeks`` weeks, where the supply plan is fixed and only an
  exception changes it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sop_excel.core.drift import DateLike, WorkCalendar, profile_matrix, shares

__all__ = ["FROZEN", "OPEN", "week_label", "week_starts", "weekly_view"]

FROZEN, OPEN = "Frozen", "Open"


def week_starts(as_of: DateLike, weeks: int = 13) -> pd.DatetimeIndex:
    """Mondays of the ``weeks`` weeks from the week holding ``as_of``."""
    day = pd.Timestamp(as_of).normalize()
    return pd.date_range(day - pd.Timedelta(days=day.day_of_week), periods=weeks, freq="7D")


def _share_between(
    matrix: np.ndarray,
    month: pd.Timestamp,
    after: pd.Timestamp,
    through: pd.Timestamp,
    calendar: WorkCalendar,
) -> np.ndarray:
    """Share of each item's month demand on the days after ``after`` through ``through``;
    ``matrix``: the items' :func:`~sop_excel.core.drift.profile_matrix`."""
    if through <= after:
        return np.zeros(len(matrix))
    hi = shares(matrix, month, through, calendar)
    lo = shares(matrix, month, after, calendar)
    return np.clip(hi - lo, 0.0, 1.0)


def weekly_view(
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
    """Plan, sensed demand and orders per item and week for the next ``weeks`` weeks.

    Args:
        plan: the monthly plan ``item, month, volume`` (months covering the weeks; missing = 0).
        daily: daily actuals ``date, item, orders``.
        as_of: week 1 is the week holding this day; through: the last day the actuals cover.
        sensed: :func:`sop_excel.core.sensing.sense_demand` output for the month of ``through``
            (``None``: sensed equals plan).
        frozen_weeks: weeks 1..frozen_weeks are marked Frozen.

    Returns:
        Long frame ``item, week, week_start, week_end, horizon, working_days, plan, sensed, orders,
        plan_ahead, sensed_ahead`` (one row per item and week; ``orders`` are the week's orders
        booked through ``through``; ``plan_ahead`` and ``sensed_ahead`` the plan and sensed
        demand of the week's days after ``through``, what the supply view projects against).
    """
    calendar = calendar or WorkCalendar()
    starts = week_starts(as_of, weeks)
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
    rest_rate = pd.Series(
        np.nan, index=items
    )  # this month's sensed volume for the days still ahead, as a month rate
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

    matrix = profile_matrix(items, calendar, profile)  # once, for every week's shares
    # each week's orders per item, in one pass: a row's week from its day (each item and week's
    # orders added in the rows' order, as a groupby of that week's rows alone adds them)
    span = d[(d["date"] >= starts[0]) & (d["date"] <= starts[-1] + pd.Timedelta(days=6))]
    week_of = ((span["date"] - starts[0]).dt.days // 7).to_numpy()
    booked = (
        span.groupby([span["item"].to_numpy(), week_of])["orders"]
        .sum()
        .unstack(fill_value=0.0)
        .reindex(index=items, columns=range(len(starts)), fill_value=0.0)
        .to_numpy(dtype=float)
        if len(span)
        else np.zeros((len(items), len(starts)))
    )
    rows = []
    for k, start in enumerate(starts, start=1):
        end = start + pd.Timedelta(days=6)
        week_orders = np.ascontiguousarray(booked[:, k - 1])
        plan_w = np.zeros(len(items))
        plan_ahead = np.zeros(len(items))  # the part of the week's plan after ``through``
        sensed_w = np.zeros(len(items))
        for month in pd.date_range(
            start.to_period("M").start_time, end.to_period("M").start_time, freq="MS"
        ):
            vol = (
                monthly[month].to_numpy(dtype=float)
                if month in monthly.columns
                else np.zeros(len(items))
            )
            share = _share_between(matrix, month, start - pd.Timedelta(days=1), end, calendar)
            plan_w += vol * share
            if month < this_month:
                continue
            if month == this_month:
                ahead = _share_between(
                    matrix, month, max(start - pd.Timedelta(days=1), cut), end, calendar
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
        sensed_w += week_orders  # what is already booked in the week
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
                    "horizon": FROZEN if k <= frozen_weeks else OPEN,
                    "working_days": workdays,
                    "plan": plan_w,
                    "sensed": sensed_w,
                    "orders": week_orders,
                    "plan_ahead": plan_ahead,
                    "sensed_ahead": sensed_w - week_orders,
                }
            )
        )
    out = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame(
            columns=[
                "item",
                "week",
                "week_start",
                "week_end",
                "horizon",
                "working_days",
                "plan",
                "sensed",
                "orders",
                "plan_ahead",
                "sensed_ahead",
            ]
        )
    )
    out.attrs.update(
        as_of=pd.Timestamp(as_of).date(), through=cut.date(), frozen_weeks=frozen_weeks
    )
    return out


def week_label(week: int, start: dt.date | pd.Timestamp, frozen: bool) -> str:
    """Column header for a week in the wide view, e.g. ``W1 23 Nov (frozen)``."""
    return f"W{week} {pd.Timestamp(start):%d %b}" + (" (frozen)" if frozen else "")
