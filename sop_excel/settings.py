"""The Settings sheet read into :class:`sop_excel.models.Settings` (a bad value reported by its
cell), the settings of a new workbook, and the As-of date row close-month moves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from pydantic import ValidationError

from sop_excel import names as T
from sop_excel.errors import CellProblem, InputError, plain_reason
from sop_excel.models import Settings
from sop_excel.workbook.io import Formula, WorkbookIO
from sop_excel.workbook.layout import column_letter, load_layout, parse_cell
from sop_excel.workbook.tables import read_frame

__all__ = ["as_of_rows", "new_workbook_settings", "read_settings", "write_as_of"]


def read_settings(book: WorkbookIO) -> Settings:
    """The Settings sheet as validated settings; a bad value is reported by its cell."""
    layout = load_layout()
    table = layout.table(T.SETTINGS)
    frame = read_frame(book, T.SETTINGS)
    _, c0 = parse_cell(table.anchor)
    rows = dict(zip(frame["setting"], frame.attrs["excel_rows"], strict=True))
    raw = {
        str(r[0]).strip(): r[1] for r in book.read_table(T.SETTINGS)[1:] if r and r[0] is not None
    }
    values: dict[str, object] = {}
    problems = []
    optional = {f.alias for f in Settings.model_fields.values() if not f.is_required()}
    for spec in layout.settings.rows:
        if spec.setting not in raw and spec.name in optional:
            continue  # a workbook from an earlier version: the default applies
        if spec.setting not in raw:
            problems.append(
                CellProblem(
                    "Sheet 'Settings'",
                    None,
                    f"the setting '{spec.setting}' is missing",
                    "Add a row for it (see the template) with its value.",
                )
            )
            continue
        v = raw[spec.setting]
        values[spec.name] = cast(Formula, v).value if hasattr(v, "text") else v
    if not problems:
        try:
            return Settings.model_validate(values)
        except ValidationError as err:
            by_name = {s.name: s for s in layout.settings.rows}
            for e in err.errors(include_url=False):
                bad = by_name.get(str(e["loc"][0]) if e["loc"] else "")
                where = (
                    f"Sheet 'Settings', cell {column_letter(c0 + 1)}{rows[bad.setting]} ({bad.setting})"
                    if bad
                    else "Sheet 'Settings'"
                )
                value = (
                    e.get("input") if bad else None
                )  # a rule across settings: no one value to show
                problems.append(
                    CellProblem(
                        where,
                        value,
                        plain_reason(e["msg"]),
                        "Correct the value (its Description says what fits).",
                    )
                )
    raise InputError("Sheet 'Settings' has values sop-excel cannot use", problems)


def new_workbook_settings(as_of: dt.date, mapping: Any) -> tuple[Settings, dict[str, object]]:
    """The Settings of a new workbook: the defaults, the as-of date, and the mapping's [settings]
    (by name, ``Currency``, or by label, ``Horizon (months)``)."""
    from sop_excel.planbook import DEFAULT_SETTINGS

    by_label = {spec.setting.lower(): spec.name for spec in load_layout().settings.rows}
    names = {spec.name.lower(): spec.name for spec in load_layout().settings.rows}
    values: dict[str, object] = {"AsOfDate": as_of, **DEFAULT_SETTINGS}
    problems = []
    for key, value in mapping.settings.items():
        name = names.get(str(key).lower()) or by_label.get(str(key).lower())
        if name is None or name == "AsOfDate":
            problems.append(
                CellProblem(
                    f"{mapping.source}, [settings]",
                    key,
                    "is not a setting a mapping file sets",
                    'Use the names on the Settings sheet, e.g. Currency = "USD" or '
                    "Horizon = 24 (the as-of date comes from --as-of).",
                )
            )
            continue
        values[name] = value
    if problems:
        raise InputError("The mapping file's settings cannot be used", problems)
    try:
        return Settings.model_validate(values), values
    except ValidationError as err:
        raise InputError(
            "The mapping file's settings cannot be used",
            [
                CellProblem(
                    f"{mapping.source}, [settings] {e['loc'][0] if e['loc'] else ''}",
                    e.get("input"),
                    plain_reason(e["msg"]),
                    "Correct it in the mapping file.",
                )
                for e in err.errors(include_url=False)
            ],
        ) from None


def as_of_rows(book: WorkbookIO) -> tuple[list, list]:
    """The Settings table's rows and its As-of date row, which close-month may change (a
    planner's formula there it does not overwrite)."""
    label = next(r.setting for r in load_layout().settings.rows if r.name == "AsOfDate")
    rows = book.read_table(T.SETTINGS)
    hits = [r for r in rows[1:] if r and str(r[0]).strip() == label]
    if not hits:
        raise InputError(
            f"Sheet 'Settings' has no '{label}' row. Add it (see the template) with the planning date."
        )
    if isinstance(hits[0][1], Formula):
        raise InputError(
            f"Sheet 'Settings', {label} holds a formula ({hits[0][1].text}). close-month moves "
            "the as-of date to the first working day of the next month: type a date instead "
            "of the formula, then run close-month again."
        )
    return rows, hits[0]


def write_as_of(book: WorkbookIO, day: dt.date) -> None:
    """Settings > As-of date becomes ``day``; every other cell of the table stays as it is."""
    rows, row = as_of_rows(book)
    row[1] = day
    book.write_table(T.SETTINGS, rows)
