"""Read every table of the N-item planning workbook back: openpyxl (read_only) against calamine.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale_read.py [--workbook PATH] [--items 10000]

Without ``--workbook`` the workbook of ``bench/scale_data.py`` is built first (and kept as
``/tmp/sop-scale-<items>.xlsx`` for the next run). Each reader runs in a fresh process and reads
every Excel Table into rows of values (formula cells give their cached values):

* openpyxl: ``load_workbook(read_only=True, data_only=True)``, table ranges from the file's parts
  (``sop_excel.workbook.fast_read.table_refs``; read-only mode loads no table definitions);
* calamine: ``sop_excel.workbook.fast_read.read_tables`` (python-calamine, Rust).

Prints seconds, peak RSS (``ru_maxrss``) and the Python heap peak (``tracemalloc``; calamine's
own Rust memory is not traced, RSS includes it), the ratio, and checks both read the same cells.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GB = 1024**3


def _digest(tables: dict) -> dict:
    """Per table: rows, non-empty cells and the sum of the numbers (to compare readers)."""
    out = {}
    for name, rows in tables.items():
        n, total = 0, 0.0
        for r in rows[1:]:
            for v in r:
                if v is None or v == "":
                    continue
                n += 1
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                    total += v
        out[name] = [len(rows) - 1, n, round(total, 3)]
    return out


def _child(kind: str, path: str, trace: bool) -> None:
    import tracemalloc

    from sop_excel.workbook.fast_read import read_tables, table_refs

    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "calamine":
        tables = read_tables(path)
    else:
        import openpyxl
        from openpyxl.utils import range_boundaries

        refs = table_refs(path)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        tables = {}
        for name, (sheet, ref) in refs.items():
            c1, r1, c2, r2 = range_boundaries(ref)
            tables[name] = [
                list(r)
                for r in wb[sheet].iter_rows(
                    min_row=r1, max_row=r2, min_col=c1, max_col=c2, values_only=True
                )
            ]
        wb.close()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    print(
        json.dumps(
            {
                "seconds": seconds,
                "tracemalloc_peak": peak,
                "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "cells": sum(len(r) for rows in tables.values() for r in rows),
                "digest": _digest(tables) if not trace else None,
            }
        )
    )


def _run(kind: str, path: Path, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--workbook", str(path)] + (
        ["--trace"] if trace else []
    )
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workbook", type=Path)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs")
    ap.add_argument("--child", choices=["openpyxl", "calamine"], help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, str(args.workbook), args.trace)
        return
    path = args.workbook or Path(f"/tmp/sop-scale-{args.items}.xlsx")
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from scale_data import build_scaled_workbook

        r = build_scaled_workbook(path, args.items)
        print(f"built {path} in {r['total_s']:.0f} s")
    print(f"{path}: {path.stat().st_size / 1e6:.0f} MB")
    res = {}
    for kind in ("openpyxl", "calamine"):
        res[kind] = _run(kind, path, trace=False)
        if not args.no_trace:
            res[kind]["traced"] = _run(kind, path, trace=True)
        r = res[kind]
        mem = (
            f", tracemalloc peak {r['traced']['tracemalloc_peak'] / GB:.2f} GB"
            if "traced" in r
            else ""
        )
        print(
            f"{kind:8s}: {r['seconds']:6.1f} s for {r['cells']:,} cells, peak RSS {r['maxrss'] / GB:.2f} GB{mem}"
        )
    same = res["openpyxl"]["digest"] == res["calamine"]["digest"]
    if not same:
        diff = [
            n
            for n in res["openpyxl"]["digest"]
            if res["openpyxl"]["digest"][n] != res["calamine"]["digest"].get(n)
        ]
        print(f"readers DIFFER on {diff[:5]}")
    print(
        f"ratio openpyxl / calamine: {res['openpyxl']['seconds'] / res['calamine']['seconds']:.1f}x; "
        f"same rows, non-empty cells and sums per table: {'yes' if same else 'NO'}"
    )


if __name__ == "__main__":
    main()
