"""Shared, vectorised validation of raw actuals: one rule set for every source.

Each reader turns its source into a *raw* frame with the canonical columns (values as the source
gave them: text from CSV, typed cells from xlsx or SQL) and a :class:`Locator` that says where a
row or cell came from. :func:`validate` checks every value at once and raises one
:class:`~sop_excel.errors.InputError` listing every problem, in source order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError, SopExcelError

__all__ = ["ACTUALS", "ACTUALS_COLUMNS", "SUPPLY", "SUPPLY_COLUMNS", "Columns", "Locator", "missing_columns_error",
           "resolve_columns", "validate", "validate_supply"]

ACTUALS_COLUMNS = ("date", "item", "orders", "shipments")
SUPPLY_COLUMNS = ("date", "item", "resource", "produced", "receipts")
QUANTITIES = ("orders", "shipments")
_DIGIT = re.compile(r"\d")


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
SUPPLY = Columns(("date", "item"), ("resource", "produced", "receipts"), ("produced", "receipts"),
                 setting="SupplyColumns", example="produced=qty_made", what="production or receipts")


@dataclass(frozen=True)
class Locator:
    """Where rows and cells of a raw frame came from, for messages.

    Attributes:
        cell: ``(position, canonical column) -> "File a.csv, row 3, column 'orders'"``.
        row: ``position -> "File a.csv, row 3"`` (used for repeated item/day pairs).
    """

    cell: Callable[[int, str], str]
    row: Callable[[int], str]


def resolve_columns(found: list[str], mapping: Mapping[str, str] | None,
                    spec: Columns = ACTUALS) -> tuple[dict[str, int], list[str]]:
    """Match canonical columns to a source's header, case- and space-insensitively.

    Args:
        found: the source's column names, in order.
        mapping: canonical name -> source column name (ActualsColumns in Settings); names not in it
            are looked up under their canonical name.
        spec: the columns wanted (default: the actuals' date, item, orders, shipments).

    Returns:
        (canonical -> position in ``found`` for each column found, the source names of the
        required columns that are missing).

    Raises:
        SopExcelError: the mapping names a column sop-excel does not know.
    """
    mapping = dict(mapping or {})
    wrong = [k for k in mapping if k not in spec.canonical]
    if wrong:
        raise SopExcelError(
            f"{spec.setting} maps {', '.join(repr(w) for w in wrong)}, which sop-excel does not know. "
            f"Map only {', '.join(spec.canonical)}, e.g. {spec.example}.")
    norm = [str(f).strip().lower() for f in found]
    idx: dict[str, int] = {}
    missing: list[str] = []
    for col in spec.canonical:
        want = str(mapping.get(col, col)).strip().lower()
        if want in norm:
            idx[col] = norm.index(want)
        elif col in spec.required:
            missing.append(mapping.get(col, col))
    if spec.any_of and not any(c in idx for c in spec.any_of) and not missing:
        missing = [str(mapping.get(c, c)) for c in spec.any_of]
    return idx, missing


def missing_columns_error(where: str, missing: list[str], found: list[str],
                          mapping: Mapping[str, str] | None, what: str = "file",
                          spec: Columns = ACTUALS) -> InputError:
    """The one message for missing columns: where, which, what was found, what to do."""
    mapping = dict(mapping or {})
    back = {v: k for k, v in mapping.items()}
    named = ", ".join(repr(m) + (f" (mapped to {back[m]} in {spec.setting})" if m in back else "")
                      for m in missing)
    if spec.any_of and set(missing) == {str(mapping.get(c, c)) for c in spec.any_of}:
        named = " or ".join(repr(m) for m in missing)
    shown = ", ".join(repr(str(h)) for h in found) or "no columns"
    wanted = list(spec.required) + ([" or ".join(spec.any_of)] if spec.any_of else [])
    fix = f"The {what} needs the columns {', '.join(wanted)}."
    if mapping:
        needed = ", ".join([str(mapping.get(c, c)) for c in spec.required]
                           + ([" or ".join(str(mapping.get(c, c)) for c in spec.any_of)] if spec.any_of else []))
        fix = (f"The {what} needs the columns {needed}; fix {spec.setting} in Settings "
               f"(e.g. {spec.example}) or the source.")
    return InputError(f"{where}: missing column{'s' if len(missing) > 1 else ''} {named}; "
                      f"found {shown}. {fix}")


def validate(raw: pd.DataFrame, locate: Locator, *, known_items: set[str] | None,
             label: str) -> pd.DataFrame:
    """Check and convert raw actuals; every problem reported at once.

    Args:
        raw: canonical columns ``date, item, orders, shipments`` holding the source's values,
            one row per source row (blank rows already dropped), in source order.
        locate: names the source row and cell of a position in ``raw``.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        label: the source in the summary line, e.g. "Actuals file a.csv".

    Returns:
        ``date`` (datetime64, day), ``item`` (str), ``orders``, ``shipments`` (float, empty = 0).

    Raises:
        InputError: unreadable dates, empty items, unknown items, quantities that are not numbers
            or are negative, repeated item/day pairs.
    """
    problems: list[tuple[int, int, CellProblem]] = []

    def add(mask: np.ndarray, order: int, col: str, values: pd.Series | None, message: str, fix: str) -> None:
        for pos in np.flatnonzero(mask):
            value = None if values is None else _shown(values.iloc[pos])
            problems.append((int(pos), order, CellProblem(locate.cell(int(pos), col), value, message, fix)))

    dates, bad_date = _dates(raw["date"])
    add(bad_date, 0, "date", raw["date"], "is not a date", "Write dates as YYYY-MM-DD.")
    items = _items(raw["item"])
    empty = (items == "").to_numpy()
    add(empty, 1, "item", None, "item is empty", "Fill in the item code.")
    if known_items is not None:
        unknown = ~empty & ~items.isin(known_items).to_numpy()
        add(unknown, 1, "item", items, "is not an item on the Items sheet",
            "Check the code, or add the item to Items first.")
    out = pd.DataFrame({"date": dates, "item": items})
    for order, col in enumerate(QUANTITIES, start=2):
        values, bad = _quantities(raw[col])
        add(bad, order, col, raw[col], "is not a number", "Write a quantity such as 12 or 12.5 (empty means 0).")
        add(np.nan_to_num(values, nan=0.0) < 0, order, col, raw[col], "is negative",
            "Quantities must be 0 or more; book returns separately.")
        out[col] = values
    problems.sort(key=lambda p: (p[0], p[1]))
    listed = [p[2] for p in problems]
    dup = (out.duplicated(["date", "item"], keep="first") & out["date"].notna()).to_numpy()
    for pos in np.flatnonzero(dup):
        listed.append(CellProblem(locate.row(int(pos)), None,
                                  f"repeats item {out['item'].iloc[pos]} on {out['date'].iloc[pos]:%Y-%m-%d}",
                                  "Keep one row per item and day."))
    if listed:
        raise InputError(f"{label} has values sop-excel cannot load", listed)
    return out.reset_index(drop=True)


def validate_supply(raw: pd.DataFrame, locate: Locator, *, known_items: set[str] | None,
                    item_resources: Mapping[str, str] | None = None, known_resources: set[str] | None = None,
                    label: str) -> pd.DataFrame:
    """Check and convert raw production and receipts; every problem reported at once.

    Args:
        raw: canonical columns ``date, item`` and any of ``resource, produced, receipts`` (a
            missing quantity column is all zeros), one row per source row, in source order.
        locate: names the source row and cell of a position in ``raw``.
        known_items: item codes on the Items sheet; ``None`` accepts any code.
        item_resources: each item's resource on the Items sheet, for rows without one.
        known_resources: the resources of the Items and Capacity sheets; ``None`` accepts any.
        label: the source in the summary line, e.g. "Production file p.csv".

    Returns:
        ``date`` (datetime64, day), ``item``, ``resource`` (str; the item's resource where the
        source has none), ``produced``, ``receipts`` (float, empty = 0).

    Raises:
        InputError: unreadable dates, empty or unknown items, unknown resources, quantities that
            are not numbers or are negative, an item twice on one day and resource.
    """
    problems: list[tuple[int, int, CellProblem]] = []

    def add(mask: np.ndarray, order: int, col: str, values: pd.Series | None, message: str, fix: str) -> None:
        for pos in np.flatnonzero(mask):
            value = None if values is None else _shown(values.iloc[pos])
            problems.append((int(pos), order, CellProblem(locate.cell(int(pos), col), value, message, fix)))

    dates, bad_date = _dates(raw["date"])
    add(bad_date, 0, "date", raw["date"], "is not a date", "Write dates as YYYY-MM-DD.")
    items = _items(raw["item"])
    empty = (items == "").to_numpy()
    add(empty, 1, "item", None, "item is empty", "Fill in the item code.")
    if known_items is not None:
        add(~empty & ~items.isin(known_items).to_numpy(), 1, "item", items, "is not an item on the Items sheet",
            "Check the code, or add the item to Items first.")
    given = _items(raw["resource"]) if "resource" in raw.columns else pd.Series("", index=raw.index, dtype=str)
    own = items.map(dict(item_resources or {})).fillna("").astype(str)
    resource = given.where(given != "", own)
    if known_resources is not None and "resource" in raw.columns:
        add(((given != "") & ~given.isin(known_resources)).to_numpy(), 2, "resource", given,
            "is not a resource on the Items or Capacity sheet",
            "Check the code, or leave it empty for the item's own resource.")
    out = pd.DataFrame({"date": dates, "item": items, "resource": resource})
    for order, col in enumerate(("produced", "receipts"), start=3):
        if col not in raw.columns:
            out[col] = 0.0
            continue
        values, bad = _quantities(raw[col])
        add(bad, order, col, raw[col], "is not a number", "Write a quantity such as 12 or 12.5 (empty means 0).")
        add(np.nan_to_num(values, nan=0.0) < 0, order, col, raw[col], "is negative",
            "Quantities must be 0 or more; book scrap or returns separately.")
        out[col] = values
    problems.sort(key=lambda p: (p[0], p[1]))
    listed = [p[2] for p in problems]
    dup = (out.duplicated(["date", "item", "resource"], keep="first") & out["date"].notna()).to_numpy()
    for pos in np.flatnonzero(dup):
        on = f" on {out['resource'].iloc[pos]}" if out["resource"].iloc[pos] else ""
        listed.append(CellProblem(locate.row(int(pos)), None,
                                  f"repeats item {out['item'].iloc[pos]}{on} on {out['date'].iloc[pos]:%Y-%m-%d}",
                                  "Keep one row per item, resource and day."))
    if listed:
        raise InputError(f"{label} has values sop-excel cannot load", listed)
    return out.reset_index(drop=True)


def _shown(value: object) -> object:
    """A raw value as a message shows it: text as typed, empty as nothing."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_text(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s.notna().to_numpy()
    return np.fromiter((isinstance(v, str) for v in s.to_numpy(dtype=object)), dtype=bool, count=len(s))


def _dates(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Day timestamps and a mask of values that are not dates (empty counts as not a date)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = pd.Series(s.to_numpy(), index=s.index)
        return _day(out), out.isna().to_numpy()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    text = _is_text(s)
    if text.any():
        t = s[text].astype(str).str.strip()
        parsed = pd.to_datetime(t, format="ISO8601", errors="coerce")
        retry = parsed.isna() & (t != "")
        if retry.any():
            parsed = parsed.astype(object)
            parsed[retry] = [_lenient_date(v) for v in t[retry]]
            parsed = pd.to_datetime(parsed, errors="coerce")
        out[text] = _day(parsed)
    other = ~text & s.notna().to_numpy()
    if other.any():
        out[other] = [pd.Timestamp(v) if isinstance(v, (dt.date, np.datetime64)) else pd.NaT
                      for v in s[other]]
    return _day(out), out.isna().to_numpy()


def _day(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.dt.normalize().astype("datetime64[us]")


def _lenient_date(text: str) -> pd.Timestamp:
    """Dates pandas reads in other layouts (2026/11/19, 19 Nov 2026); never words like 'today'."""
    if not _DIGIT.search(text):
        return pd.NaT
    try:
        return pd.Timestamp(text)
    except (ValueError, OverflowError):
        return pd.NaT


def _items(s: pd.Series) -> pd.Series:
    """Item codes as stripped text; a whole-number cell (1001.0) reads as 1001; empty is ''."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return s.fillna("").str.strip().astype(str)
    return pd.Series([_item_text(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=str)


def _item_text(v: object) -> str:
    if isinstance(v, str):
        return v.strip()
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _quantities(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats (empty = 0) and a mask of values that are not finite numbers."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        vals = np.where(np.isnan(vals), 0.0, vals)
        bad = ~np.isfinite(vals)
        return np.where(bad, np.nan, vals), bad
    vals = np.zeros(len(s))
    bad = np.zeros(len(s), dtype=bool)
    text = _is_text(s)
    if text.any():
        t = s[text].astype(str).str.strip().str.replace(",", "", regex=False)
        num = pd.to_numeric(t, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        num = np.where(t.to_numpy() == "", 0.0, num)
        vals[text] = num
        bad[text] = ~np.isfinite(num)
    other = ~text & s.notna().to_numpy()
    if other.any():
        nums = [float(v) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                else np.nan for v in s[other]]
        vals[other] = nums
        bad[other] = ~np.isfinite(nums)
    vals[bad] = np.nan
    return vals, bad
