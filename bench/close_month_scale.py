"""``close-month`` at scale: an N-item workbook with the month's 31 days of actuals loaded.

    OMP_NUM_THREADS=1 .venv/bin/python bench/close_month_scale.py --items 1000
    OMP_NUM_THREADS=1 .venv/bin/python bench/close_month_scale.py --items 10000 [--no-trace]
    OMP_NUM_THREADS=1 .venv/bin/python bench/close_month_scale.py WB.xlsx --close-only  # step 1

The workbook is ``scale_data.build_scaled_workbook`` (as of 2026-10-31; October's 31 days of
actuals loaded; 3 simulated past locks and the October lock; seasonal-naive forecast), built
into the temporary folder once. Each figure is one fresh process on a fresh copy, doing what
``sop-excel close-month WB`` does in process (``open_workbook`` then ``macros.close_month``):

1. ``close-month --no-refresh``: the close itself (History +1 month, the as-of date, scoring
   every lock by lag, thinning the snapshots, the archive, the exception log, the Actuals
   window, the new month's S&OE and its execution basis kept). Target (issue 16): <= 10 s at
   10,000 items.
2. ``refresh-forecast`` on that closed copy: the forecast refresh on its own.
3. ``close-month`` (the default: with the refresh) on a fresh copy, with the time spent
   forecasting.
4. ``close-month --month`` of the month closed, again on the copy of 3 (nothing to do: the
   file is not written) and a ``refresh-actuals`` of the
   next month's first day after it (which reads the execution basis close-month kept).

Times are split into workbook open, reading tables, queueing writes, saving, forecasting and the
rest; CPU seconds of the process and of its helper processes (the tables read aside) are given
too (on a shared machine they say more than the wall clock); ``ru_maxrss`` is the process's
peak resident memory (and the largest helper process's).
With tracing (default), 1. runs once more under tracemalloc for the peak of Python allocations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]


def closed_month(book: object) -> object:
    """The month close-month closed last (the one before the as-of month)."""
    import pandas as pd

    from sop_excel import macros

    return pd.Timestamp(macros.read_settings(book).as_of).replace(day=1) - pd.DateOffset(months=1)


def child(step: str, workbook: Path, trace: bool) -> dict:
    """One command in this (fresh) process: its figures."""
    from refresh_actuals_scale import Timed

    from sop_excel import macros, pipeline
    from sop_excel.workbook.zip_io import open_workbook

    if trace:
        tracemalloc.start()
    forecast_s = 0.0
    computed = []
    inner_forecast, inner_basis = pipeline.forecast_frames, pipeline.execution_basis

    def timed_forecast(*a, **k):  # noqa: ANN002, ANN003, ANN202 - a pass-through timer
        nonlocal forecast_s
        t = time.perf_counter()
        try:
            return inner_forecast(*a, **k)
        finally:
            forecast_s += time.perf_counter() - t

    def counted_basis(*a, **k):  # noqa: ANN002, ANN003, ANN202 - a pass-through counter
        computed.append(True)
        return inner_basis(*a, **k)

    pipeline.forecast_frames, pipeline.execution_basis = timed_forecast, counted_basis
    t0 = time.perf_counter()
    raw = open_workbook(workbook)
    t_open = time.perf_counter() - t0
    book = Timed(raw)
    if step == "close":
        report = macros.close_month(book, refresh=False, aside=True)  # as the CLI
    elif step == "close-refresh":
        report = macros.close_month(book, aside=True)
    elif step == "again":
        report = macros.close_month(book, month=closed_month(book), aside=True)
    elif step == "forecast":
        report = macros.refresh_forecast(book)
    elif step == "actuals":
        import pandas as pd

        from sop_excel.workbook.tables import read_frame

        settings = macros.read_settings(book)
        items = read_frame(book, "tblItems")["item"]
        day = pd.Timestamp(settings.as_of)
        rows = pd.DataFrame(
            {"date": day, "item": items.to_numpy(), "orders": 3.0, "shipments": 3.0}
        )
        report = macros.refresh_actuals(book, rows, source="first day of the month")
    else:
        raise SystemExit(f"unknown step {step}")
    total = time.perf_counter() - t0
    out = {
        "step": step,
        "total_s": total,
        "open_s": t_open,
        **{f"{k}_s": v for k, v in book.secs.items()},
        "forecast_s": forecast_s,
        "cells_read": book.cells["read"],
        "cells_written": book.cells["write"],
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
        "children_cpu_s": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2]),
        "basis_computed": bool(computed),
        "changed": getattr(report, "changed", True),
        "fallback": getattr(raw, "fallback_reason", None),
        "report": str(report).splitlines(),
    }
    out["other_s"] = total - t_open - out["read_s"] - out["write_s"] - out["save_s"] - forecast_s
    if trace:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def run(step: str, workbook: Path, *, trace: bool = False, timeout: float = 3600) -> dict:
    cmd = [sys.executable, __file__, "--child", step, str(workbook)] + (
        ["--trace"] if trace else []
    )
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def show(label: str, f: dict) -> str:
    tm = (
        f" tracemalloc peak {f['tracemalloc_peak_mib']:,.0f} MiB;"
        if "tracemalloc_peak_mib" in f
        else ""
    )
    return (
        f"{label:<34} {f['total_s']:7.1f} s  (open {f['open_s']:.1f}, read tables {f['read_s']:.1f}, "
        f"queue writes {f['write_s']:.1f}, save {f['save_s']:.1f}, forecasting {f['forecast_s']:.1f}, "
        f"rest {f['other_s']:.1f}; CPU {f['cpu_s']:.1f} s here + {f['children_cpu_s']:.1f} s in helper "
        f"processes)  ru_maxrss {f['maxrss_mib']:,.0f} MiB (largest helper "
        f"{f['children_maxrss_mib']:,.0f} MiB);{tm} cells read {f['cells_read']:,}, written "
        f"{f['cells_written']:,}" + (f"; FELL BACK: {f['fallback']}" if f.get("fallback") else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "workbook", nargs="?", type=Path, help="an N-item workbook (default: build one)"
    )
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    ap.add_argument(
        "--close-only",
        action="store_true",
        help="step 1 only (close-month --no-refresh): the target's figure, without the minutes "
        "of forecast refreshes that steps 2-4 take",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workbook, args.trace), default=str))
        return
    wb = args.workbook
    if wb is None:
        from scale_data import build_scaled_workbook

        wb = Path(tempfile.gettempdir()) / f"sop_close_{args.items}.xlsx"
        if not wb.exists():
            print(f"building {wb} ({args.items:,} items) ...", flush=True)
            t = time.perf_counter()
            build_scaled_workbook(wb, args.items)
            print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"{wb.name}: {wb.stat().st_size / 1e6:.1f} MB", flush=True)
    with tempfile.TemporaryDirectory(prefix="sop-close-", dir=wb.parent) as d:
        one, two = Path(d) / "one.xlsx", Path(d) / "two.xlsx"
        shutil.copyfile(wb, one)
        shutil.copyfile(wb, two)
        close = run("close", one)
        print(show("1. close-month --no-refresh", close), flush=True)
        for line in close["report"]:
            print(f"     {line}")
        if args.close_only:
            print(
                f"target <= 10 s (close-month without the forecast refresh): "
                f"{'met' if close['total_s'] <= 10 else 'NOT met'} ({close['total_s']:.2f} s)"
            )
            return
        refresh = run("forecast", one)
        print(show("2. refresh-forecast after it", refresh), flush=True)
        full = run("close-refresh", two)
        print(show("3. close-month (with the refresh)", full), flush=True)
        again = run("again", two)
        print(
            show("4. close-month again (no-op)", again)
            + ("" if not again["changed"] else "  CHANGED THE FILE"),
            flush=True,
        )
        daily = run("actuals", two)
        print(
            show("   refresh-actuals, next day 1", daily)
            + (
                "  (computed the execution basis)"
                if daily["basis_computed"]
                else "  (read the kept basis)"
            ),
            flush=True,
        )
        if not args.no_trace:
            shutil.copyfile(wb, one)
            traced = run("close", one, trace=True)
            print(
                f"   close-month --no-refresh under tracemalloc: peak {traced['tracemalloc_peak_mib']:,.0f} MiB "
                f"({traced['total_s']:.1f} s traced)"
            )
    print(
        f"target <= 10 s (close-month without the forecast refresh): "
        f"{'met' if close['total_s'] <= 10 else 'NOT met'} ({close['total_s']:.2f} s); the refresh on its own "
        f"{refresh['total_s']:.1f} s (forecasting {refresh['forecast_s']:.1f} s); close-month with it "
        f"{full['total_s']:.1f} s (forecasting {full['forecast_s']:.1f} s)"
    )


if __name__ == "__main__":
    main()
