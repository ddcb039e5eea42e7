"""Final forecast, revenue, cost, margin and gap to budget: the numbers finance reviews.

The workbook carries the same arithmetic as live formulas (``sop_excel/workbook/formulas.py``);
this module computes their values so that readers that do not calculate see numbers, and the
tests check both agree (LibreOffice recalculation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compute_finance", "compute_final"]


def compute_final(forecast: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Add ``final`` (override where typed, else baseline), ``revenue`` and ``cost`` per row.

    Mirrors the Forecast sheet's Final, Revenue and Cost formulas.
    """
    out = forecast.copy()
    override = pd.to_numeric(out["override"], errors="coerce")
    out["final"] = np.where(override.notna(), override, out["baseline"]).astype(float)
    prices = items.drop_duplicates("item").set_index("item")
    out["revenue"] = out["final"] * out["item"].map(prices["price"]).astype(float)
    out["cost"] = out["final"] * out["item"].map(prices["unit_cost"]).astype(float)
    return out


def compute_finance(final: pd.DataFrame, scenarios: pd.DataFrame, budget: pd.DataFrame,
                    families: list[str]) -> pd.DataFrame:
    """Volume, revenue, cost, margin and gap to budget per scenario, family and month.

    Args:
        final: the forecast with ``family, month, final, revenue, cost`` (see ``compute_final``).
        scenarios: drivers ``scenario, family, volume_pct, price_pct`` (fractions: 0.05 = +5%).
        budget: ``family, month, revenue``.
        families: the families to show, in order.

    Mirrors the Finance sheet's SUMIFS formulas: drivers of a scenario/family pair add up,
    a family with no driver row has 0%.
    """
    months = sorted(final["month"].unique())
    names = list(dict.fromkeys(scenarios["scenario"].tolist())) or ["Base"]
    grid = pd.MultiIndex.from_product([names, families, months],
                                      names=["scenario", "family", "month"]).to_frame(index=False)
    base = final.groupby(["family", "month"], as_index=False)[["final", "revenue", "cost"]].sum()
    drivers = (scenarios.assign(volume_pct=scenarios["volume_pct"].fillna(0.0),
                                price_pct=scenarios["price_pct"].fillna(0.0))
               .groupby(["scenario", "family"], as_index=False)[["volume_pct", "price_pct"]].sum())
    bud = budget.groupby(["family", "month"], as_index=False)["revenue"].sum()
    bud = bud.rename(columns={"revenue": "budget_revenue"})
    out = (grid.merge(base, on=["family", "month"], how="left")
               .merge(drivers, on=["scenario", "family"], how="left")
               .merge(bud, on=["family", "month"], how="left"))
    out = out.fillna({"final": 0.0, "revenue": 0.0, "cost": 0.0, "volume_pct": 0.0,
                      "price_pct": 0.0, "budget_revenue": 0.0})
    vol = 1.0 + out["volume_pct"]
    out["volume"] = out["final"] * vol
    out["revenue"] = out["revenue"] * vol * (1.0 + out["price_pct"])
    out["cost"] = out["cost"] * vol
    out["margin"] = out["revenue"] - out["cost"]
    rev = out["revenue"].to_numpy()
    out["margin_pct"] = np.divide(out["margin"].to_numpy(), rev, out=np.zeros(len(out)), where=rev != 0)
    out["gap"] = out["revenue"] - out["budget_revenue"]
    return out[["scenario", "family", "month", "volume", "revenue", "cost", "margin",
                "margin_pct", "budget_revenue", "gap"]]
