"""Shared, vectorised validation of raw actuals: one rule set for every source.

Each reader turns its source into a *raw* frame with the canonical columns (values as the source
gave them: text from CSV, typed cells from xlsx or SQL) and a :class:`Locator` that says where a
row or cell came from. :func:`validate` checks every value at once and raises one
:class:`~sop_excel.errors.InputError` listing every problem, in source order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError, SopExcelError
from sop_excel.sources.conventions import (
    MAX_NUMBER,
    Column,
    Conventions,
    read_dates,
    read_numbers,
    too_large,
)
from sop_excel.sources.tabular import control_characters, position_letter

__all__ = [
    "ACTUALS",
    "ACTUALS_COLUMNS",
    "SUPPLY",
    "SUPPLY_COLUMNS",
    "Columns",
    "Locator",
    "duplicate_columns_error",
    "missing_columns_error",
    "resolve_columns",
    "validate",
    "validate_supply",
]

ACTUALS_COLUMNS = ("date", "item", "orders", "shipments")
SUPPLY_COLUMNS = ("date", "item", "resource", "produced", "receipts")
QUANTITIES = ("orders", "shipments")
ACTUALS_HINTS = {
    "decimal_hint": "--decimal point or --decimal comma (in Excel: Settings > Actuals format, "
    "e.g. decimal=comma)",
    "date_hint": "--date-format DMY or MDY (in Excel: Settings > Actuals format, e.g. dates=DMY)",
}


@dataclass(frozen=True)
class Columns:
    """The columns a reader looks for in a source.

    Attributes:
        required: canonical columns every source must have.
        optional: canonical columns read when the source has them.
        any_of: of the optional ones, at least one must be there (else the source has none of
            this data: an error for a source given for it, nothing for the actuals source).
        setting: the Settings row that maps the source's names; example: a mapping to show.
        what: what the rows are, in messages ("has a header but no rows of actuals").
    """

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    setting: str = "ActualsColumns"
    example: str = "orders=order_qty"
    what: str = "actuals"

    @property
    def canonical(self) -> tuple[str, ...]:
        return self.required + self.optional


ACTUALS = Columns(ACTUALS_COLUMNS)
SUPPLY = Columns(
    ("date", "item"),
    ("resource", "produced", "receipts"),
    ("produced", "receipts"),
    setting="SupplyColumns",
    example="produced=qty_made",
    what="production or receipts",
)


@dataclass(frozen=True)
class Locator:
    """Where rows and cells of a raw frame came from, for messages.

    Attributes:
        cell: ``(position, canonical column) -> "File a.csv, row 3, column 'orders'"``.
        row: ``position -> "File a.csv, row 3"`` (used for repeated item/day pairs).
    """

    cell: Callable[[int, str], str]
    row: Callable[[int], str]


def resolve_columns(
    found: list[str], mapping: Mapping[str, str] | None, spec: Columns = ACTUALS
) -> tuple[dict[str, int], list[str]]:
    """Match canonical columns to a source's header, case- and space-insensitively.

    Args:
        found: the source's column names, in order.
        mapping: canonical name -> source column name (ActualsColumns in Settings); names not in it
            are looked up under their canonical name.
        spec: the columns wanted (default: the actuals' date, item, orders, shipments).

    Returns:
        (canonical -> position in ``found`` for each column found, the source names of the
        required columns that are missing; for ``spec.any_of``, all of them when none is there).

    Raises:
        SopExcelError: the mapping names a column sop-excel does not know.
        Twice: a column wanted is named twice in ``found`` (and none is missing).
    """
    mapping = dict(mapping or {})
    wrong = [k for k in mapping if k not in spec.canonical]
    if wrong:
        raise SopExcelError(
            f"{spec.setting} maps {', '.join(repr(w) for w in wrong)}, which sop-excel does not know. "
            f"Map only {', '.join(spec.canonical)}, e.g. {spec.example}."
        )
    norm = [str(f).strip().lower() for f in found]
    idx: dict[str, int] = {}
    twice = []
    missing: list[str] = []
    for col in spec.canonical:
        want = str(mapping.get(col, col)).strip().lower()
        if want in norm:
            idx[col] = norm.index(want)
            if norm.count(want) > 1:
                twice.append([i for i, n in enumerate(norm) if n == want])
        elif col in spec.required:
            missing.append(mapping.get(col, col))
    if spec.any_of and not any(c in idx for c in spec.any_of) and not missing:
        missing = [str(mapping.get(c, c)) for c in spec.any_of]
    if twice and not missing:
        raise Twice(twice)
    return idx, missing


class Twice(Exception):
    """A column the actuals need is named twice (positions); the reader says where."""

    def __init__(self, positions: list[list[int]]) -> None:
        super().__init__(positions)
        self.positions = positions


def duplicate_columns_error(
    where: str, found: list[str], positions: list[list[int]], *, letters: bool = True
) -> InputError:
    """The one message for a column header written twice: sop-excel will not guess which to load."""
    named = "; ".join(
        f"{' and '.join(position_letter(i) if letters else str(i + 1) for i in pos)} are all named {found[pos[0]]!r}".replace(
            " are all named", " are both named" if len(pos) == 2 else " are all named"
        )
        for pos in positions
    )
    return InputError(
        f"{where}: columns {named}. Rename or delete the extra column: sop-excel will not guess "
        "which one to load."
    )


def missing_columns_error(
    where: str,
    missing: list[str],
    found: list[str],
    mapping: Mapping[str, str] | None,
    what: str = "file",
    spec: Columns = ACTUALS,
) -> InputError:
    """The one message for missing columns: where, which, what was found, what to do."""
    mapping = dict(mapping or {})
    back = {v: k for k, v in mapping.items()}
    named = ", ".join(
        repr(m) + (f" (mapped to {back[m]} in {spec.setting})" if m in back else "")
        for m in missing
    )
    if spec.any_of and set(missing) == {str(mapping.get(c, c)) for c in spec.any_of}:
        named = " or ".join(repr(m) for m in missing)
    shown = ", ".join(repr(str(h)) for h in found) or "no columns"
    wanted = list(spec.required) + ([" or ".join(spec.any_of)] if spec.any_of else [])
    fix = f"The {what} needs the columns {', '.join(wanted)}."
    if mapping:
        needed = ", ".join(
            [str(mapping.get(c, c)) for c in spec.required]
            + ([" or ".join(str(mapping.get(c, c)) for c in spec.any_of)] if spec.any_of else [])
        )
        fix = (
            f"The {what} needs the columns {needed}; fix {spec.setting} in Settings "
            f"(e.g. {spec.example}) or the source."
        )
    return InputError(
        f"{where}: missing column{'s' if len(missing) > 1 else ''} {named}; found {shown}. {fix}"
    )


def validate(
    raw: pd.DataFrame,
    locate: Locator,
    *,
    known_items: set[str] | None,
    label: str,
    conventions: Conventions | None = None,
    date1904: bool = False,
) -> pd.DataFrame:
    """Check and convert raw actuals; every problem reported at once.

    Numbers and dates follow the one set of rules of :mod:`sop_excel.sources.conventions`
    (decimal comma or point, day/month order, Excel serial dates): detected where the source
    says, refused where it does not, and what was decided is kept in ``attrs["notes"]``.

    Args:
        raw: canonical columns ``date, item, orders, shipments`` holding the source's values,
            one row per source row (blank rows already dropped), in source order.
        locate: names the source row and cell of a position in ``raw``.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        label: the source in the summary line, e.g. "Actuals file a.csv".
        conventions: the decimal separator and date order as the user said them (None: detect).
        date1904: serial dates count from 1904 (an xlsx setting).

    Returns:
        ``date`` (datetime64, day), ``item`` (str), ``orders``, ``shipments`` (float, empty = 0);
        ``attrs["notes"]``: how numbers and dates were read, when it mattered.

    Raises:
        InputError: unreadable or ambiguous dates and numbers, empty items, unknown items,
            quantities that are not numbers, negative or too large, repeated item/day pairs.
    """
    checks = _Checks(raw, locate, label, conventions, date1904)
    dates = checks.dates()
    items = checks.items(
        known_items,
        "Remove it from the file: item codes are compared exactly, and Excel cannot show it.",
    )
    out = pd.DataFrame({"date": dates.to_numpy(), "item": items})
    checks.quantities(out, QUANTITIES, 2, "book returns separately")
    return checks.result(out, ["date", "item"], "Keep one row per item and day.")


def validate_supply(
    raw: pd.DataFrame,
    locate: Locator,
    *,
    known_items: set[str] | None,
    item_resources: Mapping[str, str] | None = None,
    known_resources: set[str] | None = None,
    label: str,
    conventions: Conventions | None = None,
    date1904: bool = False,
) -> pd.DataFrame:
    """Check and convert raw production and receipts; every problem reported at once.

    The same rules as :func:`validate` (numbers and dates by :mod:`sop_excel.sources.conventions`,
    control characters refused, quantities bounded), for the supply columns.

    Args:
        raw: canonical columns ``date, item`` and any of ``resource, produced, receipts`` (a
            missing quantity column is all zeros), one row per source row, in source order.
        locate: names the source row and cell of a position in ``raw``.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        item_resources: each item's resource on the Items sheet, for rows without one.
        known_resources: the resources of the Items and Capacity sheets; ``None`` accepts any.
        label: the source in the summary line, e.g. "Production file p.csv".
        conventions: the decimal separator and date order as the user said them (None: detect).
        date1904: serial dates count from 1904 (an xlsx setting).

    Returns:
        ``date`` (datetime64, day), ``item``, ``resource`` (str; the item's resource where the
        source has none), ``produced``, ``receipts`` (float, empty = 0); ``attrs["notes"]``:
        how numbers and dates were read, when it mattered.

    Raises:
        InputError: unreadable dates, empty or unknown items, unknown resources, quantities that
            are not numbers, negative or too large, an item twice on one day and resource.
    """
    checks = _Checks(raw, locate, label, conventions, date1904)
    dates = checks.dates()
    fix = "Remove it from the file: codes are compared exactly, and Excel cannot show it."
    items = checks.items(known_items, fix)
    has_resource = "resource" in raw.columns
    given = _items(raw["resource"]) if has_resource else pd.Series("", index=raw.index, dtype=str)
    own = items.map(dict(item_resources or {})).fillna("").astype(str)
    resource = given.where(given != "", own)
    if has_resource:
        control = checks.codes("resource", 2, fix)
        if known_resources is not None:
            checks.add(
                ((given != "") & ~control & ~given.isin(known_resources)).to_numpy(),
                2,
                "resource",
                given,
                "is not a resource on the Items or Capacity sheet",
                "Check the code, or leave it empty for the item's own resource.",
            )
    out = pd.DataFrame({"date": dates.to_numpy(), "item": items, "resource": resource})
    checks.quantities(out, ("produced", "receipts"), 3, "book scrap or returns separately")
    return checks.result(
        out, ["date", "item", "resource"], "Keep one row per item, resource and day."
    )


class _Checks:
    """What is wrong with a raw frame of actuals or supply, gathered to be raised at once in
    source order, and how its dates and numbers were read (the result's ``attrs["notes"]``)."""

    def __init__(
        self,
        raw: pd.DataFrame,
        locate: Locator,
        label: str,
        conventions: Conventions | None,
        date1904: bool,
    ) -> None:
        self.raw, self.locate, self.label, self.date1904 = raw, locate, label, date1904
        self.conventions = conventions or Conventions(**ACTUALS_HINTS)
        self.problems: list[tuple[int, int, CellProblem]] = []
        self.notes: list[str] = []

    def add(
        self,
        mask: np.ndarray,
        order: int,
        col: str,
        values: pd.Series | None,
        message: str,
        fix: str,
    ) -> None:
        for pos in np.flatnonzero(mask):
            value = None if values is None else _shown(values.iloc[pos])
            self.problems.append(
                (int(pos), order, CellProblem(self.locate.cell(int(pos), col), value, message, fix))
            )

    def where(self, col: str) -> Callable[[int], str]:
        return lambda pos: self.locate.cell(pos, col)

    def dates(self) -> pd.Series:
        (dates,), (bad,), notes = read_dates(
            [Column("date", self.raw["date"], self.where("date"))],
            self.conventions,
            label=self.label,
            date1904=self.date1904,
        )
        empty = dates.isna().to_numpy() & ~bad
        self.add(
            bad | empty, 0, "date", self.raw["date"], "is not a date", "Write dates as YYYY-MM-DD."
        )
        self.notes += notes
        return dates

    def codes(self, col: str, order: int, fix: str) -> np.ndarray:
        """Where a code holds a control character (refused, never dropped: Python's strip() would
        drop \\x1c-\\x1f at its ends, the workbook's XML cannot hold most of them)."""
        # per distinct value, not per row (310,000 order lines hold 10,000 item codes); a text
        # never shares a code with a number, and only texts can hold a control character
        codes, uniq = pd.factorize(self.raw[col].to_numpy(dtype=object), use_na_sentinel=True)
        soft_u = pd.Series([_soft(v) for v in uniq], dtype=object)
        control = np.append(control_characters(soft_u), False)[codes]
        if control.any():  # the values, for the messages
            soft = self.raw[col].map(_soft)
            self.add(
                control,
                order,
                col,
                soft.map(lambda v: _Exact(v) if isinstance(v, str) else v),
                "holds a control character",
                fix,
            )
        return control

    def items(self, known_items: set[str] | None, control_fix: str) -> pd.Series:
        """The item codes as text; empty, with a control character or (``known_items``) not on
        the Items sheet is a problem."""
        items = _items(self.raw["item"])
        empty = (items == "").to_numpy()
        self.add(empty, 1, "item", None, "item is empty", "Fill in the item code.")
        control = self.codes("item", 1, control_fix)
        if known_items is not None:
            self.add(
                ~empty & ~control & ~items.isin(known_items).to_numpy(),
                1,
                "item",
                items,
                "is not an item on the Items sheet",
                "Check the code, or add the item to Items first.",
            )
        return items

    def quantities(
        self, out: pd.DataFrame, names: tuple[str, ...], first_order: int, book: str
    ) -> None:
        """The quantity columns ``names`` into ``out`` (empty or absent: 0; refused: NaN);
        negative ones belong in ``book`` ("book returns separately")."""
        present = [c for c in names if c in self.raw.columns]
        values, bads, notes = read_numbers(
            [Column(c, self.raw[c], self.where(c)) for c in present],
            self.conventions,
            label=self.label,
        )
        self.notes += notes
        got = dict(zip(present, zip(values, bads, strict=True), strict=True))
        for order, col in enumerate(names, start=first_order):
            if col not in got:
                out[col] = 0.0
                continue
            vals, bad = got[col]
            raw = self.raw[col]
            add = functools.partial(self.add, order=order, col=col, values=raw)
            add(
                bad,
                message="is not a number",
                fix="Write a quantity such as 12 or 12.5 (empty means 0).",
            )
            add(
                np.nan_to_num(vals, nan=0.0) < 0,
                message="is negative",
                fix=f"Quantities must be 0 or more; {book}.",
            )
            big = too_large(vals) & (vals > 0)
            add(
                big,
                message=f"is too large (at least {MAX_NUMBER:,.0f})",
                fix="Check the value and its decimal separator.",
            )
            out[col] = np.where(np.isnan(vals) & ~bad, 0.0, vals)
            out.loc[bad | big, col] = np.nan

    def result(self, out: pd.DataFrame, keys: list[str], fix: str) -> pd.DataFrame:
        """``out`` ready (dates as days, notes in ``attrs``), or every problem raised at once:
        those gathered in source order, then each row repeating ``keys``."""
        self.problems.sort(key=lambda p: (p[0], p[1]))
        listed = [p[2] for p in self.problems]
        dup = (out.duplicated(keys, keep="first") & out["date"].notna()).to_numpy()
        for pos in np.flatnonzero(dup):
            on = (
                f" on {out['resource'].iloc[pos]}"
                if "resource" in keys and out["resource"].iloc[pos]
                else ""
            )
            listed.append(
                CellProblem(
                    self.locate.row(int(pos)),
                    None,
                    f"repeats item {out['item'].iloc[pos]}{on} on {out['date'].iloc[pos]:%Y-%m-%d}",
                    fix,
                )
            )
        if listed:
            raise InputError(f"{self.label} has values sop-excel cannot load", listed)
        out = out.reset_index(drop=True)
        out["date"] = out["date"].astype("datetime64[us]")
        out.attrs["notes"] = self.notes
        return out


class _Exact(str):
    """Text shown in a message exactly as it is (not stripped)."""


def _shown(value: object) -> object:
    """A raw value as a message shows it: text as typed, empty as nothing."""
    if isinstance(value, _Exact):
        return str(value)
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _soft(v: object) -> object:
    """A code as its checks see it: text without surrounding blanks (not control characters)."""
    return v.strip(" \t\r\n") if isinstance(v, str) else v


def _items(s: pd.Series) -> pd.Series:
    """Item codes as stripped text; a whole-number cell (1001.0) reads as 1001; empty is ''."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s.fillna("").str.strip().astype(str)
    arr = s.to_numpy(dtype=object)
    if set(map(type, arr)) <= _PLAIN:  # per distinct value: equal values read the same here
        codes, uniq = pd.factorize(arr, use_na_sentinel=True)
        text = np.array([_item_text(v) for v in uniq] + [""], dtype=object)
        return pd.Series(text[codes], index=s.index, dtype=str)
    return pd.Series([_item_text(v) for v in arr], index=s.index, dtype=str)


# value types whose equal values (1 and 1.0) read as the same code; not bool (True == 1 reads
# "True") nor Decimal (Decimal("1.0") == 1 reads "1.0")
_PLAIN = {str, int, float, type(None)}


def _item_text(v: object) -> str:
    if isinstance(v, str):
        return v.strip()
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()
