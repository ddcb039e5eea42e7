"""Actuals from an xlsx workbook (read with calamine), named by sheet and cell."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sop_excel.sources._csv_file import Found, found_columns, read_kwargs
from sop_excel.sources._validate import (
    ACTUALS,
    Columns,
    validate,
)
from sop_excel.sources.conventions import Conventions
from sop_excel.sources.tabular import position_letter, read_table

__all__ = ["position_letter", "read_actuals_xlsx", "read_xlsx_columns"]


def read_actuals_xlsx(
    path: str | Path,
    known_items: set[str] | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = "actuals",
    conventions: Conventions | None = None,
) -> pd.DataFrame:
    """Daily actuals from an xlsx sheet whose first non-empty row is the header.

    Args:
        path: the .xlsx / .xlsm file.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        mapping: canonical name -> the sheet's column name.
        sheet: the sheet to read (case-insensitive). When no *visible* sheet has this name, the
            only visible sheet is read (a hidden sheet is never read unless it is the one named
            and no visible one is); with several visible sheets and none named so, the file is
            refused with their names.
        conventions: decimal separator and date order when the file cannot say (None: detect).

    Returns:
        ``date`` (datetime64, day), ``item``, ``orders``, ``shipments`` (float; empty means 0);
        ``attrs["notes"]``: which sheet was read and how, where it mattered.

    Raises:
        SopExcelError: no file, or not a readable workbook.
        InputError: as :func:`read_actuals_csv`, each problem named "File f.xlsx, sheet 'S', cell C7";
            cells holding an error value or a formula without a value are refused by cell.
    """
    path = Path(path)
    raw, locate, table = read_xlsx_columns(path, mapping, ACTUALS, sheet=sheet)  # type: ignore[misc]
    frame = validate(
        raw,
        locate,
        known_items=known_items,
        label=f"Actuals file {path.name}",
        conventions=conventions,
        date1904=table.date1904,
    )
    frame.attrs["notes"] = [*table.notes, *frame.attrs.get("notes", [])]
    return frame


def read_xlsx_columns(
    path: str | Path,
    mapping: Mapping[str, str] | None,
    spec: Columns,
    *,
    sheet: str | None = "actuals",
    optional: bool = False,
) -> Found | None:
    """The canonical columns of ``spec`` found on an xlsx sheet (chosen as :func:`read_actuals_xlsx`
    says), as the cells hold them, with where each came from, and the table read.

    ``optional``: a sheet without any of ``spec.any_of`` gives None instead of an error.
    """
    path = Path(path)
    return found_columns(_open(path, sheet, spec), mapping, spec, optional=optional)


def _open(path: Path, sheet: str | None, spec: Columns = ACTUALS):  # noqa: ANN202 - a tabular.Table
    """The sheet named ``sheet`` among the visible ones, else the only visible sheet."""
    from sop_excel.errors import InputError

    kwargs = read_kwargs(path, spec)
    if sheet:
        try:
            table = read_table(path, sheet=sheet, **kwargs)
        except InputError as exc:
            if f"has no sheet {sheet!r}" not in str(exc):
                raise
        else:
            if not any("hidden, read because it was named" in n for n in table.notes):
                return table
            try:  # the named sheet is hidden: the one visible sheet, if there is one, is what was meant
                visible = read_table(path, **kwargs)
            except InputError as exc:
                if "visible sheets" not in str(exc):
                    raise
                return table
            return visible
    return read_table(path, **kwargs)
