"""Actuals from a CSV file: every problem reported at once, by file row and column."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError
from sop_excel.sources._validate import (
    ACTUALS,
    Columns,
    Locator,
    Twice,
    duplicate_columns_error,
    missing_columns_error,
    resolve_columns,
    validate,
)
from sop_excel.sources.conventions import Conventions
from sop_excel.sources.tabular import Table, read_table

__all__ = ["TOO_BIG", "Found", "read_actuals_csv", "read_csv_columns", "read_kwargs"]

TOO_BIG = (
    "Export only the months the plan needs (the Actuals sheet holds at most 1,048,573 rows), "
    "or read from a database (SQLite file or URL), which reads only the current month; "
    "SOP_EXCEL_MAX_SOURCE_MB raises the limit."
)


def read_kwargs(path: Path, spec: Columns) -> dict[str, str]:
    """What :func:`sop_excel.sources.tabular.read_table` says of a file of actuals or of
    production (its messages name which)."""
    if spec is ACTUALS:
        return {
            "expected": ", ".join(spec.canonical),
            "what": "rows of actuals",
            "guard_prefix": "Actuals file ",
            "missing": f"No actuals file at {path}. Check the path.",
            "too_big": TOO_BIG,
        }
    return {
        "expected": ", ".join(spec.canonical),
        "what": f"rows of {spec.what}",
        "guard_prefix": "Production file ",
        "missing": f"No production file at {path}. Check the path (Settings > Supply source).",
        "too_big": TOO_BIG.replace("the Actuals sheet", "the Production sheet"),
    }


Found = tuple[pd.DataFrame, Locator, Table]
"""A source's canonical columns (raw values), where each came from, and the table read."""


def found_columns(
    table: Table, mapping: Mapping[str, str] | None, spec: Columns, *, optional: bool = False
) -> Found | None:
    """The canonical columns of ``spec`` in a table read by :func:`read_table` (CSV or xlsx).

    ``optional``: a table without any of ``spec.any_of`` gives None instead of an error (the
    supply columns of an actuals file, read when it has them).
    """
    header = table.header
    try:
        idx, missing = resolve_columns(header, mapping, spec)
    except Twice as twice:
        raise duplicate_columns_error(table.header_where, header, twice.positions) from None
    if optional and spec.any_of and not any(c in idx for c in spec.any_of):
        return None
    if missing:
        shown = header if table.sheet is None else [h for h in header if h.strip()]
        raise missing_columns_error(table.header_where, missing, shown, mapping, spec=spec)
    names = [c for c in spec.canonical if c in idx]
    cols = table.columns([idx[c] for c in names])
    raw = pd.DataFrame({c: s.to_numpy() for c, s in zip(names, cols, strict=True)}, dtype=object)
    locate = Locator(cell=lambda pos, col: table.where(idx[col], pos), row=table.row_where)
    return raw, locate, table


def read_csv_columns(
    path: str | Path, mapping: Mapping[str, str] | None, spec: Columns, *, optional: bool = False
) -> Found | None:
    """The canonical columns of ``spec`` found in a CSV, as text, with where each cell came from."""
    path = Path(path)
    return found_columns(
        read_table(path, **read_kwargs(path, spec)), mapping, spec, optional=optional
    )


def read_actuals_csv(
    path: str | Path,
    known_items: set[str] | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    conventions: Conventions | None = None,
) -> pd.DataFrame:
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
    raw, locate, table = read_csv_columns(path, mapping, ACTUALS)  # type: ignore[misc]
    label = f"Actuals file {path.name}" + (f" ({'; '.join(table.notes)})" if table.notes else "")
    frame = validate(raw, locate, known_items=known_items, label=label, conventions=conventions)
    frame.attrs["notes"] = [*table.notes, *frame.attrs.get("notes", [])]
    return frame


_ = InputError  # raised by read_table and validate
