"""Consensus: the statistical baseline, the input streams, family targets and overrides.

The rule for the final forecast, per item and month (the Forecast sheet's formulas say the same):

1. **Override** typed on the item row wins.
2. Otherwise, if a **family target** is typed for the item's family and month, the target is
   spread over the family's items in proportion to their baseline (equally when the family's
   baseline is zero): that share is the Consensus.
3. Otherwise the Consensus is baseline + sales adjustment + marketing adjustment, floored at 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["REASON_CODES", "STREAMS", "compute_consensus", "rollup"]

STREAMS = ("Sales", "Marketing")
REASON_CODES = (
    "Promotion",
    "New customer",
    "Lost customer",
    "Price change",
    "Supply constraint",
    "Market intelligence",
    "Data correction",
    "Other",
)


def compute_consensus(
    forecast: pd.DataFrame, inputs: pd.DataFrame, targets: pd.DataFrame
) -> pd.DataFrame:
    """Add ``sales_adj, marketing_adj, family_share, consensus, final`` to the forecast.

    Args:
        forecast: ``item, family, month, baseline, override``.
        inputs: ``stream, item, month, qty`` (adjustments in units; several rows add up).
        targets: ``family, month, target``.
    """
    out = forecast.copy()
    key = ["item", "month"]
    for stream in STREAMS:
        rows = inputs[inputs["stream"] == stream]
        adj = rows.assign(qty=pd.to_numeric(rows["qty"], errors="coerce")).groupby(key)["qty"].sum()
        idx = pd.MultiIndex.from_frame(out[key])
        out[f"{stream.lower()}_adj"] = adj.reindex(idx).fillna(0.0).to_numpy(dtype=float)
    fam = out.groupby(["family", "month"])["baseline"].transform("sum")
    count = out.groupby(["family", "month"])["baseline"].transform("size")
    out["family_share"] = np.where(
        fam == 0, 1.0 / count, out["baseline"] / fam.where(fam != 0, 1.0)
    )
    tgt = targets.assign(target=pd.to_numeric(targets["target"], errors="coerce")).dropna(
        subset=["target"]
    )
    tgt = tgt.groupby(["family", "month"])["target"].sum()
    tidx = pd.MultiIndex.from_frame(out[["family", "month"]])
    target = tgt.reindex(tidx).to_numpy(dtype=float)
    own = np.maximum(0.0, out["baseline"] + out["sales_adj"] + out["marketing_adj"])
    out["consensus"] = np.where(~np.isnan(target), np.nan_to_num(target) * out["family_share"], own)
    override = pd.to_numeric(out["override"], errors="coerce")
    out["final"] = np.where(override.notna(), override, out["consensus"]).astype(float)
    return out


def rollup(final: pd.DataFrame) -> pd.DataFrame:
    """Baseline, consensus, final and revenue by family, site and in total, per month.

    Args:
        final: ``item, family, site, month, baseline, consensus, final, revenue``.
    """
    cols = ["baseline", "consensus", "final", "revenue"]
    parts = []
    for level, by in (("Family", "family"), ("Site", "site")):
        g = final.groupby([by, "month"], as_index=False)[cols].sum().rename(columns={by: "name"})
        parts.append(g.assign(level=level))
    tot = final.groupby("month", as_index=False)[cols].sum().assign(level="Total", name="Total")
    parts.append(tot)
    out = pd.concat(parts, ignore_index=True)
    return out[["level", "name", "month", *cols]]
