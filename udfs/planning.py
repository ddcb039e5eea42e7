"""The sop-excel worksheet functions (xlwings UDFs, category "sop-excel").

Each is thin: convert the range (``udfs._common``), call the core (``forecasting``,
``sop_excel.core``), return an array. The first docstring line is what Excel's Function Wizard
shows; docs/excel.md has a worked example for each. Parameters are positional-or-keyword only
(xlwings refuses keyword-only ones) and there is no return annotation, so one function can
return a table or a one-cell message.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd

import forecasting
from sop_excel.core.execution import compute_execution
from sop_excel.core.scenarios import apply_scenario
from sop_excel.core.supply import safety_stock
from udfs._common import (
    UdfError,
    column,
    day,
    flag,
    matrix,
    month,
    number,
    text,
    to_excel,
    udf,
    whole,
)

__all__ = [
    "SOP_ACCURACY",
    "SOP_BACKTEST",
    "SOP_DRIFT",
    "SOP_FORECAST",
    "SOP_SAFETY_STOCK",
    "SOP_SCENARIO",
    "SOP_TRACKING_SIGNAL",
]

Range2D = Annotated[list, {"ndim": 2, "doc": "A range of cells"}]
History = Annotated[
    list,
    {
        "ndim": 2,
        "doc": "Monthly history: quantities, or Month|Qty, or Item|Month|Qty (header optional)",
    },
]
Horizon = Annotated[float, {"doc": "Months to forecast (1 to 36; default 12)"}]
Method = Annotated[
    str,
    {"doc": "Forecasting method, e.g. auto, naive, seasonal_naive, ses, ets, theta (default auto)"},
]
Scalar = Annotated[Any, {"doc": "One value"}]

MAX_HORIZON = 36
_SERIES = "series"
_START = dt.datetime(2000, 1, 1)  # months for a history given as bare quantities
_INTERVALS = ["lo_80", "hi_80", "lo_95", "hi_95"]
_INTERVAL_HEADERS = ["Lo 80", "Hi 80", "Lo 95", "Hi 95"]


def _is_label(v: Any) -> bool:
    if not isinstance(v, str) or not v.strip():
        return False
    try:
        float(v.strip().rstrip("%"))
        return False
    except ValueError:
        return True


def _history(values: Any) -> tuple[pd.DataFrame, int, bool]:
    """History range -> (frame[unique_id, ds, y], number of columns given, had a header row)."""
    m = matrix(values, "history")
    if len(m) == 1 and len(m[0]) > 1:  # one row of quantities
        m = [[v] for v in m[0]]
    m = [r for r in m if any(v is not None and str(v).strip() for v in r)]
    header = bool(m) and _is_label(m[0][-1])
    body = m[1:] if header else m
    if not body:
        raise UdfError("history has no rows")
    n = len(body[0])
    if n == 1:
        y = [number(r[0], "history", blank=math.nan) for r in body]
        frame = pd.DataFrame(
            {"unique_id": _SERIES, "ds": pd.date_range(_START, periods=len(y), freq="MS"), "y": y}
        )
    elif n in (2, 3):
        frame = pd.DataFrame(
            {
                "unique_id": [str(r[0]).strip() if n == 3 else _SERIES for r in body],
                "ds": [month(r[n - 2], "history month") for r in body],
                "y": [number(r[n - 1], "history quantity", blank=math.nan) for r in body],
            }
        )
        if n == 3 and frame["unique_id"].isin(["", "None"]).any():
            raise UdfError("history has a row without an item")
        if frame.duplicated(["unique_id", "ds"]).any():
            raise UdfError("history has the same month twice for an item")
    else:
        raise UdfError("history must be 1 column (qty), 2 (month, qty) or 3 (item, month, qty)")
    if frame["y"].notna().sum() == 0:
        raise UdfError("history has no numbers")
    return frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True), n, header


def _method(v: Any) -> str:
    name = text(v, "method", "auto").lower()
    if name not in forecasting.METHODS or name in ("like_item", "manual"):
        raise UdfError(
            f"unknown method '{name[:20]}'; try auto, naive, seasonal_naive, ses, ets, theta"
        )
    return name


@udf
def SOP_FORECAST(
    history: History,
    horizon: Horizon = 12,
    method: Method = "auto",
    intervals: Annotated[Any, {"doc": "TRUE to add 80% and 95% bounds (default FALSE)"}] = False,
):
    """Forecast the next months from monthly history (spills one row per month).

    history: a column of monthly quantities (oldest first); or two columns Month | Qty; or three
    columns Item | Month | Qty for several items at once. A header row is optional; when there
    is one, the result has one too. Blank quantities are months without data.
    Returns the forecast per month (with Item and Month columns when the history had them),
    plus Lo 80 | Hi 80 | Lo 95 | Hi 95 when ``intervals`` is TRUE.
    """
    frame, n, header = _history(history)
    h = whole(horizon, "horizon", 1, MAX_HORIZON, 12)
    name = _method(method)
    bounds = flag(intervals, "intervals", False)
    result = forecasting.forecast(frame, h=h, method=name)
    cols = (
        (["unique_id"] if n == 3 else [])
        + (["ds"] if n > 1 else [])
        + ["forecast"]
        + (_INTERVALS if bounds else [])
    )
    rows = [[to_excel(v) for v in r] for r in result[cols].itertuples(index=False)]
    if header:
        names = {
            "unique_id": "Item",
            "ds": "Month",
            "forecast": "Forecast",
            **dict(zip(_INTERVALS, _INTERVAL_HEADERS, strict=True)),
        }
        rows.insert(0, [names[c] for c in cols])
    return rows


@udf
def SOP_BACKTEST(history: History, method: Method = "auto", horizon: Horizon = 12):
    """Backtest accuracy of a forecasting method on history: method used, MASE and bias.

    Runs the same rolling-origin backtest the Forecast sheet reports. Returns a header row
    (Item | Method | Backtest MASE | Backtest bias) and one row per item. MASE below 1 beats a
    seasonal-naive forecast; a positive bias means the method over-forecasts.
    """
    frame, n, _ = _history(history)
    h = whole(horizon, "horizon", 1, MAX_HORIZON, 12)
    result = forecasting.forecast(frame, h=h, method=_method(method))
    first = result.drop_duplicates("unique_id")
    rows = [["Item", "Method", "Backtest MASE", "Backtest bias"]]
    rows += [
        [to_excel(r.unique_id), r.method, to_excel(r.backtest_mase), to_excel(r.backtest_bias)]
        for r in first.itertuples(index=False)
    ]
    if n != 3:
        rows = [r[1:] for r in rows]
    return rows


_METRICS = ("wmape", "smape", "mase", "rmsse", "bias", "tracking_signal")


def _pairs(actuals: Any, forecast: Any) -> tuple[np.ndarray, np.ndarray]:
    y, f = column(actuals, "actuals"), column(forecast, "forecast")
    if len(y) != len(f):
        raise UdfError(f"actuals ({len(y)} cells) and forecast ({len(f)} cells) differ in size")
    keep = ~(np.isnan(y) | np.isnan(f))
    if not keep.any():
        raise UdfError("no month has both an actual and a forecast")
    return y[keep], f[keep]


@udf
def SOP_ACCURACY(
    actuals: Range2D,
    forecast: Range2D,
    metric: Annotated[
        str, {"doc": "wmape (default), smape, mase, rmsse, bias or tracking_signal"}
    ] = "wmape",
    history: Annotated[
        Any, {"doc": "History before the forecast (needed for mase, rmsse, bias)"}
    ] = None,
    season_length: Annotated[float, {"doc": "Months per season (default 12)"}] = 12,
):
    """Forecast accuracy of a forecast against actuals: WMAPE, sMAPE, MASE, RMSSE or bias.

    actuals and forecast are ranges of the same size (months where either is blank are left
    out). wmape and smape need nothing else; mase, rmsse and bias (scaled: forecast minus actual
    over the in-sample naive error, positive = over-forecast) need the history the forecast was
    made from. Returns one number.
    """
    y, f = _pairs(actuals, forecast)
    name = text(metric, "metric", "wmape").lower()
    if name not in _METRICS:
        raise UdfError(f"unknown metric '{name[:20]}'; use one of {', '.join(_METRICS)}")
    season = whole(season_length, "season_length", 1, 52, 12)
    if name == "wmape":
        if (
            not np.abs(y).sum() > 0
        ):  # a WMAPE divides by the actuals: none means no figure, not a blank cell
            raise UdfError("wmape needs actuals that are not all 0; use smape or mase")
        return forecasting.wmape(y, f)
    if name == "smape":
        return forecasting.smape(y, f)
    if name == "tracking_signal":
        return forecasting.tracking_signal(y, f)
    if history is None:
        raise UdfError(f"{name} needs the history the forecast was made from")
    insample = column(history, "history")
    insample = insample[~np.isnan(insample)]
    fn = {"mase": forecasting.mase, "rmsse": forecasting.rmsse, "bias": forecasting.scaled_bias}[
        name
    ]
    value = fn(y, f, insample, season)
    if not np.isfinite(
        value
    ):  # the history's naive error is 0 (flat or too short): nothing to scale by
        raise UdfError(
            f"{name} needs a history that varies (its naive error is 0 or it is too short)"
        )
    return to_excel(value)


@udf
def SOP_TRACKING_SIGNAL(actuals: Range2D, forecast: Range2D):
    """Tracking signal: running forecast error over mean absolute error; beyond +-4 means bias.

    actuals and forecast are ranges of the same size (months where either is blank are left
    out). Positive: the forecast has been running above actuals (over-forecast).
    """
    y, f = _pairs(actuals, forecast)
    return forecasting.tracking_signal(y, f)


_DRIFT_SHOW = {
    "drift": ["drift_pct"],
    "projected": ["projected"],
    "status": ["status"],
    "all": ["drift_pct", "projected", "status"],
}


@udf
def SOP_DRIFT(
    month_plan: Range2D,
    mtd_orders: Range2D,
    through: Annotated[Any, {"doc": "Last day the month-to-date orders cover"}],
    show: Annotated[str, {"doc": "drift (default), projected, status or all"}] = "drift",
    watch: Annotated[float, {"doc": "Drift that is flagged Watch (default 10%)"}] = 0.1,
    act: Annotated[float, {"doc": "Drift that is flagged Act (default 20%)"}] = 0.2,
    forecast_error: Annotated[
        Any, {"doc": "Each item's monthly forecast error in units (default 20% of plan)"}
    ] = None,
):
    """Month-to-date drift of orders against the plan's share of the month so far (spills).

    month_plan: each item's plan for the month; mtd_orders: its orders so far this month (same
    size; blank = 0); through: the last day the orders cover. The plan's month-to-date share is
    its share of working days (Mon-Fri) elapsed. Drift = (orders - plan to date) / plan to date.
    show: drift, projected (the run-rate month total), status (Act / Watch / On track) or all.
    Status judges drift against normal noise given forecast_error (one cell, or one per item):
    Act / Watch need drift beyond noise as well as beyond the watch / act thresholds.
    """
    plan, orders = column(month_plan, "month_plan", blanks=False), column(mtd_orders, "mtd_orders")
    if len(plan) != len(orders):
        raise UdfError("month_plan and mtd_orders differ in size")
    if isinstance(through, list):
        raise UdfError("through must be one date")
    last = day(through, "through")
    cols = _DRIFT_SHOW.get(text(show, "show", "drift").lower())
    if cols is None:
        raise UdfError("show must be drift, projected, status or all")
    w, a = number(watch, "watch", blank=0.1), number(act, "act", blank=0.2)
    items = [f"r{i}" for i in range(len(plan))]
    sigma = None
    if forecast_error is not None:
        errs = (
            column(forecast_error, "forecast_error")
            if isinstance(forecast_error, list)
            else [number(forecast_error, "forecast_error", blank=math.nan)]
        )
        if len(errs) not in (1, len(plan)):
            raise UdfError("forecast_error must be one cell or the same size as month_plan")
        sigma = pd.Series(np.broadcast_to(np.asarray(errs, dtype=float), len(plan)), index=items)
    frame = pd.DataFrame({"item": items, "family": "", "month_plan": plan, "price": 1.0})
    actuals = pd.DataFrame(
        {
            "date": pd.Timestamp(last),
            "item": items,
            "orders": np.nan_to_num(orders),
            "shipments": 0.0,
        }
    )
    out = compute_execution(
        frame, actuals, last.date(), last.date(), watch=w, act=a, sigma_month=sigma
    )
    return [[to_excel(v) for v in r] for r in out[cols].itertuples(index=False)]


@udf
def SOP_SAFETY_STOCK(
    sigma_month: Annotated[list, {"ndim": 2, "doc": "Monthly forecast error (std dev, units)"}],
    lead_time_days: Annotated[list, {"ndim": 2, "doc": "Lead time in days"}],
    service_level: Annotated[float, {"doc": "Target cycle service level (default 95%)"}] = 0.95,
):
    """Safety stock: z(service level) x monthly forecast error x sqrt(lead time / month).

    sigma_month and lead_time_days are ranges of the same shape, or one of them a single cell
    (used for every cell of the other). The result has the same shape.
    """
    sig = np.array(
        [
            [number(v, "sigma_month", blank=math.nan) for v in r]
            for r in matrix(sigma_month, "sigma_month")
        ]
    )
    lt = np.array(
        [
            [number(v, "lead_time_days", blank=math.nan) for v in r]
            for r in matrix(lead_time_days, "lead_time_days")
        ]
    )
    try:
        sig, lt = np.broadcast_arrays(sig, lt)
    except ValueError:
        raise UdfError(
            "sigma_month and lead_time_days must have the same shape (or be one cell)"
        ) from None
    level = number(service_level, "service_level", blank=0.95)
    level = level / 100 if 1 < level < 100 else level
    if (sig < 0).any() or (lt < 0).any():
        raise UdfError("sigma_month and lead_time_days must not be negative")
    idx = pd.RangeIndex(sig.size)
    ss = safety_stock(pd.Series(sig.ravel(), index=idx), pd.Series(lt.ravel(), index=idx), level)
    blank = np.isnan(sig.ravel()) | np.isnan(lt.ravel())
    vals = np.where(blank, np.nan, ss.to_numpy())
    return [[to_excel(v) for v in r] for r in vals.reshape(sig.shape).tolist()]


_DRIVERS = {"volume": "volume", "price": "price", "unit_cost": "unit_cost", "cost": "unit_cost"}


@udf
def SOP_SCENARIO(
    values: Annotated[list, {"ndim": 2, "doc": "Volumes (or prices, unit costs) to change"}],
    driver: Annotated[str, {"doc": "volume, price or unit_cost"}],
    change: Annotated[float, {"doc": "Change as a percentage, e.g. 5% or -10%"}],
    months: Annotated[Any, {"doc": "Months of the values (a row or column), for from/to"}] = None,
    from_month: Annotated[Any, {"doc": "First month the change applies to (optional)"}] = None,
    to_month: Annotated[Any, {"doc": "Last month the change applies to (optional)"}] = None,
):
    """Apply a scenario driver (volume, price or unit cost % change) to a range (spills).

    Works as a driver on the Scenarios sheet does: each value is multiplied by (1 + change),
    only in the months from_month to to_month when given (then ``months`` gives each value's
    month: a row over the columns, a column over the rows, or a range of the same shape).
    Blank cells stay blank.
    """
    kind = _DRIVERS.get(text(driver, "driver", "").lower())
    if kind is None:
        raise UdfError("driver must be volume, price or unit_cost")
    pct = number(change, "change")
    if pct <= -1:
        raise UdfError("change must be above -100%")
    vals = np.array(
        [[number(v, "values", blank=math.nan) for v in r] for r in matrix(values, "values")]
    )
    first = None if from_month is None or from_month == "" else month(from_month, "from_month")
    last = None if to_month is None or to_month == "" else month(to_month, "to_month")
    if first is not None and last is not None and first > last:
        raise UdfError("from_month is after to_month; give the earlier month first")
    if months is None or months == "":
        if first or last:
            raise UdfError("give months (the month of each value) to use from_month or to_month")
        when = np.full(vals.shape, pd.Timestamp(_START), dtype=object)
    else:
        mm = np.array(
            [[month(v, "months") for v in r] for r in matrix(months, "months")], dtype=object
        )
        try:
            when = np.broadcast_to(mm, vals.shape)
        except ValueError:
            raise UdfError(
                "months must be a row over the columns or a column over the rows"
            ) from None
    flat = vals.ravel()
    items = [f"c{i}" for i in range(flat.size)]
    final = pd.DataFrame(
        {
            "item": items,
            "family": "",
            "month": pd.to_datetime(list(when.ravel())),
            "final": flat if kind == "volume" else 1.0,
        }
    )
    master = pd.DataFrame(
        {
            "item": items,
            "price": flat if kind == "price" else 1.0,
            "unit_cost": flat if kind == "unit_cost" else 1.0,
        }
    )
    drivers = pd.DataFrame(
        [
            {
                "scenario": "S",
                "kind": kind,
                "family": "",
                "item": "",
                "value": pct,
                "from_month": pd.Timestamp(first) if first else pd.NaT,
                "to_month": pd.Timestamp(last) if last else pd.NaT,
                "price": np.nan,
                "unit_cost": np.nan,
            }
        ]
    )
    out = apply_scenario("S", final, master, drivers, {"S": ""})
    result = np.where(np.isnan(flat), np.nan, out[kind].to_numpy(dtype=float))
    return [[to_excel(v) for v in r] for r in result.reshape(vals.shape).tolist()]
