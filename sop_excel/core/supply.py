"""Rough-cut capacity, safety stock and the inventory projection (issue 4).

Pure pandas. Supply policy, stated plainly so a planner can check it: each month the plan asks
every resource to make that month's demand (chase); where a resource's load exceeds its hours,
all items on it are made in proportion to what fits, and the shortfall comes out of stock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri  # scipy.stats: 1 s to import

__all__ = ["capacity_load", "inventory_projection", "safety_stock"]

DAYS_PER_MONTH = 365.25 / 12


def capacity_load(plan: pd.DataFrame, items: pd.DataFrame, capacity: pd.DataFrame) -> pd.DataFrame:
    """Load hours against capacity per resource and month.

    Args:
        plan: ``item, month, volume``.
        items: ``item, resource, hours_per_unit``.
        capacity: ``resource, month, hours``.

    Returns:
        ``resource, month, load_hours, capacity_hours, utilisation, overload`` (overload: load
        above capacity). A resource with capacity rows but none for a month gets capacity 0
        there (and an overload); a resource with no capacity rows at all is not constrained
        (capacity and utilisation empty, never an overload: nothing says what it can make), and
        items without a resource load nothing.
    """
    master = items.drop_duplicates("item").set_index("item")
    p = plan.assign(
        resource=plan["item"].map(master["resource"]),
        load_hours=plan["volume"] * plan["item"].map(master["hours_per_unit"]).astype(float),
    )
    p = p[p["resource"].notna() & (p["resource"].astype(str).str.strip() != "")]
    load = p.groupby(["resource", "month"], as_index=False)["load_hours"].sum()
    cap = (
        capacity.groupby(["resource", "month"], as_index=False)["hours"]
        .sum()
        .rename(columns={"hours": "capacity_hours"})
    )
    out = load.merge(cap, on=["resource", "month"], how="left").fillna({"capacity_hours": 0.0})
    known = out["resource"].isin(set(capacity["resource"])).to_numpy()
    out.loc[~known, "capacity_hours"] = np.nan
    c = out["capacity_hours"].to_numpy()
    out["utilisation"] = np.divide(
        out["load_hours"].to_numpy(), c, out=np.full(len(out), np.inf), where=c > 0
    )
    out.loc[~known, "utilisation"] = np.nan
    out["overload"] = known & (out["load_hours"] > out["capacity_hours"].fillna(0.0) + 1e-9)
    return out.sort_values(["resource", "month"]).reset_index(drop=True)


def safety_stock(
    sigma_month: pd.Series, lead_time_days: pd.Series, service_level: float = 0.95
) -> pd.Series:
    """Safety stock per item: z(service level) x forecast error over the lead time.

    ``sigma_month`` is the item's one-month forecast error (standard deviation, units);
    over a lead time of L days it scales with sqrt(L / days per month).
    """
    if not 0.5 <= service_level < 1:
        raise ValueError("service level must be between 0.5 and 1 (e.g. 0.95)")
    z = float(ndtri(service_level))
    lt = lead_time_days.reindex(sigma_month.index).astype(float).clip(lower=0)
    return (z * sigma_month.astype(float) * np.sqrt(lt / DAYS_PER_MONTH)).fillna(0.0)


def inventory_projection(
    demand: pd.DataFrame, items: pd.DataFrame, load: pd.DataFrame, safety: pd.Series
) -> pd.DataFrame:
    """Opening + supply - demand per item and month, weeks of cover and below-safety flags.

    Args:
        demand: ``item, month, volume`` (the plan).
        items: ``item, resource, opening_stock``.
        load: from :func:`capacity_load` (its utilisation caps supply on overloaded resources).
        safety: safety stock per item (index item).
    """
    master = items.drop_duplicates("item").set_index("item")
    d = demand.sort_values(["item", "month"]).reset_index(drop=True)
    d["resource"] = d["item"].map(master["resource"])
    util = load.set_index(["resource", "month"])["utilisation"]
    fit = pd.Series(
        [1.0 / u if u > 1 else 1.0 for u in util.to_numpy()], index=util.index, dtype=float
    )
    keys = pd.MultiIndex.from_arrays([d["resource"], d["month"]])
    d["supply"] = d["volume"].to_numpy() * fit.reindex(keys).fillna(1.0).to_numpy()
    # Per item, in month order: closing = opening stock + running sum of (supply - demand).
    start = (
        pd.to_numeric(d["item"].map(master["opening_stock"]), errors="coerce")
        .fillna(0.0)
        .to_numpy(float)
    )
    net = d["supply"].to_numpy(float) - d["volume"].to_numpy(float)
    closing = start + pd.Series(net).groupby(d["item"].to_numpy(), sort=False).cumsum().to_numpy()
    d["opening"] = closing - net
    d["closing"] = closing
    weekly = d["volume"] / (DAYS_PER_MONTH / 7)
    d["weeks_of_cover"] = np.divide(
        d["closing"].to_numpy(),
        weekly.to_numpy(),
        out=np.full(len(d), np.nan),
        where=weekly.to_numpy() > 0,
    )
    d["safety_stock"] = d["item"].map(safety).fillna(0.0).astype(float)
    d["below_safety"] = d["closing"] < d["safety_stock"] - 1e-9
    return d[
        [
            "item",
            "month",
            "opening",
            "supply",
            "volume",
            "closing",
            "weeks_of_cover",
            "safety_stock",
            "below_safety",
        ]
    ].rename(columns={"volume": "demand"})
