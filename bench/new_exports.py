"""`sop-excel new` from a company's exports at scale: 2,000 items x 48 months of order lines.

Writes (once, cached in ``--folder``) a seeded company as an ERP exports it: the item master
(CSV), about two million transactional order lines (CSV: one line per order, a day's date;
semicolon separated with decimal commas if ``--european``), a budget per family and month and a
capacity per resource and month; then times the real command on it, in a process of its own
pinned to one core (``taskset -c 0``, ``OMP_NUM_THREADS=1``, ``SOP_EXCEL_SERIAL=1``), and
prints the seconds and the peak memory of its process tree (sampled every 0.1 s). Target
(issue 15): at most 60 s and 2 GB.

    OMP_NUM_THREADS=1 .venv/bin/python bench/new_exports.py --items 2000 --months 48
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

AS_OF = dt.date(2026, 11, 18)
FAMILIES = [
    "Pumps",
    "Valves",
    "Seals",
    "Motors",
    "Filters",
    "Meters",
    "Hoses",
    "Fittings",
    "Sensors",
    "Drives",
]


def write_exports(
    folder: Path,
    n_items: int,
    months: int,
    lines_per_item_month: float,
    seed: int = 3,
    european: bool = False,
) -> dict[str, Path]:
    """The exports, written once per size into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{n_items}x{months}x{lines_per_item_month:g}{'eu' if european else ''}"
    paths = {k: folder / f"{k}_{tag}.csv" for k in ("items", "history", "budget", "capacity")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    codes = np.array([f"MAT-{100000 + k}" for k in range(n_items)], dtype=object)
    fam = np.array(FAMILIES, dtype=object)[rng.integers(0, len(FAMILIES), n_items)]
    resource = np.array([f"WC-{f[:3].upper()}" for f in fam], dtype=object)
    price = np.round(np.exp(rng.normal(4.0, 0.9, n_items)), 2)
    items = pd.DataFrame(
        {
            "Material": codes,
            "Material description": [f"{f} part {k}" for k, f in enumerate(fam)],
            "Material group": fam,
            "Plant": "Main",
            "Work center": resource,
            "List price": price,
            "Standard cost": np.round(price * rng.uniform(0.45, 0.75, n_items), 2),
            "Hours": np.round(rng.uniform(0.05, 1.0, n_items), 2),
            "Lead time": rng.integers(5, 60, n_items),
            "Stock": rng.integers(0, 500, n_items),
        }
    )
    month0 = pd.Timestamp(AS_OF).replace(day=1)
    first = month0 - pd.DateOffset(months=months)
    days = pd.date_range(first, month0 - pd.Timedelta(days=1), freq="D")
    days = days[days.dayofweek < 5]
    n_lines = int(n_items * months * lines_per_item_month)
    item_of = rng.integers(0, n_items, n_lines)
    qty = np.maximum(1, rng.poisson(np.exp(rng.normal(1.5, 0.8, n_items))[item_of]))
    lines = pd.DataFrame(
        {
            "Posting date": days.strftime("%Y-%m-%d").to_numpy()[
                rng.integers(0, len(days), n_lines)
            ],
            "Material": codes[item_of],
            "Quantity": qty,
        }
    )
    sep, decimal = (";", ",") if european else (",", ".")
    if european:
        lines["Posting date"] = pd.to_datetime(lines["Posting date"]).dt.strftime("%d.%m.%Y")
        lines["Quantity"] = (
            lines["Quantity"].astype(float).map(lambda q: f"{q:.1f}".replace(".", ","))
        )
    items.to_csv(paths["items"], index=False, sep=sep, decimal=decimal)
    lines.to_csv(paths["history"], index=False, sep=sep)
    b_months = pd.date_range(f"{AS_OF.year}-01-01", periods=24, freq="MS")
    rev = pd.Series(qty * price[item_of]).groupby(fam[item_of]).sum() / months
    budget = pd.DataFrame(
        [(f, m.strftime("%Y-%m"), round(rev[f] * 1.05)) for f in rev.index for m in b_months],
        columns=["Material group", "Period", "Revenue"],
    )
    budget.to_csv(paths["budget"], index=False, sep=sep, decimal=decimal)
    load = (
        pd.Series(qty * items["Hours"].to_numpy()[item_of]).groupby(resource[item_of]).sum()
        / months
    )
    cap = pd.DataFrame(
        [
            (r, m.strftime("%Y-%m"), round(load[r] * 1.1))
            for r in load.index
            for m in pd.date_range(month0, periods=24, freq="MS")
        ],
        columns=["Work center", "Month", "Hours"],
    )
    cap.to_csv(paths["capacity"], index=False, sep=sep, decimal=decimal)
    return paths


def run(
    paths: dict[str, Path], out: Path, method: str, one_core: bool
) -> tuple[float, float, int, int, str]:
    """(seconds, CPU seconds, peak RSS of the process tree, exit code, its output). On a busy
    machine the CPU seconds (user + system of the process and its children) are what the wall
    time would be on a quiet one core."""
    import resource

    import psutil

    mapping = out.with_suffix(".toml")
    mapping.write_text(f'[settings]\nForecastMethod = "{method}"\n', encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "sop_excel",
        "-q",
        "new",
        str(out),
        "--force",
        "--as-of",
        f"{AS_OF}",
        "--items",
        str(paths["items"]),
        "--history",
        str(paths["history"]),
        "--budget",
        str(paths["budget"]),
        "--capacity",
        str(paths["capacity"]),
        "--mapping",
        str(mapping),
    ]
    if one_core and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "SOP_EXCEL_SERIAL": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = root.memory_info().rss + sum(
                c.memory_info().rss for c in root.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = proc.stdout.read() if proc.stdout else ""
    return seconds, cpu, peak, proc.returncode, output


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--months", type=int, default=48)
    ap.add_argument(
        "--lines", type=float, default=21.0, help="order lines per item and month (default 21)"
    )
    ap.add_argument(
        "--method",
        default="auto",
        help="Settings > Forecast method of the new workbook (default auto)",
    )
    ap.add_argument("--folder", type=Path, default=Path("/tmp/sop_new_bench"))
    ap.add_argument(
        "--european", action="store_true", help="semicolons, decimal commas, DD.MM.YYYY dates"
    )
    ap.add_argument("--cores", choices=("one", "all"), default="one")
    args = ap.parse_args()
    t = time.perf_counter()
    paths = write_exports(args.folder, args.items, args.months, args.lines, european=args.european)
    n_lines = sum(1 for _ in paths["history"].open("rb")) - 1
    print(
        f"exports: {n_lines:,} order lines of {args.items:,} items over {args.months} months "
        f"({paths['history'].stat().st_size / 1e6:.0f} MB; made or found in {time.perf_counter() - t:.1f} s)"
    )
    out = args.folder / "plan.xlsx"
    seconds, cpu, peak, code, output = run(paths, out, args.method, args.cores == "one")
    if code != 0:
        print(output)
        raise SystemExit(f"sop-excel new failed (exit {code})")
    for line in output.splitlines():
        if (
            line.strip().startswith(("History:", "transactional", "long", "Forecast"))
            or "months per item" in line
        ):
            print("  " + line.strip())
    print(
        f"sop-excel new: {seconds:.1f} s wall ({cpu:.1f} CPU s), peak RSS {peak / 2**30:.2f} GB (process tree), "
        f"{'one core' if args.cores == 'one' else 'all cores'}; workbook {out.stat().st_size / 1e6:.1f} MB"
    )
    mem = peak <= 2 * 2**30
    print(
        f"target <= 60 s and <= 2 GB: wall time {'met' if seconds <= 60 and mem else 'NOT met'}; CPU time "
        f"(what a quiet core takes) {'met' if cpu <= 60 and mem else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
