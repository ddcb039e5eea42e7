"""Actuals from an xlsx workbook (read with pandas' calamine engine), named by sheet and cell."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.errors import InputError, SopExcelError, WorkbookCorruptError
from sop_excel.sources._validate import (
    ACTUALS,
    Columns,
    Locator,
    missing_columns_error,
    resolve_columns,
    validate,
)
from sop_excel.workbook.guard import check_xlsx

__all__ = ["column_letter", "read_actuals_xlsx", "read_xlsx_columns"]


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
    raw, locate, chosen = read_xlsx_columns(path, mapping, ACTUALS, sheet=sheet)  # type: ignore[misc]
    return validate(raw, locate, known_items=known_items, label=f"Actuals file {Path(path).name}")


def read_xlsx_columns(path: str | Path, mapping: Mapping[str, str] | None, spec: Columns, *,
                      sheet: str = "actuals", optional: bool = False) -> tuple[pd.DataFrame, Locator, str] | None:
    """The canonical columns of ``spec`` found on an xlsx sheet (the one named ``sheet``, else
    the first), as the cells hold them, with where each came from, and the sheet's name.

    ``optional``: a sheet without any of ``spec.any_of`` gives None instead of an error.
    """
    path = Path(path)
    if not path.is_file():
        raise SopExcelError(f"No actuals file at {path}. Check the path." if spec is ACTUALS else
                            f"No production file at {path}. Check the path (Settings > Supply source).")
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
                         f"{', '.join(spec.canonical)}.")
    head = int(used.argmax())
    header = ["" if pd.isna(v) else str(v) for v in grid.iloc[head]]
    idx, missing = resolve_columns(header, mapping, spec)
    if optional and spec.any_of and not any(c in idx for c in spec.any_of):
        return None
    if missing:
        where = f"File {path.name}, sheet '{chosen}', row {head + 1} (header)"
        raise missing_columns_error(where, missing, [h for h in header if h.strip()], mapping, spec=spec)
    body = grid.iloc[head + 1:][used[head + 1:]]
    if body.empty:
        raise InputError(f"File {path.name}, sheet '{chosen}' has a header but no rows of {spec.what}.")
    rows = (body.index.to_numpy() + 1).tolist()
    raw = pd.DataFrame({c: body.iloc[:, idx[c]].to_numpy() for c in spec.canonical if c in idx})
    locate = Locator(
        cell=lambda pos, col: f"File {path.name}, sheet '{chosen}', cell {column_letter(idx[col])}{rows[pos]}",
        row=lambda pos: f"File {path.name}, sheet '{chosen}', row {rows[pos]}")
    return raw, locate, chosen
