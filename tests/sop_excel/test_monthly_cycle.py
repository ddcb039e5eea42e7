"""Twelve monthly cycles in one workbook (issue 16): plan inputs, lock, daily actuals with drift,
close-month, a late correction; then History, Accuracy, the Log, nothing lost, LibreOffice, and
a workbook and commands that do not grow beyond the data.

The company is the sample's, cut to 4 items a family (16 items) with a fast forecast method,
so twelve cycles take about a minute; ``bench/monthly_cycle.py`` runs the whole demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sop_excel.check import compare_recalculated
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.monthly_cycle import run_cycles, small_demo

CYCLES = 12


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    path = small_demo(tmp_path_factory.mktemp("cycle") / "plan.xlsx")
    first = ZipIO(path)
    start = {name: read_frame(first, name) for name in ("tblHistory", "tblItems")}
    first.close()
    result = run_cycles(path, CYCLES, method="seasonal_naive", compare=False, loads=2, correct_at=3)
    result.start = start  # type: ignore[attr-defined]
    return result


@pytest.fixture(scope="module")
def final(sim):
    book = ZipIO(sim.path)
    names = (
        "tblHistory",
        "tblMonthAccuracy",
        "tblLog",
        "tblForecast",
        "tblInputs",
        "tblDrivers",
        "tblArchive",
        "tblExceptions",
        "tblExceptionLog",
        "tblClosedMonths",
        "tblActuals",
        "tblSnapshots",
        "tblItems",
    )
    frames = {name: read_frame(book, name) for name in names}
    book.close()
    return frames


def test_history_gains_twelve_months_equal_to_the_daily_sums(sim, final):
    assert len(sim.months) == CYCLES and sim.months == sorted(sim.months)
    hist = final["tblHistory"]
    start = sim.start["tblHistory"]
    assert len(hist) == len(start) + CYCLES * len(final["tblItems"])
    sums = sim.month_sums().set_index(["item", "month"])["qty"]
    for month in sim.months:
        got = hist[hist["month"] == month].set_index("item")["qty"]
        want = sums.xs(month, level="month").reindex(got.index)
        assert got.to_numpy() == pytest.approx(want.to_numpy()), f"{month:%Y-%m}"
    assert (
        sim.corrected is not None
    )  # the late correction is in its month's total (the sums hold the fix)
    old = hist[hist["month"] < sim.months[0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, start.reset_index(drop=True), check_dtype=False)


def test_accuracy_has_lags_one_to_three_for_every_closed_month(final, sim):
    journal = final["tblMonthAccuracy"]
    total = journal[journal["level"] == "Total"]
    for month in sim.months:
        lags = set(total.loc[total["month"] == month, "lag"])
        assert {1, 2, 3} <= lags, f"{month:%Y-%m}: lags {sorted(lags)}"
        rows = total[(total["month"] == month) & (total["lag"] <= 3)]
        assert (
            rows[["final_wmape", "baseline_wmape", "naive_wmape", "bias_pct"]].notna().all().all()
        )
        fam = journal[
            (journal["month"] == month) & (journal["level"] == "Family") & (journal["lag"] == 1)
        ]
        by_lock = fam.groupby("version")[
            ["actual", "final"]
        ].sum()  # two locks in one cycle: two rows
        lag1 = rows[rows["lag"] == 1].set_index("version")
        assert by_lock.to_numpy() == pytest.approx(
            lag1[["actual", "final"]].reindex(by_lock.index).to_numpy()
        )


def test_the_log_tells_the_story(final, sim):
    log = final["tblLog"].reset_index(drop=True)
    closes = log[log["command"] == "close-month"]
    firsts = closes[~closes["details"].str.contains("again (a late correction)", regex=False)]
    assert [d.split(" (")[0] for d in firsts["data"]] == [f"{m:%B %Y}" for m in sim.months]
    again = closes[closes["details"].str.contains("again (a late correction)", regex=False)]
    assert len(again) == 1 and again["data"].iloc[0].startswith(f"{sim.corrected:%B %Y}")
    # each month as a planner works it: lock the plan, load the actuals, close
    for at, month in zip(firsts.index, sim.months, strict=True):
        start = max([i + 1 for i in closes.index if i < at], default=0)
        month_log = log.loc[start : at - 1, "command"].tolist()
        assert "lock-plan" in month_log and "refresh-actuals" in month_log, month
        assert month_log.index("lock-plan") < month_log.index("refresh-actuals"), month
    for details in firsts["details"]:
        assert details.startswith("Closed ") and "Accuracy:" in details and "As-of date" in details


def test_no_override_or_comment_is_lost(final, sim):
    fc, archive = final["tblForecast"], final["tblArchive"]
    inputs, drivers = final["tblInputs"], final["tblDrivers"]
    for t in sim.typed:
        if t["what"] == "Override":
            live = fc[(fc["item"] == t["item"]) & (fc["month"] == t["month"])]
            kept = archive[
                (archive["what"] == "Override")
                & (archive["item"] == t["item"])
                & (archive["from_month"] == t["month"])
            ]
            where = live if len(live) else kept
            assert len(where) == 1 and where["comment"].iloc[0] == t["comment"], t
            assert where["override" if len(live) else "value"].iloc[0] == t["value"], t
        elif t["what"] == "Sales input":
            hit = (
                inputs["comment"].eq(t["comment"]).sum() + archive["comment"].eq(t["comment"]).sum()
            )
            assert hit == 1, t
        elif t["what"] == "Driver":
            hit = (
                drivers["comment"].eq(t["comment"]).sum()
                + archive["comment"].eq(t["comment"]).sum()
            )
            assert hit == 1, t
        else:  # an exception's owner, status and comment: on the list or in the exception log
            ex, log = final["tblExceptions"], final["tblExceptionLog"]
            assert ex["comment"].eq(t["comment"]).any() or log["comment"].eq(t["comment"]).any(), t
    past = archive[archive["what"] == "Override"]
    assert len(past) and (past["from_month"] < sim.months[-1] + pd.DateOffset(months=1)).all()
    log = final["tblExceptionLog"]
    assert (log["event"] == "month closed").sum() > 0 and log["status"].isin(
        ["Open", "In progress", "Resolved", ""]
    ).all()


def test_the_workbook_and_the_commands_do_not_grow_beyond_the_data(sim, final):
    n_items = len(final["tblItems"])
    rows = pd.DataFrame(sim.rows)
    # the Actuals sheet holds the month closed last and the one under way, never more
    assert rows["tblActuals"].max() <= 2 * 31 * n_items
    # Snapshots: per item, the locks' forecasts of months still to be scored (lags 0 to Settings >
    # Snapshot lags, 6: 28 once a lock a month has run 7 months), of the month closed last and
    # the one before (7 each, until the next lock thins the older), a second lock in one month
    # (7), and lag 1 of the last 12 closed months; once the locks fill that, one row per item
    # and cycle more (the lag-1 months), until there are 12 of them
    assert rows["tblSnapshots"].max() <= n_items * (28 + 7 + 7 + 7 + 12)
    assert (rows["tblSnapshots"].diff().iloc[CYCLES // 2 :] <= n_items).all()
    # what grows is records of the closed months (History, accuracy, logs, archive): by about
    # the same each cycle, not more and more
    records = [
        "tblHistory",
        "tblMonthAccuracy",
        "tblLog",
        "tblExceptionLog",
        "tblArchive",
        "tblClosedMonths",
        "tblSnapshots",
    ]
    steps = rows[records].diff().dropna()
    first, last = steps.iloc[: CYCLES // 2], steps.iloc[CYCLES // 2 :]
    assert (last.mean() <= first.max() * 1.5 + 5).all(), steps
    sizes = np.diff(sim.sizes)
    assert sizes[CYCLES // 2 :].mean() <= 1.5 * sizes[: CYCLES // 2].mean(), sizes
    # each command's work (cells read and written) grows only with those records
    cells = pd.DataFrame([vars(s) for s in sim.steps])
    record_cells = (rows[records] * 18).sum(axis=1)  # at most 18 columns each
    growth = float(record_cells.iloc[-1] - record_cells.iloc[1])
    for command in ("lock-plan", "refresh-actuals", "close-month"):
        work = (
            cells[(cells["command"] == command)]
            .groupby("cycle")[["cells_read", "cells_written"]]
            .sum()
            .sum(axis=1)
        )
        assert work.iloc[-1] - work.iloc[1] <= 3 * growth, (command, work.tolist(), growth)


@pytest.mark.libreoffice
def test_libreoffice_computes_the_cached_values_after_twelve_cycles(sim, tmp_path):
    out = recalculate(sim.path, tmp_path / "lo")
    assert compare_recalculated(sim.path, out) == []
