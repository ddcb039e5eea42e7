"""The S&OP meeting pack (``sop-excel report``) of the demo and of an N-item workbook: seconds
and peak memory, on one core.

    OMP_NUM_THREADS=1 .venv/bin/python bench/report_pack.py                 # demo and 1,000 items
    OMP_NUM_THREADS=1 .venv/bin/python bench/report_pack.py --items 1000 5000 --formats pdf html png
    OMP_NUM_THREADS=1 .venv/bin/python bench/report_pack.py --demo path/to/sop_demo.xlsx --items

What is timed is the command a planner runs, ``sop-excel -q report WORKBOOK --out pack.<fmt>``,
in a fresh process pinned to one core (``os.sched_setaffinity``, Linux): Python starting,
imports (pandas, scipy, matplotlib), opening and checking the workbook, reading its tables, laying
the pack out and drawing it. Each run is repeated (``--runs``, default 3) and the fastest is
kept (the machine's other load only adds). Wall seconds, CPU seconds (user + system) and the
process's peak resident memory (ru_maxrss) are printed per run.

Workbooks: the demo is built with ``sop-excel demo`` and the N-item ones with
``scale_data.build_scaled_workbook`` (seasonal-naive forecasts, 3 scenarios, 4 locks), in a
temporary folder unless given. Targets (issue 19): <= 10 s for the demo, <= 30 s at 1,000 items.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

TARGETS = {"demo": 10.0, 1000: 30.0}


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def run_pack(book: Path, out: Path) -> dict:
    """One ``sop-excel report`` in a child process: wall and CPU seconds, peak memory (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sop_excel", "-q", "report", str(book), "--out", str(out)],
        capture_output=True,
        text=True,
        preexec_fn=_one_core,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=900,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"sop-excel report failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "peak_mb": after.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, help="the demo workbook (default: built here)")
    ap.add_argument(
        "--items",
        type=int,
        nargs="*",
        default=[1000],
        help="N-item workbooks to build (default 1000)",
    )
    ap.add_argument("--formats", nargs="+", default=["pdf"], choices=["pdf", "html", "png"])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--keep", type=Path, help="folder for the workbooks and packs (default: a temporary one)"
    )
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sop-pack-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    books: list[tuple[object, Path]] = []
    demo = args.demo
    if demo is None:
        demo = folder / "sop_demo.xlsx"
        if not demo.exists():
            print("building the demo workbook ...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "sop_excel", "-q", "demo", "--out", str(demo)], check=True
            )
    books.append(("demo", demo))
    for n in args.items:
        path = folder / f"scale_{n}.xlsx"
        if not path.exists():
            from scale_data import build_scaled_workbook

            print(f"building the {n:,}-item workbook ...", flush=True)
            build_scaled_workbook(path, n)
        books.append((n, path))
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: measure each case's memory in a
    # child of its own (this script re-run on one case), times here
    print(
        f"sop-excel report, one core, best of {args.runs} (cpu = user + system; peak = resident memory)"
    )
    for key, path in books:
        label = "demo" if key == "demo" else f"{key:,} items"
        size = path.stat().st_size / 1e6
        for fmt in args.formats:
            runs = [_measured(path, folder / f"pack_{key}.{fmt}") for _ in range(args.runs)]
            best = min(runs, key=lambda r: r["wall"])
            target = TARGETS.get(key)
            verdict = (
                ""
                if target is None
                else f"  target <= {target:.0f} s: "
                + (
                    "met"
                    if best["wall"] <= target
                    else "wall over, CPU within (other load on this core)"
                    if best["cpu"] <= target
                    else "NOT met"
                )
            )
            print(
                f"{label:>12} ({size:.1f} MB) {fmt:4}: {best['wall']:5.1f} s wall, {best['cpu']:5.1f} s cpu, "
                f"peak {max(r['peak_mb'] for r in runs):5.0f} MB; runs: "
                + ", ".join(f"{r['wall']:.1f}" for r in runs)
                + verdict,
                flush=True,
            )


def _measured(book: Path, out: Path) -> dict:
    """:func:`run_pack` in a process of its own, so its ru_maxrss is this run's alone."""
    code = (
        f"import json, sys; sys.path[:0] = [{str(ROOT)!r}, {str(HERE)!r}]; import report_pack; "
        f"print(json.dumps(report_pack.run_pack(__import__('pathlib').Path({str(book)!r}), "
        f"__import__('pathlib').Path({str(out)!r}))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=1000
    )
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
