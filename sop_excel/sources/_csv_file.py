"""Actuals from a CSV file: every problem reported at once, by file row and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources._validate import (
    ACTUALS,
    Columns,
    Locator,
    missing_columns_error,
    resolve_columns,
    validate,
)

__all__ = ["read_actuals_csv", "read_csv_columns"]


def read_actuals_csv(path: str | Path, known_items: set[str] | None = None, *,
                     mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Daily actuals from a CSV with columns date, item, orders, shipments (any order, any case).

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark).
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the file's column name, e.g. ``{"orders": "order_qty"}``.

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; empty means 0).

    Raises:
        SopExcelError: there is no file at ``path``.
        InputError: missing columns, unreadable dates, quantities that are not numbers or are
            negative, unknown items, repeated date/item pairs; each named by file row and column.
    """
    raw, locate = read_csv_columns(path, mapping, ACTUALS)  # type: ignore[misc]
    return validate(raw, locate, known_items=known_items, label=f"Actuals file {Path(path).name}")


def read_csv_columns(path: str | Path, mapping: Mapping[str, str] | None, spec: Columns, *,
                     optional: bool = False) -> tuple[pd.DataFrame, Locator] | None:
    """The canonical columns of ``spec`` found in a CSV, as text, with where each cell came from.

    ``optional``: a file without any of ``spec.any_of`` gives None instead of an error (the
    supply columns of an actuals file, read when it has them).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SopExcelError(f"No actuals file at {path}. Check the path." if spec is ACTUALS else
                            f"No production file at {path}. Check the path (Settings > Supply source).") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not a UTF-8 text file (byte {exc.start}). "
                         "Export it from your system as CSV (UTF-8).") from None
    reader = csv.reader(io.StringIO(text))
    try:  # a stray carriage return or NUL outside quotes: say where, do not crash
        reader = iter(list(reader))
    except csv.Error as exc:
        raise InputError(f"File {path.name}, line {reader.line_num}: not a valid CSV line ({exc}). "
                         "Put text holding line breaks in double quotes, or export the file "
                         "again as CSV (UTF-8).") from None
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path.name} is empty. Expected a header row: "
                         f"{', '.join(spec.canonical)}.") from None
    idx, missing = resolve_columns(header, mapping, spec)
    if optional and spec.any_of and not any(c in idx for c in spec.any_of):
        return None
    if missing:
        raise missing_columns_error(f"File {path.name}, row 1 (header)", missing, header, mapping, spec=spec)
    lines: list[int] = []
    cells: list[list[str]] = []
    names = [c for c in spec.canonical if c in idx]
    order = [idx[c] for c in names]
    for line_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        lines.append(line_no)
        cells.append([row[i] if i < len(row) else "" for i in order])
    if not cells:
        raise InputError(f"{path.name} has a header but no rows of {spec.what}.")
    raw = pd.DataFrame(cells, columns=names, dtype=str)
    locate = Locator(
        cell=lambda pos, col: f"File {path.name}, row {lines[pos]}, column '{header[idx[col]]}'",
        row=lambda pos: f"File {path.name}, row {lines[pos]}")
    return raw, locate
