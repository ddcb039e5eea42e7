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

import pandas as pd

__all__ = ["DRIVER_KINDS", "apply_scenario", "capacity_for", "scenario_chain"]

DRIVER_KINDS = ("volume", "price", "unit_cost", "launch", "capacity")


def scenario_chain(name: str, parents: dict[str, str]) -> list[str]:
    """Root-first list of the scenario and its ancestors; refuses loops and unknown parents."""
    chain, seen = [], set()
    cur: str | None = name
    while cur:
        if cur in seen:
            raise ValueError(f"scenario '{name}' has a loop in its parents: {' -> '.join(chain + [cur])}")
        if cur not in parents:
            raise ValueError(f"scenario '{cur}' is not defined")
        seen.add(cur)
        chain.append(cur)
        cur = parents[cur] or None
    return chain[::-1]


def _mask(frame: pd.DataFrame, d: pd.Series) -> pd.Series:
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


def apply_scenario(name: str, final: pd.DataFrame, items: pd.DataFrame, drivers: pd.DataFrame,
                   parents: dict[str, str]) -> pd.DataFrame:
    """Item-month volume, price and unit cost of scenario ``name``.

    Args:
        final: the consensus plan ``item, family, month, final``.
        items: ``item, price, unit_cost``.
        drivers: ``scenario, kind, family, item, from_month, to_month, value, price, unit_cost``.
        parents: scenario -> parent ("" for a root).

    Returns:
        ``scenario, item, family, month, volume, price, unit_cost``.
    """
    master = items.drop_duplicates("item").set_index("item")
    out = final[["item", "family", "month"]].copy()
    out["volume"] = final["final"].astype(float)
    out["price"] = out["item"].map(master["price"]).astype(float)
    out["unit_cost"] = out["item"].map(master["unit_cost"]).astype(float)
    months = sorted(out["month"].unique())
    for scen in scenario_chain(name, parents):
        for _, d in drivers[drivers["scenario"] == scen].iterrows():
            kind, value = d["kind"], float(d["value"])
            if kind == "launch":
                start = pd.Timestamp(d["from_month"]) if pd.notna(d.get("from_month")) else months[0]
                stop = pd.Timestamp(d["to_month"]) if pd.notna(d.get("to_month")) else months[-1]
                rows = pd.DataFrame({"item": d["item"], "family": d["family"],
                                     "month": [m for m in months if start <= m <= stop]})
                rows["volume"] = value
                rows["price"] = float(d["price"])
                rows["unit_cost"] = float(d["unit_cost"])
                out = pd.concat([out, rows], ignore_index=True)
            elif kind in ("volume", "price", "unit_cost"):
                m = _mask(out, d)
                out.loc[m, kind] = out.loc[m, kind] * (1.0 + value)
    out.insert(0, "scenario", name)
    return out.reset_index(drop=True)


def capacity_for(name: str, capacity: pd.DataFrame, drivers: pd.DataFrame,
                 parents: dict[str, str]) -> pd.DataFrame:
    """Capacity (``resource, month, hours``) of a scenario after its capacity drivers."""
    out = capacity.copy()
    out["hours"] = out["hours"].astype(float)
    for scen in scenario_chain(name, parents):
        for _, d in drivers[(drivers["scenario"] == scen) & (drivers["kind"] == "capacity")].iterrows():
            m = out["resource"] == d["resource"]
            if pd.notna(d.get("from_month")):
                m &= out["month"] >= pd.Timestamp(d["from_month"])
            if pd.notna(d.get("to_month")):
                m &= out["month"] <= pd.Timestamp(d["to_month"])
            out.loc[m, "hours"] = out.loc[m, "hours"] * (1.0 + float(d["value"]))
    return out
