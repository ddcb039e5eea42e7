"""The derived tables of a workbook rewritten from its inputs, as every command does it.

The S&OP tables come from :func:`sop_excel.pipeline.sop_frames` and the S&OE ones from
:func:`sop_excel.pipeline.execution_from_basis`: the same functions
:func:`sop_excel.planbook.plan_tables` builds a new workbook with. Also the Log line, the Archive
rows and the accuracy tables each command adds, and the warnings on planners' formulas.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass

import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.basis import workbook_basis
from sop_excel.core import monthly
from sop_excel.core.execution import exception_workflow
from sop_excel.core.frames import append_rows
from sop_excel.core.lock import accuracy
from sop_excel.errors import CellProblem, InputError
from sop_excel.models import Settings
from sop_excel.workbook.io import ChecksCachedValues, PackageIO, WorkbookIO
from sop_excel.workbook.limits import trim_text
from sop_excel.workbook.tables import (
    cell_locator,
    read_frame,
    rows_for,
    typed_formulas,
    write_frame,
)

__all__ = [
    "SOP_TABLES",
    "SUPPLY_SHEETS",
    "Executed",
    "accuracy_frames",
    "append_archive",
    "check_production",
    "closed_months",
    "fill_sop_values",
    "formula_warnings",
    "log_command",
    "supply_inputs",
    "supply_summary",
    "write_execution",
    "write_sop",
]


SOP_TABLES = (
    T.FORECAST,
    T.ROLLUP,
    T.SCENARIO_PLAN,
    T.FINANCE,
    T.COMPARE,
    T.LOAD,
    T.INVENTORY,
)


def formula_warnings(book: WorkbookIO) -> list[str]:
    """The warning that formulas typed into input cells depend on other cells: their values are
    the ones the file holds (Excel's last calculation), which the command used as they are."""
    refer = [t for t in typed_formulas(book) if t.refers]
    if refer:
        shown = "; ".join(f"{t.where} {t.formula.text} = {t.value}" for t in refer[:5])
        more = f"; and {len(refer) - 5} more" if len(refer) > 5 else ""
        return [
            f"{len(refer)} formula(s) typed into input cells depend on other cells (or on the date); they "
            f"were kept as formulas, with the values Excel last computed for them ({shown}{more}). Open the "
            "workbook in Excel to recompute them, then run the command again if their values changed."
        ]
    return []


def log_command(book: WorkbookIO, command: str, data: str, details: str) -> None:
    log = read_frame(book, T.LOG)
    row = pd.DataFrame(
        [
            {
                "time": pd.Timestamp(dt.datetime.now().replace(microsecond=0)),
                "command": command,
                "user": getpass.getuser(),
                "data": trim_text(data),
                "details": trim_text(details),
            }
        ]
    )  # the Log's text is ours: cut to fit a cell
    write_frame(book, T.LOG, append_rows(log, row))


def write_sop(
    book: WorkbookIO,
    settings: Settings,
    items: pd.DataFrame,
    forecast: pd.DataFrame,
    warnings: list[str] | None = None,
    *,
    references: bool = True,
) -> dict[str, pd.DataFrame]:
    """Recompute and write every derived S&OP table from the planner's current inputs;
    ``warnings`` gets a line for drivers that change nothing in the horizon; ``references``:
    see :func:`pipeline.sop_frames`."""
    drivers, capacity = read_frame(book, T.DRIVERS), read_frame(book, T.CAPACITY)
    frames = pipeline.sop_frames(
        settings,
        items,
        forecast,
        read_frame(book, T.INPUTS),
        read_frame(book, T.FAMILY_TARGETS),
        read_frame(book, T.SCENARIO_LIST),
        drivers,
        read_frame(book, T.BUDGET),
        capacity,
        references=references,
    )
    for name in SOP_TABLES:
        write_frame(book, name, frames[name])
    book.write_table(T.COMPARE_MONTHLY, rows_for(T.COMPARE_MONTHLY, frames[T.COMPARE_MONTHLY]))
    idle = pipeline.idle_drivers(frames[T.FORECAST], drivers, capacity)
    if idle and warnings is not None:
        warnings.append(
            f"{len(idle)} scenario driver(s) change nothing: their family, item, resource or "
            f"months match nothing in the horizon ({'; '.join(idle[:10])}"
            f"{'; ...' if len(idle) > 10 else ''}). Correct them or delete them on the Scenarios sheet."
        )
    return frames


def fill_sop_values(
    book: WorkbookIO, settings: Settings, items: pd.DataFrame, kept: bool
) -> list[str]:
    """Formulas of the S&OP sheets left without a cached value (the file was last saved by a
    program that does not calculate: openpyxl) are computed again, as compare-scenarios does,
    so no command leaves an empty formula cell behind. Not looked for where the S&OP sheets are
    as sop-excel last kept them (the execution basis held), nor in live Excel (it calculates).
    Returns the warning to report, if any."""
    if kept or not isinstance(book, ChecksCachedValues):
        return []
    n, cells = book.missing_values(list(SOP_TABLES))
    if not n:
        return []
    write_sop(book, settings, items, read_frame(book, T.FORECAST))
    return [
        f"{n:,} formula cells of the S&OP sheets had no saved value ({cells[0]} first): the file was "
        "last saved by a program that does not calculate (such as openpyxl). They were computed "
        "again from the sheets' inputs, as compare-scenarios does."
    ]


SUPPLY_SHEETS = (
    T.PRODUCTION,
    T.EVENTS,
    T.SUPPLY_ITEMS,
)  # a workbook made before issue 21 has none


def supply_inputs(
    book: WorkbookIO,
    settings: Settings,
    items: pd.DataFrame,
    basis: pipeline.ExecutionBasis,
    production: pd.DataFrame | None = None,
) -> pipeline.SupplyInputs | None:
    """Production (as given, else the Production table), the Events checked, and the plan's
    capacity; None for a workbook without the supply sheets. Capacity and scenarios are read
    only when there is production or an event (else the supply side is idle, and cheap)."""
    names = book.table_names()
    if not all(n in names for n in SUPPLY_SHEETS):
        return None
    production = read_frame(book, T.PRODUCTION) if production is None else production
    events = read_frame(book, T.EVENTS)
    if production.empty and events.empty:
        return pipeline.SupplyInputs(
            production, events, pd.DataFrame(columns=["resource", "month", "hours"])
        )
    check_production(production)
    capacity = read_frame(book, T.CAPACITY)
    checked = pipeline.check_events(
        events, items, capacity, settings, cell_locator(events, T.EVENTS)
    )
    plan_cap = pipeline.plan_capacity(
        settings,
        basis,
        capacity,
        read_frame(book, T.SCENARIO_LIST),
        read_frame(book, T.DRIVERS),
    )
    return pipeline.SupplyInputs(production, checked, plan_cap)


def check_production(production: pd.DataFrame) -> None:
    """Rows typed or pasted on the Production sheet: one per date, item and resource."""
    dup = production.duplicated(["date", "item", "resource"]).to_numpy()
    if not dup.any():
        return
    rows = production.attrs.get("excel_rows")
    problems = [
        CellProblem(
            f"Sheet 'Production', row {rows[j] if rows else j + 4}",
            None,
            f"repeats item {production['item'].iat[j]} on {production['date'].iat[j]:%Y-%m-%d}"
            + (f" on {production['resource'].iat[j]}" if production["resource"].iat[j] else ""),
            "Keep one row per date, item and resource (delete the repeat, or add the figures up).",
        )
        for j in dup.nonzero()[0]
    ]
    raise InputError("Sheet 'Production' has rows sop-excel cannot use", problems)


@dataclass
class Executed:
    """What :func:`write_execution` wrote."""

    execution: pd.DataFrame
    exceptions: pd.DataFrame
    through: dt.date
    resolved: pd.DataFrame  # exception log rows of exceptions that left the list
    supply: pd.DataFrame | None  # tblSupplyItems (None: the workbook has no supply sheets)


def write_execution(
    book: WorkbookIO,
    settings: Settings,
    items: pd.DataFrame,
    actuals: pd.DataFrame,
    basis: pipeline.ExecutionBasis | None = None,
    production: pd.DataFrame | None = None,
) -> Executed:
    """Recompute and write the S&OE tables against ``basis`` (else read or computed from the
    workbook), demand and supply; ``production``: the Production table just merged (else read)."""
    basis = basis or workbook_basis(book, settings, items)
    supply = supply_inputs(book, settings, items, basis, production)
    execution, exceptions, through, views = pipeline.execution_from_basis(
        settings, items, basis, actuals, supply
    )
    log = read_frame(book, T.EXCEPTION_LOG)
    month = pd.Timestamp(settings.as_of).replace(day=1)
    now = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    exceptions, events = exception_workflow(
        exceptions, read_frame(book, T.EXCEPTIONS), log, now, month
    )
    write_frame(book, T.EXECUTION, execution)
    write_frame(book, T.EXCEPTIONS, exceptions)
    for name, frame in views.items():
        if (
            name in book.table_names()
        ):  # workbooks made before the Sensing and Weekly sheets lack them
            write_frame(book, name, frame)
    if len(events):
        log = append_rows(log, events)
    # on the zip side the log is written even when nothing happened: it sits beside Exceptions,
    # and a sheet whose tables are all rewritten is written in bulk, not row by row around it
    if len(events) or (isinstance(book, PackageIO) and book.writes_sheets_in_bulk):
        write_frame(book, T.EXCEPTION_LOG, log)
    return Executed(
        execution,
        exceptions,
        through,
        events[events["event"].isin(["resolved", "cleared"])],
        views[T.SUPPLY_ITEMS] if supply is not None and supply.active else None,
    )


def supply_summary(done: Executed) -> str | None:
    """The supply side in one line for the report, or None when there is none."""
    if done.supply is None:
        return None
    items = done.supply
    out = items[items["stockout_week"].notna()]
    below = int(items["below_safety_week"].notna().sum())
    areas = (
        done.exceptions["area"].value_counts()
        if "area" in done.exceptions
        else pd.Series(dtype=int)
    )
    first = f" (the first from {out['stockout_week'].min():%Y-%m-%d})" if len(out) else ""
    return (
        f"Supply: {len(out)} items projected out of stock in the next 13 weeks{first}, {below} below safety "
        f"stock; revenue at risk {items['revenue_at_risk'].sum():,.0f}. Exceptions: "
        f"{int(areas.get('Supply', 0))} supply, {int(areas.get('Capacity', 0))} capacity."
    )


def accuracy_frames(
    book: WorkbookIO,
    snapshots: pd.DataFrame,
    history: pd.DataFrame,
    journal: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """tblFVA and tblWaterfall: from the snapshots kept, the waterfall completed by the
    closed-months accuracy (whose item forecasts lock-plan thins out)."""
    fva, by_snapshots = accuracy(snapshots, history)
    if journal is None:
        journal = (
            read_frame(book, T.MONTH_ACCURACY) if T.MONTH_ACCURACY in book.table_names() else None
        )
    return fva, monthly.waterfall(by_snapshots, journal) if journal is not None else by_snapshots


def append_archive(book: WorkbookIO, rows: pd.DataFrame) -> bool:
    """Add rows to the Archive sheet's table; False in a workbook made before it (nothing written)."""
    if T.ARCHIVE not in book.table_names():
        return False
    if len(rows):
        write_frame(book, T.ARCHIVE, append_rows(read_frame(book, T.ARCHIVE), rows))
    return True


def closed_months(book: WorkbookIO) -> list[pd.Timestamp]:
    """The months close-month has closed (none in a workbook made before close-month)."""
    if T.CLOSED_MONTHS not in book.table_names():
        return []
    return sorted(pd.Timestamp(m) for m in read_frame(book, T.CLOSED_MONTHS)["month"])
