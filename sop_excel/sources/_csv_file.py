"""Actuals from a CSV file: every problem reported at once, by file row and column."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError
from sop_excel.sources._validate import (
    ACTUALS_COLUMNS,
    Locator,
    _Twice,
    duplicate_columns_error,
    missing_columns_error,
    resolve_columns,
    validate,
)
from sop_excel.sources.conventions import Conventions
from sop_excel.sources.tabular import read_table

__all__ = ["TOO_BIG", "read_actuals_csv"]

TOO_BIG = ("Export only the months the plan needs (the Actuals sheet holds at most 1,048,573 rows), "
            "or read from a database (SQLite file or URL), which reads only the current month; "
            "SOP_EXCEL_MAX_SOURCE_MB raises the limit.")


def read_actuals_csv(path: str | Path, known_items: set[str] | None = None, *,
                     mapping: Mapping[str, str] | None = None,
                     conventions: Conventions | None = None) -> pd.DataFrame:
    """Daily actuals from a CSV with columns date, item, orders, shipments (any order, any case).

    Args:
        path: the CSV file: UTF-8 (with or without a byte-order mark), UTF-16 or Windows-1252;
            separated by commas, semicolons, tabs or bars (see :mod:`sop_excel.sources.tabular`).
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the file's column name, e.g. ``{"orders": "order_qty"}``.
        conventions: decimal separator and date order when the file cannot say (None: detect).

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; empty means 0);
        ``attrs["notes"]``: how the file was read, where it mattered.

    Raises:
        SopExcelError: there is no file at ``path``.
        InputError: missing or repeated columns, unreadable dates, quantities that are not
            numbers or are negative, unknown items, repeated date/item pairs; each named by
            file row and column.
    """
    path = Path(path)
    table = read_table(path, expected=", ".join(ACTUALS_COLUMNS), what="rows of actuals",
                       missing=f"No actuals file at {path}. Check the path.", guard_prefix="Actuals file ",
                       too_big=TOO_BIG)
    header = table.header
    try:
        idx, missing = resolve_columns(header, mapping)
    except _Twice as twice:
        raise duplicate_columns_error(table.header_where, header, twice.positions) from None
    if missing:
        raise missing_columns_error(table.header_where, missing, header, mapping)
    cols = table.columns([idx[c] for c in ACTUALS_COLUMNS])
    raw = pd.DataFrame({c: s.to_numpy() for c, s in zip(ACTUALS_COLUMNS, cols, strict=True)}, dtype=object)
    locate = Locator(cell=lambda pos, col: table.where(idx[col], pos), row=table.row_where)
    label = f"Actuals file {path.name}" + (f" ({'; '.join(table.notes)})" if table.notes else "")
    frame = validate(raw, locate, known_items=known_items, label=label, conventions=conventions)
    frame.attrs["notes"] = [*table.notes, *frame.attrs.get("notes", [])]
    return frame


_ = InputError  # raised by read_table and validate
