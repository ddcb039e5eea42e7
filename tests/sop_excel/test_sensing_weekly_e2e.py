"""The Sensing and Weekly sheets in the demo workbook, and after a refresh of actuals."""

from __future__ import annotations

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.macros import read_settings
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame


def _views(path):
    book = OpenpyxlIO(path)
    rows = book.read_table("tblWeekly")
    weekly = pd.DataFrame(rows[1:], columns=rows[0])
    return (
        read_settings(book),
        read_frame(book, "tblSensing"),
        read_frame(book, "tblWeeks"),
        weekly,
        read_frame(book, "tblExecution"),
    )


def test_demo_shows_sensing_beside_the_plan_and_13_weeks_with_the_frozen_horizon(demo_book):
    settings, sensing, weeks, weekly, execution = _views(demo_book)
    # one sensing row per planned item, the plan being the one Execution compares with
    plan = execution.set_index("item")["month_plan"]
    s = sensing.set_index("item")
    assert set(plan.index) <= set(s.index)
    assert s.loc[plan.index, "month_plan"].to_numpy() == pytest.approx(plan.to_numpy())
    assert (s["sensed_month"] >= s["mtd_orders"] - 1e-9).all()  # never below what is booked
    assert ((s["weight"] >= 0) & (s["weight"] <= 1)).all()
    assert s["value_change"].abs().is_monotonic_decreasing  # largest value change first
    assert (s["change_pct"].abs() > 0.05).any()  # the sample company has items off plan
    # 13 weeks from the as-of week, the first FrozenWeeks frozen
    assert weeks["week"].tolist() == list(range(1, 14))
    assert (
        pd.Timestamp(weeks["week_start"].iloc[0])
        <= pd.Timestamp(settings.as_of)
        < pd.Timestamp(weeks["week_start"].iloc[1])
    )
    assert (weeks["horizon"] == "Frozen").sum() == settings.frozen_weeks
    assert weeks["horizon"].iloc[: settings.frozen_weeks].eq("Frozen").all()
    # the wide grid: a Plan and a Sensed row per item, one column per week, frozen weeks named so
    week_cols = [c for c in weekly.columns if str(c).startswith("W")]
    assert len(week_cols) == 13 and sum("(frozen)" in c for c in week_cols) == settings.frozen_weeks
    assert set(weekly["Measure"]) == {"Plan", "Sensed"}
    totals = weekly.groupby("Measure")[week_cols].sum()
    assert totals.loc["Plan"].to_numpy() == pytest.approx(weeks["plan"].to_numpy(), rel=1e-6)
    assert totals.loc["Sensed"].to_numpy() == pytest.approx(weeks["sensed"].to_numpy(), rel=1e-6)
    # orders booked so far this month fall in the weeks behind as-of
    assert weeks["orders"].iloc[0] > 0 and (weeks["orders"].iloc[2:] == 0).all()


def test_refresh_actuals_moves_sensing_and_the_weekly_view(small_copy):
    _, sensing0, weeks0, _, _ = _views(small_copy)
    csv = next(small_copy.parent.glob("*_actuals_*.csv"))
    assert main(["-q", "refresh-actuals", str(small_copy), "--actuals", str(csv)]) == 0
    _, sensing1, weeks1, _, _ = _views(small_copy)
    day = pd.read_csv(csv)
    booked = weeks1["orders"].sum() - weeks0["orders"].sum()
    assert booked == pytest.approx(
        day["orders"].sum()
    )  # the new day's orders are booked in their week
    assert sensing1["mtd_orders"].sum() == pytest.approx(
        sensing0["mtd_orders"].sum() + day["orders"].sum()
    )
    assert (sensing1["share"] > sensing0["share"].max() - 1e-9).all()  # the month filled by a day
