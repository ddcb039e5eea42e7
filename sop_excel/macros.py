"""One function per ribbon button. Each sees the workbook only through ``WorkbookIO``.

The CLI calls these with the headless side (``ZipIO``, or ``OpenpyxlIO``); the ribbon calls them
with the live xlwings side. They read tables, call the pure pipeline, write tables, log, and save.
The S&OP macros rewrite the derived S&OP tables (so formula values are always fresh); the S&OE
ones (refresh-actuals, flag-drift) rewrite only the execution tables and the hidden Basis sheet.
None writes a table a planner owns except to add what the planner asked for (a new scenario,
an imported file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import logging
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sop_excel import pipeline
from sop_excel.core.events import next_event_id
from sop_excel.core.execution import exception_workflow, merge_actuals
from sop_excel.core.frames import append_rows
from sop_excel.core.lock import accuracy
from sop_excel.core.lock import lock_plan as lock_snapshot
from sop_excel.errors import CellProblem, InputError, LayoutError, SopExcelError, plain_reason
from sop_excel.models import Settings
from sop_excel.scenario_text import frames_from_toml, toml_from_frames
from sop_excel.workbook.io import WorkbookIO
from sop_excel.workbook.layout import load_layout, parse_cell
from sop_excel.workbook.safe_save import can_fork_helpers, in_forked_child, no_backup
from sop_excel.workbook.tables import (
    cell_locator,
    keep_planner_columns,
    read_frame,
    rows_for,
    write_frame,
)

_logger = logging.getLogger(__name__)

__all__ = [
    "RunReport",
    "add_event",
    "compare_scenarios",
    "export_scenarios",
    "flag_drift",
    "import_scenarios",
    "keep_basis",
    "lock_plan",
    "meeting_pack",
    "new_scenario",
    "read_settings",
    "refresh_actuals",
    "refresh_actuals_from_source",
    "refresh_forecast",
]

Progress = Callable[[int, int], None]
SOP_TABLES = ("tblForecast", "tblRollup", "tblScenarioPlan", "tblFinance", "tblCompare",
              "tblLoad", "tblInventory")


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
    layout = load_layout()
    table = layout.table("tblSettings")
    frame = read_frame(book, "tblSettings")
    _, c0 = parse_cell(table.anchor)
    rows = dict(zip(frame["setting"], frame.attrs["excel_rows"], strict=True))
    raw = {str(r[0]).strip(): r[1] for r in book.read_table("tblSettings")[1:] if r and r[0] is not None}
    values: dict[str, object] = {}
    problems = []
    optional = {f.alias for f in Settings.model_fields.values() if not f.is_required()}
    for spec in layout.settings.rows:
        if spec.setting not in raw and spec.name in optional:
            continue  # a workbook from an earlier version: the default applies
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
            by_name = {s.name: s for s in layout.settings.rows}
            for e in err.errors(include_url=False):
                spec = by_name.get(str(e["loc"][0]) if e["loc"] else "")
                where = (f"Sheet 'Settings', cell {chr(64 + c0 + 1)}{rows[spec.setting]} ({spec.setting})"
                         if spec else "Sheet 'Settings'")
                value = e.get("input") if spec else None  # a rule across settings: no one value to show
                problems.append(CellProblem(where, value, plain_reason(e["msg"]),
                                            "Correct the value (its Description says what fits)."))
    raise InputError("Sheet 'Settings' has values sop-excel cannot use", problems)


def _log(book: WorkbookIO, command: str, data: str, details: str) -> None:
    log = read_frame(book, "tblLog")
    row = pd.DataFrame([{"time": pd.Timestamp(dt.datetime.now().replace(microsecond=0)),
                         "command": command, "user": getpass.getuser(), "data": data,
                         "details": details}])
    write_frame(book, "tblLog", append_rows(log, row))


def _latest_lock(book: WorkbookIO) -> tuple[pd.DataFrame | None, str, str]:
    """(the plan of record, its label "v3 locked (Base)", its scenario), or (None, "", "")."""
    locks = read_frame(book, "tblLocks")
    if locks.empty:
        return None, "", ""
    last = locks.sort_values("version").iloc[-1]
    locked = read_frame(book, "tblLockedPlan")
    return locked, f"v{int(last['version'])} locked ({last['scenario']})", str(last["scenario"])


def _write_sop(book: WorkbookIO, settings: Settings, items: pd.DataFrame,
               forecast: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Recompute and write every derived S&OP table from the planner's current inputs."""
    frames = pipeline.sop_frames(
        settings, items, forecast, read_frame(book, "tblInputs"), read_frame(book, "tblFamilyTargets"),
        read_frame(book, "tblScenarioList"), read_frame(book, "tblDrivers"),
        read_frame(book, "tblBudget"), read_frame(book, "tblCapacity"))
    for name in SOP_TABLES:
        write_frame(book, name, frames[name])
    book.write_table("tblCompareMonthly", rows_for("tblCompareMonthly", frames["tblCompareMonthly"]))
    return frames


def _final(book: WorkbookIO, items: pd.DataFrame) -> pd.DataFrame:
    """The consensus forecast from the planner's current inputs, for S&OE to plan against.

    The S&OE commands (refresh-actuals, flag-drift) leave the S&OP tables as they are: those
    change with refresh-forecast, compare-scenarios and new-scenario, never with actuals.
    """
    return pipeline.final_forecast(items, read_frame(book, "tblForecast"), read_frame(book, "tblInputs"),
                                   read_frame(book, "tblFamilyTargets"))


# What the execution basis is computed from; its fingerprint says whether the Basis sheet still holds.
BASIS_SOURCES = ["tblForecast", "tblInputs", "tblFamilyTargets", "tblLocks", "tblLockedPlan",
                 "tblSnapshots", "tblHistory"]
BASIS_VERSION = "2"  # 2: the interval spread (safety stock) and the locked scenario (supply, issue 21)


def _basis_key(book: WorkbookIO, settings: Settings) -> dict[str, str] | None:
    """What the Basis sheet must say to be used: the S&OP sheets' fingerprint (the zip side reads
    it from the file's directory) and the settings the basis depends on. None where the side
    cannot fingerprint (live Excel, openpyxl) or the workbook has no Basis sheet."""
    stamp = getattr(book, "content_stamp", None)
    if stamp is None or "tblBasisKey" not in book.table_names():
        return None
    sheets = stamp(BASIS_SOURCES)
    if sheets is None:
        return None
    return {"version": BASIS_VERSION, "month": f"{settings.as_of:%Y-%m}",
            "bias window": str(settings.bias_window), "tracking limit": repr(float(settings.tracking_limit)),
            "sheets": sheets}


def _execution_basis(book: WorkbookIO, settings: Settings, items: pd.DataFrame,
                     final: pd.DataFrame | None = None) -> pipeline.ExecutionBasis:
    """The execution basis: from the Basis sheet when its fingerprint matches the S&OP sheets
    as saved, else computed from them (Forecast, Inputs, Plan of record, Snapshots, History)
    and kept on the Basis sheet for the next refresh. ``final``: a consensus just computed
    (lock-plan), which the basis is computed from.

    At 10,000 items the S&OP sheets hold about 11 million cells; the Basis sheet a few rows per
    item. A planner's edit to any of them (in Excel or here) changes the fingerprint.
    """
    key = _basis_key(book, settings) if final is None else None
    kept = _kept_basis(book, key) if key is not None else None
    if kept is not None:
        return kept
    locked, label, scenario = _latest_lock(book)
    basis = pipeline.execution_basis(settings, final if final is not None else _final(book, items), locked,
                                     label, read_frame(book, "tblSnapshots"), read_frame(book, "tblHistory"),
                                     lock_scenario=scenario)
    if key is not None:
        _write_basis(book, basis, key)
    return basis


def _kept_basis(book: WorkbookIO, key: dict[str, str]) -> pipeline.ExecutionBasis | None:
    """The basis on the Basis sheet, if its key holds for ``key`` (the file and settings as they
    are). A Basis sheet that cannot be read (edited by some tool) is no basis: it is computed
    again and written over, never an error (the planner did not type it)."""
    try:
        kept = read_frame(book, "tblBasisKey")
        said = dict(zip(kept["key"].astype(str), kept["value"].astype(str), strict=True))
        if "plan source" not in said or any(said.get(k) != v for k, v in key.items()):
            return None
        basis = pipeline.ExecutionBasis(read_frame(book, "tblBasisItems"), read_frame(book, "tblBasisMonths"),
                                        said["plan source"], said.get("plan scenario", ""))
    except (InputError, LayoutError) as exc:
        _logger.warning("%s: the Basis sheet cannot be read (%s); computing the execution basis again",
                        book.name, exc)
        return None
    _logger.debug("%s: execution basis from the Basis sheet", book.name)
    return basis


def _write_basis(book: WorkbookIO, basis: pipeline.ExecutionBasis, key: dict[str, str]) -> None:
    for name, frame in basis.frames().items():
        write_frame(book, name, frame)
    write_frame(book, "tblBasisKey", pd.DataFrame(
        {"key": [*key, "plan source", "plan scenario"], "value": [*key.values(), basis.source, basis.scenario]}))


def keep_basis(book: WorkbookIO, settings: Settings,
               basis: pipeline.ExecutionBasis | Callable[[], pipeline.ExecutionBasis]) -> bool:
    """After a save that changed what the execution basis comes from (refresh-forecast,
    lock-plan, a new workbook), or rewrote those sheets with what they held (compare-scenarios):
    keep ``basis`` on the Basis sheet with the fingerprint of the file as saved (a second, small
    save), so the next refresh-actuals reads it instead of the S&OP sheets. Only a cache: where it cannot be kept (live Excel, openpyxl, no Basis sheet)
    or keeping it fails, nothing changes but the next refresh's time. True if kept.
    ``basis`` may be the call that computes it (its errors, too, only cost the cache).
    """
    try:
        key = _basis_key(book, settings)
        if key is None:
            return False
        _write_basis(book, basis() if callable(basis) else basis, key)
        with no_backup():  # the command's own save kept the version from before it
            book.save()
    except Exception as exc:  # noqa: BLE001 - a cache: the command's own work is saved already
        _logger.warning("%s: the execution basis was not kept (%s); the next refresh-actuals computes it",
                        book.name, exc)
        return False
    return True


SUPPLY_SHEETS = ("tblProduction", "tblEvents", "tblSupplyItems")  # a workbook made before issue 21 has none


def _supply_inputs(book: WorkbookIO, settings: Settings, items: pd.DataFrame, basis: pipeline.ExecutionBasis,
                   production: pd.DataFrame | None = None) -> pipeline.SupplyInputs | None:
    """Production (as given, else the Production table), the Events checked, and the plan's
    capacity; None for a workbook without the supply sheets. Capacity and scenarios are read
    only when there is production or an event (else the supply side is idle, and cheap)."""
    names = book.table_names()
    if not all(n in names for n in SUPPLY_SHEETS):
        return None
    production = read_frame(book, "tblProduction") if production is None else production
    events = read_frame(book, "tblEvents")
    if production.empty and events.empty:
        return pipeline.SupplyInputs(production, events, pd.DataFrame(columns=["resource", "month", "hours"]))
    _check_production(production)
    capacity = read_frame(book, "tblCapacity")
    checked = pipeline.check_events(events, items, capacity, settings, cell_locator(events, "tblEvents"))
    plan_cap = pipeline.plan_capacity(settings, basis, capacity, read_frame(book, "tblScenarioList"),
                                      read_frame(book, "tblDrivers"))
    return pipeline.SupplyInputs(production, checked, plan_cap)


def _check_production(production: pd.DataFrame) -> None:
    """Rows typed or pasted on the Production sheet: one per date, item and resource."""
    dup = production.duplicated(["date", "item", "resource"]).to_numpy()
    if not dup.any():
        return
    rows = production.attrs.get("excel_rows")
    problems = [CellProblem(f"Sheet 'Production', row {rows[j] if rows else j + 4}", None,
                            f"repeats item {production['item'].iat[j]} on {production['date'].iat[j]:%Y-%m-%d}"
                            + (f" on {production['resource'].iat[j]}" if production["resource"].iat[j] else ""),
                            "Keep one row per date, item and resource (delete the repeat, or add the figures up).")
                for j in dup.nonzero()[0]]
    raise InputError("Sheet 'Production' has rows sop-excel cannot use", problems)


@dataclass
class _Executed:
    """What :func:`_write_execution` wrote."""

    execution: pd.DataFrame
    exceptions: pd.DataFrame
    through: dt.date
    resolved: pd.DataFrame  # exception log rows of exceptions that left the list
    supply: pd.DataFrame | None  # tblSupplyItems (None: the workbook has no supply sheets)


def _write_execution(book: WorkbookIO, settings: Settings, items: pd.DataFrame,
                     actuals: pd.DataFrame, basis: pipeline.ExecutionBasis | None = None,
                     production: pd.DataFrame | None = None) -> _Executed:
    """Recompute and write the S&OE tables against ``basis`` (else read or computed from the
    workbook), demand and supply; ``production``: the Production table just merged (else read)."""
    basis = basis or _execution_basis(book, settings, items)
    supply = _supply_inputs(book, settings, items, basis, production)
    execution, exceptions, through, views = pipeline.execution_from_basis(settings, items, basis, actuals, supply)
    log = read_frame(book, "tblExceptionLog")
    month = pd.Timestamp(settings.as_of).replace(day=1)
    now = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    exceptions, events = exception_workflow(exceptions, read_frame(book, "tblExceptions"), log, now, month)
    write_frame(book, "tblExecution", execution)
    write_frame(book, "tblExceptions", exceptions)
    for name, frame in views.items():
        if name in book.table_names():  # workbooks made before the Sensing and Weekly sheets lack them
            write_frame(book, name, frame)
    if len(events):
        log = append_rows(log, events)
    # on the zip side the log is written even when nothing happened: it sits beside Exceptions,
    # and a sheet whose tables are all rewritten is written in bulk, not row by row around it
    if len(events) or getattr(book, "writes_sheets_in_bulk", False):
        write_frame(book, "tblExceptionLog", log)
    return _Executed(execution, exceptions, through, events[events["event"].isin(["resolved", "cleared"])],
                     views["tblSupplyItems"] if supply is not None and supply.active else None)


def _supply_line(done: _Executed) -> str | None:
    """The supply side in one line for the report, or None when there is none."""
    if done.supply is None:
        return None
    items = done.supply
    out = items[items["stockout_week"].notna()]
    below = int(items["below_safety_week"].notna().sum())
    areas = done.exceptions["area"].value_counts() if "area" in done.exceptions else pd.Series(dtype=int)
    first = f" (the first from {out['stockout_week'].min():%Y-%m-%d})" if len(out) else ""
    return (f"Supply: {len(out)} items projected out of stock in the next 13 weeks{first}, {below} below safety "
            f"stock; revenue at risk {items['revenue_at_risk'].sum():,.0f}. Exceptions: "
            f"{int(areas.get('Supply', 0))} supply, {int(areas.get('Capacity', 0))} capacity.")


def refresh_forecast(book: WorkbookIO, *, progress: Progress | None = None, engine: str = "local",
                     scheduler: object = None) -> RunReport:
    """Re-forecast every item from History; keep overrides and comments; update the S&OP tables.

    ``engine="dask"`` with ``scheduler`` (``tcp://host:8786``) forecasts on a Dask cluster.
    """
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    history = read_frame(book, "tblHistory")
    old = read_frame(book, "tblForecast")
    forecast, models = pipeline.forecast_frames(settings, items, history, progress,
                                                engine=engine, scheduler=scheduler)
    forecast, lost = keep_planner_columns(forecast, old, "tblForecast")
    frames = _write_sop(book, settings, items, forecast)
    final = frames["tblForecast"]
    write_frame(book, "tblModels", models)
    cleansing = pipeline.cleansing_frame(settings, history)
    if "tblCleansing" in book.table_names():  # workbooks made before the Cleansing table lack it
        write_frame(book, "tblCleansing", cleansing)
    book.write_table("tblTrend", rows_for("tblTrend", pipeline.trend_frame(history, final, items)))
    report = RunReport("refresh-forecast")
    n_over = int(final["override"].notna().sum())
    fallbacks = int((models["fallback"] != "").sum())
    report.lines += [
        f"Forecast {len(models)} items for {final['month'].min():%b %Y} to {final['month'].max():%b %Y} "
        f"({settings.horizon} months).",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        f"Overrides kept: {n_over}.",
    ]
    corrected = int((cleansing["why"].str.startswith("outlier")).sum())
    if corrected:
        report.lines.append(f"Outlier months corrected: {corrected} in {cleansing['item'].nunique()} "
                            "items (History > Cleansing; Flag a month keep to use it as it is).")
    if fallbacks:
        report.warnings.append(f"{fallbacks} items used a fallback model (see Forecast > Fallback).")
    hard = models[models["forecastability"] != ""]
    if len(hard):
        worst = hard.sort_values("backtest_mase", ascending=False).head(5)
        report.warnings.append(
            f"{len(hard)} items are flagged hard to forecast (Forecast > Forecastability), worst: "
            + ", ".join(f"{r.item} (backtest MASE {r.backtest_mase:.2f})" for r in worst.itertuples())
            + ". Check their history, use a family profile or a manual forecast.")
    details = report.lines[0] + f" Overrides kept {n_over}; fallbacks {fallbacks}."
    if len(lost):
        report.warnings.append(f"{len(lost)} overrides or comments were for months no longer in the "
                               "horizon and were dropped (listed in the Log).")
        details += " Dropped: " + "; ".join(
            f"{r.item} {r.month:%Y-%m} override={r.override} reason={r.reason_code!r} comment={r.comment!r}"
            for r in lost.itertuples(index=False))
    _log(book, "refresh-forecast", f"History: {len(history)} rows, {history['item'].nunique()} items", details)
    book.save()

    def basis() -> pipeline.ExecutionBasis:  # the new forecast is what the next daily refresh plans against
        locked, label, scenario = _latest_lock(book)
        return pipeline.execution_basis(settings, final, locked, label, read_frame(book, "tblSnapshots"), history,
                                        lock_scenario=scenario)

    keep_basis(book, settings, basis)
    return report


def refresh_actuals(book: WorkbookIO, actuals: pd.DataFrame | Callable[[], pd.DataFrame], *,
                    source: str, existing: Callable[[], pd.DataFrame] | None = None,
                    supply: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
                    supply_source: str = "", existing_supply: Callable[[], pd.DataFrame] | None = None
                    ) -> RunReport:
    """Merge daily actuals (and production and receipts), recompute Execution, the supply view and
    Exceptions; keep owners and comments.

    ``actuals``: the rows, or a call that gives them (a source being read meanwhile: the
    workbook is read first, and the call made only then). ``existing``: a call that gives the
    Actuals table as :func:`read_frame` would (being read meanwhile), else it is read here.
    ``supply``: production and receipts rows (``date, item, resource, produced, receipts``), a
    call that gives them or None (none: the source had no supply columns), from
    ``supply_source``; ``existing_supply``: as ``existing``, for the Production table.
    """
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    basis = _execution_basis(book, settings, items)
    existing = existing() if existing is not None else read_frame(book, "tblActuals")
    if callable(actuals):
        actuals = actuals()
    merged = merge_actuals(existing, actuals)
    write_frame(book, "tblActuals", merged)
    if callable(supply):
        supply = supply()
    production, supply_line = None, None
    if supply is not None:
        if "tblProduction" not in book.table_names():
            raise LayoutError(f"{book.name} has no Production sheet (it was made before sop-excel loaded "
                              "production), so the production and receipts cannot be kept. Build the workbook "
                              "again (sop-excel new or demo), or load the actuals without supply columns.")
        before = existing_supply() if existing_supply is not None else read_frame(book, "tblProduction")
        production = merge_actuals(before, supply)
        replaced = len(before) + len(supply) - len(production)
        # a day with nothing made or received is no row: a zero from the source still replaces
        # what was there (a correction to nothing), and the sheet stays a quarter smaller
        production = production[(production["produced"] != 0) | (production["receipts"] != 0)]
        write_frame(book, "tblProduction", production)
        supply_line = (f"Loaded {len(supply)} rows of production and receipts from "
                       f"{supply_source or 'its supply columns'} ({replaced} replaced earlier figures).")
    done = _write_execution(book, settings, items, merged, basis=basis, production=production)
    execution, exceptions, through, resolved = done.execution, done.exceptions, done.through, done.resolved
    counts = execution["status"].value_counts()
    replaced = len(existing) + len(actuals) - len(merged)  # rows of the file that replaced earlier figures
    report = RunReport("refresh-actuals")
    report.lines += [
        f"Loaded {len(actuals)} rows from {source} ({replaced} replaced earlier figures).",
        *([supply_line] if supply_line else []),
        f"Actuals through {through:%Y-%m-%d} against {execution['plan_source'].iloc[0] if len(execution) else 'no plan'}: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "On track")) + ".",
        *([line] if (line := _supply_line(done)) else []),
        f"Exceptions: {len(exceptions)}.",
    ]
    month = pd.Timestamp(settings.as_of).replace(day=1)
    outside = actuals[(actuals["date"] < month) | (actuals["date"] > month + pd.offsets.MonthEnd(0))]
    if len(outside):
        report.warnings.append(f"{len(outside)} rows are outside {month:%B %Y} and do not count in "
                               "Execution (they are kept on the Actuals sheet).")
    details = " ".join(line for line in report.lines[1:] if line != supply_line)
    if len(resolved):
        details += " Left the list (see the exception log): " + "; ".join(
            f"{r.item} {r.event} owner={r.owner!r} comment={r.comment!r}" for r in resolved.itertuples(index=False))
    _log(book, "refresh-actuals", source + (f"; supply: {supply_source or source}" if supply is not None else ""),
         details + (f" {supply_line}" if supply_line else ""))
    book.save()
    return report


def _source_path(text: str, folder: Path | None, what: str) -> str | Path:
    """A source as a reader takes it: a URL as it is, a path made absolute from ``folder``."""
    from sop_excel.sources import source_kind

    if source_kind(text) == "url":
        return text
    path = Path(text).expanduser()
    if not path.is_absolute():
        if folder is None:
            raise InputError(f"{what} '{text}' is a relative path and the workbook has no "
                             "folder (save it first, or give a full path).")
        path = folder / path
    return path


def refresh_actuals_from_source(book: WorkbookIO, source: str | None = None, *,
                                folder: Path | None = None, table: str = "actuals",
                                aside: bool = False, supply: str | None = None,
                                supply_table: str = "production") -> RunReport:
    """Read actuals from ``source`` (default: Settings > Actuals source) and refresh.

    ``source`` is a CSV or xlsx file, a SQLite file or a database URL; a relative path is taken
    from ``folder`` (the workbook's). Settings > Actuals columns maps the source's column names.
    Databases are read incrementally: only rows from the start of the execution month.
    Production and receipts come from ``supply`` (default: Settings > Supply source; its table
    or sheet ``supply_table``), else from the actuals source's own supply columns when it has
    them (Settings > Supply columns maps both).
    ``aside``: read the sources in other processes meanwhile (the CLI; not inside Excel).
    """
    from sop_excel.sources import read_actuals, read_supply, source_kind, source_label

    settings = read_settings(book)
    text = (source or settings.actuals_source or "").strip()
    if not text:
        raise InputError("No actuals source: give one (a CSV/xlsx file, a SQLite file or a database "
                         "URL), or fill Settings > Actuals source.")
    where = _source_path(text, folder, "Actuals source")
    since = pd.Timestamp(settings.as_of).replace(day=1).date() if source_kind(text) in ("sqlite", "url") else None
    supply_text = (supply or settings.supply_source or "").strip()
    has_sheet = "tblProduction" in book.table_names()
    supply_where = _source_path(supply_text, folder, "Supply source") if supply_text else where
    with contextlib.ExitStack() as stack:
        # the Actuals sheet (the largest read) and the source in processes of their own, while
        # this one reads the rest of the workbook
        frame_reader = getattr(book, "frame_reader", None)
        read_sheet = frame_reader("tblActuals") if aside and can_fork_helpers() and frame_reader else None
        existing = stack.enter_context(_reading_aside(read_sheet)) if read_sheet is not None else None
        items = read_frame(book, "tblItems")
        known = set(items["item"])
        actuals = stack.enter_context(_reading_aside(
            read_actuals, where, aside=aside, mapping=settings.column_mapping or None, known_items=known,
            since=since, table=table))
        supply_rows = existing_supply = None
        if supply_text or has_sheet:  # the actuals source's supply columns: only where they can be kept
            mapping = {**({k: v for k, v in settings.column_mapping.items() if k in ("date", "item")}
                          if not supply_text else {}), **settings.supply_mapping}
            resources = set(items["resource"].fillna("").astype(str)) | set(read_frame(book, "tblCapacity")["resource"])
            supply_since = (pd.Timestamp(settings.as_of).replace(day=1).date()
                            if source_kind(str(supply_where)) in ("sqlite", "url") else None)
            read_prod = frame_reader("tblProduction") if read_sheet is not None and has_sheet else None
            existing_supply = stack.enter_context(_reading_aside(read_prod)) if read_prod is not None else None
            supply_rows = stack.enter_context(_reading_aside(
                read_supply, supply_where, aside=aside, mapping=mapping or None, known_items=known,
                item_resources=dict(zip(items["item"], items["resource"].fillna("").astype(str), strict=False)),
                known_resources=resources - {""}, since=supply_since,
                table=supply_table if supply_text else table, optional=not supply_text))
        return refresh_actuals(book, actuals, source=source_label(where), existing=existing, supply=supply_rows,
                               supply_source=source_label(supply_where) if supply_text else "",
                               existing_supply=existing_supply)


@contextlib.contextmanager
def _reading_aside(read: Callable[..., pd.DataFrame], *args: object, aside: bool = True, **kwargs: object
                   ) -> Iterator[Callable[[], pd.DataFrame]]:
    """``read(*args, **kwargs)`` in a second process while this one reads the workbook, on a
    machine with more than one core (a database of 310,000 rows takes about a second, as long
    as the Actuals sheet); gives the call that waits for its result.

    Its errors are raised here as they were raised there (they name the file, row and column);
    a process that cannot start, or dies, means reading here. The process does this one read
    and ends; it holds none of this one's writer locks, and on Linux it is killed if this one
    dies first. Linux only (fork): elsewhere a new process would import pandas again.
    """
    if not (aside and can_fork_helpers()):
        yield lambda: read(*args, **kwargs)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_and_send, args=(send, read, args, kwargs), daemon=True,
                       name="sop-excel source reader")
    try:
        proc.start()
    except (OSError, RuntimeError) as exc:  # no processes here (a sandbox, a frozen app)
        _logger.debug("reading the source in this process: %s", exc)
        receive.close()
        send.close()
        yield lambda: read(*args, **kwargs)
        return
    send.close()  # ours: the pipe ends when the reader's end closes

    def result() -> pd.DataFrame:
        try:
            ok, value = receive.recv()
        except Exception:  # noqa: BLE001 - the reader died without a word, or its word cannot be read: read here
            return read(*args, **kwargs)
        if ok:
            return value
        raise value

    try:
        yield result
    finally:
        receive.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _read_and_send(send: Any, read: Callable[..., pd.DataFrame], args: tuple, kwargs: dict) -> None:
    """In the reader process: ``(True, frame)`` or ``(False, the error)`` down the pipe."""
    in_forked_child()
    try:
        try:
            reply: tuple[bool, object] = (True, read(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every error goes back to be raised there
            reply = (False, exc)
            try:  # an error class that pickles but cannot be made again (a driver's): its text
                pickle.loads(pickle.dumps(exc))
            except Exception:  # noqa: BLE001
                reply = (False, SopExcelError(f"{exc.__class__.__name__}: {exc}"))
        send.send(reply)
    except (BrokenPipeError, OSError):  # the command ended first: nobody to tell
        pass
    finally:
        send.close()


def flag_drift(book: WorkbookIO) -> RunReport:
    """Recompute Execution, the supply view and Exceptions (demand and supply) from the actuals,
    production and events already in the workbook."""
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    actuals = read_frame(book, "tblActuals")
    done = _write_execution(book, settings, items, actuals)
    execution, exceptions, through, resolved = done.execution, done.exceptions, done.through, done.resolved
    counts = execution["status"].value_counts()
    report = RunReport("flag-drift", [
        f"Actuals through {through:%Y-%m-%d}: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "On track")) + ".",
        *([line] if (line := _supply_line(done)) else []),
        f"Exceptions: {len(exceptions)}" + (f"; {len(resolved)} left the list (kept in the Log)." if len(resolved) else "."),
    ])
    details = " ".join(report.lines)
    if len(resolved):
        details += " Left the list: " + "; ".join(
            f"{r.item} {r.event} owner={r.owner!r} comment={r.comment!r}" for r in resolved.itertuples(index=False))
    _log(book, "flag-drift", f"Actuals sheet: {len(actuals)} rows", details)
    book.save()
    return report


EVENT_OPTIONS = {"kind": "--kind", "resource": "--resource", "item": "--item", "start": "--from", "end": "--to",
                 "working_days": "--days", "rate": "--rate", "delay_days": "--delay", "owner": "--owner",
                 "status": "--status", "comment": "--comment"}


def add_event(book: WorkbookIO, kind: str, *, start: dt.date | pd.Timestamp | None, resource: str = "",
              item: str = "", end: dt.date | pd.Timestamp | None = None, working_days: int | None = None,
              rate: float | None = None, delay_days: int | None = None, owner: str = "", status: str = "Open",
              comment: str = "", where: Callable[[str], str] | None = None) -> RunReport:
    """Add a disruption to the Events table (its ID: the next ``E<n>``), then recompute the S&OE
    tables, demand and supply, as Flag drift does.

    ``where``: names the place each field came from in messages (default: the command's options,
    ``--resource``; the ribbon names the New event row's cells). The event is checked against
    Items and Capacity first; the workbook is not changed when it is refused.
    """
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    events = read_frame(book, "tblEvents")
    capacity = read_frame(book, "tblCapacity")
    row = {"id": next_event_id(events["id"]), "kind": kind, "resource": resource or "", "item": item or "",
           "start": pd.Timestamp(start) if start is not None else pd.NaT,
           "end": pd.Timestamp(end) if end is not None else pd.NaT,
           "working_days": np.nan if working_days is None else float(working_days),
           "rate": np.nan if rate is None else float(rate),
           "delay_days": np.nan if delay_days is None else float(delay_days),
           "owner": owner or "", "status": status or "Open", "comment": comment or ""}
    new = pd.DataFrame([row])
    name = where or (lambda field: f"Option {EVENT_OPTIONS[field]}")
    checked = pipeline.check_events(new, items, capacity, settings, lambda _pos, field: name(field),
                                    summary=f"The event cannot be added to {book.name}")
    added = new.assign(kind=checked["kind"].iloc[0] if len(checked) else new["kind"],
                       status=checked["status"].iloc[0] if len(checked) else new["status"])
    write_frame(book, "tblEvents", append_rows(events, added))
    done = _write_execution(book, settings, items, read_frame(book, "tblActuals"))
    label = checked["label"].iloc[0] if len(checked) else f"{row['id']} ({row['kind']}, cancelled)"
    report = RunReport("add-event", [
        f"Event {row['id']} added: {label}" + (f"; owner {owner}" if owner else "") + ".",
        *([line] if (line := _supply_line(done)) else []),
        f"Exceptions: {len(done.exceptions)}.",
    ])
    _log(book, "add-event", f"Event {row['id']}", " ".join(report.lines))
    book.save()
    return report


def compare_scenarios(book: WorkbookIO) -> RunReport:
    """Recompute every scenario from its drivers: plan, finance, capacity, inventory, compare."""
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    key = _basis_key(book, settings)  # scenarios change nothing the daily refresh plans against
    kept = _kept_basis(book, key) if key is not None else None
    frames = _write_sop(book, settings, items, read_frame(book, "tblForecast"))
    report = RunReport("compare-scenarios")
    for r in frames["tblCompare"].itertuples(index=False):
        report.lines.append(f"{r.scenario}: revenue {r.revenue:,.0f}, margin {r.margin_pct:.1%}, "
                            f"gap to budget {r.gap:+,.0f}, peak load {r.peak_load:.0%}, "
                            f"{r.overloads} overloaded resource-months")
    _log(book, "compare-scenarios", f"{len(frames['tblCompare'])} scenarios", " | ".join(report.lines))
    book.save()
    if kept is not None:  # the S&OP sheets were written anew: the basis still holds, under their new fingerprint
        keep_basis(book, settings, kept)
    return report


def new_scenario(book: WorkbookIO, name: str, *, parent: str = "Base", description: str = "",
                 drivers: list[dict[str, object]] | None = None) -> RunReport:
    """Add scenario ``name`` as deltas over ``parent`` (optionally with drivers), then compare."""
    scen = read_frame(book, "tblScenarioList")
    if name in set(scen["scenario"]):
        raise InputError(f"Scenario '{name}' already exists on the Scenarios sheet. Pick another name, "
                         "or edit its drivers there.")
    if parent and parent not in set(scen["scenario"]):
        raise InputError(f"Parent scenario '{parent}' does not exist. Existing: "
                         f"{', '.join(scen['scenario'])}.")
    row = pd.DataFrame([{"scenario": name, "parent": parent, "description": description, "status": "Draft"}])
    write_frame(book, "tblScenarioList", append_rows(scen, row))
    if drivers:
        old = read_frame(book, "tblDrivers")
        new = pd.DataFrame([{"scenario": name, **d} for d in drivers])
        write_frame(book, "tblDrivers", append_rows(old, new))
    report = compare_scenarios(book)
    report.command = "new-scenario"
    report.lines.insert(0, f"Scenario '{name}' created from '{parent}' with {len(drivers or [])} driver(s).")
    return report


def export_scenarios(book: WorkbookIO) -> str:
    """The scenarios and their drivers as TOML text."""
    return toml_from_frames(read_frame(book, "tblScenarioList"), read_frame(book, "tblDrivers"))


def import_scenarios(book: WorkbookIO, text: str, *, source: str) -> RunReport:
    """Replace the scenarios and drivers with those of a TOML file, then compare."""
    scen, drivers = frames_from_toml(text, source)
    old = read_frame(book, "tblScenarioList")
    scen["status"] = scen["scenario"].map(dict(zip(old["scenario"], old["status"], strict=True))).fillna("Draft")
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    parents = dict(zip(scen["scenario"], scen["parent"], strict=True))
    pipeline.check_scenarios(list(scen["scenario"]), parents, drivers, items, settings)
    write_frame(book, "tblScenarioList", scen)
    write_frame(book, "tblDrivers", drivers)
    report = compare_scenarios(book)
    report.command = "import-scenarios"
    report.lines.insert(0, f"Imported {len(scen)} scenarios and {len(drivers)} drivers from {source}.")
    return report


def lock_plan(book: WorkbookIO, scenario: str | None = None, *, note: str = "",
              user: str | None = None, now: dt.datetime | None = None) -> RunReport:
    """Lock a scenario as the plan of record: version, time, user, content hash, snapshots."""
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    frames = _write_sop(book, settings, items, read_frame(book, "tblForecast"))
    name = scenario or settings.plan_scenario
    plan = frames["tblScenarioPlan"]
    if name not in set(plan["scenario"]):
        raise InputError(f"Scenario '{name}' does not exist. Existing: {', '.join(plan['scenario'].unique())}.")
    locks = read_frame(book, "tblLocks")
    version = int(locks["version"].max()) + 1 if len(locks) else 1
    cycle = pd.Timestamp(settings.as_of).replace(day=1)
    record, locked, snap = lock_snapshot(version, name, plan[plan["scenario"] == name], frames["tblForecast"],
                                         cycle, user or getpass.getuser(), now or dt.datetime.now(), note)
    write_frame(book, "tblLocks", append_rows(locks, record))
    write_frame(book, "tblLockedPlan", locked)
    snaps = read_frame(book, "tblSnapshots")
    snaps = append_rows(snaps, snap)
    write_frame(book, "tblSnapshots", snaps)
    fva, waterfall = accuracy(snaps, read_frame(book, "tblHistory"))
    write_frame(book, "tblFVA", fva)
    write_frame(book, "tblWaterfall", waterfall)
    scen = read_frame(book, "tblScenarioList")
    scen.loc[scen["scenario"] == name, "status"] = f"Locked v{version}"
    write_frame(book, "tblScenarioList", scen)
    basis = _execution_basis(book, settings, items, frames["tblForecast"])
    _write_execution(book, settings, items, read_frame(book, "tblActuals"), basis=basis)  # demand and supply
    r = record.iloc[0]
    report = RunReport("lock-plan", [
        f"Locked '{name}' as plan of record v{version} ({r['locked_at']:%Y-%m-%d %H:%M}, {r['user']}).",
        f"Volume {r['volume']:,.0f}, revenue {r['revenue']:,.0f}; content hash {r['content_hash']}.",
        f"Snapshots kept: {len(snap)} rows (lags 0 to {int(snap['lag'].max())}).",
    ])
    _log(book, "lock-plan", f"Scenario {name}, v{version}, hash {r['content_hash']}", " ".join(report.lines))
    book.save()
    keep_basis(book, settings, basis)  # the new plan of record, for the next daily refresh
    return report


def meeting_pack(book: WorkbookIO, out: Path | None = None, *, beside: Path | None = None,
                 scenarios: list[str] | None = None, fmt: str | None = None,
                 step: Callable[[str], None] | None = None, user: str | None = None,
                 now: dt.datetime | None = None) -> RunReport:
    """The S&OP meeting pack from the workbook's tables: a PDF (default), PNG pages or one HTML file.

    ``out``: the file to write; default beside ``beside`` (the workbook's path), named
    ``<workbook>_pack_<YYYY-MM>.pdf``. ``scenarios``: the scenarios to show (default: all).
    Reads only: the workbook is not changed, and nothing is logged in it.
    """
    from sop_excel import report

    fmt = report.format_for(out, fmt)
    settings = read_settings(book)
    if out is None and beside is None:
        raise InputError("The workbook has no folder to write the meeting pack beside: give the file to write.")
    target = out if out is not None else report.default_path(beside, settings.as_of, fmt)
    if step:
        step(f"Reading {book.name}")
    present = set(book.table_names()) & {t.name for t in load_layout().tables}
    tables = {name: read_frame(book, name) for name in report.TABLES}
    tables.update({name: read_frame(book, name) for name in report.OPTIONAL_TABLES if name in present})
    pack = report.build_pack(report.PackInput(settings, tables, book.name, user or getpass.getuser(),
                                              now or dt.datetime.now().replace(microsecond=0), scenarios))
    paths = report.write_pack(pack, Path(target), fmt, step)
    sections = list(dict.fromkeys(p.section for p in pack.pages))
    where = str(paths[0]) if len(paths) == 1 else f"{paths[0]} ... {paths[-1].name} ({len(paths)} files)"
    result = RunReport("report", [f"Meeting pack written: {where}",
                                  f"{len(pack.pages)} pages: " + ", ".join(report.SECTION_NAMES[k] for k in sections) + "."])
    result.lines += [f"Note: {n}" for n in pack.notes]
    return result
