"""The demo: the bundled sample company's export files, through the path of ``sop-excel new``,
plus the sample's S&OP story.

The sample company (Northwind Pumps Ltd., ``sop_excel/sample_data``) is written out as the
export files a planner has (items, history, budget, capacity, the month's orders and its
production and supplier receipts as CSV, beside the workbook in ``<name>_exports/``); they are
read by the same readers as ``sop-excel new`` (:func:`sop_excel.sources.exports.read_company`)
and planned by the same function (:func:`sop_excel.planbook.plan_tables`). What the demo adds on
top is planners' work, given to that function as :class:`~sop_excel.planbook.PlanState`:
consensus inputs and an override, a family target spread to items, four scenarios (one closes
the budget gap), nine simulated past locked cycles feeding forecast value added, the sample's
disruptions on the Events sheet (a line down, a late supplier receipt), and Base locked as the
plan of record, so the month's execution, demand and supply, is judged against it.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.core.lock import make_lock
from sop_excel.core.scenarios import DRIVER_FIELDS
from sop_excel.models import Settings
from sop_excel.planbook import (
    DEFAULT_SETTINGS,
    PlanState,
    keep_new_basis,
    plan_tables,
    settings_rows,
    write_plan,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "DemoResult",
    "build_demo",
    "demo_scenarios",
    "keep_new_basis",
    "settings_rows",
]

Step = Callable[[str], None]


@dataclass
class DemoResult:
    path: Path
    actuals_next_day: Path | None
    lines: list[str]
    exports: Path | None = None


def demo_scenarios(families: list[str], as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Base, Upside, Downside and a 'Close the gap' plan built on Upside."""
    jan = pd.Timestamp(as_of.year + 1, 1, 1)
    scen = pd.DataFrame(
        [
            ("Base", "", "Consensus forecast, no drivers", "Draft"),
            ("Upside", "Base", "Key-account win in Pumps; market grows", "Draft"),
            ("Downside", "Base", "Slowdown with price pressure", "Draft"),
            (
                "Close the gap",
                "Upside",
                "Upside + Pumps price rise, new pump launch, overtime on the valve line",
                "Draft",
            ),
        ],
        columns=["scenario", "parent", "description", "status"],
    )
    nat = pd.NaT
    rows: list[tuple] = []
    for fam in families:
        rows.append(
            (
                "Upside",
                "volume",
                fam,
                "",
                "",
                nat,
                nat,
                0.10 if fam == "Pumps" else 0.05,
                None,
                None,
                "Acme framework deal" if fam == "Pumps" else "Market +5%",
            )
        )
        rows.append(("Downside", "volume", fam, "", "", nat, nat, -0.10, None, None, "Slowdown"))
    rows += [
        ("Upside", "price", "", "", "", jan, nat, 0.01, None, None, "List price round"),
        ("Downside", "price", "", "", "", nat, nat, -0.02, None, None, "Discounting"),
        (
            "Close the gap",
            "price",
            "Pumps",
            "",
            "",
            jan,
            nat,
            0.03,
            None,
            None,
            "Pumps price increase",
        ),
        (
            "Close the gap",
            "launch",
            "Pumps",
            "PMP-2001",
            "",
            jan + pd.DateOffset(months=2),
            nat,
            90.0,
            1150.0,
            640.0,
            "Launch of the PMP-2001 smart pump",
        ),
        (
            "Close the gap",
            "capacity",
            "",
            "",
            "BRN-VL1",
            jan,
            nat,
            0.12,
            None,
            None,
            "Saturday shifts on the valve line",
        ),
    ]
    drivers = pd.DataFrame(
        rows,
        columns=list(DRIVER_FIELDS),
    )
    return scen, drivers


def _consensus_inputs(forecast: pd.DataFrame, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    m0 = pd.Timestamp(as_of).replace(day=1)
    months = [m0 + pd.DateOffset(months=k) for k in range(4)]
    inputs = pd.DataFrame(
        [
            ("Sales", "PMP-1002", months[1], 40.0, "Acme order pulled forward"),
            ("Sales", "PMP-1002", months[2], 40.0, "Acme order pulled forward"),
            ("Marketing", "CTL-3003", months[1], 25.0, "Trade-show promotion"),
            ("Marketing", "CTL-3003", months[2], -10.0, "Post-promotion dip"),
        ],
        columns=["stream", "item", "month", "qty", "comment"],
    )
    fam = forecast[(forecast["family"] == "Spares") & (forecast["month"] == months[3])][
        "baseline"
    ].sum()
    targets = pd.DataFrame(
        [("Spares", months[3], round(fam * 1.15), "Service campaign: +15% on spares")],
        columns=["family", "month", "target", "comment"],
    )
    return inputs, targets


def _past_cycles(
    settings: Settings,
    items: pd.DataFrame,
    history: pd.DataFrame,
    n: int,
    progress: pipeline.Progress | None,
) -> pd.DataFrame:
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
        before = history[history["month"] < cycle]
        # items launched after the cycle were not planned then, and a discontinuation decided since was not known
        then = items[items["item"].isin(set(before["item"]))].assign(discontinued_from=pd.NaT)
        fc, _ = pipeline.forecast_frames(s, then, before, None)
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


def build_demo(
    out: str | Path,
    as_of: dt.date | None = None,
    *,
    progress: pipeline.Progress | None = None,
    step: Step | None = None,
    past_cycles: int = 9,
) -> DemoResult:
    """The sample company's exports, read and planned as ``sop-excel new`` does, with the sample's
    S&OP story on top, written as one workbook.

    Also writes the export files (``<name>_exports/``) and the next working day's actuals as CSV
    beside it, to try ``new`` and ``refresh-actuals``.
    """
    from sop_excel.sample import load_sample_company, write_exports
    from sop_excel.sources.columns import ReadMapping
    from sop_excel.sources.exports import read_company

    say = step or (lambda _msg: None)
    path = Path(out)
    sample = load_sample_company(as_of)
    folder = path.with_name(f"{path.stem}_exports")
    say(f"Writing the sample company's export files to {folder.name}/")
    files = write_exports(folder, sample.as_of)
    say("Reading them as sop-excel new does")
    company = read_company(files, ReadMapping(), sample.as_of)
    year = sample.as_of.year
    holidays = "; ".join(
        f"{d:%Y-%m-%d}"
        for d in (
            dt.date(year, 12, 24),
            dt.date(year, 12, 25),
            dt.date(year, 12, 31),
            dt.date(year + 1, 1, 1),
        )
    )
    values = {
        "AsOfDate": sample.as_of,
        **DEFAULT_SETTINGS,
        "Holidays": holidays,
    }  # the year-end shutdown
    settings = Settings.model_validate(values)
    items, history = company.items, company.history
    families = sorted(items["family"].unique())

    say(f"Forecasting {items['item'].nunique()} items")
    forecast, models = pipeline.forecast_frames(settings, items, history, progress)
    inputs, targets = _consensus_inputs(forecast, sample.as_of)
    first = forecast["month"].min()
    override = pd.DataFrame(
        [
            {
                "item": "VLV-2004",
                "month": first + pd.DateOffset(months=1),
                "reason_code": "Lost customer",
                "comment": "Nordic distributor switched supplier",
            }
        ]
    )
    at = (forecast["item"] == "VLV-2004") & (forecast["month"] == first + pd.DateOffset(months=1))
    override["override"] = (forecast.loc[at, "baseline"].to_numpy() * 0.7).round()
    scen, drivers = demo_scenarios(families, sample.as_of)
    say(f"Simulating {past_cycles} past S&OP cycles for forecast value added")
    past = _past_cycles(settings, items, history, past_cycles, progress)
    now = dt.datetime.now().replace(microsecond=0)
    locks, snaps = [], []
    prices = items.set_index("item")["price"]
    for v, (cycle, fc) in enumerate(past.groupby("cycle"), start=1):
        plan = fc.rename(columns={"final": "volume"}).assign(revenue=np.nan)
        plan["revenue"] = plan["volume"] * plan["item"].map(prices)
        rec, _, snap = make_lock(v, "Base", plan, fc, cycle, "demo (simulated cycle)", now)
        locks.append(rec.assign(note="Simulated past cycle"))
        snaps.append(snap)
    state = PlanState(
        inputs=inputs,
        targets=targets,
        scenarios=scen,
        drivers=drivers,
        overrides=override,
        locks=pd.concat(locks, ignore_index=True) if locks else None,
        snapshots=pd.concat(snaps, ignore_index=True) if snaps else None,
        lock=("Base", "Agreed at the demo S&OP meeting"),
        user=getpass.getuser(),
        now=now,
        forecast=(forecast, models),
        events=sample.events,
        events_where=lambda pos, field: f"Sample events, row {pos + 2}, column {field}",
    )
    say(
        "Planning consensus, scenarios, finance and supply; locking Base; comparing actuals with it"
    )
    plan = plan_tables(
        settings,
        items,
        history,
        company.budget,
        company.capacity,
        company.actuals,
        state,
        production=company.production,
    )
    assert plan.lock_record is not None  # the demo locks Base
    version = int(plan.lock_record.iloc[0]["version"])
    exceptions = plan.tables[T.EXCEPTIONS]
    log: list[dict[str, object]] = [
        {
            "command": "demo",
            "data": f"Sample company '{sample.name}', as of {sample.as_of}",
            "details": (
                f"Forecast {len(models)} items; {past_cycles} past cycles simulated (locks v1-v{past_cycles}); "
                f"Base locked as v{version}; actuals through {plan.through:%Y-%m-%d}; "
                f"{len(exceptions)} exceptions. Built from the export files in {folder.name}/ as sop-excel "
                "new reads them."
            ),
        }
    ]
    say("Writing the workbook")
    path = write_plan(path, values, plan, log)
    csv_path = _next_day_csv(sample, plan.through, path)
    t = plan.tables
    cmp_ = t[T.COMPARE].set_index("scenario")
    load, inv, fva, execution = t[T.LOAD], t[T.INVENTORY], t[T.FVA], t[T.EXECUTION]
    final = t[T.FORECAST]
    total = fva[fva["level"] == "Total"]
    rec = plan.lock_record.iloc[0]
    lines = [
        f"Company: {sample.name}, as of {sample.as_of:%Y-%m-%d}",
        f"Items: {len(items)} in {len(families)} families; forecast {settings.horizon} months "
        f"({first:%b %Y} to {final['month'].max():%b %Y})",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        "Gap to budget over the horizon: "
        + ", ".join(f"{s} {g:+,.0f}" for s, g in cmp_["gap"].items()),
        f"Supply: {int((load['overload'] == 'Yes').sum())} overloaded resource-months; "
        f"{inv.loc[inv['below_safety'] == 'Yes', 'item'].nunique()} items fall below safety stock (Base)",
        f"Plan of record: Base locked as v{version} (hash {rec['content_hash']})"
        + (
            f"; forecast value added of final vs statistical: {total.iloc[0]['fva_final']:+.1%}"
            if len(total)
            else ""
        ),
        f"Execution through {plan.through:%Y-%m-%d}: "
        + ", ".join(f"{s} {int(n)}" for s, n in execution["status"].value_counts().items())
        + f"; {len(exceptions)} exceptions",
    ]
    stock = t[T.SUPPLY_ITEMS]
    if len(stock):
        short = stock[stock["stockout_week"].notna()]
        lines.append(
            f"Supply: {len(t[T.EVENTS])} events; {len(short)} items projected out of stock in the next 13 "
            f"weeks, revenue at risk {stock['revenue_at_risk'].sum():,.0f}; "
            f"{int((exceptions['area'] != 'Demand').sum())} supply and capacity exceptions"
        )
    return DemoResult(path=path, actuals_next_day=csv_path, lines=lines, exports=folder)


def _next_day_csv(company: object, through: dt.date, path: Path) -> Path | None:
    next_day = pd.Timestamp(through) + pd.Timedelta(days=1)
    while next_day.weekday() >= 5:
        next_day += pd.Timedelta(days=1)
    if next_day.month != pd.Timestamp(company.as_of).month:  # type: ignore[attr-defined]
        return None
    day = company.actuals_for_day(next_day.date())  # type: ignore[attr-defined]
    made = company.production_for_day(next_day.date())  # type: ignore[attr-defined]
    if len(made):  # the day's production rides along as the file's supply column
        day = day.assign(
            produced=day["item"].map(made.groupby("item")["produced"].sum()).fillna(0.0)
        )
    csv_path = path.with_name(f"{path.stem}_actuals_{next_day:%Y-%m-%d}.csv")
    day.assign(date=day["date"].dt.strftime("%Y-%m-%d")).to_csv(csv_path, index=False)
    return csv_path
