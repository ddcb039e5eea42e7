#!/usr/bin/env python
"""Generate the bundled sample company (``sop_excel/sample_data/``) once, from a fixed seed.

The company is fictional: Northwind Pumps Ltd., a pump, valve and controls maker with plants
in Leeds and Brno. Every date is stored *relative* to the planning (as-of) date, so the loader
(:func:`sop_excel.sample.load_sample_company`) can hang the whole company on any as-of date:

* ``history.csv``  ``month_offset`` -48..-1 (months before the as-of month)
* ``capacity.csv`` ``month_offset`` 0..24 (the as-of month and the next 24 months)
* ``budget.csv``   ``month_offset`` -11..23 (the loader keeps the 24 months from January of
  the as-of year, which lie in that window whatever the as-of month)
* ``actuals.csv``  ``day`` 1..31 of the as-of month (the loader drops days the month lacks and
  zeroes weekends)
* ``production.csv``, ``events.csv``  ``day`` 1..31 of the as-of month: production and receipts,
  and the disruptions (issue 21)

Seasonal peaks are laid out for the default as-of month (November): offset -1 is "October".
With another as-of date the whole calendar, seasons included, moves with it.

Run ``python scripts/make_sample_data.py`` to rewrite the CSVs and README, or ``--check`` to
verify that the committed files are what this script produces. The output is byte-for-byte
reproducible: same seed, same numbers, same formatting.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20261118
NAME = "Northwind Pumps Ltd."
CURRENCY = "EUR"
OUT = Path(__file__).resolve().parents[1] / "sop_excel" / "sample_data"

HISTORY_MONTHS = 48
CAPACITY_MONTHS = 25  # offsets 0..24
BUDGET_OFFSETS = range(-11, 24)
DAYS = 31
# Calendar month (0 = January) of offset 0 for the default as-of date, 2026-11-18.
REF_MONTH0 = 10
# Expected working days per month: daily order rate = month demand / this.
WORKING_DAYS_PER_MONTH = 21.5
DAILY_NOISE = 0.15

MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

RESOURCES = {
    # resource: (site, description)
    "LDS-PA1": ("Leeds", "Leeds pump assembly line 1"),
    "LDS-EL1": ("Leeds", "Leeds electronics cell"),
    "LDS-MC1": ("Leeds", "Leeds machining centre"),
    "BRN-PA2": ("Brno", "Brno pump assembly line 2"),
    "BRN-VL1": ("Brno", "Brno valve line (the tight resource)"),
}
TIGHT_RESOURCE = "BRN-VL1"


@dataclass(frozen=True)
class Family:
    name: str
    prefix: str
    first: int
    count: int
    level: tuple[float, float]  # units per month at offset 0, before seasonality
    growth: float  # per year
    season_amp: float
    season_peak: int  # calendar month, 0 = January (at the default as-of)
    price: tuple[float, float]
    hours: tuple[float, float]
    lead: tuple[int, int]
    budget_factor: float  # budget / trend


FAMILIES = [
    Family(
        "Pumps", "PMP", 1001, 20, (60, 320), 0.07, 0.25, 5, (380, 2400), (0.9, 2.6), (20, 45), 1.055
    ),
    Family(
        "Valves",
        "VLV",
        2001,
        18,
        (150, 700),
        0.04,
        0.22,
        2,
        (70, 560),
        (0.30, 0.80),
        (15, 35),
        1.005,
    ),
    Family(
        "Controls",
        "CTL",
        3001,
        14,
        (60, 380),
        0.10,
        0.10,
        8,
        (140, 900),
        (0.40, 1.40),
        (30, 70),
        0.995,
    ),
    Family(
        "Spares", "SPR", 4001, 12, (120, 600), 0.02, 0.15, 0, (9, 85), (0.08, 0.30), (5, 20), 1.0
    ),
]

KINDS = {
    "Pumps": [
        "Centrifugal pump",
        "Submersible pump",
        "Booster set",
        "Dosing pump",
        "Circulator pump",
    ],
    "Valves": [
        "Gate valve",
        "Ball valve",
        "Butterfly valve",
        "Check valve",
        "Pressure relief valve",
    ],
    "Controls": [
        "Pump controller",
        "Variable speed drive",
        "Pressure sensor",
        "Level switch",
        "Control panel",
    ],
    "Spares": ["Impeller", "Mechanical seal kit", "Bearing kit", "Gasket set", "Shaft sleeve"],
}
MATERIAL = ["cast iron", "stainless steel", "bronze", "ductile iron", "PVC-U"]

# Special items (the README lists them; the tests look for them).
NEW_ITEM, LIKE_ITEM, NEW_MONTHS = "PMP-1020", "PMP-1014", 8
DISCONTINUED, STOP_MONTHS = "VLV-2016", 8
STOCKOUT_ITEM, STOCKOUT_OFFSETS = "PMP-1007", (-14, -13, -12)
INTERMITTENT = ["CTL-3013", "CTL-3014", "SPR-4008", "SPR-4009", "SPR-4010", "SPR-4011", "SPR-4012"]
OUTLIERS = {  # (item, month_offset): multiplier
    ("PMP-1003", -30): 3.5,
    ("VLV-2005", -17): 4.0,
    ("CTL-3002", -28): 3.5,
    ("SPR-4003", -9): 3.5,
    ("PMP-1015", -5): 3.0,
}
DRIFT = {  # item: factor on the normal daily order rate in the as-of month
    "PMP-1002": 1.35,
    "CTL-3003": 1.38,
    "VLV-2004": 0.65,
    "SPR-4002": 0.66,
}
# Fixed levels for the drift items, so their drift is clear above the noise.
FIXED_LEVEL = {"PMP-1002": 220.0, "CTL-3003": 300.0, "VLV-2004": 600.0, "SPR-4002": 500.0}

# Supply (issue 21): daily production, supplier receipts and two disruptions, from a seed of their
# own so the files above do not change. Production runs at the month's normal rate with noise;
# BRN-PA2 runs behind from day SLOW_FROM (a staffing gap); SUBCONTRACTED gets a share of each
# month from a subcontractor on RECEIPT_DAYS; the events take LDS-PA1 down for 3 working days
# and delay the subcontractor's second delivery.
SUPPLY_SEED = SEED + 21
PRODUCTION_NOISE = 0.08
SLOW_RESOURCE, SLOW_FROM, SLOW_FACTOR = "BRN-PA2", 9, 0.70
SUBCONTRACTED, RECEIPT_SHARE, RECEIPT_DAYS = "CTL-3011", 0.5, (5, 24)
RECEIPT_MONTHS = 4  # receipts are due in the as-of month and the next three (day 5 and 24 of each)
EVENTS = [  # id, kind, resource, item, day of the as-of month, working days, delay days, owner, status, comment
    (
        "E1",
        "Resource down",
        "LDS-PA1",
        "",
        20,
        3,
        "",
        "Leeds plant",
        "In progress",
        "Gearbox failure on line 1; the spare part is on its way",
    ),
    (
        "E2",
        "Receipt delayed",
        "",
        SUBCONTRACTED,
        RECEIPT_DAYS[1],
        10,
        21,
        "Purchasing",
        "Open",
        "Subcontractor short of boards: the next two deliveries come three weeks late",
    ),
]


def _site_resource(fam: Family, k: int) -> str:
    if fam.name == "Pumps":
        return "LDS-PA1" if k < 12 else "BRN-PA2"
    return {"Valves": "BRN-VL1", "Controls": "LDS-EL1", "Spares": "LDS-MC1"}[fam.name]


def season(fam: Family, offsets: np.ndarray) -> np.ndarray:
    cal = (REF_MONTH0 + offsets) % 12
    return 1.0 + fam.season_amp * np.cos(2 * np.pi * (cal - fam.season_peak) / 12)


def build(seed: int = SEED) -> dict[str, list[list[object]]]:
    """All tables as rows (header first), derived from ``seed`` alone."""
    rng = np.random.default_rng(seed)
    items: list[dict] = []
    for fam in FAMILIES:
        for k in range(fam.count):
            code = f"{fam.prefix}-{fam.first + k}"
            kind = KINDS[fam.name][k % 5]
            if fam.name in ("Pumps", "Valves"):
                size = [25, 32, 40, 50, 65, 80, 100, 125][k % 8]
                desc = f"{kind} DN{size}, {MATERIAL[(k // 5) % 5]}"
            elif fam.name == "Controls":
                desc = f"{kind} {['S', 'M', 'L', 'XL'][k % 4]}-{10 + 5 * (k // 4)}"
            else:
                desc = f"{kind} for CP-{[40, 50, 65, 80][k % 4]} series"
            price = math.exp(rng.uniform(math.log(fam.price[0]), math.log(fam.price[1])))
            margin = rng.uniform(0.26, 0.54)
            level = math.exp(rng.uniform(math.log(fam.level[0]), math.log(fam.level[1])))
            items.append(
                {
                    "fam": fam,
                    "item": code,
                    "description": desc,
                    "family": fam.name,
                    "resource": _site_resource(fam, k),
                    "price": round(price, 2),
                    "margin": margin,
                    "hours_per_unit": round(rng.uniform(*fam.hours), 2),
                    "lead_time_days": int(rng.integers(fam.lead[0], fam.lead[1] + 1)),
                    "level": FIXED_LEVEL.get(code, level),
                    "growth": fam.growth + rng.uniform(-0.04, 0.04),
                    "noise": rng.uniform(0.05, 0.10),
                    "cover": rng.uniform(0.5, 2.0),
                    "p_demand": rng.uniform(0.22, 0.40),
                    "size": rng.uniform(2.0, 9.0),
                }
            )
    by_code = {it["item"]: it for it in items}

    def expected(it: dict, offsets: np.ndarray) -> np.ndarray:
        """Noise-free demand per month offset: level, trend, season; phase-in/out applied."""
        code = it["item"]
        if code in INTERMITTENT:
            return np.full(len(offsets), it["p_demand"] * (it["size"] + 1.0))
        if code == NEW_ITEM:
            like = by_code[LIKE_ITEM]
            base = (
                0.85
                * like["level"]
                * (1 + like["growth"]) ** (offsets / 12)
                * season(like["fam"], offsets)
            )
            age = offsets + NEW_MONTHS  # 0 in the launch month
            ramp = np.clip((age + 1) / 4.0, 0.0, 1.0)
            return np.where(age >= 0, base * ramp, 0.0)
        e = it["level"] * (1 + it["growth"]) ** (offsets / 12) * season(it["fam"], offsets)
        if code == DISCONTINUED:
            # Phase-out over the 12 months before the stop, then nothing.
            fade = np.clip((-STOP_MONTHS - offsets) / 12.0, 0.0, 1.0)
            e = e * np.where(offsets < -STOP_MONTHS - 12, 1.0, fade)
        return e

    # History ------------------------------------------------------------------------------------
    hist_rows: list[list[object]] = [["item", "month_offset", "qty", "flag"]]
    hist_off = np.arange(-HISTORY_MONTHS, 0)
    for it in items:
        code = it["item"]
        if code in INTERMITTENT:
            occurs = rng.random(HISTORY_MONTHS) < it["p_demand"]
            sizes = 1 + rng.poisson(it["size"], HISTORY_MONTHS)
            qty = np.where(occurs, sizes, 0).astype(float)
        else:
            mean = expected(it, hist_off) * rng.lognormal(0.0, it["noise"], HISTORY_MONTHS)
            qty = rng.poisson(mean).astype(float)
        for off, q in zip(hist_off, qty, strict=True):
            off = int(off)
            if code == NEW_ITEM and off < -NEW_MONTHS:
                continue
            if code == DISCONTINUED and off >= -STOP_MONTHS:
                q = 0.0
            q = round(q * OUTLIERS.get((code, off), 1.0))
            if code == STOCKOUT_ITEM and off in STOCKOUT_OFFSETS:
                hist_rows.append([code, off, "", "stockout"])
            else:
                hist_rows.append([code, off, int(q), ""])

    # Items --------------------------------------------------------------------------------------
    status = {NEW_ITEM: "new", DISCONTINUED: "discontinued"}
    item_rows: list[list[object]] = [
        [
            "item",
            "description",
            "family",
            "site",
            "resource",
            "price",
            "unit_cost",
            "hours_per_unit",
            "lead_time_days",
            "status",
            "opening_stock",
            "like_item",
        ]
    ]
    for it in items:
        code = it["item"]
        month0 = float(expected(it, np.array([0]))[0])
        stock = 12 if code == DISCONTINUED else round(month0 * it["cover"])
        item_rows.append(
            [
                code,
                it["description"],
                it["family"],
                RESOURCES[it["resource"]][0],
                it["resource"],
                f"{it['price']:.2f}",
                f"{it['price'] * (1 - it['margin']):.2f}",
                f"{it['hours_per_unit']:.2f}",
                it["lead_time_days"],
                status.get(code, "active"),
                int(stock),
                LIKE_ITEM if code == NEW_ITEM else "",
            ]
        )

    # Capacity -----------------------------------------------------------------------------------
    cap_off = np.arange(CAPACITY_MONTHS)
    loads = {r: np.zeros(CAPACITY_MONTHS) for r in RESOURCES}
    for it in items:
        if it["item"] != DISCONTINUED:
            loads[it["resource"]] += it["hours_per_unit"] * expected(it, cap_off)
    cap_rows: list[list[object]] = [["resource", "month_offset", "hours"]]
    for r, load in loads.items():
        site = RESOURCES[r][0]
        base = load.mean() * 1.05 if r == TIGHT_RESOURCE else load.max() * 1.35
        base = round(base, -1)
        # Plant shutdowns: Leeds at offset 1 ("December"), Brno at offset 9 ("August").
        shut = 1 if site == "Leeds" else 9
        hours = np.where((cap_off % 12) == shut, base * 0.85, base)
        hours = np.round(hours, -1)
        over = load > hours
        if r == TIGHT_RESOURCE:
            assert 3 <= over.sum() <= 12, (r, over.sum())
        else:
            assert not over.any(), r
        for off, h in zip(cap_off, hours, strict=True):
            cap_rows.append([r, int(off), int(h)])

    # Budget -------------------------------------------------------------------------------------
    bud_off = np.array(list(BUDGET_OFFSETS))
    bud_rows: list[list[object]] = [["family", "month_offset", "volume", "revenue"]]
    for fam in FAMILIES:
        vol = np.zeros(len(bud_off))
        rev = np.zeros(len(bud_off))
        for it in items:
            if it["fam"] is fam:
                e = expected(it, bud_off)
                vol += e
                rev += e * it["price"]
        wobble = 1 + rng.normal(0.0, 0.01, len(bud_off))
        for off, v, r, w in zip(bud_off, vol, rev, wobble, strict=True):
            f = fam.budget_factor * w
            bud_rows.append([fam.name, int(off), int(round(v * f)), int(round(r * f))])

    # Daily actuals for the as-of month ----------------------------------------------------------
    act_rows: list[list[object]] = [["item", "day", "orders", "shipments"]]
    for it in items:
        code = it["item"]
        rate = float(expected(it, np.array([0]))[0]) / WORKING_DAYS_PER_MONTH * DRIFT.get(code, 1.0)
        if code == DISCONTINUED:
            rate = 0.0
        # Two days before day 1 feed the first shipments (shipments lag orders 0-2 days).
        if code in INTERMITTENT:
            orders = rng.poisson(np.full(DAYS + 2, rate))
        else:
            # Day-to-day noise, rounded stochastically (unbiased, less spread than Poisson).
            daily = rate * rng.lognormal(-0.5 * DAILY_NOISE**2, DAILY_NOISE, DAYS + 2)
            orders = np.floor(daily + rng.random(DAYS + 2)).astype(np.int64)
        ships = np.zeros(DAYS + 2, dtype=np.int64)
        for d, n in enumerate(orders):
            split = rng.multinomial(n, [0.3, 0.5, 0.2])
            for lag in range(3):
                if d + lag < DAYS + 2:
                    ships[d + lag] += split[lag]
        for day in range(1, DAYS + 1):
            act_rows.append([code, day, int(orders[day + 1]), int(ships[day + 1])])

    # Daily production and supplier receipts for the as-of month -------------------------------------
    srng = np.random.default_rng(SUPPLY_SEED)
    prod_rows: list[list[object]] = [["item", "day", "produced", "receipts"]]
    for it in items:
        code = it["item"]
        month = float(expected(it, np.array([0]))[0])
        bought = RECEIPT_SHARE * month if code == SUBCONTRACTED else 0.0
        rate = (month - len(RECEIPT_DAYS) * bought) / WORKING_DAYS_PER_MONTH
        if code == DISCONTINUED:
            rate = 0.0
        slow = (
            np.where(np.arange(1, DAYS + 1) >= SLOW_FROM, SLOW_FACTOR, 1.0)
            if it["resource"] == SLOW_RESOURCE
            else 1.0
        )
        daily = rate * slow * srng.lognormal(-0.5 * PRODUCTION_NOISE**2, PRODUCTION_NOISE, DAYS)
        made = np.floor(daily + srng.random(DAYS)).astype(np.int64)
        for day in range(1, DAYS + 1):
            received = int(round(bought)) if day in RECEIPT_DAYS else 0
            prod_rows.append([code, day, int(made[day - 1]), received])
        if bought:  # due in the next months: day counts on from the as-of month's first (32 = the 1st of the next)
            for k in range(1, RECEIPT_MONTHS):
                for day in RECEIPT_DAYS:
                    prod_rows.append([code, 31 * k + day, 0, int(round(bought))])
    event_rows: list[list[object]] = [
        [
            "id",
            "kind",
            "resource",
            "item",
            "day",
            "working_days",
            "delay_days",
            "owner",
            "status",
            "comment",
        ]
    ]
    event_rows += [list(e) for e in EVENTS]

    company_rows: list[list[object]] = [
        ["key", "value"],
        ["name", NAME],
        ["currency", CURRENCY],
        ["seed", SEED],
    ]
    return {
        "company": company_rows,
        "items": item_rows,
        "history": hist_rows,
        "capacity": cap_rows,
        "budget": bud_rows,
        "actuals": act_rows,
        "production": prod_rows,
        "events": event_rows,
    }


def _csv(rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _default_month(offset: int) -> str:
    """The month an offset lands on with the default as-of date (2026-11-18)."""
    m = 2026 * 12 + REF_MONTH0 + offset
    return f"{MONTH_NAMES[m % 12]} {m // 12}"


def _readme(tables: dict[str, list[list[object]]]) -> bytes:
    items = tables["items"][1:]
    fam_counts = {f.name: sum(1 for r in items if r[2] == f.name) for f in FAMILIES}
    site_of = {r[0]: r[3] for r in items}
    drift = "\n".join(
        f"| {code} | {'hot' if f > 1 else 'cold'} | {f - 1:+.0%} |" for code, f in DRIFT.items()
    )
    outliers = "\n".join(
        f"| {code} | {off} | {_default_month(off)} | x{m:g} |"
        for (code, off), m in OUTLIERS.items()
    )
    gap = f"{_default_month(STOCKOUT_OFFSETS[0])} to {_default_month(STOCKOUT_OFFSETS[-1])}"
    resources = "\n".join(f"| {r} | {s} | {d} |" for r, (s, d) in RESOURCES.items())
    families = ", ".join(f"{name} {n}" for name, n in fam_counts.items())
    text = f"""# Sample company: {NAME}

Generated by `scripts/make_sample_data.py` (seed {SEED}); do not edit these files by hand.
Change the script and run `python scripts/make_sample_data.py` instead (`--check` verifies
that the committed files match). Load with `sop_excel.sample.load_sample_company(as_of)`.

A fictional maker of pumps, valves and controls with plants in Leeds and Brno:
{len(items)} items ({families}), currency {CURRENCY}.

## Relative dates

Every date is stored relative to the as-of (planning) date, default 2026-11-18:

| file | column | meaning |
|---|---|---|
| `history.csv` | `month_offset` -48..-1 | months before the as-of month |
| `capacity.csv` | `month_offset` 0..24 | the as-of month and the next 24 months |
| `budget.csv` | `month_offset` -11..23 | the 24 months from January of the as-of year are kept |
| `actuals.csv` | `day` 1..31 | day of the as-of month; the loader keeps days 1..as-of day |
| `production.csv` | `day` 1..31, receipts up to 117 | day of the as-of month; the loader keeps production of days 1..as-of day and every receipt (later ones are due; a day above 31 is in a later month: 31 x months + day) |
| `events.csv` | `day` 1..31 | the day of the as-of month the event starts |

Days the as-of month does not have (e.g. 31 in November) are dropped. **Weekends**: the loader
keeps a row for every calendar day but sets orders and shipments to zero on Saturdays and
Sundays of the real calendar of the as-of month. Seasonal peaks are laid out for the default
as-of month (November), so offset -1 is "October"; with another as-of date the seasons move
with it. Daily order rates are the month's demand / {WORKING_DAYS_PER_MONTH:g} working days, so in
as-of months with 22-23 working days every item runs a few % above its plan.
`SampleCompany.actuals_for_day(day)` gives any one day of the as-of month (e.g. the day after
the as-of date, to try `refresh-actuals`).

## Items

`items.csv`: item, description, family, site, resource, price, unit_cost (margin 25-55%),
hours_per_unit, lead_time_days, status, opening_stock (units), like_item.

Special items:

* **New**: {NEW_ITEM} ({site_of[NEW_ITEM]}), {NEW_MONTHS} months of history, ramping up;
  `like_item` = {LIKE_ITEM}, whose profile it follows at about 85% of the volume.
* **Discontinued**: {DISCONTINUED}, phased out over a year; zero demand in its last
  {STOP_MONTHS} months of history, no orders in the as-of month.
* **Intermittent** (most months zero): {", ".join(INTERMITTENT)}.
* **Stockout**: {STOCKOUT_ITEM} has no demand figure for month offsets
  {", ".join(str(o) for o in STOCKOUT_OFFSETS)} ({gap} at the default as-of; `qty` empty,
  `flag` = `stockout`).
* **Outliers** (one-off spikes in history):

| item | month_offset | month at the default as-of | spike |
|---|---|---|---|
{outliers}

## Resources and capacity

| resource | site | description |
|---|---|---|
{resources}

`capacity.csv` holds hours per resource and month. {TIGHT_RESOURCE} (all Valves) is **tight**:
its capacity is about 5% above its average load, so the seasonal peak months overload it
(hours_per_unit x demand > capacity). The others are never overloaded (35% headroom at their peak).
Plant shutdowns cut capacity by 15% in offset 1 and 13 (Leeds, "December") and offset 9 and 21
(Brno, "August").

## Budget

`budget.csv`: volume and revenue per family and month. Pumps are budgeted about 5.5% above the
trend (a visible gap to budget); the other families are on target within about 1%.

## Daily actuals and drift

`actuals.csv`: orders and shipments per item and day; shipments lag orders by 0-2 days. Most
items run at their normal rate for the as-of month, with noise. Four items drift:

| item | drift | vs normal |
|---|---|---|
{drift}

## Production, receipts and events

`production.csv`: units produced per item and day (on the item's resource) at the month's normal
rate with {PRODUCTION_NOISE:.0%} noise, and supplier receipts. Weekends are zeroed like the
actuals. {SLOW_RESOURCE} runs at {SLOW_FACTOR:.0%} of its rate from day {SLOW_FROM} (a staffing
gap: its pumps fall behind plan). {SUBCONTRACTED} is made by a subcontractor: {RECEIPT_SHARE:.0%} of a
month's demand arrives on days {" and ".join(str(d) for d in RECEIPT_DAYS)} of this month and of
the next {RECEIPT_MONTHS - 1} (due receipts: open purchase orders); its line makes nothing.

`events.csv`: the disruptions on the Events sheet:

| id | kind | resource | item | day | working days | delay (days) | owner | status | comment |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join("| " + " | ".join(str(v) for v in e) + " |" for e in EVENTS)}
"""
    return text.encode("utf-8")


def render(seed: int = SEED) -> dict[str, bytes]:
    """File name -> exact file content."""
    tables = build(seed)
    files = {f"{name}.csv": _csv(rows) for name, rows in tables.items()}
    files["README.md"] = _readme(tables)
    return files


def generate(out_dir: str | Path = OUT, seed: int = SEED) -> list[Path]:
    """Write the sample data files into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in render(seed).items():
        path = out / name
        path.write_bytes(content)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default: {OUT})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with the files in --out instead of writing them",
    )
    args = parser.parse_args(argv)
    if args.check:
        bad = [
            name
            for name, content in render().items()
            if not (args.out / name).is_file() or (args.out / name).read_bytes() != content
        ]
        for name in bad:
            print(f"differs: {args.out / name}", file=sys.stderr)
        return 1 if bad else 0
    for path in generate(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
