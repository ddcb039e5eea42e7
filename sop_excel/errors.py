"""Errors a planner can act on.

Every message says what is wrong, where (sheet and cell, or file and row), and what to do.

    SopExcelError
    ├── InputError             the planner can fix it in the workbook or the input file;
    │                          carries ``problems: list[CellProblem]``
    ├── WorkbookError
    │   ├── WorkbookLockedError   the file is open in Excel or not writable
    │   ├── WorkbookCorruptError  not a readable xlsx file
    │   └── LayoutError           a sheet, table or column from the template is missing
    └── ForecastError          only when even the fallback failed
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CellProblem",
    "ForecastError",
    "InputError",
    "LayoutError",
    "SopExcelError",
    "WorkbookCorruptError",
    "WorkbookError",
    "WorkbookLockedError",
    "plain_reason",
]

MAX_LISTED = 20


@dataclass(frozen=True)
class CellProblem:
    """One bad value, located precisely.

    ``where`` is "Sheet 'Actuals', cell C7" or "file actuals.csv, row 12, column 'orders'".
    """

    where: str
    value: object
    message: str
    fix: str

    def __str__(self) -> str:
        shown = "" if self.value is None else f" {self.value!r}"
        return f"{self.where}:{shown} {self.message}. {self.fix}".replace(":  ", ": ")


class SopExcelError(Exception):
    """Base of every error sop-excel raises on purpose."""

    exit_code = 1


class InputError(SopExcelError):
    """Bad input the planner can fix; lists every problem found (the first 20 and a count)."""

    def __init__(self, summary: str, problems: list[CellProblem] | None = None) -> None:
        self.summary = summary
        self.problems = list(problems or [])
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return self.summary
        lines = [
            f"{self.summary} ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"
        ]
        lines += [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if len(self.problems) > MAX_LISTED:
            lines.append(f"  ... and {len(self.problems) - MAX_LISTED} more.")
        return "\n".join(lines)


class WorkbookError(SopExcelError):
    """The workbook file itself cannot be used as it is."""

    exit_code = 3


class WorkbookLockedError(WorkbookError):
    """The workbook is open elsewhere or cannot be written."""


class WorkbookCorruptError(WorkbookError):
    """The file is not a readable xlsx workbook."""


class LayoutError(WorkbookError):
    """A sheet, table or column that sop-excel needs is missing or renamed."""


class ForecastError(SopExcelError):
    """Forecasting failed even with its fallback."""


_PLAIN_REASONS = [  # pydantic's wording -> a planner's
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"^Input should be less than or equal to (.+)$"), r"must be at most \1"),
    (re.compile(r"^Input should be greater than or equal to (.+)$"), r"must be at least \1"),
    (re.compile(r"^Input should be less than (.+)$"), r"must be less than \1"),
    (re.compile(r"^Input should be greater than (.+)$"), r"must be more than \1"),
    (re.compile(r"^String should have at least 1 characters?$"), "is empty"),
    (
        re.compile(r"^String should have at most (\d+) characters?$"),
        r"is longer than the \1 characters that fit",
    ),
    (re.compile(r"^Input should be a valid (number|integer).*$"), "is not a number"),
    (
        re.compile(r"^Input should be a valid (date|datetime).*$"),
        "is not a date (write YYYY-MM-DD)",
    ),
    (re.compile(r"^Input should be a finite number$"), "is not a number"),
    (re.compile(r"^Field required$"), "is missing"),
    (re.compile(r"^Input should be ('.+)$"), r"must be \1"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a known key"),
]


def plain_reason(msg: str) -> str:
    """A pydantic validation message in plain words, without its trailing full stop."""
    msg = msg.rstrip(".")
    for pattern, repl in _PLAIN_REASONS:
        msg = pattern.sub(repl, msg)
    return msg
