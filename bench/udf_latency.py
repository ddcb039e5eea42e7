"""Worksheet function (UDF) latency for one item, with a 10,000-item history in memory.

    OMP_NUM_THREADS=1 .venv/bin/python bench/udf_latency.py [--items 10000] [--calls 200] [--cold-runs 3]

Issue 8, point 3: the UDF for one item stays interactive at any workbook size, <= 50 ms warm.
A UDF only ever sees the ranges its cell passes, so workbook size enters only through what is
in memory; the synthetic company's history (``bench/scale_data.py``) is held throughout.

For each UDF, called as xlwings calls it (plain Python on Linux, arguments as the 2-D lists and
datetimes xlwings hands over):

* cold: the first call in a fresh Python process after ``import udfs`` (lazy imports such as
  statsmodels and scipy land here), one process per run, UDFs in the order listed;
* warm, same input: the same call repeated (served by the UDF cache);
* warm, changed input: after the module is warm, each call with another item's numbers (a
  cache miss, the real computation: the planner edits a cell).

Prints median and p95 in milliseconds and whether warm calls meet 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
TARGET_MS = 50.0


def _inputs(n_items: int, seed: int = 1) -> tuple[Any, list[dict[str, Callable[[int], tuple]]]]:
    """The company (kept in memory) and, per UDF, a function item index -> call arguments."""
    sys.path.insert(0, str(HERE))
    from scale_data import make_company

    company = make_company(n_items, seed)
    h = company.history
    months = h["month"].drop_duplicates().sort_values().dt.to_pydatetime().tolist()
    wide = h.pivot_table(index="item", columns="month", values="qty", aggfunc="sum").reindex(
        columns=months
    )
    qty = wide.to_numpy()
    lead = company.items.set_index("item")["lead_time_days"].reindex(wide.index).to_numpy()
    through = company.as_of

    def hist(i: int) -> list[list[Any]]:  # Month | Qty, 48 rows, blank where the item is young
        return [["Month", "Qty"]] + [
            [m, None if np.isnan(q) else float(q)] for m, q in zip(months, qty[i], strict=True)
        ]

    def last(i: int, k: int) -> list[list[Any]]:
        return [[None if np.isnan(q) else float(q)] for q in qty[i, -k:]]

    def prior(i: int, k: int) -> list[list[Any]]:
        return [[float(q)] for q in np.nan_to_num(qty[i, -k - 12 : -k])]

    fc_months = [[m] for m in months[-18:]]
    calls = {
        "SOP_FORECAST auto": lambda i: (hist(i), 18, "auto"),
        "SOP_FORECAST seasonal_naive": lambda i: (hist(i), 18, "seasonal_naive"),
        "SOP_BACKTEST auto": lambda i: (hist(i), "auto", 6),
        "SOP_ACCURACY mase": lambda i: (last(i, 12), prior(i, 12), "mase", last(i, 36)),
        "SOP_TRACKING_SIGNAL": lambda i: (last(i, 12), prior(i, 12)),
        "SOP_DRIFT all": lambda i: (
            [[float(np.nanmean(qty[i, -3:]) or 1.0)]],
            [[float(np.nan_to_num(qty[i, -1]) * 0.8)]],
            _dt(through),
            "all",
            0.1,
            0.2,
            float(np.nanstd(qty[i]) or 1.0),
        ),
        "SOP_SAFETY_STOCK": lambda i: ([[float(np.nanstd(qty[i]))]], [[float(lead[i])]], 0.95),
        "SOP_SCENARIO volume": lambda i: (
            last(i, 18),
            "volume",
            0.05,
            fc_months,
            months[-12],
            months[-1],
        ),
    }
    return company, [{"name": k, "args": v} for k, v in calls.items()]


def _dt(d: Any) -> Any:
    import datetime as dt

    return dt.datetime(d.year, d.month, d.day)


def _fn(name: str) -> Callable[..., Any]:
    import udfs

    return getattr(udfs, name.split()[0])


def _check(name: str, out: Any) -> None:
    text = (
        out[0][0] if isinstance(out, list) and out and isinstance(out[0], list) and out[0] else out
    )
    if isinstance(text, str) and text.startswith("Error"):
        raise SystemExit(
            f"{name} returned an error, the benchmark would time the wrong thing: {text}"
        )


def _cold(n_items: int) -> None:
    """Child: the first call of each UDF in this fresh process, in ms, as JSON."""
    _, specs = _inputs(n_items)
    import udfs  # noqa: F401  (the import is not timed; the first call is)

    out = {}
    for s in specs:
        args = s["args"](0)
        t = time.perf_counter()
        res = _fn(s["name"])(*args)
        out[s["name"]] = (time.perf_counter() - t) * 1000
        _check(s["name"], res)
    print(json.dumps(out))


def _stats(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"{statistics.median(ms):8.2f} {p95:8.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=200, help="warm calls per UDF")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh processes for the cold figures")
    ap.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold_child:
        _cold(args.items)
        return

    cold: dict[str, list[float]] = {}
    for _ in range(args.cold_runs):
        res = subprocess.run(
            [sys.executable, __file__, "--cold-child", "--items", str(args.items)],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise SystemExit(res.stderr[-2000:])
        for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
            cold.setdefault(k, []).append(v)

    company, specs = _inputs(args.items)
    from udfs._common import cache_clear

    n_items = len(company.items)
    print(
        f"{n_items:,} items in memory ({len(company.history):,} history rows); "
        f"{args.calls} warm calls per UDF; cold = first call in a fresh process ({args.cold_runs} runs)"
    )
    print(
        f"{'UDF':30s} {'cold med':>8s} {'cold max':>8s} | {'same med':>8s} {'same p95':>8s} | "
        f"{'edit med':>8s} {'edit p95':>8s}  (ms)"
    )
    worst = 0.0
    for s in specs:
        fn, make = _fn(s["name"]), s["args"]
        _check(s["name"], fn(*make(0)))  # warm the module and the code path
        same_args = make(1)
        fn(*same_args)
        same = []
        for _ in range(args.calls):
            t = time.perf_counter()
            fn(*same_args)
            same.append((time.perf_counter() - t) * 1000)
        edit = []
        for k in range(args.calls):
            a = make(2 + k % (n_items - 2))
            t = time.perf_counter()
            out = fn(*a)
            edit.append((time.perf_counter() - t) * 1000)
            _check(s["name"], out)
        cache_clear()
        c = sorted(cold[s["name"]])
        p95_edit = sorted(edit)[min(len(edit) - 1, int(round(0.95 * (len(edit) - 1))))]
        worst = max(worst, p95_edit)
        print(
            f"{s['name']:30s} {statistics.median(c):8.1f} {c[-1]:8.1f} | {_stats(same)} | {_stats(edit)}"
            f"{'' if p95_edit <= TARGET_MS else '  over 50 ms'}"
        )
    print(
        f"worst warm p95 with changed input: {worst:.1f} ms (target <= {TARGET_MS:.0f} ms: "
        f"{'met' if worst <= TARGET_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
