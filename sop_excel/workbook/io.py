"""The one small interface through which every macro sees a workbook.

Two sides implement it: :class:`~sop_excel.workbook.openpyxl_io.OpenpyxlIO` (headless: the CLI
and CI) and the live xlwings side (issue 6). A macro reads tables as rows, computes frames in
the core, and writes rows back; it never touches a cell API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, TypeAlias

__all__ = ["CellValue", "Formula", "Rows", "WorkbookIO"]


@dataclass(frozen=True)
class Formula:
    """A live Excel formula and its value: the one Python computed for it (written as its cached
    value), or, read from a workbook, the value the file holds for it (``None`` when the file holds
    none; an Excel error as its text, ``"#DIV/0!"``)."""

    text: str
    value: float | str | bool | dt.date | None = None

    def __post_init__(self) -> None:
        if not self.text.startswith("="):
            raise ValueError(f"a formula starts with '=': {self.text!r}")


CellValue: TypeAlias = str | int | float | bool | dt.date | dt.datetime | Formula | None
Rows: TypeAlias = list[list[CellValue]]


class WorkbookIO(Protocol):
    """What a macro may do with a workbook."""

    @property
    def name(self) -> str:
        """The workbook's file name, for messages and the Log."""
        ...

    def table_names(self) -> list[str]:
        """Names of the Excel Tables in the workbook."""
        ...

    def read_table(self, name: str) -> Rows:
        """The table's cells, header row first. A formula cell is a :class:`Formula` with its
        cached value (``None`` if the file holds none); a table written since the last save
        gives the values it was written with."""
        ...

    def write_table(self, name: str, rows: Rows) -> None:
        """Replace the table's cells (header row first), resizing it; formats follow the layout.

        Text is always stored as text, never as a formula: only :class:`Formula` values become
        formulas.
        """
        ...

    def save(self) -> None:
        """Persist the changes (headless: atomically; live Excel: nothing to do)."""
        ...
