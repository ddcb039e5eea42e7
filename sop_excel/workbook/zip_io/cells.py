"""One cell's XML: read as openpyxl reads it, written as the one choke point for values; rows located in a sheet."""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Callable, Iterable

from openpyxl.formula.translate import Translator
from openpyxl.utils.datetime import (
    from_excel,
    from_ISO8601,
    to_excel,
)

from sop_excel.workbook.guard import inflated
from sop_excel.workbook.io import CellValue, Formula
from sop_excel.workbook.zip_io.parts import Styles
from sop_excel.workbook.zip_io.xml_text import (
    ZipUnsupported,
    escape_text,
    unescape,
    xml_attrs,
)


class BadCell(Exception):  # noqa: N818 - becomes a WorkbookCorruptError naming the sheet
    """A cell whose XML cannot mean anything (a shared string that does not exist)."""


# -- cells: read -----------------------------------------------------------------------------
ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
# A cell with its attributes in the usual order (r, s, t): the fast path. Anything else in
# the attribute list lands in group 4 and is parsed the slow way.
CELL = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="(\w+)")?([^>]*?)(?:/>|>(.*?)</c>)', re.S
)
_ANY_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_V = re.compile(rb"<v>(.*?)</v>|<v\s*/>", re.S)
_F = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_T = re.compile(rb"<t\b[^>]*?(?:/>|>(.*?)</t>)", re.S)
_RPH = re.compile(rb"<rPh\b.*?</rPh>", re.S)


class CellReader:
    """Turns cell XML into the values openpyxl gives for the same cell."""

    def __init__(self, strings: list[str], styles: Styles, epoch: dt.datetime) -> None:
        self.strings, self.epoch = strings, epoch
        self.date_ids, self.td_ids = styles.date_ids, styles.timedelta_ids
        self.shared: dict[str, Translator] = {}

    def value(
        self, letters: bytes, row: bytes, s: bytes | None, t: bytes | None, inner: bytes | None
    ) -> CellValue:
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
            return unescape("".join(x.decode() for x in _T.findall(body)))
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
                raise BadCell(
                    f"cell {(letters + row).decode()} refers to shared string {raw.decode(errors='replace')!r}, "
                    f"but the file has {len(self.strings):,} shared strings"
                ) from None
        if tt == "b":
            return bool(int(raw))
        if tt == "d":
            return from_ISO8601(raw.decode())
        return unescape(raw.decode())  # "str", "e"

    def formula(
        self, letters: bytes, row: bytes, s: bytes | None, t: bytes | None, inner: bytes
    ) -> Formula:
        """The cell's formula (shared ones translated to this cell) and its cached value, read
        as the same cell without its formula would be (``None`` when the file holds none)."""
        coord = (letters + row).decode()
        m = _F.search(inner)
        if m is None:
            raise ZipUnsupported(f"cell {coord}: a formula element this side does not read")
        cached = self.value(letters, row, s, t, inner[: m.start()] + inner[m.end() :])
        if isinstance(cached, Formula):  # a second formula element in the cell: not Excel's XML
            raise ZipUnsupported(f"cell {coord}: more than one formula element")
        fa = xml_attrs(m.group(1)) if m.group(1) else {}
        text = "=" + unescape(m.group(2).decode()) if m.group(2) else "="
        kind = fa.get("t")
        if kind == "shared":
            si = fa.get("si", "")
            if si in self.shared:
                text = self.shared[si].translate_formula(coord)
            elif text != "=":
                self.shared[si] = Translator(text, coord)
            else:
                raise ZipUnsupported(
                    f"cell {coord}: a shared formula whose first cell is outside the table"
                )
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


def cell_xml(ref: str, s: str, v: CellValue, ds: Callable[[dt.date], str] | None = None) -> str:
    """One cell. The one choke point for values: only a Formula becomes a formula."""
    tv = type(v)
    if tv is float:
        n = _num(v)  # type: ignore[arg-type]
        return (
            f'<c r="{ref}"{s}><v>{n}</v></c>'
            if n is not None
            else (f'<c r="{ref}"{s}/>' if s else "")
        )
    if tv is str:
        if not v:  # as openpyxl: an empty string is an empty cell
            return f'<c r="{ref}"{s}/>' if s else ""
        text = escape_text(v)  # type: ignore[arg-type]
        sp = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{sp}>{text}</t></is></c>'
    if v is None:
        return f'<c r="{ref}"{s}/>' if s else ""
    if tv is bool:
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'  # type: ignore[arg-type]
    if tv is int:
        return f'<c r="{ref}"{s}><v>{v}</v></c>'
    if isinstance(v, Formula):
        return formula_xml(ref, s, escape_text(v.text[1:]), v.value)
    if isinstance(
        v, dt.date
    ):  # a date in a column without a date format gets one (as openpyxl does)
        return f'<c r="{ref}"{ds(v) if ds else s}><v>{_serial(v)!r}</v></c>'
    if isinstance(v, int | float):  # numpy scalars and other numbers
        return cell_xml(ref, s, float(v))
    return cell_xml(ref, s, str(v))


def formula_xml(ref: str, s: str, f: str, c: object) -> str:
    """A formula cell: ``f`` the formula's text without its '=', escaped; ``c`` its cached value."""
    if c is None or (isinstance(c, float) and not math.isfinite(c)):
        return f'<c r="{ref}"{s}><f>{f}</f></c>'
    if isinstance(c, bool):
        return f'<c r="{ref}"{s} t="b"><f>{f}</f><v>{int(c)}</v></c>'
    if isinstance(c, int | float):
        return f'<c r="{ref}"{s}><f>{f}</f><v>{float(c)!r}</v></c>'
    if isinstance(c, dt.date):  # a planner's date formula, kept: its serial number
        return f'<c r="{ref}"{s}><f>{f}</f><v>{float(_serial(c))!r}</v></c>'
    return f'<c r="{ref}"{s} t="str"><f>{f}</f><v>{escape_text(str(c))}</v></c>'


def row_span(xml: bytes, first: int, last: int) -> tuple[int, int]:
    """Byte offsets covering the rows ``first``..``last`` of a sheet's XML."""
    start = xml.find(b"<sheetData")
    if start < 0:
        raise ZipUnsupported("the sheet is written with XML prefixes")
    lo = hi = None
    pos = start
    for m in ROW_START.finditer(xml, start):
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


def cell_chunks(zf: zipfile.ZipFile, part: str, size: int = 1 << 24) -> Iterable[bytes]:
    """A part inflated a chunk at a time, each chunk ending before a cell's start (``<c ``), so
    a cell is never cut in two (a sheet may inflate to hundreds of MB)."""
    carry = b""
    for chunk in inflated(zf, zf.getinfo(part), size):
        data = carry + chunk
        cut = data.rfind(b"<c ")
        if cut <= 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry
