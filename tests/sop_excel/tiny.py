"""A tiny hand-made planning workbook (3 items, 2 families), independent of the sample data."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sop_excel import pipeline
from sop_excel.choices import named_choices
from sop_excel.demo import DEFAULT_SETTINGS, demo_scenarios, settings_rows
from sop_excel.models import Settings
from sop_excel.workbook.build import build_workbook
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import rows_for

AS_OF = dt.date(2026, 11, 18)
MONTHS = pd.date_range("2026-11-01", periods=3, freq="MS")


def tiny_frames() -> dict[str, pd.DataFrame]:
    items = pd.DataFrame(
        {
            "item": ["A-1", "A-2", "B-1"],
            "description": ["Pump", '=HYPERLINK("http://x")', "Valve"],
            "family": ["Pumps", "Pumps", "Valves"],
            "site": ["Leeds"] * 3,
            "resource": ["L1", "L1", "L2"],
            "price": [100.0, 50.0, 20.0],
            "unit_cost": [60.0, 30.0, 12.5],
            "hours_per_unit": [0.5, 0.2, 0.1],
            "lead_time_days": [10, 10, 5],
            "status": ["active"] * 3,
            "opening_stock": [10.0, 5.0, 0.0],
            "like_item": ["", "", ""],
            "method": ["", "", ""],
            "comment": ["", "", ""],
        }
    )
    forecast = pd.DataFrame(
        [
            {
                "item": i,
                "family": f,
                "site": "Leeds",
                "month": m,
                "baseline": b + k,
                "lo_80": b * 0.8,
                "hi_80": b * 1.2,
                "lo_95": b * 0.7,
                "hi_95": b * 1.3,
                "naive": b,
                "override": float("nan"),
                "reason_code": "",
                "comment": "",
            }
            for i, f, b in [("A-1", "Pumps", 10.0), ("A-2", "Pumps", 4.0), ("B-1", "Valves", 30.0)]
            for k, m in enumerate(MONTHS)
        ]
    )
    forecast.loc[1, "override"] = 25.0
    scen_list, drivers = demo_scenarios(["Pumps", "Valves"], AS_OF)
    drivers = drivers[drivers["kind"] != "capacity"]
    budget = pd.DataFrame(
        {
            "family": ["Pumps"] * 3 + ["Valves"] * 3,
            "month": list(MONTHS) * 2,
            "volume": [15.0] * 6,
            "revenue": [1500.0, 1400.0, 1300.0, 700.0, 600.0, 500.0],
        }
    )
    actuals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-03"]),
            "item": ["A-1", "A-1", "B-1"],
            "orders": [1.0, 2.0, 9.0],
            "shipments": [1.0, 1.0, 8.0],
        }
    )
    history = pd.DataFrame(
        {
            "item": ["A-1"] * 2,
            "month": pd.to_datetime(["2026-09-01", "2026-10-01"]),
            "qty": [9.0, 11.0],
            "flag": ["", ""],
        }
    )
    capacity = pd.DataFrame(
        {
            "resource": ["L1", "L2"] * 3,
            "month": [m for m in MONTHS for _ in (0, 1)],
            "hours": [10.0, 5.0] * 3,
        }
    )
    inputs = pd.DataFrame(
        {
            "stream": ["Sales"],
            "item": ["A-1"],
            "month": [MONTHS[1]],
            "qty": [3.0],
            "comment": ["promo"],
        }
    )
    targets = pd.DataFrame(
        {"family": ["Valves"], "month": [MONTHS[2]], "target": [40.0], "comment": [""]}
    )
    return {
        "items": items,
        "forecast": forecast,
        "scenario_list": scen_list,
        "drivers": drivers,
        "budget": budget,
        "actuals": actuals,
        "history": history,
        "capacity": capacity,
        "inputs": inputs,
        "targets": targets,
    }


def build_tiny(path) -> dict[str, pd.DataFrame]:
    f = tiny_frames()
    values = {"AsOfDate": AS_OF, **DEFAULT_SETTINGS}
    frames = pipeline.sop_frames(
        Settings.model_validate(values),
        f["items"],
        f["forecast"],
        f["inputs"],
        f["targets"],
        f["scenario_list"],
        f["drivers"],
        f["budget"],
        f["capacity"],
    )
    trend = pipeline.trend_frame(f["history"], frames["tblForecast"], f["items"])
    empty = {t.name: rows_for(t.name, pd.DataFrame(columns=t.fields)) for t in load_layout().tables}
    tables = {
        **empty,
        **{name: rows_for(name, frame) for name, frame in frames.items()},
        "tblSettings": settings_rows(values),
        "tblItems": rows_for("tblItems", f["items"]),
        "tblHistory": rows_for("tblHistory", f["history"]),
        "tblInputs": rows_for("tblInputs", f["inputs"]),
        "tblFamilyTargets": rows_for("tblFamilyTargets", f["targets"]),
        "tblScenarioList": rows_for("tblScenarioList", f["scenario_list"]),
        "tblDrivers": rows_for("tblDrivers", f["drivers"]),
        "tblBudget": rows_for("tblBudget", f["budget"]),
        "tblCapacity": rows_for("tblCapacity", f["capacity"]),
        "tblActuals": rows_for("tblActuals", f["actuals"]),
        "tblTrend": rows_for("tblTrend", trend),
    }
    build_workbook(
        path,
        tables,
        formulas={t.name: table_formulas(t.name) for t in load_layout().tables},
        choices=named_choices(),
    )
    return {**f, "final": frames["tblForecast"], "finance": frames["tblFinance"]}
