"""Refresh of 10,000 items x 31 days of actuals from SQLite: read (full and incremental) + drift.

The issue's target is the whole refresh into the workbook in 5 s or less; this script times the
Python side (reading and validating from SQLite, phasing and drift). ``run()`` returns the
figures and the frames so the workbook-writing step can be timed on top of it.

Usage:
    .venv/bin/python bench/actuals_sqlite.py [--items 10000] [--days 31] [--db PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel.core.drift import WorkCalendar, dow_profile, drift_table
from sop_excel.sources import read_actuals, write_actuals_sqlite

MONTH = dt.date(2026, 10, 1)  # 31 days


def build(path: Path, n_items: int = 10_000, days: int = 31, seed: int = 1) -> pd.DataFrame:
    """Write ``n_items x days`` daily actuals from ``MONTH`` into a SQLite file; return them."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(MONTH, periods=days, freq="D")
    items = np.array([f"SKU{i:05d}" for i in range(n_items)])
    rate = rng.lognormal(np.log(20), 1.0, n_items)
    orders = rng.poisson(rate[:, None] * (dates.day_of_week < 5)[None, :]).astype(float)
    frame = pd.DataFrame(
        {
            "date": np.tile(dates, n_items),
            "item": np.repeat(items, days),
            "orders": orders.ravel(),
            "shipments": np.floor(orders.ravel() * 0.95),
        }
    )
    if path.exists():
        path.unlink()
    write_actuals_sqlite(path, frame)
    return frame


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MiB of Python allocations)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, secs, peak


def run(
    db: Path, *, known_items: set[str] | None = None, since: dt.date | None = None
) -> dict[str, Any]:
    """Time the refresh steps on an existing SQLite file.

    Returns:
        ``{"rows", "read_s", "read_mib", "incremental_rows", "incremental_s", "drift_s",
        "drift_mib", "total_s", "actuals", "drift"}``.
    """
    actuals, read_s, read_mib = timed(lambda: read_actuals(db, known_items=known_items))
    last = actuals["date"].max()
    since = since or (last - pd.Timedelta(days=2)).date()
    inc, inc_s, _ = timed(lambda: read_actuals(db, known_items=known_items, since=since))
    cal = WorkCalendar()
    plan = actuals.groupby("item")["orders"].sum() * 1.05

    def drift() -> pd.DataFrame:
        profile = dow_profile(actuals, calendar=cal)
        return drift_table(
            plan,
            actuals,
            last,
            last - pd.Timedelta(days=10),
            calendar=cal,
            profile=profile,
            sigma_month=plan * 0.1,
        )

    table, drift_s, drift_mib = timed(drift)
    return {
        "rows": len(actuals),
        "read_s": read_s,
        "read_mib": read_mib,
        "incremental_rows": len(inc),
        "incremental_s": inc_s,
        "drift_s": drift_s,
        "drift_mib": drift_mib,
        "total_s": read_s + inc_s + drift_s,
        "actuals": actuals,
        "drift": table,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "actuals.db"
        t0 = time.perf_counter()
        frame = build(db, args.items, args.days)
        print(
            f"built {db.name}: {len(frame):,} rows ({args.items:,} items x {args.days} days), "
            f"{db.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - t0:.2f} s"
        )
        known = set(frame["item"])
        out = run(db, known_items=known)
    print(
        f"read_actuals full:        {out['rows']:>8,} rows  {out['read_s']:.2f} s  peak {out['read_mib']:.0f} MiB"
    )
    print(
        f"read_actuals since:       {out['incremental_rows']:>8,} rows  {out['incremental_s']:.2f} s"
    )
    print(
        f"dow_profile + drift_table: {len(out['drift']):>7,} items {out['drift_s']:.2f} s  "
        f"peak {out['drift_mib']:.0f} MiB"
    )
    print(
        f"total (Python side):      {out['total_s']:.2f} s  (target for the whole refresh: <= 5 s)"
    )
    return out


if __name__ == "__main__":
    main()
