"""Regenerating one sheet: the old rows streamed, each written table's rows replaced (one by one, or in bulk)."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import IO, Any

from openpyxl.utils import get_column_letter, range_boundaries

from sop_excel.workbook import package
from sop_excel.workbook.zip_io.cells import (
    CELL,
    ROW_START,
    row_span,
)
from sop_excel.workbook.zip_io.parts import (
    DeflatedMember,
    TableEdit,
    stretch_one,
)
from sop_excel.workbook.zip_io.rows import Seq, TableRows, seq_join, seq_text
from sop_excel.workbook.zip_io.xml_text import (
    COLUMN_LETTERS,
    COLUMN_NUMBERS,
    ZipUnsupported,
    xml_attrs,
)


def write_sheet(out: zipfile.ZipFile, info: zipfile.ZipInfo, job: tuple) -> None:
    """One rewritten sheet into ``out``: ``job`` is its old XML, its edits and their styles."""
    xml, edits, styles, widths = job
    w = DeflatedMember(out, info)
    rewrite_sheet(xml, edits, styles, w, widths)  # type: ignore[arg-type]  # it has write()
    w.close()


# -- regenerating one sheet --------------------------------------------------------------------
_ROW = re.compile(rb"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_DIM = re.compile(rb'<dimension ref="([^"]*)"\s*/>')


def rewrite_sheet(
    xml: bytes,
    edits: list[TableEdit],
    styles: list[
        tuple[list[str], list[Callable[[dt.date], str] | None], dict[int, dict[int, str]]]
    ],
    out: IO[bytes],
    widths: dict[int, float] | None = None,
) -> None:
    """Stream the sheet with each edited table's rows replaced (and its columns at least
    ``widths`` wide)."""
    sd = xml.find(b"<sheetData")
    if sd < 0:
        raise ZipUnsupported("the sheet is written with XML prefixes")
    sd_open_end = xml.find(b">", sd) + 1
    empty = xml[sd_open_end - 2 : sd_open_end] == b"/>"
    sd_close = sd_open_end if empty else xml.find(b"</sheetData>", sd_open_end)
    prefix, suffix = xml[:sd], xml[sd_close + (0 if empty else len(b"</sheetData>")) :]
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
        writers.append(TableRows(e, col_styles, date_styles, _header_style(xml, c1, r1), per_row))

    def fresh(rnum: int) -> list[tuple[int, str]]:
        return [cell for w in writers if (cell := w.row(rnum)) is not None]

    m = _DIM.search(prefix)  # the old dimension grown to hold the tables: never too small
    if m:
        try:
            d1, dr1, d2, dr2 = range_boundaries(m.group(1).decode())
        except (ValueError, TypeError):
            d1 = dr1 = d2 = dr2 = 1
        dim = (
            f"{get_column_letter(d1 or 1)}{dr1 or 1}:"
            f"{get_column_letter(max(d2 or 1, max_col))}{max(dr2 or 1, max_row)}"
        )
        prefix = prefix[: m.start()] + f'<dimension ref="{dim}"/>'.encode() + prefix[m.end() :]
    out.write(package.with_widths(prefix, widths or {}))
    out.write(b"<sheetData>")
    start, end = (
        sd_open_end,
        sd_close,
    )  # the old rows: xml[start:end] (not copied: it may be 100s of MB)
    lo_row = min(r[2] for r in regions)
    hi_row = max(r[3] for r in regions)
    kept = unchanged_rows(xml, start, end, edits[0], writers[0]) if len(edits) == 1 else None
    plan = bulk_plan(xml, start, end, regions, lo_row, hi_row) if WHOLESALE and not kept else None
    if kept is not None:  # the unchanged rows as the file has them, the others made anew
        p0, q = kept
        w = writers[0]
        out.write(b"".join([rm.group(0) for rm in _ROW.finditer(xml, start, p0)]))
        out.write(memoryview(xml)[p0:q])
        if w.r1 + 1 + edits[0].unchanged <= w.last:
            _rows_in_bulk(w.r1 + 1 + edits[0].unchanged, w.last, writers, {}, out.write)
    elif plan is None:  # the old rows one by one
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


def _rows_one_by_one(
    xml: bytes,
    start: int,
    end: int,
    wanted: list[int],
    fresh: Callable[[int], list[tuple[int, str]]],
    regions: list[tuple[int, int, int, int]],
    lo_row: int,
    hi_row: int,
    write: Callable[[bytes], Any],
) -> None:
    """The old rows in ``xml[start:end]`` one by one, each with the cells outside every cleared
    region kept and the new cells of its number merged in; the ``wanted`` row numbers no old row
    holds are made anew where they fall. The reference path (any sheet); see :func:`bulk_plan`."""
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


# -- keeping the rows that did not change ------------------------------------------------------
KEEP_UNCHANGED = True
"""Whether :func:`rewrite_sheet` may keep a table's unchanged leading rows as the file has them
(:func:`unchanged_rows`); False: every row made anew (tests compare both)."""

# what varies between the rows of one table as this side writes them: the row's number, each
# cell's address, a number's text, a string's text
_ROW_TOKEN = re.compile(rb'<row r="\d+">| r="([A-Z]{1,3})\d+"|<v>[^<]*</v>|<t>[^<]*</t>')


def _row_pattern(row: bytes) -> re.Pattern[bytes] | None:
    """A regex for a table row of the form ``row`` (one row as this save writes it): the same
    cells, styles and types, any number and any text of no leading or trailing space, each
    cell's address in the row's number (group 1). None for a row this cannot describe (a
    formula, a text kept with its spaces)."""
    if b"<f" in row or b"<t " in row or not row.startswith(b"<row "):
        return None
    out, i = [], 0
    for m in _ROW_TOKEN.finditer(row):
        out.append(re.escape(row[i : m.start()]))
        tok = m.group(0)
        if tok.startswith(b"<row"):
            out.append(rb'<row r="(\d+)">')
        elif m.group(1):
            out.append(b' r="' + m.group(1) + rb'\1"')
        elif tok.startswith(b"<v>"):
            out.append(rb"<v>[^<]+</v>")
        else:
            out.append(rb"<t>[^<\s](?:[^<]*[^<\s])?</t>")
        i = m.end()
    out.append(re.escape(row[i:]))
    return re.compile(b"".join(out))


def unchanged_rows(
    xml: bytes, start: int, end: int, e: TableEdit, w: TableRows
) -> tuple[int, int] | None:
    """Where the table's first ``e.unchanged`` body rows are in ``xml[start:end]`` (the old
    rows), when they can be kept as they are: ``(p, q)``, else None (every row made anew).

    The caller vouches that those rows hold, value for value, what this save writes there
    (:attr:`FrameRows.unchanged`); kept here only when the file also holds them in the form
    this save writes them: rows numbered one after the other from the table's first body row,
    each nothing but the table's cells with the styles and types of the first row as made now
    (so a sheet saved by Excel, LibreOffice or openpyxl, with shared strings, spans or other
    styles, is written anew), and the sheet holds nothing below them but the table's other old
    rows (which this save replaces) -- what :func:`bulk_plan` would drop, the same way.
    """
    n = e.unchanged
    c1, r1, c2, r2 = e.old
    if (
        not KEEP_UNCHANGED
        or n <= 0
        or e.header_changed
        or w.per_row
        or n > min(len(e.body), r2 - r1)
        or e.new_last_col != c2
    ):
        return None
    p = xml.find(b'<row r="%d">' % (r1 + 1), start, end)
    if p < 0 or any(int(x) > r1 for x in ROW_START.findall(xml, start, p)):
        return None
    first: list[bytes] = []
    _rows_in_bulk(r1 + 1, r1 + 1, [w], {}, first.append)
    pattern = _row_pattern(first[0]) if len(first) == 1 else None
    if pattern is None:
        return None
    q = xml.find(b'<row r="%d"' % (r1 + n + 1), p, end)
    q = end if q < 0 else q
    at, r = p, r1 + 1
    for m in pattern.finditer(xml, p, q):  # one after the other, nothing in between
        if m.start() != at or m.group(1) != b"%d" % r:
            return None  # a row in another form, a gap, or rows out of order
        at, r = m.end(), r + 1
    if at != q or r != r1 + n + 1:
        return None
    # below them, only the table's other old rows (numbered up to its last, its cells only)
    rest = [int(x) for x in ROW_START.findall(xml, q, end)]
    if rest:
        plain = len(re.findall(rb'<row r="\d+">', xml[q:end]))  # no attributes to keep
        if xml.count(b"<row", q, end) != len(rest) or plain != len(rest) or b'ref="' in xml[q:end]:
            return None
        if any(map(int.__ge__, rest, rest[1:])) or rest[0] <= r1 + n or rest[-1] > r2:
            return None
        inside = re.compile(rb'<c r="' + _letters_pattern(set(range(c1, c2 + 1))))
        if len(inside.findall(xml, q, end)) != xml.count(b"<c ", q, end):
            return None
    return p, q


# -- the rows of a sheet's tables in bulk -------------------------------------------------------
WHOLESALE = True
"""Whether :func:`rewrite_sheet` may make a table region's rows anew in bulk (where the old
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
        x = COLUMN_LETTERS[c]
        by_prefix.setdefault(x[:-1], []).append(x[-1])
    return (
        b"(?:"
        + b"|".join(f"{p}[{''.join(last)}]".encode() for p, last in by_prefix.items())
        + rb")\d"
    )


def bulk_plan(
    xml: bytes,
    start: int,
    end: int,
    regions: list[tuple[int, int, int, int]],
    lo_row: int,
    hi_row: int,
) -> tuple[int, int, list[tuple[int, int, int, int, bool]], dict[int, str]] | None:
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
        found = ROW_START.findall(xml, start, end)
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

    def row_at(
        i: int,
    ) -> tuple[int, int, int]:  # the row holding xml[i]: its number, start, next's start
        p = xml.rfind(b"<row", start, i)
        q = xml.find(b"<row", i, end)
        return int(ROW_START.match(xml, p).group(1)), p, q if q >= 0 else end  # type: ignore[union-attr]

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
    runs: list[
        list[int]
    ] = []  # odd rows next to each other: [first, last, start, end, index of last]
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


def _rows_in_bulk(
    first: int,
    last: int,
    writers: list[TableRows],
    extras: dict[int, str],
    write: Callable[[bytes], Any],
) -> None:
    """The tables' rows ``first``..``last`` made anew, as the one-by-one path makes them where no
    old cell stays: each row's new cells in column order, in the old row's attributes
    (``extras``) or ``<row r="n">``; no row where no table has one."""
    writers = sorted(writers, key=lambda w: w.c1)
    edges = {first, last + 1}
    for w in (
        writers
    ):  # runs of rows with the same tables (side by side or stacked; a new header row alone)
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
                opens: Seq = (
                    ["", ""],
                    [
                        [
                            f"<row{extras[r]}>" if r in extras else f'<row r="{r}">'
                            for r in range(lo, hi + 1)
                        ]
                    ],
                )
            else:
                opens = ['<row r="', '">'], [rnums]
            seq = seq_join(opens, *[w.cells(lo, hi, rnums) for w in here], (["</row>"], []))
            write(seq_text(seq, len(rnums)).encode())


def _stretch_cf(ref: str, bodies: list[tuple[int, int, int, int]]) -> str:
    new = stretch_one(ref if ":" in ref else f"{ref}:{ref}", bodies)
    return ref if new == f"{ref}:{ref}" else new


def _row_number(attrs: bytes) -> int:
    m = re.search(rb'\br="(\d+)"', attrs)
    if not m:
        raise ZipUnsupported("a row without its number")
    return int(m.group(1))


_MIXED_MAX_ROWS = 500


def mixed_styles(xml: bytes, e: TableEdit) -> dict[int, dict[int, str]]:
    """Columns of a small table whose body cells carry different styles (the Settings Value
    column: a date, a percent, a count), as column -> body row (1-based) -> style attribute, so
    each row keeps its own number format when the table is rewritten with its columns in the
    same places. Empty for large tables (data tables have one style per column)."""
    c1, r1, c2, r2 = e.old
    if r2 - r1 > _MIXED_MAX_ROWS or e.header_changed:
        return {}
    lo, hi = row_span(xml, r1 + 1, r2)
    seen: dict[int, dict[int, str]] = {}
    for letters, rnum, s, _, rest, _ in CELL.findall(xml[lo:hi]):
        c = COLUMN_NUMBERS[letters.decode()]
        if c1 <= c <= c2:
            sid = (s.decode() if s else "") or xml_attrs(rest).get("s", "")
            seen.setdefault(c - c1, {})[int(rnum) - r1] = (
                f' s="{sid}"' if sid not in ("", "0") else ""
            )
    return {j: by_row for j, by_row in seen.items() if len(set(by_row.values())) > 1}


def _header_style(xml: bytes, col: int, row: int) -> str:
    lo, hi = row_span(xml, row, row)
    for letters, _, s, _, _, _ in CELL.findall(xml[lo:hi]):
        if COLUMN_NUMBERS[letters.decode()] == col and s:
            return f' s="{s.decode()}"'
    return ""


def _col_at(xml: bytes, i: int) -> int:
    """The column number of the cell reference starting at ``xml[i]`` (``AB12`` -> 28)."""
    end = i
    while 65 <= xml[end] <= 90:
        end += 1
    return COLUMN_NUMBERS[xml[i:end].decode()]


def _kept_cells(
    inner: bytes, rnum: int, regions: list[tuple[int, int, int, int]]
) -> list[tuple[int, bytes]]:
    """The cells of an old row that lie outside every cleared region, with their columns."""
    cuts = [(c1, c2) for c1, c2, r1, r2 in regions if r1 <= rnum <= r2]
    if not cuts:
        return [(0, inner)] if inner else []
    if (
        len(cuts) == 1
        and inner[:6] == b'<c r="'
        and b'ref="' not in inner
        and inner.count(b"<c ") == inner.count(b'<c r="')
    ):  # every cell names its address first
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
                    raise ZipUnsupported(
                        f"row {rnum}: a shared or array formula starts inside a table"
                    )
                break
        else:
            kept.append((c, b"<c " + part))
    return kept


def _new_row(
    rnum: int, attrs: bytes, kept: list[tuple[int, bytes]], fresh: list[tuple[int, str]]
) -> bytes:
    attrs = re.sub(rb'\s+spans="[^"]*"', b"", attrs) if attrs else b' r="%d"' % rnum
    parts = [(c, x) for c, x in kept] + [(c, x.encode()) for c, x in fresh]
    if len(parts) > 1:
        parts.sort(key=lambda p: p[0])
    return b"<row" + attrs + b">" + b"".join(x for _, x in parts) + b"</row>"


def _follow_in_sheet(suffix: bytes, edits: list[TableEdit]) -> bytes:
    """Conditional formats and validations that covered a table body follow its new size."""
    bodies = [
        (e.old[0], e.old[1] + 1, max(e.old[2], e.new_last_col), e.new_last_row) for e in edits
    ]

    def fix(m: re.Match[bytes]) -> bytes:
        refs = m.group(2).decode().split()
        new = " ".join(_stretch_cf(r, bodies) for r in refs)
        return m.group(1) + new.encode() + m.group(3)

    return re.sub(
        rb'(<(?:conditionalFormatting|dataValidation)\b[^>]*?\ssqref=")([^"]*)(")', fix, suffix
    )
