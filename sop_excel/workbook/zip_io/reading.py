"""The package's structure and a table's cells, read from the zip."""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

from openpyxl.reader.strings import read_string_table
from openpyxl.styles.numbers import BUILTIN_FORMATS
from openpyxl.styles.stylesheet import Stylesheet
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
)
from openpyxl.xml.functions import fromstring

from sop_excel.workbook.io import Rows
from sop_excel.workbook.zip_io.cells import (
    CELL,
    CellReader,
    row_span,
)
from sop_excel.workbook.zip_io.parts import (
    Styles,
    TablePart,
)
from sop_excel.workbook.zip_io.xml_text import (
    COLUMN_NUMBERS,
    ZipUnsupported,
    rels_part_of,
    resolve_target,
    xml_attrs,
)

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET = _REL_NS + "/worksheet"
_TABLE = _REL_NS + "/table"


class PackageReader:
    """The open package of a :class:`~sop_excel.workbook.zip_io.ZipIO`: its parts, its
    structure (workbook, sheets, tables, shared strings, styles) and its tables' cells."""

    path: Path
    _zip: zipfile.ZipFile
    _members: dict[str, zipfile.ZipInfo]
    _strings: list[str] | None
    _styles: Styles | None
    _sheet_cache: tuple[str, bytes] | None
    _wb_part: str
    _wb_xml: bytes
    _date1904: bool
    _sheets: dict[str, str]  # title -> part
    _tables: dict[str, TablePart]

    @property
    def name(self) -> str:
        """The workbook's file name, for messages and the Log."""
        return self.path.name

    # -- structure --------------------------------------------------------------------------
    def _read(self, part: str) -> bytes:
        if part not in self._members:
            raise ZipUnsupported(f"the package has no part {part}")
        return self._zip.read(part)

    def _workbook_part(self) -> str:
        rels = self._read("_rels/.rels")
        for m in re.finditer(rb"<Relationship\b([^>]*)/?>", rels):
            a = xml_attrs(m.group(1))
            if a.get("Type", "").endswith("/officeDocument"):
                return resolve_target("", a["Target"])
        raise ZipUnsupported("the package names no workbook part")

    def _load_structure(self) -> None:
        self._wb_part = self._workbook_part()
        wb_xml = self._read(self._wb_part)
        if b"<sheets>" not in wb_xml and b"<sheets " not in wb_xml:
            raise ZipUnsupported("workbook.xml is written with XML prefixes")
        self._wb_xml = wb_xml
        self._date1904 = bool(re.search(rb'<workbookPr\b[^>]*\bdate1904="(1|true)"', wb_xml))
        rels = self._rel_targets(self._wb_part)
        self._sheets = {}
        for m in re.finditer(rb"<sheet\b([^>]*)/?>", wb_xml):
            a = xml_attrs(m.group(1))
            rid = a.get("r:id") or next((v for k, v in a.items() if k.endswith(":id")), None)
            typ, target = rels.get(rid or "", ("", ""))
            if typ == _WORKSHEET:
                self._sheets[a["name"]] = target
        self._tables = {}
        for title, part in self._sheets.items():
            for typ, target in self._rel_targets(part).values():
                if typ != _TABLE:
                    continue
                xml = self._read(target)
                head = re.search(rb"<table\b([^>]*)>", xml)
                if head is None:
                    raise ZipUnsupported(f"{target} is written with XML prefixes")
                a = xml_attrs(head.group(1))
                cols = [
                    xml_attrs(c)["name"] for c in re.findall(rb"<tableColumn\b([^>]*?)/?>", xml)
                ]
                self._tables[a["name"]] = TablePart(
                    a["name"], target, title, part, a["ref"], cols, xml
                )

    def _rel_targets(self, part: str) -> dict[str, tuple[str, str]]:
        rels_part = rels_part_of(part)
        if rels_part not in self._members:
            return {}
        out = {}
        for m in re.finditer(rb"<Relationship\b([^>]*?)/?>", self._zip.read(rels_part)):
            a = xml_attrs(m.group(1))
            if a.get("TargetMode") == "External":
                continue
            out[a["Id"]] = (a.get("Type", ""), resolve_target(part, a.get("Target", "")))
        return out

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            part = next((p for p in self._members if p.endswith("sharedStrings.xml")), None)
            self._strings = read_string_table(self._zip.open(part)) if part else []
        return self._strings

    def _stylesheet(self) -> Styles:
        if self._styles is None:
            part = posixpath.join(posixpath.dirname(self._wb_part), "styles.xml")
            xml = self._read(part)
            sheet = Stylesheet.from_tree(fromstring(xml))
            custom = {f.numFmtId: f.formatCode for f in sheet.numFmts.numFmt}
            fmts = [
                custom.get(xf.numFmtId) or BUILTIN_FORMATS.get(xf.numFmtId, "General")
                for xf in sheet.cellXfs.xf
            ]
            self._styles = Styles(xml, set(sheet.date_formats), set(sheet.timedelta_formats), fmts)
        return self._styles

    def _sheet_xml(self, part: str) -> bytes:
        if self._sheet_cache is None or self._sheet_cache[0] != part:
            self._sheet_cache = None  # let the previous one go before decompressing the next
            self._sheet_cache = (part, self._read(part))
        return self._sheet_cache[1]

    # -- reading ----------------------------------------------------------------------------
    def _reader(self) -> CellReader:
        epoch = CALENDAR_MAC_1904 if self._date1904 else CALENDAR_WINDOWS_1900
        return CellReader(self._shared_strings(), self._stylesheet(), epoch)

    def _read_range(self, tbl: TablePart) -> Rows:
        min_col, min_row, max_col, max_row = tbl.bounds
        xml = self._sheet_xml(tbl.sheet_part)
        lo, hi = row_span(xml, min_row, max_row)
        grid: Rows = [[None] * (max_col - min_col + 1) for _ in range(max_row - min_row + 1)]
        reader = self._reader()
        cols = COLUMN_NUMBERS
        chunk = xml[lo:hi]
        n_cells = chunk.count(b"<c ") + chunk.count(b"<c>")
        seen = 0
        for letters, row, s, t, rest, inner in CELL.findall(chunk):
            seen += 1
            c = cols[letters.decode()]
            if c < min_col or c > max_col:
                continue
            r = int(row)
            if rest.strip():
                extra = xml_attrs(rest)
                if "s" in extra or "t" in extra:
                    s = extra.get("s", "").encode() or s
                    t = extra.get("t", "").encode() or t
            grid[r - min_row][c - min_col] = reader.value(letters, row, s, t, inner)
        if seen != n_cells:
            raise ZipUnsupported(
                f"sheet '{tbl.sheet}' has cells written in a form this side does not read"
            )
        return grid
