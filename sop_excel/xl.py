"""The ribbon's entry points: what the S&OP tab's buttons run in live Excel, through xlwings.

Every button calls the VBA callback ``SopButton`` (module ``SopRibbon``), which runs
``RunPython "import sop_excel.xl; sop_excel.xl.run('<tag>')"``. The tag is a fixed identifier
from the ribbon's customUI (``workbook_templates/ribbon/customUI14.xml``), never user data.
``run`` hands the calling workbook to :class:`~sop_excel.workbook.xlwings_io.XlwingsIO` and
calls the very function the matching ``sop-excel`` command calls (``sop_excel.macros``), then
shows the report in a message box. A problem is shown as a message, never a traceback.

Inputs a button needs come from cells, never from the RunPython string:

- Refresh actuals: Settings > Actuals source (CSV, xlsx, SQLite file or database URL; a relative path is next to the workbook),
  and Settings > Supply source for production and receipts (else the actuals source's supply columns);
- Add event: the New event row on the Events sheet (kind, resource or item, dates, rate or delay, owner);
- Lock plan: Settings > Plan scenario;
- Close month: the as-of month (Settings > As-of date) once it is over, from the actuals already loaded;
- New scenario: the form on the "New scenario" sheet (name, parent, description, changes);
- Meeting pack: none; the PDF is written beside the workbook (``<workbook>_pack_<YYYY-MM>.pdf``).

A developer on Windows or macOS can run the live path from Python::

    python -m sop_excel.xl path/to/sop_plan.xlsm refresh_forecast
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import xlwings as xw

from sop_excel import macros
from sop_excel import names as T
from sop_excel.errors import InputError, SopExcelError
from sop_excel.workbook.tables import cell_locator, read_frame, rows_for
from sop_excel.workbook.xlsm import FORM_CELLS, FORM_DEFAULTS, FORM_RANGE, NEW_SCENARIO_SHEET
from sop_excel.workbook.xlwings_io import XlwingsIO

__all__ = ["ACTIONS", "TITLE", "dispatch", "run", "show"]

TITLE = "sop-excel"


def _status(book: Any) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        with contextlib.suppress(Exception):
            book.app.status_bar = f"sop-excel: forecasting {done}/{total} items"

    return progress


def _refresh_forecast(book: Any) -> macros.RunReport:
    return macros.refresh_forecast(XlwingsIO(book), progress=_status(book))


def _compare_scenarios(book: Any) -> macros.RunReport:
    return macros.compare_scenarios(XlwingsIO(book))


def _flag_drift(book: Any) -> macros.RunReport:
    return macros.flag_drift(XlwingsIO(book))


def _lock_plan(book: Any) -> macros.RunReport:
    # The scenario is Settings > Plan scenario (macros.lock_plan's default).
    return macros.lock_plan(XlwingsIO(book), None, note="Locked from the Excel ribbon")


def _workbook_folder(book: Any) -> Path | None:
    try:
        full = str(book.fullname)
    except Exception:  # noqa: BLE001 - an unsaved or cloud workbook has no local folder
        return None
    return Path(full).parent if ("/" in full or "\\" in full) and "://" not in full else None


def _refresh_actuals(book: Any) -> macros.RunReport:
    # Settings > Actuals source: CSV/xlsx/SQLite file (relative to the workbook) or a database URL
    return macros.refresh_actuals_from_source(XlwingsIO(book), folder=_workbook_folder(book))


def _close_month(book: Any) -> macros.RunReport:
    # The month is the as-of month once it is over; the actuals are those already loaded.
    return macros.close_month(XlwingsIO(book), progress=_status(book))


def _add_event(book: Any) -> macros.RunReport:
    # The New event row (tblNewEvent) on the Events sheet: a planner fills it, the button adds it.
    io = XlwingsIO(book)
    form = read_frame(io, T.NEW_EVENT)
    if form.empty:
        raise InputError(
            "Fill in the New event row on the Events sheet (Kind, then the resource or item, "
            "From and what happens), then click Add event again."
        )
    row = form.iloc[0]
    where = cell_locator(form, T.NEW_EVENT)

    def value(field: str) -> Any:
        v = row[field]
        return (
            None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT or v == "" else v
        )

    def whole(field: str) -> int | None:
        v = value(field)
        return (
            None if v is None else int(v) if float(v).is_integer() else v
        )  # a fraction: the check names it

    report = macros.add_event(
        io,
        str(row["kind"]),
        start=value("start"),
        end=value("end"),
        resource=value("resource") or "",
        item=value("item") or "",
        working_days=whole("working_days"),
        rate=value("rate"),
        delay_days=whole("delay_days"),
        owner=value("owner") or "",
        comment=value("comment") or "",
        where=lambda field: where(0, field),
    )
    io.write_table(T.NEW_EVENT, rows_for(T.NEW_EVENT, form.iloc[0:0]))  # cleared for the next one
    return report


def _pct(value: Any, label: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise InputError(
            f"Sheet '{NEW_SCENARIO_SHEET}', {label}: '{text}' is not a percentage; "
            "write e.g. 5% or -10%."
        ) from None


def _month(value: Any, label: str) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return pd.Timestamp(value).normalize().replace(day=1)
    except (ValueError, TypeError):
        raise InputError(
            f"Sheet '{NEW_SCENARIO_SHEET}', {label}: '{value}' is not a month; "
            "write a date such as 2027-01-01."
        ) from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_form(book: Any) -> dict[str, Any]:
    """The New scenario form as {field: value} (label cells in A, values in B)."""
    names = [s.name for s in book.sheets]
    if NEW_SCENARIO_SHEET not in names:
        raise InputError(
            f"This workbook has no '{NEW_SCENARIO_SHEET}' sheet. Build a new template "
            "(sop-excel template) or use the sop-excel new-scenario command."
        )
    values = book.sheets[NEW_SCENARIO_SHEET].range(FORM_RANGE).options(ndim=2).value
    return {key: row[1] for key, row in zip(FORM_CELLS, values, strict=True)}


def _clear_form(book: Any) -> None:
    sheet = book.sheets[NEW_SCENARIO_SHEET]
    for key, cell in FORM_CELLS.items():
        if key not in FORM_DEFAULTS:
            sheet.range(cell).clear_contents()


def _new_scenario(book: Any) -> macros.RunReport:
    form = read_form(book)
    name = _text(form["name"])
    if not name:
        raise InputError(
            f"Enter the new scenario's name on the '{NEW_SCENARIO_SHEET}' sheet "
            f"(cell {FORM_CELLS['name']}), then click New scenario again."
        )
    start, end = _month(form["from_month"], "From month"), _month(form["to_month"], "To month")
    scope = {
        "family": _text(form["family"]),
        "item": _text(form["item"]),
        "resource": "",
        "from_month": start,
        "to_month": end,
        "price": None,
        "unit_cost": None,
        "comment": _text(form["description"]),
    }
    drivers = [
        {"kind": kind, "value": value, **scope}
        for kind, label in (
            ("volume", "Volume %"),
            ("price", "Price %"),
            ("unit_cost", "Unit cost %"),
        )
        if (value := _pct(form[kind], label)) is not None
    ]
    report = macros.new_scenario(
        XlwingsIO(book),
        name,
        parent=_text(form["parent"]) or "Base",
        description=_text(form["description"]),
        drivers=drivers,
    )
    _clear_form(book)
    return report


def _meeting_pack(book: Any) -> macros.RunReport:
    # the PDF beside the workbook, as `sop-excel report BOOK` writes it; the message says where
    folder = _workbook_folder(book)
    if folder is None:
        raise InputError(
            "Save the workbook to a folder on this computer first: the meeting pack is "
            "written beside it."
        )
    return macros.meeting_pack(
        XlwingsIO(book), beside=folder / Path(str(book.fullname)).name
    )  # the file beside it


ACTIONS: dict[str, Callable[[Any], macros.RunReport]] = {
    "refresh_forecast": _refresh_forecast,
    "new_scenario": _new_scenario,
    "compare_scenarios": _compare_scenarios,
    "lock_plan": _lock_plan,
    "refresh_actuals": _refresh_actuals,
    "flag_drift": _flag_drift,
    "meeting_pack": _meeting_pack,
    "close_month": _close_month,
    "add_event": _add_event,
}
"""Ribbon tag -> action. Each action calls the function its CLI command calls."""


@contextlib.contextmanager
def _busy(app: Any) -> Iterator[None]:
    """Screen updating off and manual calculation while writing (desktop Excel only)."""
    saved: dict[str, Any] = {}
    for attr, value in (("screen_updating", False), ("calculation", "manual")):
        with contextlib.suppress(Exception):
            saved[attr] = getattr(app, attr)
            setattr(app, attr, value)
    try:
        yield
    finally:
        for attr, value in saved.items():
            with contextlib.suppress(Exception):
                setattr(app, attr, value)
        with contextlib.suppress(Exception):
            app.status_bar = False


def dispatch(book: Any, tag: str) -> str:
    """Run the action for ``tag`` on ``book``; return the message to show (never raises)."""
    action = ACTIONS.get(tag)
    if action is None:
        return f"Unknown ribbon action '{tag}'. This workbook's ribbon may be newer than sop-excel: upgrade it."
    try:
        with _busy(book.app):
            return str(action(book))
    except SopExcelError as err:
        return f"Error: {err}"
    except Exception as err:  # noqa: BLE001 - a planner sees a message, never a traceback
        traceback.print_exc(file=sys.stderr)  # for a developer's console; not shown in Excel
        return (
            f"sop-excel could not finish ({type(err).__name__}: {err}). The workbook may be "
            "partly updated: close it without saving to undo, and report this with the workbook "
            "if it happens again."
        )


def show(book: Any, message: str) -> None:
    """Show ``message`` in a message box (or the status bar where there is none)."""
    try:
        book.app.alert(message, title=TITLE)
    except Exception:  # noqa: BLE001 - no alert in this Excel: use the status bar
        with contextlib.suppress(Exception):
            book.app.status_bar = message.splitlines()[0] if message else False


def run(tag: str) -> None:
    """The ribbon's RunPython target: run the action ``tag`` on the calling workbook."""
    book = xw.Book.caller()
    show(book, dispatch(book, tag))


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - needs Excel
    """Developer route: run a ribbon action on an open workbook, as the button would."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[1] not in ACTIONS:
        print(
            f"usage: python -m sop_excel.xl WORKBOOK.xlsm {{{','.join(ACTIONS)}}}", file=sys.stderr
        )
        return 2
    xw.Book(args[0]).set_mock_caller()
    run(args[1])
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
