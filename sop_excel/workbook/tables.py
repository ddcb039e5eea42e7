"""Frames in and out of a workbook's tables, through the WorkbookIO seam.

Planner-owned columns (overrides, owners, comments) are carried over by key on every write,
so a refresh never loses what people typed.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sop_excel.workbook.convert import FrameRows, frame_from_rows, rows_from_frame
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.io import Rows, WorkbookIO
from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

__all__ = ["cell_locator", "frame_rows", "keep_planner_columns", "read_frame", "rows_for", "write_frame"]


def read_frame(book: WorkbookIO, name: str) -> pd.DataFrame:
    """A table as a checked frame with the layout's field names."""
    values = getattr(book, "read_values", None)  # a side with a faster value-only reader (ZipIO)
    return frame_from_rows(values(name) if values else book.read_table(name), load_layout().table(name))


def keep_planner_columns(new: pd.DataFrame, old: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copy planner-owned columns from ``old`` into ``new`` where the keys match.

    Returns the merged frame and the old rows with planner input whose key is gone (to report).
    """
    table = load_layout().table(name)
    planner = [f for f in table.planner_fields if f in old.columns]
    if old.empty or not planner:
        return new, old.iloc[0:0]
    keyed = old[table.key + planner]
    has_input = keyed[planner].apply(lambda s: s.notna() & (s.astype(str).str.strip() != "")).any(axis=1)
    keyed = keyed[has_input]
    merged = new.drop(columns=[p for p in planner if p in new.columns]).merge(keyed, on=table.key, how="left")
    for p in planner:
        if table.column(p).kind == "text":
            merged[p] = merged[p].fillna("")
    gone = keyed.merge(new[table.key], on=table.key, how="left", indicator=True)
    lost = gone[gone["_merge"] == "left_only"].drop(columns="_merge")
    return merged[list(new.columns) + [p for p in planner if p not in new.columns]], lost


def rows_for(name: str, frame: pd.DataFrame, headers: list[str] | None = None) -> Rows:
    """Rows (header first) for a table, formula columns carrying their Python values."""
    return rows_from_frame(frame, load_layout().table(name), table_formulas(name), headers=headers)


def frame_rows(name: str, frame: pd.DataFrame, headers: list[str] | None = None) -> FrameRows:
    """:func:`rows_for`, made a chunk at a time as the builder reads them (a big workbook's
    cells as Python rows would take several GB; see :class:`FrameRows`)."""
    return FrameRows(frame, load_layout().table(name), table_formulas(name), headers=headers)


def write_frame(book: WorkbookIO, name: str, frame: pd.DataFrame) -> None:
    """Replace a table's contents with ``frame`` (in layout order)."""
    book.write_table(name, frame_rows(name, frame))  # rows made as the side writes them


def cell_locator(frame: pd.DataFrame, name: str) -> Callable[[int, str], str]:
    """``(row position in frame, field) -> "Sheet 'Events', cell E5"`` for a frame :func:`read_frame`
    gave: the cell each value came from, for messages of checks made on the frame."""
    table = load_layout().table(name)
    r0, c0 = parse_cell(table.anchor)
    rows = frame.attrs.get("excel_rows") or range(r0 + 1, r0 + 1 + len(frame))
    cols = frame.attrs.get("excel_columns") or range(c0, c0 + len(table.fields))

    def where(pos: int, field: str) -> str:
        return f"Sheet '{table.sheet}', cell {cell_address(int(rows[pos]), int(cols[table.fields.index(field)]))}"

    return where
