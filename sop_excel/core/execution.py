"""S&OE: month-to-date actuals against the plan's month-to-date share, drift and exceptions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["compute_exceptions", "compute_execution", "exception_workflow", "merge_actuals", "working_days"]

STATUS_ACT, STATUS_WATCH, STATUS_OK = "Act", "Watch", "On track"


def working_days(month: dt.date, through: dt.date) -> tuple[int, int]:
    """(working days elapsed through ``through`` inclusive, working days in the month); Mon-Fri."""
    start = pd.Timestamp(month).replace(day=1)
    end = start + pd.offsets.MonthEnd(0)
    total = int(np.busday_count(start.date(), (end + pd.Timedelta(days=1)).date()))
    upto = min(pd.Timestamp(through), end)
    elapsed = int(np.busday_count(start.date(), (upto + pd.Timedelta(days=1)).date())) if upto >= start else 0
    return elapsed, total


def merge_actuals(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """New daily actuals replace existing rows of the same date and item; others are kept.

    Loading the same file twice gives the same table; a late correction replaces the old figure.
    """
    keep = existing.merge(new[["date", "item"]], on=["date", "item"], how="left", indicator=True)
    kept = existing[(keep["_merge"] == "left_only").to_numpy()]
    out = pd.concat([kept, new[existing.columns]], ignore_index=True) if len(kept) else new[existing.columns].copy()
    return out.sort_values(["date", "item"], kind="stable").reset_index(drop=True)


def compute_execution(plan: pd.DataFrame, actuals: pd.DataFrame, month: dt.date,
                      through: dt.date, *, watch: float, act: float) -> pd.DataFrame:
    """Month-to-date plan, actuals, drift, run-rate projection, value at risk and status per item.

    Args:
        plan: ``item, family, month_plan, price`` for the execution month (final forecast).
        actuals: daily ``date, item, orders, shipments``.
        month: any date in the execution month.
        through: the last day the actuals cover.
        watch, act: drift thresholds as fractions (0.1 = 10%).
    """
    elapsed, total = working_days(month, through)
    share = elapsed / total if total else 0.0
    start = pd.Timestamp(month).replace(day=1)
    in_month = actuals[(actuals["date"] >= start) & (actuals["date"] <= pd.Timestamp(through))]
    mtd = in_month.groupby("item")[["orders", "shipments"]].sum()
    out = plan.copy()
    out["mtd_plan"] = out["month_plan"] * share
    out["mtd_orders"] = out["item"].map(mtd["orders"]).fillna(0.0).astype(float)
    out["mtd_shipments"] = out["item"].map(mtd["shipments"]).fillna(0.0).astype(float)
    mtd_plan = out["mtd_plan"].to_numpy(dtype=float)
    orders = out["mtd_orders"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        drift = np.where(mtd_plan > 0, (orders - mtd_plan) / mtd_plan, np.nan)
    out["drift_pct"] = drift
    out["projected"] = orders / share if share > 0 else np.nan
    out["value_at_risk"] = (out["projected"] - out["month_plan"]) * out["price"]
    unplanned = (mtd_plan <= 0) & (orders > 0)
    size = np.abs(np.nan_to_num(drift))
    out["status"] = np.select([unplanned | (size >= act), size >= watch], [STATUS_ACT, STATUS_WATCH],
                              STATUS_OK)
    out.attrs.update(elapsed=elapsed, total=total, through=through)
    return out[["item", "family", "month_plan", "mtd_plan", "mtd_orders", "mtd_shipments",
                "drift_pct", "projected", "value_at_risk", "status"]]


def compute_exceptions(execution: pd.DataFrame, *, min_value_at_risk: float) -> pd.DataFrame:
    """One row per item that needs action, worst (largest value at risk) first.

    Suggested actions: **Expedite** (running hot, Act), **Reallocate** (running hot, Watch: move
    stock or capacity), **Re-forecast** (running cold), **Raise to S&OP** (demand with no plan, or a
    value at risk of ten times the listing threshold or more).
    """
    flagged = execution[execution["status"].isin([STATUS_ACT, STATUS_WATCH])].copy()
    flagged = flagged[flagged["value_at_risk"].abs().fillna(0) >= min_value_at_risk]
    flagged["_severity"] = flagged["value_at_risk"].abs()
    flagged = flagged.sort_values(["_severity", "item"], ascending=[False, True], kind="stable")
    reasons, actions = [], []
    big = max(min_value_at_risk, 1.0) * 10
    for r in flagged.itertuples(index=False):
        if r.mtd_plan <= 0:
            reasons.append(f"Orders of {r.mtd_orders:,.0f} units month to date with no plan")
            actions.append("Raise to S&OP: confirm the demand with sales and add it to the plan")
            continue
        hot = r.mtd_orders > r.mtd_plan
        reasons.append(f"Orders {abs(r.drift_pct):.0%} {'above' if hot else 'below'} plan month to date "
                       f"({r.mtd_orders:,.0f} vs {r.mtd_plan:,.0f} units); run-rate "
                       f"{r.projected:,.0f} vs month plan {r.month_plan:,.0f}")
        if abs(r.value_at_risk) >= big and r.status == STATUS_ACT:
            actions.append("Raise to S&OP: the month is off plan by a material amount")
        elif hot and r.status == STATUS_ACT:
            actions.append("Expedite: pull supply forward and check whether the uplift lasts")
        elif hot:
            actions.append("Reallocate: move stock or capacity to cover the extra demand")
        else:
            actions.append("Re-forecast: check with sales, then adjust the forecast or the supply plan")
    flagged["reason"] = reasons
    flagged["action"] = actions
    flagged["rank"] = np.arange(1, len(flagged) + 1)
    flagged = flagged.rename(columns={"status": "flag"})
    return flagged[["rank", "item", "family", "flag", "drift_pct", "value_at_risk", "reason",
                    "action"]].reset_index(drop=True)


_WORSE = {STATUS_WATCH: 1, STATUS_ACT: 2}


def exception_workflow(new: pd.DataFrame, old: pd.DataFrame, log: pd.DataFrame, now: pd.Timestamp,
                       month: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carry owners, statuses and comments over; retire resolved and cleared exceptions.

    Args:
        new: this refresh's exceptions (from :func:`compute_exceptions`).
        old: the Exceptions table as the planners left it (``owner, status, comment``).
        log: the exception log so far (``time, item, event, flag, value_at_risk, owner, comment``).
        now, month: the time of this refresh and the execution month.

    Returns:
        (the exceptions to show, log rows to append). An item a planner marked Resolved leaves the
        list and stays out for the month unless its flag worsens (Watch to Act) or its value at
        risk grows by half; items whose drift went away leave with a "cleared" entry.
    """
    keep = ["owner", "status", "comment"]
    prev = old.set_index("item")[keep] if len(old) else pd.DataFrame(columns=keep)
    this_month = log[(log["time"] >= month)] if len(log) else log
    resolved_at = (this_month[this_month["event"] == "resolved"].sort_values("time").groupby("item").last()
                   if len(this_month) else pd.DataFrame(columns=["flag", "value_at_risk"]))
    rows, events = [], []

    def event(item: str, kind: str, r: object, owner: str = "", comment: str = "") -> None:
        events.append({"time": now, "item": item, "event": kind, "flag": getattr(r, "flag", ""),
                       "value_at_risk": getattr(r, "value_at_risk", np.nan), "owner": owner, "comment": comment})

    for r in new.itertuples(index=False):
        owner, status, comment = (prev.loc[r.item, keep].tolist() if r.item in prev.index else ["", "", ""])
        owner, status, comment = (str(x) if isinstance(x, str) else "" for x in (owner, status, comment))
        if status == "Resolved":
            event(r.item, "resolved", r, owner, comment)
            continue
        if r.item in resolved_at.index:
            was = resolved_at.loc[r.item]
            worse = (_WORSE.get(r.flag, 0) > _WORSE.get(str(was["flag"]), 0)
                     or abs(r.value_at_risk) > 1.5 * abs(float(was["value_at_risk"] or 0)))
            if not worse:
                continue
            event(r.item, "reopened", r, owner, comment)
            status = "Open"
        elif r.item not in prev.index:
            event(r.item, "opened", r)
        rows.append({**r._asdict(), "owner": owner, "status": status or "Open", "comment": comment})
    for item in prev.index.difference(new["item"]):
        o = prev.loc[item]
        if str(o["status"]) != "Resolved":
            events.append({"time": now, "item": item, "event": "cleared", "flag": "", "value_at_risk": np.nan,
                           "owner": o["owner"] or "", "comment": o["comment"] or ""})
        else:
            events.append({"time": now, "item": item, "event": "resolved", "flag": "", "value_at_risk": np.nan,
                           "owner": o["owner"] or "", "comment": o["comment"] or ""})
    cols = [*new.columns, *keep]
    shown = pd.DataFrame(rows, columns=cols)
    shown["rank"] = np.arange(1, len(shown) + 1)
    return shown, pd.DataFrame(events, columns=["time", "item", "event", "flag", "value_at_risk", "owner", "comment"])
