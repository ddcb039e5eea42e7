"""Demand sensing: a short-horizon re-forecast of this month and the next from daily actuals.

Method (a precision-weighted blend, the conjugate normal update of the month's rate):

* The plan is the prior for the month's total ``m``, with the item's *level* uncertainty
  ``L`` (its monthly forecast error variance minus day-to-day noise, see
  :mod:`sop_excel.core.drift`).
* The month-to-date actual ``A`` at share ``s`` measures the rate as ``A / s`` with variance
  ``P / s`` (``P = dispersion * plan``, Poisson-like day-to-day noise).
* The sensed rate is ``w * A / s + (1 - w) * plan`` with ``w = L / (L + P / s)``: little weight
  on a few noisy days, more as the month fills and for items whose plans are usually off.
* This month: ``A + (1 - s) * sensed rate``: what is booked plus the rest at the sensed rate.
* Next month: the plan scaled by the sensed ratio ``rate / plan``, the change damped by
  ``carry`` (1 = the shift persists in full).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_excel.core.drift import DateLike, WorkCalendar, month_days, mtd_share, noise_sigma

__all__ = ["sense_demand"]


def sense_demand(
    daily: pd.DataFrame,
    month_plan: pd.Series,
    next_month_plan: pd.Series,
    as_of: DateLike,
    *,
    calendar: WorkCalendar | None = None,
    profile: pd.DataFrame | None = None,
    sigma_month: pd.Series | float | None = None,
    default_cv: float = 0.2,
    dispersion: float = 1.0,
    carry: float = 1.0,
) -> pd.DataFrame:
    """Re-forecast the current and next month per item from the month's daily orders.

    Args:
        daily: daily actuals ``date, item, orders``.
        month_plan, next_month_plan: the plans of the month of ``as_of`` and the next (index item).
        as_of: the last day the actuals cover.
        calendar, profile: phasing (see :func:`sop_excel.core.drift.mtd_share`).
        sigma_month: each item's monthly forecast error in units; missing uses ``default_cv``.
        dispersion: variance / mean of daily orders (1 = Poisson).
        carry: how much of this month's sensed change carries into next month (0..1).

    Returns:
        Per item: ``item, month_plan, mtd_actual, share, weight, sensed_month, change_pct,
        next_month_plan, sensed_next_month`` (``weight`` is the actuals' weight in the blend).
        An item with orders and no plan is sensed at its run-rate for both months.
    """
    calendar = calendar or WorkCalendar()
    start, end = (pd.Timestamp(x) for x in month_days(as_of))
    cut = min(pd.Timestamp(as_of).normalize(), end)
    dates = pd.to_datetime(daily["date"])
    actual = daily.loc[(dates >= start) & (dates <= cut)].groupby("item")["orders"].sum()
    plan = month_plan.astype(float).groupby(level=0).sum()
    nxt = next_month_plan.astype(float).groupby(level=0).sum()
    items = plan.index.union(actual.index).union(nxt.index)
    plan, nxt = plan.reindex(items, fill_value=0.0), nxt.reindex(items, fill_value=0.0)
    a = actual.reindex(items, fill_value=0.0).to_numpy(dtype=float)
    s = mtd_share(items, as_of, cut, calendar, profile).to_numpy()
    p = plan.to_numpy()
    sm = (
        sigma_month.reindex(items).to_numpy(dtype=float)
        if isinstance(sigma_month, pd.Series)
        else sigma_month
    )
    level_var = noise_sigma(
        p, 1.0, sm, default_cv=default_cv, dispersion=dispersion
    ) ** 2 - np.maximum(dispersion * p, dispersion)
    level_var = np.clip(level_var, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        obs_var = np.where(s > 0, np.maximum(dispersion * p, dispersion) / s, np.inf)
        w = np.where(p > 0, level_var / (level_var + obs_var), 1.0)
        w = np.where(s > 0, np.nan_to_num(w, nan=0.0), 0.0)
        pace = np.where(s > 0, a / s, 0.0)
        rate = w * pace + (1 - w) * p
        month = np.where(s >= 1, a, a + (1 - s) * rate)
        ratio = np.where(p > 0, rate / p, np.nan)
        change = np.where(p > 0, month / p - 1, np.nan)
    nx = nxt.to_numpy()
    next_sensed = np.where(
        p > 0, nx * (1 + carry * (np.nan_to_num(ratio, nan=1.0) - 1)), np.where(nx > 0, nx, rate)
    )
    out = pd.DataFrame(
        {
            "item": items,
            "month_plan": p,
            "mtd_actual": a,
            "share": s,
            "weight": w,
            "sensed_month": month,
            "change_pct": change,
            "next_month_plan": nx,
            "sensed_next_month": next_sensed,
        }
    )
    out.attrs.update(as_of=cut.date(), carry=carry)
    return out
