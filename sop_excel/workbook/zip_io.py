"""The fast headless side of the workbook interface: the xlsx package edited directly.

An xlsx file is a zip of XML parts. A refresh reads a few tables and rewrites a few others, so
this side never loads the whole workbook the way openpyxl does:

- **read**: the table's definition (``xl/tables/tableN.xml``) gives its sheet and range; only
  that sheet's XML is decompressed and only the table's rows are parsed, with the same rules
  as openpyxl (shared strings, date number formats, shared formulas), so
  :meth:`ZipIO.read_table` returns exactly what :class:`OpenpyxlIO.read_table` returns.
- **write**: tables are kept in memory until :meth:`ZipIO.save`. Then only the sheets whose
  tables changed are regenerated: the old sheet XML is streamed, the rows of each written table
  are replaced (each column keeps the cell style of the old first body row, or gets the
  layout's number format), strings go in as inline strings (always text, never a formula),
  :class:`Formula` cells as ``<f>`` with their cached ``<v>``. The table's ``ref`` and
  autoFilter, the sheet ``<dimension>``, conditional formats, data validations, chart series
  and defined names that covered the table body follow the new size, as on the openpyxl side.
  Where a table's old rows hold nothing else (no note typed beside it, nothing unusual), they
  are not parsed: the new rows are made in bulk, a column at a time, byte for byte what the
  row-by-row rewrite writes (:data:`WHOLESALE`; a 310,000-row table in well under a second).
  Every other part of the package (VBA, ribbon, charts, other sheets) is copied byte for byte,
  without even recompressing it.
- Anything this side does not understand (a table with a totals row, array formulas in a
  table, a sheet written with XML prefixes, ...) makes it hand the whole job to
  :class:`OpenpyxlIO` (the writes made so far are replayed), with the reason in
  :attr:`ZipIO.fallback_reason` and a logged warning. It never writes what it cannot parse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import logging
import math
import os
import posixpath
import re
import signal
import struct
import tempfile
import time
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.sax.saxutils import escape as _xml_escape

from openpyxl.formula.translate import Translator
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
    to_excel,
)
from openpyxl.xml.functions import fromstring

from sop_excel.errors import LayoutError, WorkbookCorruptError, WorkbookError, WorkbookLockedError
from sop_excel.files import check_regular
from sop_excel.models import LayoutSpec
from sop_excel.workbook import package
from sop_excel.workbook.build import NUMBER_FORMATS
from sop_excel.workbook.convert import FrameBody, FrameRows
from sop_excel.workbook.guard import check_xlsx
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.layout import load_layout, missing_table
from sop_excel.workbook.limits import check_table_write
from sop_excel.workbook.openpyxl_io import OpenpyxlIO, _mapped_errors
from sop_excel.workbook.safe_save import (
    atomic_write,
    can_fork_helpers,
    excel_owner_file,
    in_forked_child,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ZipIO", "ZipUnsupported", "open_workbook"]

log = logging.getLogger(__name__)

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET = _REL_NS + "/worksheet"
_TABLE = _REL_NS + "/table"


class ZipUnsupported(Exception):  # noqa: N818 - an internal signal, not a user-facing error
    """Something this side does not handle: the openpyxl side takes over."""


class _BadCell(Exception):  # noqa: N818 - becomes a WorkbookCorruptError naming the sheet
    """A cell whose XML cannot mean anything (a shared string that does not exist)."""


# -- small XML helpers ---------------------------------------------------------------------
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
# Characters XML 1.0 forbids (openpyxl refuses them; Excel cannot store them).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _attrs(raw: bytes) -> dict[str, str]:
    return {k.decode(): _unescape(v.decode()) for k, v in _ATTR.findall(raw)}


def _unescape_one(m: re.Match[str]) -> str:
    e = m.group(1)
    if e[0] == "#":
        n = int(e[2:], 16) if e[1] in "xX" else int(e[1:])
        if 0xD800 <= n <= 0xDFFF or n > 0x10FFFF or (n < 0x20 and n not in (9, 10, 13)):
            raise ValueError(f"a character reference &{e}; to a character XML does not allow")
        return chr(n)
    return _ENTITIES[e]


def _unescape(text: str) -> str:
    return _ENTITY.sub(_unescape_one, text) if "&" in text else text


def _esc(text: str) -> str:
    # quotes: the text may go into an attribute (a table column named after a scenario);
    # CR as a reference, or XML parsers turn it into LF (issue 7)
    if _PLAIN.fullmatch(text):  # most cells (item codes, names): nothing to escape or drop
        return text
    return _xml_escape(_ILLEGAL.sub("", text), {'"': "&quot;", "\r": "&#13;"})


_PLAIN = re.compile(r"[ !#-%'-;=?-~]*")  # printable ASCII without " & < >


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


_COLS = {get_column_letter(i): i for i in range(1, 16_385)}  # every column Excel has (A..XFD)
_LETTERS = {i: c for c, i in _COLS.items()}


def _resolve(base: str, target: str) -> str:
    """A relationship target, relative to the part ``base``, as a zip member name."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


# -- the package's structure ----------------------------------------------------------------
@dataclass
class _Table:
    name: str
    part: str            # xl/tables/tableN.xml
    sheet: str           # sheet title
    sheet_part: str      # xl/worksheets/sheetN.xml
    ref: str
    columns: list[str]
    xml: bytes

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return range_boundaries(self.ref)  # min_col, min_row, max_col, max_row


@dataclass
class _Edit:
    table: _Table
    header: list[str]
    body: Rows
    old: tuple[int, int, int, int]
    header_changed: bool

    @property
    def new_last_row(self) -> int:
        return self.old[1] + len(self.body)

    @property
    def new_last_col(self) -> int:
        return self.old[0] + len(self.header) - 1


@dataclass
class _Styles:
    xml: bytes
    date_ids: set[int]
    timedelta_ids: set[int]
    fmt_of_xf: list[str]                     # number format code per cellXfs index
    added: list[tuple[str, int]] = field(default_factory=list)  # (format code, xf index) to add


# -- cells: read -----------------------------------------------------------------------------
_ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
# A cell with its attributes in the usual order (r, s, t): the fast path. Anything else in
# the attribute list lands in group 4 and is parsed the slow way.
_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="(\w+)")?([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_ANY_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_V = re.compile(rb"<v>(.*?)</v>|<v\s*/>", re.S)
_F = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_T = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)


class _Reader:
    """Turns cell XML into the values openpyxl gives for the same cell."""

    def __init__(self, strings: list[str], styles: _Styles, epoch: dt.datetime) -> None:
        self.strings, self.epoch = strings, epoch
        self.date_ids, self.td_ids = styles.date_ids, styles.timedelta_ids
        self.shared: dict[str, Translator] = {}

    def value(self, letters: bytes, row: bytes, s: bytes | None, t: bytes | None, inner: bytes | None) -> CellValue:
        if not inner:
            return None
        if b"<f" in inner:
            return self.formula(letters, row, s, t, inner)
        tt = t.decode() if t else "n"
        if tt == "inlineStr":
            m = inner.find(b"<is")
            if m < 0:
                return None
            body = _RPH.sub(b"", inner)
            return _unescape("".join(x.decode() for x in _T.findall(body)))
        mv = _V.search(inner)
        raw = mv.group(1) if mv else None
        if not raw:
            return None
        if tt == "n":
            num = float(raw) if (b"." in raw or b"E" in raw or b"e" in raw) else int(raw)
            if s and int(s) in self.date_ids:
                sid = int(s)
                try:
                    return from_excel(num, self.epoch, timedelta=sid in self.td_ids)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return num
        if tt == "s":
            try:
                return self.strings[int(raw)]
            except (IndexError, ValueError):
                raise _BadCell(f"cell {(letters + row).decode()} refers to shared string {raw.decode(errors='replace')!r}, "
                               f"but the file has {len(self.strings):,} shared strings") from None
        if tt == "b":
            return bool(int(raw))
        if tt == "d":
            return from_ISO8601(raw.decode())
        return _unescape(raw.decode())  # "str", "e"

    def formula(self, letters: bytes, row: bytes, s: bytes | None, t: bytes | None, inner: bytes) -> Formula:
        """The cell's formula (shared ones translated to this cell) and its cached value, read
        as the same cell without its formula would be (``None`` when the file holds none)."""
        coord = (letters + row).decode()
        m = _F.search(inner)
        if m is None:
            raise ZipUnsupported(f"cell {coord}: a formula element this side does not read")
        cached = self.value(letters, row, s, t, inner[:m.start()] + inner[m.end():])
        fa = _attrs(m.group(1)) if m.group(1) else {}
        text = "=" + _unescape(m.group(2).decode()) if m.group(2) else "="
        kind = fa.get("t")
        if kind == "shared":
            si = fa.get("si", "")
            if si in self.shared:
                text = self.shared[si].translate_formula(coord)
            elif text != "=":
                self.shared[si] = Translator(text, coord)
            else:
                raise ZipUnsupported(f"cell {coord}: a shared formula whose first cell is outside the table")
        elif kind in ("array", "dataTable"):
            raise ZipUnsupported(f"cell {coord}: {kind} formulas are left to openpyxl")
        return Formula(text, cached)


# -- cells: write ----------------------------------------------------------------------------
_DAY0 = dt.date(1899, 12, 30).toordinal()
_SAFE_FROM = dt.date(1900, 3, 1)


def _serial(v: dt.date) -> float | int:
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None or v.date() < _SAFE_FROM:
            return to_excel(v)
        secs = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        return v.toordinal() - _DAY0 + secs / 86400 if secs else v.toordinal() - _DAY0
    if v < _SAFE_FROM:
        return to_excel(v)
    return v.toordinal() - _DAY0


def _num(v: float) -> str | None:
    return repr(v) if math.isfinite(v) else None


def _cell_xml(ref: str, s: str, v: CellValue, ds: Callable[[dt.date], str] | None = None) -> str:
    """One cell. The one choke point for values: only a Formula becomes a formula."""
    tv = type(v)
    if tv is float:
        n = _num(v)  # type: ignore[arg-type]
        return f'<c r="{ref}"{s}><v>{n}</v></c>' if n is not None else (f'<c r="{ref}"{s}/>' if s else "")
    if tv is str:
        if not v:  # as openpyxl: an empty string is an empty cell
            return f'<c r="{ref}"{s}/>' if s else ""
        text = _esc(v)  # type: ignore[arg-type]
        sp = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{sp}>{text}</t></is></c>'
    if v is None:
        return f'<c r="{ref}"{s}/>' if s else ""
    if tv is bool:
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'  # type: ignore[arg-type]
    if tv is int:
        return f'<c r="{ref}"{s}><v>{v}</v></c>'
    if isinstance(v, Formula):
        return _formula_xml(ref, s, _esc(v.text[1:]), v.value)
    if isinstance(v, dt.date):  # a date in a column without a date format gets one (as openpyxl does)
        return f'<c r="{ref}"{ds(v) if ds else s}><v>{_serial(v)!r}</v></c>'
    if isinstance(v, int | float):  # numpy scalars and other numbers
        return _cell_xml(ref, s, float(v))
    return _cell_xml(ref, s, str(v))


def _formula_xml(ref: str, s: str, f: str, c: object) -> str:
    """A formula cell: ``f`` the formula's text without its '=', escaped; ``c`` its cached value."""
    if c is None or (isinstance(c, float) and not math.isfinite(c)):
        return f'<c r="{ref}"{s}><f>{f}</f></c>'
    if isinstance(c, bool):
        return f'<c r="{ref}"{s} t="b"><f>{f}</f><v>{int(c)}</v></c>'
    if isinstance(c, int | float):
        return f'<c r="{ref}"{s}><f>{f}</f><v>{float(c)!r}</v></c>'
    if isinstance(c, dt.date):  # a planner's date formula, kept: its serial number
        return f'<c r="{ref}"{s}><f>{f}</f><v>{float(_serial(c))!r}</v></c>'
    return f'<c r="{ref}"{s} t="str"><f>{f}</f><v>{_esc(str(c))}</v></c>'


# -- the side --------------------------------------------------------------------------------
class ZipIO:
    """A workbook file opened for reading tables and rewriting them, part by part.

    Args:
        path: an .xlsx/.xlsm file built by sop-excel (or with the same tables).
        layout: the layout (defaults to the bundled template's).
    """

    writes_sheets_in_bulk = True  # a sheet whose tables are all rewritten is written fastest

    def __init__(self, path: str | Path, layout: LayoutSpec | None = None, *, checked: bool = False) -> None:
        self.path = Path(path)
        self.layout = layout or load_layout()
        self.fallback_reason: str | None = None
        self._slow: OpenpyxlIO | None = None
        self._calamine: Any = None  # python-calamine's reader of the file, opened on first use
        self._values_cache: tuple[str, list[list[object]]] | None = None
        if excel_owner_file(self.path).exists():
            raise WorkbookLockedError(
                f"{self.path.name} is open in Excel (found {excel_owner_file(self.path).name}). "
                "Close it in Excel, then run the command again.")
        self._open(checked=checked)

    def _open(self, *, checked: bool = False) -> None:
        """Open the file; ``checked``: the guard has passed it in this command already (the
        file this side has just written from parts of a checked file, or the file another
        process of this command opened)."""
        self._close_calamine()  # a reader of the file before this save
        self._writes: dict[str, Rows] = {}
        self._order: list[str] = []
        self._sheet_cache: tuple[str, bytes] | None = None
        self._errors_seen: dict[str, bool] = {}
        self._formulas_seen: dict[str, bool] = {}  # part -> whether it holds any formula
        self._typed_seen: dict[str, bool] = {}  # table -> whether a value cell holds a formula
        self._strings: list[str] | None = None
        self._styles: _Styles | None = None
        with _mapped_errors(self.path):
            check_regular(self.path, "Workbook", WorkbookError)  # a pipe's open would wait forever
            if not checked:  # zip, sizes, content types, no DTDs: before parsing (and which sheets hold error cells)
                check_xlsx(self.path, deep=False, seen=self._errors_seen, formulas=self._formulas_seen)
            self._zip = zipfile.ZipFile(self.path)
            self._members = {i.filename: i for i in self._zip.infolist()}
            try:
                self._load_structure()
            except ZipUnsupported as exc:
                self._fall_back(str(exc))

    # -- structure --------------------------------------------------------------------------
    def _read(self, part: str) -> bytes:
        if part not in self._members:
            raise ZipUnsupported(f"the package has no part {part}")
        return self._zip.read(part)

    def _workbook_part(self) -> str:
        rels = self._read("_rels/.rels")
        for m in re.finditer(rb"<Relationship\b([^>]*)/?>", rels):
            a = _attrs(m.group(1))
            if a.get("Type", "").endswith("/officeDocument"):
                return _resolve("", a["Target"])
        raise ZipUnsupported("the package names no workbook part")

    def _load_structure(self) -> None:
        self._wb_part = self._workbook_part()
        wb_xml = self._read(self._wb_part)
        if b"<sheets>" not in wb_xml and b"<sheets " not in wb_xml:
            raise ZipUnsupported("workbook.xml is written with XML prefixes")
        self._wb_xml = wb_xml
        self._date1904 = bool(re.search(rb'<workbookPr\b[^>]*\bdate1904="(1|true)"', wb_xml))
        rels = self._rel_targets(self._wb_part)
        self._sheets: dict[str, str] = {}   # title -> part
        for m in re.finditer(rb"<sheet\b([^>]*)/?>", wb_xml):
            a = _attrs(m.group(1))
            rid = a.get("r:id") or next((v for k, v in a.items() if k.endswith(":id")), None)
            typ, target = rels.get(rid or "", ("", ""))
            if typ == _WORKSHEET:
                self._sheets[a["name"]] = target
        self._tables: dict[str, _Table] = {}
        for title, part in self._sheets.items():
            for typ, target in self._rel_targets(part).values():
                if typ != _TABLE:
                    continue
                xml = self._read(target)
                head = re.search(rb"<table\b([^>]*)>", xml)
                if head is None:
                    raise ZipUnsupported(f"{target} is written with XML prefixes")
                a = _attrs(head.group(1))
                cols = [_attrs(c)["name"] for c in re.findall(rb"<tableColumn\b([^>]*?)/?>", xml)]
                self._tables[a["name"]] = _Table(a["name"], target, title, part, a["ref"], cols, xml)

    def _rel_targets(self, part: str) -> dict[str, tuple[str, str]]:
        rels_part = _rels_of(part)
        if rels_part not in self._members:
            return {}
        out = {}
        for m in re.finditer(rb"<Relationship\b([^>]*?)/?>", self._zip.read(rels_part)):
            a = _attrs(m.group(1))
            if a.get("TargetMode") == "External":
                continue
            out[a["Id"]] = (a.get("Type", ""), _resolve(part, a.get("Target", "")))
        return out

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            part = next((p for p in self._members if p.endswith("sharedStrings.xml")), None)
            self._strings = read_string_table(self._zip.open(part)) if part else []
        return self._strings

    def _stylesheet(self) -> _Styles:
        if self._styles is None:
            part = posixpath.join(posixpath.dirname(self._wb_part), "styles.xml")
            xml = self._read(part)
            sheet = Stylesheet.from_tree(fromstring(xml))
            custom = {f.numFmtId: f.formatCode for f in sheet.numFmts.numFmt}
            fmts = [custom.get(xf.numFmtId) or BUILTIN_FORMATS.get(xf.numFmtId, "General")
                    for xf in sheet.cellXfs.xf]
            self._styles = _Styles(xml, set(sheet.date_formats), set(sheet.timedelta_formats), fmts)
        return self._styles

    def _sheet_xml(self, part: str) -> bytes:
        if self._sheet_cache is None or self._sheet_cache[0] != part:
            self._sheet_cache = None  # let the previous one go before decompressing the next
            self._sheet_cache = (part, self._read(part))
        return self._sheet_cache[1]

    # -- falling back -----------------------------------------------------------------------
    def _fall_back(self, reason: str) -> None:
        self.fallback_reason = reason
        self._zip.close()
        log.warning("%s: %s; using openpyxl for this workbook (slower, same result).", self.path.name, reason)
        self._slow = OpenpyxlIO(self.path, self.layout)
        for name in self._order:
            self._slow.write_table(name, self._writes[name])
        self._writes.clear()
        self._order.clear()
        self._sheet_cache = None

    # -- WorkbookIO -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name

    def table_names(self) -> list[str]:
        if self._slow is not None:
            return self._slow.table_names()
        return list(self._tables)

    def _find(self, name: str) -> _Table:
        try:
            return self._tables[name]
        except KeyError:
            raise missing_table(self.name, self.layout, name) from None

    def read_table(self, name: str) -> Rows:
        if self._slow is not None:
            return self._slow.read_table(name)
        tbl = self._find(name)
        if name in self._writes:
            return _as_written(self._writes[name])
        try:
            with _mapped_errors(self.path):
                return self._read_range(tbl)
        except _BadCell as exc:
            raise WorkbookCorruptError(
                f"{self.name} is damaged: sheet '{tbl.sheet}', {exc}. Open it in Excel and save it "
                "again, or restore it from a backup.") from None
        except ZipUnsupported as exc:
            self._fall_back(f"table {name}: {exc}")
            return self.read_table(name)

    def write_table(self, name: str, rows: Rows) -> None:
        if self._slow is not None:
            self._slow.write_table(name, rows)
            return
        tbl = self._find(name)
        c1, r1, _, _ = tbl.bounds
        check_table_write(self.name, tbl.sheet, name, c1, r1, rows)
        # a frame's rows stay a frame until written (made a column at a time then); others are copied
        self._writes[name] = rows if isinstance(rows, FrameRows) else [list(r) for r in rows]
        if name in self._order:
            self._order.remove(name)
        self._order.append(name)

    def save(self) -> None:
        if self._slow is not None:
            self._slow.save()
            return
        try:
            with _mapped_errors(self.path):
                plan = self._plan()
        except ZipUnsupported as exc:
            self._fall_back(str(exc))
            self._slow.save()  # type: ignore[union-attr]
            return
        self._sheet_cache = None
        try:
            atomic_write(self.path, lambda tmp: self._write_package(tmp, plan))
        except ZipUnsupported as exc:  # found while writing: the file is untouched
            self._fall_back(str(exc))
            self._slow.save()  # type: ignore[union-attr]
            return
        except BaseException:
            if self._zip.fp is None:  # closed before the rename: open the unchanged file again
                self._zip = zipfile.ZipFile(self.path)
            raise
        self._open(checked=True)  # see the file as saved

    def close(self) -> None:
        self._close_calamine()
        self._zip.close()

    def read_values(self, name: str) -> Rows:
        """A table's rows as values for :func:`~sop_excel.workbook.convert.frame_from_rows`:
        each formula cell its cached value, an empty cell ``""`` or ``None``, a date cell a
        ``date`` or ``datetime``.

        Read by python-calamine (Rust), several times faster than parsing the XML here
        (``bench/scale_read.py``); tables written since the last save, and anything calamine
        cannot read, come from :meth:`read_table` (same frames: ``tests/.../test_zip_io.py``).
        """
        if self._slow is not None or name in self._writes:
            return self.read_table(name)
        tbl = self._find(name)
        if self._needs_xml(tbl):
            return self.read_table(name)  # calamine reads errors as empty, and formulas as values
        grid = self._values_grid(tbl.sheet)
        min_col, min_row, max_col, max_row = tbl.bounds
        width = max_col - min_col + 1
        if grid is None or len(grid) < min_row or [
                str(v).strip() for v in grid[min_row - 1][min_col - 1:max_col]] != tbl.columns:
            return self.read_table(name)
        rows = grid[min_row - 1:max_row]
        if min_col != 1 or set(map(len, rows)) != {width}:  # other cells beside: the table's columns
            rows = [r[min_col - 1:max_col] for r in rows]
            rows = [r if len(r) == width else r + [None] * (width - len(r)) for r in rows]
        rows += [[None] * width for _ in range(max_row - min_row + 1 - len(rows))]  # calamine ends at the last value
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
        return functools.partial(_frame_from_file, self.path, name, self.layout, known, formulas)

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
        parts = []
        pending = {self._tables[w].sheet_part for w in self._writes}
        for name in names:
            tbl = self._tables.get(name)
            if tbl is None or tbl.sheet_part in pending:
                return None
            info, table = self._zip.getinfo(tbl.sheet_part), self._zip.getinfo(tbl.part)
            parts.append(f"{name}={tbl.part}|{table.CRC:08x}|{table.file_size}|"  # its range and columns
                         f"{tbl.sheet_part}|{info.CRC:08x}|{info.file_size}")
        shared = next((p for p in self._members if p.endswith("sharedStrings.xml")), None)
        if shared:
            info = self._zip.getinfo(shared)
            parts.append(f"strings={info.CRC:08x}|{info.file_size}")
        parts.append(f"date1904={int(self._date1904)}")  # how every date cell reads
        return ";".join(parts)

    def missing_values(self, names: list[str]) -> tuple[int, list[str]]:
        """Formula cells without a cached value on the sheets of these tables, as saved (a file
        last saved by openpyxl has none): how many, and the first few by sheet and cell."""
        if self._slow is not None:
            return self._slow.missing_values(names)
        parts = {t.sheet: t.sheet_part for n in names if (t := self._tables.get(n)) is not None}
        return package.missing_values(self._read, parts)

    def _values_grid(self, sheet: str) -> list[list[object]] | None:
        """The sheet's cached values from A1 (the last sheet read is kept: tables share sheets)."""
        if self._values_cache is not None and self._values_cache[0] == sheet:
            return self._values_cache[1]
        self._values_cache = None
        try:
            if self._calamine is None:
                from python_calamine import CalamineWorkbook

                self._calamine = CalamineWorkbook.from_path(str(self.path))
            grid = self._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)  # from A1
        except Exception as exc:  # noqa: BLE001 - any calamine failure: the XML reader decides
            log.debug("%s: calamine could not read sheet %r (%s); reading the XML", self.name, sheet, exc)
            return None
        self._values_cache = (sheet, grid)
        return grid

    def _has_typed_formulas(self, tbl: _Table) -> bool:
        """Whether a value cell of the table (a column whose layout holds no formula: an
        Override, a comment, an input) holds a formula a planner typed. calamine would give its
        value and lose the formula (and give a formula without a value as empty); the XML
        reader gives both, so the formula is kept and one without a value is named."""
        if tbl.name not in self._typed_seen:
            self._scan(tbl)
        return self._typed_seen[tbl.name]

    def _needs_xml(self, tbl: _Table) -> bool:
        """Whether the table must be read by the XML reader: its sheet holds an error cell
        (``t="e"``: #N/A, #DIV/0!, ...; calamine reads those as empty, the XML reader names one
        typed into an input cell as a bad value) or a typed formula
        (:meth:`_has_typed_formulas`), both found in one pass over the sheet when the guard's
        pass did not tell."""
        if self._errors_seen.get(tbl.sheet_part) or self._typed_seen.get(tbl.name):
            return True
        if tbl.sheet_part not in self._errors_seen or tbl.name not in self._typed_seen:
            self._scan(tbl)
        return self._errors_seen[tbl.sheet_part] or self._typed_seen[tbl.name]

    def _scan(self, tbl: _Table) -> None:
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
            if self._sheet_cache is not None and self._sheet_cache[0] == part:
                chunks: Iterable[bytes] = [self._sheet_cache[1]]
            else:
                chunks = _cell_chunks(self._zip, part)  # streamed: a sheet may inflate to hundreds of MB
            for chunk in chunks:
                errors = errors or (look_errors and b't="e"' in chunk)
                typed = typed or (look_typed and cell is not None
                                  and any(min_row < int(r) <= max_row for r in cell.findall(chunk)))
                if (errors or not look_errors) and (typed or not look_typed):
                    break
        if look_errors:
            self._errors_seen[part] = errors
        if look_typed:
            self._typed_seen[tbl.name] = typed

    def _typed_pattern(self, tbl: _Table) -> re.Pattern[bytes] | None:
        """A formula cell in one of the table's value columns (None: the table has none)."""
        try:
            formula_headers = {c.header.casefold() for c in self.layout.table(tbl.name).columns if c.formula}
        except KeyError:
            return None
        min_col = tbl.bounds[0]
        cols = [min_col + j for j, h in enumerate(tbl.columns)
                if h.casefold() not in formula_headers and min_col + j in _LETTERS]
        if not cols:
            return None
        letters = b"|".join(_LETTERS[c].encode() for c in cols)
        return re.compile(rb'<c r="(?:' + letters + rb')(\d+)"[^>]*(?<!/)>\s*<f\b')

    def _close_calamine(self) -> None:
        self._values_cache = None
        if self._calamine is not None:
            self._calamine.close()
            self._calamine = None

    # -- reading ----------------------------------------------------------------------------
    def _reader(self) -> _Reader:
        epoch = CALENDAR_MAC_1904 if self._date1904 else CALENDAR_WINDOWS_1900
        return _Reader(self._shared_strings(), self._stylesheet(), epoch)

    def _read_range(self, tbl: _Table) -> Rows:
        min_col, min_row, max_col, max_row = tbl.bounds
        xml = self._sheet_xml(tbl.sheet_part)
        lo, hi = _row_span(xml, min_row, max_row)
        grid: Rows = [[None] * (max_col - min_col + 1) for _ in range(max_row - min_row + 1)]
        reader = self._reader()
        cols = _COLS
        chunk = xml[lo:hi]
        n_cells = chunk.count(b"<c ") + chunk.count(b"<c>")
        seen = 0
        for letters, row, s, t, rest, inner in _CELL.findall(chunk):
            seen += 1
            c = cols[letters.decode()]
            if c < min_col or c > max_col:
                continue
            r = int(row)
            if rest.strip():
                extra = _attrs(rest)
                if "s" in extra or "t" in extra:
                    s = extra.get("s", "").encode() or s
                    t = extra.get("t", "").encode() or t
            grid[r - min_row][c - min_col] = reader.value(letters, row, s, t, inner)
        if seen != n_cells:
            raise ZipUnsupported(f"sheet '{tbl.sheet}' has cells written in a form this side does not read")
        return grid

    # -- writing ----------------------------------------------------------------------------
    def _plan(self) -> dict[str, list[_Edit]]:
        """Check every pending write and group them by sheet part."""
        by_sheet: dict[str, list[_Edit]] = {}
        for name in self._order:
            tbl = self._tables[name]
            head = re.search(rb"<table\b[^>]*>", tbl.xml).group(0)  # type: ignore[union-attr]
            a = _attrs(head)
            if a.get("headerRowCount", "1") != "1" or a.get("totalsRowCount", "0") not in ("0", ""):
                raise ZipUnsupported(f"table {name} has a totals row or no header row")
            rows = self._writes[name]
            header = [str(h) for h in rows[0]]
            body = (rows.body() if isinstance(rows, FrameRows) else rows[1:]) or [[None] * len(header)]
            by_sheet.setdefault(tbl.sheet_part, []).append(
                _Edit(tbl, header, body, tbl.bounds, header != tbl.columns))
        for part, edits in by_sheet.items():
            for e in edits:
                c1, r1, c2, r2 = e.old
                for o in edits:
                    if o is e:
                        continue
                    d1, s1, d2, s2 = o.old
                    overlap_cols = max(c1, d1) <= max(c2, e.new_last_col, d2, o.new_last_col) and \
                        min(c2, e.new_last_col) >= d1 and min(d2, o.new_last_col) >= c1
                    if overlap_cols:
                        raise ZipUnsupported(f"tables {e.table.name} and {o.table.name} share columns on one sheet")
            for tbl in self._tables.values():
                if tbl.sheet_part != part or tbl.name in self._writes:
                    continue
                d1, s1, d2, s2 = tbl.bounds
                for e in edits:
                    c1, r1, _, _ = e.old
                    c2 = max(e.old[2], e.new_last_col)
                    last = max(e.old[3], e.new_last_row)
                    if d1 <= c2 and d2 >= c1 and s1 <= last and s2 >= r1:
                        raise LayoutError(
                            f"{self.name}: table {e.table.name} on sheet '{e.table.sheet}' would grow "
                            f"into table {tbl.name} ({tbl.ref}); nothing was written. Move {tbl.name} "
                            f"away from {e.table.name} (to the right or further down), then run again.")
        return by_sheet

    def _date_styles(self, col_styles: list[str]) -> list[Callable[[dt.date], str] | None]:
        """Per column: None when its style shows dates, else how to pick a date style for a date."""
        styles = self._stylesheet()

        def pick(v: dt.date) -> str:
            code = "yyyy-mm-dd h:mm:ss" if isinstance(v, dt.datetime) else "yyyy-mm-dd"
            return f' s="{self._style_for(code)}"'

        out: list[Callable[[dt.date], str] | None] = []
        for s in col_styles:
            sid = int(s[4:-1]) if s else 0
            out.append(None if sid in styles.date_ids else pick)
        return out

    def _column_styles(self, xml: bytes, e: _Edit, kinds: list[str]) -> list[str]:
        """Style attribute per new column: the old first body row's, else the layout kind's."""
        min_col, min_row, max_col, _ = e.old
        styles = self._stylesheet()
        lo, hi = _row_span(xml, min_row + 1, min_row + 1)
        old: dict[str, str] = {}
        for letters, _, s, _, rest, _ in _CELL.findall(xml[lo:hi]):
            c = _COLS[letters.decode()]
            if min_col <= c <= max_col:
                sid = (s.decode() if s else "") or _attrs(rest).get("s", "")
                old[e.table.columns[c - min_col] if c - min_col < len(e.table.columns) else ""] = sid
        out = []
        for h, kind in zip(e.header, kinds, strict=True):
            want = NUMBER_FORMATS.get(kind)
            sid = old.get(h)
            if sid is not None and (want is None or styles.fmt_of_xf[int(sid or 0)] == want):
                out.append(f' s="{sid}"' if sid not in ("", "0") else "")
                continue
            if want is None:
                out.append("")
                continue
            out.append(f' s="{self._style_for(want)}"')
        return out

    def _style_for(self, code: str) -> int:
        styles = self._stylesheet()
        for i, f in enumerate(styles.fmt_of_xf):
            if f == code:
                return i
        i = len(styles.fmt_of_xf)
        styles.added.append((code, i))
        styles.fmt_of_xf.append(code)
        if is_date_format(code):
            styles.date_ids.add(i)
        return i

    def _widths(self, edits: list[_Edit]) -> dict[int, float]:
        """Column -> the width its header (with the filter button) and its numbers need; a new
        column at least the layout's width. Only ever widens (package.with_widths)."""
        from sop_excel.workbook.build import _column_layouts, fitted_widths

        out: dict[int, float] = {}
        for e in edits:
            try:
                layout = self.layout.table(e.table.name)
            except KeyError:
                continue
            cols = _column_layouts(layout, e.header)
            rows = e.body.rows if isinstance(e.body, FrameBody) else [e.header, *e.body]
            fitted = fitted_widths([c.model_copy(update={"width": 0}) for c in cols], rows)
            for j, (col, need) in enumerate(zip(cols, fitted, strict=True)):
                c = e.old[0] + j
                out[c] = max(out.get(c, 0.0), need if c <= e.old[2] else max(need, col.width))
        return out

    def _kinds(self, e: _Edit) -> list[str]:
        try:
            layout = self.layout.table(e.table.name)
        except KeyError:
            return ["text"] * len(e.header)
        by_header = {c.header: c.kind for c in layout.columns}
        default = "qty" if layout.dynamic_columns else "text"
        return [by_header.get(h, default) for h in e.header]

    CENSUS_MAX_BYTES = 8 * 1024 * 1024
    """Sheets not rewritten are looked at for formulas up to this size (uncompressed); a bigger
    one leaves the decision to recalculate at open as the file had it."""

    def _calc_on_load(self, plan: dict[str, list[_Edit]], old_xml: dict[str, bytes]) -> bool:
        """Whether Excel must recalculate every formula when it opens the saved file: only when
        a cached value may be missing or stale after this save. That is: a formula this save
        writes without a value; a formula cell left without one (openpyxl's ``<v></v>``); or a
        formula sop-excel did not write (a planner's own, anywhere: what it refers to may have
        changed). sop-excel's own formula columns carry the values Python computed for them.
        """
        if any(_missing_values(e) for edits in plan.values() for e in edits):
            return True
        by_part: dict[str, list[_Table]] = {}
        for tbl in self._tables.values():
            by_part.setdefault(tbl.sheet_part, []).append(tbl)
        was = bool(re.search(rb'<calcPr\b[^>]*\bfullCalcOnLoad="(1|true)"', self._wb_xml))
        for part in self._sheets.values():
            if part in old_xml:
                xml = old_xml[part]
            elif part in self._members and self._members[part].file_size <= self.CENSUS_MAX_BYTES:
                xml = self._read(part)
            else:
                if was:  # too big to look at: as the file had it
                    return True
                continue
            n = xml.count(b"<f>") + xml.count(b"<f ") + xml.count(b"<f/>")
            if not n:
                continue
            if n > sum(self._own_formulas(t) for t in by_part.get(part, [])):
                return True  # a formula sop-excel did not write
            if any(x in xml for x in (b"</f></c>", b"<v/>", b"<v></v>", b"/></c>")):
                cleared = [(e.old[0], e.old[1] + 1, max(e.old[2], e.new_last_col), max(e.old[3], e.new_last_row))
                           for e in plan.get(part, [])]
                for ref in package.scan_formulas(xml).missing:
                    c1, r1, _, _ = range_boundaries(ref)
                    if not any(a <= c1 <= c and b <= r1 <= d for a, b, c, d in cleared):
                        return True  # a formula without a value that this save does not rewrite
        return False

    def _own_formulas(self, tbl: _Table) -> int:
        """Formula cells sop-excel writes in this table as it is in the file (formula columns x rows)."""
        try:
            layout = self.layout.table(tbl.name)
        except KeyError:
            return 0
        fields = {c.header for c in layout.columns if c.formula}
        c1, r1, c2, r2 = tbl.bounds
        return sum(1 for h in tbl.columns if h in fields) * max(r2 - r1, 0)

    def _drawings_beside_tables(self, plan: dict[str, list[_Edit]]) -> dict[str, bytes]:
        """The drawing parts of rewritten sheets with every chart a table now runs under moved
        to the right of it (a new Compare column under the chart beside it)."""
        out: dict[str, bytes] = {}
        for part, edits in plan.items():
            extents = []
            for tbl in self._tables.values():
                if tbl.sheet_part != part:
                    continue
                e = next((e for e in edits if e.table is tbl), None)
                c1, r1, c2, r2 = tbl.bounds
                extents.append((c1, r1, e.new_last_col, e.new_last_row) if e else (c1, r1, c2, r2))
            for typ, target in self._rel_targets(part).values():
                if typ.endswith("/drawing") and target in self._members:
                    xml = self._read(target)
                    new = package.shift_anchors(xml, extents)
                    if new != xml:
                        out[target] = new
        return out

    def _write_package(self, tmp: Path, plan: dict[str, list[_Edit]]) -> None:
        new_parts: dict[str, bytes] = {}
        stretch_by_sheet: dict[str, list[tuple[int, int, int, int]]] = {}
        sheet_jobs = {}
        for part, edits in plan.items():
            xml = self._read(part)
            styles = [self._column_styles(xml, e, self._kinds(e)) for e in edits]
            sheet_jobs[part] = (xml, edits, [(c, self._date_styles(c), _mixed_styles(xml, e))
                                             for c, e in zip(styles, edits, strict=True)], self._widths(edits))
            title = edits[0].table.sheet
            for e in edits:
                new_parts[e.table.part] = _table_xml(e)
                c1, r1, c2, _ = e.old
                stretch_by_sheet.setdefault(title, []).append(
                    (c1, r1 + 1, max(c2, e.new_last_col), e.new_last_row))
        calc = self._calc_on_load(plan, {part: job[0] for part, job in sheet_jobs.items()})
        wb_xml = package.with_full_calc(self._wb_xml, calc)
        wb_xml = _stretch_refs(wb_xml, rb"(<definedName\b[^>]*>)(.*?)(</definedName>)", stretch_by_sheet, None)
        new_parts[self._wb_part] = wb_xml
        moves = [package.TableMove(e.table.sheet, e.old, list(e.table.columns), e.header, e.new_last_row)
                 for edits in plan.values() for e in edits]
        for p in self._members:
            if p.startswith("xl/charts/") and p.endswith(".xml") and "/_rels/" not in p:
                xml = self._read(p)
                new = package.follow_charts(xml, moves)  # series follow their table's columns by name
                new = _stretch_refs(new, rb"(<(?:\w+:)?f>)(.*?)(</(?:\w+:)?f>)", stretch_by_sheet, None)
                if new != xml:
                    new_parts[p] = new
        new_parts.update(self._drawings_beside_tables(plan))
        skip = set()
        if plan:  # formulas move: Excel's calculation chain would name cells that hold none (a repair prompt)
            chain = next((p for p in self._members if p.lower().endswith("calcchain.xml")), None)
            if chain is not None:
                skip.add(chain)
                wb_rels = _rels_of(self._wb_part)
                ct, rels = package.drop_calc_chain(self._read("[Content_Types].xml"), self._read(wb_rels))
                new_parts["[Content_Types].xml"], new_parts[wb_rels] = ct, rels
        if package.ribbon_rel_missing(self._members, self._read("_rels/.rels")):
            new_parts["_rels/.rels"] = package.with_ribbon_rel(self._read("_rels/.rels"))  # dropped by openpyxl
        styles_part = posixpath.join(posixpath.dirname(self._wb_part), "styles.xml")
        asides: list[_SheetAside] = []  # the biggest sheets made meanwhile, where they can be
        try:
            while len(asides) < _SheetAside.MAX_ASIDE:
                aside = _SheetAside.start(self, sheet_jobs, frozenset(a.part for a in asides))
                if aside is None:
                    break
                asides.append(aside)
            self._write_members(tmp, sheet_jobs, new_parts, styles_part, asides, skip)
        finally:
            for aside in asides:
                aside.discard()
        self._close_calamine()  # both before the rename: Windows cannot replace a file that is open
        self._zip.close()

    def _write_members(self, tmp: Path, sheet_jobs: dict, new_parts: dict[str, bytes], styles_part: str,
                       asides: list[_SheetAside], skip: set[str] | None = None) -> None:
        made_aside = {a.part for a in asides}
        with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            src = self._zip.fp
            for info in self._zip.infolist():
                name = info.filename
                if skip and name in skip:
                    continue
                if name in made_aside:
                    continue  # after the others: it is being made meanwhile
                if name in sheet_jobs:
                    _write_sheet(out, info, sheet_jobs.pop(name))
                elif name == styles_part:
                    continue  # last: writing the sheets may add number formats
                elif name in new_parts:
                    out.writestr(_new_info(info, 6), new_parts[name])
                else:
                    _copy_raw(src, info, out)  # type: ignore[arg-type]
            for aside in asides:
                if not aside.copy_into(out):
                    _write_sheet(out, self._members[aside.part], sheet_jobs.pop(aside.part))
            st = self._stylesheet()
            if st.added:
                out.writestr(_new_info(self._members[styles_part], 6), _with_styles(st))
            else:
                _copy_raw(src, self._members[styles_part], out)  # type: ignore[arg-type]


def _write_sheet(out: zipfile.ZipFile, info: zipfile.ZipInfo, job: tuple) -> None:
    """One rewritten sheet into ``out``: ``job`` is its old XML, its edits and their styles."""
    xml, edits, styles, widths = job
    with out.open(_new_info(info, 1), "w", force_zip64=True) as w:
        _rewrite_sheet(xml, edits, styles, w, widths)


class _SheetAside:
    """The biggest rewritten sheet, made in a forked process (Linux, more than one core) into a
    zip of its own while this process writes the other parts; its compressed bytes are then
    copied in as they are. Whatever goes wrong there (an error, a number format it would have
    to add to the shared stylesheet, no answer within :attr:`WAIT_S`) means making the sheet
    here, as without it. Its file is unlinked as soon as made: nothing is left behind.
    Up to :attr:`MAX_ASIDE` sheets go aside this way (the daily refresh with production writes
    two big ones, Actuals and Production), each leaving this process at least one to write."""

    MIN_ROWS = 50_000  # below this, forking costs more than it saves
    MAX_ASIDE = 2
    WAIT_S = 300.0  # 310,000 rows take about a second

    def __init__(self, part: str, pid: int, fd: int) -> None:
        self.part, self.pid, self.fd = part, pid, fd
        self.reaped = False

    @classmethod
    def start(cls, book: ZipIO, sheet_jobs: dict, skip: frozenset[str] = frozenset()) -> _SheetAside | None:
        """The biggest sheet of ``sheet_jobs`` but those in ``skip`` (made aside already), started."""
        if not can_fork_helpers() or len(sheet_jobs) - len(skip) < 2:
            return None
        rows = {part: sum(len(e.body) for e in job[1]) for part, job in sheet_jobs.items() if part not in skip}
        part = max(rows, key=rows.__getitem__)
        if rows[part] < cls.MIN_ROWS:
            return None
        info = book._members[part]
        added = len(book._stylesheet().added)
        fd, path = tempfile.mkstemp(prefix="sop-excel-sheet-", suffix=".zip")
        os.unlink(path)  # open in both processes, named in none
        try:
            pid = os.fork()
        except OSError:
            os.close(fd)
            return None
        if pid == 0:  # the forked process: write, exit without running this process's cleanup
            code = 2
            try:
                in_forked_child()
                with os.fdopen(os.dup(fd), "w+b") as fh, \
                        zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
                    _write_sheet(z, info, sheet_jobs[part])
                code = 0 if len(book._stylesheet().added) == added else 3
            finally:
                os._exit(code)
        return cls(part, pid, fd)

    def _wait(self) -> bool:
        deadline = time.monotonic() + self.WAIT_S
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.reaped = True
                return os.waitstatus_to_exitcode(status) == 0
            if time.monotonic() > deadline:
                log.warning("the sheet made aside did not come in %.0f s; making it here", self.WAIT_S)
                return False
            time.sleep(0.005)

    def copy_into(self, out: zipfile.ZipFile) -> bool:
        """Wait for the sheet; copy it into ``out``. False: it was not made, make it here."""
        ok = self._wait()
        if ok:
            with os.fdopen(os.dup(self.fd), "rb") as fh, zipfile.ZipFile(fh) as z:
                _copy_raw(fh, z.getinfo(self.part), out)
        return ok

    def discard(self) -> None:
        """After the package is written, or when writing it failed: no process, no file."""
        if not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.reaped = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1


def _frame_from_file(path: Path, name: str, layout: LayoutSpec, errors_seen: dict[str, bool],
                     formulas_seen: dict[str, bool] | None = None) -> pd.DataFrame:
    """:meth:`ZipIO.frame_reader`'s call: the table's frame, read by a ZipIO of its own (told
    what the guard found of error cells and formulas in its sheet)."""
    from sop_excel.workbook.tables import read_frame

    book = ZipIO(path, layout, checked=True)
    book._errors_seen.update(errors_seen)
    book._formulas_seen.update(formulas_seen or {})
    try:
        return read_frame(book, name)
    finally:
        book.close()


def _cell_chunks(zf: zipfile.ZipFile, part: str, size: int = 1 << 24) -> Iterable[bytes]:
    """A part inflated a chunk at a time, each chunk ending before a cell's start (``<c ``), so
    a cell is never cut in two (a sheet may inflate to hundreds of MB)."""
    carry = b""
    with zf.open(part) as fh:
        while chunk := fh.read(size):
            data = carry + chunk
            cut = data.rfind(b"<c ")
            if cut <= 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]
    if carry:
        yield carry


def open_workbook(path: str | Path, layout: LayoutSpec | None = None) -> ZipIO | OpenpyxlIO:
    """The headless side for a workbook file: :class:`ZipIO`, or :class:`OpenpyxlIO` when the
    environment variable ``SOP_EXCEL_IO`` is ``openpyxl`` (to compare, or to work around a bug)."""
    if os.environ.get("SOP_EXCEL_IO", "").strip().lower() == "openpyxl":
        return OpenpyxlIO(path, layout)
    return ZipIO(path, layout)


def _as_written(rows: Rows) -> Rows:
    """What a table just written reads back as (before saving): its cells as written, each
    formula with the value it was written with (the value its save caches)."""
    header = [str(h) for h in rows[0]]
    body = rows[1:] or [[None] * len(header)]
    out: Rows = [list(header)]
    out.extend(list(r) for r in body)
    return out


def _row_span(xml: bytes, first: int, last: int) -> tuple[int, int]:
    """Byte offsets covering the rows ``first``..``last`` of a sheet's XML."""
    start = xml.find(b"<sheetData")
    if start < 0:
        raise ZipUnsupported("the sheet is written with XML prefixes")
    lo = hi = None
    pos = start
    for m in _ROW_START.finditer(xml, start):
        r = int(m.group(1))
        if lo is None and r >= first:
            lo = m.start()
        if r > last:
            hi = m.start()
            break
        pos = m.end()
    if lo is not None and hi is not None:
        return lo, hi
    end = xml.find(b"</sheetData>", pos)
    end = end if end >= 0 else len(xml)
    if lo is None:
        return end, end
    return lo, end


def _copy_raw(src: IO[bytes], info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are (no decompress, no recompress)."""
    src.seek(info.header_offset)
    head = src.read(30)
    if head[:4] != b"PK\x03\x04" or info.flag_bits & 0x1:
        raise zipfile.BadZipFile(f"member {info.filename}: unexpected local header")
    n, m = struct.unpack("<HH", head[26:30])
    src.seek(info.header_offset + 30 + n + m)
    data = src.read(info.compress_size)
    new = zipfile.ZipInfo(info.filename, info.date_time)
    new.compress_type = info.compress_type
    new.external_attr, new.create_system = info.external_attr, info.create_system
    new.CRC, new.compress_size, new.file_size = info.CRC, info.compress_size, info.file_size
    new.flag_bits = info.flag_bits & ~0x08  # sizes go in the local header: no data descriptor
    new.header_offset = out.fp.tell()  # type: ignore[union-attr]
    zip64 = info.file_size > 0xFFFFFFFF or info.compress_size > 0xFFFFFFFF
    out.fp.write(new.FileHeader(zip64))  # type: ignore[union-attr]
    out.fp.write(data)  # type: ignore[union-attr]
    out.filelist.append(new)
    out.NameToInfo[new.filename] = new
    out.start_dir = out.fp.tell()  # type: ignore[union-attr,attr-defined]
    out._didModify = True  # type: ignore[attr-defined]


def _new_info(info: zipfile.ZipInfo, level: int) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, info.date_time)
    new.compress_type = zipfile.ZIP_DEFLATED
    new._compresslevel = level  # type: ignore[attr-defined]  # (3.13 keeps this name as an alias)
    new.external_attr, new.create_system = info.external_attr, info.create_system
    return new


def _missing_values(e: _Edit) -> bool:
    """Whether this write leaves a formula cell without a cached value (rows, not a frame's, that
    hold a Formula with no value: read from a workbook and written back)."""
    body = e.body
    if isinstance(body, FrameBody):  # a frame's NaN in a formula column is written as a blank result
        return False
    return any(isinstance(v, Formula) and (v.value is None or (isinstance(v.value, float) and not math.isfinite(v.value)))
               for r in body for v in r)


_REF = re.compile(r"^(?P<sheet>'(?:[^']|'')+'|[^!]+)!(?P<ref>\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+)$")


def _stretch_one(ref: str, bodies: list[tuple[int, int, int, int]]) -> str:
    c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
    for b1, first, b2, new_last in bodies:
        if r1 == first and b1 <= c1 and c2 <= b2:
            return f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{new_last}"
    return ref


def _stretch_refs(xml: bytes, pattern: bytes, by_sheet: dict[str, list[tuple[int, int, int, int]]],
                  _: object) -> bytes:
    """Refs like 'Sheet'!$A$4:$A$100 that covered a table body follow its new last row."""
    def fix(m: re.Match[bytes]) -> bytes:
        text = _unescape(m.group(2).decode())
        r = _REF.match(text)
        if not r:
            return m.group(0)
        sheet = r.group("sheet")
        title = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
        if title not in by_sheet:
            return m.group(0)
        new = _stretch_one(r.group("ref"), by_sheet[title])
        if new == r.group("ref").replace("$", ""):
            return m.group(0)
        c1, r1, c2, r2 = range_boundaries(new)
        dollar = f"${get_column_letter(c1)}${r1}:${get_column_letter(c2)}${r2}"
        return m.group(1) + _xml_escape(f"{sheet}!{dollar}").encode() + m.group(3)

    return re.sub(pattern, fix, xml, flags=re.S)


def _with_styles(st: _Styles) -> bytes:
    """styles.xml with a number format and a cell format added for each new format code."""
    xml = st.xml
    ids = [int(x) for x in re.findall(rb'numFmtId="(\d+)"', xml)]
    next_id = max([163, *ids]) + 1
    fmts, xfs = b"", b""
    for code, _ in st.added:
        fmts += b'<numFmt numFmtId="%d" formatCode="%s"/>' % (next_id, _xml_escape(code, {'"': "&quot;"}).encode())
        xfs += b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>' % next_id
        next_id += 1
    n_new = len(st.added)

    def count(m: re.Match[bytes]) -> bytes:
        return m.group(1) + str(int(m.group(2)) + n_new).encode() + m.group(3)

    if b"<numFmts" in xml:
        xml = re.sub(rb'(<numFmts\b[^>]*count=")(\d+)(")', count, xml, count=1)
        xml = xml.replace(b"</numFmts>", fmts + b"</numFmts>", 1)
    else:
        i = xml.find(b"<fonts")
        xml = xml[:i] + b'<numFmts count="%d">' % n_new + fmts + b"</numFmts>" + xml[i:]
    xml = re.sub(rb'(<cellXfs\b[^>]*count=")(\d+)(")', count, xml, count=1)
    return xml.replace(b"</cellXfs>", xfs + b"</cellXfs>", 1)


def _table_xml(e: _Edit) -> bytes:
    """The table part with its new ref, autoFilter and (if the header changed) columns."""
    c1, r1, _, _ = e.old
    new_ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(e.new_last_col)}{e.new_last_row}".encode()
    xml = e.table.xml
    xml = re.sub(rb'(<table\b[^>]*?\sref=")[^"]*(")', rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1)
    xml = re.sub(rb'(<autoFilter\b[^>]*?\sref=")[^"]*(")', rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1)
    xml = re.sub(rb'<sortState\b.*?(?:</sortState>|/>)', b"", xml, flags=re.S)
    if not e.header_changed:
        return xml
    old = {}
    for m in re.finditer(rb"<tableColumn\b([^>]*?)(?:/>|>(.*?)</tableColumn>)", xml, re.S):
        old[_attrs(m.group(1))["name"]] = m.group(0)
    cols = []
    for j, h in enumerate(e.header, start=1):
        el = old.get(h)
        if el is None:
            cols.append(f'<tableColumn id="{j}" name="{_esc(h)}"/>'.encode())
        else:
            cols.append(re.sub(rb'(\sid=")\d+(")', rb"\g<1>" + str(j).encode() + rb"\g<2>", el, count=1))
    block = b'<tableColumns count="%d">' % len(cols) + b"".join(cols) + b"</tableColumns>"
    return re.sub(rb"<tableColumns\b.*?</tableColumns>", lambda _: block, xml, count=1, flags=re.S)


# -- regenerating one sheet --------------------------------------------------------------------
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_DIM = re.compile(rb'<dimension ref="([^"]*)"\s*/>')


def _rewrite_sheet(xml: bytes, edits: list[_Edit],
                   styles: list[tuple[list[str], list[Callable[[dt.date], str] | None],
                                      dict[int, dict[int, str]]]],
                   out: IO[bytes], widths: dict[int, float] | None = None) -> None:
    """Stream the sheet with each edited table's rows replaced (and its columns at least
    ``widths`` wide)."""
    sd = xml.find(b"<sheetData")
    if sd < 0:
        raise ZipUnsupported("the sheet is written with XML prefixes")
    sd_open_end = xml.find(b">", sd) + 1
    empty = xml[sd_open_end - 2:sd_open_end] == b"/>"
    sd_close = sd_open_end if empty else xml.find(b"</sheetData>", sd_open_end)
    prefix, suffix = xml[:sd], xml[sd_close + (0 if empty else len(b"</sheetData>")):]
    # Regions cleared in the old sheet: (col lo, col hi, row lo, row hi). A table's header row
    # is kept as it is unless the header changed.
    regions = []
    writers = []
    max_row = max_col = 0
    for e, (col_styles, date_styles, per_row) in zip(edits, styles, strict=True):
        c1, r1, c2, r2 = e.old
        first = r1 if e.header_changed else r1 + 1
        regions.append((c1, max(c2, e.new_last_col), first, max(r2, e.new_last_row)))
        max_row, max_col = max(max_row, e.new_last_row), max(max_col, e.new_last_col)
        writers.append(_TableRows(e, col_styles, date_styles, _header_style(xml, c1, r1), per_row))

    def fresh(rnum: int) -> list[tuple[int, str]]:
        return [cell for w in writers if (cell := w.row(rnum)) is not None]

    m = _DIM.search(prefix)  # the old dimension grown to hold the tables: never too small
    if m:
        try:
            d1, dr1, d2, dr2 = range_boundaries(m.group(1).decode())
        except (ValueError, TypeError):
            d1 = dr1 = d2 = dr2 = 1
        dim = (f"{get_column_letter(d1 or 1)}{dr1 or 1}:"
               f"{get_column_letter(max(d2 or 1, max_col))}{max(dr2 or 1, max_row)}")
        prefix = prefix[:m.start()] + f'<dimension ref="{dim}"/>'.encode() + prefix[m.end():]
    out.write(package.with_widths(prefix, widths or {}))
    out.write(b"<sheetData>")
    start, end = sd_open_end, sd_close  # the old rows: xml[start:end] (not copied: it may be 100s of MB)
    lo_row = min(r[2] for r in regions)
    hi_row = max(r[3] for r in regions)
    plan = _bulk_plan(xml, start, end, regions, lo_row, hi_row) if WHOLESALE else None
    if plan is None:  # the old rows one by one
        wanted = sorted({r for w in writers for r in w.row_numbers()})
        _rows_one_by_one(xml, start, end, wanted, fresh, regions, lo_row, hi_row, out.write)
    else:  # the rows around the tables as they are; the tables' rows made anew, in bulk
        a, b, segments, extras = plan
        out.write(b"".join([rm.group(0) for rm in _ROW.finditer(xml, start, a)]))
        for x, y, p, q, bulk in segments:
            if bulk:
                _rows_in_bulk(x, y, writers, extras, out.write)
            else:
                sub = [r for r in range(x, y + 1) if any(w.first <= r <= w.last for w in writers)]
                _rows_one_by_one(xml, p, q, sub, fresh, regions, lo_row, hi_row, out.write)
        out.write(b"".join([rm.group(0) for rm in _ROW.finditer(xml, b, end)]))
    out.write(b"</sheetData>")
    out.write(_follow_in_sheet(suffix, edits))


def _rows_one_by_one(xml: bytes, start: int, end: int, wanted: list[int],
                     fresh: Callable[[int], list[tuple[int, str]]], regions: list[tuple[int, int, int, int]],
                     lo_row: int, hi_row: int, write: Callable[[bytes], Any]) -> None:
    """The old rows in ``xml[start:end]`` one by one, each with the cells outside every cleared
    region kept and the new cells of its number merged in; the ``wanted`` row numbers no old row
    holds are made anew where they fall. The reference path (any sheet); see :func:`_bulk_plan`."""
    k = 0
    buf: list[bytes] = []
    for rm in _ROW.finditer(xml, start, end):
        attrs, inner = rm.group(1), rm.group(2) or b""
        rnum = _row_number(attrs)
        while k < len(wanted) and wanted[k] < rnum:
            buf.append(_new_row(wanted[k], b"", [], fresh(wanted[k])))
            k += 1
        if rnum < lo_row or rnum > hi_row:
            buf.append(rm.group(0))
        else:
            kept = _kept_cells(inner, rnum, regions)
            new = fresh(rnum) if k < len(wanted) and wanted[k] == rnum else []
            if new:
                k += 1
            if kept or new:
                buf.append(_new_row(rnum, attrs, kept, new))
        if len(buf) >= 1000:
            write(b"".join(buf))
            buf.clear()
    while k < len(wanted):
        buf.append(_new_row(wanted[k], b"", [], fresh(wanted[k])))
        k += 1
        if len(buf) >= 1000:
            write(b"".join(buf))
            buf.clear()
    write(b"".join(buf))


class _TableRows:
    """The new cells of one table as XML text, row by row (:meth:`row`) or in bulk (:meth:`cells`)."""

    def __init__(self, e: _Edit, col_styles: list[str], date_styles: list[Callable[[dt.date], str] | None],
                 header_style: str, per_row: dict[int, dict[int, str]] | None = None) -> None:
        self.e, self.styles, self.dates, self.hs = e, col_styles, date_styles, header_style
        self.per_row = per_row or {}
        self.c1, self.r1 = e.old[0], e.old[1]
        self.letters = [_LETTERS[self.c1 + j] for j in range(len(e.header))]
        self.first, self.last = self.r1 if e.header_changed else self.r1 + 1, e.new_last_row
        self._chunk: tuple[int, list[str]] = (-1, [])  # (chunk number, its rows' XML) for row()

    def row_numbers(self) -> range:
        return range(self.first, self.last + 1)

    def cells(self, first: int, last: int, rnums: list[str]) -> _Seq:
        """The cells :meth:`row` gives for each row ``first``..``last`` (all of them this
        table's, the header row alone; ``rnums`` their numbers as text), as a :data:`_Seq`: the
        body made a column at a time."""
        if self.per_row or first == self.r1:  # small tables whose cells keep their own styles
            return ["", ""], [[self.row(r)[1] for r in range(first, last + 1)]]  # type: ignore[index]
        a, b = first - self.r1 - 1, last - self.r1
        body = self.e.body
        if isinstance(body, FrameBody):  # straight from the frame's columns
            cols = body.columns(a, b)
            if len(cols) == len(self.letters):
                return _seq_join(*[_column_xml(c, letter, self.styles[j], self.dates[j], rnums)
                                   for j, (c, letter) in enumerate(zip(cols, self.letters, strict=True))])
        rows = body[a:b]
        if set(map(len, rows)) != {len(self.letters)}:  # not one value per column: as row() does
            return ["", ""], [[self._row(r)[1] for r in range(first, last + 1)]]  # type: ignore[index]
        return _cells_bulk(rows, rnums, self.letters, self.styles, self.dates)

    def row(self, rnum: int) -> tuple[int, str] | None:
        """One row's cells (None: none here). A big table's body rows are made a chunk at a time
        by :meth:`cells` (a sheet whose other cells keep it on the row-by-row path: a table
        beside another)."""
        i = rnum - self.r1
        if self.per_row or i <= 0 or i > len(self.e.body) or len(self.e.body) <= _ROW_CHUNK // 64:
            return self._row(rnum)
        k = (i - 1) // _ROW_CHUNK
        if self._chunk[0] != k:
            first = self.r1 + 1 + k * _ROW_CHUNK
            last = min(first + _ROW_CHUNK - 1, self.last)
            rnums = [str(r) for r in range(first, last + 1)]
            self._chunk = (k, _seq_rows(self.cells(first, last, rnums), len(rnums)))
        return self.c1, self._chunk[1][i - 1 - k * _ROW_CHUNK]

    def _row(self, rnum: int) -> tuple[int, str] | None:
        i = rnum - self.r1
        if i == 0:
            if not self.e.header_changed:
                return None
            vals: list[CellValue] = list(self.e.header)
            return self.c1, "".join([_cell_xml(f"{x}{rnum}", self.hs, v) for x, v in zip(self.letters, vals, strict=True)])
        if i < 0 or i > len(self.e.body):
            return None
        rs = str(rnum)
        letters, styles, dates = self.letters, self.styles, self.dates
        row = self.e.body[i - 1]
        if self.per_row:  # a column whose cells had their own styles keeps each row's
            styles = [self.per_row[j].get(i, st) if j in self.per_row else st for j, st in enumerate(styles)]
            dates = [None if j in self.per_row and i in self.per_row[j] else d for j, d in enumerate(dates)]
        return self.c1, "".join([_cell_xml(letters[j] + rs, styles[j], v, dates[j]) for j, v in enumerate(row)])


_Seq = tuple[list[str], list[list[str]]]
"""Rows of XML text in pieces, ``(consts, lists)`` with one more constant than lists: row ``i``
is ``consts[0] + lists[0][i] + consts[1] + ... + lists[-1][i] + consts[-1]``. Put together
for many rows at once by :func:`_seq_text` (no per-row formatting)."""


_ROW_CHUNK = 4096


def _seq_rows(seq: _Seq, n: int) -> list[str]:
    """The ``n`` rows of ``seq``, each its own text."""
    consts, lists = seq
    parts: list[Iterable[str]] = []
    for c, xs in zip(consts, [*lists, None], strict=True):
        parts.append(itertools.repeat(c, n))
        if xs is not None:
            parts.append(xs)
    return list(map("".join, zip(*parts, strict=True)))


def _seq_join(*seqs: _Seq) -> _Seq:
    """The rows of several :data:`_Seq` (of as many rows) one after the other."""
    consts, lists = [""], []
    for c, xs in seqs:
        consts[-1] += c[0]
        consts.extend(c[1:])
        lists.extend(xs)
    return consts, lists


def _seq_text(seq: _Seq, n: int) -> str:
    """The ``n`` rows of ``seq`` as one text."""
    consts, lists = seq
    step = 2 * len(lists) + 1
    out = [""] * (n * step)
    for t, c in enumerate(consts):
        if c:
            out[2 * t::step] = [c] * n
    for t, xs in enumerate(lists):
        out[2 * t + 1::step] = xs
    return "".join(out)


def _cells_bulk(rows: Rows, rnums: list[str], letters: list[str], styles: list[str],
                dates: list[Callable[[dt.date], str] | None]) -> _Seq:
    """The cells of ``rows`` (one value per column; ``rnums`` their row numbers as text) as XML
    text: for every cell exactly what :func:`_cell_xml` writes, made a column at a time."""
    return _seq_join(*[_column_xml([r[j] for r in rows], letter, styles[j], dates[j], rnums)
                       for j, letter in enumerate(letters)])


_NUMBERS = {int, float}
_BY_VALUE = (str, bool, int, dt.date, dt.datetime)  # equal values of one of these: the same XML
_NONE = type(None)
_STR = {str}
_FORMULA = {Formula}
_PLAIN_LINES = re.compile(r"[ !#-%'-;=?-~\n]*")  # _PLAIN, lines of


def _column_xml(col: list[CellValue], letter: str, s: str, ds: Callable[[dt.date], str] | None,
                rnums: list[str]) -> _Seq:
    """One column's cells (``rnums`` their row numbers), for :func:`_cells_bulk`. By the types in
    the column: numbers (finite floats, ints) as their repr; floats with gaps (None, nan, inf);
    text that needs no escaping as it is; formulas with their text escaped once; values of one
    type whose XML depends on the value alone (text, dates, bools) made once per distinct value;
    anything else (numpy scalars, mixed types, ...) through :func:`_cell_xml` cell by cell."""
    ref = f'<c r="{letter}'
    types = set(map(type, col))
    if types <= _NUMBERS:  # bool is not int here (type, not isinstance)
        try:
            finite = math.isfinite(sum(col))  # type: ignore[arg-type]  # any nan or inf: nan or inf
        except OverflowError:
            finite = False
        if finite:
            return [ref, f'"{s}><v>', "</v></c>"], [rnums, list(map(repr, col))]
    if types <= {float, _NONE}:  # an empty cell: styled, or no cell at all
        if s:
            empty = s + "/>"
            return [ref, '"', ""], [rnums, [f"{s}><v>{v!r}</v></c>" if v is not None and v - v == 0 else empty
                                            for v in col]]  # type: ignore[operator]
        return ["", ""], [[f'{ref}{r}"><v>{v!r}</v></c>' if v is not None and v - v == 0 else ""  # type: ignore[operator]
                           for r, v in zip(rnums, col, strict=True)]]
    if types == _STR:  # text that needs no escaping nor xml:space, and no empty text
        text = "\n".join(col)  # type: ignore[arg-type]
        if (text and _PLAIN_LINES.fullmatch(text) and text.count("\n") == len(col) - 1
                and not text.startswith((" ", "\n")) and not text.endswith((" ", "\n"))
                and " \n" not in text and "\n " not in text and "\n\n" not in text):
            return [ref, f'"{s} t="inlineStr"><is><t>', "</t></is></c>"], [rnums, col]  # type: ignore[list-item]
    if types == _FORMULA:  # a formula column: its text escaped once, each cell's cached value
        esc = {t: _esc(t[1:]) for t in {v.text for v in col}}  # type: ignore[union-attr]
        return [ref, '"', ""], [rnums, [
            f"{s}><f>{esc[v.text]}</f><v>{v.value!r}</v></c>" if type(v.value) is float and v.value - v.value == 0  # type: ignore[union-attr]
            else _formula_xml("", s, esc[v.text], v.value)[7:] for v in col]]  # type: ignore[union-attr]
    kinds = types - {_NONE}
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind in _BY_VALUE:
        distinct = set(col)
        if kind is not dt.datetime or all(v is None or v.tzinfo is None for v in distinct):  # type: ignore[union-attr]
            tails: dict[CellValue, str | None] = {}
            for v in distinct:  # the cell without its address: '<c r=""' is 7 characters
                x = _cell_xml("", s, v, ds)
                tails[v] = x[7:] if x else None
            values = list(map(tails.__getitem__, col))
            if None not in tails.values():
                return [ref, '"', ""], [rnums, values]  # type: ignore[list-item]
            return ["", ""], [[f'{ref}{r}"{t}' if t is not None else "" for r, t in zip(rnums, values, strict=True)]]
    return ["", ""], [[_cell_xml(letter + r, s, v, ds) for r, v in zip(rnums, col, strict=True)]]


# -- the rows of a sheet's tables in bulk -------------------------------------------------------
WHOLESALE = True
"""Whether :func:`_rewrite_sheet` may make a table region's rows anew in bulk (where the old
rows there hold nothing that must stay) instead of rewriting the old rows one by one. The
written XML is the same either way; False forces the one-by-one path (tests compare them)."""

_BULK_ROWS = 8192  # rows made at a time (the Actuals sheet of 10,000 items is ~60 MB of XML)
_MAX_ODD_ROWS = 64  # rows to take one by one (or half the tables' rows) before taking all so

# Every row start; the number when the row has only r (and spans) and starts with a cell
# that names its address first (or is empty).
_ROW_HEAD = re.compile(rb'<row\b(?: r="([1-9]\d*)"(?: spans="[^"]*")?(?=/>|>(?:<c r="|</row>)))?')
# A row whose number is its first attribute: number, other attributes, "/" when empty, what starts it
_ROW_REST = re.compile(rb'<row r="(\d+)"([^>]*?)(/?)>(<c r="|</row>)?')
_SPANS = re.compile(rb'\s+spans="[^"]*"')


def _letters_pattern(cols: set[int]) -> bytes:
    """A regex for exactly the column letters of ``cols``, followed by the row's first digit."""
    by_prefix: dict[str, list[str]] = {}
    for c in sorted(cols):
        x = _LETTERS[c]
        by_prefix.setdefault(x[:-1], []).append(x[-1])
    return b"(?:" + b"|".join(f"{p}[{''.join(last)}]".encode() for p, last in by_prefix.items()) + rb")\d"


def _bulk_plan(xml: bytes, start: int, end: int, regions: list[tuple[int, int, int, int]], lo_row: int,
               hi_row: int) -> tuple[int, int, list[tuple[int, int, int, int, bool]], dict[int, str]] | None:
    """How to write the rows ``lo_row``..``hi_row`` with the one-by-one path's result, mostly
    without parsing the old rows: ``(a, b, segments, extras)``, or None (one by one, all of it).

    The old rows are ``xml[start:end]``: ``xml[start:a]`` those above, ``xml[b:end]`` those
    below (written as they are). Each segment ``(first, last, p, q, bulk)`` covers the rows
    ``first``..``last``, whose old rows are ``xml[p:q]``: in bulk when none of them holds a cell outside
    the cleared regions of its row (so the one-by-one path would keep nothing of them), else
    one by one (a row with a note typed beside a table, a shared formula, unusual XML).
    ``extras`` gives the attributes, ``spans`` taken out, of old rows in the span that have
    more than their number (``ht``, ``x14ac:dyDescent``, ...): the one-by-one path keeps them.

    Only for rows in ascending order, each with its number (the one-by-one path takes any).
    """
    heads = _ROW_HEAD.findall(xml, start, end)
    plain = b"" not in heads
    if plain:
        nums = list(map(int, heads))
    else:
        found = _ROW_START.findall(xml, start, end)
        if len(found) != len(heads):
            return None  # a row without its number: the one-by-one path says so
        nums = list(map(int, found))
    if any(map(int.__ge__, nums, nums[1:])):
        return None

    def at(i: int, hint: int) -> int:  # where row nums[i] starts
        if i >= len(nums):
            return end
        if plain:
            return xml.find(b'<row r="%d"' % nums[i], hint, end)
        return re.compile(rb'<row\b[^>]*?\br="%d"' % nums[i]).search(xml, hint, end).start()  # type: ignore[union-attr]

    def row_at(i: int) -> tuple[int, int, int]:  # the row holding xml[i]: its number, start, next's start
        p = xml.rfind(b"<row", start, i)
        q = xml.find(b"<row", i, end)
        return int(_ROW_START.match(xml, p).group(1)), p, q if q >= 0 else end  # type: ignore[union-attr]

    ia, ib = bisect_left(nums, lo_row), bisect_right(nums, hi_row)
    a = at(ia, start)
    b = at(ib, a)
    most = max(_MAX_ODD_ROWS, (ib - ia) // 2)  # more rows to take one by one: all of them
    odd: dict[int, tuple[int, int]] = {}  # row -> where it is (start, next row's start)
    extras: dict[int, str] = {}
    if not plain:  # rows with more attributes (as Excel writes them), or something else first
        found = _ROW_REST.findall(xml, a, b)
        if len(found) != ib - ia:
            return None  # a row whose number is not its first attribute
        cleaned: dict[bytes, str] = {}  # the attributes after the number, spans taken out
        hint = a
        for num, rest, closed, cell in found:
            if not (closed or cell):
                hint = xml.find(b'<row r="' + num + b'"', hint, b)
                odd[int(num)] = row_at(hint + 4)[1:]
            extra = cleaned.get(rest)
            if extra is None:
                try:
                    extra = cleaned[rest] = _SPANS.sub(b"", rest).decode()
                except UnicodeDecodeError:
                    return None
            if extra or num[0] == 48:  # (a number written with a leading 0 is kept as it is)
                extras[int(num)] = f' r="{num.decode()}"{extra}'
        if len(odd) > most:
            return None
    i = a
    while (i := xml.find(b'ref="', i, b)) >= 0:  # a shared or array formula starts here
        n, p, i = row_at(i)
        odd[n] = p, i
        if len(odd) > most:
            return None
    # bands of rows cut by the same regions, each checked for cells outside them at once
    edges = sorted({r for _, _, r1, r2 in regions for r in (r1, r2 + 1)})
    for x, y in zip(edges, edges[1:], strict=False):
        i, j = bisect_left(nums, x), bisect_left(nums, y)
        if i == j:
            continue
        cols = {c for c1, c2, r1, r2 in regions if r1 <= x <= r2 for c in range(c1, c2 + 1)}
        bad = re.compile(rb'<c (?!r="' + _letters_pattern(cols) + b")" if cols else rb"<c ")
        p, q = at(i, a), at(j, a)
        while (m := bad.search(xml, p, q)) is not None:
            n, r, p = row_at(m.start())
            odd[n] = r, p
            if len(odd) > most:
                return None
    runs: list[list[int]] = []  # odd rows next to each other: [first, last, start, end, index of last]
    for n in sorted(odd):
        i = bisect_left(nums, n)
        if runs and runs[-1][4] == i - 1:
            runs[-1][1], runs[-1][3], runs[-1][4] = n, odd[n][1], i
        else:
            runs.append([n, n, *odd[n], i])
    segments = []
    x = lo_row
    for n1, n2, p, q, _ in runs:
        if x < n1:
            segments.append((x, n1 - 1, 0, 0, True))
        segments.append((n1, n2, p, q, False))
        x = n2 + 1
    if x <= hi_row:
        segments.append((x, hi_row, 0, 0, True))
    return a, b, segments, extras


def _rows_in_bulk(first: int, last: int, writers: list[_TableRows], extras: dict[int, str],
                  write: Callable[[bytes], Any]) -> None:
    """The tables' rows ``first``..``last`` made anew, as the one-by-one path makes them where no
    old cell stays: each row's new cells in column order, in the old row's attributes
    (``extras``) or ``<row r="n">``; no row where no table has one."""
    writers = sorted(writers, key=lambda w: w.c1)
    edges = {first, last + 1}
    for w in writers:  # runs of rows with the same tables (side by side or stacked; a new header row alone)
        edges.update(x for x in (w.first, w.r1 + 1, w.last + 1) if first < x <= last)
    edges_sorted = sorted(edges)
    for u, v in zip(edges_sorted, edges_sorted[1:], strict=False):
        here = [w for w in writers if w.first <= u and v - 1 <= w.last]
        if not here:
            continue
        for lo in range(u, v, _BULK_ROWS):
            hi = min(lo + _BULK_ROWS, v) - 1
            rnums = list(map(str, range(lo, hi + 1)))
            if extras:
                opens: _Seq = ["", ""], [[f"<row{extras[r]}>" if r in extras else f'<row r="{r}">'
                                           for r in range(lo, hi + 1)]]
            else:
                opens = ['<row r="', '">'], [rnums]
            seq = _seq_join(opens, *[w.cells(lo, hi, rnums) for w in here], (["</row>"], []))
            write(_seq_text(seq, len(rnums)).encode())


def _stretch_cf(ref: str, bodies: list[tuple[int, int, int, int]]) -> str:
    new = _stretch_one(ref if ":" in ref else f"{ref}:{ref}", bodies)
    return ref if new == f"{ref}:{ref}" else new


def _row_number(attrs: bytes) -> int:
    m = re.search(rb'\br="(\d+)"', attrs)
    if not m:
        raise ZipUnsupported("a row without its number")
    return int(m.group(1))


_MIXED_MAX_ROWS = 500


def _mixed_styles(xml: bytes, e: _Edit) -> dict[int, dict[int, str]]:
    """Columns of a small table whose body cells carry different styles (the Settings Value
    column: a date, a percent, a count), as column -> body row (1-based) -> style attribute, so
    each row keeps its own number format when the table is rewritten with its columns in the
    same places. Empty for large tables (data tables have one style per column)."""
    c1, r1, c2, r2 = e.old
    if r2 - r1 > _MIXED_MAX_ROWS or e.header_changed:
        return {}
    lo, hi = _row_span(xml, r1 + 1, r2)
    seen: dict[int, dict[int, str]] = {}
    for letters, rnum, s, _, rest, _ in _CELL.findall(xml[lo:hi]):
        c = _COLS[letters.decode()]
        if c1 <= c <= c2:
            sid = (s.decode() if s else "") or _attrs(rest).get("s", "")
            seen.setdefault(c - c1, {})[int(rnum) - r1] = f' s="{sid}"' if sid not in ("", "0") else ""
    return {j: by_row for j, by_row in seen.items() if len(set(by_row.values())) > 1}


def _header_style(xml: bytes, col: int, row: int) -> str:
    lo, hi = _row_span(xml, row, row)
    for letters, _, s, _, _, _ in _CELL.findall(xml[lo:hi]):
        if _COLS[letters.decode()] == col and s:
            return f' s="{s.decode()}"'
    return ""


def _col_at(xml: bytes, i: int) -> int:
    """The column number of the cell reference starting at ``xml[i]`` (``AB12`` -> 28)."""
    end = i
    while 65 <= xml[end] <= 90:
        end += 1
    return _COLS[xml[i:end].decode()]


def _kept_cells(inner: bytes, rnum: int, regions: list[tuple[int, int, int, int]]) -> list[tuple[int, bytes]]:
    """The cells of an old row that lie outside every cleared region, with their columns."""
    cuts = [(c1, c2) for c1, c2, r1, r2 in regions if r1 <= rnum <= r2]
    if not cuts:
        return [(0, inner)] if inner else []
    if (len(cuts) == 1 and inner[:6] == b'<c r="' and b'ref="' not in inner
            and inner.count(b"<c ") == inner.count(b'<c r="')):  # every cell names its address first
        # cells are in column order: the first and the last inside the cut means all of them
        lo, hi = cuts[0]
        if lo <= _col_at(inner, 6) and _col_at(inner, inner.rfind(b'<c r="') + 6) <= hi:
            return []
    parts = inner.split(b"<c ")
    if parts[0].strip():
        raise ZipUnsupported(f"row {rnum}: cells written in a form this side does not read")
    kept = []
    for part in parts[1:]:
        if part[:3] != b'r="':
            raise ZipUnsupported(f"row {rnum}: a cell whose address is not its first attribute")
        c = _col_at(part, 3)
        for lo, hi in cuts:
            if lo <= c <= hi:
                if b'ref="' in part and (b't="shared"' in part or b't="array"' in part):
                    raise ZipUnsupported(f"row {rnum}: a shared or array formula starts inside a table")
                break
        else:
            kept.append((c, b"<c " + part))
    return kept


def _new_row(rnum: int, attrs: bytes, kept: list[tuple[int, bytes]], fresh: list[tuple[int, str]]) -> bytes:
    attrs = re.sub(rb'\s+spans="[^"]*"', b"", attrs) if attrs else b' r="%d"' % rnum
    parts = [(c, x) for c, x in kept] + [(c, x.encode()) for c, x in fresh]
    if len(parts) > 1:
        parts.sort(key=lambda p: p[0])
    return b"<row" + attrs + b">" + b"".join(x for _, x in parts) + b"</row>"


def _follow_in_sheet(suffix: bytes, edits: list[_Edit]) -> bytes:
    """Conditional formats and validations that covered a table body follow its new size."""
    bodies = [(e.old[0], e.old[1] + 1, max(e.old[2], e.new_last_col), e.new_last_row) for e in edits]

    def fix(m: re.Match[bytes]) -> bytes:
        refs = m.group(2).decode().split()
        new = " ".join(_stretch_cf(r, bodies) for r in refs)
        return m.group(1) + new.encode() + m.group(3)

    return re.sub(rb'(<(?:conditionalFormatting|dataValidation)\b[^>]*?\ssqref=")([^"]*)(")', fix, suffix)
