"""Check a workbook the way CI would: structure, cached values, file fidelity, the planner's
inputs (every check the commands make, nothing written), and a real recalculation.

File fidelity (issue 17) is what Excel would repair, refuse or show wrong, whoever saved the file
last: a formula without a cached value (openpyxl saves none), a calculation chain naming cells
that hold no formula (a repair prompt), a chart series on the wrong column or on fewer rows than
its table, a chart lying over a table, an ``.xlsm`` whose ribbon lost its relationship, scenario
names Excel cannot keep apart. The inputs are checked by the commands' own checks
(:func:`sop_excel.macros.check_inputs`); this module only reads.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.reader.strings import read_string_table
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import to_excel

from sop_excel import names as T
from sop_excel.workbook import package
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.openpyxl_io import OpenpyxlIO

__all__ = [
    "check_workbook",
    "compare_recalculated",
    "fidelity_problems",
    "formula_cells",
    "formula_text_cells",
]

ERROR_VALUES = ("#REF!", "#NAME?", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "Err:")
SHOWN = 20  # problems of one kind listed before "... and N more"


def formula_cells(path: str | Path) -> dict[tuple[str, str], object]:
    """Cached value of every formula cell, keyed by (sheet, cell): ``None`` where there is none,
    ``""`` for an empty text result. Numbers as the file holds them (a date: its serial)."""
    out: dict[tuple[str, str], object] = {}
    for title, (values, formulas) in _sheet_values(path).items():
        out.update({(title, ref): values.get(ref) for ref in sorted(formulas, key=_cell_order)})
    return out


def formula_text_cells(path: str | Path) -> dict[tuple[str, str], str]:
    """The formula text of every formula cell, keyed by (sheet, cell)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            (ws.title, f"{get_column_letter(c)}{r}"): str(cell.value)
            for ws in wb.worksheets
            for r, row in enumerate(ws.iter_rows(), start=1)
            for c, cell in enumerate(row, start=1)
            if cell.data_type == "f"
        }
    finally:
        wb.close()


def _sheet_values(path: str | Path) -> dict[str, tuple[dict[str, object], set[str]]]:
    """Per sheet: every cell's value by address and the formula cells' addresses, read from the
    sheet XML (:func:`package.cell_values`); a sheet that scan cannot read comes from openpyxl."""
    out: dict[str, tuple[dict[str, object], set[str]]] = {}
    slow: list[str] = []
    with zipfile.ZipFile(path) as z:
        part = next((n for n in z.namelist() if n.endswith("sharedStrings.xml")), None)
        strings = read_string_table(z.open(part)) if part else []
        for title, (sheet_part, _) in _sheet_parts(z).items():
            found = package.cell_values(z.read(sheet_part), strings)
            if found is None:
                slow.append(title)
            else:
                out[title] = found
    if slow:
        out.update(_openpyxl_values(path, slow))
    return out


def _openpyxl_values(
    path: str | Path, titles: list[str]
) -> dict[str, tuple[dict[str, object], set[str]]]:
    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out: dict[str, tuple[dict[str, object], set[str]]] = {}
    try:
        for title in titles:
            where = {
                f"{get_column_letter(c)}{r}"
                for r, row in enumerate(formulas[title].iter_rows(), start=1)
                for c, cell in enumerate(row, start=1)
                if cell.data_type == "f"
            }
            got = {
                f"{get_column_letter(c)}{r}": v
                for r, row in enumerate(values[title].iter_rows(values_only=True), start=1)
                for c, v in enumerate(row, start=1)
            }
            out[title] = (got, where)
    finally:
        formulas.close()
        values.close()
    return out


def _cell_order(ref: str) -> tuple[int, int]:
    col, row = coordinate_from_string(ref)
    return row, column_index_from_string(col)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dt.datetime | dt.date):
        a = to_excel(a)
    if isinstance(b, dt.datetime | dt.date):
        b = to_excel(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return a == b or (a in (None, "") and b in (None, ""))


def compare_recalculated(path: str | Path, recalculated: str | Path) -> list[str]:
    """Differences between our cached values and LibreOffice's recalculated ones, and error cells."""
    ours = formula_cells(path)
    theirs = _sheet_values(recalculated)
    problems = []
    for (sheet, coord), v in ours.items():
        w = theirs.get(sheet, ({}, set()))[0].get(coord)
        if isinstance(w, str) and w.startswith(ERROR_VALUES):
            problems.append(f"Sheet '{sheet}', cell {coord}: LibreOffice computes {w}")
        elif not _close(v, w):
            problems.append(
                f"Sheet '{sheet}', cell {coord}: cached {v!r} but LibreOffice computes {w!r}"
            )
    return problems


_sheet_parts = package.sheet_parts


def fidelity_problems(path: str | Path, book: OpenpyxlIO | None = None) -> list[str]:
    """What Excel would repair, refuse or show wrong in this file (see the module docstring)."""
    path = Path(path)
    book = book or OpenpyxlIO(path)
    layout = load_layout()
    problems: list[str] = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        sheets = _sheet_parts(z)
        xml = {title: z.read(part) for title, (part, _) in sheets.items()}
        # formulas without a cached value
        missing: list[tuple[str, str]] = []
        formulas_by_id: dict[int, set[str]] = {}
        for title, (_part, sheet_id) in sheets.items():
            scan = package.scan_formulas(xml[title])
            missing += [(title, c) for c in scan.missing]
            if scan.formulas:
                formulas_by_id[sheet_id] = {
                    m.group(1).decode()
                    for m in re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*><f\b', xml[title])
                }
        for sheet, coord in missing[:SHOWN]:
            problems.append(f"Sheet '{sheet}', cell {coord}: formula has no cached value")
        if len(missing) > SHOWN:
            problems.append(
                f"... and {len(missing) - SHOWN} more formula cells without a cached value"
            )
        # the calculation chain
        chain = next((n for n in names if n.lower() == "xl/calcchain.xml"), None)
        if chain is not None:
            stale = package.stale_calc_chain(z.read(chain), formulas_by_id)
            if stale:
                by_id = {i: t for t, (_, i) in sheets.items()}
                first = ", ".join(f"'{by_id.get(i, i)}'!{r}" for i, r in stale[:5])
                problems.append(
                    f"The calculation chain (xl/calcChain.xml) names {len(stale)} cells that hold no "
                    f"formula ({first}): Excel offers to repair the file"
                )
        # the ribbon and the VBA
        rels = z.read("_rels/.rels") if "_rels/.rels" in names else b""
        ct = z.read("[Content_Types].xml") if "[Content_Types].xml" in names else b""
        if package.ribbon_rel_missing(names, rels):
            problems.append(
                f"The ribbon part ({package.RIBBON_PART}) has lost its relationship in _rels/.rels "
                "(openpyxl drops it on save): Excel shows no S&OP tab"
            )
        macro_ct = b"macroEnabled.main+xml" in ct
        if path.suffix.lower() == ".xlsm" and not macro_ct:
            problems.append(
                f"{path.name} is named .xlsm but its main part is not macro-enabled: Excel refuses to open it"
            )
        if path.suffix.lower() == ".xlsx" and macro_ct:
            problems.append(
                f"{path.name} holds a macro-enabled workbook but is named .xlsx: Excel refuses to open it"
            )
        if path.suffix.lower() == ".xlsm" and "xl/vbaProject.bin" not in names:
            problems.append(
                f"{path.name} has no VBA project (xl/vbaProject.bin): the ribbon buttons cannot run"
            )
        # charts on their tables' columns, and beside their tables
        problems += _chart_problems(z, names, sheets, book, layout)
    problems += _scenario_name_problems(book)
    return problems


def _tables_by_sheet(
    book: OpenpyxlIO,
) -> dict[str, list[tuple[str, tuple[int, int, int, int], list[str]]]]:
    from openpyxl.utils import range_boundaries

    out: dict[str, list] = {}
    for name, (ws, tbl) in book._tables.items():
        out.setdefault(ws.title, []).append(
            (name, range_boundaries(tbl.ref), [c.name for c in tbl.tableColumns])
        )
    return out


def _chart_problems(
    z: zipfile.ZipFile,
    names: set[str],
    sheets: dict[str, tuple[str, int]],
    book: OpenpyxlIO,
    layout: object,
) -> list[str]:
    tables = _tables_by_sheet(book)
    dynamic = {t.name for t in layout.tables if t.dynamic_columns}  # type: ignore[attr-defined]

    def cell_text(sheet: str, row: int, col: int) -> str | None:
        try:
            v = book.wb[sheet].cell(row, col).value
        except KeyError:
            return None
        return None if v is None else str(v)

    problems: list[str] = []
    plotted: dict[str, set[int]] = {}  # table -> columns plotted by a chart that plots it whole
    for part in sorted(
        n for n in names if n.startswith("xl/charts/") and n.endswith(".xml") and "/_rels/" not in n
    ):
        chart = z.read(part)
        title = re.search(rb"<a:t>([^<]*)</a:t>", chart)
        label = (
            f"Chart '{package._unescape(title.group(1).decode())}'" if title else f"Chart {part}"
        )
        mine: dict[str, set[int]] = {}
        for s in package.series_of(chart, cell_text):
            if s.val is None:
                continue
            sheet, (c1, r1, c2, r2) = s.val
            for tname, (t1, s1, t2, s2), header in tables.get(sheet, []):
                if not (c1 == c2 and t1 <= c1 <= t2 and s1 <= r1 <= s2):
                    continue
                column = header[c1 - t1]
                mine.setdefault(tname, set()).add(c1)
                if (r1, r2) != (s1 + 1, s2):
                    problems.append(
                        f"{label}: series '{s.name or column}' plots rows {r1}-{r2} of '{sheet}' column "
                        f"'{column}', but table {tname} holds rows {s1 + 1}-{s2}: the chart does not "
                        "follow the table"
                    )
                if (
                    s.name is not None
                    and s.name.strip().casefold() != column.strip().casefold()
                    and s.name.strip().casefold() in {h.strip().casefold() for h in header}
                ):
                    problems.append(
                        f"{label}: series '{s.name}' plots column '{column}' of table {tname}: "
                        "the chart is on the wrong column"
                    )
                break
        for tname, cols in mine.items():  # a chart of most of a table's columns should have all
            width = (
                next(len(h) for entries in tables.values() for n, _, h in entries if n == tname) - 1
            )
            if width and len(cols) * 2 > width:
                plotted.setdefault(tname, set()).update(cols)
    for sheet, entries in tables.items():
        for tname, (t1, _s1, _t2, _s2), header in entries:
            if tname in dynamic and tname in plotted:
                for j, h in enumerate(header[1:], start=1):
                    if t1 + j not in plotted[tname]:
                        problems.append(
                            f"Column '{h}' of table {tname} (sheet '{sheet}') is on no chart series"
                        )
    # charts lying over a table
    for sheet, (part, _) in sheets.items():
        rels_name = package.rels_part(part)
        if rels_name not in names:
            continue
        for typ, target in package.rels_targets(z.read(rels_name), part).values():
            if not typ.endswith("/drawing") or target not in names:
                continue
            drawing = z.read(target)
            for tname, (t1, s1, t2, s2), _ in tables.get(sheet, []):
                if package.shift_anchors(drawing, [(t1, s1, t2, s2)]) != drawing:
                    problems.append(
                        f"A chart on sheet '{sheet}' lies over table {tname} "
                        f"({get_column_letter(t1)}{s1}:{get_column_letter(t2)}{s2}): some of its "
                        "cells are hidden under the chart"
                    )
    return problems


def _scenario_name_problems(book: OpenpyxlIO) -> list[str]:
    from sop_excel.pipeline import scenario_name_problems

    if T.SCENARIO_LIST not in book.table_names():
        return []
    rows = book.read_table(T.SCENARIO_LIST)
    names = [str(r[0]) for r in rows[1:] if r and r[0] not in (None, "")]
    return [f"Scenario '{name}' {what}. {fix}" for name, what, fix in scenario_name_problems(names)]


def _input_problems(path: str | Path) -> tuple[list[str], list[str]]:
    """What the commands would refuse (and warn about) in the planner's inputs: the same checks,
    read by the same side as the commands, without changing the file."""
    from sop_excel.macros import check_inputs
    from sop_excel.workbook.zip_io import open_workbook

    book = open_workbook(path)
    try:
        return check_inputs(book)
    finally:
        book.close()


def check_workbook(path: str | Path, *, recalc: bool = False) -> tuple[list[str], list[str]]:
    """(problems, info lines) for a workbook built by sop-excel."""
    layout = load_layout()
    book = OpenpyxlIO(path)
    problems: list[str] = []
    sheets = set(book.wb.sheetnames)
    for sheet in layout.sheets:
        if sheet.name not in sheets:
            problems.append(f"Sheet '{sheet.name}' is missing")
    tables = set(book.table_names())
    for table in layout.tables:
        if table.name not in tables:
            problems.append(f"Table {table.name} (sheet '{table.sheet}') is missing")
        elif not table.dynamic_columns:
            header = [str(h) for h in book.header(table.name)]
            missing = [
                c.header
                for c in table.columns
                if c.required and not {c.header, *c.former} & set(header)  # former: an older build
            ]
            if missing:
                problems.append(f"Table {table.name}: missing columns {missing}")
    names = set(book.wb.defined_names.keys())
    from sop_excel.models import Settings

    # a setting newer than the workbook has no row and no name: its default applies (read_settings)
    optional = {f.alias for f in Settings.model_fields.values() if not f.is_required()}
    settings_rows = (
        {str(r[0]).strip() for r in book.read_table(T.SETTINGS)[1:] if r and r[0] is not None}
        if T.SETTINGS in book.table_names()
        else set()
    )
    for spec in layout.settings.rows:
        if spec.name not in names and not (
            spec.name in optional and spec.setting not in settings_rows
        ):
            problems.append(f"Named range {spec.name} (Settings '{spec.setting}') is missing")
    problems += fidelity_problems(path, book)
    cells = formula_cells(path) if recalc else None
    n_formulas = len(cells) if cells is not None else _count_formulas(path)
    lines = [
        f"{Path(path).name}: {len(sheets)} sheets, {len(tables)} tables, "
        f"{len(names)} named ranges, {n_formulas} formulas"
    ]
    inputs, warnings = _input_problems(path)
    typed = {p.split(":", 1)[0] for p in inputs if "is a formula without a computed value" in p}
    problems = [
        p for p in problems if not any(p.startswith(t + ":") for t in typed)
    ]  # said once, as the input
    problems += inputs
    lines += [f"Warning: {w}" for w in warnings]
    if recalc:
        with tempfile.TemporaryDirectory(prefix="sop-check-") as out:
            recalculated = recalculate(path, out)
            diffs = compare_recalculated(path, recalculated)
        problems += diffs[:20]
        if len(diffs) > 20:
            problems.append(f"... and {len(diffs) - 20} more differences")
        lines.append(
            f"LibreOffice recalculated {n_formulas} formulas: {len(diffs)} differ from the cached values"
        )
    return problems, lines


def _count_formulas(path: str | Path) -> int:
    with zipfile.ZipFile(path) as z:
        return sum(
            package.scan_formulas(z.read(part)).formulas for part, _ in _sheet_parts(z).values()
        )
