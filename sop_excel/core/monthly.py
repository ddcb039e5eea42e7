"""The monthly close: a finished month's daily actuals become its History row per item, the
plan rolls to the next month, what each lock forecast for the month is scored against what
happened, and what the past months' plan inputs were is archived. Pure: frames in, frames out.

Used by ``macros.close_month`` (the ``close-month`` command and the ribbon's Close month button)
and by ``refresh-actuals`` (which keeps on the Actuals sheet only the months the views use).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_excel.core.drift import WorkCalendar
from sop_excel.core.scenarios import DRIVER_FIELDS
from sop_excel.errors import InputError

__all__ = [
    "ARCHIVE_COLUMNS",
    "JOURNAL_COLUMNS",
    "MonthDemand",
    "actuals_window",
    "archive_drivers",
    "archive_forecast_inputs",
    "archive_targets",
    "archive_inputs",
    "changed_closed_days",
    "close_record",
    "first_working_day",
    "keep_from",
    "keep_snapshots",
    "missing_days",
    "month_demand",
    "month_end",
    "month_start",
    "month_to_close",
    "replace_month",
    "same_actuals",
    "score_into",
    "score_month",
    "snapshots_through",
    "unscored_months",
    "waterfall",
]

# the Archive table: when, by whom, what kind; a driver's fields, an input's reason, the comment
ARCHIVE_COLUMNS = [
    "archived",
    "by",
    "what",
    *(f for f in DRIVER_FIELDS if f != "comment"),
    "reason_code",
    "comment",
]
JOURNAL_COLUMNS = [
    "month",
    "lag",
    "version",
    "cycle",
    "level",
    "name",
    "items",
    "actual",
    "naive",
    "baseline",
    "final",
    "naive_wmape",
    "baseline_wmape",
    "final_wmape",
    "bias_pct",
    "fva_baseline",
    "fva_final",
    "fva_total",
]


def month_start(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    """The first of the month holding ``day``, at midnight."""
    return pd.Timestamp(day).normalize().replace(day=1)


def month_end(month: dt.date | pd.Timestamp) -> pd.Timestamp:
    """The last day of the month holding ``month``."""
    return month_start(month) + pd.offsets.MonthEnd(0)


def keep_from(as_of: dt.date | pd.Timestamp) -> pd.Timestamp:
    """The first day the Actuals sheet keeps: the month before the as-of month.

    Execution and Sensing read the as-of month; the 13 weeks start on the Monday of the as-of
    date's week (in the month before when the month starts mid-week); the weekday profile learns
    from every day loaded; and a late correction of the month just closed re-closes it from its
    daily rows. Older days are History's (monthly totals), not the sheet's.
    """
    return month_start(as_of) - pd.DateOffset(months=1)


def first_working_day(month: dt.date | pd.Timestamp, calendar: WorkCalendar) -> dt.date:
    """The first working day of the month (Monday to Friday, holidays excluded)."""
    day = month_start(month)
    for _ in range(31):
        if calendar.is_working(day):
            return day.date()
        day += pd.Timedelta(days=1)
    return month_start(month).date()  # a month without a working day: its first


def missing_days(
    actuals: pd.DataFrame, month: pd.Timestamp, calendar: WorkCalendar
) -> list[dt.date]:
    """Working days of the month on which the actuals hold no row at all (for any item).

    A day with rows for some items only is not missing: many sources send only the items that
    had orders. Weekend days and holidays are never missing (their rows count when present).
    """
    start, end = month_start(month), month_end(month)
    days = pd.date_range(start, end, freq="D")
    working = [d for d in days if calendar.is_working(d)]
    dates = actuals["date"]
    seen = set(pd.DatetimeIndex(dates[(dates >= start) & (dates <= end)].unique()).normalize())
    return [d.date() for d in working if d not in seen]


@dataclass(frozen=True)
class MonthDemand:
    """A month's demand per item, as History rows.

    ``rows``: ``item, month, qty, flag`` (flag: the planner's flag of the row it replaces, else
    empty). ``without_actuals``: items with History before the month and no actuals in it (they
    get 0). ``not_launched``: items with neither (no row: a 0 would start their history).
    ``unknown``: items in the actuals that are not on the Items sheet (left out).
    """

    rows: pd.DataFrame
    without_actuals: list[str]
    not_launched: list[str]
    unknown: list[str]

    @property
    def total(self) -> float:
        return float(self.rows["qty"].sum())


def month_demand(
    actuals: pd.DataFrame,
    month: pd.Timestamp,
    items: pd.DataFrame,
    history: pd.DataFrame,
    measure: str = "orders",
) -> MonthDemand:
    """The month's ``measure`` (orders or shipments) per item, from the daily actuals."""
    start, end = month_start(month), month_end(month)
    days = actuals[(actuals["date"] >= start) & (actuals["date"] <= end)]
    by_item = days.groupby("item", sort=False)[measure].sum()
    known = pd.Index(items["item"].drop_duplicates())
    with_history = set(history.loc[history["month"] < start, "item"])
    has_rows = known.isin(by_item.index)
    old_history = known.isin(list(with_history))
    keep = has_rows | old_history
    chosen = known[keep]
    qty = by_item.reindex(chosen).fillna(0.0).astype(float).to_numpy()
    before = (
        history[history["month"] == start]
        .drop_duplicates("item", keep="last")
        .set_index("item")["flag"]
    )
    flags = pd.Series(chosen, dtype=object).map(before).fillna("").astype(object).to_numpy()
    rows = pd.DataFrame(
        {"item": chosen.to_numpy(dtype=object), "month": start, "qty": qty, "flag": flags}
    )
    rows["month"] = (
        rows["month"].astype("datetime64[us]") if len(rows) else pd.Series(dtype="datetime64[us]")
    )
    return MonthDemand(
        rows=rows,
        without_actuals=sorted(known[old_history & ~has_rows]),
        not_launched=sorted(known[~keep]),
        unknown=sorted(set(by_item.index) - set(known)),
    )


def replace_month(
    history: pd.DataFrame, rows: pd.DataFrame, month: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History with the month's rows replaced by ``rows``: rows of items already there keep
    their place, new ones are added at the bottom, rows of the month for items not in ``rows``
    are removed.

    Returns:
        (the new History, the changes: ``item, old, new`` for every item whose quantity for the
        month changed, appeared or went; empty when the month is as it was).
    """
    start = month_start(month)
    cols = list(history.columns)
    in_month = (history["month"] == start).to_numpy()
    old = (
        history[in_month]
        .drop_duplicates("item", keep="last")
        .set_index("item")["qty"]
        .astype(float)
    )
    new = rows.set_index("item")["qty"].astype(float)
    both = old.index.union(new.index, sort=False)
    o, n = old.reindex(both), new.reindex(both)
    differ = ~(
        np.isclose(o.fillna(-1.0).to_numpy(), n.fillna(-1.0).to_numpy(), rtol=0, atol=1e-9)
        & (o.isna().to_numpy() == n.isna().to_numpy())
    )
    changes = pd.DataFrame(
        {"item": both[differ], "old": o.to_numpy()[differ], "new": n.to_numpy()[differ]}
    )
    if not differ.any() and len(old) == int(in_month.sum()):
        return history, changes
    out = history.copy()
    positions = np.flatnonzero(in_month)
    stay = out.iloc[positions]["item"].isin(new.index).to_numpy()
    here = out.iloc[positions[stay]]
    out.iloc[positions[stay], out.columns.get_loc("qty")] = here["item"].map(new).to_numpy()
    drop = positions[~stay]
    if len(drop):
        out = out.drop(out.index[drop])
    added = rows[~rows["item"].isin(set(here["item"]))][cols]
    out = pd.concat([out, added], ignore_index=True) if len(added) else out.reset_index(drop=True)
    return out, changes


def score_month(
    snapshots: pd.DataFrame, actual: pd.DataFrame, month: pd.Timestamp, min_lag: int = 1
) -> pd.DataFrame:
    """Every lock's forecast of ``month`` (lag ``min_lag`` and more) against its actuals, in
    total and per family: one row per lock (version), lag and level.

    Args:
        snapshots: ``version, cycle, item, family, month, lag, naive, baseline, final``.
        actual: the month's History rows (``item, qty``).

    Columns: :data:`JOURNAL_COLUMNS`. WMAPE = sum |actual - forecast| / sum actual; bias % =
    sum final / sum actual - 1; FVA = the WMAPE a step removed (statistical vs naive, consensus
    vs statistical, consensus vs naive): > 0, the step helped.
    """
    start = month_start(month)
    snap = snapshots[(snapshots["month"] == start) & (snapshots["lag"] >= min_lag)]
    act = (
        actual.dropna(subset=["qty"])
        .drop_duplicates("item", keep="last")
        .set_index("item")["qty"]
        .astype(float)
    )
    snap = snap[snap["item"].isin(act.index)]
    if snap.empty:
        return pd.DataFrame(columns=JOURNAL_COLUMNS)
    s = snap.assign(actual=snap["item"].map(act).to_numpy(dtype=float))
    for c in ("naive", "baseline", "final"):
        s[c] = s[c].astype(float)
        s[f"e_{c}"] = (s[c] - s["actual"]).abs()
    parts = []
    for level, by in (
        ("Total", ["version", "lag", "cycle"]),
        ("Family", ["version", "lag", "cycle", "family"]),
    ):
        g = s.groupby(by, as_index=False, sort=True).agg(
            items=("item", "size"),
            actual=("actual", "sum"),
            naive=("naive", "sum"),
            baseline=("baseline", "sum"),
            final=("final", "sum"),
            e_naive=("e_naive", "sum"),
            e_baseline=("e_baseline", "sum"),
            e_final=("e_final", "sum"),
        )
        g.insert(0, "level", level)
        g["name"] = g["family"] if level == "Family" else "Total"
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    total = out["actual"].to_numpy(dtype=float)
    pos = total > 0

    def ratio(x: np.ndarray) -> np.ndarray:
        return np.divide(x, total, out=np.full(len(out), np.nan), where=pos)

    for c in ("naive", "baseline", "final"):
        out[f"{c}_wmape"] = ratio(out[f"e_{c}"].to_numpy(dtype=float))
    out["bias_pct"] = ratio(out["final"].to_numpy(dtype=float) - total)
    out["fva_baseline"] = out["naive_wmape"] - out["baseline_wmape"]
    out["fva_final"] = out["baseline_wmape"] - out["final_wmape"]
    out["fva_total"] = out["naive_wmape"] - out["final_wmape"]
    out["month"] = start
    out["lag"] = out["lag"].astype(int)
    out["version"] = out["version"].astype(int)
    out["items"] = out["items"].astype(int)
    order = np.lexsort(
        (
            out["name"].to_numpy(dtype=str),
            (out["level"] != "Total").to_numpy(),
            out["version"].to_numpy(),
            out["lag"].to_numpy(),
        )
    )
    return out.iloc[order][JOURNAL_COLUMNS].reset_index(drop=True)


def _archive(
    now: pd.Timestamp, by: str, what: str | pd.Series, n: int, **cols: object
) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            c: cols.get(
                c,
                ""
                if c not in ("from_month", "to_month", "value", "price", "unit_cost")
                else np.nan,
            )
            for c in ARCHIVE_COLUMNS[3:]
        },
        index=range(n),
    )
    out.insert(0, "what", what if isinstance(what, str) else what.to_numpy())
    out.insert(0, "by", by)
    out.insert(0, "archived", now)
    for c in ("from_month", "to_month"):
        out[c] = pd.to_datetime(out[c])
    return out[ARCHIVE_COLUMNS]


def _text(s: pd.Series) -> np.ndarray:
    return s.fillna("").astype(str).to_numpy()


def archive_forecast_inputs(rows: pd.DataFrame, now: pd.Timestamp, by: str) -> pd.DataFrame:
    """Archive rows for a planner's Forecast inputs (override, reason code, comment) of
    ``rows`` (``item, month, override, reason_code, comment``; only rows with any of them)."""
    typed = (
        rows["override"].notna()
        | (_text(rows["reason_code"]) != "")
        | (_text(rows["comment"]) != "")
    )
    r = rows[typed.to_numpy()]
    what = pd.Series(np.where(r["override"].notna(), "Override", "Forecast comment"), index=r.index)
    return _archive(
        now,
        by,
        what,
        len(r),
        family=_text(r["family"]) if "family" in r else "",
        item=_text(r["item"]),
        from_month=r["month"].to_numpy(),
        value=r["override"].astype(float).to_numpy(),
        reason_code=_text(r["reason_code"]),
        comment=_text(r["comment"]),
    )


def archive_inputs(
    inputs: pd.DataFrame, before: pd.Timestamp, now: pd.Timestamp, by: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Sales and Marketing inputs that still apply, archive rows of those for months before ``before``)."""
    past = (inputs["month"] < before).to_numpy()
    r = inputs[past]
    rows = _archive(
        now,
        by,
        r["stream"].astype(str) + " input",
        len(r),
        item=_text(r["item"]),
        from_month=r["month"].to_numpy(),
        value=r["qty"].astype(float).to_numpy(),
        comment=_text(r["comment"]),
    )
    return inputs[~past], rows


def archive_targets(
    targets: pd.DataFrame, before: pd.Timestamp, now: pd.Timestamp, by: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Family targets that still apply, archive rows of those for months before ``before``)."""
    past = (targets["month"] < before).to_numpy()
    r = targets[past]
    rows = _archive(
        now,
        by,
        "Family target",
        len(r),
        family=_text(r["family"]),
        from_month=r["month"].to_numpy(),
        value=r["target"].astype(float).to_numpy(),
        comment=_text(r["comment"]),
    )
    return targets[~past], rows


def archive_drivers(
    drivers: pd.DataFrame, before: pd.Timestamp, now: pd.Timestamp, by: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(Scenario drivers that still apply, archive rows of those whose range ended before
    ``before``). A driver without an end month, or ending in ``before`` or later, stays."""
    past = (drivers["to_month"].notna() & (drivers["to_month"] < before)).to_numpy()
    r = drivers[past]
    rows = _archive(
        now,
        by,
        "Driver",
        len(r),
        scenario=_text(r["scenario"]),
        kind=_text(r["kind"]),
        family=_text(r["family"]),
        item=_text(r["item"]),
        resource=_text(r["resource"]),
        from_month=r["from_month"].to_numpy(),
        to_month=r["to_month"].to_numpy(),
        value=r["value"].astype(float).to_numpy(),
        price=r["price"].astype(float).to_numpy(),
        unit_cost=r["unit_cost"].astype(float).to_numpy(),
        comment=_text(r["comment"]),
    )
    return drivers[~past], rows


def roll_opening_stock(
    items: pd.DataFrame, actuals: pd.DataFrame, production: pd.DataFrame, month: pd.Timestamp
) -> tuple[pd.DataFrame, int]:
    """Items > Opening stock carried from the start of ``month`` to the start of the next:
    + produced + received - shipped in the month (the supply view's stock arithmetic, issue 21).

    Only where the workbook has supply data for the month (Production rows dated in it): without
    them the month's flow is not known and the stock is left as it is. Returns (items, how many
    items' stock changed)."""
    start, end = month_start(month), month_end(month)
    made = production[(production["date"] >= start) & (production["date"] <= end)]
    if made.empty:
        return items, 0
    days = actuals[(actuals["date"] >= start) & (actuals["date"] <= end)]
    flow = (
        made.groupby("item")["produced"]
        .sum()
        .add(made.groupby("item")["receipts"].sum(), fill_value=0.0)
        .sub(days.groupby("item")["shipments"].sum(), fill_value=0.0)
    )
    delta = items["item"].map(flow).fillna(0.0).astype(float)
    out = items.assign(
        opening_stock=items["opening_stock"].fillna(0.0).astype(float) + delta.to_numpy()
    )
    return out, int((delta != 0).sum())


def actuals_window(actuals: pd.DataFrame, first: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows dated ``first`` or later, the earlier rows)."""
    early = (actuals["date"] < first).to_numpy()
    if not early.any():
        return actuals, actuals.iloc[0:0]
    return actuals[~early].reset_index(drop=True), actuals[early]


def changed_closed_days(
    existing: pd.DataFrame, new: pd.DataFrame, months: list[pd.Timestamp], measure: str
) -> pd.DataFrame:
    """Rows of ``new`` in a closed month (``months``) whose ``measure`` differs from the row of
    the same day and item in ``existing`` (or that had none): what makes that month's History
    out of date. Columns ``month, date, item, old, new``."""
    cols = ["month", "date", "item", "old", "new"]
    if not months or new.empty:
        return pd.DataFrame(columns=cols)
    start = new["date"].dt.to_period("M").dt.start_time
    hit = new[start.isin(months).to_numpy()]
    if hit.empty:
        return pd.DataFrame(columns=cols)
    was = existing[["date", "item", measure]].rename(columns={measure: "old"})
    m = (
        hit[["date", "item", measure]]
        .rename(columns={measure: "new"})
        .merge(was, on=["date", "item"], how="left")
    )
    differ = m["old"].isna() | ~np.isclose(
        m["old"].fillna(0).to_numpy(dtype=float),
        m["new"].fillna(0).to_numpy(dtype=float),
        rtol=0,
        atol=1e-9,
    )
    m = m[differ.to_numpy()]
    return m.assign(month=m["date"].dt.to_period("M").dt.start_time)[cols].reset_index(drop=True)


def unscored_months(
    snapshots: pd.DataFrame, history: pd.DataFrame, journal: pd.DataFrame, before: pd.Timestamp
) -> list[pd.Timestamp]:
    """Months before ``before`` that locks forecast (lag 1 or more) and History holds, but the
    closed-months accuracy has no row for (months closed before close-month existed, or the
    simulated past of a demo): scored before their forecasts are thinned out."""
    snap = snapshots[(snapshots["lag"] >= 1) & (snapshots["month"] < before)]
    have = set(pd.DatetimeIndex(history.dropna(subset=["qty"])["month"].unique()))
    done = set(pd.DatetimeIndex(journal["month"].unique())) if len(journal) else set()
    return sorted(
        m for m in pd.DatetimeIndex(snap["month"].unique()) if m in have and m not in done
    )


def keep_snapshots(
    snapshots: pd.DataFrame,
    before: pd.Timestamp,
    keep_months: int = 12,
    max_lag: int | None = None,
    scored: set[pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """The lock snapshots still needed: every row of a month from ``before`` on (still to be
    scored, or to be closed again from the Actuals sheet) up to lag ``max_lag``; of an earlier
    month that the closed-months accuracy has scored (``scored``; all earlier months when None),
    the lag-1 rows of the last ``keep_months`` months (each item's forecast error spread and
    tracking signal read them), the rest being summed up there (total and per family, by lock
    and lag); of an earlier month not scored, every row."""
    month = snapshots["month"]
    done = (month < before) if scored is None else ((month < before) & month.isin(list(scored)))
    keep = ~done | ((snapshots["lag"] == 1) & (month >= before - pd.DateOffset(months=keep_months)))
    if max_lag is not None:
        keep &= snapshots["lag"] <= max_lag
    return snapshots if keep.all() else snapshots[keep.to_numpy()].reset_index(drop=True)


def snapshots_through(snapshots: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    """The lock snapshots of months up to ``last``: all that close-month reads of them when
    History holds no later month. Scoring a month, the months never scored, the FVA and the
    waterfall, the error spread and the tracking signal all match a snapshot with History's
    month (or pick months before the one closed): a snapshot of a month History does not hold
    changes none of them (a test closes the demo with and without them). Two thirds of the
    rows at 10,000 items (the months ahead of each lock) that need not be sent from the
    reader process nor gone through. Row positions (``excel_rows``) are not carried over."""
    keep = (snapshots["month"] <= last).to_numpy()
    if keep.all():
        return snapshots
    out = snapshots[keep].reset_index(drop=True)
    out.attrs = {k: v for k, v in snapshots.attrs.items() if k == "excel_columns"}
    return out


def waterfall(by_snapshots: pd.DataFrame, journal: pd.DataFrame) -> pd.DataFrame:
    """The error waterfall (``family, month, lag, final, actual, error, ape``): the closed-months
    accuracy's family rows (the latest lock for each family, month and lag) where it has them,
    else what the snapshots give (:func:`sop_excel.core.lock.accuracy`)."""
    fam = journal[journal["level"] == "Family"] if len(journal) else journal
    if fam is None or fam.empty:
        return by_snapshots
    j = (
        fam.sort_values("version")
        .drop_duplicates(["name", "month", "lag"], keep="last")
        .rename(columns={"name": "family"})[["family", "month", "lag", "final", "actual"]]
    )
    j = j.assign(error=j["final"].astype(float) - j["actual"].astype(float))
    act = j["actual"].to_numpy(dtype=float)
    j["ape"] = np.divide(
        np.abs(j["error"].to_numpy(dtype=float)), act, out=np.full(len(j), np.nan), where=act > 0
    )
    key = ["family", "month", "lag"]
    rest = by_snapshots.merge(j[key], on=key, how="left", indicator=True)
    rest = by_snapshots[(rest["_merge"] == "left_only").to_numpy()]
    out = (
        pd.concat([rest, j[by_snapshots.columns]], ignore_index=True)
        if len(rest)
        else j[by_snapshots.columns]
    )
    out["lag"] = out["lag"].astype(int)
    return out.sort_values(key).reset_index(drop=True)


def score_into(
    journal: pd.DataFrame,
    snapshots: pd.DataFrame,
    history: pd.DataFrame,
    month: pd.Timestamp,
    backfill_before: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.Timestamp]]:
    """The closed-months accuracy with ``month`` scored (again) from ``snapshots`` against
    ``history``: its rows are replaced, but for the locks and lags whose item forecasts are no
    longer kept (a month closed again after its snapshots were thinned), which keep the scores
    of the month's first close. With ``backfill_before``, months before it that were never
    scored (:func:`unscored_months`) are scored too.

    Returns (the journal sorted by month, lag and lock; the month's new rows; the months backfilled).
    """
    start = month_start(month)
    scored = score_month(snapshots, history[history["month"] == start], start)
    old = journal[journal["month"] == start]
    if len(old) and len(scored):
        done = set(zip(scored["version"].astype(int), scored["lag"].astype(int), strict=True))
        old = old[
            [(int(v), int(g)) not in done for v, g in zip(old["version"], old["lag"], strict=True)]
        ]
    parts = [p for p in (journal[journal["month"] != start], scored, old) if len(p)]
    backfilled = (
        unscored_months(snapshots, history, pd.concat(parts) if parts else journal, backfill_before)
        if backfill_before is not None
        else []
    )
    parts += [score_month(snapshots, history[history["month"] == m], m) for m in backfilled]
    parts = [p for p in parts if len(p)]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=JOURNAL_COLUMNS)
    out = out.sort_values(["month", "lag", "version"], kind="stable").reset_index(drop=True)
    return out[JOURNAL_COLUMNS], scored, backfilled


def close_record(
    closes: pd.DataFrame,
    month: pd.Timestamp,
    now: pd.Timestamp,
    user: str,
    measure: str,
    demand: MonthDemand,
    days_missing: int,
    forced: bool,
    changes: pd.DataFrame,
) -> tuple[pd.DataFrame, str]:
    """The closed-months table with ``month``'s record (added, or replaced when closed again),
    and the record's note (which items changed, for a second close)."""
    again = bool((closes["month"] == month).any())
    times = (
        int(closes.loc[closes["month"] == month, "times_closed"].fillna(1).max()) + 1
        if again
        else 1
    )
    text = "; ".join(
        f"{r.item} {0 if pd.isna(r.old) else r.old:,.0f} -> {0 if pd.isna(r.new) else r.new:,.0f}"
        for r in changes.head(10).itertuples(index=False)
    )
    note = (
        "closed"
        if not again
        else f"closed again: {len(changes)} items changed" + (f" ({text})" if text else "")
    )
    record = pd.DataFrame(
        [
            {
                "month": month,
                "closed_at": now,
                "user": user,
                "measure": measure,
                "items": len(demand.rows),
                "total": demand.total,
                "no_actuals": len(demand.without_actuals),
                "days_missing": days_missing,
                "forced": "Yes" if forced else "No",
                "times_closed": times,
                "note": note[:250],
            }
        ]
    )
    rest = closes[closes["month"] != month]
    out = pd.concat([rest, record], ignore_index=True) if len(rest) else record
    return out.sort_values("month", kind="stable").reset_index(drop=True), text


def month_to_close(
    as_of_month: pd.Timestamp, closed: list[pd.Timestamp], month: object, today: dt.date
) -> pd.Timestamp:
    """The month ``close-month`` closes: ``month`` if given (the as-of month or an earlier one);
    else the as-of month once it is over, or, before that, the month before it when it was
    closed already (so a second run changes nothing unless its actuals changed)."""
    if month is not None:
        target = month_start(month)
        if target > as_of_month:
            raise InputError(
                f"{target:%B %Y} comes after the as-of month ({as_of_month:%B %Y}): months "
                f"close in order. Close {as_of_month:%B %Y} first; it moves Settings > "
                "As-of date into the next month."
            )
        return target
    if today > month_end(as_of_month).date():
        return as_of_month
    previous = as_of_month - pd.DateOffset(months=1)
    return previous if previous in closed else as_of_month


def same_actuals(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two Actuals frames hold the same days, items and figures."""
    if len(a) != len(b):
        return False
    cols = ["date", "item", "orders", "shipments"]
    x, y = (
        f[cols].sort_values(["date", "item"], kind="stable").reset_index(drop=True) for f in (a, b)
    )
    return bool(
        (x["date"].to_numpy() == y["date"].to_numpy()).all()
        and (x["item"].to_numpy() == y["item"].to_numpy()).all()
        and np.allclose(
            x[cols[2:]].to_numpy(dtype=float),
            y[cols[2:]].to_numpy(dtype=float),
            rtol=0,
            atol=1e-9,
            equal_nan=True,
        )
    )
