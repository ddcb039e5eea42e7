"""Check a workbook the way CI would: structure, cached values, and a real recalculation."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.openpyxl_io import OpenpyxlIO

__all__ = ["check_workbook", "compare_recalculated", "formula_cells"]

ERROR_VALUES = ("#REF!", "#NAME?", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "Err:")


def formula_cells(path: str | Path) -> dict[tuple[str, str], object]:
    """Cached value of every formula cell, keyed by (sheet, cell)."""
    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    out = {}
    try:
        for ws in formulas.worksheets:
            where = [(r, c) for r, row in enumerate(ws.iter_rows(), start=1)
                     for c, cell in enumerate(row, start=1) if cell.data_type == "f"]
            if not where:
                continue
            grid = [[c.value for c in row] for row in values[ws.title].iter_rows()]
            for r, c in where:
                v = grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else None
                out[(ws.title, f"{get_column_letter(c)}{r}")] = v
    finally:
        formulas.close()
        values.close()
    return out


def _values(path: str | Path) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {(ws.title, f"{get_column_letter(c)}{r}"): cell.value
                for ws in wb.worksheets
                for r, row in enumerate(ws.iter_rows(), start=1)
                for c, cell in enumerate(row, start=1) if cell.value is not None}
    finally:
        wb.close()


def _close(a: object, b: object) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
    return a == b or (a in (None, "") and b in (None, ""))


def compare_recalculated(path: str | Path, recalculated: str | Path) -> list[str]:
    """Differences between our cached values and LibreOffice's recalculated ones, and error cells."""
    ours = formula_cells(path)
    theirs = _values(recalculated)
    problems = []
    for (sheet, coord), v in ours.items():
        w = theirs.get((sheet, coord))
        if isinstance(w, str) and w.startswith(ERROR_VALUES):
            problems.append(f"Sheet '{sheet}', cell {coord}: LibreOffice computes {w}")
        elif not _close(v, w):
            problems.append(f"Sheet '{sheet}', cell {coord}: cached {v!r} but LibreOffice computes {w!r}")
    return problems


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
            header = [str(h) for h in book.read_table(table.name)[0]]
            missing = [c.header for c in table.columns if c.header not in header and c.required]
            if missing:
                problems.append(f"Table {table.name}: missing columns {missing}")
    names = set(book.wb.defined_names.keys())
    from sop_excel.models import Settings

    # a setting newer than the workbook has no row and no name: its default applies (read_settings)
    optional = {f.alias for f in Settings.model_fields.values() if not f.is_required()}
    settings_rows = {str(r[0]).strip() for r in book.read_table("tblSettings")[1:] if r and r[0] is not None} \
        if "tblSettings" in book.table_names() else set()
    for spec in layout.settings.rows:
        if spec.name not in names and not (spec.name in optional and spec.setting not in settings_rows):
            problems.append(f"Named range {spec.name} (Settings '{spec.setting}') is missing")
    cells = formula_cells(path)
    empty = [k for k, v in cells.items() if v is None]
    for sheet, coord in empty[:20]:
        problems.append(f"Sheet '{sheet}', cell {coord}: formula has no cached value")
    if len(empty) > 20:
        problems.append(f"... and {len(empty) - 20} more formula cells without a cached value")
    lines = [f"{Path(path).name}: {len(sheets)} sheets, {len(tables)} tables, "
             f"{len(names)} named ranges, {len(cells)} formulas"]
    if recalc:
        with tempfile.TemporaryDirectory(prefix="sop-check-") as out:
            recalculated = recalculate(path, out)
            diffs = compare_recalculated(path, recalculated)
        problems += diffs[:20]
        if len(diffs) > 20:
            problems.append(f"... and {len(diffs) - 20} more differences")
        lines.append(f"LibreOffice recalculated {len(cells)} formulas: {len(diffs)} differ from the cached values")
    return problems, lines
