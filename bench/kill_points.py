"""Kill refresh-actuals and refresh-forecast (SIGKILL) at many points on copies of the demo
workbook and count what each kill left: the old file, or a complete new workbook (issue 18).

    OMP_NUM_THREADS=1 .venv/bin/python bench/kill_points.py [--points 30] [--workbook PATH]

For each command: one run to the end gives its duration T; then ``--points`` runs, each on a
fresh copy, are killed, two thirds at evenly spread moments between 5% and 100% of T and one
third at moments after the save began (its ``.<name>.sop-excel-unfinished-save-*.tmp`` appeared,
0 to 200 ms). Every kill is judged by ``tests/sop_excel/killing.py``: byte-identical old file, or
a complete new workbook (every part readable, every table read and checked, the command last
in the Log, the old file as the newest backup); anything else stops the bench with an error.
After each kill the next command (flag-drift) must run and leave no unfinished save behind.

Prints per command: kills, how many left the old file, how many a new one, how many ended before
their kill, temporary files left by kills (removed by the next command), helper processes
still alive 5 s after a kill, and the duration.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sop_excel.killing import next_command_cleans_up, run_killed  # noqa: E402


def _demo(folder: Path) -> Path:
    from sop_excel.cli import main

    book = folder / "plan.xlsx"
    assert main(["-q", "demo", "--out", str(book)]) == 0
    return book


def bench(command: str, original: Path, actuals: Path, points: int, work: Path) -> dict:
    first = work / f"{command}-whole" / original.name
    first.parent.mkdir()
    shutil.copyfile(original, first)
    whole = run_killed(first, command, after=1e9, actuals=actuals)
    n_save = points // 3
    plan = [dict(on_save=0.2 * k / max(n_save - 1, 1)) for k in range(n_save)]
    n_time = points - n_save
    plan += [
        dict(after=whole.seconds * (0.05 + 0.95 * k / max(n_time - 1, 1))) for k in range(n_time)
    ]
    outcomes = []
    for k, p in enumerate(plan):
        target = work / f"{command}-{k:03d}" / original.name
        target.parent.mkdir()
        shutil.copyfile(original, target)
        o = run_killed(target, command, actuals=actuals, **p)
        next_command_cleans_up(target)
        outcomes.append(o)
        print(
            f"  {command} {o.point:>12}: {o.result:8} (killed at {o.seconds:.2f} s, {o.temps_left} temp file(s) "
            f"left, {o.processes_left} process(es) left)",
            file=sys.stderr,
            flush=True,
        )
        shutil.rmtree(target.parent)
    results = [o.result for o in outcomes]
    return {
        "command": command,
        "duration_s": round(whole.seconds, 2),
        "kills": len(outcomes),
        "old": results.count("old"),
        "new": results.count("new"),
        "finished": results.count("finished"),
        "temp_files_left_by_kills": sum(o.temps_left for o in outcomes),
        "processes_left": sum(o.processes_left for o in outcomes),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=30, help="kills per command (default 30)")
    ap.add_argument(
        "--workbook",
        type=Path,
        help="a planning workbook with its actuals CSV beside it (default: a fresh demo)",
    )
    ap.add_argument("--commands", nargs="+", default=["refresh-actuals", "refresh-forecast"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sop-kill-") as tmp:
        work = Path(tmp)
        original = args.workbook or _demo(work / "demo")
        actuals = next(original.parent.glob("*_actuals_*.csv"))
        t = time.perf_counter()
        rows = [bench(c, original, actuals, args.points, work) for c in args.commands]
        for r in rows:
            print(json.dumps(r))
        print(f"total {time.perf_counter() - t:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
