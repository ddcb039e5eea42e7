"""Revenue, cost of goods, margin and gap to budget: the numbers finance reviews.

The workbook carries the same arithmetic as live formulas (``sop_excel/workbook/formulas.py``);
this module computes their values so that readers that do not calculate see numbers, and the
tests check both agree (LibreOffice recalculation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compute_finance", "item_values"]


def item_values(final: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Add ``revenue`` and ``cost`` (final x list price / unit cost) to each forecast row."""
    out = final.copy()
    master = items.drop_duplicates("item").set_index("item")
    out["revenue"] = out["final"] * out["item"].map(master["price"]).astype(float)
    out["cost"] = out["final"] * out["item"].map(master["unit_cost"]).astype(float)
    return out


def compute_finance(
    plan: pd.DataFrame, budget: pd.DataFrame, scenarios: list[str], families: list[str]
) -> pd.DataFrame:
    """Volume, revenue, cost, margin and gap to budget per scenario, family and month.

    Args:
        plan: the scenario plan ``scenario, family, month, volume, revenue, cost`` (item rows).
        budget: ``family, month, revenue``.
        scenarios, families: the rows to show, in order.

    ``budget_revenue`` and ``gap`` are NaN for a family and month without a budget row.
    """
    months = sorted(plan["month"].unique())
    grid = pd.MultiIndex.from_product(
        [scenarios, families, months], names=["scenario", "family", "month"]
    ).to_frame(index=False)
    sums = plan.groupby(["scenario", "family", "month"], as_index=False)[
        ["volume", "revenue", "cost"]
    ].sum()
    bud = (
        budget.groupby(["family", "month"], as_index=False)["revenue"]
        .sum()
        .rename(columns={"revenue": "budget_revenue"})
    )
    out = grid.merge(sums, on=["scenario", "family", "month"], how="left").merge(
        bud, on=["family", "month"], how="left"
    )
    out = out.fillna({"volume": 0.0, "revenue": 0.0, "cost": 0.0})
    out["margin"] = out["revenue"] - out["cost"]
    rev = out["revenue"].to_numpy()
    out["margin_pct"] = np.divide(
        out["margin"].to_numpy(), rev, out=np.zeros(len(out)), where=rev != 0
    )
    # A month with no budget row has no budget and no gap (blank on the sheet, NaN here), never a
    # budget of 0 and a gap of 0, which would read as "on budget"; a budget typed as 0 is a budget.
    out["gap"] = out["revenue"] - out["budget_revenue"]
    return out[
        [
            "scenario",
            "family",
            "month",
            "volume",
            "revenue",
            "cost",
            "margin",
            "margin_pct",
            "budget_revenue",
            "gap",
        ]
    ]
