"""The live side of the workbook interface: an open Excel workbook through xlwings.

Uses only xlwings' BSD core and the part of its ``Book`` API that desktop Excel, xlwings Lite
and xlwings Server share: sheets, tables, ranges, ``.value``, ``.number_format``,
``table.resize``. Nothing from ``xlwings.pro``. This module and ``udfs/`` are the only code that
talks to xlwings objects; the ribbon entry points hand the caller's book to ``XlwingsIO``.

Writing through Excel is like typing: a string that starts with ``=``, ``+``, ``-`` or ``@``
would be parsed as a formula. Such text is written with a leading apostrophe, Excel's marker
for "this is text" (the apostrophe is not part of the value).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sop_excel.errors import LayoutError
from sop_excel.models import LayoutSpec
from sop_excel.workbook.build import NUMBER_FORMATS
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.layout import cell_address, load_layout
from sop_excel.workbook.limits import check_table_write

__all__ = ["XlwingsIO", "escape_text"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def escape_text(v: str) -> str:
    """Text as Excel must receive it to keep it text."""
    return "'" + v if v.startswith(_FORMULA_STARTS) or v.startswith("'") else v


class XlwingsIO:
    """An open workbook (an ``xlwings.Book``, e.g. ``xw.Book.caller()``) behind ``WorkbookIO``."""

    def __init__(self, book: Any, layout: LayoutSpec | None = None) -> None:
        self.book = book
        self.layout = layout or load_layout()
        self._tables: dict[str, Any] = {}
        for sheet in book.sheets:
            for tbl in sheet.tables:
                self._tables[tbl.name] = tbl

    @property
    def name(self) -> str:
        return str(self.book.name)

    def table_names(self) -> list[str]:
        return list(self._tables)

    def _find(self, name: str) -> Any:
        try:
            return self._tables[name]
        except KeyError:
            raise LayoutError(f"{self.name}: table {name} is missing. Restore it from the template "
                              "or rename your table back.") from None

    def read_table(self, name: str) -> Rows:
        tbl = self._find(name)
        rng = tbl.range
        values = rng.options(ndim=2, err_to_str=True).value  # #DIV/0! as its text, not as empty
        formulas = rng.formula
        out: Rows = []
        for vrow, frow in zip(values, formulas, strict=True):
            out.append([_cell(v, f) for v, f in zip(vrow, frow, strict=True)])
        return out

    def write_table(self, name: str, rows: Rows) -> None:
        tbl = self._find(name)
        sheet = tbl.range.sheet
        top, left = tbl.range.row, tbl.range.column
        old_rows, old_cols = tbl.range.shape
        check_table_write(self.name, str(sheet.name), name, left, top, rows)
        header = [str(h) for h in rows[0]]
        body = rows[1:] or [[None] * len(header)]
        n_rows, n_cols = len(body) + 1, len(header)
        new = sheet.range(f"{cell_address(top, left)}:{cell_address(top + n_rows - 1, left + n_cols - 1)}")
        tbl.resize(new)
        if old_rows > n_rows:  # clear what the table left behind
            sheet.range(f"{cell_address(top + n_rows, left)}:"
                        f"{cell_address(top + old_rows - 1, left + max(old_cols, n_cols) - 1)}").clear_contents()
        new.value = [[_to_excel(v) for v in row] for row in [header, *body]]
        kinds = _kinds(self.layout, name, header)
        for j, kind in enumerate(kinds):
            fmt = NUMBER_FORMATS.get(kind)
            if fmt:
                sheet.range(f"{cell_address(top + 1, left + j)}:{cell_address(top + n_rows - 1, left + j)}").number_format = fmt

    def save(self) -> None:
        """Nothing to do: the planner's Excel holds the workbook; they save it."""


def _cell(value: Any, formula: Any) -> CellValue:
    # Excel's Range.Formula gives the constant for a plain cell, so text "=x" (typed as '=x)
    # reads back as value "=x" and formula "=x": only a formula whose value differs is one.
    if isinstance(formula, str) and formula.startswith("=") and value != formula:
        return Formula(formula, value)
    return value  # type: ignore[no-any-return]


def _kinds(layout: LayoutSpec, name: str, header: list[str]) -> list[str]:
    table = layout.table(name)
    by_header = {c.header: c.kind for c in table.columns}
    default = "qty" if table.dynamic_columns else "text"
    return [by_header.get(h, default) for h in header]


def _to_excel(v: CellValue) -> Any:
    if isinstance(v, Formula):
        return v.text
    if isinstance(v, str):
        return escape_text(v)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v
