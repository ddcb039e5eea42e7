"""Master data that changes: a new item master against the workbook's (``sop-excel update-items``).

Pure pandas. What changes, stated so a planner can check it:

* an item in the new master and not in the workbook is **added** (status ``new`` unless the
  master says otherwise; its like item where the master names one);
* an item the master marks discontinued (or, when asked, one missing from it) is **discontinued
  from** a month: status ``discontinued``, Items > Discontinued from set; its history stays and its
  forecast is 0 from that month;
* a changed **price or unit cost** takes effect from a month: at once when that month is the
  as-of month or earlier, else as Items > New price / New unit cost from Items > Price from (and
  a pending change whose month has come is made the price);
* other attributes the master has (description, family, site, resource, hours, lead time,
  opening stock) are taken from it; the planner's columns (method, comment, like item where
  the master names none) are kept;
* references that no longer hold (a scenario driver or a family target on a family without
  items, a driver or consensus input on an item that is not there, an input for an item after
  it is discontinued) are listed by name, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ItemChanges", "dangling_references", "item_changes"]

_ATTRIBUTES = (
    "description",
    "family",
    "site",
    "resource",
    "hours_per_unit",
    "lead_time_days",
    "opening_stock",
)


@dataclass
class ItemChanges:
    """The updated items and what changed (item lists, and ``(item, field, old, new)`` rows)."""

    items: pd.DataFrame
    added: list[str] = field(default_factory=list)
    discontinued: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    prices_now: list[tuple[str, str, float, float]] = field(default_factory=list)
    prices_later: list[tuple[str, str, float, float]] = field(default_factory=list)
    pending_applied: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, object, object]] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(
            self.added
            or self.discontinued
            or self.prices_now
            or self.prices_later
            or self.changed
            or self.pending_applied
        )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def item_changes(
    old: pd.DataFrame,
    new: pd.DataFrame,
    *,
    given: set[str],
    as_of_month: pd.Timestamp,
    effective: pd.Timestamp | None = None,
    discontinue_missing: bool = False,
) -> ItemChanges:
    """The workbook's items updated from a new item master.

    Args:
        old: the Items table (every layout field).
        new: the new master as :func:`sop_excel.sources.exports.read_items` reads it.
        given: the fields the new master has (the others are defaults and change nothing).
        as_of_month: the month being planned.
        effective: the month the changes take effect (default: the as-of month).
        discontinue_missing: items of the workbook that the master lacks are discontinued.
    """
    month = pd.Timestamp(effective or as_of_month).replace(day=1)
    out = old.copy().reset_index(drop=True)
    for f in ("discontinued_from", "price_from"):
        out[f] = pd.to_datetime(out[f], errors="coerce").astype("datetime64[us]")
    for f in ("new_price", "new_unit_cost"):
        out[f] = pd.to_numeric(out[f], errors="coerce").astype(float)
    ch = ItemChanges(out)
    # a pending price change whose month has come is the price now
    due = out["price_from"].notna() & (out["price_from"] <= as_of_month)
    for k in np.flatnonzero(due.to_numpy()):
        for f, nf in (("price", "new_price"), ("unit_cost", "new_unit_cost")):
            if pd.notna(out.at[k, nf]):
                out.at[k, f] = out.at[k, nf]
        out.loc[k, ["new_price", "new_unit_cost"]] = np.nan
        out.at[k, "price_from"] = pd.NaT
        ch.pending_applied.append(out.at[k, "item"])
    pos = {item: i for i, item in enumerate(out["item"])}
    new = new.reset_index(drop=True)
    rows = []
    for r in new.itertuples(index=False):
        if r.item in pos:
            continue
        row = {f: getattr(r, f) for f in new.columns if f in out.columns}
        if "status" not in given or row.get("status") == "active":
            row["status"] = "new"
        rows.append(row)
        ch.added.append(r.item)
    later = month > as_of_month
    for r in new.itertuples(index=False):
        i = pos.get(r.item)
        if i is None:
            continue
        for f in _ATTRIBUTES:
            if f in given and not _same(out.at[i, f], getattr(r, f)):
                ch.changed.append((r.item, f, out.at[i, f], getattr(r, f)))
                out.at[i, f] = getattr(r, f)
        if (
            "like_item" in given
            and (r.like_item if "like_item" in new.columns else "")
            and out.at[i, "like_item"] in ("", None)
        ):
            ch.changed.append((r.item, "like_item", "", r.like_item))
            out.at[i, "like_item"] = r.like_item
        for f, nf in (("price", "new_price"), ("unit_cost", "new_unit_cost")):
            now, want = float(out.at[i, f]), float(getattr(r, f))
            if _same(now, want):
                continue
            if later:
                out.at[i, nf] = want
                out.at[i, "price_from"] = month
                ch.prices_later.append((r.item, f, now, want))
            else:
                out.at[i, f] = want
                ch.prices_now.append((r.item, f, now, want))
        if (
            "status" in given
            and r.status == "discontinued"
            and out.at[i, "status"] != "discontinued"
        ):
            ch.discontinued.append(r.item)
        elif "status" in given and r.status != out.at[i, "status"] and r.status != "discontinued":
            ch.changed.append((r.item, "status", out.at[i, "status"], r.status))
            out.at[i, "status"] = r.status
    in_file = set(new["item"])
    ch.missing = [i for i in out["item"] if i not in in_file and i not in ch.added]
    if discontinue_missing:
        ch.discontinued += [i for i in ch.missing if out.at[pos[i], "status"] != "discontinued"]
    for item in ch.discontinued:
        i = pos[item]
        out.at[i, "status"] = "discontinued"
        out.at[i, "discontinued_from"] = month
    if rows:
        from sop_excel.core.frames import append_rows

        add = pd.DataFrame(rows)
        for f in out.columns:
            if f not in add:
                add[f] = "" if out[f].dtype == object else np.nan
        out = append_rows(out, add[list(out.columns)])
    for f in ("discontinued_from", "price_from"):
        out[f] = pd.to_datetime(out[f], errors="coerce").astype("datetime64[us]")
    ch.items = out.reset_index(drop=True)
    return ch


def dangling_references(
    items: pd.DataFrame, drivers: pd.DataFrame, inputs: pd.DataFrame, targets: pd.DataFrame
) -> list[str]:
    """Scenario drivers, consensus inputs and family targets that refer to an item or family the
    Items sheet does not have (or to an item after it is discontinued), each by name."""
    known = set(items["item"])
    families = set(items["family"])
    stop = (
        pd.to_datetime(
            items.drop_duplicates("item").set_index("item")["discontinued_from"], errors="coerce"
        )
        if "discontinued_from" in items
        else pd.Series(dtype="datetime64[us]")
    )
    rows = drivers.attrs.get("excel_rows", [None] * len(drivers))
    warnings: list[str] = []
    for r, d in zip(rows, drivers.itertuples(index=False), strict=True):
        at = f" (Scenarios row {r})" if r is not None else ""
        if d.kind == "launch":
            continue
        if isinstance(d.family, str) and d.family and d.family not in families:
            warnings.append(
                f"Scenario '{d.scenario}': the {d.kind} driver{at} is on family '{d.family}', which has no "
                "items; it changes nothing. Correct its Family or delete it (until then the commands that "
                "recompute scenarios refuse it)."
            )
        if isinstance(d.item, str) and d.item and d.item not in known:
            warnings.append(
                f"Scenario '{d.scenario}': the {d.kind} driver{at} is on item '{d.item}', which is not on the "
                "Items sheet; it changes nothing. Correct its Item or delete it (until then the commands that "
                "recompute scenarios refuse it)."
            )
    for r in inputs.itertuples(index=False):
        if r.item not in known:
            warnings.append(
                f"Consensus input {r.stream} {r.item} {pd.Timestamp(r.month):%Y-%m}: '{r.item}' is not on the "
                "Items sheet; it adds nothing. Correct the item or delete the input."
            )
        elif (
            r.item in stop.index
            and pd.notna(stop[r.item])
            and pd.Timestamp(r.month) >= stop[r.item]
        ):
            warnings.append(
                f"Consensus input {r.stream} {r.item} {pd.Timestamp(r.month):%Y-%m}: the item is discontinued "
                f"from {stop[r.item]:%Y-%m}; the input still adds {r.qty:g} to the plan. Delete it if it "
                "should not."
            )
    for r in targets.itertuples(index=False):
        if r.family not in families:
            warnings.append(
                f"Family target {r.family} {pd.Timestamp(r.month):%Y-%m}: family '{r.family}' has no items; "
                "it is spread over nothing. Correct the family or delete the target."
            )
    return warnings
