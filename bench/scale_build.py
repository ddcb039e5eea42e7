"""Build the planning workbook for N items (default 10,000) against a bare pandas ``to_excel``.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale_build.py [--items 10000] [--scenarios 3] [--no-trace]

Steps (issue 8, point 1):

1. plan: the synthetic company (``bench/scale_data.py``), forecast (seasonal naive), consensus,
   scenarios, finance, supply, locks, execution, and every table as rows. Timed; the rows are
   pickled for the writers so both start from the same cells in memory.
2. ours: ``sop_excel.workbook.build.build_workbook`` (XlsxWriter: formats, Excel Tables, data
   validation, conditional formats, charts, formulas with cached values), in a fresh process.
3. baseline: the same cells (each formula as its cached value) as one ``DataFrame.to_excel``
   per sheet into one ``pd.ExcelWriter`` with the default engine, in a fresh process.

Each writer runs twice in its own process: once timed (no tracing), once under ``tracemalloc``
for the Python heap peak (tracing makes it slower, so its time is not used). ``ru_maxrss`` is the
process's peak resident memory including the rows it loaded. Targets: ours / baseline <= 1.2,
peak <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GB = 1024**3


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def _sheet_frames(tables: dict) -> dict:
    """Per sheet, one frame of the sheet's tables side by side (formulas as their values)."""
    import pandas as pd

    from sop_excel.workbook.io import Formula
    from sop_excel.workbook.layout import load_layout

    out = {}
    for sheet in load_layout().sheets:
        parts = []
        for t in sheet.tables:
            rows = tables[t.name]
            body = [[v.value if isinstance(v, Formula) else v for v in r] for r in rows[1:]]
            frame = pd.DataFrame(body, columns=[f"{h}" for h in rows[0]])
            parts.append(frame)
        frame = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
        frame.columns = [
            f"{c}" if list(frame.columns).count(c) == 1 else f"{c} ({i})"
            for i, c in enumerate(frame.columns)
        ]
        out[sheet.name] = frame
    return out


def _child(kind: str, rows_path: str, out: str, trace: bool) -> None:
    """Run one writer on the pickled rows; print a JSON line with its figures."""
    import gc
    import tracemalloc

    with open(rows_path, "rb") as fh:
        tables = pickle.load(fh)
    if kind == "baseline":
        import pandas as pd

        frames = _sheet_frames(tables)
        del tables
    else:
        from sop_excel.choices import named_choices
        from sop_excel.workbook.build import build_workbook
        from sop_excel.workbook.formulas import table_formulas
        from sop_excel.workbook.layout import load_layout

        formulas = {t.name: table_formulas(t.name) for t in load_layout().tables}
    gc.collect()
    rss_in = _maxrss_bytes()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "baseline":
        with pd.ExcelWriter(out) as writer:
            for name, frame in frames.items():
                frame.to_excel(writer, sheet_name=name, startrow=2, index=False)
            engine = writer.engine
    else:
        build_workbook(out, tables, formulas=formulas, choices=named_choices())
        engine = "xlsxwriter (sop_excel.workbook.build)"
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    print(
        json.dumps(
            {
                "kind": kind,
                "seconds": seconds,
                "tracemalloc_peak": peak,
                "rss_input": rss_in,
                "maxrss": _maxrss_bytes(),
                "engine": engine,
                "bytes": os.path.getsize(out),
            }
        )
    )


def _run_child(kind: str, rows_path: Path, out: Path, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--rows", str(rows_path), "--out", str(out)]
    if trace:
        cmd.append("--trace")
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{kind} writer failed:\n{res.stderr[-3000:]}")
    out.unlink(missing_ok=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--no-trace", action="store_true", help="skip the tracemalloc runs (half the time)"
    )
    ap.add_argument("--keep", type=Path, help="also build our workbook here and keep it")
    ap.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--rows", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.rows, args.out, args.trace)
        return

    sys.path.insert(0, str(HERE))
    from scale_data import make_company, plan_tables

    from sop_excel.workbook.io import Formula

    t0 = time.perf_counter()
    company = make_company(args.items, args.seed)
    t1 = time.perf_counter()
    tables = plan_tables(company, scenarios=args.scenarios)
    t2 = time.perf_counter()
    cells = sum(len(r) for rows in tables.values() for r in rows)
    n_formulas = sum(isinstance(v, Formula) for rows in tables.values() for r in rows for v in r)
    print(
        f"{args.items:,} items, {args.scenarios} scenarios: {cells:,} table cells, {n_formulas:,} formulas"
    )
    big = sorted(((len(r) - 1, n) for n, r in tables.items()), reverse=True)[:5]
    print("largest tables: " + ", ".join(f"{n} {k:,}" for k, n in big))
    print(
        f"plan: synthetic company {t1 - t0:.1f} s, forecast + pipeline + rows {t2 - t1:.1f} s, "
        f"peak RSS {_maxrss_bytes() / GB:.2f} GB",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="sop-scale-") as tmp:
        rows_path = Path(tmp) / "rows.pkl"
        with open(rows_path, "wb") as fh:
            pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
        del tables, company
        res = {}
        for kind in ("ours", "baseline"):
            res[kind] = _run_child(kind, rows_path, Path(tmp) / f"{kind}.xlsx", trace=False)
            r = res[kind]
            print(f"  {kind}: {r['seconds']:.1f} s, peak RSS {r['maxrss'] / GB:.2f} GB", flush=True)
        for kind in ("ours", "baseline") if not args.no_trace else ():
            res[kind]["traced"] = _run_child(
                kind, rows_path, Path(tmp) / f"{kind}-t.xlsx", trace=True
            )
            print(
                f"  {kind} traced: tracemalloc peak {res[kind]['traced']['tracemalloc_peak'] / GB:.2f} GB",
                flush=True,
            )
        if args.keep:
            _run_child("ours", rows_path, args.keep.resolve(), trace=False)
    for kind, label in (("ours", "ours    "), ("baseline", "baseline")):
        r = res[kind]
        mem = (
            f", tracemalloc peak {r['traced']['tracemalloc_peak'] / GB:.2f} GB"
            if "traced" in r
            else ""
        )
        print(
            f"{label}: {r['seconds']:6.1f} s, file {r['bytes'] / 1e6:.0f} MB, peak RSS {r['maxrss'] / GB:.2f} GB "
            f"(rows loaded: {r['rss_input'] / GB:.2f} GB){mem}  [{r['engine']}]"
        )
    ratio = res["ours"]["seconds"] / res["baseline"]["seconds"]
    peak = res["ours"]["maxrss"]
    print(
        f"ratio ours / baseline: {ratio:.2f} (target <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'}); "
        f"peak RSS {peak / GB:.2f} GB (target <= 2 GB: {'met' if peak <= 2 * GB else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
