"""A seeded synthetic company of N items, and the planning workbook built for it (issue 8).

``make_company(n_items)`` returns the same shape as the bundled sample company
(:class:`sop_excel.sample.SampleCompany`): items with families, sites, resources, prices and
costs; 48 months of monthly history per item (level, trend, yearly seasonality, intermittent
items, a few stockout months and young items); budgets per family, capacity per resource,
opening stock; 31 days of daily actuals (the as-of month, a 31-day month); daily production of
every item, receipts and 30 events (issue 21's supply side; ``--no-supply`` leaves them out).

``build_scaled_workbook(path, n_items)`` plans it with the one function ``sop-excel new`` and
the demo use (``sop_excel.planbook.plan_tables``) and writes it as they do
(``planbook.write_plan``: the rows, the builder, the execution basis kept): forecast,
consensus, scenarios, finance, capacity, inventory, locked plan with snapshots, accuracy,
execution, sensing and the weekly view. Two deliberate differences from the demo, so building is not dominated by
forecasting: the forecast method is ``seasonal_naive`` for every item (the demo uses ``auto``),
and there are ``past_cycles`` simulated past locks (default 3; the demo has 9).

    .venv/bin/python bench/scale_data.py /tmp/scale.xlsx --items 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import pipeline, planbook
from sop_excel.core.lock import make_lock
from sop_excel.core.scenarios import DRIVER_FIELDS
from sop_excel.models import Settings
from sop_excel.planbook import DEFAULT_SETTINGS, PlanState
from sop_excel.sample import SampleCompany
from sop_excel.workbook.io import Rows

__all__ = [
    "AS_OF",
    "build_scaled_workbook",
    "make_company",
    "plan_company",
    "plan_tables",
    "scaled_scenarios",
]

AS_OF = dt.date(2026, 10, 31)
"""October has 31 days: the as-of month's daily actuals cover days 1..31."""

_DT = "datetime64[us]"
_FAMILY_WORDS = [
    "Pumps",
    "Valves",
    "Controls",
    "Spares",
    "Seals",
    "Motors",
    "Filters",
    "Meters",
    "Hoses",
    "Fittings",
    "Sensors",
    "Drives",
    "Gears",
    "Tanks",
    "Heaters",
    "Fans",
]


def _family_names(n: int) -> list[str]:
    return [
        _FAMILY_WORDS[k % len(_FAMILY_WORDS)]
        + ("" if k < len(_FAMILY_WORDS) else f" {k // len(_FAMILY_WORDS) + 1}")
        for k in range(n)
    ]


def make_company(n_items: int = 10_000, seed: int = 1, as_of: dt.date = AS_OF) -> SampleCompany:
    """A synthetic company of ``n_items`` items (the same for the same seed).

    About one family per 500 items (4 to 40), 6 sites, one resource per family and site,
    one item in five intermittent, 2% young items (6 to 18 months of history).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    rng = np.random.default_rng(seed)
    n = n_items
    n_fam = int(np.clip(n // 500, 4, 40))
    families = _family_names(n_fam)
    sites = ["Leeds", "Brno", "Lyon", "Porto", "Gdansk", "Turin"]
    fam_idx = rng.integers(0, n_fam, n)
    site_idx = rng.integers(0, len(sites), n)
    item = np.array([f"IT-{k:06d}" for k in range(1, n + 1)], dtype=object)
    fam = np.array(families, dtype=object)[fam_idx]
    site = np.array(sites, dtype=object)[site_idx]
    resource = np.array(
        [
            f"{s[:3].upper()}-{f[:3].upper()}{fi:02d}"
            for s, f, fi in zip(site, fam, fam_idx, strict=True)
        ],
        dtype=object,
    )
    price = np.round(np.exp(rng.normal(4.5, 1.0, n)), 2)
    unit_cost = np.round(price * rng.uniform(0.45, 0.75, n), 2)
    hours = np.round(rng.uniform(0.05, 2.0, n), 2)
    lead = rng.integers(7, 61, n)
    young = rng.random(n) < 0.02
    level = np.exp(rng.normal(3.5, 1.2, n))  # mean monthly demand, 1 to a few thousand
    intermittent = rng.random(n) < 0.2
    items = pd.DataFrame(
        {
            "item": item,
            "description": [f"{f} item {k}" for f, k in zip(fam, range(1, n + 1), strict=True)],
            "family": fam,
            "site": site,
            "resource": resource,
            "price": price,
            "unit_cost": unit_cost,
            "hours_per_unit": hours,
            "lead_time_days": lead.astype(int),
            "status": np.where(young, "new", "active").astype(object),
            "opening_stock": np.round(level * rng.uniform(0.5, 2.0, n)),
            "like_item": "",
        }
    )

    # 48 months of history: level x trend x seasonality, Poisson noise; intermittent items
    # order in a month with probability 0.3, in larger lots.
    m0 = pd.Timestamp(as_of).replace(day=1)
    months = pd.date_range(m0 - pd.DateOffset(months=48), periods=48, freq="MS")
    t = np.arange(48)
    trend = 1 + rng.normal(0.0, 0.006, n)[:, None] * t[None, :]
    phase = rng.uniform(0, 2 * np.pi, n_fam)[fam_idx]
    amp = rng.uniform(0.0, 0.4, n)
    season = 1 + amp[:, None] * np.sin(
        2 * np.pi * months.month.to_numpy()[None, :] / 12 + phase[:, None]
    )
    mean = np.maximum(level[:, None] * trend * season, 0.0)
    occurs = np.where(intermittent[:, None], rng.random((n, 48)) < 0.3, True)
    lot = np.where(intermittent[:, None], 1 / 0.3, 1.0)
    qty = np.where(occurs, rng.poisson(mean * lot), 0).astype(float)
    start = np.where(young, 48 - rng.integers(6, 19, n), 0)
    present = t[None, :] >= start[:, None]
    stockout = (rng.random((n, 48)) < 0.004) & present
    qty[stockout] = np.round(qty[stockout] * 0.3)
    ii, mm = np.nonzero(present)
    history = pd.DataFrame(
        {
            "item": item[ii],
            "month": months.to_numpy().astype(_DT)[mm],
            "qty": qty[ii, mm],
            "flag": np.where(stockout[ii, mm], "stockout", "").astype(object),
        }
    )

    # Capacity: 25 months from the as-of month, near each resource's recent load.
    recent = pd.Series(qty[:, -12:].mean(axis=1) * hours).groupby(resource).sum()
    cap_months = pd.date_range(m0, periods=25, freq="MS")
    res_names = recent.index.to_numpy()
    slack = rng.uniform(0.85, 1.4, len(res_names))
    capacity = pd.DataFrame(
        {
            "resource": np.repeat(res_names, len(cap_months)),
            "month": np.tile(cap_months.to_numpy().astype(_DT), len(res_names)),
            "hours": np.round(np.repeat(recent.to_numpy() * slack, len(cap_months))),
        }
    )

    # Budget: 24 months from January of the as-of year, last year's family volume + 5%.
    ly = pd.DataFrame(
        {
            "family": fam,
            "vol": qty[:, -12:].sum(axis=1) / 12,
            "rev": qty[:, -12:].sum(axis=1) * price / 12,
        }
    )
    by_fam = ly.groupby("family")[["vol", "rev"]].sum()
    b_months = pd.date_range(pd.Timestamp(as_of.year, 1, 1), periods=24, freq="MS")
    grow = 1.05 * (1 + 0.15 * np.sin(2 * np.pi * b_months.month.to_numpy() / 12))
    budget = pd.DataFrame(
        {
            "family": np.repeat(by_fam.index.to_numpy(), len(b_months)),
            "month": np.tile(b_months.to_numpy().astype(_DT), len(by_fam)),
            "volume": np.round(np.outer(by_fam["vol"].to_numpy(), grow).ravel()),
            "revenue": np.round(np.outer(by_fam["rev"].to_numpy(), grow).ravel()),
        }
    )

    # Daily actuals of the as-of month: the month's expected demand spread over working days.
    days = pd.date_range(m0, m0 + pd.offsets.MonthEnd(0), freq="D")
    working = days.day_of_week < 5
    per_day = mean[:, -1] / max(int(working.sum()), 1)
    drift = rng.choice([0.6, 1.0, 1.0, 1.0, 1.5], n)  # some items run well off plan
    orders = rng.poisson(np.outer(per_day * drift, working.astype(float))).astype(float)
    shipments = np.minimum(orders, rng.poisson(orders * 0.95)).astype(float)
    month_actuals = pd.DataFrame(
        {
            "date": np.repeat(days.to_numpy().astype(_DT)[None, :], n, axis=0).T.ravel(),
            "item": np.tile(item, len(days)),
            "orders": orders.T.ravel(),
            "shipments": shipments.T.ravel(),
        }
    )
    actuals = month_actuals[month_actuals["date"] <= pd.Timestamp(as_of)].reset_index(drop=True)
    production, events = _supply(
        items, per_day, days, working, as_of, np.random.default_rng(seed + 21)
    )
    return SampleCompany(
        as_of=as_of,
        name=f"Synthetic {n:,}-item company (seed {seed})",
        items=items,
        history=history,
        capacity=capacity,
        budget=budget,
        actuals=actuals,
        month_actuals=month_actuals,
        production=production,
        events=events,
    )


def _supply(
    items: pd.DataFrame,
    per_day: np.ndarray,
    days: pd.DatetimeIndex,
    working: np.ndarray,
    as_of: dt.date,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Production of every item on every day of the month (the plan's rate, 10% noise, one
    resource in eight running at 75%), receipts for one item in twenty (a third of its month on
    days 5 and 20, due ones included), and 30 events in the weeks ahead (from its own seed, so the
    rest of the company is the same with or without it)."""
    n = len(items)
    slow = rng.random(n) < 0.125
    rate = per_day * np.where(slow, 0.75, 1.0)
    made = rng.poisson(
        np.outer(rate, working.astype(float)) * rng.lognormal(0, 0.1, (n, len(days)))
    ).astype(float)
    bought = rng.random(n) < 0.05
    receipts = np.zeros((n, len(days)))
    for d in (4, 19):
        receipts[bought, d] = np.round(per_day[bought] * working.sum() / 3)
    production = pd.DataFrame(
        {
            "date": np.repeat(days.to_numpy().astype(_DT)[None, :], n, axis=0).T.ravel(),
            "item": np.tile(items["item"].to_numpy(), len(days)),
            "resource": np.tile(items["resource"].to_numpy(), len(days)),
            "produced": made.T.ravel(),
            "receipts": receipts.T.ravel(),
        }
    )
    production.loc[production["date"] > pd.Timestamp(as_of), "produced"] = 0.0
    production = production[
        (production["date"] <= pd.Timestamp(as_of)) | (production["receipts"] > 0)
    ]
    due = []  # the next three months' receipts are on order
    for k in (1, 2, 3):
        first = days[0] + pd.DateOffset(months=k)
        for d in (4, 19):
            due.append(
                pd.DataFrame(
                    {
                        "date": first + pd.Timedelta(days=d),
                        "item": items["item"].to_numpy()[bought],
                        "resource": items["resource"].to_numpy()[bought],
                        "produced": 0.0,
                        "receipts": receipts[bought, d],
                    }
                )
            )
    production = pd.concat([production, *due], ignore_index=True)
    production = production[
        (production["produced"] > 0) | (production["receipts"] > 0)
    ]  # as refresh-actuals keeps it
    production["date"] = production["date"].astype(_DT)
    resources = np.unique(items["resource"])
    start = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    rows = []
    for k in range(30):
        first = start + pd.Timedelta(days=int(rng.integers(0, 21)))
        if k < 20:
            rows.append(
                {
                    "id": f"E{k + 1}",
                    "kind": "Resource down" if k < 12 else "Reduced rate",
                    "resource": str(rng.choice(resources)),
                    "item": "",
                    "start": first,
                    "working_days": float(rng.integers(1, 4)),
                    "rate": np.nan if k < 12 else 0.5,
                }
            )
        else:
            rows.append(
                {
                    "id": f"E{k + 1}",
                    "kind": "Receipt delayed",
                    "resource": "",
                    "item": str(rng.choice(items["item"].to_numpy()[bought])),
                    "start": start,
                    "end": start + pd.Timedelta(days=30),
                    "delay_days": float(rng.integers(5, 20)),
                }
            )
    events = pd.DataFrame(rows).reindex(
        columns=[
            "id",
            "kind",
            "resource",
            "item",
            "start",
            "end",
            "working_days",
            "rate",
            "delay_days",
            "owner",
            "status",
            "comment",
        ]
    )
    events = events.fillna(
        {"resource": "", "item": "", "owner": "bench", "status": "Open", "comment": ""}
    )
    for c in ("start", "end"):
        events[c] = pd.to_datetime(events[c]).astype(_DT)
    return production.reset_index(drop=True), events


def scaled_scenarios(
    families: list[str], n: int, as_of: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` scenarios: Base, then Upside / Downside / ... each with volume and price drivers per family."""
    if n < 1:
        raise ValueError(f"scenarios must be at least 1, got {n}")
    jan = pd.Timestamp(as_of.year + 1, 1, 1)
    names = ["Base"] + [
        ("Upside", "Downside")[k % 2] + ("" if k < 2 else f" {k // 2 + 1}") for k in range(n - 1)
    ]
    scen = pd.DataFrame(
        {
            "scenario": names,
            "parent": [""] + ["Base"] * (n - 1),
            "description": ["Consensus forecast, no drivers"]
            + [f"Scenario {s}" for s in names[1:]],
            "status": "Draft",
        }
    )
    rows = []
    for k, s in enumerate(names[1:]):
        sign = 1 if k % 2 == 0 else -1
        for j, fam in enumerate(families):
            rows.append(
                (
                    s,
                    "volume",
                    fam,
                    "",
                    "",
                    pd.NaT,
                    pd.NaT,
                    sign * (0.03 + 0.01 * (j % 5)),
                    None,
                    None,
                    "Market" if sign > 0 else "Slowdown",
                )
            )
        rows.append((s, "price", "", "", "", jan, pd.NaT, sign * 0.01, None, None, "Price round"))
    drivers = pd.DataFrame(
        rows,
        columns=list(DRIVER_FIELDS),
    )
    for c in ("from_month", "to_month"):
        drivers[c] = pd.to_datetime(drivers[c]).astype(_DT)
    return scen, drivers


def plan_tables(company: SampleCompany, **options: Any) -> dict[str, Rows]:
    """Every table of the layout as the builder writes it (``planbook.plan_rows``, as for
    ``sop-excel new`` and the demo), planned by :func:`plan_company` with ``options``."""
    return planbook.plan_rows(*plan_company(company, **options))


def plan_company(
    company: SampleCompany,
    *,
    scenarios: int = 3,
    past_cycles: int = 3,
    method: str = "seasonal_naive",
    horizon: int = 18,
    supply: bool = True,
) -> tuple[dict[str, object], planbook.Plan, list[dict[str, object]]]:
    """The Settings values, the plan and the Log's first row, planned by the one function
    ``sop-excel new`` and the demo use (``sop_excel.planbook.plan_tables``) with this company's
    state on top: consensus inputs on 1% of items, a family target, ``scenarios`` scenarios,
    ``past_cycles`` simulated locks, the company's events and Base locked now.
    ``supply=False``: without the company's production, receipts and events (the S&OE of a
    workbook with no supply data).
    """
    if not supply:
        empty = SampleCompany(
            as_of=company.as_of,
            name=company.name,
            items=company.items,
            history=company.history,
            capacity=company.capacity,
            budget=company.budget,
            actuals=company.actuals,
            month_actuals=company.month_actuals,
        )
        company = empty
    values = {
        **DEFAULT_SETTINGS,
        "AsOfDate": company.as_of,
        "Horizon": horizon,
        "ForecastMethod": method,
    }
    settings = Settings.model_validate(values)
    items = company.items.assign(method="", comment="")
    history = company.history
    families = sorted(items["family"].unique())
    forecast, models = pipeline.forecast_frames(settings, items, history)
    months = sorted(forecast["month"].unique())
    some = (
        items["item"].iloc[: max(1, len(items) // 100)].tolist()
    )  # 1% of items get consensus inputs
    inputs = pd.DataFrame(
        {
            "stream": ["Sales", "Marketing"] * len(some),
            "item": [i for i in some for _ in (0, 1)],
            "month": [months[1], months[2]] * len(some),
            "qty": [20.0, -5.0] * len(some),
            "comment": "Account plan",
        }
    )
    inputs["month"] = inputs["month"].astype(_DT)
    fam_m3 = forecast[(forecast["family"] == families[0]) & (forecast["month"] == months[3])][
        "baseline"
    ].sum()
    targets = pd.DataFrame(
        [(families[0], months[3], round(fam_m3 * 1.1), "Campaign +10%")],
        columns=["family", "month", "target", "comment"],
    )
    targets["month"] = targets["month"].astype(_DT)
    scen, drivers = scaled_scenarios(families, scenarios, company.as_of)

    as_of_month = pd.Timestamp(company.as_of).replace(day=1)
    now = dt.datetime(2026, 10, 31, 17, 0)
    prices = items.set_index("item")["price"]
    locks, snaps = [], []
    for v, k in enumerate(range(past_cycles, 0, -1), start=1):
        cycle = as_of_month - pd.DateOffset(months=k)
        s = settings.model_copy(update={"as_of": cycle.date(), "horizon": 6})
        before = history[history["month"] < cycle]
        fc, _ = pipeline.forecast_frames(s, items[items["item"].isin(set(before["item"]))], before)
        fc["final"] = fc["baseline"]
        plan = fc.rename(columns={"final": "volume"}).assign(
            revenue=lambda d: d["volume"] * d["item"].map(prices)
        )
        rec, _, snap = make_lock(v, "Base", plan, fc, cycle, "bench (simulated cycle)", now)
        locks.append(rec.assign(note="Simulated past cycle"))
        snaps.append(snap)
    state = PlanState(
        inputs=inputs,
        targets=targets,
        scenarios=scen,
        drivers=drivers,
        locks=pd.concat(locks, ignore_index=True) if locks else None,
        snapshots=pd.concat(snaps, ignore_index=True) if snaps else None,
        events=company.events,
        lock=("Base", "Scale benchmark lock"),
        user="bench",
        now=now,
        forecast=(forecast, models),
    )
    planned = planbook.plan_tables(
        settings,
        items,
        history,
        company.budget,
        company.capacity,
        company.actuals,
        state,
        production=company.production,
    )
    log = {
        "time": pd.Timestamp(now),
        "command": "bench",
        "user": "bench",
        "data": company.name,
        "details": f"{len(items)} items, {scenarios} scenarios, method {method}",
    }
    return values, planned, [log]


def build_scaled_workbook(
    path: str | Path,
    n_items: int = 10_000,
    seed: int = 1,
    scenarios: int = 3,
    *,
    past_cycles: int = 3,
    supply: bool = True,
) -> dict:
    """Build the planning workbook of a synthetic ``n_items`` company at ``path``.

    Returns:
        ``{"path", "n_items", "scenarios", "data_s" (synthetic company), "frames_s" (forecast
        and pipeline), "write_s" (``planbook.write_plan``, as new and the demo: rows, the
        builder, the execution basis kept), "total_s", "cells" (table cells written),
        "formulas" (formula cells), "rows" (per table: data rows), "bytes"}``.
    """
    t0 = time.perf_counter()
    company = make_company(n_items, seed)
    t1 = time.perf_counter()
    values, planned, log = plan_company(
        company, scenarios=scenarios, past_cycles=past_cycles, supply=supply
    )
    t2 = time.perf_counter()
    out = planbook.write_plan(path, values, planned, log)  # as new and demo: rows, build, basis
    t3 = time.perf_counter()
    tables = planbook.plan_rows(values, planned, log)  # the same rows again, to count them
    return {
        "path": out,
        "n_items": n_items,
        "scenarios": scenarios,
        "data_s": t1 - t0,
        "frames_s": t2 - t1,
        "write_s": t3 - t2,
        "total_s": t3 - t0,
        "cells": sum(len(r) for rows in tables.values() for r in rows),
        "formulas": _count_formulas(tables),
        "rows": {name: len(rows) - 1 for name, rows in tables.items()},
        "bytes": out.stat().st_size,
    }


def _count_formulas(tables: dict[str, Rows]) -> int:
    from sop_excel.workbook.io import Formula

    return sum(isinstance(v, Formula) for rows in tables.values() for r in rows for v in r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument(
        "--no-supply", action="store_true", help="without production, receipts and events"
    )
    args = ap.parse_args()
    r = build_scaled_workbook(
        args.out, args.items, args.seed, args.scenarios, supply=not args.no_supply
    )
    print(
        f"{r['path']}: {r['bytes'] / 1e6:.1f} MB, {r['cells']:,} cells ({r['formulas']:,} formulas)"
    )
    print(f"data {r['data_s']:.1f} s, frames {r['frames_s']:.1f} s, write {r['write_s']:.1f} s")
    for name, n in sorted(r["rows"].items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {name}: {n:,} rows")


if __name__ == "__main__":
    main()
