"""What a page of the meeting pack is made of, and how its numbers are written.

A :class:`Page` holds blocks: :class:`Text`, :class:`Table`, :class:`Chart`. Each block has a
:class:`Box` (where it sits on a printed page, as fractions of the page's content area); the
PDF/PNG renderer draws it there, the HTML renderer lets it flow in order. Tables hold text
already formatted (:func:`fmt`, the workbook's number formats), so every output shows the same
figures. Nothing here imports matplotlib.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

__all__ = [
    "Box",
    "Chart",
    "Page",
    "Pack",
    "Table",
    "Text",
    "fmt",
    "month_range",
    "plural",
    "scenario_colours",
    "signed",
    "BUDGET_COLOUR",
    "OVERLOAD_COLOUR",
]

# Okabe-Ito (colour-blind safe), then Paul Tol's muted: a scenario keeps its colour on every page
# (by its place on the Scenarios sheet, whichever scenarios a pack shows).
_PALETTE = (
    "#0072B2",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#882255",
    "#117733",
    "#332288",
    "#999933",
)
BUDGET_COLOUR = "#595959"
OVERLOAD_COLOUR = "#C00000"  # the workbook's Act / overload red


def scenario_colours(names: list[str]) -> dict[str, str]:
    """Scenario -> colour, by its place in ``names`` (the Scenarios sheet's order)."""
    return {n: _PALETTE[k % len(_PALETTE)] for k, n in enumerate(names)}


def _excel_round(value: float, places: int) -> Decimal:
    """Round half away from zero, as Excel's number formats do (Python rounds half to even)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt(value: Any, kind: str) -> str:
    """``value`` as the workbook shows it with the layout's number format for ``kind``
    (``workbook.build.NUMBER_FORMATS``): qty/money/int ``#,##0``, price ``#,##0.00``,
    pct ``0.0%``, ratio ``0.00``, month ``mmm yyyy``; empty for a missing value.
    A value that rounds to zero is shown as 0, not -0."""
    if _missing(value):
        return ""
    if kind in ("qty", "money", "int"):
        d = _excel_round(value, 0)
        return f"{d:,.0f}" if d != 0 else "0"
    if kind == "price":
        d = _excel_round(value, 2)
        return f"{d:,.2f}" if d != 0 else "0.00"
    if kind == "pct":
        if math.isinf(float(value)):
            return "n/a"
        d = _excel_round(float(value) * 100, 1)
        return f"{d:.1f}%" if d != 0 else "0.0%"
    if kind == "ratio":
        d = _excel_round(value, 2)
        return f"{d:.2f}" if d != 0 else "0.00"
    if kind == "month":
        return f"{pd.Timestamp(value):%b %Y}"
    if kind == "date":
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    if kind == "datetime":
        return f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"
    return str(value)


def signed(value: Any, kind: str) -> str:
    """:func:`fmt` with a + on figures above zero (a change, a gap)."""
    text = fmt(value, kind)
    return f"+{text}" if text and text[0].isdigit() and text.strip("0.,%") else text


def plural(n: int, word: str, many: str = "") -> str:
    """'1 item', '3 items', '1,200 items'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def month_range(months: list[pd.Timestamp] | pd.Series) -> str:
    """'Dec 2026', 'Dec 2026 to Jan 2027', or 'Dec 2026 to Mar 2027 (3 of 4 months)' when
    months in between are left out."""
    ms = sorted(pd.Timestamp(m) for m in pd.unique(pd.Series(months)))
    if not ms:
        return ""
    first, last = ms[0], ms[-1]
    if first == last:
        return f"{first:%b %Y}"
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    text = f"{first:%b %Y} to {last:%b %Y}"
    return text if span == len(ms) else f"{text} ({len(ms)} of {span} months)"


@dataclass(frozen=True)
class Box:
    """Where a block sits in the page's content area: fractions, from the top left."""

    x: float
    y: float
    w: float
    h: float


@dataclass
class Text:
    """Paragraphs. A line starting with ``- `` is a bullet; ``## `` a heading. ``{p:key}`` is
    replaced by the page number of the section ``key``."""

    lines: list[str]
    box: Box
    title: str = ""
    size: float = 11.0
    columns: int = 1
    tone: str = ""  # "note": smaller and grey; "warn": a statement the meeting must not miss


@dataclass
class Table:
    """A table of formatted text. ``align``: "l" or "r" per column; ``marks``: (row, column)
    -> "neg" (red figure), "bad" (red cell, as the workbook's overload and Act flags), "good",
    "bold"; ``swatches``: a colour per row (the scenario's), shown before the first cell."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    align: list[str]
    box: Box
    marks: dict[tuple[int, int], str] = field(default_factory=dict)
    swatches: list[str | None] | None = None
    column_colours: list[str | None] | None = None  # a colour bar under a column's header
    note: str = ""
    total_rows: int = 0  # rows of the whole list, when ``rows`` are its first ones
    size: float = 10.0  # the font size it starts at (shrunk to fit its box)
    where: str = ""  # where the whole list is ("the Exceptions sheet"), said under the table

    def more_text(self, shown: int) -> str:
        """'... and 3 more (on the Exceptions sheet).' when rows are left out."""
        left = max(self.total_rows, len(self.rows)) - shown
        if left <= 0:
            return ""
        return f"... and {left:,} more" + (f" (on {self.where})." if self.where else ".")


@dataclass
class Chart:
    """A chart: ``draw(figure, rect)`` draws it in ``rect`` (left, bottom, width, height as
    figure fractions) with matplotlib. ``alt`` says what it shows, in words (HTML)."""

    title: str
    draw: Callable[[Any, tuple[float, float, float, float]], None]
    box: Box
    note: str = ""
    alt: str = ""


Block = Text | Table | Chart


@dataclass
class Page:
    section: str  # key of its section: cover, demand, scenarios, supply, performance, escalations
    title: str
    blocks: list[Block]
    subtitle: str = ""


SECTIONS = {
    "cover": "Cover",
    "demand": "Demand review",
    "scenarios": "Scenarios",
    "supply": "Supply",
    "performance": "Performance",
    "escalations": "S&OE escalations",
}


@dataclass
class Pack:
    """The whole pack: pages in order, and what it says instead of a figure it cannot show."""

    title: str
    pages: list[Page]
    footer: str
    notes: list[str] = field(default_factory=list)
    prepared_at: dt.datetime = field(default_factory=dt.datetime.now)
    author: str = ""

    def first_page(self) -> dict[str, int]:
        """Section key -> the number of its first page (1-based)."""
        out: dict[str, int] = {}
        for n, page in enumerate(self.pages, start=1):
            out.setdefault(page.section, n)
        return out
