"""The workbook layout, loaded from workbook_templates/sop_plan.toml."""

from __future__ import annotations

import functools
import re
import tomllib
from importlib.resources import files

from sop_excel.errors import LayoutError
from sop_excel.models import LayoutSpec, TableLayout

__all__ = [
    "cell_address",
    "column_letter",
    "load_layout",
    "missing_table",
    "parse_cell",
    "table_range",
]


@functools.cache
def load_layout(name: str = "sop_plan") -> LayoutSpec:
    """Read and validate a layout shipped in ``workbook_templates``."""
    text = (files("workbook_templates") / f"{name}.toml").read_text(encoding="utf-8")
    return LayoutSpec.model_validate(tomllib.loads(text))


def column_letter(index: int) -> str:
    """1-based column index to letters: 1 -> A, 28 -> AB."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def parse_cell(ref: str) -> tuple[int, int]:
    """'B3' -> (row 3, column 2), both 1-based."""
    m = _CELL.match(ref.upper())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def cell_address(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def table_range(table: TableLayout, n_rows: int, n_cols: int | None = None) -> str:
    """The A1 range of a table with a header and ``n_rows`` data rows (at least one row)."""
    r0, c0 = parse_cell(table.anchor)
    n_cols = n_cols if n_cols is not None else len(table.columns)
    return f"{cell_address(r0, c0)}:{cell_address(r0 + max(n_rows, 1), c0 + n_cols - 1)}"


def missing_table(book: str, layout: LayoutSpec, name: str) -> LayoutError:
    """The error for a table the workbook lacks, naming the sheet the layout puts it on."""
    try:
        where = f"sheet '{layout.table(name).sheet}'"
    except KeyError:
        where = "the workbook"
    return LayoutError(
        f"{book}: table {name} is missing from {where}. Restore it from the template "
        "(sop-excel demo builds a complete workbook) or rename your table back."
    )
