"""Twelve monthly cycles of the demo company: each command's seconds and the workbook's size per cycle.

    OMP_NUM_THREADS=1 .venv/bin/python bench/monthly_cycle.py [--cycles 12] [--small] [--method seasonal_naive]

The simulation is ``tests/sop_excel/monthly_cycle.py`` (the 12-cycle test runs it too, on the
small company with a fast method): each cycle a planner's inputs, ``compare-scenarios``,
``lock-plan``, the month's daily actuals in three loads through ``refresh-actuals`` with
owners typed on the exceptions, and ``close-month``; a late correction and a second close at
cycle 3. Default here: the whole demo (64 items, ``sop-excel demo``) with its own forecast
method (``auto``). Prints one line per cycle (seconds per command, size, the tables that
grow), then the first and last three cycles side by side: flat means the last ones take no
longer than the data they hold explains.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

COMMANDS = ("plan inputs", "compare-scenarios", "lock-plan", "refresh-actuals", "close-month")
GROWING = (
    "tblHistory",
    "tblSnapshots",
    "tblMonthAccuracy",
    "tblActuals",
    "tblLog",
    "tblExceptionLog",
    "tblArchive",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=12)
    ap.add_argument("--small", action="store_true", help="the test's company (4 items a family)")
    ap.add_argument(
        "--method", help="Settings > Forecast method for the run (default: the workbook's)"
    )
    args = ap.parse_args()

    import pandas as pd

    from sop_excel.demo import build_demo
    from tests.sop_excel.monthly_cycle import run_cycles, small_demo

    folder = Path(tempfile.mkdtemp(prefix="sop-cycle-"))
    t = time.perf_counter()
    path = small_demo(folder / "plan.xlsx") if args.small else build_demo(folder / "plan.xlsx").path
    print(
        f"{path}: built in {time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e3:,.0f} kB",
        flush=True,
    )

    def line(k: int, sim) -> None:  # noqa: ANN001 - a Simulation
        steps = [s for s in sim.steps if s.cycle == k]
        secs = {c: sum(s.seconds for s in steps if s.command == c) for c in COMMANDS}
        rows = sim.rows[-1]
        print(
            f"cycle {k:2d} {sim.months[-1]:%Y-%m}: "
            + ", ".join(f"{c} {v:.1f}" for c, v in secs.items() if v)
            + f" s; {sim.sizes[-1] / 1e3:,.0f} kB; rows "
            + ", ".join(f"{n[3:]} {rows[n]:,}" for n in GROWING),
            flush=True,
        )

    t = time.perf_counter()
    sim = run_cycles(path, args.cycles, method=args.method, on_cycle=line)
    print(f"{args.cycles} cycles in {time.perf_counter() - t:.0f} s")
    steps = pd.DataFrame([vars(s) for s in sim.steps])
    steps = steps[steps["cycle"] > 0]
    per = steps.groupby(["cycle", "command"])["seconds"].agg(["sum", "count"]).reset_index()
    per["each"] = per["sum"] / per["count"]
    table = per.pivot(index="command", columns="cycle", values="each")
    head, tail = (
        table.iloc[:, 1:4].mean(axis=1),
        table.iloc[:, -3:].mean(axis=1),
    )  # cycle 1 starts mid-month
    print("seconds per run (mean of cycles 2-4 | last 3):")
    for c in COMMANDS:
        if c in table.index:
            print(f"  {c:<18} {head[c]:6.2f} | {tail[c]:6.2f}")
    grow = [b - a for a, b in zip(sim.sizes, sim.sizes[1:], strict=False)]
    print(
        f"size per cycle: +{sum(grow[: len(grow) // 2]) / max(len(grow) // 2, 1) / 1e3:,.1f} kB (first half), "
        f"+{sum(grow[len(grow) // 2 :]) / max(len(grow) - len(grow) // 2, 1) / 1e3:,.1f} kB (second half); "
        f"final {sim.sizes[-1] / 1e3:,.0f} kB"
    )


if __name__ == "__main__":
    main()
