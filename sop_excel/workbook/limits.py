"""Excel's grid, checked before anything is written: a table that would not fit is refused with a
message saying which table, how far it would reach and what to do, and the file is not touched.

Excel's limits (Microsoft's "Excel specifications and limits"): 1,048,576 rows and 16,384
columns a sheet, 32,767 characters in a cell, 255 in a table's column name (names unique
without regard to case), 31 in a sheet name, 255 in a defined name. A file past them is one
Excel repairs (cuts the table, drops the text) or will not open. Every side checks with
:func:`check_table_write` (the zip editor, openpyxl, live Excel, the builder of new files).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sop_excel.errors import InputError
from sop_excel.models import (
    MAX_CELL_TEXT,
    MAX_COLS,
    MAX_COLUMN_NAME,
    MAX_NAME,
    MAX_ROWS,
    MAX_SHEET_NAME,
)
from sop_excel.workbook.io import CellValue

__all__ = [
    "MAX_CELL_TEXT",
    "MAX_COLS",
    "MAX_COLUMN_NAME",
    "MAX_NAME",
    "MAX_ROWS",
    "MAX_SHEET_NAME",
    "check_table_write",
    "defined_name_problem",
    "sheet_name_problem",
    "trim_text",
]


# What to do when a table of the template would not fit
_HINTS = {
    "tblActuals": "The Actuals sheet holds one row per item and day loaded: load fewer days of "
    "actuals (only the months the plan needs).",
    "tblScenarioPlan": "The Scenario plan has a row per scenario, item and month: use fewer scenarios.",
    "tblLoad": "The Supply sheet has a row per scenario, resource and month: use fewer scenarios.",
    "tblFinance": "The Finance sheet has a row per scenario, family and month: use fewer scenarios.",
    "tblCompareMonthly": "The Compare sheet has a column per scenario: use fewer scenarios.",
    "tblSnapshots": "The Snapshots sheet keeps every locked plan's forecast: keep fewer locked versions.",
    "tblLog": "The Log keeps a row per command run: move old rows elsewhere.",
    "tblExceptionLog": "The exception log keeps a row per event: move old rows elsewhere.",
}


def check_table_write(
    book: str,
    sheet: str,
    table: str,
    first_col: int,
    first_row: int,
    rows: Sequence[Sequence[CellValue]],
) -> None:
    """Refuse to write ``rows`` (header first) as ``table`` with its header at ``first_row``,
    ``first_col`` (1-based) if the result would not fit Excel's grid.

    Raises:
        InputError: which limit, by how much, and what to do; nothing has been written.
    """
    header = list(rows[0])
    n_body = max(len(rows) - 1, 1)  # an Excel Table keeps at least one body row
    last_row, last_col = first_row + n_body, first_col + len(header) - 1
    where = f"{book}: table {table} on sheet '{sheet}'"
    todo = _HINTS.get(table, "")
    if last_row > MAX_ROWS:
        raise InputError(
            f"{where} would need {n_body:,} rows and end at row {last_row:,}, past Excel's "
            f"last row ({MAX_ROWS:,}). Nothing was written. {todo}".rstrip()
        )
    if last_col > MAX_COLS:
        raise InputError(
            f"{where} would need {len(header):,} columns and end past Excel's last column "
            f"({MAX_COLS:,}, XFD). Nothing was written. {todo}".rstrip()
        )
    seen: dict[str, str] = {}
    for h in header:
        name = "" if h is None else str(h)
        if len(name) > MAX_COLUMN_NAME:
            raise InputError(
                f"{where}: the column name {name[:40]!r}... is {len(name):,} characters long; "
                f"Excel allows {MAX_COLUMN_NAME} in a table's column name. Nothing was written. "
                "Shorten the name it comes from (a scenario's name gives '<name> revenue')."
            )
        if name.casefold() in seen:
            raise InputError(
                f"{where}: the column names {seen[name.casefold()]!r} and {name!r} differ only in "
                "upper and lower case, which Excel does not tell apart. Nothing was written. "
                "Rename one of what they come from (scenarios, families)."
            )
        seen[name.casefold()] = name
    found = _long_text(rows)
    if found is not None:
        i, j, n = found
        raise InputError(
            f"{where}: body row {i:,}, column {header[j]!r} would hold {n:,} characters; an Excel "
            f"cell holds at most {MAX_CELL_TEXT:,}. Nothing was written. Shorten the text where "
            "it comes from (a name, a description, a comment)."
        )


def _long_text(rows: Sequence[Sequence[CellValue]]) -> tuple[int, int, int] | None:
    """(body row, column, length) of the first text longer than a cell holds, or None."""
    frame = getattr(
        rows, "frame", None
    )  # the builder's and write_frame's rows: check the frame's columns
    if frame is not None:
        fields = [c for c in frame.columns if frame[c].dtype == object]
        header = [str(h) for h in rows[0]]
        for f in fields:
            values = frame[f].tolist()
            try:  # text columns: C speed (a 310,000-row column in a few ms)
                longest = max(map(len, values), default=0)
            except TypeError:  # numbers, None or dates among the text
                longest = max((len(v) for v in values if v.__class__ is str), default=0)
            if longest > MAX_CELL_TEXT:
                i = next(
                    k for k, v in enumerate(values) if v.__class__ is str and len(v) > MAX_CELL_TEXT
                )
                col = getattr(rows, "table", None)
                name = col.column(f).header if col is not None and f in col.fields else f
                return i + 1, header.index(name) if name in header else 0, len(values[i])
        return None
    for i, row in enumerate(rows[1:], start=1):
        for j, v in enumerate(row):
            if v.__class__ is str and len(v) > MAX_CELL_TEXT:
                return i, j, len(v)
    return None


def trim_text(text: str, limit: int = MAX_CELL_TEXT) -> str:
    """Text cut to fit a cell, saying how much was left out (for texts sop-excel writes itself:
    the Log's details)."""
    if len(text) <= limit:
        return text
    tail = " ... ({} more characters not kept: an Excel cell holds {:,})"
    keep = limit - len(tail.format(f"{len(text):,}", limit))
    return text[:keep] + tail.format(f"{len(text) - keep:,}", limit)


_NAME_START = re.compile(r"[A-Za-z_\\]")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\\]*")
_CELL_LIKE = re.compile(r"([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|[RrCc])")


def defined_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an Excel defined name or table name, or None if it can."""
    if not name or len(name) > MAX_NAME:
        return f"is {len(name)} characters long (1 to {MAX_NAME})"
    if not _NAME_START.match(name) or not _NAME_CHARS.fullmatch(name):
        return "must start with a letter, _ or \\ and hold only letters, digits, _, . and \\"
    if _CELL_LIKE.fullmatch(name):
        return "looks like a cell reference"
    return None


def sheet_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an Excel sheet name, or None if it can."""
    if not name.strip() or len(name) > MAX_SHEET_NAME:
        return f"is {len(name)} characters long (1 to {MAX_SHEET_NAME})"
    if re.search(r"[\\/?*\[\]:]", name) or name.startswith("'") or name.endswith("'"):
        return "holds a character Excel refuses in a sheet name (\\ / ? * [ ] : or a quote at either end)"
    return None
