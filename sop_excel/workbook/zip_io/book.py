"""ZipIO: the workbook interface on an xlsx package edited part by part."""

from __future__ import annotations

import functools
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sop_excel.errors import WorkbookCorruptError, WorkbookError, WorkbookLockedError
from sop_excel.files import check_regular
from sop_excel.models import LayoutSpec
from sop_excel.workbook import package
from sop_excel.workbook.convert import FrameRows
from sop_excel.workbook.guard import check_part, check_xlsx, inflated
from sop_excel.workbook.io import Rows
from sop_excel.workbook.layout import load_layout, missing_table
from sop_excel.workbook.limits import check_table_write
from sop_excel.workbook.openpyxl_io import OpenpyxlIO, mapped_errors
from sop_excel.workbook.safe_save import (
    atomic_write,
    excel_owner_file,
)
from sop_excel.workbook.zip_io.cells import (
    BadCell,
    cell_chunks,
    row_span,
)
from sop_excel.workbook.zip_io.parts import (
    SavedStamp,
    Styles,
    TablePart,
    as_written,
    stamps_in,
)
from sop_excel.workbook.zip_io.plain_rows import gc_paused, plain_rows, plain_span
from sop_excel.workbook.zip_io.writing import PackageWriter
from sop_excel.workbook.zip_io.xml_text import (
    COLUMN_LETTERS,
    ZipUnsupported,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


# -- the side --------------------------------------------------------------------------------
class ZipIO(PackageWriter):
    """A workbook file opened for reading tables and rewriting them, part by part.

    Args:
        path: an .xlsx/.xlsm file built by sop-excel (or with the same tables).
        layout: the layout (defaults to the bundled template's).
    """

    writes_sheets_in_bulk = True  # a sheet whose tables are all rewritten is written fastest
    SMALL_ROWS = 2_000  # tables up to this many rows are read by the XML reader (see read_values)

    def __init__(
        self, path: str | Path, layout: LayoutSpec | None = None, *, checked: bool = False
    ) -> None:
        self.path = Path(path)
        self.layout = layout or load_layout()
        self.fallback_reason: str | None = None
        self._slow: OpenpyxlIO | None = None
        self._calamine: Any = None  # python-calamine's reader of the file, opened on first use
        self._values_cache: tuple[str, Rows] | None = None
        if excel_owner_file(self.path).exists():
            raise WorkbookLockedError(
                f"{self.path.name} is open in Excel (found {excel_owner_file(self.path).name}). "
                "Close it in Excel, then run the command again."
            )
        self._open(checked=checked)

    def _open(self, *, checked: bool = False) -> None:
        """Open the file; ``checked``: the guard has passed it in this command already (the
        file this side has just written from parts of a checked file, or the file another
        process of this command opened)."""
        self._close_calamine()  # a reader of the file before this save
        self._writes: dict[str, Rows | FrameRows] = {}
        self._order: list[str] = []
        self._stamps: dict[str, list[tuple[int, int, SavedStamp]]] = {}  # filled in at save
        self._sheet_cache: tuple[str, bytes] | None = None
        self._errors_seen: dict[str, bool] = {}
        self._formulas_seen: dict[str, bool] = {}  # part -> whether it holds any formula
        # sheets the guard left to check in full when read (check_xlsx's defer): as read here
        self._deferred: set[str] = set()
        self._typed_seen: dict[str, bool] = {}  # table -> whether a value cell holds a formula
        self._strings: list[str] | None = None
        self._styles: Styles | None = None
        with mapped_errors(self.path):
            check_regular(self.path, "Workbook", WorkbookError)  # a pipe's open would wait forever
            if not checked:  # zip, sizes, content types, no DTDs: before parsing (and which sheets hold error cells)
                check_xlsx(
                    self.path,
                    deep=False,
                    seen=self._errors_seen,
                    formulas=self._formulas_seen,
                    defer=self._deferred,
                )
            self._zip = zipfile.ZipFile(self.path)
            self._members = {i.filename: i for i in self._zip.infolist()}
            try:
                self._load_structure()
            except ZipUnsupported as exc:
                self._fall_back(str(exc))

    def _read(self, part: str) -> bytes:
        """A part's bytes (inflated by zlib-ng: :func:`~sop_excel.workbook.guard.inflated`);
        a sheet the guard deferred is checked as it is inflated, once (``check_part``)."""
        if part not in self._members:
            raise ZipUnsupported(f"the package has no part {part}")
        info = self._members[part]
        if part in self._deferred:
            data = check_part(self.path, self._zip, info, self._errors_seen, self._formulas_seen)
            self._deferred.discard(part)
            return data
        return b"".join(inflated(self._zip, info, max(info.file_size, 1 << 16)))

    # -- falling back -----------------------------------------------------------------------
    def _fall_back(self, reason: str) -> OpenpyxlIO:
        """Hand the workbook to the openpyxl side (the writes made so far replayed); returns it."""
        self.fallback_reason = reason
        self._zip.close()
        log.warning(
            "%s: %s; using openpyxl for this workbook (slower, same result).",
            self.path.name,
            reason,
        )
        self._slow = OpenpyxlIO(self.path, self.layout)
        for name in self._order:
            self._slow.write_table(name, self._writes[name])
        self._writes.clear()
        self._order.clear()
        self._stamps.clear()  # written by openpyxl as their placeholder: no fingerprint
        self._sheet_cache = None
        return self._slow

    # -- WorkbookIO -------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        if self._slow is not None:
            return self._slow.table_names()
        return list(self._tables)

    def _find(self, name: str) -> TablePart:
        try:
            return self._tables[name]
        except KeyError:
            raise missing_table(self.name, self.layout, name) from None

    def read_table(self, name: str) -> Rows:
        if self._slow is not None:
            return self._slow.read_table(name)
        tbl = self._find(name)
        if name in self._writes:
            return as_written(self._writes[name])
        try:
            with mapped_errors(self.path):
                return self._read_range(tbl)
        except BadCell as exc:
            raise WorkbookCorruptError(
                f"{self.name} is damaged: sheet '{tbl.sheet}', {exc}. Open it in Excel and save it "
                "again, or restore it from a backup."
            ) from None
        except ZipUnsupported as exc:
            self._fall_back(f"table {name}: {exc}")
            return self.read_table(name)

    def write_table(self, name: str, rows: Rows | FrameRows) -> None:
        if self._slow is not None:
            self._slow.write_table(name, rows)
            return
        tbl = self._find(name)
        c1, r1, _, _ = tbl.bounds
        check_table_write(self.name, tbl.sheet, name, c1, r1, rows)
        # a frame's rows stay a frame until written (made a column at a time then); others are copied
        self._stamps.pop(name, None)
        if isinstance(rows, FrameRows):
            self._writes[name] = rows
        else:
            self._writes[name] = copied = [list(r) for r in rows]
            if found := stamps_in(copied):
                self._stamps[name] = found
        if name in self._order:
            self._order.remove(name)
        self._order.append(name)

    def save(self) -> None:
        if self._slow is not None:
            self._slow.save()
            return
        try:
            with mapped_errors(self.path):
                plan = self._plan()
        except ZipUnsupported as exc:
            self._fall_back(str(exc)).save()
            return
        self._sheet_cache = None
        try:
            atomic_write(self.path, lambda tmp: self._write_package(tmp, plan))
        except ZipUnsupported as exc:  # found while writing: the file is untouched
            self._fall_back(str(exc)).save()
            return
        except BaseException:
            if self._zip.fp is None:  # closed before the rename: open the unchanged file again
                self._zip = zipfile.ZipFile(self.path)
            raise
        deferred = self._deferred  # copied as they were: still to check when read
        self._open(checked=True)  # see the file as saved
        self._deferred = deferred

    def close(self) -> None:
        self._close_calamine()
        self._zip.close()

    def read_values(self, name: str) -> Rows:
        """A table's rows as values for :func:`~sop_excel.workbook.convert.frame_from_rows`:
        each formula cell its cached value, an empty cell ``""`` or ``None``, a date cell a
        ``date`` or ``datetime``.

        Read in bulk where the sheet holds the table as sop-excel writes it
        (:mod:`~sop_excel.workbook.zip_io.plain_rows`), else by python-calamine (Rust), several
        times faster than parsing the XML here (``bench/scale_read.py``); tables written since the last save, and anything calamine
        cannot read, come from :meth:`read_table` (same frames: ``tests/.../test_zip_io.py``).
        """
        with gc_paused():  # millions of cells as objects, none in a cycle
            return self._read_values(name)

    def _read_values(self, name: str) -> Rows:
        if self._slow is not None or name in self._writes:
            return self.read_table(name)
        tbl = self._find(name)
        if tbl.bounds[3] - tbl.bounds[1] <= self.SMALL_ROWS:
            # a few rows (Settings, Locks, the Basis key): the XML reader reads just those rows,
            # calamine would parse the whole sheet (Locks shares its sheet with the Plan of record)
            return self.read_table(name)
        # formula columns (the Forecast's, the scenario plan's) are never plain: not tried
        formula_table = any(c.formula for c in self.layout.table(tbl.name).columns)
        if self._needs_xml(tbl, whole=not formula_table):
            return self.read_table(name)  # calamine reads errors as empty, and formulas as values
        plain = None if formula_table else self._plain_rows(tbl)
        if plain is not None:  # as sop-excel wrote it: read in bulk, faster than calamine
            return plain
        grid = self._values_grid(tbl.sheet)
        min_col, min_row, max_col, max_row = tbl.bounds
        width = max_col - min_col + 1
        if (
            grid is None
            or len(grid) < min_row
            or [str(v).strip() for v in grid[min_row - 1][min_col - 1 : max_col]] != tbl.columns
        ):
            return self.read_table(name)
        rows = grid[min_row - 1 : max_row]
        if min_col != 1 or set(map(len, rows)) != {
            width
        }:  # other cells beside: the table's columns
            rows = list(map(itemgetter(slice(min_col - 1, max_col)), rows))  # no Python loop
            if set(map(len, rows)) != {width}:
                rows = [r if len(r) == width else r + [None] * (width - len(r)) for r in rows]
        rows += [
            [None] * width for _ in range(max_row - min_row + 1 - len(rows))
        ]  # calamine ends at the last value
        return rows

    def _plain_rows(self, tbl: TablePart) -> Rows | None:
        """The table's rows when its sheet holds it as sop-excel writes it (see
        :func:`~sop_excel.workbook.zip_io.plain_rows.plain_rows`), else None."""
        try:
            with mapped_errors(self.path):
                xml = self._sheet_xml(tbl.sheet_part)
                lo, hi = plain_span(xml, tbl.bounds[1], tbl.bounds[3])
                if lo < 0:
                    lo, hi = row_span(xml, tbl.bounds[1], tbl.bounds[3])
        except ZipUnsupported:
            return None
        styles = self._stylesheet()
        rows = plain_rows(
            xml, lo, hi, tbl.bounds, styles.date_ids, styles.timedelta_ids, self._date1904
        )
        if rows is None or [str(v).strip() for v in rows[0]] != tbl.columns:
            return None
        return rows

    def frame_reader(self, name: str) -> Callable[[], pd.DataFrame] | None:
        """A call that reads the table's frame from the saved file, for another process to make
        while this one reads other tables (the same frame :func:`read_frame` gives here). None
        when the table has unsaved writes, or on the openpyxl fallback."""
        if self._slow is not None or name not in self._tables or name in self._writes:
            return None
        part = self._tables[name].sheet_part
        known = {part: self._errors_seen[part]} if part in self._errors_seen else {}
        formulas = {part: self._formulas_seen[part]} if part in self._formulas_seen else {}
        deferred = {part} & self._deferred  # checked there, when that process reads it
        return functools.partial(
            frame_from_file, self.path, name, self.layout, known, formulas, deferred
        )

    def content_stamp(self, names: list[str]) -> str | None:
        """A fingerprint of what the saved file holds in these tables, read from the zip's
        directory alone (no decompressing): each table's name, its table part (range, columns)
        and its sheet part, each with its CRC-32 and size, the same for the shared strings, and
        the workbook's date system. An edit of a cell, a table's size or a shared string that
        reaches the file (here, by openpyxl, or by Excel, which writes every sheet anew) changes it.

        None when it cannot vouch for the file's contents: on the openpyxl fallback, when a
        table is missing, or when one of the sheets has writes not saved yet.
        """
        if self._slow is not None:
            return None
        pending = {self._tables[w].sheet_part for w in self._writes}
        if any(n not in self._tables or self._tables[n].sheet_part in pending for n in names):
            return None
        return self._stamp_of(self._zip.NameToInfo, names)

    def missing_values(self, names: list[str]) -> tuple[int, list[str]]:
        """Formula cells without a cached value on the sheets of these tables, as saved (a file
        last saved by openpyxl has none): how many, and the first few by sheet and cell."""
        if self._slow is not None:
            return self._slow.missing_values(names)
        parts = {t.sheet: t.sheet_part for n in names if (t := self._tables.get(n)) is not None}
        return package.missing_values(self._read, parts)

    def _values_grid(self, sheet: str) -> Rows | None:
        """The sheet's cached values from A1 (the last sheet read is kept: tables share sheets)."""
        if self._values_cache is not None and self._values_cache[0] == sheet:
            return self._values_cache[1]
        self._values_cache = None
        if self._sheets.get(sheet) in self._deferred:  # checked before calamine parses it
            with mapped_errors(self.path):
                self._read(self._sheets[sheet])
        try:
            if self._calamine is None:
                from python_calamine import CalamineWorkbook

                self._calamine = CalamineWorkbook.from_path(str(self.path))
            grid = self._calamine.get_sheet_by_name(sheet).to_python(
                skip_empty_area=False
            )  # from A1
        except Exception as exc:  # noqa: BLE001 - any calamine failure: the XML reader decides
            log.debug(
                "%s: calamine could not read sheet %r (%s); reading the XML", self.name, sheet, exc
            )
            return None
        self._values_cache = (sheet, grid)
        return grid

    def _has_typed_formulas(self, tbl: TablePart) -> bool:
        """Whether a value cell of the table (a column whose layout holds no formula: an
        Override, a comment, an input) holds a formula a planner typed. calamine would give its
        value and lose the formula (and give a formula without a value as empty); the XML
        reader gives both, so the formula is kept and one without a value is named."""
        if tbl.name not in self._typed_seen:
            self._scan(tbl)
        return self._typed_seen[tbl.name]

    def _needs_xml(self, tbl: TablePart, *, whole: bool = False) -> bool:
        """Whether the table must be read by the XML reader: its sheet holds an error cell
        (``t="e"``: #N/A, #DIV/0!, ...; calamine reads those as empty, the XML reader names one
        typed into an input cell as a bad value) or a typed formula
        (:meth:`_has_typed_formulas`), both found in one pass over the sheet when the guard's
        pass did not tell. ``whole``: the sheet is read whole next whatever the answer (a table
        without formula columns): that one inflate serves the pass too (History, Snapshots:
        240 MB of XML at 10,000 items, not inflated twice)."""
        if self._errors_seen.get(tbl.sheet_part) or self._typed_seen.get(tbl.name):
            return True
        if tbl.sheet_part not in self._errors_seen or tbl.name not in self._typed_seen:
            if whole:
                self._sheet_xml(tbl.sheet_part)  # kept: _scan reads it, the reader next
            self._scan(tbl)
        return self._errors_seen[tbl.sheet_part] or self._typed_seen[tbl.name]

    def _scan(self, tbl: TablePart) -> None:
        """One pass over the table's sheet for what is not known yet: whether it holds an error
        cell, and a formula in one of the table's value columns (within its rows)."""
        part = tbl.sheet_part
        cell = self._typed_pattern(tbl) if self._formulas_seen.get(part) is not False else None
        look_errors = part not in self._errors_seen
        look_typed = tbl.name not in self._typed_seen and cell is not None
        if tbl.name not in self._typed_seen and cell is None:
            self._typed_seen[tbl.name] = False
        errors = typed = False
        if look_errors or look_typed:
            _, min_row, _, max_row = tbl.bounds
            if part in self._deferred:
                self._sheet_xml(part)  # checked as read (no parser sees it before)
            if self._sheet_cache is not None and self._sheet_cache[0] == part:
                chunks: Iterable[bytes] = _pieces(self._sheet_cache[1])
            else:
                chunks = cell_chunks(
                    self._zip, part
                )  # streamed: a sheet may inflate to hundreds of MB
            for chunk in chunks:
                errors = errors or (look_errors and b't="e"' in chunk)
                typed = typed or (
                    look_typed
                    and cell is not None
                    and b"<f" in chunk  # a sheet of values (most chunks): no regex pass
                    and any(min_row < int(r) <= max_row for r in cell.findall(chunk))
                )
                if (errors or not look_errors) and (typed or not look_typed):
                    break
        if look_errors:
            self._errors_seen[part] = errors
        if look_typed:
            self._typed_seen[tbl.name] = typed

    def _typed_pattern(self, tbl: TablePart) -> re.Pattern[bytes] | None:
        """A formula cell in one of the table's value columns (None: the table has none)."""
        try:
            formula_headers = {
                c.header.casefold() for c in self.layout.table(tbl.name).columns if c.formula
            }
        except KeyError:
            return None
        min_col = tbl.bounds[0]
        cols = [
            min_col + j
            for j, h in enumerate(tbl.columns)
            if h.casefold() not in formula_headers and min_col + j in COLUMN_LETTERS
        ]
        if not cols:
            return None
        letters = b"|".join(COLUMN_LETTERS[c].encode() for c in cols)
        return re.compile(rb'<c r="(?:' + letters + rb')(\d+)"[^>]*(?<!/)>\s*<f\b')

    def _close_calamine(self) -> None:
        self._values_cache = None
        if self._calamine is not None:
            self._calamine.close()
            self._calamine = None


def _pieces(xml: bytes, size: int = 1 << 24) -> Iterable[bytes]:
    """A sheet's XML in pieces of about ``size`` bytes, each ending before a cell's start (as
    :func:`~.cells.cell_chunks` gives them): the regex of a typed formula runs only on the pieces
    that hold a formula, not on hundreds of MB for one formula somewhere."""
    start = 0
    while start < len(xml):
        cut = xml.rfind(b"<c ", start + 1, start + size) if start + size < len(xml) else -1
        end = cut if cut > start else (len(xml) if start + size >= len(xml) else start + size)
        if cut <= start and end < len(xml):  # no cell start in this piece: to the next one
            nxt = xml.find(b"<c ", end)
            end = nxt if nxt > 0 else len(xml)
        yield xml[start:end]
        start = end


def frame_from_file(
    path: Path,
    name: str,
    layout: LayoutSpec,
    errors_seen: dict[str, bool],
    formulas_seen: dict[str, bool] | None = None,
    deferred: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """:meth:`ZipIO.frame_reader`'s call: the table's frame, read by a ZipIO of its own (told
    what the guard found of error cells and formulas in its sheet)."""
    from sop_excel.workbook.tables import read_frame

    book = ZipIO(path, layout, checked=True)
    book._errors_seen.update(errors_seen)
    book._formulas_seen.update(formulas_seen or {})
    book._deferred.update(deferred)
    try:
        with gc_paused():  # the frame's cells too: this process does nothing else
            return read_frame(book, name)
    finally:
        book.close()


def open_workbook(path: str | Path, layout: LayoutSpec | None = None) -> ZipIO | OpenpyxlIO:
    """The headless side for a workbook file: :class:`ZipIO`, or :class:`OpenpyxlIO` when the
    environment variable ``SOP_EXCEL_IO`` is ``openpyxl`` (to compare, or to work around a bug)."""
    if os.environ.get("SOP_EXCEL_IO", "").strip().lower() == "openpyxl":
        return OpenpyxlIO(path, layout)
    return ZipIO(path, layout)
