"""The one small interface through which every macro sees a workbook.

Three sides implement :class:`WorkbookIO`: :class:`~sop_excel.workbook.zip_io.ZipIO` (headless,
the default of the CLI and CI: the xlsx package edited part by part),
:class:`~sop_excel.workbook.openpyxl_io.OpenpyxlIO` (headless, its fallback) and
:class:`~sop_excel.workbook.xlwings_io.XlwingsIO` (live Excel). A macro reads tables as rows,
computes frames in the core, and writes rows back; it never touches a cell API.

What only some sides can do is declared too, each as a runtime-checkable Protocol that a macro
tests with ``isinstance`` before using it (never ``getattr``): :class:`PackageIO` (the zip
side's faster reads, fingerprint and bulk writes), :class:`ChecksCachedValues` (the headless
sides: formula cells saved without a value) and :class:`ChecksWritable` (live Excel: protected
sheets).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from sop_excel.workbook.convert import FrameRows

__all__ = [
    "CellValue",
    "ChecksCachedValues",
    "ChecksWritable",
    "Formula",
    "PackageIO",
    "Rows",
    "WorkbookIO",
]


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

    def write_table(self, name: str, rows: Rows | FrameRows) -> None:
        """Replace the table's cells (header row first), resizing it; formats follow the layout.
        ``rows`` are lists of cells, or a frame's rows
        (:class:`~sop_excel.workbook.convert.FrameRows`, made a chunk at a time when written).

        Text is always stored as text, never as a formula: only :class:`Formula` values become
        formulas.
        """
        ...

    def save(self) -> None:
        """Persist the changes (headless: atomically; live Excel: nothing to do)."""
        ...


@runtime_checkable
class PackageIO(Protocol):
    """What the side that edits the saved xlsx package (:class:`~sop_excel.workbook.zip_io.ZipIO`)
    offers besides :class:`WorkbookIO`: faster reads, a fingerprint of the saved file, reads in
    another process, and writing whole sheets in bulk. Test with ``isinstance(book, PackageIO)``."""

    writes_sheets_in_bulk: bool
    """True: a sheet whose tables are all rewritten is written fastest (made anew in bulk rather
    than row by row around a table left as it is), so writing one more table can be cheaper."""

    def read_values(self, name: str) -> Rows:
        """The table's rows as values (each formula cell its cached value), header row first, for
        :func:`~sop_excel.workbook.convert.frame_from_rows`: the same frame as from
        :meth:`WorkbookIO.read_table`, read faster."""
        ...

    def content_stamp(self, names: list[str]) -> str | None:
        """A fingerprint of what the saved file holds in these tables (it changes with any edit
        that reaches the file); None when the side cannot vouch for it (unsaved writes, a table
        missing, the openpyxl fallback)."""
        ...

    def frame_reader(self, name: str) -> Callable[[], pd.DataFrame] | None:
        """A picklable call that reads the table's frame from the saved file, for another process
        to make; None when the table has unsaved writes or cannot be read that way."""
        ...


@runtime_checkable
class ChecksCachedValues(Protocol):
    """A side that can tell formula cells saved without a cached value (a file last saved by a
    program that does not calculate, such as openpyxl): the headless sides."""

    def missing_values(self, names: list[str]) -> tuple[int, list[str]]:
        """On the sheets of these tables: how many formula cells have no cached value, and the
        first few of them by sheet and cell."""
        ...


@runtime_checkable
class ChecksWritable(Protocol):
    """A side whose sheets may refuse writes (live Excel: a protected sheet)."""

    def check_writable(self, names: Iterable[str]) -> None:
        """Raise a clear error naming the sheet if one of these tables cannot be written, before
        any write is made."""
        ...
