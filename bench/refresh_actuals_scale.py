"""End-to-end ``refresh-actuals`` from SQLite into an N-item workbook, zip side against openpyxl;
with ``--command forecast``, ``refresh-forecast`` (every item re-forecast) at the same size.

    OMP_NUM_THREADS=1 .venv/bin/python bench/refresh_actuals_scale.py WORKBOOK [--baseline]
    OMP_NUM_THREADS=1 .venv/bin/python bench/refresh_actuals_scale.py --items 1000 [--baseline]
    OMP_NUM_THREADS=1 .venv/bin/python bench/refresh_actuals_scale.py --command forecast [--no-trace]

refresh-forecast uses the workbook's Settings (the scaled workbook's default method, ``auto``)
on the engine's process pool over the machine's cores; its time is mostly forecasting
(``forecast_s``), the rest is reading, the S&OP recomputation and the save.

What is timed is what ``sop-excel refresh-actuals WB --source actuals.db`` does, in process:
``macros.refresh_actuals_from_source(open_workbook(copy), "actuals.db", aside=True)`` (open,
read Settings, Items, Actuals and the execution basis while a second process reads 31 days x N
items from SQLite, merge, drift, rewrite the execution tables, save atomically). The SQLite
file holds the workbook's own month of actuals with every order +1 (so every row is a
correction and the Actuals table is rewritten in full).

Runs one after the other on one copy (``--runs``, default 3). A workbook built by
``scale_data.build_scaled_workbook`` has its execution basis kept (as the demo, refresh-forecast
and lock-plan keep it), so every run reads it; a workbook whose Basis sheet is empty or stale
(an S&OP sheet edited and saved in Excel) makes the first run compute it from Forecast, Inputs,
Plan of record, Snapshots and History and keep it. Each run says which it did.

Each side runs in a fresh process on a fresh copy, twice: once timed (ru_maxrss: the process's
peak resident memory), once under tracemalloc (peak of Python allocations; tracing slows it, so
that run's time is not used). The time is split into workbook reading, writing (queueing the
tables), saving (the file itself), and the rest (SQLite, pipeline, frames <-> rows).
Target (issue 5): <= 5 s at 10,000 items.

With ``--supply`` (issue 21) the refresh also loads production and receipts (the workbook's own
Production table, every figure made +1, so every row is a correction: about 230,000 rows at
10,000 items, a row per item and working day, and the receipts)
from table ``production`` of the same SQLite file, and plans the supply side (the events the
scaled workbook carries); the figure to set against it is a run without ``--supply`` on a
workbook built without supply data (``--no-supply-data``), where nothing of the supply side runs.

The above is the worst case. ``--daily`` times the daily case instead: the workbook as it was
the day before its last day of actuals (that day's rows taken off the Actuals and Production
tables of a copy), and a SQLite source holding the month as the workbook has it, so the refresh
brings the month to date with every row unchanged but the new day's (10,000 rows of orders at
10,000 items); each run on a fresh copy of that workbook. Its figures are labelled "daily case".
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


def _cells(rows: object) -> int:
    """How many cells a reader gave: by column where it gave columns (``ColumnRows``; making
    every row just to count them took more time than reading them)."""
    columns = getattr(rows, "columns", None)
    if isinstance(columns, list):
        return len(rows[0]) + sum(map(len, columns))  # type: ignore[index]
    return sum(len(r) for r in rows)  # type: ignore[attr-defined]


class Timed:
    """A WorkbookIO that adds up the seconds spent in each of its methods."""

    def __init__(self, book: object) -> None:
        self.book = book
        self.secs = {"read": 0.0, "write": 0.0, "save": 0.0}
        self.cells = {"read": 0, "write": 0}

    @property
    def name(self) -> str:
        return self.book.name  # type: ignore[attr-defined]

    def table_names(self) -> list[str]:
        return self.book.table_names()  # type: ignore[attr-defined]

    def read_table(self, name: str) -> list:
        return self._timed_read(self.book.read_table, name)  # type: ignore[attr-defined]

    def __getattr__(self, attr: str) -> object:
        if attr == "read_values" and hasattr(
            self.book, "read_values"
        ):  # the side's value-only reader
            return lambda name: self._timed_read(self.book.read_values, name)  # type: ignore[attr-defined]
        if attr in ("content_stamp", "frame_reader", "writes_sheets_in_bulk") and hasattr(
            self.book, attr
        ):
            return getattr(self.book, attr)  # what else the side offers, untimed
        raise AttributeError(attr)

    def _timed_read(self, read: object, name: str) -> list:
        t = time.perf_counter()
        rows = read(name)  # type: ignore[operator]
        self.secs["read"] += time.perf_counter() - t
        self.cells["read"] += _cells(rows)
        return rows

    def write_table(self, name: str, rows: list) -> None:
        t = time.perf_counter()
        self.book.write_table(name, rows)  # type: ignore[attr-defined]
        self.secs["write"] += time.perf_counter() - t
        self.cells["write"] += len(rows) * len(
            rows[0]
        )  # rectangular; a FrameRows is not made into rows here

    def save(self) -> None:
        t = time.perf_counter()
        self.book.save()  # type: ignore[attr-defined]
        self.secs["save"] += time.perf_counter() - t


def make_source(workbook: Path, db: Path, supply: bool = False, correct: bool = True) -> int:
    """A SQLite file with the workbook's month of actuals, every order corrected by +1; with
    ``supply``, also its Production table as table ``production``, every production +1.
    ``correct=False`` (the daily case): the figures as the workbook holds them."""
    import sqlite3

    from sop_excel.sources import write_actuals_sqlite
    from sop_excel.workbook.tables import read_frame
    from sop_excel.workbook.zip_io import ZipIO

    book = ZipIO(workbook)
    actuals = read_frame(book, "tblActuals")
    actuals = actuals.assign(orders=actuals["orders"] + int(correct))
    if db.exists():
        db.unlink()
    n = write_actuals_sqlite(db, actuals)
    if supply:
        prod = read_frame(book, "tblProduction")
        month = actuals["date"].max()
        prod = prod.assign(
            produced=prod["produced"]
            + int(correct) * ((prod["date"] <= month) & (prod["produced"] > 0)),
            date=prod["date"].dt.strftime("%Y-%m-%d"),
        )
        with sqlite3.connect(db) as conn:
            prod.to_sql("production", conn, index=False)
        conn.close()
        n += len(prod)
    return n


def day_before(workbook: Path, out: Path) -> str:
    """The daily case's workbook: a copy of ``workbook`` as it was the day before its last day
    of actuals (that day's rows taken off the Actuals and Production tables), so that a source
    holding the workbook's month brings the month to date unchanged plus one new day."""
    from sop_excel.workbook.tables import read_frame, write_frame
    from sop_excel.workbook.zip_io import ZipIO

    shutil.copyfile(workbook, out)
    book = ZipIO(out)
    actuals = read_frame(book, "tblActuals")
    last = actuals["date"].max()
    write_frame(book, "tblActuals", actuals[actuals["date"] < last].reset_index(drop=True))
    prod = read_frame(book, "tblProduction")
    write_frame(book, "tblProduction", prod[prod["date"] != last].reset_index(drop=True))
    book.save()
    return f"{last:%Y-%m-%d}"


def child(
    side: str, workbook: Path, db: Path, trace: bool, command: str = "actuals", supply: bool = False
) -> dict:
    """One refresh in this process (a fresh one): the figures as a dict."""
    os.environ["SOP_EXCEL_IO"] = side
    from sop_excel import macros
    from sop_excel.workbook.zip_io import open_workbook

    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    raw = open_workbook(workbook)
    t_open = time.perf_counter() - t0
    book = Timed(raw)
    fsecs = 0.0
    computed = []  # whether this refresh computed the execution basis from the S&OP sheets
    from sop_excel import pipeline as _pipeline

    inner_basis = _pipeline.execution_basis

    def counted_basis(*a, **k):  # noqa: ANN002, ANN003, ANN202 - a pass-through counter
        computed.append(True)
        return inner_basis(*a, **k)

    _pipeline.execution_basis = counted_basis
    if command == "forecast":
        from sop_excel import pipeline

        inner = pipeline.forecast_frames

        def timed_forecast(*a, **k):  # noqa: ANN002, ANN003, ANN202 - a pass-through timer
            nonlocal fsecs
            t = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                fsecs += time.perf_counter() - t

        pipeline.forecast_frames = timed_forecast
        report = macros.refresh_forecast(book)
    else:
        report = macros.refresh_actuals_from_source(
            book,
            str(db),
            aside=True,  # as the CLI
            supply=str(db) if supply else None,
        )
    total = time.perf_counter() - t0
    out = {
        "side": side,
        "total_s": total,
        "open_s": t_open,
        **{f"{k}_s": v for k, v in book.secs.items()},
        "cells_read": book.cells["read"],
        "cells_written": book.cells["write"],
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # CPU seconds, this process and its helpers: on a shared machine a steadier figure than the time
        "cpu_s": sum(
            getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime")
        ),
        "children_cpu_s": sum(
            getattr(resource.getrusage(resource.RUSAGE_CHILDREN), f)
            for f in ("ru_utime", "ru_stime")
        ),
        # the largest of its helper processes (the source and Actuals readers, the sheet writer)
        "children_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "fallback": getattr(raw, "fallback_reason", None),
        "report": str(report).splitlines()[:2],
    }
    out["forecast_s"] = fsecs
    out["basis_computed"] = bool(computed)
    out["other_s"] = total - t_open - out["read_s"] - out["write_s"] - out["save_s"] - fsecs
    if trace:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return out


def run_side(
    side: str,
    workbook: Path,
    db: Path,
    *,
    trace: bool = True,
    timeout: float = 3600,
    command: str = "actuals",
    runs: int = 1,
    supply: bool = False,
    fresh: bool = False,
) -> list[dict]:
    """Time ``side`` in fresh processes on a fresh copy, ``runs`` times one after the other on
    that copy (the first refresh after an S&OP change computes the execution basis and keeps it;
    the next ones read it); ``fresh``: each run on a fresh copy (the daily case, whose new day
    is new only once); add the traced peak of the first if asked."""
    out: list[dict] = []
    for traced in [False, True] if trace else [False]:
        with tempfile.TemporaryDirectory(prefix="sop-bench-", dir=workbook.parent) as d:
            copy = Path(d) / workbook.name
            shutil.copyfile(workbook, copy)
            for k in range(1 if traced else runs):
                if fresh and k:
                    shutil.copyfile(workbook, copy)
                cmd = [
                    sys.executable,
                    __file__,
                    "--child",
                    side,
                    str(copy),
                    "--db",
                    str(db),
                    "--command",
                    command,
                    *(["--supply"] if supply else []),
                ]
                if traced:
                    cmd.append("--trace")
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=timeout, check=False
                )
                if proc.returncode != 0:
                    raise RuntimeError(f"{side} run failed:\n{proc.stderr[-3000:]}")
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                if traced:
                    out[0]["tracemalloc_peak_mib"] = got["tracemalloc_peak_mib"]
                    out[0]["traced_total_s"] = got["total_s"]
                else:
                    out.append({**got, "run": k + 1})
    return out


def show(f: dict) -> str:
    tm = f"{f['tracemalloc_peak_mib']:,.0f} MiB" if "tracemalloc_peak_mib" in f else "not traced"
    return (
        f"{f['side']:>8}: {f['total_s']:7.1f} s, CPU {f.get('cpu_s', 0):.1f} s here + "
        f"{f.get('children_cpu_s', 0):.1f} s in helpers  (open {f['open_s']:.1f}, read tables {f['read_s']:.1f}, "
        f"queue writes {f['write_s']:.1f}, save {f['save_s']:.1f}, forecasting {f['forecast_s']:.1f}, "
        f"SQLite+pipeline+frames {f['other_s']:.1f})  "
        f"ru_maxrss {f['maxrss_mib']:,.0f} MiB (largest helper process {f.get('children_maxrss_mib', 0):,.0f} MiB), "
        f"tracemalloc peak {tm}; "
        f"cells read {f['cells_read']:,}, written {f['cells_written']:,}"
        + (f"; FELL BACK: {f['fallback']}" if f.get("fallback") else "")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "workbook", nargs="?", type=Path, help="an N-item workbook (default: build one)"
    )
    ap.add_argument("--items", type=int, default=10_000, help="items when building the workbook")
    ap.add_argument(
        "--db", type=Path, help="the SQLite actuals (default: made beside the workbook)"
    )
    ap.add_argument(
        "--baseline", action="store_true", help="also time the openpyxl side on the same file"
    )
    ap.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument(
        "--command",
        choices=("actuals", "forecast"),
        default="actuals",
        help="what to time: refresh-actuals (default) or refresh-forecast",
    )
    ap.add_argument(
        "--runs",
        type=int,
        default=3,
        help="refresh-actuals runs one after the other on one copy (default 3: the first "
        "keeps the execution basis, the others read it)",
    )
    ap.add_argument(
        "--supply",
        action="store_true",
        help="also load production and receipts (the workbook's Production table, every figure "
        "corrected by +1) from table 'production' of the same SQLite file",
    )
    ap.add_argument(
        "--no-supply-data",
        action="store_true",
        help="when building the workbook: without production, receipts and events",
    )
    ap.add_argument(
        "--daily",
        action="store_true",
        help="the daily case instead of the worst case: the workbook as it was the day before its "
        "last day of actuals, the source its month unchanged (every row as the sheet holds it but "
        "the new day's); each run on a fresh copy",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(
                child(args.child, args.workbook, args.db, args.trace, args.command, args.supply),
                default=str,
            )
        )
        return
    wb = args.workbook
    if wb is None:
        from scale_data import build_scaled_workbook

        wb = (
            Path(tempfile.gettempdir())
            / f"sop_scale_{args.items}{'_nosupply' if args.no_supply_data else ''}.xlsx"
        )
        if not wb.exists():
            print(f"building {wb} ({args.items:,} items) ...", flush=True)
            build_scaled_workbook(wb, args.items, supply=not args.no_supply_data)
    db = args.db or wb.with_suffix(".daily.db" if args.daily else ".actuals.db")
    t = time.perf_counter()
    n = make_source(wb, db, args.supply, correct=not args.daily)
    print(
        f"{wb.name}: {wb.stat().st_size / 1e6:.1f} MB; SQLite source {db.name}: {n:,} rows "
        f"(made in {time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    scratch = None
    if args.daily:  # the workbook of the day before, beside the one given (which is not changed)
        scratch = tempfile.TemporaryDirectory(prefix="sop-bench-daily-", dir=wb.parent)
        t = time.perf_counter()
        new_day = day_before(wb, Path(scratch.name) / wb.name)
        wb = Path(scratch.name) / wb.name
        print(
            f"DAILY CASE: the workbook without {new_day}; the source brings the month to date "
            f"unchanged plus {new_day} (made in {time.perf_counter() - t:.1f} s)",
            flush=True,
        )
    else:
        print(
            "WORST CASE: every row of the source is a correction (Actuals"
            + (" and Production" if args.supply else "")
            + " rewritten in full)",
            flush=True,
        )
    runs = args.runs if args.command == "actuals" else 1
    fasts = run_side(
        "zip",
        wb,
        db,
        trace=not args.no_trace,
        command=args.command,
        runs=runs,
        supply=args.supply,
        fresh=args.daily,
    )
    for f in fasts:
        how = (
            "computed the execution basis from the S&OP sheets and kept it"
            if f.get("basis_computed")
            else "read the kept execution basis"
        )
        print(
            f"run {f['run']} ({how}):" if args.command == "actuals" else f"run {f['run']}:",
            flush=True,
        )
        print(show(f), flush=True)
    fast = fasts[-1]
    if args.baseline:
        slow = run_side(
            "openpyxl", wb, db, trace=not args.no_trace, command=args.command, supply=args.supply
        )[0]
        print(show(slow))
        cold = fasts[
            0
        ]  # the openpyxl side cannot keep the basis: it computes everything, as the first run
        print(
            f"openpyxl / zip (first run): {slow['total_s'] / cold['total_s']:.1f}x the time, "
            f"{slow['maxrss_mib'] / cold['maxrss_mib']:.1f}x the peak resident memory; "
            f"workbook I/O alone {(slow['total_s'] - slow['other_s']) / (cold['total_s'] - cold['other_s']):.1f}x"
        )
    if scratch is not None:
        scratch.cleanup()
    if args.command == "actuals":
        worst = max(f["total_s"] for f in fasts)
        print(
            f"{'daily case' if args.daily else 'worst case'}"
            f"{', with supply' if args.supply else ''}: "
            f"target <= 5 s: {'met' if worst <= 5 else 'NOT met'} (slowest of {len(fasts)} runs {worst:.2f} s; "
            + ", ".join(f"{f['total_s']:.2f}" for f in fasts)
            + ")"
        )
    else:
        n_items = args.items if args.workbook is None else None
        print(
            f"refresh-forecast: {fast['total_s']:.1f} s, of which forecasting {fast['forecast_s']:.1f} s"
            + (
                f" ({fast['forecast_s'] / n_items * 1000:.1f} ms per item over the pool)"
                if n_items
                else ""
            )
        )


if __name__ == "__main__":
    main()
