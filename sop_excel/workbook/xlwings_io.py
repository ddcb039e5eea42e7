"""The live side of the workbook interface: an open Excel workbook through xlwings.

Uses only xlwings' BSD core and the part of its ``Book`` API that desktop Excel, xlwings Lite
and xlwings Server share: sheets, tables, ranges, ``.value``, ``.number_format``,
``table.resize``. Nothing from ``xlwings.pro``. This module and ``udfs/`` are the only code that
talks to xlwings objects; the ribbon entry points hand the caller's book to ``XlwingsIO``.

Writing through Excel is like typing: a string that starts with ``=``, ``+``, ``-`` or ``@``
would be parsed as a formula. Such text is written with a leading apostrophe, Excel's marker
for "this is text" (the apostrophe is not part of the value).

Protected sheets (the layout's ``protect``: Plan of record, Snapshots) refuse every write in
Excel. xlwings' API has no sheet protection, so this side calls the template's VBA function
``SopProtection`` (``Book.macro``, the same on Windows and the Mac) to unprotect such a sheet
just for a write and protect it again after, as the template protects it. A command that writes
there first calls :meth:`XlwingsIO.check_writable`, so a sheet that cannot be unprotected (a
password, or a workbook without sop-excel's VBA) is refused before anything was written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sop_excel.errors import LayoutError, WorkbookError
from sop_excel.models import LayoutSpec
from sop_excel.workbook.build import NUMBER_FORMATS
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.layout import cell_address, load_layout
from sop_excel.workbook.limits import check_table_write
from sop_excel.workbook.xlsm import PROTECTION_MACRO

if TYPE_CHECKING:
    from sop_excel.workbook.convert import FrameRows

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
            raise LayoutError(
                f"{self.name}: table {name} is missing. Restore it from the template "
                "or rename your table back."
            ) from None

    def read_table(self, name: str) -> Rows:
        tbl = self._find(name)
        rng = tbl.range
        values = rng.options(ndim=2, err_to_str=True).value  # #DIV/0! as its text, not as empty
        formulas = rng.formula
        out: Rows = []
        for vrow, frow in zip(values, formulas, strict=True):
            out.append([_cell(v, f) for v, f in zip(vrow, frow, strict=True)])
        return out

    def _protected_sheet(self, name: str) -> str | None:
        """The sheet of table ``name`` when the layout protects it (else None)."""
        try:
            sheet = self.layout.table(name).sheet
        except KeyError:
            return None
        return sheet if any(s.name == sheet and s.protect for s in self.layout.sheets) else None

    def _protection(self, sheet: str, action: str) -> str:
        """Ask the workbook's VBA to ``unprotect`` or ``protect`` a sheet; its answer."""
        try:
            answer = str(self.book.macro(PROTECTION_MACRO)(sheet, action))
        except Exception as exc:  # noqa: BLE001 - no such macro (an .xlsx, xlwings Server), or Excel refused
            answer = f"error: {type(exc).__name__}: {exc}"
        if answer.startswith("error"):
            raise WorkbookError(
                f"{self.name}: sheet '{sheet}' is protected and sop-excel could not unprotect it "
                f"({answer[6:].strip() or 'no answer'}). Nothing was written. Unprotect it (Review > "
                "Unprotect Sheet; a password-protected sheet needs its password), run the command "
                "again, and protect the sheet again after it, or run it headless with the sop-excel command."
            )
        return answer

    @contextlib.contextmanager
    def _writable(self, name: str) -> Iterator[None]:
        """Writes to table ``name`` allowed: a protected sheet unprotected meanwhile, then protected again."""
        sheet = self._protected_sheet(name)
        was = self._protection(sheet, "unprotect") if sheet else "unprotected"
        try:
            yield
        finally:
            if sheet and was == "protected":
                self._protection(sheet, "protect")

    def check_writable(self, names: Iterable[str]) -> None:
        """Refuse, before anything is written, a command that would write a protected sheet this
        side cannot unprotect (each such sheet is unprotected and protected again once)."""
        for sheet in dict.fromkeys(s for n in names if (s := self._protected_sheet(n))):
            if self._protection(sheet, "unprotect") == "protected":
                self._protection(sheet, "protect")

    def write_table(self, name: str, rows: Rows | FrameRows) -> None:
        with self._writable(name):
            self._write_table(name, rows)

    def _write_table(self, name: str, rows: Rows | FrameRows) -> None:
        tbl = self._find(name)
        sheet = tbl.range.sheet
        top, left = tbl.range.row, tbl.range.column
        old_rows, old_cols = tbl.range.shape
        check_table_write(self.name, str(sheet.name), name, left, top, rows)
        header = [str(h) for h in rows[0]]
        body = rows[1:] or [[None] * len(header)]
        n_rows, n_cols = len(body) + 1, len(header)
        new = sheet.range(
            f"{cell_address(top, left)}:{cell_address(top + n_rows - 1, left + n_cols - 1)}"
        )
        tbl.resize(new)
        if old_rows > n_rows:  # clear what the table left behind
            sheet.range(
                f"{cell_address(top + n_rows, left)}:"
                f"{cell_address(top + old_rows - 1, left + max(old_cols, n_cols) - 1)}"
            ).clear_contents()
        new.value = [[_to_excel(v) for v in header], *[[_to_excel(v) for v in row] for row in body]]
        if n_cols > old_cols:
            _charts_beside(sheet, new)
        kinds = _kinds(self.layout, name, header)
        for j, kind in enumerate(kinds):
            fmt = NUMBER_FORMATS.get(kind)
            if fmt:
                sheet.range(
                    f"{cell_address(top + 1, left + j)}:{cell_address(top + n_rows - 1, left + j)}"
                ).number_format = fmt

    def save(self) -> None:
        """Nothing to do: the planner's Excel holds the workbook; they save it."""


def _charts_beside(sheet: Any, table: Any) -> None:
    """Move a chart that the grown table now runs under to the right of it, one column apart
    (``chart.left``/``top``/``width``/``height`` and a range's, xlwings' public API). The
    series of a chart stay as they are: xlwings cannot set a series' range (docs/excel.md)."""
    try:
        charts = list(sheet.charts)
        right = table.left + table.width
        gap = sheet.range(cell_address(table.row, table.column + table.shape[1])).width
    except Exception:  # noqa: BLE001 - no charts API here (xlwings Lite, Server): nothing to move
        return
    top, bottom = table.top, table.top + table.height
    for chart in charts:
        if (
            chart.left < right
            and chart.left + chart.width > table.left
            and chart.top < bottom
            and chart.top + chart.height > top
        ):
            chart.left = right + gap


def _cell(value: Any, formula: Any) -> CellValue:
    # Excel's Range.Formula gives the constant for a plain cell, so text "=x" (typed as '=x)
    # reads back as value "=x" and formula "=x": only a formula whose value differs is one.
    if isinstance(formula, str) and formula.startswith("=") and value != formula:
        return Formula(formula, value)
    return value


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
