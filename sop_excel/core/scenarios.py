"""Scenarios as driver deltas over their parent, and their text form for review (issue 4).

A scenario names a parent (``Base`` has none) and a list of drivers. Applying a scenario applies
its parent's drivers first, then its own, so ``Upside`` built from ``Base`` carries Base's
changes. Drivers:

- ``volume``: multiply volume by (1 + value), for a family and/or item, in a month range;
- ``price``, ``unit_cost``: multiply price or unit cost by (1 + value), same filters;
- ``launch``: a new item with ``value`` units a month from ``from_month`` (price, unit cost and
  family given on the driver);
- ``capacity``: multiply a resource's hours by (1 + value) in a month range.

Several drivers on the same cell compound (multiply).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sop_excel.core.frames import append_rows

__all__ = [
    "CHANGE_MAX",
    "CHANGE_MIN",
    "DRIVER_FIELDS",
    "DRIVER_KINDS",
    "LAUNCH_MAX",
    "MAX_NAME",
    "apply_scenario",
    "capacity_for",
    "driver_mask",
    "scenario_chain",
]

DRIVER_KINDS = ("volume", "price", "unit_cost", "launch", "capacity")
# A drivers frame's columns, in the Scenarios sheet's order (the layout's tblDrivers: a test checks it)
DRIVER_FIELDS = (
    "scenario",
    "kind",
    "family",
    "item",
    "resource",
    "from_month",
    "to_month",
    "value",
    "price",
    "unit_cost",
    "comment",
)
# Bounds of a driver's value: a change from -100% (nothing left) to +1,000% (eleven times as
# much; beyond that it is a typo, 10 meant as 10%), and a launch's units, price and cost.
CHANGE_MIN, CHANGE_MAX = -1.0, 10.0
LAUNCH_MAX = 1e9
# A scenario's name becomes the column name "<name> revenue" on the Compare sheet: Excel allows 255.
MAX_NAME = 255 - len(" revenue")


def scenario_chain(name: str, parents: dict[str, str]) -> list[str]:
    """Root-first list of the scenario and its ancestors; refuses loops and unknown parents."""
    chain: list[str] = []
    seen: set[str] = set()
    cur: str | None = name
    while cur:
        if cur in seen:
            raise ValueError(
                f"scenario '{name}' has a loop in its parents: {' -> '.join(chain + [cur])}"
            )
        if cur not in parents:
            raise ValueError(f"scenario '{cur}' is not defined")
        seen.add(cur)
        chain.append(cur)
        cur = parents[cur] or None
    return chain[::-1]


def driver_mask(frame: pd.DataFrame, d: pd.Series) -> pd.Series:
    """The rows of ``frame`` (``item, family, month``) a driver applies to."""
    m = pd.Series(True, index=frame.index)
    if isinstance(d.get("family"), str) and d["family"]:
        m &= frame["family"] == d["family"]
    if isinstance(d.get("item"), str) and d["item"]:
        m &= frame["item"] == d["item"]
    if pd.notna(d.get("from_month")):
        m &= frame["month"] >= pd.Timestamp(d["from_month"])
    if pd.notna(d.get("to_month")):
        m &= frame["month"] <= pd.Timestamp(d["to_month"])
    return m


def apply_scenario(
    name: str,
    final: pd.DataFrame,
    items: pd.DataFrame,
    drivers: pd.DataFrame,
    parents: dict[str, str],
) -> pd.DataFrame:
    """Item-month factors and values of scenario ``name``.

    Args:
        final: the consensus plan ``item, family, month, final``.
        items: ``item, price, unit_cost``.
        drivers: ``scenario, kind, family, item, from_month, to_month, value, price, unit_cost``.
        parents: scenario -> parent ("" for a root).

    Returns:
        ``scenario, item, family, month, volume_pct, price_pct, cost_pct, launch_qty,
        launch_price, launch_cost, volume, price, unit_cost, revenue, cost``. The workbook's
        Scenario plan formulas compute volume = (final + launch qty) x (1 + volume %),
        price = (item price, or launch price) x (1 + price %), and so on; this mirrors them.
    """
    master = items.drop_duplicates("item").set_index("item")
    out = final[["item", "family", "month"]].copy()
    out["base"] = final["final"].astype(float)
    out["launch_qty"] = np.nan
    out["launch_price"] = np.nan
    out["launch_cost"] = np.nan
    for k in ("volume", "price", "unit_cost"):
        out[f"m_{k}"] = 1.0
    months = sorted(out["month"].unique())
    for scen in scenario_chain(name, parents):
        for _, d in drivers[drivers["scenario"] == scen].iterrows():
            kind, value = d["kind"], float(d["value"])
            if kind == "launch":
                start = (
                    pd.Timestamp(d["from_month"]) if pd.notna(d.get("from_month")) else months[0]
                )
                stop = pd.Timestamp(d["to_month"]) if pd.notna(d.get("to_month")) else months[-1]
                rows = pd.DataFrame(
                    {
                        "item": d["item"],
                        "family": d["family"],
                        "month": [m for m in months if start <= m <= stop],
                    }
                )
                rows = rows.assign(
                    base=0.0,
                    launch_qty=value,
                    launch_price=float(d["price"]),
                    launch_cost=float(d["unit_cost"]),
                    m_volume=1.0,
                    m_price=1.0,
                    m_unit_cost=1.0,
                )
                out = append_rows(out, rows)
            elif kind in ("volume", "price", "unit_cost"):
                m = driver_mask(out, d)
                out.loc[m, f"m_{kind}"] = out.loc[m, f"m_{kind}"] * (1.0 + value)
    _price_changes(out, master)
    out["volume_pct"] = out["m_volume"] - 1.0
    out["price_pct"] = out["m_price"] - 1.0
    out["cost_pct"] = out["m_unit_cost"] - 1.0
    out["volume"] = (out["base"] + out["launch_qty"].fillna(0.0)) * out["m_volume"]
    list_price = out["item"].map(master["price"]).astype(float)
    list_cost = out["item"].map(master["unit_cost"]).astype(float)
    out["price"] = list_price.fillna(out["launch_price"]) * out["m_price"]
    out["unit_cost"] = list_cost.fillna(out["launch_cost"]) * out["m_unit_cost"]
    out["revenue"] = out["volume"] * out["price"]
    out["cost"] = out["volume"] * out["unit_cost"]
    out.insert(0, "scenario", name)
    return out[
        [
            "scenario",
            "item",
            "family",
            "month",
            "volume_pct",
            "price_pct",
            "cost_pct",
            "launch_qty",
            "launch_price",
            "launch_cost",
            "volume",
            "price",
            "unit_cost",
            "revenue",
            "cost",
        ]
    ].reset_index(drop=True)


def _price_changes(out: pd.DataFrame, master: pd.DataFrame) -> None:
    """An item's New price / New unit cost from its Price from month, as a factor on the price
    the Scenario plan's formula takes from Items (so every scenario plans with the new price
    list from its month). Items without them, or with a price of 0, are left as they are."""
    if "price_from" not in master.columns:
        return
    start = pd.to_datetime(out["item"].map(master["price_from"]), errors="coerce")
    after = (start.notna() & (out["month"] >= start)).to_numpy()
    if not after.any():
        return
    for new, old, factor in (
        ("new_price", "price", "m_price"),
        ("new_unit_cost", "unit_cost", "m_unit_cost"),
    ):
        if new not in master.columns:
            continue
        ratio = (
            pd.to_numeric(out["item"].map(master[new]), errors="coerce")
            / pd.to_numeric(out["item"].map(master[old]), errors="coerce")
        ).to_numpy(dtype=float)
        use = after & np.isfinite(ratio)
        out.loc[use, factor] = out.loc[use, factor].to_numpy() * ratio[use]


def capacity_for(
    name: str, capacity: pd.DataFrame, drivers: pd.DataFrame, parents: dict[str, str]
) -> pd.DataFrame:
    """Capacity (``resource, month, hours``) of a scenario after its capacity drivers."""
    out = capacity.copy()
    out["hours"] = out["hours"].astype(float)
    for scen in scenario_chain(name, parents):
        for _, d in drivers[
            (drivers["scenario"] == scen) & (drivers["kind"] == "capacity")
        ].iterrows():
            m = out["resource"] == d["resource"]
            if pd.notna(d.get("from_month")):
                m &= out["month"] >= pd.Timestamp(d["from_month"])
            if pd.notna(d.get("to_month")):
                m &= out["month"] <= pd.Timestamp(d["to_month"])
            out.loc[m, "hours"] = out.loc[m, "hours"] * (1.0 + float(d["value"]))
    return out
