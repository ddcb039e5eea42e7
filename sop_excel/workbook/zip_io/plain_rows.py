"""A big table of plain values read in bulk: one regular-expression match per row.

sop-excel writes a table's cells in one form: numbers as ``<c r="A5" s="5"><v>1.5</v></c>``,
text inline as ``<c r="C5" s="3" t="inlineStr"><is><t>IT-1</t></is></c>``, empty cells as
``<c r="G5" s="5"/>`` (or no cell). A sheet in that form (what sop-excel last wrote) is read
here several times faster than python-calamine parses it (``bench/close_month_scale.py``:
the Snapshots and History sheets of a 10,000-item workbook): a row's cells are matched at
once, and each column converted in bulk.

Anything else (shared strings, a formula, a boolean or error cell, a time or fractional date,
attributes in another order, a row not matched: what Excel, LibreOffice or openpyxl write when
they save the file) gives ``None``, and the caller reads the table as before. The rows given
are those the XML reader (:meth:`PackageReader._read_range`) gives for the same cells, but for
an empty text cell or a number where the other reader gives an ``int``: ``None`` for ``""``,
``float`` for ``int``, which the frames read alike (``tests/sop_excel/test_plain_rows.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import cast

from sop_excel.workbook.convert import ColumnRows
from sop_excel.workbook.io import CellValue, Rows
from sop_excel.workbook.zip_io.cells import ROW_START
from sop_excel.workbook.zip_io.xml_text import COLUMN_LETTERS, unescape

__all__ = ["gc_paused", "plain_rows", "plain_span"]

_SLICE = 1 << 24  # XML matched a slice at a time (16 MB): the matches of one slice in memory
_FIRST = 1 << 18  # the first slice small: a table not in the plain form (formulas in every row,
# as the Forecast's) is told in milliseconds, not after matching 16 MB for nothing
_DAY0_1900 = dt.datetime(1899, 12, 30)
_DAY0_1904 = dt.datetime(1904, 1, 1)
_LAST_DAY = 2_958_465  # 9999-12-31 (1900 system): a larger serial is no date Excel shows


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector held while a table's cells become objects: millions of tuples
    and lists, none in a cycle, would set it off again and again, each pass going through all
    of them (about 40% of a 360,000-row read). Collected as usual afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _cell(letter: str) -> bytes:
    """One of the table's cells (optional): groups style, number, text."""
    return (
        rb'(?:<c r="' + letter.encode() + rb'\1"(?: s="(\d+)")?'
        rb"(?:/>|><v>([^<]*)</v></c>"
        rb'| t="inlineStr"><is><t(?: xml:space="preserve")?>([^<]*)</t></is></c>))?'
    )


def _others(min_col: int, max_col: int) -> tuple[bytes, bytes]:
    """Cells of columns before the table's, and after it (another table beside), each in the
    row's own row number (group 1)."""
    mine = [COLUMN_LETTERS[c] for c in range(min_col, max_col + 1)]
    # a cell's content never runs past its own </c>, and a cell once matched is not matched
    # again another way (possessive): a row that does not match fails at once, in time linear
    # in its length (``.*?`` here backtracked through every split of a row's other cells)
    other = rb"\1\"[^>]*+>(?:(?<=/>)|(?:[^<]++|<(?!/c>))*+</c>))*+"
    before = (
        rb'(?:<c r="(?:'
        + b"|".join(COLUMN_LETTERS[c].encode() for c in range(1, min_col))
        + rb")"
        + other
        if min_col > 1
        else b""
    )
    after = rb'(?:<c r="(?!(?:' + b"|".join(x.encode() for x in mine) + rb')\1")[A-Z]{1,3}' + other
    return before, after + rb"</row>"


def _pattern(min_col: int, max_col: int) -> re.Pattern[bytes]:
    """A whole row: the table's cells in order (each optional, three groups: style, number,
    text) amid the cells of other columns."""
    mine = [COLUMN_LETTERS[c] for c in range(min_col, max_col + 1)]
    before, after = _others(min_col, max_col)
    return re.compile(rb'<row r="(\d+)"[^>]*>' + before + b"".join(map(_cell, mine)) + after, re.S)


def _numbers(raw: Sequence[bytes]) -> list[CellValue]:
    return list(map(float, raw))  # ValueError for an empty <v></v> (the caller's fallback)


def _dates(raw: Sequence[bytes], day0: dt.datetime) -> list[CellValue] | None:
    """Whole days (None: a time of day, or a day of 1900's leap-year quirk: the other readers')."""
    days = {}
    for n in set(raw):
        if not n.isdigit() or not 61 <= int(n) <= _LAST_DAY:
            return None
        days[n] = day0 + dt.timedelta(days=int(n))
    return list(map(days.__getitem__, raw))


def _texts(raw: Sequence[bytes]) -> list[CellValue]:
    """Text as the XML reader gives it (an empty cell: None).

    Each distinct text is made once and shared by its cells (an item code repeats on every
    day or month of the item): the same values, in a tenth of the memory, and a frame that a
    reader process pickles and this one unpickles several times faster (once per distinct
    text, not per cell)."""
    text: dict[bytes, CellValue] = {b: b.decode() for b in set(raw)}
    if b"" in text:
        text[b""] = None
    if any(b"&" in b for b in text):
        text = {b: unescape(v) if v and "&" in v else v for b, v in text.items()}  # type: ignore[operator,arg-type]
    return list(map(text.__getitem__, raw))


def _column(
    styles: Sequence[bytes],
    numbers: Sequence[bytes],
    texts: Sequence[bytes],
    date_ids: set[int],
    day0: dt.datetime,
) -> list[CellValue] | None:
    """One column's values (None: a cell this reader does not read)."""
    if all(numbers):  # numbers only (the usual column): converted at once
        used = {int(s) if s else 0 for s in set(styles)}
        if not used & date_ids:
            return _numbers(numbers)
        if used <= date_ids:
            return _dates(numbers, day0)
    elif not any(numbers):  # text and empty cells
        return _texts(texts)
    out: list[CellValue] = []  # numbers and text in one column: cell by cell
    for s, n, t in zip(styles, numbers, texts, strict=True):
        if n:
            col = _column([s], [n], [b""], date_ids, day0)
            if col is None:
                return None
            out.append(col[0])
        else:
            out.append(unescape(t.decode()) if t else None)
    return out


def _rigid(
    first: tuple[bytes, ...], min_col: int, max_col: int, date_ids: set[int], other_ids: set[int]
) -> tuple[re.Pattern[bytes], list[str]] | None:
    """A row whose cells are in the forms and styles of ``first`` (the first data row's groups):
    one group per cell, most rows of a table written by sop-excel (a column's cells share a
    form and a style); a column whose first cell is empty is matched as the flexible pattern
    matches it. None when a number in ``first`` has a style this reader leaves alone."""
    mine = [COLUMN_LETTERS[c] for c in range(min_col, max_col + 1)]
    cells, kinds = [], []
    for j, letter in enumerate(mine):
        s, n, t = first[1 + 3 * j : 4 + 3 * j]
        head = b'<c r="' + letter.encode() + rb'\1"' + (b' s="' + s + b'"' if s else b"")
        if n:
            if int(s or 0) in other_ids:
                return None
            cells.append(head + rb"><v>([^<]*)</v></c>")
            kinds.append("date" if int(s or 0) in date_ids else "number")
        elif t:
            cells.append(head + rb' t="inlineStr"><is><t>([^<]*)</t></is></c>')
            kinds.append("text")
        else:  # empty: any form (three groups, as the flexible pattern's)
            cells.append(_cell(letter))
            kinds.append("any")
    before, after = _others(min_col, max_col)
    return re.compile(rb'<row r="(\d+)"[^>]*>' + before + b"".join(cells) + after, re.S), kinds


def _rigid_columns(
    groups: list[list[bytes]], kinds: list[str], date_ids: set[int], day0: dt.datetime
) -> list[list[CellValue]] | None:
    """The columns of rows matched by a :func:`_rigid` pattern (None: a cell to read the
    flexible way, such as an empty number)."""
    out: list[list[CellValue]] = []
    at = 1
    for kind in kinds:
        raw = groups[at]
        if kind == "any":
            col = _column(groups[at], groups[at + 1], groups[at + 2], date_ids, day0)
            if col is None:
                return None
            out.append(col)
            at += 3
            continue
        at += 1
        if kind == "text":
            out.append(_texts(raw))
            continue
        try:
            col = _numbers(raw) if kind == "number" else _dates(raw, day0)
        except ValueError:
            return None
        if col is None:
            return None
        out.append(col)
    return out


def _transpose(found: list[tuple[bytes, ...]]) -> list[list[bytes]]:
    """The matches' groups a group at a time: ``list(zip(*found))`` made by column (zip over a
    slice's 90,000 rows took longer than matching them)."""
    if not found:
        return []
    return [list(map(itemgetter(j), found)) for j in range(len(found[0]))]


def plain_span(xml: bytes, first: int, last: int) -> tuple[int, int]:
    """Byte offsets of the rows ``first``..``last`` found by their start tags as sop-excel
    writes them (``<row r="5"``), without going through the rows before: (-1, -1) when the
    first is not found so (then :func:`~sop_excel.workbook.zip_io.cells.row_span` finds them).
    :func:`plain_rows` checks that the span holds exactly those rows."""
    lo = xml.find(b'<row r="%d"' % first)
    if lo < 0:
        return -1, -1
    hi = xml.find(b'<row r="%d"' % (last + 1), lo)
    if hi < 0:
        hi = xml.find(b"</sheetData>", lo)
    return (lo, hi) if hi >= 0 else (-1, -1)


def plain_rows(
    xml: bytes,
    lo: int,
    hi: int,
    bounds: tuple[int, int, int, int],
    date_ids: set[int],
    other_ids: set[int],
    date1904: bool,
) -> Rows | None:
    """The table's rows (header first) from ``xml[lo:hi]`` (its rows' span of the sheet), or
    None when a row or cell is not in the plain form (then read it the general way).

    ``bounds``: the table's (first column, first row, last column, last row); ``date_ids``:
    the styles that make a number a date; ``other_ids``: styles this reader leaves to the
    other readers (durations)."""
    min_col, min_row, max_col, max_row = bounds
    width = max_col - min_col + 1
    if xml.find(b"\r", lo, hi) >= 0:  # XML turns a raw CR LF into LF: the other readers'
        return None
    flexible = _pattern(min_col, max_col)
    day0 = _DAY0_1904 if date1904 else _DAY0_1900
    # the header row, on its own (text, where the columns below hold numbers)
    m = ROW_START.search(xml, lo + 1, hi)
    start = m.start() if m else hi
    head = flexible.fullmatch(xml, lo, start)
    if head is None or int(head.group(1)) != min_row:
        return None
    header: list[CellValue] = []
    for j in range(width):
        s, n, t = head.groups(b"")[1 + 3 * j : 4 + 3 * j]
        col = _column([s], [n], [t], date_ids, day0)
        if col is None:
            return None
        header.extend(col)
    columns: list[list[CellValue]] = [[] for _ in range(width)]
    first = flexible.match(xml, start, hi) if start < hi else None
    rigid = (
        _rigid(first.groups(b""), min_col, max_col, date_ids, other_ids)
        if first is not None
        else None
    )
    expect = min_row + 1
    while start < hi:
        end = min(start + (_FIRST if expect == min_row + 1 else _SLICE), hi)
        if end < hi:  # a slice ends where a row starts
            m = ROW_START.search(xml, end, hi)
            end = m.start() if m else hi
        part = xml[start:end]
        n_rows = part.count(b"<row ")
        cols = None
        if rigid is not None:  # the usual case: every cell of a column in one form and style
            found = rigid[0].findall(part)
            if len(found) == n_rows:
                groups = _transpose(found)
                cols = _rigid_columns(groups, rigid[1], date_ids, day0)
        if cols is None:
            found = flexible.findall(part)
            if len(found) != n_rows:  # a row not in the plain form
                return None
            groups = _transpose(found)
            cols = []
            for j in range(width):
                styles, numbers, texts = groups[1 + 3 * j : 4 + 3 * j]
                if {int(s) for s in set(styles) if s} & other_ids:
                    return None
                col = _column(styles, numbers, texts, date_ids, day0)
                if col is None:
                    return None
                cols.append(col)
        if n_rows:
            rows = list(map(int, groups[0]))
            if rows != list(range(expect, expect + n_rows)):
                return None  # a row missing (or out of order): left to the other readers
            expect += n_rows
            for j in range(width):
                columns[j].extend(cols[j])
        start = end
    if expect != max_row + 1:
        return None
    # by column: frame_from_rows takes the columns as they are; indexing makes a row
    return cast("Rows", ColumnRows(header, columns))
