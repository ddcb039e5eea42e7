"""A big table read from its sheet's XML by one regex, when every body row is written alike.

The daily refresh reads the Actuals and Production tables (310,000 and 157,000 rows at 10,000
items) in helper processes; python-calamine parses the whole sheet into Python rows, about
2 s of CPU for the Actuals. A sheet that sop-excel wrote holds each row of such a table in one
form: ``<row r="n">``, then each column's cell with one style and type (a number, a date serial
with a date style, an inline string). That form is read here in one regex pass and converted a
column at a time, giving the values calamine gives (a float per number, a ``datetime.date`` per
whole date serial, a ``str`` per text). Anything else -- a row in another form (shared strings,
an empty cell, a formula, spans, another style), an entity in a text, a date with a time, a
number in another notation, a row missing -- gives None and calamine reads the table as before.
"""

from __future__ import annotations

import re
from operator import itemgetter

import numpy as np

from sop_excel.workbook.zip_io.xml_text import COLUMN_LETTERS

# one cell of the first body row: column letters, row, style, whether an inline string, the value
_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?( t="inlineStr")?>'
    rb"(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>)</c>"
)
_NUMBER = rb"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_WHOLE = rb"(\d{1,7})"  # a date serial: 2,958,465 is 9999-12-31
_TEXT = rb"([^<&]+)"  # no entity to undo, not empty
_EPOCH_1900 = np.datetime64("1899-12-30", "D")  # serial 61 on: 1900-03-01 on
_EPOCH_1904 = np.datetime64("1904-01-01", "D")


def uniform_columns(
    xml: bytes, bounds: tuple[int, int, int, int], date_ids: set[int], date1904: bool
) -> list[list] | None:
    """The body of the table at ``bounds`` (its first row is the header) as values, a column
    at a time, when every row is in the form of the first body row and holds exactly the
    table's cells; else None. ``date_ids``: the styles that show dates; ``date1904``: the
    workbook's date system."""
    c1, r1, c2, r2 = bounds
    n = r2 - r1
    if n < 1:
        return None
    p = xml.find(b'<row r="%d">' % (r1 + 1))
    if p < 0:
        return None
    e = xml.find(b"</row>", p)
    first = xml[p + len(b'<row r="%d">' % (r1 + 1)) : e]
    cells = _CELL.findall(first)
    if _CELL.sub(b"", first) or len(cells) != c2 - c1 + 1:
        return None
    pattern, kinds = [rb'<row r="(\d+)">'], []
    for j, (letters, row, style, inline, _, _) in enumerate(cells):
        if letters.decode() != COLUMN_LETTERS[c1 + j] or int(row) != r1 + 1:
            return None
        kind = "text" if inline else ("date" if style and int(style) in date_ids else "number")
        kinds.append(kind)
        pattern.append(
            b'<c r="'
            + letters
            + rb'\1"'
            + (b' s="' + style + b'"' if style else b"")
            + inline
            + b">"
            + (
                b"<is><t>" + _TEXT + b"</t></is>"
                if kind == "text"
                else b"<v>" + (_WHOLE if kind == "date" else _NUMBER) + b"</v>"
            )
            + b"</c>"
        )
    pattern.append(b"</row>")
    end = xml.find(b'<row r="%d"' % (r2 + 1), p)
    end = xml.find(b"</sheetData>", p) if end < 0 else end
    if end < 0:
        return None
    found = re.compile(b"".join(pattern)).findall(xml, p, end)
    # each match is one whole row: as many as rows in the stretch, numbered one after the other
    if len(found) != n or xml.count(b"<row", p, end) != n:
        return None
    if list(map(itemgetter(0), found)) != [b"%d" % r for r in range(r1 + 1, r2 + 1)]:
        return None
    columns: list[list] = []
    for j, kind in enumerate(kinds):
        raw = list(map(itemgetter(j + 1), found))
        if kind == "text":
            try:
                columns.append(list(map(bytes.decode, raw)))
            except UnicodeDecodeError:
                return None
            continue
        values = np.array(raw, dtype=bytes)
        try:  # the regex let through only what these read
            numbers = values.astype(np.float64 if kind == "number" else np.int64)
        except (ValueError, OverflowError):
            return None
        if kind == "number":
            columns.append(numbers.tolist())
            continue
        serial = numbers
        if (not date1904 and serial.min() < 61) or serial.max() > 2_958_465:
            return None  # before 1900-03-01 (Excel's 1900 leap day), or after 9999
        days = (_EPOCH_1904 if date1904 else _EPOCH_1900) + serial.astype("timedelta64[D]")
        columns.append(days.tolist())  # datetime.date each
    return columns
