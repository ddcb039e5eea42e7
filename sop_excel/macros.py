"""One function per ribbon button. Each sees the workbook only through ``WorkbookIO``.

The CLI calls these with the headless side (``OpenpyxlIO``); the ribbon will call them with the
live xlwings side (issue 6). They read tables, call the pure pipeline, write tables, log, save.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from pydantic import ValidationError

from sop_excel import pipeline
from sop_excel.core.execution import merge_actuals
from sop_excel.errors import CellProblem, InputError
from sop_excel.models import Settings
from sop_excel.workbook.io import WorkbookIO
from sop_excel.workbook.layout import load_layout, parse_cell
from sop_excel.workbook.tables import keep_planner_columns, read_frame, rows_for, write_frame

__all__ = ["RunReport", "read_settings", "refresh_actuals", "refresh_forecast"]

Progress = Callable[[int, int], None]


@dataclass
class RunReport:
    """What a macro did, in lines a planner reads (CLI output, a message box in Excel)."""

    command: str
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.lines + [f"Warning: {w}" for w in self.warnings])


def read_settings(book: WorkbookIO) -> Settings:
    """The Settings sheet as validated settings; a bad value is reported by its cell."""
    table = load_layout().table("tblSettings")
    frame = read_frame(book, "tblSettings")
    r0, c0 = parse_cell(table.anchor)
    rows = dict(zip(frame["setting"], frame.attrs["excel_rows"], strict=True))
    raw_rows = book.read_table("tblSettings")[1:]
    raw = {str(r[0]).strip(): r[1] for r in raw_rows if r and r[0] is not None}
    values: dict[str, object] = {}
    problems = []
    for spec in load_layout().settings.rows:
        if spec.setting not in raw:
            problems.append(CellProblem("Sheet 'Settings'", None, f"the setting '{spec.setting}' is missing",
                                        "Add a row for it (see the template) with its value."))
            continue
        v = raw[spec.setting]
        values[spec.name] = v.value if hasattr(v, "text") else v
    if not problems:
        try:
            return Settings.model_validate(values)
        except ValidationError as err:
            by_name = {s.name: s for s in load_layout().settings.rows}
            for e in err.errors(include_url=False):
                name = str(e["loc"][0]) if e["loc"] else ""
                spec = by_name.get(name)
                where = (f"Sheet 'Settings', cell {chr(64 + c0 + 1)}{rows[spec.setting]} ({spec.setting})"
                         if spec else "Sheet 'Settings'")
                problems.append(CellProblem(where, e.get("input"), e["msg"].rstrip("."),
                                            "Correct the value (its Description says what fits)."))
    raise InputError("Sheet 'Settings' has values sop-excel cannot use", problems)


def _log(book: WorkbookIO, command: str, data: str, details: str) -> None:
    log = read_frame(book, "tblLog")
    row = pd.DataFrame([{"time": pd.Timestamp(dt.datetime.now().replace(microsecond=0)),
                         "command": command, "user": getpass.getuser(), "data": data,
                         "details": details}])
    write_frame(book, "tblLog", pd.concat([log, row], ignore_index=True) if len(log) else row)


def _write_plan(book: WorkbookIO, forecast: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Write Forecast and Finance (formulas with fresh cached values); return the final plan."""
    scenarios = read_frame(book, "tblScenarios")
    budget = read_frame(book, "tblBudget")
    final, finance = pipeline.finance_frame(forecast, items, scenarios, budget)
    write_frame(book, "tblForecast", final)
    write_frame(book, "tblFinance", finance)
    return final


def refresh_forecast(book: WorkbookIO, *, progress: Progress | None = None) -> RunReport:
    """Re-forecast every item from History; keep overrides and comments; update Finance."""
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    history = read_frame(book, "tblHistory")
    old = read_frame(book, "tblForecast")
    forecast, models = pipeline.forecast_frames(settings, items, history, progress)
    forecast, lost = keep_planner_columns(forecast, old, "tblForecast")
    final = _write_plan(book, forecast, items)
    write_frame(book, "tblModels", models)
    trend = pipeline.trend_frame(history, final, items)
    book.write_table("tblTrend", rows_for("tblTrend", trend))
    report = RunReport("refresh-forecast")
    n_over = int(final["override"].notna().sum())
    fallbacks = int((models["fallback"] != "").sum())
    first, last = final["month"].min(), final["month"].max()
    report.lines += [
        f"Forecast {len(models)} items for {first:%b %Y} to {last:%b %Y} ({settings.horizon} months).",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        f"Overrides kept: {n_over}.",
    ]
    if fallbacks:
        report.warnings.append(f"{fallbacks} items used a fallback model (see Forecast > Fallback).")
    if len(lost):
        report.warnings.append(f"{len(lost)} overrides or comments were for months no longer in the "
                               "horizon and were dropped (listed in the Log).")
    details = report.lines[0] + f" Overrides kept {n_over}; fallbacks {fallbacks}."
    if len(lost):
        details += " Dropped: " + "; ".join(
            f"{r.item} {r.month:%Y-%m} override={r.override} comment={r.comment!r}"
            for r in lost.itertuples(index=False))
    _log(book, "refresh-forecast", f"History: {len(history)} rows, {history['item'].nunique()} items",
         details)
    book.save()
    return report


def refresh_actuals(book: WorkbookIO, actuals: pd.DataFrame, *, source: str) -> RunReport:
    """Merge a file of daily actuals, recompute Execution and Exceptions; keep owners and comments."""
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    forecast = read_frame(book, "tblForecast")
    existing = read_frame(book, "tblActuals")
    merged = merge_actuals(existing, actuals)
    final = _write_plan(book, forecast, items)
    execution, exceptions, through = pipeline.execution_frames(settings, items, final, merged)
    old_exc = read_frame(book, "tblExceptions")
    exceptions, resolved = keep_planner_columns(exceptions, old_exc, "tblExceptions")
    write_frame(book, "tblActuals", merged)
    write_frame(book, "tblExecution", execution)
    write_frame(book, "tblExceptions", exceptions)
    counts = execution["status"].value_counts()
    replaced = len(existing) + len(actuals) - len(merged)
    report = RunReport("refresh-actuals")
    report.lines += [
        f"Loaded {len(actuals)} rows from {source} ({replaced} replaced earlier figures).",
        f"Actuals through {through:%Y-%m-%d}: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "On track")) + ".",
        f"Exceptions: {len(exceptions)}.",
    ]
    month = pd.Timestamp(settings.as_of).replace(day=1)
    outside = actuals[(actuals["date"] < month) | (actuals["date"] > month + pd.offsets.MonthEnd(0))]
    if len(outside):
        report.warnings.append(f"{len(outside)} rows are outside {month:%B %Y} and do not count in "
                               "Execution (they are kept on the Actuals sheet).")
    details = " ".join(report.lines[1:])
    if len(resolved):
        details += " Left the list (owner/comment kept here): " + "; ".join(
            f"{r.item} owner={r.owner!r} comment={r.comment!r}" for r in resolved.itertuples(index=False))
    _log(book, "refresh-actuals", source, details)
    book.save()
    return report
