"""A tiny hand-made planning workbook (3 items, 2 families), independent of the sample data."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sop_excel import pipeline
from sop_excel.demo import DEFAULT_SETTINGS, default_scenarios, settings_rows
from sop_excel.workbook.build import build_workbook
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import rows_for

AS_OF = dt.date(2026, 11, 18)
MONTHS = pd.date_range("2026-11-01", periods=3, freq="MS")


def tiny_frames() -> dict[str, pd.DataFrame]:
    items = pd.DataFrame({
        "item": ["A-1", "A-2", "B-1"], "description": ["Pump", "=HYPERLINK(\"http://x\")", "Valve"],
        "family": ["Pumps", "Pumps", "Valves"], "site": ["Leeds"] * 3, "resource": ["L1", "L1", "L2"],
        "price": [100.0, 50.0, 20.0], "unit_cost": [60.0, 30.0, 12.5], "hours_per_unit": [0.5, 0.2, 0.1],
        "lead_time_days": [10, 10, 5], "status": ["active"] * 3, "opening_stock": [10.0, 5.0, 0.0],
        "like_item": ["", "", ""], "method": ["", "", ""], "comment": ["", "", ""],
    })
    forecast = pd.DataFrame([
        {"item": i, "family": f, "month": m, "baseline": b + k, "lo_80": b * 0.8, "hi_80": b * 1.2,
         "lo_95": b * 0.7, "hi_95": b * 1.3, "override": float("nan"), "comment": ""}
        for i, f, b in [("A-1", "Pumps", 10.0), ("A-2", "Pumps", 4.0), ("B-1", "Valves", 30.0)]
        for k, m in enumerate(MONTHS)])
    forecast.loc[1, "override"] = 25.0
    scenarios = default_scenarios(["Pumps", "Valves"])
    budget = pd.DataFrame({"family": ["Pumps"] * 3 + ["Valves"] * 3, "month": list(MONTHS) * 2,
                           "volume": [15.0] * 6, "revenue": [1500.0, 1400.0, 1300.0, 700.0, 600.0, 500.0]})
    actuals = pd.DataFrame({"date": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-03"]),
                            "item": ["A-1", "A-1", "B-1"], "orders": [1.0, 2.0, 9.0],
                            "shipments": [1.0, 1.0, 8.0]})
    history = pd.DataFrame({"item": ["A-1"] * 2, "month": pd.to_datetime(["2026-09-01", "2026-10-01"]),
                            "qty": [9.0, 11.0], "flag": ["", ""]})
    return {"items": items, "forecast": forecast, "scenarios": scenarios, "budget": budget,
            "actuals": actuals, "history": history}


def build_tiny(path) -> dict[str, pd.DataFrame]:
    f = tiny_frames()
    final, finance = pipeline.finance_frame(f["forecast"], f["items"], f["scenarios"], f["budget"])
    trend = pipeline.trend_frame(f["history"], final, f["items"])
    empty = {t.name: rows_for(t.name, pd.DataFrame(columns=t.fields)) for t in load_layout().tables}
    tables = {**empty,
              "tblSettings": settings_rows({"AsOfDate": AS_OF, **DEFAULT_SETTINGS}),
              "tblItems": rows_for("tblItems", f["items"]),
              "tblHistory": rows_for("tblHistory", f["history"]),
              "tblForecast": rows_for("tblForecast", final),
              "tblScenarios": rows_for("tblScenarios", f["scenarios"]),
              "tblBudget": rows_for("tblBudget", f["budget"]),
              "tblFinance": rows_for("tblFinance", finance),
              "tblActuals": rows_for("tblActuals", f["actuals"]),
              "tblTrend": rows_for("tblTrend", trend)}
    build_workbook(path, tables, formulas={t.name: table_formulas(t.name) for t in load_layout().tables})
    return {**f, "final": final, "finance": finance}
