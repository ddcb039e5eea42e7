"""What a command did, in words: the report every command returns, and the short lists its
lines are made of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["RunReport", "days_text", "items_text", "months_text"]


@dataclass
class RunReport:
    """What a macro did, in lines a planner reads (CLI output, a message box in Excel)."""

    command: str
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = True  # False: the command found nothing to do and did not save

    def __str__(self) -> str:
        return "\n".join(self.lines + [f"Warning: {w}" for w in self.warnings])


def months_text(months: list[pd.Timestamp]) -> str:
    """ "October 2026, November 2026"."""
    return ", ".join(f"{m:%B %Y}" for m in months)


def days_text(days: list[dt.date], shown: int = 10) -> str:
    """The first ``shown`` days, then how many more."""
    text = ", ".join(f"{d:%Y-%m-%d}" for d in days[:shown])
    return text + (f" and {len(days) - shown} more" if len(days) > shown else "")


def items_text(items: list[str], shown: int = 10) -> str:
    """The first ``shown`` items, then how many more."""
    text = ", ".join(items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
