"""refresh-actuals and refresh-forecast killed (SIGKILL) at many points: the workbook is always the
old file or a complete new one, and the next command cleans up (issue 18). Slow: run with
``--run-slow``; ``bench/kill_points.py`` runs many more points and prints the figures."""

from __future__ import annotations

import shutil

import pytest

from tests.sop_excel.killing import next_command_cleans_up, run_killed

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("command", ["refresh-actuals", "refresh-forecast"])
def test_a_command_killed_anywhere_leaves_the_old_file_or_a_complete_new_one(
    book_copy, tmp_path, command
):
    actuals = next(book_copy.parent.glob("*_actuals_*.csv"))
    original = tmp_path / "original.xlsx"
    shutil.copyfile(book_copy, original)
    whole = run_killed(
        book_copy, command, after=10_000, actuals=actuals
    )  # not killed: how long it takes
    assert whole.result == "finished"
    outcomes = []
    points = [dict(on_save=d) for d in (0.0, 0.01, 0.05)]
    points += [dict(after=f * whole.seconds) for f in (0.15, 0.35, 0.55, 0.75, 0.95)]
    for p in points:
        target = tmp_path / f"k{len(outcomes)}" / "plan.xlsx"
        target.parent.mkdir()
        shutil.copyfile(original, target)
        outcomes.append(run_killed(target, command, actuals=actuals, **p))
        next_command_cleans_up(target)
    results = [o.result for o in outcomes]
    assert set(results) <= {"old", "new", "finished"}, results  # judge() fails on anything else
    assert "old" in results and results.count("finished") < len(results), results
    assert all(o.processes_left == 0 for o in outcomes), [
        (o.point, o.processes_left) for o in outcomes
    ]
