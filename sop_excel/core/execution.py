"""S&OE: month-to-date actuals against the plan's month-to-date share, drift and exceptions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["compute_exceptions", "compute_execution", "merge_actuals", "working_days"]

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
    """One row per item that needs action, worst (largest value at risk) first."""
    flagged = execution[execution["status"].isin([STATUS_ACT, STATUS_WATCH])].copy()
    flagged = flagged[flagged["value_at_risk"].abs().fillna(0) >= min_value_at_risk]
    flagged["_severity"] = flagged["value_at_risk"].abs()
    flagged = flagged.sort_values(["_severity", "item"], ascending=[False, True], kind="stable")
    reasons, actions = [], []
    for r in flagged.itertuples(index=False):
        hot = r.mtd_orders > r.mtd_plan
        if r.mtd_plan <= 0:
            reasons.append(f"Orders of {r.mtd_orders:,.0f} units month to date with no plan")
            actions.append("Confirm the demand with sales; add it to the plan or raise to S&OP")
            continue
        word = "above" if hot else "below"
        reasons.append(f"Orders {abs(r.drift_pct):.0%} {word} plan month to date "
                       f"({r.mtd_orders:,.0f} vs {r.mtd_plan:,.0f} units); run-rate "
                       f"{r.projected:,.0f} vs month plan {r.month_plan:,.0f}")
        if hot:
            actions.append("Expedite supply or reallocate stock; check whether the uplift lasts"
                           if r.status == STATUS_ACT else "Watch: check stock cover for the month")
        else:
            actions.append("Check with sales; re-forecast or raise to S&OP"
                           if r.status == STATUS_ACT else "Watch: confirm open orders with sales")
    flagged["reason"] = reasons
    flagged["action"] = actions
    flagged["rank"] = np.arange(1, len(flagged) + 1)
    return flagged[["rank", "item", "family", "status", "drift_pct", "value_at_risk", "reason",
                    "action"]].reset_index(drop=True)
