"""The package's parts: tables, edits, the stylesheet; members copied raw; table parts and references rewritten."""

from __future__ import annotations

import math
import re
import struct
import types
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO
from xml.sax.saxutils import escape as _xml_escape

from openpyxl.utils import get_column_letter, range_boundaries

from sop_excel.workbook.convert import FrameBody, FrameRows
from sop_excel.workbook.io import Formula, Rows
from sop_excel.workbook.zip_io.xml_text import (
    escape_text,
    unescape,
    xml_attrs,
)

_zlib: types.ModuleType = zlib
try:  # zlib-ng: the same deflate format, made faster (see DeflatedMember)
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - a dependency; zlib does the same, slower
    pass


# -- the package's structure ----------------------------------------------------------------
@dataclass
class TablePart:
    name: str
    part: str  # xl/tables/tableN.xml
    sheet: str  # sheet title
    sheet_part: str  # xl/worksheets/sheetN.xml
    ref: str
    columns: list[str]
    xml: bytes

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return range_boundaries(self.ref)  # min_col, min_row, max_col, max_row


@dataclass
class TableEdit:
    table: TablePart
    header: list[str]
    body: Rows | FrameBody  # a frame's rows stay a frame: made a chunk (or a column) at a time
    old: tuple[int, int, int, int]
    header_changed: bool
    # the first body rows the saved sheet holds as they are (FrameRows.unchanged)
    unchanged: int = 0

    @property
    def new_last_row(self) -> int:
        return self.old[1] + len(self.body)

    @property
    def new_last_col(self) -> int:
        return self.old[0] + len(self.header) - 1


@dataclass
class Styles:
    xml: bytes
    date_ids: set[int]
    timedelta_ids: set[int]
    fmt_of_xf: list[str]  # number format code per cellXfs index
    added: list[tuple[str, int]] = field(default_factory=list)  # (format code, xf index) to add


class SavedStamp(str):
    """A cell value that :meth:`~sop_excel.workbook.zip_io.ZipIO.save` replaces with the
    :meth:`~sop_excel.workbook.zip_io.ZipIO.content_stamp` of ``names`` as that same save writes
    them (the CRC-32 and size of each part, known once written): a fingerprint of the file as
    saved, without a second save. The sheet holding it is written after those parts.

    Anywhere else (a side that does not know it, the openpyxl fallback, a read before the save)
    it is its placeholder text, which no fingerprint equals. Honoured in tables written as rows
    of up to :data:`STAMP_MAX_ROWS` rows (a key table), never in a header.
    """

    names: tuple[str, ...]

    def __new__(cls, names: list[str] | tuple[str, ...]) -> SavedStamp:
        self = super().__new__(cls, "(the fingerprint this save did not write)")
        self.names = tuple(names)
        return self

    def __reduce__(self) -> tuple[object, tuple[tuple[str, ...]]]:
        return (SavedStamp, (self.names,))


STAMP_MAX_ROWS = 1_000


def stamps_in(rows: Rows) -> list[tuple[int, int, SavedStamp]]:
    """Where rows (header first) hold a :class:`SavedStamp`: (row, column, stamp)."""
    if len(rows) > STAMP_MAX_ROWS:
        return []
    return [
        (i, j, v)
        for i, r in enumerate(rows)
        if i
        for j, v in enumerate(r)
        if isinstance(v, SavedStamp)
    ]


def as_written(rows: Rows | FrameRows) -> Rows:
    """What a table just written reads back as (before saving): its cells as written, each
    formula with the value it was written with (the value its save caches)."""
    header = [str(h) for h in rows[0]]
    body = rows[1:] or [[None] * len(header)]
    out: Rows = [list(header)]
    out.extend(list(r) for r in body)
    return out


def copy_raw(src: IO[bytes], info: zipfile.ZipInfo, out: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are (no decompress, no recompress)."""
    src.seek(info.header_offset)
    head = src.read(30)
    if head[:4] != b"PK\x03\x04" or info.flag_bits & 0x1:
        raise zipfile.BadZipFile(f"member {info.filename}: unexpected local header")
    n, m = struct.unpack("<HH", head[26:30])
    src.seek(info.header_offset + 30 + n + m)
    data = src.read(info.compress_size)
    _add_member(out, info, data, info.CRC, info.file_size, info.flag_bits, info.compress_type)


class DeflatedMember:
    """A member written into a zip the way :func:`copy_raw` adds one, its bytes compressed as
    they come by zlib-ng (level 2: about 2.5 times as fast as zlib's level 1, and smaller; the
    same deflate format any unzip reads), or zlib where zlib-ng is missing. What a rewritten
    sheet is written through: compressing it was most of a save's time."""

    LEVEL = 2

    def __init__(self, out: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self.out, self.info = out, info
        self._c = _zlib.compressobj(self.LEVEL, zlib.DEFLATED, -15)
        self._parts: list[bytes] = []
        self._crc = 0
        self._size = 0

    def write(self, data: bytes | memoryview) -> int:
        self._crc = _zlib.crc32(data, self._crc)
        self._size += len(data)
        if piece := self._c.compress(data):
            self._parts.append(piece)
        return len(data)

    def close(self) -> None:
        """The member, added to the zip (only now: its sizes go in its local header)."""
        self._parts.append(self._c.flush())
        data = b"".join(self._parts)
        self._parts = []
        _add_member(self.out, self.info, data, self._crc, self._size, 0, zipfile.ZIP_DEFLATED)


def _add_member(
    out: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    data: bytes,
    crc: int,
    size: int,
    flag_bits: int,
    compress_type: int,
) -> None:
    """``data`` (compressed already) added to ``out`` as member ``info.filename``."""
    new = zipfile.ZipInfo(info.filename, info.date_time)
    new.compress_type = compress_type
    new.external_attr, new.create_system = info.external_attr, info.create_system
    new.CRC, new.compress_size, new.file_size = crc, len(data), size
    new.flag_bits = flag_bits & ~0x08  # sizes go in the local header: no data descriptor
    new.header_offset = out.fp.tell()  # type: ignore[union-attr]
    zip64 = new.file_size > 0xFFFFFFFF or new.compress_size > 0xFFFFFFFF
    out.fp.write(new.FileHeader(zip64))  # type: ignore[union-attr]
    out.fp.write(data)  # type: ignore[union-attr]
    out.filelist.append(new)
    out.NameToInfo[new.filename] = new
    out.start_dir = out.fp.tell()  # type: ignore[union-attr]
    out._didModify = True  # type: ignore[attr-defined]


def new_info(info: zipfile.ZipInfo, level: int) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, info.date_time)
    new.compress_type = zipfile.ZIP_DEFLATED
    new._compresslevel = level  # type: ignore[attr-defined]  # (3.13 keeps this name as an alias)
    new.external_attr, new.create_system = info.external_attr, info.create_system
    return new


def leaves_values_missing(e: TableEdit) -> bool:
    """Whether this write leaves a formula cell without a cached value (rows, not a frame's, that
    hold a Formula with no value: read from a workbook and written back)."""
    body = e.body
    if isinstance(
        body, FrameBody
    ):  # a frame's NaN in a formula column is written as a blank result
        return False
    return any(
        isinstance(v, Formula)
        and (v.value is None or (isinstance(v.value, float) and not math.isfinite(v.value)))
        for r in body
        for v in r
    )


_REF = re.compile(
    r"^(?P<sheet>'(?:[^']|'')+'|[^!]+)!(?P<ref>\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+)$"
)


def stretch_one(ref: str, bodies: list[tuple[int, int, int, int]]) -> str:
    c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
    for b1, first, b2, new_last in bodies:
        if r1 == first and b1 <= c1 and c2 <= b2:
            return f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{new_last}"
    return ref


def stretch_refs(
    xml: bytes, pattern: bytes, by_sheet: dict[str, list[tuple[int, int, int, int]]], _: object
) -> bytes:
    """Refs like 'Sheet'!$A$4:$A$100 that covered a table body follow its new last row."""

    def fix(m: re.Match[bytes]) -> bytes:
        text = unescape(m.group(2).decode())
        r = _REF.match(text)
        if not r:
            return m.group(0)
        sheet = r.group("sheet")
        title = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
        if title not in by_sheet:
            return m.group(0)
        new = stretch_one(r.group("ref"), by_sheet[title])
        if new == r.group("ref").replace("$", ""):
            return m.group(0)
        c1, r1, c2, r2 = range_boundaries(new)
        dollar = f"${get_column_letter(c1)}${r1}:${get_column_letter(c2)}${r2}"
        return m.group(1) + _xml_escape(f"{sheet}!{dollar}").encode() + m.group(3)

    return re.sub(pattern, fix, xml, flags=re.S)


def with_styles(st: Styles) -> bytes:
    """styles.xml with a number format and a cell format added for each new format code."""
    xml = st.xml
    ids = [int(x) for x in re.findall(rb'numFmtId="(\d+)"', xml)]
    next_id = max([163, *ids]) + 1
    fmts, xfs = b"", b""
    for code, _ in st.added:
        fmts += b'<numFmt numFmtId="%d" formatCode="%s"/>' % (
            next_id,
            _xml_escape(code, {'"': "&quot;"}).encode(),
        )
        xfs += (
            b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            % next_id
        )
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


def table_xml(e: TableEdit) -> bytes:
    """The table part with its new ref, autoFilter and (if the header changed) columns."""
    c1, r1, _, _ = e.old
    new_ref = (
        f"{get_column_letter(c1)}{r1}:{get_column_letter(e.new_last_col)}{e.new_last_row}".encode()
    )
    xml = e.table.xml
    xml = re.sub(rb'(<table\b[^>]*?\sref=")[^"]*(")', rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1)
    xml = re.sub(
        rb'(<autoFilter\b[^>]*?\sref=")[^"]*(")', rb"\g<1>" + new_ref + rb"\g<2>", xml, count=1
    )
    xml = re.sub(rb"<sortState\b.*?(?:</sortState>|/>)", b"", xml, flags=re.S)
    if not e.header_changed:
        return xml
    old = {}
    for m in re.finditer(rb"<tableColumn\b([^>]*?)(?:/>|>(.*?)</tableColumn>)", xml, re.S):
        old[xml_attrs(m.group(1))["name"]] = m.group(0)
    cols = []
    for j, h in enumerate(e.header, start=1):
        el = old.get(h)
        if el is None:
            cols.append(f'<tableColumn id="{j}" name="{escape_text(h)}"/>'.encode())
        else:
            cols.append(
                re.sub(rb'(\sid=")\d+(")', rb"\g<1>" + str(j).encode() + rb"\g<2>", el, count=1)
            )
    block = b'<tableColumns count="%d">' % len(cols) + b"".join(cols) + b"</tableColumns>"
    return re.sub(rb"<tableColumns\b.*?</tableColumns>", lambda _: block, xml, count=1, flags=re.S)
