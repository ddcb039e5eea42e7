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
import dataclasses
import datetime as dt
import functools
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.aside import reading_aside
from sop_excel.basis import (
    basis_key,
    keep_basis,
    kept_basis,
    kept_following,
    latest_lock,
    workbook_basis,
)
from sop_excel.closing import close_month, close_month_from_source
from sop_excel.company import new_workbook, update_items
from sop_excel.core import monthly
from sop_excel.core.events import next_event_id
from sop_excel.core.execution import merge_actuals
from sop_excel.core.frames import append_rows
from sop_excel.core.lock import make_lock
from sop_excel.errors import CellProblem, InputError, LayoutError
from sop_excel.models import MAX_CELL_TEXT, Settings
from sop_excel.outcome import RunReport, months_text
from sop_excel.pipeline import Progress
from sop_excel.rebuild import (
    accuracy_frames,
    append_archive,
    check_production,
    closed_months,
    fill_sop_values,
    formula_warnings,
    log_command,
    supply_summary,
    write_execution,
    write_sop,
)
from sop_excel.scenario_text import frames_from_toml, toml_from_frames
from sop_excel.settings import read_settings
from sop_excel.workbook.io import ChecksWritable, PackageIO, WorkbookIO
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.safe_save import can_fork_helpers
from sop_excel.workbook.tables import (
    cell_locator,
    keep_planner_columns,
    read_frame,
    rows_for,
    typed_formulas,
    write_frame,
)

__all__ = [
    "INPUT_TABLES",
    "RunReport",
    "add_event",
    "check_inputs",
    "close_month",
    "close_month_from_source",
    "compare_scenarios",
    "export_scenarios",
    "flag_drift",
    "import_scenarios",
    "keep_basis",
    "lock_plan",
    "meeting_pack",
    "new_scenario",
    "new_workbook",
    "read_settings",
    "refresh_actuals",
    "refresh_actuals_from_source",
    "refresh_forecast",
    "update_items",
]


def refresh_forecast(
    book: WorkbookIO,
    *,
    progress: Progress | None = None,
    engine: str = "local",
    scheduler: object = None,
) -> RunReport:
    """Re-forecast every item from History; keep overrides and comments; update the S&OP tables.

    ``engine="dask"`` with ``scheduler`` (``tcp://host:8786``) forecasts on a Dask cluster.
    """
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    history = read_frame(book, T.HISTORY)
    old = read_frame(book, T.FORECAST)
    forecast, models = pipeline.forecast_frames(
        settings, items, history, progress, engine=engine, scheduler=scheduler
    )
    forecast, lost = keep_planner_columns(forecast, old, T.FORECAST)
    report = RunReport("refresh-forecast")
    frames = write_sop(book, settings, items, forecast, report.warnings)
    final = frames[T.FORECAST]
    write_frame(book, T.MODELS, models)
    cleansing = pipeline.cleansing_frame(settings, history)
    if T.CLEANSING in book.table_names():  # workbooks made before the Cleansing table lack it
        write_frame(book, T.CLEANSING, cleansing)
    book.write_table(T.TREND, rows_for(T.TREND, pipeline.trend_frame(history, final, items)))
    n_over = int(final["override"].notna().sum())
    n_formulas = sum(t.table == T.FORECAST and t.field == "override" for t in typed_formulas(book))
    fallbacks = int((models["fallback"] != "").sum())
    report.lines += [
        f"Forecast {len(models)} items for {final['month'].min():%b %Y} to {final['month'].max():%b %Y} "
        f"({settings.horizon} months).",
        "Methods: " + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
        f"Overrides kept: {n_over}"
        + (f" ({n_formulas} of them formulas, kept as formulas)." if n_formulas else "."),
    ]
    corrected = int((cleansing["why"].str.startswith("outlier")).sum())
    if corrected:
        report.lines.append(
            f"Outlier months corrected: {corrected} in {cleansing['item'].nunique()} "
            "items (History > Cleansing; Flag a month keep to use it as it is)."
        )
    report.warnings += formula_warnings(book)
    if fallbacks:
        report.warnings.append(
            f"{fallbacks} items used a fallback model (see Forecast > Fallback)."
        )
    hard = models[models["forecastability"] != ""]
    if len(hard):
        worst = hard.sort_values("backtest_mase", ascending=False).head(5)
        report.warnings.append(
            f"{len(hard)} items are flagged hard to forecast (Forecast > Forecastability), worst: "
            + ", ".join(
                f"{r.item} (backtest MASE {r.backtest_mase:.2f})" for r in worst.itertuples()
            )
            + ". Check their history, use a family profile or a manual forecast."
        )
    details = report.lines[0] + f" Overrides kept {n_over}; fallbacks {fallbacks}."
    if len(lost):
        now = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
        if append_archive(book, monthly.archive_forecast_inputs(lost, now, "refresh-forecast")):
            report.warnings.append(
                f"{len(lost)} overrides or comments were for months no longer in the "
                "horizon: moved to the Archive sheet (and listed in the Log)."
            )
        else:  # a workbook made before the Archive sheet
            report.warnings.append(
                f"{len(lost)} overrides or comments were for months no longer in the "
                "horizon and were dropped (listed in the Log)."
            )
        details += " Dropped: " + "; ".join(
            f"{r.item} {r.month:%Y-%m} override={r.override} reason={r.reason_code!r} comment={r.comment!r}"
            for r in lost.itertuples(index=False)
        )
    log_command(
        book,
        "refresh-forecast",
        f"History: {len(history)} rows, {history['item'].nunique()} items",
        details,
    )
    book.save()

    def basis() -> (
        pipeline.ExecutionBasis
    ):  # the new forecast is what the next daily refresh plans against
        locked, label, scenario = latest_lock(book)
        return pipeline.execution_basis(
            settings,
            final,
            locked,
            label,
            read_frame(book, T.SNAPSHOTS),
            history,
            lock_scenario=scenario,
        )

    keep_basis(book, settings, basis)
    return report


def refresh_actuals(
    book: WorkbookIO,
    actuals: pd.DataFrame | Callable[[], pd.DataFrame],
    *,
    source: str,
    existing: Callable[[], pd.DataFrame] | None = None,
    supply: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
    supply_source: str = "",
    existing_supply: Callable[[], pd.DataFrame] | None = None,
    items: pd.DataFrame | None = None,
) -> RunReport:
    """Merge daily actuals (and production and receipts), recompute Execution, the supply view and
    Exceptions; keep owners and comments.

    ``actuals``: the rows, or a call that gives them (a source being read meanwhile: the
    workbook is read first, and the call made only then). ``existing``: a call that gives the
    Actuals table as :func:`read_frame` would (being read meanwhile), else it is read here.
    ``supply``: production and receipts rows (``date, item, resource, produced, receipts``), a
    call that gives them or None (none: the source had no supply columns), from
    ``supply_source``; ``existing_supply``: as ``existing``, for the Production table.
    ``items``: the Items table as just read (else read here).
    """
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS) if items is None else items
    state: dict[str, bool] = {}
    basis = workbook_basis(book, settings, items, state=state)
    recomputed = fill_sop_values(book, settings, items, state.get("kept", False))
    current: pd.DataFrame = existing() if existing is not None else read_frame(book, T.ACTUALS)
    loaded: pd.DataFrame = actuals() if callable(actuals) else actuals
    notes, older = list(loaded.attrs.get("notes", [])), int(loaded.attrs.get("older_rows", 0) or 0)
    merged = merge_actuals(current, loaded)
    replaced = (
        len(current) + len(loaded) - len(merged)
    )  # rows of the file that replaced earlier figures
    first = monthly.keep_from(settings.as_of)  # older days are History's, not the sheet's
    merged, early = monthly.actuals_window(merged, first)
    write_frame(book, T.ACTUALS, merged, saved=current)  # the rows unchanged kept as they are
    if callable(supply):
        supply = supply()
    production, supply_line, early_made = None, None, None
    if supply is not None:
        if T.PRODUCTION not in book.table_names():
            raise LayoutError(
                f"{book.name} has no Production sheet (it was made before sop-excel loaded "
                "production), so the production and receipts cannot be kept. Build the workbook "
                "again (sop-excel new or demo), or load the actuals without supply columns."
            )
        before = (
            existing_supply() if existing_supply is not None else read_frame(book, T.PRODUCTION)
        )
        production = merge_actuals(before, supply)
        replaced_supply = len(before) + len(supply) - len(production)
        # a day with nothing made or received is no row: a zero from the source still replaces
        # what was there (a correction to nothing), and the sheet stays a quarter smaller
        production = production[(production["produced"] != 0) | (production["receipts"] != 0)]
        # the Production sheet keeps the days the Actuals sheet keeps (the month before the as-of month on)
        production, early_made = monthly.actuals_window(production.reset_index(drop=True), first)
        write_frame(book, T.PRODUCTION, production, saved=before)
        supply_line = (
            f"Loaded {len(supply)} rows of production and receipts from "
            f"{supply_source or 'its supply columns'} ({replaced_supply} replaced earlier figures)."
        )
        notes += [n for n in supply.attrs.get("notes", []) if n not in notes]
    elif existing_supply is not None:  # nothing loaded: the table read meanwhile, not again here
        production = existing_supply()
    done = write_execution(book, settings, items, merged, basis=basis, production=production)
    execution, exceptions, through, resolved = (
        done.execution,
        done.exceptions,
        done.through,
        done.resolved,
    )
    counts = execution["status"].value_counts()
    report = RunReport("refresh-actuals", warnings=recomputed)
    report.lines += [
        f"Loaded {len(loaded)} rows from {source} ({replaced} replaced earlier figures).",
        *([supply_line] if supply_line else []),
        f"Actuals through {through:%Y-%m-%d} against {execution['plan_source'].iloc[0] if len(execution) else 'no plan'}: "
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "Bias", "On track"))
        + ".",
        *([line] if (line := supply_summary(done)) else []),
        f"Exceptions: {len(exceptions)}.",
    ]
    report.warnings += formula_warnings(book)
    if notes:  # how the source was read, where it changed what a value means
        report.lines.insert(1, "Read: " + "; ".join(notes) + ".")
    month = pd.Timestamp(settings.as_of).replace(day=1)
    if not len(loaded) and older:  # a filter that matches nothing says so
        report.warnings.append(
            f"{source} holds {older:,} rows, none from {month:%d %B %Y} on: nothing was "
            "loaded. Check the source's dates and Settings > As-of date."
        )
    outside = loaded[
        ((loaded["date"] >= first) & (loaded["date"] < month))
        | (loaded["date"] > month + pd.offsets.MonthEnd(0))
    ]
    if len(outside):
        report.warnings.append(
            f"{len(outside)} rows are outside {month:%B %Y} and do not count in "
            "Execution (they are kept on the Actuals sheet)."
        )
    report.warnings += _window_notes(book, settings, current, loaded, early, first)
    if early_made is not None and len(early_made):
        report.warnings.append(
            f"{len(early_made)} rows of production and receipts dated before {first:%B %Y} are not "
            f"kept on the Production sheet: it keeps {first:%B %Y} onward, as the Actuals sheet "
            "does; they stay in your source."
        )
    details = " ".join(line for line in report.lines[1:] if line != supply_line)
    if len(resolved):
        details += " Left the list (see the exception log): " + "; ".join(
            f"{r.item} {r.event} owner={r.owner!r} comment={r.comment!r}"
            for r in resolved.itertuples(index=False)
        )
    log_command(
        book,
        "refresh-actuals",
        source + (f"; supply: {supply_source or source}" if supply is not None else ""),
        details + (f" {supply_line}" if supply_line else ""),
    )
    book.save()
    if (
        recomputed
    ):  # the S&OP sheets were written anew: the basis holds, under their new fingerprint
        keep_basis(book, settings, basis)
    return report


def _window_notes(
    book: WorkbookIO,
    settings: Settings,
    existing: pd.DataFrame,
    loaded: pd.DataFrame,
    early: pd.DataFrame,
    first: pd.Timestamp,
) -> list[str]:
    """What refresh-actuals says about rows the Actuals sheet no longer keeps (dated before
    ``first``) and about loaded rows that change a closed month."""
    warnings: list[str] = []
    closed = closed_months(book)
    if len(early):
        months = sorted(early["date"].dt.to_period("M").dt.start_time.unique())
        shut = [m for m in months if m in closed]
        warnings.append(
            f"{len(early)} rows dated before {first:%B %Y} are not kept on the Actuals sheet: it keeps "
            f"{first:%B %Y} onward, the days Execution, Sensing and Weekly use. History holds monthly totals "
            f"({months_text(months)}"
            + (f"; closed by close-month: {months_text(shut)}" if shut else "")
            + "); the daily rows stay in your source. To make a past month's History from them, run "
            "close-month --month YYYY-MM --actuals SOURCE."
        )
    still = [m for m in closed if m >= first]
    changed = monthly.changed_closed_days(existing, loaded, still, settings.history_measure)
    for m, g in changed.groupby("month"):
        warnings.append(
            f"{m:%B %Y} is closed, but this load changed {len(g)} of its daily {settings.history_measure} "
            f"figures ({g['new'].sum() - g['old'].fillna(0).sum():+,.0f} units): its History row is out of "
            f"date. Run close-month --month {m:%Y-%m} to replace it."
        )
    return warnings


def refresh_actuals_from_source(
    book: WorkbookIO,
    source: str | None = None,
    *,
    folder: Path | None = None,
    table: str = "actuals",
    aside: bool = False,
    decimal: str | None = None,
    date_format: str | None = None,
    supply: str | None = None,
    supply_table: str = "production",
) -> RunReport:
    """Read actuals from ``source`` (default: Settings > Actuals source) and refresh.

    ``source`` is a CSV or xlsx file, a SQLite file or a database URL; a relative path is taken
    from ``folder`` (the workbook's). Settings > Actuals columns maps the source's column names.
    Databases are read incrementally: only rows from the start of the execution month.
    Production and receipts come from ``supply`` (default: Settings > Supply source; its table
    or sheet ``supply_table``), else from the actuals source's own supply columns when it has
    them (Settings > Supply columns maps both).
    ``aside``: read the sources in other processes meanwhile (the CLI; not inside Excel).
    ``decimal`` (point/comma) and ``date_format`` (DMY/MDY) say how the sources write numbers
    and dates when they cannot tell; default Settings > Actuals format, else detected.
    """
    from sop_excel.sources import (
        read_actuals,
        read_supply,
        source_kind,
        source_label,
        source_path,
    )
    from sop_excel.sources._validate import ACTUALS_HINTS
    from sop_excel.sources.conventions import Conventions

    settings = read_settings(book)
    text = (source or settings.actuals_source or "").strip()
    if not text:
        raise InputError(
            "No actuals source: give one (a CSV/xlsx file, a SQLite file or a database "
            "URL), or fill Settings > Actuals source."
        )
    where = source_path(text, folder, "Actuals source")
    since = (
        pd.Timestamp(settings.as_of).replace(day=1).date()
        if source_kind(text) in ("sqlite", "url")
        else None
    )
    told = settings.actuals_conventions
    conventions = Conventions(
        decimal=decimal or told.get("decimal"),
        date_order=date_format or told.get("date_order"),
        **ACTUALS_HINTS,
    )
    supply_text = (supply or settings.supply_source or "").strip()
    has_sheet = T.PRODUCTION in book.table_names()
    supply_where = source_path(supply_text, folder, "Supply source") if supply_text else where
    if aside and since is not None:  # a database: its readers aside both need SQLAlchemy,
        with contextlib.suppress(ImportError):  # imported once here, not once in each of them
            import sqlalchemy  # noqa: F401
    with contextlib.ExitStack() as stack:
        # the Actuals sheet (the largest read) and the source in processes of their own, while
        # this one reads the rest of the workbook
        frame_reader = book.frame_reader if isinstance(book, PackageIO) else None
        read_sheet = (
            frame_reader(T.ACTUALS) if aside and can_fork_helpers() and frame_reader else None
        )
        existing = (
            stack.enter_context(reading_aside(read_sheet)) if read_sheet is not None else None
        )
        items = read_frame(book, T.ITEMS)
        known = set(items["item"])
        actuals = stack.enter_context(
            reading_aside(
                read_actuals,
                where,
                aside=aside,
                mapping=settings.column_mapping or None,
                known_items=known,
                since=since,
                table=table,
                conventions=conventions,
            )
        )
        supply_rows = existing_supply = None
        if (
            supply_text or has_sheet
        ):  # the actuals source's supply columns: only where they can be kept
            mapping = {
                **(
                    {k: v for k, v in settings.column_mapping.items() if k in ("date", "item")}
                    if not supply_text
                    else {}
                ),
                **settings.supply_mapping,
            }
            resources = set(items["resource"].fillna("").astype(str)) | set(
                read_frame(book, T.CAPACITY)["resource"]
            )
            supply_since = (
                pd.Timestamp(settings.as_of).replace(day=1).date()
                if source_kind(str(supply_where)) in ("sqlite", "url")
                else None
            )
            read_prod = (
                frame_reader(T.PRODUCTION)
                if read_sheet is not None and has_sheet and frame_reader
                else None
            )
            existing_supply = (
                stack.enter_context(reading_aside(read_prod)) if read_prod is not None else None
            )
            supply_rows = stack.enter_context(
                reading_aside(
                    read_supply,
                    supply_where,
                    aside=aside,
                    mapping=mapping or None,
                    known_items=known,
                    item_resources=dict(
                        zip(items["item"], items["resource"].fillna("").astype(str), strict=False)
                    ),
                    known_resources=resources - {""},
                    since=supply_since,
                    table=supply_table if supply_text else table,
                    optional=not supply_text,
                    conventions=conventions,
                )
            )
        label = source_label(where)  # a file's digest: once when both come from one file
        return refresh_actuals(
            book,
            actuals,
            source=label,
            existing=existing,
            supply=supply_rows,
            supply_source=(label if supply_where == where else source_label(supply_where))
            if supply_text
            else "",
            existing_supply=existing_supply,
            items=items,
        )


def flag_drift(book: WorkbookIO) -> RunReport:
    """Recompute Execution, the supply view and Exceptions (demand and supply) from the actuals,
    production and events already in the workbook."""
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    actuals = read_frame(book, T.ACTUALS)
    state: dict[str, bool] = {}
    basis = workbook_basis(book, settings, items, state=state)
    recomputed = fill_sop_values(book, settings, items, state.get("kept", False))
    done = write_execution(book, settings, items, actuals, basis=basis)
    execution, exceptions, through, resolved = (
        done.execution,
        done.exceptions,
        done.through,
        done.resolved,
    )
    counts = execution["status"].value_counts()
    report = RunReport(
        "flag-drift",
        warnings=recomputed,
        lines=[
            f"Actuals through {through:%Y-%m-%d}: "
            + ", ".join(
                f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "Bias", "On track")
            )
            + ".",
            *([line] if (line := supply_summary(done)) else []),
            f"Exceptions: {len(exceptions)}"
            + (f"; {len(resolved)} left the list (kept in the Log)." if len(resolved) else "."),
        ],
    )
    report.warnings += formula_warnings(book)
    details = " ".join(report.lines)
    if len(resolved):
        details += " Left the list: " + "; ".join(
            f"{r.item} {r.event} owner={r.owner!r} comment={r.comment!r}"
            for r in resolved.itertuples(index=False)
        )
    log_command(book, "flag-drift", f"Actuals sheet: {len(actuals)} rows", details)
    book.save()
    if recomputed:  # as refresh-actuals
        keep_basis(book, settings, basis)
    return report


EVENT_OPTIONS = {
    "kind": "--kind",
    "resource": "--resource",
    "item": "--item",
    "start": "--from",
    "end": "--to",
    "working_days": "--days",
    "rate": "--rate",
    "delay_days": "--delay",
    "owner": "--owner",
    "status": "--status",
    "comment": "--comment",
}


def add_event(
    book: WorkbookIO,
    kind: str,
    *,
    start: dt.date | pd.Timestamp | None,
    resource: str = "",
    item: str = "",
    end: dt.date | pd.Timestamp | None = None,
    working_days: int | None = None,
    rate: float | None = None,
    delay_days: int | None = None,
    owner: str = "",
    status: str = "Open",
    comment: str = "",
    where: Callable[[str], str] | None = None,
) -> RunReport:
    """Add a disruption to the Events table (its ID: the next ``E<n>``), then recompute the S&OE
    tables, demand and supply, as Flag drift does.

    ``where``: names the place each field came from in messages (default: the command's options,
    ``--resource``; the ribbon names the New event row's cells). The event is checked against
    Items and Capacity first; the workbook is not changed when it is refused.
    """
    name = where or (lambda field: f"Option {EVENT_OPTIONS[field]}")

    def label(field: str) -> str:  # the ribbon's New event row has no Status cell
        try:
            return name(field)
        except (KeyError, ValueError):
            return f"Option {EVENT_OPTIONS[field]}"

    texts = (
        ("kind", kind),
        ("resource", resource),
        ("item", item),
        ("owner", owner),
        ("status", status),
        ("comment", comment),
    )
    _no_control_characters(
        {f"{label(k)}, {k}": v for k, v in texts}
    )  # the workbook cannot store them
    long = [k for k, v in texts if isinstance(v, str) and len(v) > MAX_CELL_TEXT]
    if long:
        raise InputError(
            f"{label(long[0])}: the event's {long[0]} is {len(dict(texts)[long[0]]):,} characters "
            f"long; an Excel cell holds at most {MAX_CELL_TEXT:,}. Shorten it."
        )
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    if T.EVENTS not in book.table_names():
        raise LayoutError(
            f"{book.name} has no Events sheet (it was made before sop-excel planned supply). Build "
            "the workbook again (sop-excel new or demo) to add events."
        )
    events = read_frame(book, T.EVENTS)
    capacity = read_frame(book, T.CAPACITY)
    row = {
        "id": next_event_id(events["id"]),
        "kind": kind,
        "resource": resource or "",
        "item": item or "",
        "start": pd.Timestamp(start) if start is not None else pd.NaT,
        "end": pd.Timestamp(end) if end is not None else pd.NaT,
        "working_days": np.nan if working_days is None else float(working_days),
        "rate": np.nan if rate is None else float(rate),
        "delay_days": np.nan if delay_days is None else float(delay_days),
        "owner": owner or "",
        "status": status or "Open",
        "comment": comment or "",
    }
    new = pd.DataFrame([row])
    checked = pipeline.check_events(
        new,
        items,
        capacity,
        settings,
        lambda _pos, field: name(field),
        summary=f"The event cannot be added to {book.name}",
    )
    added = new.assign(
        kind=checked["kind"].iloc[0] if len(checked) else new["kind"],
        status=checked["status"].iloc[0] if len(checked) else new["status"],
    )
    state: dict[str, bool] = {}
    basis = workbook_basis(book, settings, items, state=state)
    recomputed = fill_sop_values(book, settings, items, state.get("kept", False))
    write_frame(book, T.EVENTS, append_rows(events, added))
    done = write_execution(book, settings, items, read_frame(book, T.ACTUALS), basis=basis)
    what = checked["label"].iloc[0] if len(checked) else f"{row['id']} ({row['kind']}, cancelled)"
    report = RunReport(
        "add-event",
        warnings=recomputed,
        lines=[
            f"Event {row['id']} added: {what}" + (f"; owner {owner}" if owner else "") + ".",
            *([line] if (line := supply_summary(done)) else []),
            f"Exceptions: {len(done.exceptions)}.",
        ],
    )
    report.warnings += formula_warnings(book)
    log_command(book, "add-event", f"Event {row['id']}", " ".join(report.lines))
    book.save()
    if recomputed:  # as refresh-actuals
        keep_basis(book, settings, basis)
    return report


def compare_scenarios(book: WorkbookIO) -> RunReport:
    """Recompute every scenario from its drivers: plan, finance, capacity, inventory, compare."""
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    key = basis_key(book, settings)  # scenarios change nothing the daily refresh plans against
    kept = kept_basis(book, key) if key is not None else None
    if kept is not None:  # nor what closing the month plans against
        kept = dataclasses.replace(
            kept,
            following=kept_following(
                book, key, pd.Timestamp(settings.as_of).replace(day=1) + pd.DateOffset(months=1)
            ),
        )
    report = RunReport("compare-scenarios")
    frames = write_sop(book, settings, items, read_frame(book, T.FORECAST), report.warnings)
    for r in frames[T.COMPARE].itertuples(index=False):
        report.lines.append(
            f"{r.scenario}: revenue {r.revenue:,.0f}, margin {r.margin_pct:.1%}, "
            f"gap to budget {r.gap:+,.0f}, peak load {r.peak_load:.0%}, "
            f"{r.overloads} overloaded resource-months"
        )
    report.warnings += formula_warnings(book)
    log_command(
        book, "compare-scenarios", f"{len(frames[T.COMPARE])} scenarios", " | ".join(report.lines)
    )
    book.save()
    if (
        kept is not None
    ):  # the S&OP sheets were written anew: the basis still holds, under their new fingerprint
        keep_basis(book, settings, kept)
    return report


def new_scenario(
    book: WorkbookIO,
    name: str,
    *,
    parent: str = "Base",
    description: str = "",
    drivers: list[dict[str, object]] | None = None,
) -> RunReport:
    """Add scenario ``name`` as deltas over ``parent`` (optionally with drivers), then compare."""
    _check_new_text(name, description)
    _no_control_characters(
        {
            "name": name,
            "parent": parent,
            "description": description,
            **{f"driver {k}": v for d in drivers or [] for k, v in d.items() if isinstance(v, str)},
        }
    )
    scen = read_frame(book, T.SCENARIO_LIST)
    if name in set(scen["scenario"]):
        raise InputError(
            f"Scenario '{name}' already exists on the Scenarios sheet. Pick another name, "
            "or edit its drivers there."
        )
    clash = pipeline.scenario_name_problems([*scen["scenario"], name])
    mine = [(what, fix) for n, what, fix in clash if n == name]
    if mine:  # before anything is written: Excel would not keep it apart from the others
        raise InputError(f"Scenario name '{name}' {mine[0][0]}. {mine[0][1]}")
    if parent and parent not in set(scen["scenario"]):
        raise InputError(
            f"Parent scenario '{parent}' does not exist. Existing: {', '.join(scen['scenario'])}."
        )
    if drivers:
        old = read_frame(book, T.DRIVERS)
        new = pd.DataFrame([{"scenario": name, **d} for d in drivers])
        new.attrs["where"] = tuple(
            f"New scenario '{name}', {str(d['kind']).replace('_', ' ')} driver" for d in drivers
        )
        names = [*scen["scenario"], name]
        parents = {
            **dict(zip(scen["scenario"], scen["parent"].fillna(""), strict=True)),
            name: parent,
        }
        capacity = read_frame(book, T.CAPACITY)
        pipeline.check_scenarios(
            names,
            parents,
            new,
            read_frame(book, T.ITEMS),
            read_settings(book),
            set(capacity["resource"]),
        )
        idle = pipeline.idle_drivers(read_frame(book, T.FORECAST), new, capacity)
        if idle:
            raise InputError(
                f"Scenario '{name}' was not created: its drivers change nothing in the plan's "
                f"horizon ({'; '.join(idle)}). Check --family, --item and --months."
            )
    row = pd.DataFrame(
        [{"scenario": name, "parent": parent, "description": description, "status": "Draft"}]
    )
    write_frame(book, T.SCENARIO_LIST, append_rows(scen, row))
    if drivers:
        write_frame(book, T.DRIVERS, append_rows(old, new))
    report = compare_scenarios(book)
    report.command = "new-scenario"
    report.lines.insert(
        0, f"Scenario '{name}' created from '{parent}' with {len(drivers or [])} driver(s)."
    )
    return report


def _check_new_text(name: str, description: str) -> None:
    """A new scenario's name and description: text Excel can hold (the name also as a column name)."""
    from sop_excel.core.scenarios import MAX_NAME

    for label, text in (("name", name), ("description", description)):
        if any("\ud800" <= ch <= "\udfff" for ch in text):
            raise InputError(
                f"The scenario {label} {text.encode('utf-8', 'replace').decode()!r} is not valid "
                "text (it holds bytes that are not UTF-8). Type it again."
            )
    if not name.strip():
        raise InputError("The scenario name is empty. Give the new scenario a name.")
    if len(name) > MAX_NAME:
        raise InputError(
            f"The scenario name is {len(name):,} characters long; at most {MAX_NAME} fit (it "
            "becomes a column name on the Compare sheet, and Excel allows 255 characters in "
            "one). Use a shorter name."
        )
    if len(description) > MAX_CELL_TEXT:
        raise InputError(
            f"The scenario description is {len(description):,} characters long; an Excel cell "
            f"holds at most {MAX_CELL_TEXT:,}. Shorten it."
        )


# The tables the commands read as input (the Basis sheet is a cache: never an error)
INPUT_TABLES = (
    T.SETTINGS,
    T.ITEMS,
    T.HISTORY,
    T.FORECAST,
    T.INPUTS,
    T.FAMILY_TARGETS,
    T.SCENARIO_LIST,
    T.DRIVERS,
    T.BUDGET,
    T.CAPACITY,
    T.LOCKS,
    T.LOCKED_PLAN,
    T.SNAPSHOTS,
    T.ACTUALS,
    T.EXCEPTIONS,
    T.EXCEPTION_LOG,
    T.LOG,
    T.PRODUCTION,
    T.EVENTS,
)


def check_inputs(book: WorkbookIO) -> tuple[list[str], list[str]]:
    """Every check the commands make of what planners type, without computing or writing
    anything (``sop-excel check``): the problems that make a command refuse, and the warnings
    a command would print, one line each. Missing tables and columns are left to the caller's
    structure checks."""
    problems: list[str] = []
    report = RunReport("check")

    def collect(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except InputError as exc:
            problems.extend([str(p) for p in exc.problems] or [exc.summary])
        except LayoutError:
            pass
        return None

    settings = collect(lambda: read_settings(book))
    present = set(book.table_names())
    frames = {
        name: collect(functools.partial(read_frame, book, name))
        for name in INPUT_TABLES
        if name in present and name != T.SETTINGS
    }
    items, history = frames.get(T.ITEMS), frames.get(T.HISTORY)
    if items is not None and history is not None:
        collect(lambda: pipeline.check_history(items, history))
        if settings is not None:
            as_of = pd.Timestamp(settings.as_of).replace(day=1)
            collect(
                lambda: pipeline.check_methods(
                    settings, items, set(history.loc[history["month"] < as_of, "item"])
                )
            )
    scen, drivers, capacity = (frames.get(n) for n in (T.SCENARIO_LIST, T.DRIVERS, T.CAPACITY))
    if settings is not None and items is not None and scen is not None and drivers is not None:
        parents = dict(zip(scen["scenario"], scen["parent"].fillna(""), strict=True))
        resources = set(capacity["resource"]) if capacity is not None else None
        collect(
            lambda: pipeline.check_scenarios(
                list(dict.fromkeys(scen["scenario"])), parents, drivers, items, settings, resources
            )
        )
        if settings.plan_scenario not in parents:
            problems.append(
                str(
                    CellProblem(
                        "Sheet 'Settings', Plan scenario",
                        settings.plan_scenario,
                        "is not a scenario on the Scenarios sheet",
                        "Name one of " + ", ".join(parents) + ".",
                    )
                )
            )
        forecast = frames.get(T.FORECAST)
        if forecast is not None:
            report.warnings += [
                f"{w}: the driver changes nothing in the horizon. Correct it or delete it."
                for w in pipeline.idle_drivers(forecast, drivers, capacity)
            ]
    production, events = frames.get(T.PRODUCTION), frames.get(T.EVENTS)
    if production is not None:
        collect(lambda: check_production(production))
    if (
        settings is not None
        and items is not None
        and capacity is not None
        and events is not None
        and len(events)
    ):
        collect(
            lambda: pipeline.check_events(
                events, items, capacity, settings, cell_locator(events, T.EVENTS)
            )
        )
    report.warnings += formula_warnings(book)
    return problems, report.warnings


def _no_control_characters(texts: dict[str, str]) -> None:
    """Refuse text holding a control character: the workbook cannot store it (it would be dropped)."""
    from sop_excel.sources.tabular import control_characters

    bad = [
        (k, v)
        for k, v in texts.items()
        if isinstance(v, str) and control_characters(pd.Series([v]))[0]
    ]
    if bad:
        raise InputError(
            "Text with control characters cannot be stored in the workbook",
            [
                CellProblem(
                    k if "," in k else f"The {k}",
                    v,
                    "holds a control character",
                    "Remove it (Excel cannot store it).",
                )
                for k, v in bad
            ],
        )


def export_scenarios(book: WorkbookIO) -> str:
    """The scenarios and their drivers as TOML text."""
    return toml_from_frames(read_frame(book, T.SCENARIO_LIST), read_frame(book, T.DRIVERS))


def import_scenarios(book: WorkbookIO, text: str, *, source: str) -> RunReport:
    """Replace the scenarios and drivers with those of a TOML file, then compare."""
    scen, drivers = frames_from_toml(text, source)
    texts = {
        f"{source}, scenario {r.scenario!r}, {k}": v
        for r in scen.itertuples(index=False)
        for k, v in (("name", r.scenario), ("parent", r.parent), ("description", r.description))
    }
    texts.update(
        {
            f"{source}, driver #{i + 1} of {d.scenario!r}, {k}": getattr(d, k)
            for i, d in enumerate(drivers.itertuples(index=False))
            for k in ("family", "item", "resource", "comment")
        }
    )
    _no_control_characters(texts)
    old = read_frame(book, T.SCENARIO_LIST)
    scen["status"] = (
        scen["scenario"].map(dict(zip(old["scenario"], old["status"], strict=True))).fillna("Draft")
    )
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    parents = dict(zip(scen["scenario"], scen["parent"], strict=True))
    pipeline.check_scenarios(
        list(scen["scenario"]),
        parents,
        drivers,
        items,
        settings,
        set(read_frame(book, T.CAPACITY)["resource"]),
    )
    write_frame(book, T.SCENARIO_LIST, scen)
    write_frame(book, T.DRIVERS, drivers)
    report = compare_scenarios(book)
    report.command = "import-scenarios"
    report.lines.insert(
        0, f"Imported {len(scen)} scenarios and {len(drivers)} drivers from {source}."
    )
    return report


def lock_plan(
    book: WorkbookIO,
    scenario: str | None = None,
    *,
    note: str = "",
    user: str | None = None,
    now: dt.datetime | None = None,
) -> RunReport:
    """Lock a scenario as the plan of record: version, time, user, content hash, snapshots."""
    if isinstance(book, ChecksWritable):  # live Excel: protected sheets, before any write
        book.check_writable([T.LOCKS, T.LOCKED_PLAN, T.SNAPSHOTS])
    settings = read_settings(book)
    items = read_frame(book, T.ITEMS)
    warnings: list[str] = []
    frames = write_sop(book, settings, items, read_frame(book, T.FORECAST), warnings)
    name = scenario or settings.plan_scenario
    plan = frames[T.SCENARIO_PLAN]
    if name not in set(plan["scenario"]):
        raise InputError(
            f"Scenario '{name}' does not exist. Existing: {', '.join(plan['scenario'].unique())}."
        )
    locks = read_frame(book, T.LOCKS)
    version = int(locks["version"].max()) + 1 if len(locks) else 1
    cycle = pd.Timestamp(settings.as_of).replace(day=1)
    record, locked, snap = make_lock(
        version,
        name,
        plan[plan["scenario"] == name],
        frames[T.FORECAST],
        cycle,
        user or getpass.getuser(),
        now or dt.datetime.now(),
        note,
        max_lag=settings.snapshot_lags,
    )
    write_frame(book, T.LOCKS, append_rows(locks, record))
    write_frame(book, T.LOCKED_PLAN, locked)
    snaps = append_rows(read_frame(book, T.SNAPSHOTS), snap)
    journal = read_frame(book, T.MONTH_ACCURACY) if T.MONTH_ACCURACY in book.table_names() else None
    before = len(snaps)
    if (
        journal is not None
    ):  # forecasts of closed months, scored there, thinned to what is still read
        snaps = monthly.keep_snapshots(
            snaps,
            monthly.keep_from(settings.as_of),
            max(12, settings.bias_window),
            settings.snapshot_lags,
            scored=set(journal["month"]),
        )
    write_frame(book, T.SNAPSHOTS, snaps)
    fva, waterfall = accuracy_frames(book, snaps, read_frame(book, T.HISTORY), journal)
    write_frame(book, T.FVA, fva)
    write_frame(book, T.WATERFALL, waterfall)
    scen = read_frame(book, T.SCENARIO_LIST)
    scen.loc[scen["scenario"] == name, "status"] = f"Locked v{version}"
    write_frame(book, T.SCENARIO_LIST, scen)
    basis = workbook_basis(book, settings, items, frames[T.FORECAST])
    write_execution(
        book, settings, items, read_frame(book, T.ACTUALS), basis=basis
    )  # demand and supply
    r = record.iloc[0]
    report = RunReport(
        "lock-plan",
        [
            f"Locked '{name}' as plan of record v{version} ({r['locked_at']:%Y-%m-%d %H:%M}, {r['user']}).",
            f"Volume {r['volume']:,.0f}, revenue {r['revenue']:,.0f}; content hash {r['content_hash']}.",
            f"Snapshots kept: {len(snap)} rows (lags 0 to {int(snap['lag'].max())})."
            + (
                f" {before - len(snaps):,} rows of closed months no longer read were removed (their scores are on "
                f"the Accuracy sheet; lag 1 of the last {max(12, settings.bias_window)} months kept for the tracking "
                "signal)."
                if before != len(snaps)
                else ""
            ),
        ],
    )
    report.warnings += warnings
    report.warnings += formula_warnings(book)
    log_command(
        book,
        "lock-plan",
        f"Scenario {name}, v{version}, hash {r['content_hash']}",
        " ".join(report.lines),
    )
    book.save()
    keep_basis(book, settings, basis)  # the new plan of record, for the next daily refresh
    return report


def meeting_pack(
    book: WorkbookIO,
    out: Path | None = None,
    *,
    beside: Path | None = None,
    scenarios: list[str] | None = None,
    fmt: str | None = None,
    step: Callable[[str], None] | None = None,
    user: str | None = None,
    now: dt.datetime | None = None,
) -> RunReport:
    """The S&OP meeting pack from the workbook's tables: a PDF (default), PNG pages or one HTML file.

    ``out``: the file to write; default beside ``beside`` (the workbook's path), named
    ``<workbook>_pack_<YYYY-MM>.pdf``. ``scenarios``: the scenarios to show (default: all).
    Reads only: the workbook is not changed, and nothing is logged in it.
    """
    from sop_excel import report

    fmt = report.format_for(out, fmt)
    settings = read_settings(book)
    if out is not None:
        target = out
    elif beside is not None:
        target = report.default_path(beside, settings.as_of, fmt)
    else:
        raise InputError(
            "The workbook has no folder to write the meeting pack beside: give the file to write."
        )
    if step:
        step(f"Reading {book.name}")
    present = set(book.table_names()) & {t.name for t in load_layout().tables}
    tables = {name: read_frame(book, name) for name in report.TABLES}
    tables.update(
        {name: read_frame(book, name) for name in report.OPTIONAL_TABLES if name in present}
    )
    pack = report.build_pack(
        report.PackInput(
            settings,
            tables,
            book.name,
            user or getpass.getuser(),
            now or dt.datetime.now().replace(microsecond=0),
            scenarios,
        )
    )
    paths = report.write_pack(pack, Path(target), fmt, step)
    sections = list(dict.fromkeys(p.section for p in pack.pages))
    where = (
        str(paths[0])
        if len(paths) == 1
        else f"{paths[0]} ... {paths[-1].name} ({len(paths)} files)"
    )
    result = RunReport(
        "report",
        [
            f"Meeting pack written: {where}",
            f"{len(pack.pages)} pages: "
            + ", ".join(report.SECTION_NAMES[k] for k in sections)
            + ".",
        ],
    )
    result.lines += [f"Note: {n}" for n in pack.notes]
    return result
