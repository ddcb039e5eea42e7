"""Actuals from an xlsx workbook (read with pandas' calamine engine), named by sheet and cell."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError, SopExcelError, WorkbookCorruptError
from sop_excel.files import check_regular, max_source_bytes, size_text
from sop_excel.sources._csv_file import _TOO_BIG
from sop_excel.sources._validate import (
    ACTUALS_COLUMNS,
    Locator,
    missing_columns_error,
    resolve_columns,
    validate,
)
from sop_excel.workbook.guard import check_xlsx

__all__ = ["column_letter", "read_actuals_xlsx"]


def column_letter(index: int) -> str:
    """Excel column letters of a 0-based column index: 0 -> A, 27 -> AB."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def read_actuals_xlsx(path: str | Path, known_items: set[str] | None = None, *,
                      mapping: Mapping[str, str] | None = None, sheet: str = "actuals") -> pd.DataFrame:
    """Daily actuals from an xlsx sheet whose first non-empty row is the header.

    Args:
        path: the .xlsx / .xlsm file.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the sheet's column name.
        sheet: the sheet to read (case-insensitive); when the workbook has no such sheet, its
            first sheet is read.

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; empty means 0).

    Raises:
        SopExcelError: no file, or not a readable workbook.
        InputError: as :func:`read_actuals_csv`, each problem named "File f.xlsx, sheet 'S', cell C7".
    """
    path = Path(path)
    try:
        size = check_regular(path, "Actuals file").st_size  # a pipe or a device would never end
    except FileNotFoundError:
        raise SopExcelError(f"No actuals file at {path}. Check the path.") from None
    if size > max_source_bytes():
        raise SopExcelError(f"Actuals file {path.name} is {size_text(size)}; sop-excel reads such files up to "
                            f"{size_text(max_source_bytes())}. {_TOO_BIG}")
    try:
        check_xlsx(path)  # zip, sizes, content types, no DTDs: before calamine parses
    except WorkbookCorruptError as exc:
        raise InputError(f"Actuals file {exc}") from None
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            names = list(book.sheet_names)
            chosen = next((n for n in names if n.strip().lower() == sheet.strip().lower()), names[0])
            grid = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for bad files
        raise SopExcelError(f"{path.name} is not a workbook sop-excel can read ({exc}). "
                            "Save it from Excel as .xlsx, or export the actuals as CSV.") from None
    filled = grid.notna() & grid.apply(lambda c: c.map(lambda v: not (isinstance(v, str) and not v.strip())))
    used = filled.any(axis=1).to_numpy()
    if not used.any():
        raise InputError(f"File {path.name}, sheet '{chosen}' is empty. Expected a header row: "
                         f"{', '.join(ACTUALS_COLUMNS)}.")
    head = int(used.argmax())
    header = ["" if pd.isna(v) else str(v) for v in grid.iloc[head]]
    idx, missing = resolve_columns(header, mapping)
    if missing:
        where = f"File {path.name}, sheet '{chosen}', row {head + 1} (header)"
        raise missing_columns_error(where, missing, [h for h in header if h.strip()], mapping)
    body = grid.iloc[head + 1:][used[head + 1:]]
    if body.empty:
        raise InputError(f"File {path.name}, sheet '{chosen}' has a header but no rows of actuals.")
    rows = (body.index.to_numpy() + 1).tolist()
    raw = pd.DataFrame({c: body.iloc[:, idx[c]].to_numpy() for c in ACTUALS_COLUMNS})
    locate = Locator(
        cell=lambda pos, col: f"File {path.name}, sheet '{chosen}', cell {column_letter(idx[col])}{rows[pos]}",
        row=lambda pos: f"File {path.name}, sheet '{chosen}', row {rows[pos]}")
    return validate(raw, locate, known_items=known_items, label=f"Actuals file {path.name}")
