"""The planning steps as pure functions: frames in, frames out. No workbook, no files.

The macros (refresh forecast, refresh actuals) and the demo builder call these, so a ribbon
button, its CLI command and the demo compute the same numbers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel.core.consensus import compute_consensus, rollup
from sop_excel.core.drift import WorkCalendar
from sop_excel.core.execution import compute_exceptions, compute_execution
from sop_excel.core.finance import compute_finance, item_values
from sop_excel.core.frames import months_between
from sop_excel.core.scenarios import apply_scenario, capacity_for
from sop_excel.core.supply import capacity_load, inventory_projection, safety_stock
from sop_excel.core.supply_weeks import AREA_DEMAND
from sop_excel.errors import CellProblem, InputError
from sop_excel.models import MAX_CELL_TEXT, MAX_ROWS, Settings

__all__ = [
    "BasisPlan",
    "Progress",
    "basis_from_plan",
    "basis_plan",
    "check_events",
    "check_history",
    "check_methods",
    "check_scenarios",
    "scenario_name_problems",
    "idle_drivers",
    "discontinued",
    "without_history",
    "empty_supply_views",
    "ExecutionBasis",
    "plan_capacity",
    "SupplyInputs",
    "supply_frames",
    "execution_basis",
    "execution_frames",
    "execution_from_basis",
    "sensing_frames",
    "forecast_errors",
    "sop_frames",
    "cleansing_frame",
    "forecast_frames",
    "trend_frame",
]

Progress = Callable[[int, int], None]
"""A progress callback: called with (items done, items in total); the one alias of sop_excel."""


HISTORY_FLAGS = ("", "stockout", "keep")
"""History's Flag: stockout = demand not seen (left out of the fit); keep = a real month that
cleansing must not correct."""

GROUP_COLUMNS = {"family": "family", "site": "site", "resource": "resource"}
"""Settings > Seasonal profile group -> the Items column whose values group items."""


def _forecast_input(settings: Settings, history: pd.DataFrame) -> pd.DataFrame:
    """History before the as-of month as the engine's long frame (stockouts as NaN)."""
    as_of_month = pd.Timestamp(settings.as_of).replace(day=1)
    hist = history[history["month"] < as_of_month]
    return pd.DataFrame(
        {
            "unique_id": hist["item"].astype(str),
            "ds": hist["month"],
            "y": np.where(hist["flag"] == "stockout", np.nan, hist["qty"].astype(float)),
            "keep": (hist["flag"] == "keep").to_numpy(),
        }
    )


def _groups(settings: Settings, items: pd.DataFrame) -> dict[str, str] | None:
    column = GROUP_COLUMNS.get(settings.seasonal_group)
    if column is None or column not in items.columns:
        return None
    values = items[column].fillna("").astype(str).str.strip()
    return {str(i): g for i, g in zip(items["item"], values, strict=True) if g}


def check_history(items: pd.DataFrame, history: pd.DataFrame) -> None:
    """Items known, flags from the list; all problems at once, by History row."""
    known = set(items["item"])
    rows = history.attrs.get("excel_rows", list(range(len(history))))
    problems = []
    for r, item, flag in zip(rows, history["item"], history["flag"], strict=True):
        if item not in known:
            problems.append(
                CellProblem(
                    f"Sheet 'History', row {r}",
                    item,
                    "is not an item on the Items sheet",
                    "Add the item to Items or correct the code.",
                )
            )
        if flag not in HISTORY_FLAGS:
            problems.append(
                CellProblem(
                    f"Sheet 'History', row {r}",
                    flag,
                    "is not a known flag",
                    "Leave Flag empty, or write stockout (demand not seen) "
                    "or keep (a real month, never corrected).",
                )
            )
    if problems:
        raise InputError("Sheet 'History' has rows sop-excel cannot use", problems)


def check_methods(settings: Settings, items: pd.DataFrame, active: set[str]) -> dict[str, str]:
    """The forecasting method chosen per item with history (``active``), each one that exists,
    and Settings' method too; returns item -> method for the items that name one."""
    import forecasting

    chosen = items[items["item"].isin(active)]
    methods = {i: m for i, m in zip(chosen["item"], chosen["method"], strict=True) if m}
    bad = [(i, m) for i, m in methods.items() if m not in forecasting.METHODS]
    if bad:
        rows = dict(
            zip(items["item"], items.attrs.get("excel_rows", range(len(items))), strict=False)
        )
        raise InputError(
            "Sheet 'Items' names forecasting methods that do not exist",
            [
                CellProblem(
                    f"Sheet 'Items', row {rows.get(i, '?')} (item {i}), column Method",
                    m,
                    "is not a forecasting method",
                    f"Pick one of {', '.join(forecasting.METHODS)} or leave it empty.",
                )
                for i, m in bad
            ],
        )
    if settings.forecast_method not in forecasting.METHODS:
        raise InputError(
            "Sheet 'Settings' has a value sop-excel cannot use",
            [
                CellProblem(
                    "Sheet 'Settings', Forecast method",
                    settings.forecast_method,
                    "is not a forecasting method",
                    f"Pick one of {', '.join(forecasting.METHODS)}.",
                )
            ],
        )
    return methods


def forecast_frames(
    settings: Settings,
    items: pd.DataFrame,
    history: pd.DataFrame,
    progress: Progress | None = None,
    *,
    engine: str = "local",
    scheduler: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline forecast per item and month, and the model used per item.

    History rows from the as-of month on are left out (the as-of month is being planned).
    ``engine="dask"`` with ``scheduler`` (``tcp://host:8786`` or a ``distributed.Client``)
    runs the forecasts on a Dask cluster, with the same results as ``local``.

    Returns:
        (forecast: item, family, site, month, baseline, lo_80, hi_80, lo_95, hi_95, naive
         (last actual, for forecast value added), override, reason_code, comment (empty),
         models: item, family, method, reason, fallback, backtest_mase, backtest_bias, history_months)
    """
    import forecasting

    check_history(items, history)
    as_of_month = pd.Timestamp(settings.as_of).replace(day=1)
    frame = _forecast_input(settings, history)
    methods = check_methods(settings, items, set(frame["unique_id"]))
    last = frame["ds"].max()
    gap = months_between(last, as_of_month) - 1 if pd.notna(last) else 0
    likes = {
        i: lk
        for i, lk in zip(items["item"], items["like_item"], strict=True)
        if isinstance(lk, str) and lk
    }
    if frame.empty:  # no history at all: every item is forecast as an item without history
        out = pd.DataFrame({c: pd.Series(dtype=float) for c in forecasting.OUTPUT_COLUMNS}).astype(
            {
                "unique_id": object,
                "ds": "datetime64[us]",
                "method": object,
                "reason": object,
                "fallback": object,
                "flag": object,
            }
        )
    else:
        out = forecasting.forecast(
            frame,
            h=settings.horizon + max(gap, 0),
            method=settings.forecast_method,
            methods=methods or None,
            progress=progress,
            correct_outliers=settings.correct_outliers,
            like_items=likes or None,
            engine=engine,
            scheduler=scheduler,
            groups=_groups(settings, items),
            group_name=settings.seasonal_group,
        )
    out = out[out["ds"] >= as_of_month]
    master = items.drop_duplicates("item").set_index("item")
    family = master["family"]
    last_actual = frame.dropna(subset=["y"]).sort_values("ds").groupby("unique_id")["y"].last()
    fc = pd.DataFrame(
        {
            "item": out["unique_id"],
            "family": out["unique_id"].map(family),
            "site": out["unique_id"].map(master["site"]),
            "month": out["ds"],
            "baseline": out["forecast"],
            "lo_80": out["lo_80"],
            "hi_80": out["hi_80"],
            "lo_95": out["lo_95"],
            "hi_95": out["hi_95"],
            "naive": out["unique_id"].map(last_actual).fillna(0.0).astype(float),
            "override": np.nan,
            "reason_code": "",
            "comment": "",
        }
    ).reset_index(drop=True)
    first = out.drop_duplicates("unique_id")
    n_obs = frame.dropna(subset=["y"]).groupby("unique_id").size()
    models = pd.DataFrame(
        {
            "item": first["unique_id"],
            "family": first["unique_id"].map(family),
            "method": first["method"],
            "reason": first["reason"],
            "fallback": first["fallback"].fillna(""),
            "backtest_mase": first["backtest_mase"],
            "backtest_bias": first["backtest_bias"],
            "snaive_mase": first["snaive_mase"],
            "forecastability": first["flag"].fillna(""),
            "history_months": first["unique_id"].map(n_obs).fillna(0).astype(int),
        }
    ).reset_index(drop=True)
    fc, models = without_history(settings, items, fc, models)
    return discontinued(items, fc, models)


def without_history(
    settings: Settings, items: pd.DataFrame, fc: pd.DataFrame, models: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items with no history at all (a launch, a new item): the like item's forecast as it is
    when one is named and forecast, else 0; both said in the item's reason. Without this they
    would be missing from the Forecast sheet."""
    new = items.drop_duplicates("item")
    new = new[~new["item"].isin(set(models["item"]))]
    if new.empty:
        return fc, models
    month0 = pd.Timestamp(settings.as_of).replace(day=1)
    months = (
        sorted(fc["month"].unique())
        if len(fc)
        else list(
            pd.date_range(month0, periods=settings.horizon, freq="MS").astype("datetime64[us]")
        )
    )
    by_item = fc.set_index(["item", "month"])
    cols = ["baseline", "lo_80", "hi_80", "lo_95", "hi_95"]
    rows, model_rows = [], []
    forecast_items = set(models["item"])
    for r in new.itertuples(index=False):
        like = str(getattr(r, "like_item", "") or "")
        grid = pd.DataFrame({"item": r.item, "family": r.family, "site": r.site, "month": months})
        if like in forecast_items:
            got = by_item.loc[like].reindex(months)[cols].fillna(0.0).to_numpy()
            grid[cols] = got
            method, reason = "like_item", f"no history: the forecast of like item {like}, as it is"
        else:
            grid[cols] = 0.0
            method, reason = (
                "zero",
                (
                    "no history and no like item: forecast 0 (type overrides, or set a Like "
                    "item and refresh the forecast)"
                ),
            )
        rows.append(grid.assign(naive=0.0, override=np.nan, reason_code="", comment=""))
        model_rows.append(
            {
                "item": r.item,
                "family": r.family,
                "method": method,
                "reason": reason,
                "fallback": "",
                "backtest_mase": np.nan,
                "backtest_bias": np.nan,
                "snaive_mase": np.nan,
                "forecastability": "",
                "history_months": 0,
            }
        )
    from sop_excel.core.frames import append_rows

    fc = append_rows(
        fc,
        pd.concat(rows, ignore_index=True)[list(fc.columns)]
        if len(fc)
        else pd.concat(rows, ignore_index=True),
    )
    return fc.reset_index(drop=True), append_rows(models, pd.DataFrame(model_rows)).reset_index(
        drop=True
    )


def discontinued(
    items: pd.DataFrame, fc: pd.DataFrame, models: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Items > Discontinued from: the forecast (and its interval) is 0 from that month."""
    if "discontinued_from" not in items.columns or fc.empty:
        return fc, models
    stop = pd.to_datetime(
        items.drop_duplicates("item").set_index("item")["discontinued_from"], errors="coerce"
    )
    stop = stop.dropna()
    if stop.empty:
        return fc, models
    when = pd.to_datetime(fc["item"].map(stop), errors="coerce")
    gone = (when.notna() & (fc["month"] >= when)).to_numpy()
    if gone.any():
        fc = fc.copy()
        fc.loc[gone, ["baseline", "lo_80", "hi_80", "lo_95", "hi_95"]] = 0.0
        models = models.copy()
        hit = models["item"].isin(stop.index)
        note = "; discontinued from"
        models.loc[hit, "reason"] = [
            f"{str(reason).split(note)[0]}{note} {stop[i]:%Y-%m}: forecast 0 from then"
            for i, reason in zip(models.loc[hit, "item"], models.loc[hit, "reason"], strict=True)
        ]
    return fc, models


def cleansing_frame(settings: Settings, history: pd.DataFrame) -> pd.DataFrame:
    """The months cleansing corrected, or found unusual and kept, as the forecast saw them.

    Returns:
        item, month, actual, used (the value fitted), why; empty when outlier correction is
        off in Settings.
    """
    import forecasting

    cols = ["item", "month", "actual", "used", "why"]
    frame = _forecast_input(settings, history)
    if not settings.correct_outliers or frame.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c in ("item", "why") else float) for c in cols}
        )
    out = forecasting.cleanse(frame)
    out = out[out["flag"].isin(["outlier", "unusual"])]
    why = np.where(
        out["flag"] == "outlier",
        "outlier: replaced by the value expected from trend and season; Flag it keep on "
        "History to use the actual",
        "unusual, kept as it is: more months looked like outliers than may be corrected",
    )
    return pd.DataFrame(
        {
            "item": out["unique_id"].to_numpy(),
            "month": out["ds"].to_numpy(),
            "actual": out["y"].to_numpy(float),
            "used": out["y_clean"].to_numpy(float),
            "why": why,
        }
    ).reset_index(drop=True)


def final_forecast(
    items: pd.DataFrame, forecast: pd.DataFrame, inputs: pd.DataFrame, targets: pd.DataFrame
) -> pd.DataFrame:
    """The consensus forecast per item and month (statistical, overrides, inputs, family targets)."""
    return item_values(compute_consensus(forecast, inputs, targets), items)


def sop_frames(
    settings: Settings,
    items: pd.DataFrame,
    forecast: pd.DataFrame,
    inputs: pd.DataFrame,
    targets: pd.DataFrame,
    scenario_list: pd.DataFrame,
    drivers: pd.DataFrame,
    budget: pd.DataFrame,
    capacity: pd.DataFrame,
    *,
    references: bool = True,
) -> dict[str, pd.DataFrame]:
    """Consensus, roll-ups, scenarios, finance, capacity and inventory: the monthly S&OP tables.

    ``references=False``: drivers on a family or item the Items sheet no longer has are not
    refused (update-items, which changed the Items sheet, names them instead; they change nothing).

    Returns frames keyed by table name (tblForecast, tblRollup, tblScenarioPlan, tblFinance,
    tblCompare, tblCompareMonthly, tblLoad, tblInventory).
    """
    final = final_forecast(items, forecast, inputs, targets)
    names = list(dict.fromkeys(scenario_list["scenario"].tolist()))
    parents = dict(zip(scenario_list["scenario"], scenario_list["parent"].fillna(""), strict=True))
    check_scenarios(
        names, parents, drivers, items, settings, set(capacity["resource"]), references=references
    )
    if (
        len(names) * len(final) >= MAX_ROWS
    ):  # before computing them all: the plan has a row per scenario and item-month
        raise InputError(
            f"{len(names):,} scenarios of {len(final):,} item-months would take "
            f"{len(names) * len(final):,} rows on the Scenario plan sheet, more than Excel's "
            f"{MAX_ROWS:,}. Use fewer scenarios (at most {(MAX_ROWS - 4) // max(len(final), 1):,} "
            "for this plan)."
        )
    families = sorted(items["family"].unique())
    plans = [apply_scenario(n, final, items, drivers, parents) for n in names]
    plan = pd.concat(plans, ignore_index=True)
    finance = compute_finance(plan, budget, names, families)
    months = sorted(final["month"].unique())
    cap = capacity[capacity["month"].isin(months)]
    loads = [
        capacity_load(p, items, capacity_for(n, cap, drivers, parents)).assign(scenario=n)
        for n, p in zip(names, plans, strict=True)
    ]
    load = pd.concat(loads, ignore_index=True)
    load["utilisation"] = load["utilisation"].replace(np.inf, np.nan)
    compare = _compare(finance, load, names)
    monthly = finance.pivot_table(
        index="month", columns="scenario", values="revenue", aggfunc="sum"
    )
    monthly = monthly[names].rename(columns=lambda n: f"{n} revenue")
    budget_line = (
        finance[finance["scenario"] == names[0]].groupby("month")["budget_revenue"].sum(min_count=1)
    )
    # the budget first: a new scenario's column comes last, so a chart series on a column keeps it
    monthly.insert(
        0, "Budget revenue", budget_line.reindex(monthly.index)
    )  # no budget: a gap in the line
    monthly = monthly.reset_index()
    plan_name = settings.plan_scenario if settings.plan_scenario in names else names[0]
    chosen = plan[plan["scenario"] == plan_name]
    sigma = (
        ((final["hi_80"] - final["lo_80"]) / (2 * 1.2815515655446004))
        .groupby(final["item"])
        .first()
    )
    lead = items.drop_duplicates("item").set_index("item")["lead_time_days"]
    ss = safety_stock(sigma, lead, settings.service_level)
    inv = inventory_projection(
        chosen[["item", "month", "volume"]], items, load[load["scenario"] == plan_name], ss
    )
    load_out = load.assign(overload=np.where(load["overload"], "Yes", "No"))
    inv["below_safety"] = np.where(inv["below_safety"], "Yes", "No")
    return {
        T.FORECAST: final,
        T.ROLLUP: rollup(final),
        T.SCENARIO_PLAN: plan,
        T.FINANCE: finance,
        T.COMPARE: compare,
        T.COMPARE_MONTHLY: monthly,
        T.LOAD: load_out[
            [
                "scenario",
                "resource",
                "month",
                "load_hours",
                "capacity_hours",
                "utilisation",
                "overload",
            ]
        ],
        T.INVENTORY: inv,
    }


def _compare(finance: pd.DataFrame, load: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Horizon totals per scenario (mirrors the Compare sheet's formulas)."""
    tot = (
        finance.groupby("scenario")[["volume", "revenue", "cost", "budget_revenue", "gap"]]
        .sum()
        .reindex(names)
    )
    tot["budgeted_revenue"] = (
        tot["budget_revenue"] + tot["gap"]
    )  # revenue of the months with a budget
    tot["margin"] = tot["revenue"] - tot["cost"]
    rev = tot["revenue"].to_numpy()
    tot["margin_pct"] = np.divide(
        tot["margin"].to_numpy(), rev, out=np.zeros(len(tot)), where=rev != 0
    )
    tot["peak_load"] = load.groupby("scenario")["utilisation"].max().reindex(names).fillna(0.0)
    tot["overloads"] = (
        load.groupby("scenario")["overload"].sum().reindex(names).fillna(0).astype(int)
    )
    return tot.reset_index()[
        [
            "scenario",
            "volume",
            "revenue",
            "cost",
            "margin",
            "margin_pct",
            "budgeted_revenue",
            "budget_revenue",
            "gap",
            "peak_load",
            "overloads",
        ]
    ]


GENERATED_COLUMNS = ("Month", "Budget revenue")
"""Compare's monthly table: its month and budget columns beside one ``<scenario> revenue`` column each."""


def scenario_name_problems(names: list[str]) -> list[tuple[str, str, str]]:
    """(name, what is wrong, what to do) for each scenario name Excel would not keep apart.

    Excel's SUMIFS compares text ignoring case and reads ``*``, ``?`` and ``~`` as wildcards and
    a leading ``=``, ``<`` or ``>`` as a comparison, so Finance would add up the wrong scenarios
    (cached values and recalculated ones then differ); a table's column names must differ
    ignoring case; and a scenario named like a generated column would lose its monthly column.
    """
    out = []
    seen: dict[str, str] = {}
    generated = {c.casefold() for c in GENERATED_COLUMNS}
    for name in names:
        text = str(name)
        folded = text.strip().casefold()
        if folded in seen and seen[folded] != text:
            out.append(
                (
                    text,
                    f"differs from scenario '{seen[folded]}' only in upper and lower case",
                    "Give it a name that differs in letters, not only in case (Excel ignores case).",
                )
            )
        seen.setdefault(folded, text)
        if f"{text} revenue".strip().casefold() in generated or folded in generated:
            out.append(
                (
                    text,
                    "is the name of a column of the Compare sheet's monthly table",
                    "Rename the scenario (for example 'Budget case').",
                )
            )
        if any(ch in text for ch in "*?~") or text.lstrip()[:1] in ("=", "<", ">"):
            out.append(
                (
                    text,
                    "has a character Excel reads as a pattern (*, ?, ~) or a comparison (=, <, > first)",
                    "Rename the scenario with letters, digits, spaces and - _ ( ) only.",
                )
            )
    return out


def check_scenarios(
    names: list[str],
    parents: dict[str, str],
    drivers: pd.DataFrame,
    items: pd.DataFrame,
    settings: Settings,
    resources: set[str] | None = None,
    *,
    references: bool = True,
) -> None:
    """Parents exist and form no loop; names fit Excel; drivers name known scenarios, kinds,
    families, items, resources (``resources``: the Capacity sheet's, when known) and launches,
    with values within bounds and month ranges that run forward (``references=False``: families
    and items are not checked, see :func:`sop_frames`)."""
    from sop_excel.core.scenarios import DRIVER_KINDS, scenario_chain

    problems = [
        CellProblem(f"Sheet 'Scenarios', scenario {name}", name, what, fix)
        for name, what, fix in scenario_name_problems(names)
    ]
    if not names:
        problems.append(
            CellProblem(
                "Sheet 'Scenarios', table tblScenarioList",
                None,
                "has no scenario",
                "Add at least one scenario (Base, with no parent).",
            )
        )
    problems += _name_problems(names, drivers)
    for n in names:
        try:
            scenario_chain(n, parents)
        except ValueError as exc:
            problems.append(
                CellProblem(
                    f"Sheet 'Scenarios', scenario {n}",
                    parents.get(n),
                    str(exc),
                    "Name an existing scenario as Parent, or leave it empty.",
                )
            )
    places = drivers.attrs.get("where") or [  # a file's places, or the sheet's rows
        f"Sheet 'Scenarios', row {r}" for r in drivers.attrs.get("excel_rows", range(len(drivers)))
    ]
    known = set(items["item"])
    launch = drivers[drivers["kind"] == "launch"]
    launches = set(launch["item"].dropna())
    families = set(items["family"]) | set(launch["family"].dropna())
    for where, d in zip(places, drivers.itertuples(index=False), strict=True):
        if d.scenario not in parents:
            problems.append(
                CellProblem(
                    where,
                    d.scenario,
                    "is not a scenario in the list",
                    "Add it to the scenario list or correct the name.",
                )
            )
        if d.kind not in DRIVER_KINDS:
            problems.append(
                CellProblem(
                    where, d.kind, "is not a driver", f"Use one of {', '.join(DRIVER_KINDS)}."
                )
            )
        if d.kind == "launch" and (
            not d.item
            or d.item in known
            or pd.isna(d.price)
            or pd.isna(d.unit_cost)
            or not d.family
        ):
            problems.append(
                CellProblem(
                    where,
                    d.item,
                    "a launch needs a new item code, its family, a launch price and cost",
                    "Fill Item (not an existing item), Family, Launch price and Launch cost.",
                )
            )
        if d.kind == "capacity" and not d.resource:
            problems.append(
                CellProblem(
                    where, None, "a capacity driver needs a Resource", "Fill in the Resource."
                )
            )
        if pd.isna(d.value):
            problems.append(
                CellProblem(
                    where, None, "Value is empty", "Type the % change (0.05 = 5%) or units."
                )
            )
        problems += _driver_problems(where, d, families, known, launches, resources, references)
    if problems:
        raise InputError("Sheet 'Scenarios' has drivers sop-excel cannot apply", problems)


def _name_problems(names: list[str], drivers: pd.DataFrame) -> list[CellProblem]:
    """Scenario names become column names on the Compare sheet (``<name> revenue``), which Excel
    keeps to 255 characters and tells apart without regard to case; texts fit a cell."""
    from sop_excel.core.scenarios import MAX_NAME

    problems = []
    for n in names:  # names that differ only in case: scenario_name_problems
        if len(n) > MAX_NAME:
            problems.append(
                CellProblem(
                    f"Sheet 'Scenarios', scenario {n[:40]}...",
                    None,
                    f"the name is {len(n):,} characters long; at most {MAX_NAME} fit",
                    "Use a shorter name (it becomes a column name on the Compare sheet, "
                    "and Excel allows 255 characters in one).",
                )
            )
    for col in ("comment",):
        if col in drivers.columns:
            for where, text in zip(
                drivers.attrs.get("where")
                or [
                    f"Sheet 'Scenarios', row {r}"
                    for r in drivers.attrs.get("excel_rows", range(len(drivers)))
                ],
                drivers[col],
                strict=True,
            ):
                if isinstance(text, str) and len(text) > MAX_CELL_TEXT:
                    problems.append(
                        CellProblem(
                            where,
                            None,
                            f"the comment is {len(text):,} characters long",
                            f"Excel holds at most {MAX_CELL_TEXT:,} in a cell: shorten it.",
                        )
                    )
    return problems


def _driver_problems(
    where: str,
    d: object,
    families: set[str],
    known: set[str],
    launches: set[str],
    resources: set[str] | None,
    references: bool = True,
) -> list[CellProblem]:
    """Bounds and names of one driver (``d``, a row of the Drivers table)."""
    from sop_excel.core.scenarios import CHANGE_MAX, CHANGE_MIN, LAUNCH_MAX

    problems = []
    kind, value = d.kind, d.value  # type: ignore[attr-defined]
    if pd.notna(value) and kind in ("volume", "price", "unit_cost", "capacity"):
        if not (np.isfinite(value) and CHANGE_MIN <= value <= CHANGE_MAX):
            problems.append(
                CellProblem(
                    where,
                    value,
                    f"is not a {kind.replace('_', ' ')} change sop-excel applies "
                    f"(from {CHANGE_MIN:.0%} to +{CHANGE_MAX:,.0%})",
                    "Type the change as a fraction (0.05 = +5%) or a percentage (5%).",
                )
            )
    if kind == "launch":
        for label, v in (
            ("units a month", value),
            ("launch price", d.price),  # type: ignore[attr-defined]
            ("launch cost", d.unit_cost),  # type: ignore[attr-defined]
        ):
            if pd.notna(v) and not (np.isfinite(v) and 0 <= v <= LAUNCH_MAX):
                problems.append(
                    CellProblem(
                        where,
                        v,
                        f"is not a {label} sop-excel uses (0 to {LAUNCH_MAX:,.0f})",
                        "Type the launch's figures (units a month, price and cost per unit).",
                    )
                )
    start, end = d.from_month, d.to_month  # type: ignore[attr-defined]
    if pd.notna(start) and pd.notna(end) and pd.Timestamp(start) > pd.Timestamp(end):
        problems.append(
            CellProblem(
                where,
                None,
                f"From ({pd.Timestamp(start):%Y-%m}) is after To ({pd.Timestamp(end):%Y-%m}): "
                "the driver would change no month",
                "Write the earlier month in From.",
            )
        )
    if kind in ("volume", "price", "unit_cost") and references:
        fam, item = d.family, d.item  # type: ignore[attr-defined]
        if isinstance(fam, str) and fam and fam not in families:
            problems.append(
                CellProblem(
                    where,
                    fam,
                    "is not a family on the Items sheet (nor of a launch)",
                    f"Use one of {', '.join(sorted(families))}, or leave Family empty.",
                )
            )
        if isinstance(item, str) and item and item not in known and item not in launches:
            problems.append(
                CellProblem(
                    where,
                    item,
                    "is not an item on the Items sheet (nor a launch)",
                    "Correct the item code, or leave Item empty.",
                )
            )
    if kind == "capacity" and resources is not None and d.resource and d.resource not in resources:  # type: ignore[attr-defined]
        problems.append(
            CellProblem(
                where,
                d.resource,  # type: ignore[attr-defined]
                "is not a resource on the Capacity sheet",
                f"Use one of {', '.join(sorted(resources))}.",
            )
        )
    return problems


def idle_drivers(
    final: pd.DataFrame, drivers: pd.DataFrame, capacity: pd.DataFrame | None = None
) -> list[str]:
    """Drivers that change nothing in the plan's horizon (their family, item and months match no
    item-month of ``final``; a capacity driver no resource-month of ``capacity``), each as
    "<where> (scenario <name>, <kind>)" for a warning."""
    from sop_excel.core.scenarios import driver_mask

    places = drivers.attrs.get("where") or [
        f"Sheet 'Scenarios', row {r}" for r in drivers.attrs.get("excel_rows", range(len(drivers)))
    ]
    months = sorted(final["month"].unique()) if len(final) else []
    out = []
    for where, (_, d) in zip(places, drivers.iterrows(), strict=True):
        if d["kind"] in ("volume", "price", "unit_cost"):
            idle = not driver_mask(final, d).any()
        elif d["kind"] == "capacity" and capacity is not None:
            cap = capacity[capacity["month"].isin(months)]
            hit = cap["resource"] == d["resource"]
            if pd.notna(d["from_month"]):
                hit &= cap["month"] >= pd.Timestamp(d["from_month"])
            if pd.notna(d["to_month"]):
                hit &= cap["month"] <= pd.Timestamp(d["to_month"])
            idle = not hit.any()
        elif d["kind"] == "launch":
            start = pd.Timestamp(d["from_month"]) if pd.notna(d["from_month"]) else None
            stop = pd.Timestamp(d["to_month"]) if pd.notna(d["to_month"]) else None
            idle = not any(
                (start is None or m >= start) and (stop is None or m <= stop) for m in months
            )
        else:
            continue
        if idle:
            out.append(f"{where} (scenario {d['scenario']}, {d['kind']})")
    return out


def trend_frame(
    history: pd.DataFrame, final: pd.DataFrame, items: pd.DataFrame, months_back: int = 36
) -> pd.DataFrame:
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


def forecast_errors(
    snapshots: pd.DataFrame | None, history: pd.DataFrame | None, lag: int = 1
) -> pd.DataFrame:
    """``item, period, actual, forecast``: what locked plans said ``lag`` months ahead vs history."""
    cols = ["item", "period", "actual", "forecast"]
    if snapshots is None or history is None or snapshots.empty:
        return pd.DataFrame(columns=cols)
    s = (
        snapshots[snapshots["lag"] == lag]
        .sort_values("version")
        .drop_duplicates(["item", "month"], keep="last")
    )
    h = history.dropna(subset=["qty"])[["item", "month", "qty"]]
    m = s.merge(h, on=["item", "month"], how="inner")
    return pd.DataFrame(
        {
            "item": m["item"],
            "period": m["month"],
            "actual": m["qty"].astype(float),
            "forecast": m["final"].astype(float),
        }
    )


def _error_spread(errors: pd.DataFrame, window: int = 12, min_periods: int = 4) -> pd.Series:
    """Each item's monthly forecast error spread (standard deviation about its mean error).

    Not the RMSE: a biased forecast is reported by the tracking signal, and counting the bias as
    noise would hide real drift against the plan.
    """
    e = errors.assign(e=errors["forecast"] - errors["actual"]).sort_values("period")
    last = e.groupby("item").tail(window).groupby("item")["e"]
    return last.std(ddof=0).where(last.size() >= min_periods)


@dataclass(frozen=True)
class BasisPlan:
    """The plan side of an execution basis, for one month: what the S&OP sheets alone decide.

    ``items``: ``item, family, month_plan, sigma`` (sigma: the month's 80% interval as a
    standard deviation, used where an item has too few past errors); ``monthly``: ``item,
    month, volume`` around the month; ``source``: which plan; ``month``: the execution month;
    ``scenario``: the locked scenario ("" when the plan is not locked).
    """

    items: pd.DataFrame
    monthly: pd.DataFrame
    source: str
    month: pd.Timestamp
    scenario: str = ""


@dataclass(frozen=True)
class ExecutionBasis:
    """What execution needs from the S&OP sheets, a few rows per item.

    ``items``: ``item, family, month_plan, sigma, tracking_signal, bias, interval_sigma`` for
    every item the execution month plans (month plan: the plan of record where locked, else the
    final forecast; sigma: the monthly error spread that judges noise; the tracking signal and
    bias alert from locked snapshots against history; interval_sigma: the spread the forecast's
    80% interval gives, which sizes safety stock as on the Inventory sheet). ``monthly``: ``item, month, volume``, the
    plan the sensing and the 13 weeks phase (the months around the execution month). ``source``:
    which plan (``v3 locked (Base)`` or ``Final (not locked)``). ``following``: the plan side
    of the month after (:class:`BasisPlan`), so closing the month needs no S&OP sheet
    (``None`` when not known).
    """

    items: pd.DataFrame
    monthly: pd.DataFrame
    source: str
    following: BasisPlan | None = None
    scenario: str = (
        ""  # the locked scenario ("" when the plan is not locked): its capacity plans supply
    )

    # months kept around the execution month: the weeks may start in the month before it, and
    # 13 weeks from any day of it end within four months after it
    MONTHS_BEFORE, MONTHS_AFTER = 1, 4

    def frames(self) -> dict[str, pd.DataFrame]:
        """As the Basis sheet's item and month tables (and the following month's)."""
        out = {T.BASIS_ITEMS: self.items, T.BASIS_MONTHS: self.monthly}
        f = self.following
        out[T.BASIS_NEXT_ITEMS] = (
            f.items if f is not None else pd.DataFrame(columns=list(self.items.columns[:4]))
        )
        out[T.BASIS_NEXT_MONTHS] = f.monthly if f is not None else self.monthly.iloc[0:0]
        return out


def basis_plan(
    month: pd.Timestamp,
    final: pd.DataFrame,
    locked: pd.DataFrame | None = None,
    lock_label: str = "",
    lock_scenario: str = "",
) -> BasisPlan:
    """The plan side of the execution basis of ``month`` (see :func:`execution_basis`)."""
    this = final[final["month"] == month]
    plan = this[["item", "family", "final"]].rename(columns={"final": "month_plan"})
    source, scenario = "Final (not locked)", ""
    if locked is not None and (locked["month"] == month).any():
        lk = locked[locked["month"] == month].groupby("item")["volume"].sum()
        plan = plan.assign(month_plan=plan["item"].map(lk).fillna(0.0).astype(float))
        source, scenario = lock_label or "Locked plan", lock_scenario
    interval = ((this["hi_80"] - this["lo_80"]) / (2 * 1.2815515655446004)).to_numpy(dtype=float)
    items = plan.reset_index(drop=True).assign(
        month_plan=plan["month_plan"].astype(float).to_numpy(), sigma=interval
    )
    monthly = final[["item", "month", "final"]].rename(columns={"final": "volume"})
    if locked is not None and len(locked):
        covered = monthly["month"].isin(set(locked["month"]))
        monthly = pd.concat(
            [monthly[~covered], locked[["item", "month", "volume"]]], ignore_index=True
        )
    window = (monthly["month"] >= month - pd.DateOffset(months=ExecutionBasis.MONTHS_BEFORE)) & (
        monthly["month"] <= month + pd.DateOffset(months=ExecutionBasis.MONTHS_AFTER)
    )
    # an item with no plan in the window still counts (with zero) in sensing and the weeks:
    # keep one row of it, from a month the views never read
    others = monthly[~window & ~monthly["item"].isin(set(monthly.loc[window, "item"]))]
    monthly = pd.concat([monthly[window], others.drop_duplicates("item")], ignore_index=True)
    monthly = (
        monthly.assign(volume=monthly["volume"].astype(float))
        .sort_values(["item", "month"], kind="stable")
        .reset_index(drop=True)
    )
    return BasisPlan(items, monthly, source, month, scenario)


def execution_basis(
    settings: Settings,
    final: pd.DataFrame,
    locked: pd.DataFrame | None = None,
    lock_label: str = "",
    snapshots: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
    lock_scenario: str = "",
) -> ExecutionBasis:
    """The S&OP side of execution: plan of record, error spread and tracking signal per item.

    The plan is the locked plan of record for the month when there is one (``locked``:
    ``item, month, volume``; ``lock_scenario``: its scenario, whose capacity the supply view
    plans with), otherwise the current final forecast. The error spread comes from locked
    snapshots against history where there are enough, otherwise from the forecast's own 80%
    interval; the tracking signal uses the same errors. The next month's plan side comes with
    it (``following``).
    """
    month = pd.Timestamp(settings.as_of).replace(day=1)
    basis = basis_from_plan(
        basis_plan(month, final, locked, lock_label, lock_scenario), settings, snapshots, history
    )
    following = basis_plan(
        month + pd.DateOffset(months=1), final, locked, lock_label, lock_scenario
    )
    return dataclasses.replace(basis, following=following)


def basis_from_plan(
    plan: BasisPlan,
    settings: Settings,
    snapshots: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> ExecutionBasis:
    """The execution basis of ``plan``'s month: its plan side with the error spread, tracking
    signal and bias from locked snapshots against history (``following`` not known), and the
    forecast interval's spread (``interval_sigma``: safety stock in the supply view)."""
    from sop_excel.core.drift import bias_alerts

    errors = forecast_errors(snapshots, history)
    sigma = _error_spread(errors) if len(errors) else pd.Series(dtype=float)
    interval = plan.items.set_index("item")["sigma"]
    sigma = sigma.reindex(interval.index).fillna(interval) if len(interval) else sigma
    bias = (
        bias_alerts(
            errors,
            window=settings.bias_window,
            threshold=settings.tracking_limit,
            min_periods=settings.bias_window,
        ).set_index("item")
        if len(errors)
        else pd.DataFrame(
            {"tracking_signal": pd.Series(dtype=float), "bias": pd.Series(dtype=object)}
        )
    )
    p = plan.items
    items = p[["item", "family", "month_plan"]].assign(
        sigma=p["item"].map(sigma).astype(float).to_numpy(),
        tracking_signal=p["item"].map(bias["tracking_signal"]).astype(float).to_numpy(),
        bias=p["item"].map(bias["bias"]).astype(object).fillna("").to_numpy(),
        interval_sigma=p["item"].map(interval).astype(float).to_numpy(),
    )
    return ExecutionBasis(items, plan.monthly, plan.source, scenario=plan.scenario)


def execution_frames(
    settings: Settings,
    items: pd.DataFrame,
    final: pd.DataFrame,
    actuals: pd.DataFrame,
    locked: pd.DataFrame | None = None,
    lock_label: str = "",
    snapshots: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dt.date, dict[str, pd.DataFrame]]:
    """(execution per item, exceptions worst first, the last day the actuals cover, views):
    :func:`execution_basis` then :func:`execution_from_basis`."""
    basis = execution_basis(settings, final, locked, lock_label, snapshots, history)
    return execution_from_basis(settings, items, basis, actuals)


@dataclass(frozen=True)
class SupplyInputs:
    """What the supply side of execution reads besides the basis (issue 21).

    ``production``: the Production table (``date, item, resource, produced, receipts``);
    ``events``: the Events table as :func:`check_events` gives it (Cancelled left out);
    ``capacity``: ``resource, month, hours`` of the plan's scenario (:func:`plan_capacity`).
    """

    production: pd.DataFrame
    events: pd.DataFrame
    capacity: pd.DataFrame

    @property
    def active(self) -> bool:
        """Whether there is anything to plan supply with: without production, receipts or
        events the execution is today's, demand only (and the supply tables stay empty)."""
        return bool(len(self.production) or len(self.events))


def check_events(
    events: pd.DataFrame,
    items: pd.DataFrame,
    capacity: pd.DataFrame,
    settings: Settings,
    locate: Callable[[int, str], str],
    summary: str | None = None,
) -> pd.DataFrame:
    """The Events table checked against the Items and Capacity sheets (:func:`core.events.check_events`)."""
    from sop_excel.core.events import check_events as check

    resources = (
        set(items["resource"].fillna("").astype(str)) | set(capacity["resource"].astype(str))
    ) - {""}
    return check(
        events,
        items=set(items["item"].astype(str)),
        resources=resources,
        calendar=WorkCalendar(holidays=settings.holidays),
        locate=locate,
        **({"summary": summary} if summary else {}),
    )


def plan_capacity(
    settings: Settings,
    basis: ExecutionBasis,
    capacity: pd.DataFrame,
    scenario_list: pd.DataFrame,
    drivers: pd.DataFrame,
) -> pd.DataFrame:
    """The hours the plan of record's scenario has (Settings > Plan scenario when nothing is
    locked), its capacity drivers applied, as on the Supply and Inventory sheets."""
    from sop_excel.core.scenarios import capacity_for

    names = list(scenario_list["scenario"])
    parents = dict(zip(scenario_list["scenario"], scenario_list["parent"].fillna(""), strict=True))
    name = basis.scenario or settings.plan_scenario
    if name not in parents:
        return capacity
    try:
        return capacity_for(name, capacity, drivers[drivers["scenario"].isin(names)], parents)
    except ValueError:  # a broken parent chain is reported by the S&OP commands; plain hours here
        return capacity


def execution_from_basis(
    settings: Settings,
    items: pd.DataFrame,
    basis: ExecutionBasis,
    actuals: pd.DataFrame,
    supply: SupplyInputs | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dt.date, dict[str, pd.DataFrame]]:
    """(execution per item, exceptions worst first, the last day the actuals cover, views).

    ``views`` holds the demand sensing and weekly tables (tblSensing, tblWeeks, tblWeekly) and
    the supply view (tblSupplyWeeks, tblSupplyItems: empty unless ``supply`` has production,
    receipts or events). Drift is phased by each item's day-of-week profile learned from the
    loaded daily actuals, and judged against the item's error spread (``basis``); prices come
    from ``items``. Demand and supply exceptions are one list (``area``), worst value first.
    """
    from sop_excel.core.drift import WorkCalendar, dow_profile

    calendar = WorkCalendar(holidays=settings.holidays)
    month = pd.Timestamp(settings.as_of).replace(day=1)
    month_end = month + pd.offsets.MonthEnd(0)
    in_month = actuals[(actuals["date"] >= month) & (actuals["date"] <= month_end)]
    through = (in_month["date"].max() if len(in_month) else month - pd.Timedelta(days=1)).date()
    b = basis.items
    prices = items.drop_duplicates("item").set_index("item")["price"]
    plan = b[["item", "family", "month_plan"]].assign(price=b["item"].map(prices).astype(float))
    sigma = b.set_index("item")["sigma"]
    bias = b[["item", "tracking_signal", "bias"]]
    profile = (
        dow_profile(actuals[actuals["date"] <= pd.Timestamp(through)], calendar=calendar)
        if len(actuals)
        else None
    )
    execution = compute_execution(
        plan,
        actuals,
        month.date(),
        through,
        watch=settings.drift_watch_pct,
        act=settings.drift_act_pct,
        z_threshold=settings.drift_z,
        profile=profile,
        sigma_month=sigma,
        bias=bias,
        calendar=calendar,
    )
    execution.insert(2, "plan_source", basis.source)
    exceptions = compute_exceptions(execution, min_value_at_risk=settings.min_value_at_risk)
    exceptions.insert(3, "area", AREA_DEMAND)
    views, weekly = _sensing_views(
        settings,
        items,
        basis.monthly,
        actuals,
        through,
        sigma=sigma,
        profile=profile,
        calendar=calendar,
    )
    if supply is not None and supply.active:
        found = supply_frames(settings, items, basis, actuals, through, weekly, supply, calendar)
        views.update(found.views)
        exceptions = _one_list(exceptions, found.exceptions)
    else:
        views.update(empty_supply_views())
    return execution, exceptions, through, views


def _one_list(demand: pd.DataFrame, supply: pd.DataFrame) -> pd.DataFrame:
    """Demand and supply exceptions in one list, worst value at risk first, ranked again."""
    both = (
        pd.concat([demand.drop(columns="rank"), supply], ignore_index=True)
        if len(supply)
        else demand
    )
    severity = -both["value_at_risk"].abs().fillna(0.0).to_numpy()
    both = both.iloc[np.lexsort((both["area"].to_numpy(), both["item"].to_numpy(), severity))]
    both = both.assign(rank=np.arange(1, len(both) + 1))
    return both[
        ["rank", "item", "family", "area", "flag", "drift_pct", "value_at_risk", "reason", "action"]
    ].reset_index(drop=True)


@dataclass(frozen=True)
class SupplyFrames:
    """:func:`supply_frames`: the supply tables by name, the supply exceptions, the whole result."""

    views: dict[str, pd.DataFrame]
    exceptions: pd.DataFrame
    result: object


SUPPLY_ITEM_COLUMNS = [
    "item",
    "family",
    "resource",
    "mtd_plan",
    "mtd_produced",
    "drift_pct",
    "z",
    "beyond_noise",
    "stock_now",
    "safety_stock",
    "weeks_of_cover",
    "below_safety_week",
    "stockout_week",
    "revenue_at_risk",
]


def empty_supply_views() -> dict[str, pd.DataFrame]:
    """The supply tables with no rows (a workbook without production, receipts or events)."""
    weeks = [
        "resource",
        "site",
        "week",
        "week_start",
        "horizon",
        "capacity_hours",
        "event_hours",
        "available_hours",
        "load_hours",
        "utilisation",
        "overload",
        "spare_hours",
        "done_hours",
    ]
    return {
        T.SUPPLY_WEEKS: pd.DataFrame(columns=weeks),
        T.SUPPLY_ITEMS: pd.DataFrame(columns=SUPPLY_ITEM_COLUMNS),
    }


def supply_frames(
    settings: Settings,
    items: pd.DataFrame,
    basis: ExecutionBasis,
    actuals: pd.DataFrame,
    through: dt.date,
    weekly: pd.DataFrame,
    supply: SupplyInputs,
    calendar: WorkCalendar | None = None,
) -> SupplyFrames:
    """The supply view of the next 13 weeks and its exceptions (:mod:`sop_excel.core.supply_weeks`).

    Safety stock is the Inventory sheet's: z(service level) x the forecast's interval spread x
    sqrt(lead time); the demand is the Weekly sheet's plan and sensed demand of the days ahead.
    """
    from sop_excel.core.supply_weeks import supply_weeks
    from sop_excel.core.weekly import week_label

    calendar = calendar or WorkCalendar(holidays=settings.holidays)
    master = items.drop_duplicates("item").set_index("item")
    b = basis.items.set_index("item")
    spread = (
        b["interval_sigma"] if "interval_sigma" in b.columns else pd.Series(np.nan, index=b.index)
    )
    safety = safety_stock(
        spread.astype(float).fillna(0.0), master["lead_time_days"], settings.service_level
    )
    found = supply_weeks(
        as_of=settings.as_of,
        through=through,
        plan=basis.monthly,
        items=items,
        capacity=supply.capacity,
        production=supply.production,
        actuals=actuals,
        demand=weekly,
        events=supply.events,
        safety=safety,
        calendar=calendar,
        frozen_weeks=settings.frozen_weeks,
        z_threshold=settings.drift_z,
        watch=settings.drift_watch_pct,
        act=settings.drift_act_pct,
        min_value_at_risk=settings.min_value_at_risk,
    )
    labels = {
        r.week: week_label(r.week, r.week_start, r.horizon == "Frozen")
        for r in found.weeks.itertuples()
    }
    grid = pd.concat([found.items[SUPPLY_ITEM_COLUMNS], found.stock.rename(columns=labels)], axis=1)
    views = {T.SUPPLY_WEEKS: found.resources, T.SUPPLY_ITEMS: grid}
    return SupplyFrames(views, found.exceptions, found)


def sensing_frames(
    settings: Settings,
    items: pd.DataFrame,
    monthly: pd.DataFrame,
    actuals: pd.DataFrame,
    through: dt.date,
    *,
    sigma: pd.Series | None = None,
    profile: pd.DataFrame | None = None,
    calendar: WorkCalendar | None = None,
) -> dict[str, pd.DataFrame]:
    """Demand sensing of this month and the next, and the 13-week view with the frozen horizon.

    Args:
        monthly: the plan per ``item, month, volume`` (plan of record where locked, else final).
        through: the last day the actuals cover; sigma, profile, calendar: as for drift.

    Returns:
        ``tblSensing`` (per item, largest value change first), ``tblWeeks`` (13 weeks in total)
        and ``tblWeekly`` (per item, Plan and Sensed rows, one column per week).
    """
    return _sensing_views(
        settings, items, monthly, actuals, through, sigma=sigma, profile=profile, calendar=calendar
    )[0]


def _sensing_views(
    settings: Settings,
    items: pd.DataFrame,
    monthly: pd.DataFrame,
    actuals: pd.DataFrame,
    through: dt.date,
    *,
    sigma: pd.Series | None = None,
    profile: pd.DataFrame | None = None,
    calendar: WorkCalendar | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """:func:`sensing_frames`, and the weekly view's long frame (item and week) it was made from."""
    from sop_excel.core.sensing import sense_demand
    from sop_excel.core.weekly import FROZEN, week_label, weekly_view

    calendar = calendar or WorkCalendar(holidays=settings.holidays)
    month = pd.Timestamp(settings.as_of).replace(day=1)
    nxt = month + pd.offsets.MonthBegin(1)
    by_month = monthly.groupby(["month", "item"])["volume"].sum()
    master = items.drop_duplicates("item").set_index("item")
    plan_items = pd.Index(sorted(set(monthly["item"])), name="item")

    def plan_of(m: pd.Timestamp) -> pd.Series:
        return (
            by_month.xs(m, level="month")
            if m in by_month.index.get_level_values("month")
            else pd.Series(dtype=float)
        ).reindex(plan_items, fill_value=0.0)

    if pd.Timestamp(through) >= month:
        sensed = sense_demand(
            actuals,
            plan_of(month),
            plan_of(nxt),
            through,
            calendar=calendar,
            profile=profile,
            sigma_month=sigma if sigma is not None and len(sigma) else None,
        )
    else:  # no orders this month yet: nothing to sense, the plan stands
        sensed = pd.DataFrame(
            {
                "item": plan_items,
                "month_plan": plan_of(month).to_numpy(),
                "mtd_actual": 0.0,
                "share": 0.0,
                "weight": 0.0,
                "sensed_month": plan_of(month).to_numpy(),
                "change_pct": 0.0,
                "next_month_plan": plan_of(nxt).to_numpy(),
                "sensed_next_month": plan_of(nxt).to_numpy(),
            }
        )
    price = sensed["item"].map(master["price"]).astype(float)
    sensing = sensed.assign(
        family=sensed["item"].map(master["family"]).fillna(""),
        value_change=(sensed["sensed_month"] - sensed["month_plan"]) * price.fillna(0.0),
        next_change_pct=np.where(
            sensed["next_month_plan"] > 0,
            sensed["sensed_next_month"]
            / sensed["next_month_plan"].where(sensed["next_month_plan"] > 0)
            - 1,
            np.nan,
        ),
    ).rename(columns={"mtd_actual": "mtd_orders"})
    sensing = sensing.iloc[
        np.lexsort((sensing["item"].to_numpy(), -sensing["value_change"].abs().to_numpy()))
    ]
    sensing = sensing[
        [
            "item",
            "family",
            "month_plan",
            "mtd_orders",
            "share",
            "weight",
            "sensed_month",
            "change_pct",
            "value_change",
            "next_month_plan",
            "sensed_next_month",
            "next_change_pct",
        ]
    ]

    weekly = weekly_view(
        monthly,
        actuals,
        settings.as_of,
        through,
        sensed=sensed,
        frozen_weeks=settings.frozen_weeks,
        calendar=calendar,
        profile=profile,
    )
    weekly = weekly.assign(
        revenue=weekly["plan"] * weekly["item"].map(master["price"]).astype(float).fillna(0.0)
    )
    weeks = weekly.groupby(
        ["week", "week_start", "week_end", "horizon", "working_days"], as_index=False
    )[["plan", "sensed", "orders", "revenue"]].sum()
    weeks["change_pct"] = np.where(
        weeks["plan"] > 0, weeks["sensed"] / weeks["plan"].where(weeks["plan"] > 0) - 1, np.nan
    )
    weeks = weeks[
        [
            "week",
            "week_start",
            "week_end",
            "horizon",
            "working_days",
            "plan",
            "sensed",
            "change_pct",
            "orders",
            "revenue",
        ]
    ]
    labels = {
        r.week: week_label(r.week, r.week_start, r.horizon == FROZEN) for r in weeks.itertuples()
    }
    order = {i: n for n, i in enumerate(items.drop_duplicates("item")["item"])}
    wide = []
    for measure, col in (("Plan", "plan"), ("Sensed", "sensed")):
        w = weekly.pivot_table(index="item", columns="week", values=col, aggfunc="sum").rename(
            columns=labels
        )
        w.columns = list(w.columns)
        w.insert(0, "measure", measure)
        wide.append(w.reset_index())
    grid = pd.concat(wide, ignore_index=True)
    grid.insert(1, "family", grid["item"].map(master["family"]).fillna(""))
    grid = grid.iloc[
        np.lexsort(
            (grid["measure"].to_numpy(), grid["item"].map(order).fillna(len(order)).to_numpy())
        )
    ]
    return {
        T.SENSING: sensing.reset_index(drop=True),
        T.WEEKS: weeks,
        T.WEEKLY: grid.reset_index(drop=True),
    }, weekly
