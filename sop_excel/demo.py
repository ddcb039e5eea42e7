"""Build the demo planning workbook from the bundled sample company, in one go."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sop_excel import pipeline
from sop_excel.models import Settings
from sop_excel.workbook.build import build_workbook
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.io import Rows
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import rows_for

__all__ = ["DEFAULT_SETTINGS", "DemoResult", "build_demo", "default_scenarios", "settings_rows"]

DEFAULT_SETTINGS = {
    "Horizon": 18,
    "ForecastMethod": "auto",
    "CorrectOutliers": "yes",
    "DriftWatchPct": 0.10,
    "DriftActPct": 0.20,
    "MinValueAtRisk": 500.0,
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


def default_scenarios(families: list[str]) -> pd.DataFrame:
    """Base, Upside and Downside as volume and price deltas by family."""
    rows = []
    for fam in families:
        rows.append(("Base", fam, 0.0, 0.0, "Statistical forecast with overrides"))
    for k, fam in enumerate(families):
        rows.append(("Upside", fam, 0.12 if k == 0 else 0.06, 0.01,
                     "Key-account win" if k == 0 else "Market grows with GDP"))
    for fam in families:
        rows.append(("Downside", fam, -0.10, -0.02, "Slowdown; price pressure"))
    return pd.DataFrame(rows, columns=["scenario", "family", "volume_pct", "price_pct", "comment"])


def build_demo(out: str | Path, as_of: dt.date | None = None, *,
               progress: Callable[[int, int], None] | None = None,
               step: Step | None = None) -> DemoResult:
    """Forecast, plan and execution for the sample company, written as one workbook.

    Also writes the next day's actuals as CSV beside it, to try ``refresh-actuals``.
    """
    from sop_excel.sample import load_sample_company

    say = step or (lambda _msg: None)
    say("Loading the sample company")
    company = load_sample_company(as_of)
    values = {"AsOfDate": company.as_of, **DEFAULT_SETTINGS}
    settings = Settings.model_validate(values)
    items = company.items.copy()
    items["method"] = ""
    items["comment"] = ""
    history = company.history.copy()
    families = sorted(items["family"].unique())
    scenarios = default_scenarios(families)

    say(f"Forecasting {items['item'].nunique()} items")
    forecast, models = pipeline.forecast_frames(settings, items, history, progress)
    forecast["override"] = float("nan")
    forecast["comment"] = ""
    say("Planning finance and execution")
    final, finance = pipeline.finance_frame(forecast, items, scenarios, company.budget)
    trend = pipeline.trend_frame(history, final, items)
    execution, exceptions, through = pipeline.execution_frames(settings, items, final, company.actuals)
    exceptions["owner"] = ""
    exceptions["comment"] = ""
    log = pd.DataFrame([{
        "time": pd.Timestamp(dt.datetime.now().replace(microsecond=0)), "command": "demo",
        "user": getpass.getuser(), "data": f"Sample company '{company.name}', as of {company.as_of}",
        "details": (f"Forecast {len(models)} items; actuals through {through:%Y-%m-%d}; "
                    f"{len(exceptions)} exceptions."),
    }])
    tables: dict[str, Rows] = {
        "tblSettings": settings_rows(values),
        "tblItems": rows_for("tblItems", items),
        "tblHistory": rows_for("tblHistory", history),
        "tblForecast": rows_for("tblForecast", final),
        "tblModels": rows_for("tblModels", models),
        "tblScenarios": rows_for("tblScenarios", scenarios),
        "tblBudget": rows_for("tblBudget", company.budget),
        "tblCapacity": rows_for("tblCapacity", company.capacity),
        "tblFinance": rows_for("tblFinance", finance),
        "tblActuals": rows_for("tblActuals", company.actuals),
        "tblExecution": rows_for("tblExecution", execution),
        "tblExceptions": rows_for("tblExceptions", exceptions),
        "tblTrend": rows_for("tblTrend", trend),
        "tblLog": rows_for("tblLog", log),
    }
    say("Writing the workbook")
    formulas = {t.name: table_formulas(t.name) for t in load_layout().tables}
    path = build_workbook(out, tables, formulas=formulas)
    next_day = pd.Timestamp(through) + pd.Timedelta(days=1)
    while next_day.weekday() >= 5:
        next_day += pd.Timedelta(days=1)
    csv_path = None
    if next_day.month == pd.Timestamp(company.as_of).month:
        day = company.actuals_for_day(next_day.date())
        csv_path = path.with_name(f"{path.stem}_actuals_{next_day:%Y-%m-%d}.csv")
        day.assign(date=day["date"].dt.strftime("%Y-%m-%d")).to_csv(csv_path, index=False)
    base = finance[finance["scenario"] == "Base"]
    year = finance[finance["month"].dt.year == pd.Timestamp(company.as_of).year + 1]
    gap = year.groupby("scenario")["gap"].sum()
    lines = [
        f"Company: {company.name}, as of {company.as_of:%Y-%m-%d}",
        f"Items: {len(items)} in {len(families)} families; forecast {settings.horizon} months "
        f"({final['month'].min():%b %Y} to {final['month'].max():%b %Y})",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        f"Base revenue over the horizon: {base['revenue'].sum():,.0f} {settings.currency}",
        f"Gap to budget {pd.Timestamp(company.as_of).year + 1}: "
        + ", ".join(f"{s} {g:+,.0f}" for s, g in gap.items()),
        f"Execution through {through:%Y-%m-%d}: "
        + ", ".join(f"{s} {int(n)}" for s, n in execution["status"].value_counts().items())
        + f"; {len(exceptions)} exceptions",
    ]
    return DemoResult(path=path, actuals_next_day=csv_path, lines=lines)
