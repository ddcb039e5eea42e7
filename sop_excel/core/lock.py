"""Plan of record: locking a scenario, forecast snapshots by lag, and forecast value added."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from sop_excel.core.frames import months_between

__all__ = ["accuracy", "content_hash", "make_lock"]


def content_hash(plan: pd.DataFrame) -> str:
    """sha256 over the locked numbers (item, month, volume, revenue), independent of row order.

    The plan is locked rounded (volume to 4 decimals, revenue to cents, see :func:`make_lock`), so
    the hash can be recomputed from what any reader gets back from the file.
    """
    p = plan.sort_values(["item", "month"])
    text = "\n".join(
        f"{i}|{m:%Y-%m}|{v:.4f}|{r:.2f}"
        for i, m, v, r in zip(p["item"], p["month"], p["volume"], p["revenue"], strict=True)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_lock(
    version: int,
    scenario: str,
    plan: pd.DataFrame,
    forecast: pd.DataFrame,
    cycle: pd.Timestamp,
    user: str,
    when: dt.datetime,
    note: str = "",
    max_lag: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The lock record, the locked plan rows and the forecast snapshot rows of one lock.

    Args:
        plan: the scenario plan rows of ``scenario`` (``item, family, month, volume, revenue``).
        forecast: ``item, family, month, naive, baseline, final`` at lock time.
        cycle: the planning month (the as-of month) the lock belongs to.
        max_lag: snapshot the months up to this many after the cycle (None: the whole forecast).
    """
    locked = plan.groupby(["item", "family", "month"], as_index=False)[["volume", "revenue"]].sum()
    locked["volume"] = locked["volume"].round(4)
    locked["revenue"] = locked["revenue"].round(2)
    locked.insert(0, "version", version)
    record = pd.DataFrame(
        [
            {
                "version": version,
                "scenario": scenario,
                "locked_at": pd.Timestamp(when.replace(microsecond=0)),
                "user": user,
                "cycle": cycle,
                "volume": float(locked["volume"].sum()),
                "revenue": float(locked["revenue"].sum()),
                "content_hash": content_hash(locked),
                "note": note,
            }
        ]
    )
    snap = forecast[["item", "family", "month", "naive", "baseline", "final"]].copy()
    snap.insert(0, "cycle", cycle)
    snap.insert(0, "version", version)
    snap.insert(5, "lag", np.asarray(months_between(cycle, snap["month"])).astype(int))
    if max_lag is not None:
        snap = snap[snap["lag"] <= max_lag].reset_index(drop=True)
    return record, locked, snap


def _wmape(actual: np.ndarray, fc: np.ndarray) -> float:
    total = float(np.sum(np.abs(actual)))
    return float(np.sum(np.abs(actual - fc)) / total) if total > 0 else np.nan


def accuracy(
    snapshots: pd.DataFrame, history: pd.DataFrame, lag: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(FVA per item, family and total at ``lag``; waterfall per family, month and lag).

    Snapshots are matched to actual history by item and month; months without actuals (the
    future, stockouts) are left out. When several locks share a lag for one month, the latest wins.
    """
    hist = history.dropna(subset=["qty"])[["item", "month", "qty"]].rename(
        columns={"qty": "actual"}
    )
    snap = (
        snapshots.sort_values("version")
        .drop_duplicates(["item", "month", "lag"], keep="last")
        .merge(hist, on=["item", "month"], how="inner")
    )
    at = snap[snap["lag"] == lag]
    a = at["actual"].to_numpy(dtype=float)
    at = at.assign(
        abs_actual=np.abs(a),
        **{
            f"e_{c}": np.abs(a - at[c].to_numpy(dtype=float))
            for c in ("naive", "baseline", "final")
        },
    )
    sums = ["actual", "abs_actual", "e_naive", "e_baseline", "e_final"]
    parts = []
    for level, key in (
        ("Item", "item"),
        ("Family", "family"),
        ("Total", None),
    ):  # one vectorised pass each
        if at.empty:
            continue
        g = (
            at.groupby(key, sort=True).agg(
                months=("month", "nunique"), **{c: (c, "sum") for c in sums}
            )
            if key
            else pd.DataFrame(
                {"months": [at["month"].nunique()], **{c: [at[c].sum()] for c in sums}},
                index=["Total"],
            )
        )
        parts.append(g.rename_axis("name").reset_index().assign(level=level))
    fva = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["level", "name", "months", *sums])
    )
    total = fva["abs_actual"].to_numpy(dtype=float)
    for c in ("naive", "baseline", "final"):  # as _wmape: sum |actual - forecast| / sum |actual|
        fva[f"{c}_wmape"] = np.divide(
            fva[f"e_{c}"].to_numpy(dtype=float),
            total,
            out=np.full(len(fva), np.nan),
            where=total > 0,
        )
    fva["fva_baseline"] = fva["naive_wmape"] - fva["baseline_wmape"]
    fva["fva_final"] = fva["baseline_wmape"] - fva["final_wmape"]
    fva["months"] = fva["months"].astype(int)
    fva["actual"] = fva["actual"].astype(float)
    fva = fva[
        [
            "level",
            "name",
            "months",
            "actual",
            "naive_wmape",
            "baseline_wmape",
            "final_wmape",
            "fva_baseline",
            "fva_final",
        ]
    ]
    wf = snap.groupby(["family", "month", "lag"], as_index=False)[["final", "actual"]].sum()
    wf["error"] = wf["final"] - wf["actual"]
    wf["ape"] = np.divide(
        wf["error"].abs().to_numpy(),
        wf["actual"].to_numpy(),
        out=np.full(len(wf), np.nan),
        where=wf["actual"].to_numpy() > 0,
    )
    return fva, wf.sort_values(["family", "month", "lag"]).reset_index(drop=True)
