"""Build the demo planning workbook from the bundled sample company, in one go.

The demo shows every feature with numbers that make it visible: consensus inputs and an
override, a family target spread to items, four scenarios (one closes the budget gap), an
overloaded resource, items below safety stock, six past locked cycles feeding forecast value
added, and the current month's execution against the locked plan.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sop_excel import pipeline
from sop_excel.core.lock import accuracy, lock_plan
from sop_excel.models import Settings
from sop_excel.workbook.build import build_workbook
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.io import Rows
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import frame_rows

if TYPE_CHECKING:
    from sop_excel.sample import SampleCompany

__all__ = ["DEFAULT_SETTINGS", "DemoResult", "build_demo", "company_supply", "demo_scenarios", "settings_rows"]

DEFAULT_SETTINGS = {
    "Horizon": 18,
    "ForecastMethod": "auto",
    "CorrectOutliers": "yes",
    "SeasonalGroup": "family",
    "DriftWatchPct": 0.10,
    "DriftActPct": 0.20,
    "DriftZ": 2.5,
    "TrackingLimit": 4.0,
    "BiasWindow": 6,
    "FrozenWeeks": 4,
    "Holidays": "",
    "MinValueAtRisk": 2000.0,
    "ServiceLevel": 0.95,
    "PlanScenario": "Base",
    "ActualsSource": "",
    "ActualsColumns": "",
    "SupplySource": "",
    "SupplyColumns": "",
    "Currency": "EUR",
}

Step = Callable[[str], None]


@dataclass
class DemoResult:
    path: Path
    actuals_next_day: Path | None
    lines: list[str]


def settings_rows(values: dict[str, object]) -> Rows:
    """The Settings table: one row per setting of the layout, with its description."""
    rows: Rows = [["Setting", "Value", "Description"]]
    for spec in load_layout().settings.rows:
        rows.append([spec.setting, values[spec.name], spec.description])  # type: ignore[list-item]
    return rows


def demo_scenarios(families: list[str], as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Base, Upside, Downside and a 'Close the gap' plan built on Upside."""
    jan = pd.Timestamp(as_of.year + 1, 1, 1)
    scen = pd.DataFrame([
        ("Base", "", "Consensus forecast, no drivers", "Draft"),
        ("Upside", "Base", "Key-account win in Pumps; market grows", "Draft"),
        ("Downside", "Base", "Slowdown with price pressure", "Draft"),
        ("Close the gap", "Upside", "Upside + Pumps price rise, new pump launch, overtime on the valve line", "Draft"),
    ], columns=["scenario", "parent", "description", "status"])
    nat = pd.NaT
    rows = []
    for fam in families:
        rows.append(("Upside", "volume", fam, "", "", nat, nat, 0.10 if fam == "Pumps" else 0.05, None, None,
                     "Acme framework deal" if fam == "Pumps" else "Market +5%"))
        rows.append(("Downside", "volume", fam, "", "", nat, nat, -0.10, None, None, "Slowdown"))
    rows += [
        ("Upside", "price", "", "", "", jan, nat, 0.01, None, None, "List price round"),
        ("Downside", "price", "", "", "", nat, nat, -0.02, None, None, "Discounting"),
        ("Close the gap", "price", "Pumps", "", "", jan, nat, 0.03, None, None, "Pumps price increase"),
        ("Close the gap", "launch", "Pumps", "PMP-2001", "", jan + pd.DateOffset(months=2), nat, 90.0, 1150.0, 640.0,
         "Launch of the PMP-2001 smart pump"),
        ("Close the gap", "capacity", "", "", "BRN-VL1", jan, nat, 0.12, None, None, "Saturday shifts on the valve line"),
    ]
    drivers = pd.DataFrame(rows, columns=["scenario", "kind", "family", "item", "resource", "from_month",
                                          "to_month", "value", "price", "unit_cost", "comment"])
    return scen, drivers


def _consensus_inputs(forecast: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    m0 = pd.Timestamp(as_of).replace(day=1)
    months = [m0 + pd.DateOffset(months=k) for k in range(4)]
    inputs = pd.DataFrame([
        ("Sales", "PMP-1002", months[1], 40.0, "Acme order pulled forward"),
        ("Sales", "PMP-1002", months[2], 40.0, "Acme order pulled forward"),
        ("Marketing", "CTL-3003", months[1], 25.0, "Trade-show promotion"),
        ("Marketing", "CTL-3003", months[2], -10.0, "Post-promotion dip"),
    ], columns=["stream", "item", "month", "qty", "comment"])
    fam = forecast[(forecast["family"] == "Spares") & (forecast["month"] == months[3])]["baseline"].sum()
    targets = pd.DataFrame([("Spares", months[3], round(fam * 1.15), "Service campaign: +15% on spares")],
                           columns=["family", "month", "target", "comment"])
    return inputs, targets


def _past_cycles(settings: Settings, items: pd.DataFrame, history: pd.DataFrame, n: int,
                 progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """Snapshots of ``n`` simulated past cycles (labelled as such in the Log).

    The consensus of those cycles is simulated so forecast value added has something to show:
    sales intelligence moved Pumps 40% of the way to what happened; Valves carried an
    optimistic +8%; other families kept the statistical baseline.
    """
    as_of_month = pd.Timestamp(settings.as_of).replace(day=1)
    actual = history.set_index(["item", "month"])["qty"]
    snaps = []
    for k in range(n, 0, -1):
        cycle = as_of_month - pd.DateOffset(months=k)
        s = settings.model_copy(update={"as_of": cycle.date(), "horizon": 6})
        fc, _ = pipeline.forecast_frames(s, items, history[history["month"] < cycle], None)
        act = actual.reindex(pd.MultiIndex.from_frame(fc[["item", "month"]])).to_numpy()
        final = fc["baseline"].to_numpy().copy()
        pumps = (fc["family"] == "Pumps").to_numpy() & ~np.isnan(act)
        final[pumps] += 0.4 * (act[pumps] - final[pumps])
        final[(fc["family"] == "Valves").to_numpy()] *= 1.08
        fc["final"] = final
        snaps.append(fc.assign(cycle=cycle))
        if progress:
            progress(n - k + 1, n)
    return pd.concat(snaps, ignore_index=True)


def table_frames(company: SampleCompany, *, items: pd.DataFrame, history: pd.DataFrame, models: pd.DataFrame,
                 inputs: pd.DataFrame, targets: pd.DataFrame, scen: pd.DataFrame, drivers: pd.DataFrame,
                 locks: pd.DataFrame, locked: pd.DataFrame, snapshots: pd.DataFrame, fva: pd.DataFrame,
                 waterfall: pd.DataFrame, execution: pd.DataFrame, exceptions: pd.DataFrame,
                 exception_log: pd.DataFrame, final: pd.DataFrame, views: dict[str, pd.DataFrame],
                 log: pd.DataFrame, sop: dict[str, pd.DataFrame],
                 cleansing: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every table of a planning workbook but Settings, by name, from a planned company (its
    budget, capacity and actuals) and the planning frames (``sop``: ``pipeline.sop_frames``)."""
    return {
        "tblItems": items, "tblHistory": history, "tblModels": models, "tblInputs": inputs,
        "tblCleansing": (pd.DataFrame(columns=load_layout().table("tblCleansing").fields)
                         if cleansing is None else cleansing),
        "tblFamilyTargets": targets, "tblScenarioList": scen, "tblDrivers": drivers,
        "tblBudget": company.budget, "tblCapacity": company.capacity,
        "tblLocks": locks, "tblLockedPlan": locked, "tblSnapshots": snapshots, "tblFVA": fva,
        "tblWaterfall": waterfall, "tblActuals": company.actuals,
        "tblProduction": company.production, "tblEvents": company.events,
        "tblNewEvent": pd.DataFrame(columns=load_layout().table("tblNewEvent").fields),
        "tblExecution": execution, "tblExceptions": exceptions, "tblExceptionLog": exception_log,
        "tblTrend": pipeline.trend_frame(history, final, items), **views, "tblLog": log,
        # the hidden Basis sheet is built empty; build_demo keeps the basis on it once the file exists
        **{name: pd.DataFrame(columns=load_layout().table(name).fields)
           for name in ("tblBasisKey", "tblBasisItems", "tblBasisMonths")},
        **{name: sop[name] for name in ("tblForecast", "tblRollup", "tblScenarioPlan", "tblFinance",
                                        "tblCompare", "tblCompareMonthly", "tblLoad", "tblInventory")},
    }


def build_demo(out: str | Path, as_of: dt.date | None = None, *,
               progress: Callable[[int, int], None] | None = None,
               step: Step | None = None, past_cycles: int = 9) -> DemoResult:
    """Forecast, plan and execution for the sample company, written as one workbook.

    Also writes the next working day's actuals as CSV beside it, to try ``refresh-actuals``.
    """
    from sop_excel.sample import load_sample_company

    say = step or (lambda _msg: None)
    say("Loading the sample company")
    company = load_sample_company(as_of)
    year = company.as_of.year
    holidays = "; ".join(f"{d:%Y-%m-%d}" for d in (dt.date(year, 12, 24), dt.date(year, 12, 25),
                                                    dt.date(year, 12, 31), dt.date(year + 1, 1, 1)))
    values = {"AsOfDate": company.as_of, **DEFAULT_SETTINGS, "Holidays": holidays}  # the year-end shutdown
    settings = Settings.model_validate(values)
    items = company.items.assign(method="", comment="")
    history = company.history
    families = sorted(items["family"].unique())

    say(f"Forecasting {items['item'].nunique()} items")
    forecast, models = pipeline.forecast_frames(settings, items, history, progress)
    inputs, targets = _consensus_inputs(forecast, company.as_of)
    first = forecast["month"].min()
    override = (forecast["item"] == "VLV-2004") & (forecast["month"] == first + pd.DateOffset(months=1))
    forecast.loc[override, "override"] = (forecast.loc[override, "baseline"] * 0.7).round()
    forecast.loc[override, "reason_code"] = "Lost customer"
    forecast.loc[override, "comment"] = "Nordic distributor switched supplier"
    scen, drivers = demo_scenarios(families, company.as_of)

    say("Planning consensus, scenarios, finance and supply")
    frames = pipeline.sop_frames(settings, items, forecast, inputs, targets, scen, drivers,
                                 company.budget, company.capacity)
    final = frames["tblForecast"]
    say(f"Simulating {past_cycles} past S&OP cycles for forecast value added")
    past = _past_cycles(settings, items, history, past_cycles, progress)
    now = dt.datetime.now()
    user = getpass.getuser()
    locks, snaps = [], []
    for v, (cycle, fc) in enumerate(past.groupby("cycle"), start=1):
        plan = fc.rename(columns={"final": "volume"}).assign(revenue=np.nan)
        prices = items.set_index("item")["price"]
        plan["revenue"] = plan["volume"] * plan["item"].map(prices)
        rec, _, snap = lock_plan(v, "Base", plan, fc, cycle, "demo (simulated cycle)", now)
        locks.append(rec.assign(note="Simulated past cycle"))
        snaps.append(snap)
    version = len(locks) + 1
    plan = frames["tblScenarioPlan"]
    rec, locked, snap = lock_plan(version, "Base", plan[plan["scenario"] == "Base"], final,
                                  first, user, now, "Agreed at the demo S&OP meeting")
    locks.append(rec)
    snaps.append(snap)
    snapshots = pd.concat(snaps, ignore_index=True)
    fva, waterfall = accuracy(snapshots, history)
    scen.loc[scen["scenario"] == "Base", "status"] = f"Locked v{version}"
    say("Comparing actuals with the locked plan")
    basis = pipeline.execution_basis(settings, final, locked, f"v{version} locked (Base)", snapshots, history,
                                     lock_scenario="Base")
    supply = company_supply(settings, company, items, basis, scen, drivers)
    execution, exceptions, through, views = pipeline.execution_from_basis(settings, items, basis, company.actuals,
                                                                         supply)
    exceptions = exceptions.assign(owner="", status="Open", comment="")
    exception_log = pd.DataFrame({"time": pd.Timestamp(now.replace(microsecond=0)), "item": exceptions["item"],
                                  "event": "opened", "flag": exceptions["flag"],
                                  "value_at_risk": exceptions["value_at_risk"], "owner": "", "comment": ""})
    log = pd.DataFrame([{
        "time": pd.Timestamp(now.replace(microsecond=0)), "command": "demo", "user": user,
        "data": f"Sample company '{company.name}', as of {company.as_of}",
        "details": (f"Forecast {len(models)} items; {past_cycles} past cycles simulated (locks v1-v{past_cycles}); "
                    f"Base locked as v{version}; actuals through {through:%Y-%m-%d}; {len(exceptions)} exceptions."),
    }])
    frames_by_table = table_frames(
        company, items=items, history=history, models=models, inputs=inputs, targets=targets, scen=scen,
        drivers=drivers, locks=pd.concat(locks, ignore_index=True), locked=locked, snapshots=snapshots,
        fva=fva, waterfall=waterfall, execution=execution, exceptions=exceptions,
        exception_log=exception_log, final=final, views=views, log=log, sop=frames,
        cleansing=pipeline.cleansing_frame(settings, history))
    tables: dict[str, Rows] = {"tblSettings": settings_rows(values),
                               **{name: frame_rows(name, frame) for name, frame in frames_by_table.items()}}
    say("Writing the workbook")
    formulas = {t.name: table_formulas(t.name) for t in load_layout().tables}
    path = build_workbook(out, tables, formulas=formulas)
    keep_new_basis(path, settings, basis)
    csv_path = _next_day_csv(company, through, path)
    cmp_ = frames["tblCompare"].set_index("scenario")
    load = frames["tblLoad"]
    inv = frames["tblInventory"]
    total = fva[fva["level"] == "Total"]
    lines = [
        f"Company: {company.name}, as of {company.as_of:%Y-%m-%d}",
        f"Items: {len(items)} in {len(families)} families; forecast {settings.horizon} months "
        f"({first:%b %Y} to {final['month'].max():%b %Y})",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        "Gap to budget over the horizon: " + ", ".join(f"{s} {g:+,.0f}" for s, g in cmp_["gap"].items()),
        f"Supply: {int((load['overload'] == 'Yes').sum())} overloaded resource-months; "
        f"{inv.loc[inv['below_safety'] == 'Yes', 'item'].nunique()} items fall below safety stock (Base)",
        f"Plan of record: Base locked as v{version} (hash {rec.iloc[0]['content_hash']})"
        + (f"; forecast value added of consensus vs statistical: {total.iloc[0]['fva_final']:+.1%}"
           if len(total) else ""),
        f"Execution through {through:%Y-%m-%d}: "
        + ", ".join(f"{s} {int(n)}" for s, n in execution["status"].value_counts().items())
        + f"; {len(exceptions)} exceptions",
    ]
    stock = views["tblSupplyItems"]
    if len(stock):
        out = stock[stock["stockout_week"].notna()]
        lines.append(f"Supply: {len(company.events)} events; {len(out)} items projected out of stock in the next 13 "
                     f"weeks, revenue at risk {stock['revenue_at_risk'].sum():,.0f}; "
                     f"{int((exceptions['area'] != 'Demand').sum())} supply and capacity exceptions")
    return DemoResult(path=path, actuals_next_day=csv_path, lines=lines)


def company_supply(settings: Settings, company: SampleCompany, items: pd.DataFrame, basis: pipeline.ExecutionBasis,
                   scen: pd.DataFrame, drivers: pd.DataFrame) -> pipeline.SupplyInputs:
    """A company's production, receipts and events as the supply side of execution plans with them."""
    events = pipeline.check_events(company.events, items, company.capacity, settings,
                                   lambda pos, field: f"Sample events, row {pos + 2}, column {field}")
    capacity = pipeline.plan_capacity(settings, basis, company.capacity, scen, drivers)
    return pipeline.SupplyInputs(company.production, events, capacity)


def keep_new_basis(path: Path, settings: Settings, basis: pipeline.ExecutionBasis) -> bool:
    """A new workbook's execution basis on its Basis sheet, with the file's fingerprint, so its
    first refresh-actuals reads it instead of the S&OP sheets (see ``macros.keep_basis``)."""
    from sop_excel.macros import keep_basis
    from sop_excel.workbook.zip_io import ZipIO

    book = ZipIO(path)
    try:
        return keep_basis(book, settings, basis)
    finally:
        book.close()


def _next_day_csv(company: object, through: dt.date, path: Path) -> Path | None:
    next_day = pd.Timestamp(through) + pd.Timedelta(days=1)
    while next_day.weekday() >= 5:
        next_day += pd.Timedelta(days=1)
    if next_day.month != pd.Timestamp(company.as_of).month:  # type: ignore[attr-defined]
        return None
    day = company.actuals_for_day(next_day.date())  # type: ignore[attr-defined]
    made = company.production_for_day(next_day.date())  # type: ignore[attr-defined]
    if len(made):  # the day's production rides along as the file's supply column
        day = day.assign(produced=day["item"].map(made.groupby("item")["produced"].sum()).fillna(0.0))
    csv_path = path.with_name(f"{path.stem}_actuals_{next_day:%Y-%m-%d}.csv")
    day.assign(date=day["date"].dt.strftime("%Y-%m-%d")).to_csv(csv_path, index=False)
    return csv_path
