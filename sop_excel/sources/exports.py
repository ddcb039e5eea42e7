"""A company's own exports (item master, demand history, budget, capacity, open orders, production) read into
the planning workbook's frames, with a summary of what was read.

Planners get their data from an ERP or BI tool as CSV or xlsx with column names of their own,
often with decimal commas and dates in the local order, history either monthly or as order
lines. Each reader here takes such a file through the shared layers (:mod:`.tabular` for
encoding, separator and sheet; :mod:`.columns` for which column is which; :mod:`.conventions`
for numbers and dates) and returns the frame the workbook's table holds, plus lines saying what
it read: columns taken, defaults used, rows dropped and why, duplicates summed.

Shapes understood:

* **items**: one row per item (a repeated item is refused).
* **history**: *long monthly* (item, month, quantity), *wide monthly* (item, then one column per
  month, as pivot tables export it: empty cells before an item's first value mean it did not
  exist yet, after it 0), or *transactional* (item, date, quantity per order line, summed into
  months). Rows of items not in the item master and rows from the as-of month on are left out
  (and counted); months between an item's first month and the last complete month that have
  no row are 0; a month whose total is negative (returns above sales) is read as 0 (and listed).
* **budget**: per family (or per item, summed into its family) and month, long or wide.
* **capacity**: per resource and month, long or wide.
* **open orders**: the as-of month's order lines so far (date, item, quantity, shipped
  quantity), summed per item and day into the Actuals sheet.
* **production**: daily production per item (and resource) and supplier receipts (date, item,
  resource, produced, receipts), summed per item, resource and day into the Production sheet:
  from the month before the as-of month on (the sheet's window); receipts dated after the as-of
  date are due, production dated after it is left out (and counted).

Every problem is named by file, row (or sheet and cell) and column, all at once; nothing is
written when anything is wrong.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError, SopExcelError
from sop_excel.sources.columns import ROLES, ReadMapping, Resolved, resolve
from sop_excel.sources.conventions import (
    MAX_NUMBER,
    Column,
    Conventions,
    read_dates,
    read_numbers,
    too_large,
)
from sop_excel.sources.tabular import Table, control_characters, position_letter, read_table

__all__ = [
    "BASIC_ITEM_FIELDS",
    "CompanyData",
    "ItemDefaults",
    "read_budget",
    "read_capacity",
    "read_company",
    "read_history",
    "read_items",
    "read_open_orders",
    "read_production",
]

_DT = "datetime64[us]"
# what every item has (the sample company's item master), then what a planner may add
BASIC_ITEM_FIELDS = [
    "item",
    "description",
    "family",
    "site",
    "resource",
    "price",
    "unit_cost",
    "hours_per_unit",
    "lead_time_days",
    "status",
    "opening_stock",
    "like_item",
]
ITEM_FIELDS = [
    *BASIC_ITEM_FIELDS,
    "method",
    "comment",
    "discontinued_from",
    "price_from",
    "new_price",
    "new_unit_cost",
]
_STATUS = {
    "active": "active",
    "a": "active",
    "aktiv": "active",
    "released": "active",
    "freigegeben": "active",
    "live": "active",
    "current": "active",
    "regular": "active",
    "new": "new",
    "neu": "new",
    "launch": "new",
    "introduction": "new",
    "n": "new",
    "discontinued": "discontinued",
    "obsolete": "discontinued",
    "inactive": "discontinued",
    "inaktiv": "discontinued",
    "blocked": "discontinued",
    "gesperrt": "discontinued",
    "phase out": "discontinued",
    "phase-out": "discontinued",
    "phaseout": "discontinued",
    "eol": "discontinued",
    "end of life": "discontinued",
    "d": "discontinued",
    "auslauf": "discontinued",
    "delisted": "discontinued",
}
PRODUCTION_FIELDS = {
    "date": _DT,
    "item": "object",
    "resource": "object",
    "produced": "float",
    "receipts": "float",
}
EXCEL_CELL_CHARS = 32_767
MIN_HISTORY_MONTHS = 12
"""Items with fewer months of history are listed in the summary: they are forecast as new items
(from their like item when one is named)."""


@dataclass(frozen=True)
class ItemDefaults:
    """What an item gets for an optional column the item master does not have."""

    description: str = ""
    site: str = "All"
    resource: str = ""
    hours_per_unit: float = 0.0
    lead_time_days: int = 0
    status: str = "active"
    opening_stock: float = 0.0

    def said(self, role: str) -> str:
        return {
            "description": "description empty",
            "site": f"site '{self.site}' for every item",
            "resource": "no resource (no capacity load)",
            "hours_per_unit": f"hours per unit {self.hours_per_unit:g}",
            "lead_time_days": f"lead time {self.lead_time_days} days",
            "status": f"status {self.status}",
            "opening_stock": f"opening stock {self.opening_stock:g}",
            "like_item": "no like item",
            "method": "the Settings forecast method",
        }[role]


@dataclass
class CompanyData:
    """A company's validated frames, in the fields of the workbook's tables, and what was read."""

    items: pd.DataFrame
    history: pd.DataFrame
    budget: pd.DataFrame
    capacity: pd.DataFrame
    actuals: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    production: pd.DataFrame = field(default_factory=lambda: _empty(PRODUCTION_FIELDS))
    """``date, item, resource, produced, receipts``: the Production sheet's first rows (issue 21)."""


class _Problems:
    """Problems of one file, gathered to be raised at once, in row order."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[tuple[int, int, CellProblem]] = []

    def add(
        self,
        mask: np.ndarray,
        where: Callable[[int], str],
        values: pd.Series | None,
        message: str,
        fix: str,
        order: int = 0,
    ) -> None:
        for pos in np.flatnonzero(mask):
            value = None if values is None else _shown(values.iloc[pos])
            self.items.append((int(pos), order, CellProblem(where(int(pos)), value, message, fix)))

    def raise_any(self) -> None:
        if self.items:
            self.items.sort(key=lambda p: (p[0], p[1]))
            raise InputError(
                f"{self.label} has values sop-excel cannot use", [p[2] for p in self.items]
            )


def _shown(v: object) -> object:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, str):
        return v.strip() or None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _text(values: pd.Series) -> pd.Series:
    """Codes and names as text: stripped (spaces, tabs, line breaks), a whole number 1001.0 as 1001."""

    def one(v: object) -> str:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, str):
            return v.strip(" \t\r\n\u00a0")
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            return f"{v:%Y-%m-%d}"
        return str(v).strip()

    codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    texts = np.array([one(v) for v in uniq] + [""], dtype=object)  # [-1]: empty
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _open(path: Path, kind: str, mapping: ReadMapping, what: str) -> Table:
    f = mapping.files.get(kind, {})
    required = [r for r, (req, _) in ROLES[kind].items() if req]
    return read_table(
        path,
        sheet=f.get("sheet"),
        encoding=f.get("encoding"),
        delimiter=f.get("delimiter"),
        expected=", ".join(required),
        what=what,
        missing=f"No {kind.replace('_', ' ')} file at {path}. Check the path.",
    )


def _label(table: Table) -> str:
    return f"File {table.name}" + (f", sheet '{table.sheet}'" if table.sheet else "")


def _read_line(
    kind: str, table: Table, taken: list[str], notes: list[str], unused: list[str] | None = None
) -> str:
    where = table.name + (f" (sheet '{table.sheet}')" if table.sheet else "")
    extra = [n for n in table.notes + notes if n]
    if unused:
        extra.append(
            "columns not used: "
            + ", ".join(repr(u) for u in unused[:12])
            + (f" and {len(unused) - 12} more" if len(unused) > 12 else "")
        )
    return f"{kind}: {where}; columns {', '.join(taken)}" + (
        f"; {'; '.join(extra)}" if extra else ""
    )


# -- items ------------------------------------------------------------------------------------
def read_items(
    path: str | Path, mapping: ReadMapping, *, defaults: ItemDefaults | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The item master: one row per item, in the Items table's fields.

    Required: item, family, price, unit cost. Optional (with :class:`ItemDefaults`, said in the
    summary): description, site, resource, hours per unit, lead time, status, opening stock,
    like item, method.

    Returns:
        (items, summary lines).

    Raises:
        InputError: missing columns, a repeated item, an empty item or family, prices and costs
            that are not numbers, negative or too large, an unknown status, method or like item.
    """
    import forecasting

    defaults = defaults or ItemDefaults()
    path = Path(path)
    table = _open(path, "items", mapping, "items")
    res = resolve("items", table.header, table.header_where, mapping)
    roles = list(res.index)
    cols = dict(zip(roles, table.columns([res.index[r] for r in roles]), strict=True))

    def where(role: str) -> Callable[[int], str]:
        return lambda pos: table.where(res.index[role], pos)

    problems = _Problems(_label(table))
    out = pd.DataFrame(index=range(len(table.rows)))
    for role in (
        "item",
        "description",
        "family",
        "site",
        "resource",
        "status",
        "like_item",
        "method",
    ):
        if role not in cols:
            continue
        text = _text(cols[role])
        control = control_characters(text)
        problems.add(
            control,
            where(role),
            text,
            "holds a control character",
            "Remove it from the file: Excel cannot show it, and codes are compared exactly.",
        )
        problems.add(
            (text.str.len() > EXCEL_CELL_CHARS).to_numpy(),
            where(role),
            None,
            f"is longer than the {EXCEL_CELL_CHARS:,} characters an Excel cell holds",
            "Shorten it in the file.",
        )
        out[role] = text
    for role in ("item", "family"):
        problems.add(
            (out[role] == "").to_numpy(),
            where(role),
            None,
            f"{role} is empty",
            f"Fill in the {role} of every item.",
            order=1,
        )
    numbers = [
        r
        for r in ("price", "unit_cost", "hours_per_unit", "lead_time_days", "opening_stock")
        if r in cols
    ]
    conv = mapping.conventions("items")
    values, bads, notes = read_numbers(
        [Column(r, cols[r], where(r)) for r in numbers], conv, label=_label(table)
    )
    for role, vals, bad in zip(numbers, values, bads, strict=True):
        problems.add(
            bad, where(role), cols[role], "is not a number", "Write a number such as 12.5.", order=2
        )
        if role != "opening_stock":
            problems.add(
                np.nan_to_num(vals) < 0,
                where(role),
                cols[role],
                "is negative",
                "Prices, costs, hours and lead times are 0 or more.",
                order=2,
            )
        problems.add(
            too_large(vals),
            where(role),
            cols[role],
            f"is too large (at least {MAX_NUMBER:,.0f})",
            "Check the value and its decimal separator.",
            order=2,
        )
        if role in ("price", "unit_cost"):
            problems.add(
                np.isnan(vals) & ~bad,
                where(role),
                None,
                f"{role.replace('_', ' ')} is empty",
                "Fill in every item's price and unit cost.",
                order=2,
            )
        out[role] = vals
    if "status" in out:
        status = (
            out["status"].str.lower().map(lambda s: _STATUS.get(s, "active" if s == "" else None))
        )
        problems.add(
            status.isna().to_numpy(),
            where("status"),
            out["status"],
            "is not a status sop-excel knows",
            "Write active, new or discontinued (obsolete, inactive, blocked and phase-out read as "
            "discontinued).",
            order=3,
        )
        out["status"] = status.fillna("")
    if "method" in out:
        bad_method = (out["method"] != "") & ~out["method"].isin(forecasting.METHODS)
        problems.add(
            bad_method.to_numpy(),
            where("method"),
            out["method"],
            "is not a forecasting method",
            f"Pick one of {', '.join(forecasting.METHODS)} or leave it empty.",
            order=3,
        )
    dup = (out["item"] != "") & out["item"].duplicated(keep="first")
    first_row = dict(
        zip(
            out["item"][~out["item"].duplicated()],
            table.rows[~out["item"].duplicated().to_numpy()],
            strict=True,
        )
    )
    for pos in np.flatnonzero(dup.to_numpy()):
        problems.items.append(
            (
                int(pos),
                4,
                CellProblem(
                    table.row_where(int(pos)),
                    None,
                    f"repeats item {out['item'].iloc[pos]} (first on row {first_row[out['item'].iloc[pos]]})",
                    "Keep one row per item (an export per plant or per price list repeats items: pick one).",
                ),
            )
        )
    if "like_item" in out:
        unknown = (out["like_item"] != "") & ~out["like_item"].isin(set(out["item"]))
        problems.add(
            unknown.to_numpy(),
            where("like_item"),
            out["like_item"],
            "is not an item of this file",
            "Name an item of the item master as like item, or leave it empty.",
            order=3,
        )
    problems.raise_any()
    lines_defaults = []
    for role in (
        "description",
        "site",
        "resource",
        "hours_per_unit",
        "lead_time_days",
        "status",
        "opening_stock",
        "like_item",
        "method",
    ):
        if role not in out:
            lines_defaults.append(defaults.said(role))
            out[role] = {"like_item": "", "method": ""}.get(role, getattr(defaults, role, ""))
    if "lead_time_days" in res.index:
        frac = out["lead_time_days"].notna() & (out["lead_time_days"] % 1 != 0)
        if frac.any():
            notes.append(f"lead times rounded to whole days ({int(frac.sum())} items)")
    out["lead_time_days"] = (
        out["lead_time_days"].fillna(defaults.lead_time_days).round().astype(int)
    )
    out["hours_per_unit"] = out["hours_per_unit"].fillna(defaults.hours_per_unit).astype(float)
    out["opening_stock"] = out["opening_stock"].fillna(defaults.opening_stock).astype(float)
    out["site"] = out["site"].replace("", defaults.site)
    out["status"] = out["status"].replace("", defaults.status)
    for f in ("comment",):
        out[f] = ""
    for f in ("discontinued_from", "price_from"):
        out[f] = pd.Series(pd.NaT, index=out.index, dtype=_DT)
    for f in ("new_price", "new_unit_cost"):
        out[f] = np.nan
    items = out[ITEM_FIELDS].reset_index(drop=True)
    items.attrs["given"] = set(res.index)  # the columns the file has (the others are defaults)
    families = items["family"].nunique()
    lines = [
        _read_line("Items", table, res.taken, notes, res.unused),
        f"  {len(items):,} items in {families:,} famil{'y' if families == 1 else 'ies'}"
        + (
            f"; {int((items['status'] != 'active').sum()):,} not active "
            f"({', '.join(f'{s} {n}' for s, n in items['status'].value_counts().items() if s != 'active')})"
            if (items["status"] != "active").any()
            else ""
        ),
    ]
    if lines_defaults:
        lines.append("  not in the file, so: " + "; ".join(lines_defaults))
    return items, lines


# -- months: long or wide ---------------------------------------------------------------------
def _month_headers(table: Table, conv: Conventions) -> dict[int, pd.Timestamp]:
    """Header cells that are months (a wide file): position -> first of the month."""
    header = pd.Series(list(table.header), dtype=object)
    nonblank = header.map(lambda h: bool(str(h).strip())).to_numpy()
    if not nonblank.any():
        return {}
    col = Column(
        "header",
        header,
        lambda pos: f"{table.header_where}, column {position_letter(pos)}",
        month=True,
    )
    (dates,), _, _ = read_dates([col], conv, label=_label(table))
    found = {int(i): pd.Timestamp(d).replace(day=1) for i, d in enumerate(dates) if pd.notna(d)}
    return found if len(found) >= 2 else {}


def _wide(
    table: Table, months: dict[int, pd.Timestamp], id_cols: list[int], conv: Conventions
) -> tuple[list[pd.Series], np.ndarray, list[str], _Problems]:
    """(id columns, month values as a rows x months matrix (NaN where empty), notes, problems)."""
    positions = sorted(months)
    cols = table.columns(id_cols + positions)
    ids, vals = cols[: len(id_cols)], cols[len(id_cols) :]
    columns = [
        Column(table.header[p], v, functools.partial(table.where, p))
        for p, v in zip(positions, vals, strict=True)
    ]
    values, bads, notes = read_numbers(columns, conv, label=_label(table))
    problems = _Problems(_label(table))
    for c, v, b, raw in zip(columns, values, bads, vals, strict=True):
        problems.add(b, c.where, raw, "is not a number", "Write a number, or leave the cell empty.")
        problems.add(
            too_large(v),
            c.where,
            raw,
            f"is too large (at least {MAX_NUMBER:,.0f})",
            "Check the value and its decimal separator.",
        )
    return (
        ids,
        np.column_stack(values) if values else np.zeros((len(table.rows), 0)),
        notes,
        problems,
    )


# -- history ----------------------------------------------------------------------------------
def read_history(
    path: str | Path, mapping: ReadMapping, items: pd.DataFrame, as_of: dt.date
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Monthly demand per item, from a long, wide or transactional export.

    Returns:
        (history ``item, month, qty, flag`` sorted by item and month, summary lines, warnings).

    Raises:
        InputError: missing columns, dates and quantities that cannot be read (or read two
            ways), unknown flags; each by row and column.
    """
    path = Path(path)
    table = _open(path, "history", mapping, "rows of history")
    conv = mapping.conventions("history")
    month0 = pd.Timestamp(as_of).replace(day=1)
    known = set(items["item"])
    months = _month_headers(table, conv)
    notes: list[str] = []
    flags = None
    if months:
        res = resolve(
            "history",
            table.header,
            table.header_where,
            mapping,
            required=("item",),
            skip=set(months),
        )
        (item_raw,), matrix, n_notes, problems = _wide(table, months, [res.index["item"]], conv)
        notes += n_notes
        item = _text(item_raw)
        problems.add(
            (item == "").to_numpy(),
            lambda pos: table.where(res.index["item"], pos),
            None,
            "item is empty",
            "Fill in the item of every row.",
        )
        problems.add(
            control_characters(item),
            lambda pos: table.where(res.index["item"], pos),
            item,
            "holds a control character",
            "Remove it from the file: codes are compared exactly.",
        )
        problems.raise_any()
        month_list = [months[p] for p in sorted(months)]
        # empty before an item's first value: it did not exist yet; after it: no demand (0)
        have = ~np.isnan(matrix)
        started = np.maximum.accumulate(have, axis=1)
        qty = np.where(started & ~have, 0.0, matrix)
        rr, cc = np.nonzero(started)
        frame = pd.DataFrame(
            {
                "item": item.to_numpy()[rr],
                "month": np.array(month_list, dtype=_DT)[cc],
                "qty": qty[rr, cc],
                "row": table.rows[rr],
            }
        )
        shape = (
            f"wide: one column per month ({month_list[0]:%b %Y} to {month_list[-1]:%b %Y}); empty cells "
            "after an item's first value read as 0"
        )
        taken = [*res.taken, f"months = {len(month_list)} columns"]
        unused = res.unused
        lines_in = len(item)
    else:
        res = resolve("history", table.header, table.header_where, mapping)
        src = _Long.read(table, conv, res, list(res.index))
        raw, where, problems = src.raw, src.where, src.problems
        item = src.items("row")
        dates, d_notes = src.dates("Write dates as YYYY-MM-DD (or a month as YYYY-MM).", month=True)
        got, q_notes = src.numbers(("qty",), "Write a quantity such as 12 or 12.5.")
        qty = got["qty"]
        if "flag" in raw:
            from sop_excel.pipeline import HISTORY_FLAGS

            flags = _text(raw["flag"]).str.lower()
            problems.add(
                (~flags.isin(HISTORY_FLAGS)).to_numpy(),
                where("flag"),
                raw["flag"],
                "is not a known flag",
                "Leave Flag empty, or write stockout (demand not seen) "
                "or keep (a real month, never corrected).",
                order=3,
            )
        problems.raise_any()
        notes += d_notes + q_notes
        day = pd.DatetimeIndex(dates)
        month = day.to_period("M").to_timestamp().astype(_DT)
        frame = pd.DataFrame(
            {"item": item.to_numpy(), "month": month.to_numpy(), "qty": qty, "row": table.rows}
        )
        if flags is not None:
            frame["flag"] = flags.to_numpy()
        month_end = (day + pd.offsets.MonthEnd(0)) == day
        dup = frame.duplicated(["item", "month"], keep=False)
        if (day.day == 1).all() and not dup.any():
            shape = "long: one row per item and month"
        elif month_end.all() and not dup.any():
            shape = "long: one row per item and month (month-end dates)"
        elif (day.day == 1).all() or month_end.all():
            shape = "long monthly, some item-months on several rows (summed)"
        else:
            shape = "transactional: lines with a day's date, summed into months"
        taken = res.taken
        unused = res.unused
        lines_in = len(frame)
    warnings: list[str] = []
    dropped: list[str] = []
    # items not in the item master; months being planned
    unknown = ~frame["item"].isin(known)
    if unknown.any():
        names = frame.loc[unknown, "item"].drop_duplicates()
        dropped.append(
            f"{int(unknown.sum()):,} rows of {len(names):,} items not in the item master "
            f"({_some(names)})"
        )
    late = frame["month"] >= month0
    if late.any():
        dropped.append(
            f"{int((late & ~unknown).sum()):,} rows dated {month0:%B %Y} or later (that month is being "
            "planned; load its orders with --open-orders or refresh-actuals)"
        )
    frame = frame[~unknown & ~late]
    blank_qty = frame["qty"].isna()
    if "transactional" in shape and blank_qty.any():
        dropped.append(f"{int(blank_qty.sum()):,} lines without a quantity")
        frame = frame[~blank_qty]
    # one row per item and month: summed
    many = frame.duplicated(["item", "month"], keep=False)
    if many.any() and "transactional" not in shape:
        g = frame[many].groupby(["item", "month"])["row"].apply(list)
        first = g.index[0]
        notes.append(
            f"{len(g):,} item-months on more than one row were summed (e.g. {first[0]} "
            f"{first[1]:%Y-%m}: rows {', '.join(map(str, g.iloc[0][:5]))})"
        )
    grouped = frame.groupby(["item", "month"], sort=True)
    hist = grouped["qty"].sum(min_count=1).rename("qty").to_frame()
    if "flag" in frame:
        hist["flag"] = grouped["flag"].agg(
            lambda s: (
                "stockout" if (s == "stockout").any() else "keep" if (s == "keep").any() else ""
            )
        )
    else:
        hist["flag"] = ""
    hist = hist.reset_index()
    # months with no row, between an item's first month and the last complete month: 0
    last = month0 - pd.DateOffset(months=1)
    filled = 0
    if len(hist):
        first_month = hist.groupby("item")["month"].min()
        start = first_month.dt.year.to_numpy() * 12 + first_month.dt.month.to_numpy() - 1
        stop = last.year * 12 + last.month - 1
        n = np.maximum(stop - start + 1, 0)
        offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        m = np.repeat(start, n) + offset
        full = pd.DataFrame(
            {
                "item": np.repeat(first_month.index.to_numpy(), n),
                "month": pd.to_datetime(
                    pd.DataFrame({"year": m // 12, "month": m % 12 + 1, "day": 1})
                )
                .astype(_DT)
                .to_numpy(),
            }
        )
        hist = full.merge(hist, on=["item", "month"], how="left")
        gap = hist["qty"].isna() & hist["flag"].isna()
        filled = int(gap.sum())
        hist.loc[gap, "qty"] = 0.0
        hist["flag"] = hist["flag"].fillna("")
    negative = hist["qty"] < 0
    if negative.any():
        bad = hist[negative]
        warnings.append(
            f"History: {int(negative.sum()):,} item-months with a negative total (returns above "
            f"demand) read as 0: "
            + ", ".join(
                f"{r.item} {r.month:%Y-%m} ({r.qty:g})" for r in bad.head(5).itertuples(index=False)
            )
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        )
        hist.loc[negative, "qty"] = 0.0
    hist = (
        hist[["item", "month", "qty", "flag"]].sort_values(["item", "month"]).reset_index(drop=True)
    )
    hist["month"] = hist["month"].astype(_DT)
    lines = [
        _read_line("History", table, taken, notes, unused),
        f"  {shape}; {lines_in:,} rows read",
    ]
    if dropped:
        lines.append("  left out: " + "; ".join(dropped))
    if filled:
        lines.append(
            f"  {filled:,} item-months without a row, between an item's first month and "
            f"{last:%b %Y}, are 0"
        )
    lines += _history_stats(hist, items)
    return hist, lines, warnings


def _some(names: pd.Series, n: int = 5) -> str:
    shown = ", ".join(map(str, names.head(n)))
    return shown + (f" and {len(names) - n:,} more" if len(names) > n else "")


def _history_stats(hist: pd.DataFrame, items: pd.DataFrame) -> list[str]:
    months = hist.groupby("item")["month"].nunique().reindex(items["item"]).fillna(0).astype(int)
    if not len(months):
        return []
    few = months[(months > 0) & (months < MIN_HISTORY_MONTHS)]
    none = months[months == 0]
    out = [
        f"  {hist['item'].nunique():,} items with history, {hist['month'].min():%b %Y} to "
        f"{hist['month'].max():%b %Y}; months per item: min {months[months > 0].min() if (months > 0).any() else 0}, "
        f"median {int(np.median(months[months > 0])) if (months > 0).any() else 0}, max {months.max()}"
        if len(hist)
        else "  no history rows"
    ]
    if len(few):
        out.append(
            f"  {len(few):,} items with fewer than {MIN_HISTORY_MONTHS} months (forecast as new items, from "
            f"their like item where one is named): {_some(pd.Series(few.index))}"
        )
    if len(none):
        out.append(
            f"  {len(none):,} items without any history (forecast from their like item, else 0): "
            f"{_some(pd.Series(none.index))}"
        )
    return out


# -- budget and capacity ----------------------------------------------------------------------
def _per_month(
    path: Path, kind: str, mapping: ReadMapping, key: str, value_roles: tuple[str, ...], what: str
) -> tuple[pd.DataFrame, Table, list[str], list[str], str]:
    """A per-key, per-month file (long or wide): ``key, month, <value roles>`` summed per key and month."""
    table = _open(path, kind, mapping, what)
    conv = mapping.conventions(kind)
    months = _month_headers(table, conv)
    notes: list[str] = []
    if months:
        id_roles = (
            [key]
            + (["item"] if kind == "budget" else [])
            + (["measure"] if kind == "budget" else [])
        )
        res = resolve(
            kind, table.header, table.header_where, mapping, required=(), skip=set(months)
        )
        if key not in res.index and not (kind == "budget" and "item" in res.index):
            res = resolve(
                kind, table.header, table.header_where, mapping, required=(key,), skip=set(months)
            )
        ids_present = [r for r in id_roles if r in res.index]
        ids, matrix, n_notes, problems = _wide(
            table, months, [res.index[r] for r in ids_present], conv
        )
        notes += n_notes
        problems.raise_any()
        id_text = {r: _text(v) for r, v in zip(ids_present, ids, strict=True)}
        month_list = np.array([months[p] for p in sorted(months)], dtype=_DT)
        rr, cc = np.nonzero(~np.isnan(matrix))
        long = pd.DataFrame({r: t.to_numpy()[rr] for r, t in id_text.items()})
        long["month"] = month_list[cc]
        long["row"] = table.rows[rr]
        value = "revenue" if kind == "budget" else value_roles[0]
        if "measure" in id_text:
            m = long["measure"].map(_measure)
            bad = m.isna()
            if bad.any():
                raise InputError(
                    f"{_label(table)}: the measure column holds {long.loc[bad, 'measure'].iloc[0]!r} "
                    f"(row {long.loc[bad, 'row'].iloc[0]}); write volume or revenue."
                )
            long["measure"] = m
            for measure in ("volume", "revenue"):
                long[measure] = np.where(long["measure"] == measure, matrix[rr, cc], np.nan)
            long = long.drop(columns="measure")
        else:
            long[value] = matrix[rr, cc]
        shape = (
            f"wide: one column per month ({pd.Timestamp(month_list[0]):%b %Y} to "
            f"{pd.Timestamp(month_list[-1]):%b %Y})"
        )
        taken = [*res.taken, f"months = {len(month_list)} columns"]
        notes += (
            [f"columns not used: {', '.join(repr(u) for u in res.unused)}"] if res.unused else []
        )
    else:
        required = ("date", *[r for r in value_roles if ROLES[kind][r][0]])
        res = resolve(kind, table.header, table.header_where, mapping, required=required)
        if key not in res.index and not (kind == "budget" and "item" in res.index):
            res = resolve(
                kind, table.header, table.header_where, mapping, required=(key, *required)
            )
        roles = [r for r in (key, "item", "date", *value_roles) if r in res.index]
        roles = list(dict.fromkeys(roles))
        src = _Long.read(table, conv, res, roles)
        raw, where, problems = src.raw, src.where, src.problems
        dates, d_notes = src.dates("Write a month as YYYY-MM (or a date).", month=True)
        got, n_notes = src.numbers(value_roles, "Write a number such as 1200.")
        for r in [key, "item"]:
            if r in raw:
                t = _text(raw[r])
                problems.add(
                    control_characters(t),
                    where(r),
                    t,
                    "holds a control character",
                    "Remove it from the file: names are compared exactly.",
                )
        problems.raise_any()
        notes += d_notes + n_notes
        long = pd.DataFrame({r: _text(raw[r]).to_numpy() for r in (key, "item") if r in raw})
        long["month"] = pd.DatetimeIndex(dates).to_period("M").to_timestamp().astype(_DT).to_numpy()
        long["row"] = table.rows
        for r, v in got.items():
            long[r] = v
        shape = "long: one row per " + ("family" if key == "family" else key) + " and month"
        taken = res.taken
        notes += (
            [f"columns not used: {', '.join(repr(u) for u in res.unused)}"] if res.unused else []
        )
    for r in value_roles:
        if r not in long:
            long[r] = np.nan
    return long, table, taken, notes, shape


def _measure(text: object) -> str | None:
    from sop_excel.sources.columns import SYNONYMS

    t = str(text).strip().lower()
    for role in ("volume", "revenue"):
        if t in SYNONYMS["budget"][role]:
            return role
    return None


def read_budget(
    path: str | Path, mapping: ReadMapping, items: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The budget per family and month (``family, month, volume, revenue``), long or wide, per
    family or per item (summed into the item's family)."""
    long, table, taken, notes, shape = _per_month(
        Path(path), "budget", mapping, "family", ("volume", "revenue"), "rows of budget"
    )
    lines_drop = []
    family_of = items.drop_duplicates("item").set_index("item")["family"]
    if "item" in long and ("family" not in long or (long["family"] == "").all()):
        unknown = ~long["item"].isin(family_of.index)
        if unknown.any():
            lines_drop.append(
                f"{int(unknown.sum()):,} rows of items not in the item master "
                f"({_some(long.loc[unknown, 'item'].drop_duplicates())})"
            )
        long = long[~unknown].assign(family=lambda d: d["item"].map(family_of))
        notes.append("budget given per item, summed into families")
    families = set(items["family"])
    other = ~long["family"].isin(families)
    if other.any():
        lines_drop.append(
            f"{int(other.sum()):,} rows of families without items "
            f"({_some(long.loc[other, 'family'].drop_duplicates())})"
        )
    long = long[~other]
    dup = long.duplicated(["family", "month"], keep=False)
    if dup.any() and "per item" not in " ".join(notes):
        notes.append(f"{int(dup.sum()):,} rows on family-months given more than once, summed")
    out = long.groupby(["family", "month"], as_index=False)[["volume", "revenue"]].agg(
        lambda s: s.sum(min_count=1)
    )
    out["month"] = out["month"].astype(_DT)
    lines = [
        _read_line("Budget", table, taken, notes),
        f"  {shape}; {out['family'].nunique():,} families, "
        + (
            f"{out['month'].min():%b %Y} to {out['month'].max():%b %Y}" if len(out) else "no months"
        ),
    ]
    if lines_drop:
        lines.append("  left out: " + "; ".join(lines_drop))
    missing = sorted(families - set(out["family"]))
    if missing:
        lines.append(f"  families without a budget (no gap shown): {_some(pd.Series(missing))}")
    return out[["family", "month", "volume", "revenue"]], lines, []


def read_capacity(
    path: str | Path, mapping: ReadMapping, items: pd.DataFrame
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Hours per resource and month (``resource, month, hours``), long or wide."""
    long, table, taken, notes, shape = _per_month(
        Path(path), "capacity", mapping, "resource", ("hours",), "rows of capacity"
    )
    bad = long["hours"] < 0
    if bad.any():
        r = long[bad].iloc[0]
        raise InputError(
            f"{_label(table)}, row {r['row']}: {r['hours']:g} hours for {r['resource']} in "
            f"{r['month']:%Y-%m} is negative. Capacity is 0 or more hours."
        )
    out = long.groupby(["resource", "month"], as_index=False)["hours"].sum()
    out["month"] = out["month"].astype(_DT)
    used = set(items.loc[items["resource"] != "", "resource"])
    lines = [
        _read_line("Capacity", table, taken, notes),
        f"  {shape}; {out['resource'].nunique():,} resources, "
        + (
            f"{out['month'].min():%b %Y} to {out['month'].max():%b %Y}" if len(out) else "no months"
        ),
    ]
    spare = sorted(set(out["resource"]) - used)
    if spare:
        lines.append(f"  resources no item uses (kept): {_some(pd.Series(spare))}")
    free = sorted(used - set(out["resource"]))
    if free:
        lines.append(
            f"  resources of items without capacity (not constrained): {_some(pd.Series(free))}"
        )
    return out[["resource", "month", "hours"]], lines, []


# -- the columns of a long file ----------------------------------------------------------------
@dataclass
class _Long:
    """The columns of a file with one value per row (history lines, budget or capacity rows,
    order or production lines) being read: raw values by role, every problem gathered in
    ``problems`` (raised at once by the caller, after its own checks)."""

    table: Table
    conv: Conventions
    res: Resolved
    raw: dict[str, pd.Series]
    problems: _Problems

    @classmethod
    def read(cls, table: Table, conv: Conventions, res: Resolved, roles: list[str]) -> _Long:
        raw = dict(zip(roles, table.columns([res.index[r] for r in roles]), strict=True))
        return cls(table, conv, res, raw, _Problems(_label(table)))

    def where(self, role: str) -> Callable[[int], str]:
        return lambda pos: self.table.where(self.res.index[role], pos)

    def items(self, each: str) -> pd.Series:
        """The item codes, as text; an empty one or a control character is a problem."""
        item = _text(self.raw["item"])
        self.problems.add(
            (item == "").to_numpy(),
            self.where("item"),
            None,
            "item is empty",
            f"Fill in the item of every {each}.",
        )
        self.problems.add(
            control_characters(item),
            self.where("item"),
            item,
            "holds a control character",
            "Remove it from the file: codes are compared exactly.",
        )
        return item

    def dates(self, fix: str, month: bool = False) -> tuple[pd.Series, list[str]]:
        """The date column (``month``: its values are months) and how it was read."""
        (dates,), (bad,), notes = read_dates(
            [Column("date", self.raw["date"], self.where("date"), month=month)],
            self.conv,
            label=_label(self.table),
            date1904=self.table.date1904,
        )
        self.problems.add(
            bad | dates.isna().to_numpy(),
            self.where("date"),
            self.raw["date"],
            "is not a date",
            fix,
            order=1,
        )
        return dates, notes

    def numbers(
        self, roles: tuple[str, ...], fix: str, book: str | None = None
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """The number columns of ``roles`` the file has (empty: NaN) and how they were read.
        ``book``: negative numbers are refused, and belong there instead ("book returns
        separately")."""
        nums = [r for r in roles if r in self.raw]
        vals, bads, notes = read_numbers(
            [Column(r, self.raw[r], self.where(r)) for r in nums],
            self.conv,
            label=_label(self.table),
        )
        for r, v, b in zip(nums, vals, bads, strict=True):
            self.problems.add(b, self.where(r), self.raw[r], "is not a number", fix, order=2)
            if book is not None:
                self.problems.add(
                    np.nan_to_num(v) < 0,
                    self.where(r),
                    self.raw[r],
                    "is negative",
                    f"Quantities must be 0 or more; {book}.",
                    order=2,
                )
            self.problems.add(
                too_large(v),
                self.where(r),
                self.raw[r],
                f"is too large (at least {MAX_NUMBER:,.0f})",
                "Check the value and its decimal separator.",
                order=2,
            )
        return dict(zip(nums, vals, strict=True)), notes


def _daily_lines(
    table: Table, conv: Conventions, res: Resolved, quantities: tuple[str, str], book: str
) -> tuple[_Long, pd.Series, pd.DataFrame, list[str]]:
    """Dated lines per item (open orders, production): the columns, the items, the frame
    ``date, item`` and each of ``quantities`` (empty or absent: 0), and how they were read."""
    src = _Long.read(table, conv, res, list(res.index))
    item = src.items("line")
    dates, d_notes = src.dates("Write dates as YYYY-MM-DD.")
    got, n_notes = src.numbers(quantities, "Write a quantity such as 12 (empty means 0).", book)
    frame = pd.DataFrame(
        {"date": pd.DatetimeIndex(dates).astype(_DT), "item": item.to_numpy()}
        | {r: np.nan_to_num(got[r], nan=0.0) if r in got else 0.0 for r in quantities}
    )
    return src, item, frame, d_notes + n_notes


def _unknown_items(frame: pd.DataFrame, items: pd.DataFrame, dropped: list[str]) -> pd.Series:
    """The lines of items not in the item master, counted (with some of them) in ``dropped``."""
    unknown = ~frame["item"].isin(set(items["item"]))
    if unknown.any():
        dropped.append(
            f"{int(unknown.sum()):,} lines of items not in the item master "
            f"({_some(frame.loc[unknown, 'item'].drop_duplicates())})"
        )
    return unknown


# -- open orders ------------------------------------------------------------------------------
def read_open_orders(
    path: str | Path, mapping: ReadMapping, items: pd.DataFrame, as_of: dt.date
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The as-of month's orders so far, per item and day (``date, item, orders, shipments``):
    what the Actuals sheet starts with, as refresh-actuals would load them."""
    path = Path(path)
    table = _open(path, "open_orders", mapping, "order lines")
    conv = mapping.conventions("open_orders")
    res = resolve("open_orders", table.header, table.header_where, mapping)
    src, _, frame, notes = _daily_lines(
        table, conv, res, ("orders", "shipments"), "book returns separately"
    )
    src.problems.raise_any()
    month0 = pd.Timestamp(as_of).replace(day=1)
    dropped: list[str] = []
    unknown = _unknown_items(frame, items, dropped)
    before = frame["date"] < month0
    if before.any():
        dropped.append(f"{int(before.sum()):,} lines dated before {month0:%B %Y}")
    after = frame["date"] > pd.Timestamp(as_of)
    if after.any():
        dropped.append(f"{int(after.sum()):,} lines dated after the as-of date {as_of:%Y-%m-%d}")
    frame = frame[~unknown & ~before & ~after]
    out = frame.groupby(["date", "item"], as_index=False)[["orders", "shipments"]].sum()
    out["date"] = out["date"].astype(_DT)
    if len(out) < len(frame):
        notes.append(f"{len(frame):,} lines summed into {len(out):,} item-days")
    lines = [
        _read_line("Open orders", table, res.taken, notes),
        f"  {len(out):,} item-days of {out['item'].nunique():,} items, "
        + (
            f"{out['date'].min():%Y-%m-%d} to {out['date'].max():%Y-%m-%d}"
            if len(out)
            else "none in the month"
        ),
    ]
    if dropped:
        lines.append("  left out: " + "; ".join(dropped))
    return out[["date", "item", "orders", "shipments"]], lines, []


# -- production and receipts --------------------------------------------------------------------
def read_production(
    path: str | Path,
    mapping: ReadMapping,
    items: pd.DataFrame,
    capacity: pd.DataFrame,
    as_of: dt.date,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Daily production per item (and resource) and supplier receipts (``date, item, resource,
    produced, receipts``): what the Production sheet starts with, as refresh-actuals would load
    them. A line without a resource is the item's own (Items > Resource); a resource that is
    neither an item's nor on the capacity file is refused by cell.

    Kept: the month before the as-of month on (the sheet keeps what the Actuals sheet keeps);
    receipts dated after the as-of date are due (open purchase orders); production dated after
    it has not happened and is left out. Lines of items not in the item master are left out.
    Lines of one item, resource and day are summed. Each left-out and summed line is counted
    in the summary.
    """
    path = Path(path)
    table = _open(path, "production", mapping, "lines of production or receipts")
    conv = mapping.conventions("production")
    res = resolve("production", table.header, table.header_where, mapping)
    if not any(r in res.index for r in ("produced", "receipts")):
        shown = ", ".join(repr(h) for h in table.header if str(h).strip()) or "no columns"
        raise InputError(
            f"{table.header_where}: no column for produced or receipts (recognised: produced, "
            "output, good qty, receipts, goods receipt, ...); name one in the mapping file "
            '([production] produced = "header") or with --column production.produced=HEADER. '
            f"Found {shown}."
        )
    src, item, frame, notes = _daily_lines(
        table, conv, res, ("produced", "receipts"), "book scrap or returns separately"
    )
    problems = src.problems
    own = item.map(
        dict(zip(items["item"], items["resource"].fillna("").astype(str), strict=True))
    ).fillna("")
    resource = own.astype(str)
    if "resource" in src.raw:
        given = _text(src.raw["resource"])
        bad_control = control_characters(given)
        problems.add(
            bad_control,
            src.where("resource"),
            given,
            "holds a control character",
            "Remove it from the file: codes are compared exactly.",
        )
        known = (
            set(items["resource"].fillna("").astype(str)) | set(capacity["resource"].astype(str))
        ) - {""}
        problems.add(
            ((given != "") & ~bad_control & ~given.isin(known)).to_numpy(),
            src.where("resource"),
            given,
            "is not a resource of the item master or the capacity file",
            "Check the code, or leave it empty for the item's own resource.",
        )
        resource = given.where(given != "", resource)
    problems.raise_any()
    frame.insert(2, "resource", resource.to_numpy())
    first = pd.Timestamp(as_of).replace(day=1) - pd.DateOffset(
        months=1
    )  # the Actuals sheet's window
    dropped: list[str] = []
    unknown = _unknown_items(frame, items, dropped)
    before = frame["date"] < first
    if before.any():
        dropped.append(f"{int(before.sum()):,} lines dated before {first:%B %Y}")
    later = (frame["date"] > pd.Timestamp(as_of)) & (frame["produced"] > 0)
    if later.any():
        dropped.append(
            f"production of {int(later.sum()):,} lines dated after the as-of date {as_of:%Y-%m-%d} "
            "(not made yet; their receipts are kept as due)"
        )
        frame.loc[later, "produced"] = 0.0
    frame = frame[~unknown & ~before]
    out = frame.groupby(["date", "item", "resource"], as_index=False)[
        ["produced", "receipts"]
    ].sum()
    out = out[
        (out["produced"] != 0) | (out["receipts"] != 0)
    ]  # as the sheet keeps them: no row for nothing
    out["date"] = out["date"].astype(_DT)
    if len(out) < len(frame):
        notes.append(
            f"{len(frame):,} lines summed into {len(out):,} item-days (days with nothing not kept)"
        )
    due = out["date"] > pd.Timestamp(as_of)
    lines = [
        _read_line("Production", table, res.taken, notes, res.unused),
        f"  {len(out):,} item-days of {out['item'].nunique():,} items: produced {out['produced'].sum():,.0f}, "
        f"received {out.loc[~due, 'receipts'].sum():,.0f}, due {out.loc[due, 'receipts'].sum():,.0f}",
    ]
    if dropped:
        lines.append("  left out: " + "; ".join(dropped))
    out = (
        out[list(PRODUCTION_FIELDS)]
        .sort_values(["date", "item"], kind="stable")
        .reset_index(drop=True)
    )
    return out, lines, []


# -- all of them ------------------------------------------------------------------------------
def _empty(fields: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in fields.items()})


def read_company(
    files: Mapping[str, str | Path | None],
    mapping: ReadMapping,
    as_of: dt.date,
    *,
    defaults: ItemDefaults | None = None,
) -> CompanyData:
    """Every file a new workbook is built from, read and checked; nothing is half read.

    Args:
        files: ``items`` and ``history`` (required), ``budget``, ``capacity``, ``open_orders``,
            ``production``.
        mapping: the user's column mapping and conventions.
        as_of: the planning date: history ends the month before it; open orders are its month's.

    Raises:
        SopExcelError: a missing file; InputError: anything in a file that cannot be read.
    """
    for kind in ("items", "history"):
        if not files.get(kind):
            raise SopExcelError(
                f"--{kind} is required: the {kind} export to build the workbook from."
            )
    paths = {k: Path(v) for k, v in files.items() if v}
    items, summary = read_items(paths["items"], mapping, defaults=defaults)
    month0 = pd.Timestamp(as_of).replace(day=1)
    gone = (items["status"] == "discontinued") & items["discontinued_from"].isna()
    if gone.any():  # the export says discontinued: nothing is planned for it from now on
        items.loc[gone, "discontinued_from"] = month0
        summary.append(
            f"  {int(gone.sum()):,} discontinued items: forecast 0 from {month0:%b %Y} "
            f"(Items > Discontinued from): {_some(items.loc[gone, 'item'])}"
        )
    warnings: list[str] = []
    history, lines, warn = read_history(paths["history"], mapping, items, as_of)
    summary += lines
    warnings += warn
    if "budget" in paths:
        budget, lines, warn = read_budget(paths["budget"], mapping, items)
        summary += lines
        warnings += warn
    else:
        budget = _empty({"family": "object", "month": _DT, "volume": "float", "revenue": "float"})
        summary.append("Budget: no file (--budget): no gap to budget is shown")
    if "capacity" in paths:
        capacity, lines, warn = read_capacity(paths["capacity"], mapping, items)
        summary += lines
        warnings += warn
    else:
        capacity = _empty({"resource": "object", "month": _DT, "hours": "float"})
        summary.append("Capacity: no file (--capacity): resources are not constrained")
    if "open_orders" in paths:
        actuals, lines, warn = read_open_orders(paths["open_orders"], mapping, items, as_of)
        summary += lines
        warnings += warn
    else:
        actuals = _empty({"date": _DT, "item": "object", "orders": "float", "shipments": "float"})
    production = _empty(PRODUCTION_FIELDS)
    if "production" in paths:
        production, lines, warn = read_production(
            paths["production"], mapping, items, capacity, as_of
        )
        summary += lines
        warnings += warn
    return CompanyData(
        items, history, budget, capacity, actuals, paths, summary, warnings, production
    )
