"""S&OE on the supply side: production against plan, disruptions, and the stock and revenue at risk
in the next 13 weeks (issue 21). Pure numpy and pandas: frames in, frames out.

The policy, stated so a planner can check it:

* **Planned production** is the plan (plan of record where locked, else the final forecast) made
  as it is sold (chase, as on the Inventory sheet) less what suppliers deliver in the month (its
  receipts, by the day they were due), spread evenly over the month's working days. A resource
  makes at most its hours per working day (Capacity / working days); where the plan asks more,
  every item on it is made in proportion to what fits (as on the Inventory sheet). Items
  without a resource are bought: their receipts are all their supply.
* **Events** take hours away (a resource down or at a reduced rate on those days), stop an
  item (blocked: neither made nor received), or move an item's due receipts later. Production
  lost to an event is not made up later: recovering it is what the suggested actions are for.
* **Production done**: the Production table's rows of the month through the last day of
  actuals (the later of the last day of orders and the last day with production). Receipts
  dated up to then have arrived; receipts dated later are due (open purchase orders).
* **Stock now** = Items > Opening stock (the stock at the start of the month) + produced +
  received - shipped, this month. **Projected stock** at the end of each week = stock now +
  planned production + due receipts - the larger of plan and sensed demand (the Weekly sheet's,
  for the days ahead) - orders booked and not yet shipped (in the first week).
* **Production drift** is judged with the demand drift's noise model
  (:func:`sop_excel.core.drift.noise_sigma`, :func:`~sop_excel.core.drift.drift_z`): the
  month-to-date plan is the month's planned production times the share of its working days
  elapsed; the day-to-day noise is the resource's own (variance over mean of its items' daily
  output on days without events, at least Poisson's 1); a schedule has no forecast error, so
  there is no level error: a shortfall that persists is what is flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from sop_excel.core.drift import WorkCalendar, drift_z, noise_sigma
from sop_excel.core.events import BLOCKED, DELAYED, DOWN, RATE
from sop_excel.core.weekly import FROZEN, OPEN, week_starts

__all__ = ["AREA_CAPACITY", "AREA_DEMAND", "AREA_SUPPLY", "SupplyWeeks", "supply_weeks"]

AREA_DEMAND, AREA_SUPPLY, AREA_CAPACITY = "Demand", "Supply", "Capacity"
_ACT, _WATCH = "Act", "Watch"
_EPS = 1e-6


@dataclass(frozen=True)
class SupplyWeeks:
    """The supply side of the next weeks.

    ``items``: per item ``item, family, resource, mtd_plan, mtd_produced, drift_pct, z,
    beyond_noise, stock_now, safety_stock, weeks_of_cover, below_safety_week, stockout_week,
    revenue_at_risk`` (worst first); ``stock``: the projected stock at each week's end, one
    column per week (1..13), rows as ``items``; ``resources``: per resource and week the
    capacity, hours lost to events, available and load hours, utilisation, overload, spare and
    done hours; ``exceptions``: ``item, family, area, flag, drift_pct, value_at_risk, reason,
    action`` (items for Supply, resources for Capacity); ``weeks``: week, week_start, horizon;
    ``through``: the last day the supply actuals cover.
    """

    items: pd.DataFrame
    stock: pd.DataFrame
    resources: pd.DataFrame
    exceptions: pd.DataFrame
    weeks: pd.DataFrame
    through: dt.date


def _days_mask(days: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    return (days >= np.datetime64(start.date(), "D")) & (days <= np.datetime64(end.date(), "D"))


def supply_weeks(
    *,
    as_of: dt.date,
    through: dt.date,
    plan: pd.DataFrame,
    items: pd.DataFrame,
    capacity: pd.DataFrame,
    production: pd.DataFrame,
    actuals: pd.DataFrame,
    demand: pd.DataFrame,
    events: pd.DataFrame,
    safety: pd.Series,
    calendar: WorkCalendar | None = None,
    frozen_weeks: int = 4,
    weeks: int = 13,
    z_threshold: float = 2.5,
    watch: float = 0.1,
    act: float = 0.2,
    min_value_at_risk: float = 0.0,
) -> SupplyWeeks:
    """Planned production, production drift, projected stock and supply exceptions.

    Args:
        as_of: the planning date (week 1 holds it; the month is its month).
        through: the last day of the daily orders and shipments (demand actuals).
        plan: ``item, month, volume``, the plan the weeks phase (months around the as-of month).
        items: the Items sheet (``item, family, site, resource, price, unit_cost,
            hours_per_unit, lead_time_days, opening_stock`` and, optionally, ``priority``).
        capacity: ``resource, month, hours`` of the plan's scenario (its capacity drivers applied).
        production: ``date, item, resource, produced, receipts`` (the Production table).
        actuals: daily ``date, item, orders, shipments``.
        demand: :func:`sop_excel.core.weekly.weekly_view` rows (``item, week, plan_ahead,
            sensed_ahead``): demand of the days after ``through``.
        events: :func:`sop_excel.core.events.check_events` output.
        safety: safety stock per item (index item).
        calendar: working days; frozen_weeks: weeks 1..frozen_weeks are frozen.
        z_threshold, watch, act: drift thresholds as for demand (Settings).
        min_value_at_risk: exceptions below this value are not listed.
    """
    calendar = calendar or WorkCalendar()
    cal = np.busdaycalendar(
        weekmask=calendar.weekmask,
        holidays=np.array(sorted(calendar.holidays), dtype="datetime64[D]"),
    )
    month = pd.Timestamp(as_of).to_period("M").start_time
    month_end = month + pd.offsets.MonthEnd(0)
    starts = week_starts(as_of, weeks)
    horizon_end = starts[-1] + pd.Timedelta(days=6)
    days = np.arange(np.datetime64(month.date(), "D"), np.datetime64(horizon_end.date(), "D") + 1)
    n_days = len(days)
    working = np.is_busday(days, busdaycal=cal)
    week_of = (
        (days - np.datetime64(starts[0].date(), "D")).astype(int) // 7
    ) + 1  # <= 0: before week 1
    months = pd.DatetimeIndex(days).to_period("M").start_time
    month_list = list(dict.fromkeys(months))
    month_idx = np.array([month_list.index(m) for m in months]) if n_days else np.zeros(0, int)
    wd = np.array([calendar.working_days(m) for m in month_list], dtype=float)

    master = items.drop_duplicates("item").set_index("item")
    item_index = pd.Index(master.index.astype(str), name="item")
    n_items = len(item_index)
    resource_of = master["resource"].fillna("").astype(str).str.strip()
    resources = pd.Index(
        sorted((set(resource_of) | set(capacity["resource"].astype(str))) - {""}), name="resource"
    )
    n_res = len(resources)
    res_idx = resources.get_indexer(
        resource_of.to_numpy()
    )  # -1: no resource (bought or made to plan)
    has_res = res_idx >= 0
    hpu = pd.to_numeric(master["hours_per_unit"], errors="coerce").fillna(0.0).to_numpy(float)
    price = pd.to_numeric(master["price"], errors="coerce").fillna(0.0).to_numpy(float)
    cost = pd.to_numeric(master["unit_cost"], errors="coerce").fillna(0.0).to_numpy(float)
    lead = pd.to_numeric(master["lead_time_days"], errors="coerce").fillna(0.0).to_numpy(float)
    opening = pd.to_numeric(master["opening_stock"], errors="coerce").fillna(0.0).to_numpy(float)
    ind = sparse.csr_matrix(
        (np.ones(int(has_res.sum())), (res_idx[has_res], np.flatnonzero(has_res))),
        shape=(n_res, n_items),
    )

    # the month's production rows as arrays, their items found once (310,000 rows at 10,000 items)
    prod = production[production["date"] >= month]  # dates are days (a reader's or the sheet's)
    p_item = item_index.get_indexer(prod["item"].to_numpy(dtype=object))
    prod, p_item = prod[p_item >= 0], p_item[p_item >= 0]
    rows = _Rows(
        p_item,
        prod["date"].to_numpy().astype("datetime64[D]"),
        prod["produced"].to_numpy(float),
        prod["receipts"].to_numpy(float),
    )

    # what to make per item and day: the plan less the month's receipts; capacity per resource and day
    firsts = np.array(month_list, dtype="datetime64[M]")

    def by_month(row: np.ndarray, when: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
        """``value`` summed per row (0..n-1; -1 left out) and month (columns: the months of ``days``)."""
        out = np.zeros((n, len(month_list)))
        m = when.astype("datetime64[M]")
        col = np.searchsorted(firsts, m)
        ok = (row >= 0) & (col < len(firsts))
        ok[ok] = firsts[col[ok]] == m[ok]
        np.add.at(out, (row[ok], col[ok]), value[ok])
        return out

    vol = by_month(
        item_index.get_indexer(plan["item"].astype(str)),
        plan["month"].to_numpy(),
        plan["volume"].to_numpy(float),
        n_items,
    )
    make = np.maximum(vol - by_month(rows.item, rows.date, rows.receipts, n_items), 0.0)
    make[~has_res] = 0.0
    per_day = np.divide(make, wd[None, :], out=np.zeros_like(make), where=wd[None, :] > 0)
    p_full = per_day[:, month_idx] * working[None, :]
    cap = by_month(
        resources.get_indexer(capacity["resource"].astype(str)),
        capacity["month"].to_numpy(),
        capacity["hours"].to_numpy(float),
        n_res,
    )
    c0 = (
        np.divide(cap, wd[None, :], out=np.zeros_like(cap), where=wd[None, :] > 0)[:, month_idx]
        * working[None, :]
    )

    rate = np.ones((n_res, n_days))
    blocked = np.zeros((n_items, n_days), dtype=bool)
    for e in events.itertuples(index=False):
        span = _days_mask(days, e.start, e.end)
        if e.kind in (DOWN, RATE):
            r = resources.get_loc(str(e.resource))
            rate[r, span] = np.minimum(rate[r, span], 0.0 if e.kind == DOWN else float(e.rate))
        elif e.kind == BLOCKED:
            blocked[item_index.get_loc(str(e.item)), span] = True
    c = c0 * rate

    def share_of(load: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """Per resource and day, the share of its load that fits its hours."""
        return np.minimum(1.0, np.divide(hours, load, out=np.ones_like(load), where=load > _EPS))

    def per_item(f: np.ndarray) -> np.ndarray:
        out = np.ones((n_items, n_days))
        out[has_res] = f[res_idx[has_res]]
        return out

    load_full = ind @ (p_full * hpu[:, None])
    p_plan = p_full * per_item(
        share_of(load_full, c0)
    )  # the production plan: what fits undisrupted hours
    p_b = np.where(blocked, 0.0, p_full)
    load_b = ind @ (p_b * hpu[:, None])
    made = p_b * per_item(share_of(load_b, c))  # what will be made, events included
    spare = np.maximum(c - load_b, 0.0)

    # actuals: production, receipts, shipments
    made_days = rows.date[(rows.produced > 0) & (rows.date <= np.datetime64(month_end.date(), "D"))]
    supply_through = max(
        pd.Timestamp(through),
        pd.Timestamp(made_days.max()) if len(made_days) else month - pd.Timedelta(days=1),
    )
    st64 = np.datetime64(supply_through.date(), "D")
    done_row = rows.date <= st64
    produced = np.bincount(rows.item[done_row], weights=rows.produced[done_row], minlength=n_items)
    received = np.bincount(rows.item[done_row], weights=rows.receipts[done_row], minlength=n_items)
    act_rows = actuals[(actuals["date"] >= month) & (actuals["date"] <= pd.Timestamp(through))]
    a_item = item_index.get_indexer(act_rows["item"].to_numpy(dtype=object))
    known = a_item >= 0
    shipped = np.bincount(
        a_item[known], weights=act_rows["shipments"].to_numpy(float)[known], minlength=n_items
    )
    ordered = np.bincount(
        a_item[known], weights=act_rows["orders"].to_numpy(float)[known], minlength=n_items
    )
    stock_now = opening + produced + received - shipped
    backlog = np.maximum(ordered - shipped, 0.0)
    due = _due_receipts(prod[~done_row & (rows.receipts > 0)], events)

    # production month to date against plan, judged against the line's own day-to-day noise
    in_month = days <= np.datetime64(month_end.date(), "D")
    done = days <= st64
    month_plan = p_plan[:, in_month].sum(axis=1)
    mtd_plan = p_plan[:, in_month & done].sum(axis=1)
    share = np.divide(
        mtd_plan,
        month_plan,
        out=np.full(n_items, calendar.share(month, supply_through)),
        where=month_plan > _EPS,
    )
    dispersion = _dispersion(rows, done_row, res_idx, days, working & done, rate, blocked, n_res)
    sigma = noise_sigma(month_plan, share, np.zeros(n_items), dispersion=dispersion)
    z = drift_z(produced, mtd_plan, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = np.where(mtd_plan > _EPS, produced / mtd_plan - 1.0, np.nan)
    beyond = (np.abs(z) >= z_threshold) & (share > 0) & (mtd_plan > _EPS)
    behind = np.nan_to_num(-drift, nan=0.0)
    prod_flag = np.select(
        [
            beyond & (behind >= act),
            (beyond & (behind >= watch)) | ((behind >= act) & (np.abs(z) >= z_threshold / 2)),
        ],
        [_ACT, _WATCH],
        "",
    )

    # the weeks ahead: production, receipts, demand, stock
    ahead = days > st64
    wk = np.clip(week_of, 1, weeks)
    onehot = np.zeros((n_days, weeks))
    onehot[np.arange(n_days), wk - 1] = 1.0
    prod_w = made[:, ahead] @ onehot[ahead]
    rec_w = _by_week(due, item_index, starts[0], weeks, horizon_end)
    dem_w = np.zeros((n_items, weeks))
    d_item, d_week = (
        item_index.get_indexer(demand["item"].astype(str)),
        demand["week"].to_numpy(int),
    )
    d_ok = (d_item >= 0) & (d_week >= 1) & (d_week <= weeks)
    np.add.at(
        dem_w,
        (d_item[d_ok], d_week[d_ok] - 1),
        np.maximum(demand["plan_ahead"].to_numpy(float), demand["sensed_ahead"].to_numpy(float))[
            d_ok
        ],
    )
    first_ahead = int(
        np.clip((pd.Timestamp(through) + pd.Timedelta(days=1) - starts[0]).days // 7 + 1, 1, weeks)
    )
    dem_w[:, first_ahead - 1] += backlog
    closing = stock_now[:, None] + np.cumsum(prod_w + rec_w - dem_w, axis=1)
    ss = safety.reindex(item_index).fillna(0.0).to_numpy(float)

    def first_week(mask: np.ndarray) -> np.ndarray:
        k = np.where(mask.any(axis=1), mask.argmax(axis=1), -1)
        return k  # 0-based week, -1: none

    below_k = first_week(closing < ss[:, None] - _EPS)
    out_k = first_week(closing < -_EPS)
    shortage = np.maximum(-closing.min(axis=1), 0.0)
    days_ahead = max((horizon_end - pd.Timestamp(through)).days, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(
            dem_w.sum(axis=1) > _EPS, stock_now / (dem_w.sum(axis=1) / (days_ahead / 7.0)), np.nan
        )
    week_dates = np.array(starts, dtype="datetime64[ns]")
    frame = pd.DataFrame(
        {
            "item": item_index,
            "family": master["family"].fillna("").astype(str).to_numpy(),
            "resource": resource_of.to_numpy(),
            "mtd_plan": mtd_plan,
            "mtd_produced": produced,
            "drift_pct": drift,
            "z": np.where(mtd_plan > _EPS, z, np.nan),
            "beyond_noise": np.where(beyond, "Yes", "No"),
            "stock_now": stock_now,
            "safety_stock": ss,
            "weeks_of_cover": cover,
            "below_safety_week": np.where(
                below_k >= 0, week_dates[np.maximum(below_k, 0)], np.datetime64("NaT")
            ),
            "stockout_week": np.where(
                out_k >= 0, week_dates[np.maximum(out_k, 0)], np.datetime64("NaT")
            ),
            "revenue_at_risk": shortage * price,
        }
    )
    order = np.lexsort(
        (
            item_index.to_numpy(),
            -frame["revenue_at_risk"].to_numpy(),
            np.where(below_k >= 0, below_k, weeks),
            np.where(out_k >= 0, out_k, weeks),
        )
    )
    stock = pd.DataFrame(closing[order], columns=range(1, weeks + 1))
    frame = frame.iloc[order].reset_index(drop=True)

    week_frame = pd.DataFrame(
        {
            "week": range(1, weeks + 1),
            "week_start": starts,
            "horizon": [FROZEN if k <= frozen_weeks else OPEN for k in range(1, weeks + 1)],
        }
    )
    sites = pd.DataFrame(
        {
            "resource": resource_of.to_numpy(),
            "site": master["site"].fillna("").astype(str).to_numpy(),
        }
    )
    site = (
        sites.value_counts().reset_index().drop_duplicates("resource").set_index("resource")["site"]
    )  # most items
    hours_done = _done_hours(
        rows, done_row, prod["resource"], resources, res_idx, hpu, starts[0], weeks
    )
    in_weeks = (
        onehot * (week_of >= 1)[:, None]
    )  # the resource table counts the weeks' own days only
    res_frame = _resource_weeks(
        resources, site, week_frame, in_weeks, c0, c, load_full, spare, hours_done
    )

    ctx = _Context(
        item_index=item_index,
        master=master,
        resources=resources,
        res_idx=res_idx,
        hpu=hpu,
        price=price,
        cost=cost,
        site=site,
        starts=starts,
        weeks=weeks,
        ahead=ahead,
        onehot=onehot,
        spare=spare,
        events=events,
    )
    exceptions = _exceptions(
        ctx,
        as_of=pd.Timestamp(as_of),
        lead=lead,
        closing=closing,
        out_k=out_k,
        shortage=shortage,
        stock_now=stock_now,
        prod_w=prod_w,
        rec_w=rec_w,
        dem_w=dem_w,
        due=due,
        prod_flag=prod_flag,
        drift=drift,
        produced=produced,
        mtd_plan=mtd_plan,
        beyond=beyond,
        month_end=month_end,
        load_full=load_full,
        load_b=load_b,
        c=c,
        p_b=p_b,
        made=made,
        frozen_weeks=frozen_weeks,
        min_value_at_risk=min_value_at_risk,
    )
    return SupplyWeeks(frame, stock, res_frame, exceptions, week_frame, supply_through.date())


def _days_from(dates: pd.Series, first: pd.Timestamp) -> np.ndarray:
    return (dates.to_numpy().astype("datetime64[D]") - np.datetime64(first.date(), "D")).astype(
        np.int64
    )


def _due_receipts(rows: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Receipts still due (``item, date, qty, was, why``), moved by delay and block events."""
    due = pd.DataFrame(
        {
            "item": rows["item"].to_numpy(),
            "date": rows["date"].to_numpy(),
            "qty": rows["receipts"].to_numpy(float),
            "was": rows["date"].to_numpy(),
            "why": "",
        }
    )
    for e in events.itertuples(index=False):
        if e.kind not in (DELAYED, BLOCKED):
            continue
        hit = (due["item"] == str(e.item)) & (due["was"] >= e.start) & (due["was"] <= e.end)
        if e.kind == DELAYED:
            due.loc[hit, "date"] = due.loc[hit, "was"] + pd.Timedelta(days=int(float(e.delay_days)))
        else:
            late = hit & (due["date"] <= e.end)
            due.loc[late, "date"] = e.end + pd.Timedelta(days=1)
        due.loc[hit, "why"] = e.label
    return due


def _by_week(
    due: pd.DataFrame,
    item_index: pd.Index,
    first: pd.Timestamp,
    weeks: int,
    horizon_end: pd.Timestamp,
) -> np.ndarray:
    out = np.zeros((len(item_index), weeks))
    d = due[due["date"] <= horizon_end]
    if len(d):
        k = np.clip(_days_from(d["date"], first) // 7, 0, weeks - 1)
        np.add.at(out, (item_index.get_indexer(d["item"]), k), d["qty"].to_numpy(float))
    return out


@dataclass(frozen=True)
class _Rows:
    """The month's Production rows as arrays: item position, day, produced, receipts."""

    item: np.ndarray
    date: np.ndarray
    produced: np.ndarray
    receipts: np.ndarray


def _dispersion(
    rows: _Rows,
    done: np.ndarray,
    res_idx: np.ndarray,
    days: np.ndarray,
    counted: np.ndarray,
    rate: np.ndarray,
    blocked: np.ndarray,
    n_res: int,
) -> np.ndarray:
    """Per item, the day-to-day dispersion (variance / mean) of its resource's daily output.

    Each item's variance over mean of its daily production on the working days so far that no
    event touched (a missing day counts as zero); the resource's is the median over its items
    with 5 such days or more and some output; at least 1 (Poisson), 1 where there is no data.
    """
    out = np.ones(len(res_idx))
    if not done.any() or not counted.any():
        return out
    i, d = rows.item[done], np.searchsorted(days, rows.date[done])
    ok = d < len(days)
    i, d, q = i[ok], d[ok], rows.produced[done][ok]
    clean_day = counted[None, :] & ~blocked
    clean_day[res_idx >= 0] &= rate[res_idx[res_idx >= 0]] >= 1.0
    keep = clean_day[i, d]
    n = clean_day.sum(axis=1).astype(float)
    s1 = np.bincount(i[keep], weights=q[keep], minlength=len(res_idx))
    s2 = np.bincount(i[keep], weights=q[keep] ** 2, minlength=len(res_idx))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / n, 0.0)
        disp = np.where((n >= 5) & (mean > 0), (s2 / np.maximum(n, 1) - mean**2) / mean, np.nan)
    frame = pd.DataFrame({"r": res_idx, "disp": disp})
    med = frame[frame["r"] >= 0].dropna().groupby("r")["disp"].median()
    by_res = np.ones(n_res)
    by_res[med.index.to_numpy(int)] = np.maximum(med.to_numpy(float), 1.0)
    out[res_idx >= 0] = by_res[res_idx[res_idx >= 0]]
    return out


def _done_hours(
    rows: _Rows,
    done: np.ndarray,
    resource: pd.Series,
    resources: pd.Index,
    res_idx: np.ndarray,
    hpu: np.ndarray,
    first: pd.Timestamp,
    weeks: int,
) -> np.ndarray:
    """Hours of production done per resource and week (a row's resource, else the item's)."""
    out = np.zeros((len(resources), weeks))
    k = (rows.date[done] - np.datetime64(first.date(), "D")).astype(np.int64) // 7
    if not len(k):
        return out
    i = rows.item[done]
    own = resources.get_indexer(
        resource.to_numpy(dtype=object)[done]
    )  # "" or None: the item's own resource
    r = np.where(own >= 0, own, res_idx[i])
    ok = (r >= 0) & (k >= 0) & (k < weeks)
    np.add.at(out, (r[ok], k[ok]), rows.produced[done][ok] * hpu[i[ok]])
    return out


def _resource_weeks(
    resources: pd.Index,
    site: pd.Series,
    weeks: pd.DataFrame,
    onehot: np.ndarray,
    c0: np.ndarray,
    c: np.ndarray,
    load: np.ndarray,
    spare: np.ndarray,
    done: np.ndarray,
) -> pd.DataFrame:
    n_w = len(weeks)
    cap_w, avail_w, load_w, spare_w = (x @ onehot for x in (c0, c, load, spare))
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(avail_w > _EPS, load_w / avail_w, np.nan)
    return pd.DataFrame(
        {
            "resource": np.repeat(resources.to_numpy(), n_w),
            "site": np.repeat(site.reindex(resources).fillna("").to_numpy(), n_w),
            "week": np.tile(weeks["week"].to_numpy(), len(resources)),
            "week_start": np.tile(weeks["week_start"].to_numpy(), len(resources)),
            "horizon": np.tile(weeks["horizon"].to_numpy(), len(resources)),
            "capacity_hours": cap_w.ravel(),
            "event_hours": (cap_w - avail_w).ravel(),
            "available_hours": avail_w.ravel(),
            "load_hours": load_w.ravel(),
            "utilisation": util.ravel(),
            "overload": np.where(load_w.ravel() > avail_w.ravel() + 0.005, "Yes", "No"),
            "spare_hours": spare_w.ravel(),
            "done_hours": done.ravel(),
        }
    )


class _Context:
    """What the exception rules look up, worked out once (there may be thousands of exceptions)."""

    def __init__(
        self,
        *,
        item_index: pd.Index,
        master: pd.DataFrame,
        resources: pd.Index,
        res_idx: np.ndarray,
        hpu: np.ndarray,
        price: np.ndarray,
        cost: np.ndarray,
        site: pd.Series,
        starts: pd.DatetimeIndex,
        weeks: int,
        ahead: np.ndarray,
        onehot: np.ndarray,
        spare: np.ndarray,
        events: pd.DataFrame,
    ) -> None:
        self.item_index, self.master, self.resources, self.res_idx = (
            item_index,
            master,
            resources,
            res_idx,
        )
        self.hpu, self.price, self.cost, self.site, self.starts, self.weeks = (
            hpu,
            price,
            cost,
            site,
            starts,
            weeks,
        )
        self.ahead, self.onehot = ahead, onehot
        self.family = master["family"].fillna("").astype(str).to_numpy()
        self.spare_w = (
            spare[:, ahead] @ onehot[ahead]
        )  # spare hours per resource and week, days ahead only
        made_by = pd.DataFrame({"family": self.family, "r": res_idx})
        made_by = made_by[made_by["r"] >= 0].drop_duplicates()
        self.resources_of = made_by.groupby("family")["r"].agg(lambda r: sorted(set(r))).to_dict()
        # each item's due receipts, by date: (dates, quantities, why) (set by _exceptions)
        self.due: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.by_resource: dict[str, list[str]] = {}
        self.by_item: dict[str, list[str]] = {}
        for e in events.itertuples(index=False):
            if str(e.resource or ""):
                self.by_resource.setdefault(str(e.resource), []).append(e.label)
            if str(e.item or ""):
                self.by_item.setdefault(str(e.item), []).append(e.label)

    def spare_by(self, r: int, last_week: int, first_week: int = 1) -> float:
        """Spare hours of resource ``r`` on the days ahead of weeks first..last."""
        return float(self.spare_w[r, first_week - 1 : last_week].sum())

    def alternative(
        self, r: int, families: set[str], last_week: int, first_week: int = 1
    ) -> tuple[str, float]:
        """The other resource making these families with the most spare hours in those weeks."""
        others = sorted({o for f in families for o in self.resources_of.get(f, [])} - {r})
        best, most = "", 0.0
        for o in others:
            s = self.spare_by(int(o), last_week, first_week)
            if s > most + _EPS:
                best, most = str(self.resources[int(o)]), s
        return best, most

    def events_on(self, resource: str = "", item: str = "") -> list[str]:
        return (
            self.by_resource.get(resource, []) + self.by_item.get(item, [])
            if resource or item
            else []
        )

    def week(self, k: int) -> str:
        return f"W{k} ({self.starts[k - 1]:%d %b})"


def _exceptions(
    ctx: _Context,
    *,
    as_of: pd.Timestamp,
    lead: np.ndarray,
    closing: np.ndarray,
    out_k: np.ndarray,
    shortage: np.ndarray,
    stock_now: np.ndarray,
    prod_w: np.ndarray,
    rec_w: np.ndarray,
    dem_w: np.ndarray,
    due: pd.DataFrame,
    prod_flag: np.ndarray,
    drift: np.ndarray,
    produced: np.ndarray,
    mtd_plan: np.ndarray,
    beyond: np.ndarray,
    month_end: pd.Timestamp,
    load_full: np.ndarray,
    load_b: np.ndarray,
    c: np.ndarray,
    p_b: np.ndarray,
    made: np.ndarray,
    frozen_weeks: int,
    min_value_at_risk: float,
) -> pd.DataFrame:
    rows = []
    ctx.due = _due_by_item(due)
    month_week = int(np.clip((month_end - ctx.starts[0]).days // 7 + 1, 1, ctx.weeks))
    priority = (
        pd.to_numeric(ctx.master["priority"], errors="coerce").to_numpy(float)
        if "priority" in ctx.master.columns
        else np.full(len(ctx.item_index), np.nan)
    )
    for i in np.flatnonzero((out_k >= 0) | (prod_flag != "")):
        item = str(ctx.item_index[i])
        r = int(ctx.res_idx[i])
        res = str(ctx.resources[r]) if r >= 0 else ""
        k = int(out_k[i]) + 1 if out_k[i] >= 0 else 0
        inside = k > 0 and ctx.starts[k - 1] <= as_of + pd.Timedelta(days=float(lead[i]))
        flags = [prod_flag[i]] + ([_ACT if inside else _WATCH] if k else [])
        flag = _ACT if _ACT in flags else _WATCH
        value = -shortage[i] * ctx.price[i]
        parts = []
        if k:
            kw = int(np.argmin(closing[i])) + 1
            parts.append(
                f"Projected out of stock from {ctx.week(k)}, {'inside' if inside else 'beyond'} its lead "
                f"time of {lead[i]:.0f} days: short {shortage[i]:,.0f} units by W{kw} (stock now "
                f"{stock_now[i]:,.0f}; through W{kw} production {prod_w[i, :kw].sum():,.0f}, receipts "
                f"{rec_w[i, :kw].sum():,.0f}, demand {dem_w[i, :kw].sum():,.0f})"
            )
        if prod_flag[i]:
            noise = "beyond normal variation" if beyond[i] else "within normal variation"
            parts.append(
                f"Production {abs(drift[i]):.0%} behind plan month to date ({produced[i]:,.0f} vs "
                f"{mtd_plan[i]:,.0f} units, {noise})"
            )
            value = min(value, (produced[i] - mtd_plan[i]) * ctx.price[i])
        if abs(value) < min_value_at_risk:
            continue
        said = ctx.events_on(res, item)
        reason = "; ".join(parts) + (f"; events: {', '.join(said)}" if said else "")
        need_by = k if k else month_week
        short = shortage[i] if k else max(mtd_plan[i] - produced[i], 0.0)
        rows.append(
            {
                "item": item,
                "family": ctx.family[i],
                "area": AREA_SUPPLY,
                "flag": flag,
                "drift_pct": drift[i],
                "value_at_risk": value,
                "reason": reason,
                "action": _item_action(
                    ctx,
                    i,
                    res,
                    r,
                    need_by,
                    short,
                    inside,
                    due,
                    stock_now[i],
                    prod_w[i],
                    rec_w[i],
                    dem_w[i],
                    priority,
                ),
            }
        )
    rows += _capacity_rows(
        ctx, load_full, load_b, c, p_b, made, frozen_weeks, min_value_at_risk, priority
    )
    cols = ["item", "family", "area", "flag", "drift_pct", "value_at_risk", "reason", "action"]
    return pd.DataFrame(rows, columns=cols)


def _due_by_item(due: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each item's due receipts by date (ties in the order given): its dates, quantities and
    why, as arrays (looked up per exception item: a frame filtered per item costs 100x more)."""
    d = due.sort_values("date", kind="stable")
    codes, uniq = pd.factorize(d["item"], use_na_sentinel=True)
    order = np.argsort(codes, kind="stable")  # by item, each item's rows still by date
    codes = codes[order]
    dates, qty = d["date"].to_numpy()[order], d["qty"].to_numpy(dtype=float)[order]
    why = d["why"].to_numpy(dtype=object)[order]
    starts = np.searchsorted(codes, np.arange(len(uniq)), side="left")
    ends = np.searchsorted(codes, np.arange(len(uniq)), side="right")
    return {
        str(k): (dates[a:b], qty[a:b], why[a:b]) for k, a, b in zip(uniq, starts, ends, strict=True)
    }


def _ranking(ctx: _Context, members: np.ndarray, priority: np.ndarray) -> tuple[str, list[str]]:
    """How scarce capacity or stock is shared: by Priority where any item has one, else by margin per hour."""
    margin_h = np.divide(
        ctx.price - ctx.cost, ctx.hpu, out=(ctx.price - ctx.cost).copy(), where=ctx.hpu > 0
    )
    pr = priority[members]
    if np.isfinite(pr).any():
        order = np.lexsort((-margin_h[members], np.where(np.isfinite(pr), pr, np.inf)))
        key = "Priority, then margin per hour"
    else:
        order = np.argsort(-margin_h[members], kind="stable")
        key = "margin per hour"
    return key, [str(ctx.item_index[members[j]]) for j in order]


def _item_action(
    ctx: _Context,
    i: int | np.integer,
    res: str,
    r: int,
    need_by: int,
    short: float,
    inside: bool,
    due: pd.DataFrame,
    stock_now: float,
    prod_w: np.ndarray,
    rec_w: np.ndarray,
    dem_w: np.ndarray,
    priority: np.ndarray,
) -> str:
    """What would cover ``short`` units by week ``need_by``, with numbers."""
    item = str(ctx.item_index[i])
    parts: list[str] = []
    left = short
    late_dates = late_qty = late_why = np.empty(0)
    if (mine := ctx.due.get(item)) is not None:
        after = mine[0] >= pd.Timestamp(ctx.starts[need_by - 1]).to_datetime64()
        late_dates, late_qty, late_why = (a[after] for a in mine)
    if len(late_dates) and left > _EPS:
        enough = (
            int(np.searchsorted(np.cumsum(late_qty), left - _EPS)) + 1
        )  # the first receipts that cover it
        used_dates, used_qty = late_dates[:enough], late_qty[:enough]
        pull = min(left, float(used_qty.sum()))
        when = f"{pd.Timestamp(used_dates.min()):%Y-%m-%d}" + (
            f" to {pd.Timestamp(used_dates.max()):%Y-%m-%d}" if len(used_dates) > 1 else ""
        )
        why = "; ".join(dict.fromkeys(w for w in late_why[:enough] if w))
        parts.append(
            f"Expedite receipts: pull {pull:,.0f} units of the {used_qty.sum():,.0f} due {when} "
            f"forward to before {ctx.week(need_by)}" + (f" ({why})" if why else "")
        )
        left -= pull
    hpu = float(ctx.hpu[i])
    if r >= 0 and hpu > 0 and left > _EPS:
        hours = left * hpu
        own = ctx.spare_by(r, need_by)
        if own >= hours - _EPS:
            parts.append(
                f"Make {left:,.0f} more units on {res} by {ctx.week(need_by)}: {hours:,.1f} h of its "
                f"{own:,.0f} spare hours"
            )
        else:
            besides = f" besides its {own:,.0f} spare hours" if own >= 0.5 else ""
            parts.append(
                f"Overtime: {hours - own:,.1f} h on {res} by {ctx.week(need_by)}{besides} "
                f"({left:,.0f} units at {hpu:g} h each)"
            )
            alt, spare = ctx.alternative(r, {ctx.family[i]}, need_by)
            if alt:
                where = ctx.site.get(alt, "")
                parts.append(
                    f"or move {min(left, spare / hpu):,.0f} units to {alt}{f' ({where})' if where else ''}: "
                    f"{spare:,.0f} spare hours by {ctx.week(need_by)}"
                )
    elif r < 0 and left > _EPS:  # bought: what is on order does not cover it
        parts.append(
            f"order {left:,.0f} more from the supplier"
            + (
                ": what is on order does not cover the 13 weeks"
                if parts
                else f" for {ctx.week(need_by)}"
            )
        )
    if inside:  # until supply comes, what there is must be shared
        avail = stock_now + prod_w[:need_by].sum() + rec_w[:need_by].sum()
        wanted = dem_w[:need_by].sum()
        rank = f" (Priority {priority[i]:g})" if np.isfinite(priority[i]) else ""
        parts.append(
            f"allocate: {max(avail, 0):,.0f} of the {wanted:,.0f} units wanted through W{need_by} can "
            f"ship; serve the most important orders first{rank}"
        )
    text = "; ".join(parts) or "Re-plan supply: check the production plan and the stock"
    return text[0].upper() + text[1:]


def _capacity_rows(
    ctx: _Context,
    load_full: np.ndarray,
    load_b: np.ndarray,
    c: np.ndarray,
    p_b: np.ndarray,
    made: np.ndarray,
    frozen_weeks: int,
    min_value_at_risk: float,
    priority: np.ndarray,
) -> list[dict]:
    """A resource whose planned load is above its available hours on the days ahead of the frozen weeks."""
    if frozen_weeks < 1:
        return []
    frozen = ctx.ahead & ctx.onehot[:, :frozen_weeks].any(axis=1)
    if not frozen.any():
        return []
    over = np.maximum(load_b - c, 0.0)[:, frozen]
    lost_units = (p_b - made)[:, frozen].sum(axis=1)
    rows = []
    wk_of_day = ctx.onehot[frozen].argmax(axis=1) + 1
    last = min(frozen_weeks, ctx.weeks)
    for r in np.flatnonzero(over.sum(axis=1) > 0.005):
        res = str(ctx.resources[r])
        members = np.flatnonzero(ctx.res_idx == r)
        value = -float((lost_units[members] * ctx.price[members]).sum())
        if abs(value) < min_value_at_risk:
            continue
        hours = float(over[r].sum())
        hit = sorted(set(wk_of_day[over[r] > _EPS]))
        a, b = hit[0], hit[-1]
        span = f"W{a}" if a == b else f"W{a}-W{b}"
        load = float(load_b[r, frozen].sum())
        avail = float(c[r, frozen].sum())
        units = float(lost_units[members].sum())
        n = int((lost_units[members] > _EPS).sum())
        said = ctx.events_on(res)
        frozen_span = "W1" if last == 1 else f"W1-W{last}"
        reason = (
            f"{res}: {hours:,.0f} h of its planned load in {span} (frozen) fall on hours it does not have: "
            f"{units:,.0f} units of {n} item{'s' if n != 1 else ''} not made; over the frozen weeks "
            f"({frozen_span}, days ahead) load {load:,.0f} h against {avail:,.0f} h available"
            + (f"; events: {', '.join(said)}" if said else "")
        )
        own = ctx.spare_by(
            int(r), last, a
        )  # its own spare hours from the first short week to the frozen horizon
        families = set(ctx.family[members])
        key, ranked = _ranking(ctx, members, priority)
        if own >= hours - _EPS:
            action = (
                f"Re-plan: make the {units:,.0f} units on {res}'s spare hours in W{a}-W{last} "
                f"({hours:,.0f} h needed of {own:,.0f} spare)"
            )
        else:
            action = f"Overtime: {hours - own:,.1f} h on {res} in W{a}-W{last}" + (
                f" besides its {own:,.0f} spare hours" if own >= 0.5 else ""
            )
            alt, spare = ctx.alternative(int(r), families, last, a)
            if alt:
                where = ctx.site.get(alt, "")
                action += (
                    f"; or move {min(hours - own, spare):,.0f} h of work to {alt}"
                    f"{f' ({where})' if where else ''}: {spare:,.0f} spare hours in W{a}-W{last}"
                )
            action += f"; else allocate its {avail:,.0f} available hours by {key}: {', '.join(ranked[:3])} first"
        rows.append(
            {
                "item": res,
                "family": "",
                "area": AREA_CAPACITY,
                "flag": _ACT,
                "drift_pct": -hours / load if load > _EPS else np.nan,
                "value_at_risk": value,
                "reason": reason,
                "action": action,
            }
        )
    return rows
