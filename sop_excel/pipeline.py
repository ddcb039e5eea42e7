"""The planning steps as pure functions: frames in, frames out. No workbook, no files.

The macros (refresh forecast, refresh actuals) and the demo builder call these, so a ribbon
button, its CLI command and the demo compute the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from sop_excel.core.execution import compute_exceptions, compute_execution
from sop_excel.core.finance import compute_final, compute_finance
from sop_excel.errors import CellProblem, InputError
from sop_excel.models import Settings

__all__ = [
    "check_history",
    "execution_frames",
    "finance_frame",
    "forecast_frames",
    "months_between",
    "trend_frame",
]

Progress = Callable[[int, int], None]


def months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    """Whole months from a to b (b later gives a positive number)."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def check_history(items: pd.DataFrame, history: pd.DataFrame) -> None:
    """Items known, flags from the list; all problems at once, by History row."""
    known = set(items["item"])
    rows = history.attrs.get("excel_rows", list(range(len(history))))
    problems = []
    for r, item, flag in zip(rows, history["item"], history["flag"], strict=True):
        if item not in known:
            problems.append(CellProblem(f"Sheet 'History', row {r}", item,
                                        "is not an item on the Items sheet",
                                        "Add the item to Items or correct the code."))
        if flag not in ("", "stockout"):
            problems.append(CellProblem(f"Sheet 'History', row {r}", flag, "is not a known flag",
                                        "Leave Flag empty or write stockout."))
    if problems:
        raise InputError("Sheet 'History' has rows sop-excel cannot use", problems)


def forecast_frames(settings: Settings, items: pd.DataFrame, history: pd.DataFrame,
                    progress: Progress | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline forecast per item and month, and the model used per item.

    History rows from the as-of month on are left out (the as-of month is being planned).

    Returns:
        (forecast: item, family, month, baseline, lo_80, hi_80, lo_95, hi_95,
         models: item, family, method, reason, fallback, backtest_mase, backtest_bias, history_months)
    """
    import forecasting

    check_history(items, history)
    as_of_month = pd.Timestamp(settings.as_of).replace(day=1)
    hist = history[history["month"] < as_of_month]
    frame = pd.DataFrame({
        "unique_id": hist["item"].astype(str),
        "ds": hist["month"],
        "y": np.where(hist["flag"] == "stockout", np.nan, hist["qty"].astype(float)),
    })
    active = items[items["item"].isin(frame["unique_id"])]
    methods = {i: m for i, m in zip(active["item"], active["method"], strict=True) if m}
    bad = [(i, m) for i, m in methods.items() if m not in forecasting.METHODS]
    if bad:
        rows = dict(zip(items["item"], items.attrs.get("excel_rows", range(len(items))), strict=False))
        raise InputError("Sheet 'Items' names forecasting methods that do not exist", [
            CellProblem(f"Sheet 'Items', row {rows.get(i, '?')} (item {i}), column Method", m,
                        "is not a forecasting method",
                        f"Pick one of {', '.join(forecasting.METHODS)} or leave it empty.")
            for i, m in bad])
    if settings.forecast_method not in forecasting.METHODS:
        raise InputError("Sheet 'Settings' has a value sop-excel cannot use", [CellProblem(
            "Sheet 'Settings', Forecast method", settings.forecast_method,
            "is not a forecasting method", f"Pick one of {', '.join(forecasting.METHODS)}.")])
    last = frame["ds"].max()
    gap = months_between(last, as_of_month) - 1 if pd.notna(last) else 0
    out = forecasting.forecast(frame, h=settings.horizon + max(gap, 0), method=settings.forecast_method,
                               methods=methods or None, progress=progress)
    out = out[out["ds"] >= as_of_month]
    family = items.drop_duplicates("item").set_index("item")["family"]
    fc = pd.DataFrame({
        "item": out["unique_id"], "family": out["unique_id"].map(family), "month": out["ds"],
        "baseline": out["forecast"], "lo_80": out["lo-80"], "hi_80": out["hi-80"],
        "lo_95": out["lo-95"], "hi_95": out["hi-95"],
    }).reset_index(drop=True)
    first = out.drop_duplicates("unique_id")
    n_obs = frame.dropna(subset=["y"]).groupby("unique_id").size()
    models = pd.DataFrame({
        "item": first["unique_id"], "family": first["unique_id"].map(family),
        "method": first["method"], "reason": first["reason"], "fallback": first["fallback"].fillna(""),
        "backtest_mase": first["backtest_mase"], "backtest_bias": first["backtest_bias"],
        "history_months": first["unique_id"].map(n_obs).fillna(0).astype(int),
    }).reset_index(drop=True)
    return fc, models


def finance_frame(forecast: pd.DataFrame, items: pd.DataFrame, scenarios: pd.DataFrame,
                  budget: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(forecast with final/revenue/cost, finance per scenario/family/month)."""
    final = compute_final(forecast, items)
    families = sorted(items["family"].unique())
    return final, compute_finance(final, scenarios, budget, families)


def trend_frame(history: pd.DataFrame, final: pd.DataFrame, items: pd.DataFrame,
                months_back: int = 36) -> pd.DataFrame:
    """Per family and month: history (last ``months_back`` months) and final forecast, wide.

    The forecast line starts at the last history month so the chart reads as one line.
    """
    family = items.drop_duplicates("item").set_index("item")["family"]
    hist = history.assign(family=history["item"].map(family))
    hist = hist[hist["month"] < final["month"].min()] if len(final) else hist
    h = hist.groupby(["month", "family"])["qty"].sum(min_count=1).unstack("family")
    h = h.iloc[-months_back:]
    f = final.groupby(["month", "family"])["final"].sum().unstack("family")
    months = h.index.union(f.index)
    out = pd.DataFrame({"month": months})
    for fam in sorted(items["family"].unique()):
        hist_col = h[fam].reindex(months) if fam in h else pd.Series(np.nan, index=months)
        fc_col = f[fam].reindex(months) if fam in f else pd.Series(np.nan, index=months)
        if len(h) and fam in h:
            fc_col.loc[h.index[-1]] = h[fam].iloc[-1]
        out[f"{fam} history"] = hist_col.to_numpy()
        out[f"{fam} forecast"] = fc_col.to_numpy()
    return out


def execution_frames(settings: Settings, items: pd.DataFrame, final: pd.DataFrame,
                     actuals: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    """(execution per item, exceptions worst first, the last day the actuals cover)."""
    month = pd.Timestamp(settings.as_of).replace(day=1)
    month_end = month + pd.offsets.MonthEnd(0)
    in_month = actuals[(actuals["date"] >= month) & (actuals["date"] <= month_end)]
    through = (in_month["date"].max() if len(in_month) else month - pd.Timedelta(days=1)).date()
    plan = final[final["month"] == month][["item", "family", "final"]].rename(columns={"final": "month_plan"})
    prices = items.drop_duplicates("item").set_index("item")["price"]
    plan = plan.assign(price=plan["item"].map(prices).astype(float))
    execution = compute_execution(plan, actuals, month.date(), through,
                                  watch=settings.drift_watch_pct, act=settings.drift_act_pct)
    exceptions = compute_exceptions(execution, min_value_at_risk=settings.min_value_at_risk)
    return execution, exceptions, through
