"""The headless side of the workbook interface: openpyxl to read and edit, no Excel needed.

openpyxl parses XML through defusedxml when it is installed (it is a dependency), drops every
formula's cached value on save, and cannot write one. So this side remembers the value Python
computed for each formula it writes and puts it back into the saved file, keeping the
workbook readable by pandas and other non-calculating readers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.table import Table, TableColumn

from sop_excel.errors import (
    SopExcelError,
    WorkbookCorruptError,
    WorkbookError,
    WorkbookLockedError,
)
from sop_excel.files import check_regular
from sop_excel.models import LayoutSpec
from sop_excel.workbook import package
from sop_excel.workbook.build import NUMBER_FORMATS
from sop_excel.workbook.guard import check_xlsx
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.layout import load_layout, missing_table
from sop_excel.workbook.limits import check_table_write
from sop_excel.workbook.safe_save import atomic_write, excel_owner_file

if TYPE_CHECKING:
    from sop_excel.workbook.convert import FrameRows

__all__ = ["OpenpyxlIO"]

_Cached: TypeAlias = float | str | bool | dt.date | None  # a formula's value, as Formula.value


@contextlib.contextmanager
def mapped_errors(path: Path) -> Iterator[None]:
    """Low-level read errors -> errors that say what to do."""
    try:
        yield
    except SopExcelError:
        raise
    except FileNotFoundError as exc:
        raise WorkbookError(
            f"No workbook at {path}. Check the path, or create one with "
            f"`sop-excel demo --out {path.name}`."
        ) from exc
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"Cannot read {path}: permission denied. Close it in any "
            "program that has it open and check the file's permissions."
        ) from exc
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        EOFError,
        OSError,
    ) as exc:
        raise WorkbookCorruptError(
            f"{path.name} is not a readable Excel workbook ({type(exc).__name__}: {exc}). "
            "Open it in Excel and save it as .xlsx, or restore it from a backup."
        ) from exc
    except Exception as exc:  # defusedxml's refusals and other parser errors
        if type(exc).__module__.startswith(("defusedxml", "xml", "lxml")):
            raise WorkbookCorruptError(
                f"{path.name} contains XML that sop-excel will not parse ({type(exc).__name__}). "
                "It may be damaged or crafted; open it in Excel and save a clean copy."
            ) from exc
        raise


class OpenpyxlIO:
    """A workbook file opened for reading and editing.

    Args:
        path: an .xlsx file built by sop-excel (or with the same tables).
        layout: the layout (defaults to the bundled template's).
    """

    def __init__(self, path: str | Path, layout: LayoutSpec | None = None) -> None:
        self.path = Path(path)
        self.layout = layout or load_layout()
        if excel_owner_file(self.path).exists():
            raise WorkbookLockedError(
                f"{self.path.name} is open in Excel (found {excel_owner_file(self.path).name}). "
                "Close it in Excel, then run the command again."
            )
        with mapped_errors(self.path):
            check_regular(self.path, "Workbook", WorkbookError)  # a pipe's open would wait forever
            check_xlsx(self.path, deep=False)  # zipfile-based: declared sizes bound what it reads
            self.macro_enabled = self.path.suffix.lower() == ".xlsm"
            # keep_vba keeps vbaProject.bin and the customUI part byte for byte (excel.md)
            self.wb = openpyxl.load_workbook(self.path, keep_vba=self.macro_enabled)
        self._tables: dict[str, tuple[Any, Table]] = {}
        for ws in self.wb.worksheets:
            for tbl in ws.tables.values():
                self._tables[tbl.name] = (ws, tbl)
        self._cached: dict[tuple[str, str], _Cached] = {}
        self._moves: dict[
            str, package.TableMove
        ] = {}  # table -> where it was and what it holds now
        self._dirty: set[str] = set()  # tables written since the last save
        self._file_values: dict[
            str, list[tuple[object, ...]]
        ] = {}  # sheet -> cached values as saved

    # -- WorkbookIO -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    def table_names(self) -> list[str]:
        return list(self._tables)

    def _find(self, name: str) -> tuple[Any, Table]:
        try:
            return self._tables[name]
        except KeyError:
            raise missing_table(self.name, self.layout, name) from None

    def header(self, name: str) -> list[object]:
        """The table's header row as the sheet holds it (no formula values looked up)."""
        ws, tbl = self._find(name)
        min_col, min_row, max_col, _ = range_boundaries(tbl.ref)
        cells = ws.iter_rows(min_row=min_row, max_row=min_row, min_col=min_col, max_col=max_col)
        return [_read(c) for c in next(cells, ())]

    def read_table(self, name: str) -> Rows:
        ws, tbl = self._find(name)
        out: Rows = []
        for row in ws.iter_rows(*_bounds(tbl.ref)):
            out.append([_read(c) for c in row])
        if any(v.__class__ is Formula for r in out for v in r):
            out = self._with_cached_values(ws, tbl, out, written=name in self._dirty)
        return out

    def _with_cached_values(self, ws: Any, tbl: Table, rows: Rows, *, written: bool) -> Rows:
        """Each formula with its value: as written (a table written since the last save), else
        as the file holds it (openpyxl keeps formulas or values, not both: the values are read
        from the file once per sheet, in read-only mode)."""
        min_col, min_row, _, _ = range_boundaries(tbl.ref)
        if not written and ws.title not in self._file_values:
            with mapped_errors(self.path):
                values = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
                try:
                    self._file_values[ws.title] = list(values[ws.title].iter_rows(values_only=True))
                finally:
                    values.close()
        grid = self._file_values.get(ws.title, [])
        out: Rows = []
        for i, row in enumerate(rows):
            r = min_row + i
            new = list(row)
            for j, v in enumerate(row):
                if v.__class__ is not Formula:
                    continue
                c = min_col + j
                if written:
                    value = self._cached.get((ws.title, f"{get_column_letter(c)}{r}"))
                else:
                    value = grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else None
                new[j] = Formula(v.text, value)
            out.append(new)
        return out

    def write_table(self, name: str, rows: Rows | FrameRows) -> None:
        ws, tbl = self._find(name)
        layout = self.layout.table(name)
        min_col, min_row, max_col, max_row = range_boundaries(tbl.ref)
        check_table_write(self.name, ws.title, name, min_col, min_row, rows)
        header = [str(h) for h in rows[0]]
        before = self._moves.get(name)
        self._moves[name] = package.TableMove(
            ws.title,
            before.old if before else (min_col, min_row, max_col, max_row),
            before.old_header if before else [c.name for c in tbl.tableColumns],
            header,
            min_row + max(len(rows) - 1, 1),
        )
        for j, width in enumerate(_widths(layout, rows)):  # header, numbers and dates shown whole
            letter = get_column_letter(min_col + j)
            dim = ws.column_dimensions[letter]
            if (dim.width or 0) < width:
                dim.width = width
        body = rows[1:] or [[None] * len(header)]  # an Excel Table keeps at least one data row
        new_max_row = min_row + len(body)
        new_max_col = min_col + len(header) - 1
        kinds = _kinds(layout, header)
        for r in range(min_row, max(max_row, new_max_row) + 1):
            for c in range(min_col, max(max_col, new_max_col) + 1):
                if r > new_max_row or c > new_max_col:
                    cell = ws.cell(r, c)
                    cell.value = None
                    cell.number_format = "General"
        for j, h in enumerate(header):
            _write(ws.cell(min_row, min_col + j), h, None)
        for i, row in enumerate(body, start=1):
            for j, v in enumerate(row):
                cell = ws.cell(min_row + i, min_col + j)
                _write(cell, v, NUMBER_FORMATS.get(kinds[j]))
                if isinstance(v, Formula):
                    self._cached[(ws.title, cell.coordinate)] = v.value
                else:
                    self._cached.pop((ws.title, cell.coordinate), None)
        new_ref = (
            f"{get_column_letter(min_col)}{min_row}:{get_column_letter(new_max_col)}{new_max_row}"
        )
        if [c.name for c in tbl.tableColumns] != header:
            old = {c.name: c for c in tbl.tableColumns}
            tbl.tableColumns = [
                old.get(h) or TableColumn(id=j + 1, name=h) for j, h in enumerate(header)
            ]
            for j, col in enumerate(tbl.tableColumns):
                col.id = j + 1
        self._dirty.add(name)
        tbl.ref = new_ref
        if tbl.autoFilter is not None:
            tbl.autoFilter.ref = new_ref
        _follow_table(
            self.wb, ws, (min_col, min_row + 1, max(max_col, new_max_col), max_row), new_max_row
        )

    def save(self) -> None:
        self.wb.calculation.fullCalcOnLoad = (
            False  # set again below where a value may be missing or stale
        )

        def write(tmp: Path) -> None:
            raw = io.BytesIO()
            self.wb.save(raw)
            _write_with_cached_values(
                raw,
                tmp,
                self._cached,
                self._sheet_parts(),
                self._kept_values(),
                list(self._moves.values()),
                self._own_formulas(),
            )

        atomic_write(self.path, write)
        self._moves.clear()
        self._dirty.clear()
        self._file_values.clear()  # what the file holds now

    def close(self) -> None:
        """Nothing to let go of: the workbook was read into memory when opened (as
        :meth:`ZipIO.close <sop_excel.workbook.zip_io.ZipIO.close>`, for callers of either side)."""

    def missing_values(self, names: list[str]) -> tuple[int, list[str]]:
        """Formula cells without a cached value on the sheets of these tables, in the file as
        opened: how many, and the first few by sheet and cell."""
        titles = {self._tables[n][0].title for n in names if n in self._tables}
        with zipfile.ZipFile(self.path) as z:
            parts = {t: part for t, (part, _) in package.sheet_parts(z).items() if t in titles}
            return package.missing_values(z.read, parts)

    def _kept_values(self) -> dict[str, dict[str, tuple[bytes, bytes, bytes]]]:
        """Sheet title -> cell -> (formula, type, cached value) of every formula cell of the file
        as it was opened: openpyxl drops those values on save; a formula this side did not write
        gets its value back (the same formula on the same cell, so the same value)."""
        out: dict[str, dict[str, tuple[bytes, bytes, bytes]]] = {}
        with zipfile.ZipFile(self.path) as z:
            if "xl/workbook.xml" not in z.namelist():
                return out
            for title, (part, _) in package.sheet_parts(z).items():
                if b"<f" in (xml := z.read(part)):
                    out[title] = {
                        c.group(1).decode(): (c.group(3), c.group(2), c.group(4))
                        for c in _KEPT_CELL.finditer(xml)
                    }
        return out

    def _own_formulas(self) -> dict[str, int]:
        """Sheet title -> formula cells sop-excel writes there (its formula columns x rows)."""
        out: dict[str, int] = {}
        for name, (ws, tbl) in self._tables.items():
            try:
                fields = {c.header for c in self.layout.table(name).columns if c.formula}
            except KeyError:
                continue
            c1, r1, c2, r2 = range_boundaries(tbl.ref)
            n = sum(1 for c in tbl.tableColumns if c.name in fields) * max(r2 - r1, 0)
            out[ws.title] = out.get(ws.title, 0) + n
        return out

    def _sheet_parts(self) -> dict[str, str]:
        return {ws.title: ws.path.lstrip("/") for ws in self.wb.worksheets}


def _widths(layout: Any, rows: Sequence[list[CellValue]]) -> list[float]:
    """What each column needs to show its header and numbers (never below what it has: the caller keeps the larger)."""
    from sop_excel.workbook.build import column_layouts, fitted_widths

    cols = column_layouts(layout, rows[0])
    return fitted_widths([c.model_copy(update={"width": 0}) for c in cols], rows)


def _bounds(ref: str) -> tuple[int, int, int, int]:
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return min_row, max_row, min_col, max_col


def _kinds(layout: Any, header: list[str]) -> list[str]:
    by_header = {c.header: c.kind for c in layout.columns}
    default = "qty" if layout.dynamic_columns else "text"
    return [by_header.get(h, default) for h in header]


def _read(cell: Any) -> CellValue:
    v = cell.value
    if cell.data_type == "f":
        return Formula(v if isinstance(v, str) else f"={v}", None)
    return v


def _write(cell: Any, v: CellValue, number_format: str | None) -> None:
    """The one choke point for cell values: only a Formula becomes a formula."""
    if isinstance(v, Formula):
        cell.value = v.text
    else:
        cell.value = v
        if isinstance(v, str):
            cell.data_type = "s"  # openpyxl would store "=..." text as a formula
    if number_format:
        cell.number_format = number_format


def _follow_table(wb: Any, ws: Any, old_body: tuple[int, int, int, int], new_last_row: int) -> None:
    """Stretch conditional formats, validations and chart series that covered the table body."""
    min_col, first_row, max_col, _ = old_body

    def stretch(ref: str) -> str:
        c1, r1, c2, r2 = range_boundaries(ref)
        if r1 == first_row and min_col <= c1 and c2 <= max_col:
            return f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{new_last_row}"
        return ref

    rules = [(str(cf.sqref), cf.rules) for cf in ws.conditional_formatting]
    ws.conditional_formatting = ConditionalFormattingList()
    for sqref, cf_rules in rules:
        new = " ".join(stretch(r) for r in sqref.split())
        for rule in cf_rules:
            ws.conditional_formatting.add(new, rule)
    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(" ".join(stretch(str(r)) for r in dv.sqref.ranges))
    # chart series follow their table by name after the save (package.follow_charts)


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f>(?:<v\s*/>|<v></v>)?</c>')
# a formula cell of the file as opened, with its cached value: (cell, type, formula, value)
_KEPT_CELL = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"(?:[^>]*?\bt="(\w+)")?[^>]*><f>([^<]*)</f><v>([^<]*)</v></c>'
)


def _write_with_cached_values(
    raw: io.BytesIO,
    dest: Path,
    cached: dict[tuple[str, str], _Cached],
    parts: dict[str, str],
    kept: dict[str, dict[str, tuple[bytes, bytes, bytes]]] | None = None,
    moves: list[package.TableMove] | None = None,
    own: dict[str, int] | None = None,
) -> None:
    """Copy the saved xlsx into ``dest``, filling each formula cell's cached ``<v>``: the value
    Python computed for a formula this side wrote, else the value the file had for the same
    formula. Charts follow their tables by name, drawings move beside grown tables, the ribbon
    keeps its relationship, and Excel is asked to recalculate at open only where a value may be
    missing or stale (a formula left without one, or one sop-excel did not write)."""
    by_part: dict[str, dict[str, _Cached]] = {}
    for (sheet, coord), value in cached.items():
        by_part.setdefault(parts[sheet], {})[coord] = value
    kept_by_part = {parts[t]: cells for t, cells in (kept or {}).items() if t in parts}
    title_of = {p: t for t, p in parts.items()}
    raw.seek(0)
    with zipfile.ZipFile(raw) as src:
        data = {info.filename: src.read(info.filename) for info in src.infolist()}
        infos = src.infolist()
    calc = False
    for part in list(data):
        values, old = by_part.get(part, {}), kept_by_part.get(part, {})
        if values or old:
            data[part] = _FORMULA_CELL.sub(
                functools.partial(_with_value, values=values, kept=old), data[part]
            )
        if part in title_of:
            scan = package.scan_formulas(data[part])
            calc |= bool(scan.missing) or scan.formulas > (own or {}).get(title_of[part], 0)
        if moves and part.startswith("xl/charts/") and part.endswith(".xml"):
            data[part] = package.follow_charts(data[part], moves)
    for (
        part,
        title,
    ) in title_of.items():  # drawings: charts a grown table would run under move right
        rels = package.rels_part(part)
        if rels not in data or not moves:
            continue
        extents = [
            (m.old[0], m.old[1], m.old[0] + len(m.header) - 1, m.last_row)
            for m in moves
            if m.sheet == title
        ]
        for typ, target in package.rels_targets(data[rels], part).values():
            if typ.endswith("/drawing") and target in data and extents:
                data[target] = package.shift_anchors(data[target], extents)
    if "xl/workbook.xml" in data:
        data["xl/workbook.xml"] = package.with_full_calc(data["xl/workbook.xml"], calc)
    if "xl/styles.xml" in data:
        data["xl/styles.xml"] = package.canonical_fonts(data["xl/styles.xml"])
    if "_rels/.rels" in data and package.ribbon_rel_missing(data, data["_rels/.rels"]):
        data["_rels/.rels"] = package.with_ribbon_rel(
            data["_rels/.rels"]
        )  # openpyxl drops it on every save
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
        for info in infos:
            out.writestr(info, data[info.filename])


def _with_value(
    m: re.Match[bytes],
    values: dict[str, _Cached],
    kept: dict[str, tuple[bytes, bytes, bytes]] | None = None,
) -> bytes:
    coord = m.group(1).decode()
    if coord not in values or values[coord] is None:
        old = (kept or {}).get(coord)
        if (
            coord in values or old is None or old[0] != m.group(3)
        ):  # written here, or another formula
            return m.group(0)
        attrs = re.sub(rb'\st="[^"]*"', b"", m.group(2)) + (b' t="%s"' % old[1] if old[1] else b"")
        return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (m.group(1), attrs, m.group(3), old[2])
    v = values[coord]
    if isinstance(v, dt.date):  # a date formula's value is its serial number
        v = to_excel(v)
    attrs = re.sub(rb'\st="[^"]*"', b"", m.group(2))
    if isinstance(v, bool):
        return b'<c r="%s"%s t="b"><f>%s</f><v>%d</v></c>' % (m.group(1), attrs, m.group(3), int(v))
    if isinstance(v, int | float):
        if not math.isfinite(v):
            return m.group(0)
        return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (
            m.group(1),
            attrs,
            m.group(3),
            repr(float(v)).encode(),
        )
    text = escape(str(v)).encode()
    return b'<c r="%s"%s t="str"><f>%s</f><v>%s</v></c>' % (m.group(1), attrs, m.group(3), text)
