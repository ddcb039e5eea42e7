"""The month-closing arithmetic (sop_excel.core.monthly), on hand-made frames."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel.core import monthly
from sop_excel.core.drift import WorkCalendar
from sop_excel.core.execution import carried_exceptions, exception_workflow, month_closed_events

NOV = pd.Timestamp("2026-11-01")


def _items(*names):
    return pd.DataFrame({"item": list(names), "family": ["F"] * len(names)})


def _actuals(rows):
    return pd.DataFrame(rows, columns=["date", "item", "orders", "shipments"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_first_working_day_skips_weekends_and_holidays():
    cal = WorkCalendar(holidays=[dt.date(2027, 1, 1)])
    assert monthly.first_working_day(pd.Timestamp("2027-01-01"), cal) == dt.date(
        2027, 1, 4
    )  # Fri holiday, weekend
    assert monthly.first_working_day(pd.Timestamp("2026-12-01"), cal) == dt.date(
        2026, 12, 1
    )  # a Tuesday
    assert monthly.first_working_day(pd.Timestamp("2026-11-15"), WorkCalendar()) == dt.date(
        2026, 11, 2
    )


def test_missing_days_are_working_days_without_any_row():
    cal = WorkCalendar(holidays=[dt.date(2026, 11, 4)])
    days = [
        d
        for d in pd.date_range(NOV, "2026-11-30")
        if d.day_of_week < 5 and d.day not in (4, 17, 30)
    ]
    rows = [(d, "A", 1.0, 1.0) for d in days] + [
        ("2026-11-07", "A", 2.0, 2.0)
    ]  # a Saturday counts, is never missing
    rows += [("2026-10-30", "A", 1.0, 1.0), ("2026-12-01", "A", 1.0, 1.0)]  # other months do not
    missing = monthly.missing_days(_actuals(rows), NOV, cal)
    assert missing == [dt.date(2026, 11, 17), dt.date(2026, 11, 30)]  # the 4th is a holiday
    # a day with rows for one item only is not missing: sources send the items that had orders
    assert monthly.missing_days(_actuals(rows + [("2026-11-17", "B", 0.0, 0.0)]), NOV, cal) == [
        dt.date(2026, 11, 30)
    ]


def test_month_demand_sums_the_measure_and_lists_items_without_actuals():
    acts = _actuals(
        [
            ("2026-11-02", "A", 3.0, 2.0),
            ("2026-11-03", "A", 4.0, 4.0),
            ("2026-11-03", "B", 5.0, 1.0),
            ("2026-10-30", "A", 100.0, 100.0),
            ("2026-11-05", "GHOST", 9.0, 9.0),
        ]
    )
    history = pd.DataFrame(
        {
            "item": ["A", "C"],
            "month": pd.to_datetime(["2026-10-01", "2026-10-01"]),
            "qty": [10.0, 4.0],
            "flag": ["", ""],
        }
    )
    d = monthly.month_demand(acts, NOV, _items("A", "B", "C", "D"), history, "orders")
    assert d.rows.set_index("item")["qty"].to_dict() == {"A": 7.0, "B": 5.0, "C": 0.0}
    assert (d.rows["month"] == NOV).all() and d.total == 12.0
    assert d.without_actuals == ["C"]  # had History, no actuals: 0
    assert d.not_launched == ["D"]  # neither: no row (a 0 would start its history)
    assert d.unknown == ["GHOST"]
    s = monthly.month_demand(acts, NOV, _items("A", "B", "C", "D"), history, "shipments")
    assert s.rows.set_index("item")["qty"].to_dict() == {"A": 6.0, "B": 1.0, "C": 0.0}


def test_month_demand_keeps_a_planner_flag_on_the_row_it_replaces():
    acts = _actuals([("2026-11-02", "A", 3.0, 2.0)])
    history = pd.DataFrame(
        {
            "item": ["A", "A"],
            "month": pd.to_datetime(["2026-10-01", "2026-11-01"]),
            "qty": [10.0, 1.0],
            "flag": ["", "stockout"],
        }
    )
    d = monthly.month_demand(acts, NOV, _items("A"), history)
    assert d.rows["flag"].tolist() == ["stockout"]


def test_replace_month_replaces_in_place_and_reports_changes():
    history = pd.DataFrame(
        {
            "item": ["A", "A", "B", "B"],
            "month": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-10-01", "2026-11-01"]),
            "qty": [1.0, 2.0, 3.0, 4.0],
            "flag": ["", "", "", ""],
        }
    )
    same = pd.DataFrame({"item": ["A", "B"], "month": NOV, "qty": [2.0, 4.0], "flag": ["", ""]})
    out, changes = monthly.replace_month(history, same, NOV)
    assert out is history and changes.empty  # nothing to do
    new = pd.DataFrame({"item": ["B", "C"], "month": NOV, "qty": [5.0, 6.0], "flag": ["", ""]})
    out, changes = monthly.replace_month(history, new, NOV)
    assert out["item"].tolist() == [
        "A",
        "B",
        "B",
        "C",
    ]  # A's November row went; B's stays in place; C at the end
    assert out["qty"].tolist() == [1.0, 3.0, 5.0, 6.0]
    got = {r.item: (r.old, r.new) for r in changes.itertuples()}
    assert got["B"] == (4.0, 5.0) and np.isnan(got["C"][0]) and np.isnan(got["A"][1])


def _snapshots():
    rows = []
    for version, cycle in (
        (1, "2026-08-01"),
        (2, "2026-09-01"),
        (3, "2026-10-01"),
        (4, "2026-11-01"),
    ):
        lag = (NOV.year - pd.Timestamp(cycle).year) * 12 + NOV.month - pd.Timestamp(cycle).month
        for item, fam, naive, base, final in (
            ("A", "F1", 8.0, 9.0, 10.0),
            ("B", "F2", 20.0, 30.0, 25.0),
        ):
            rows.append(
                (
                    version,
                    pd.Timestamp(cycle),
                    item,
                    fam,
                    NOV,
                    lag,
                    naive,
                    base + version,
                    final + version,
                )
            )
        rows.append(
            (
                version,
                pd.Timestamp(cycle),
                "A",
                "F1",
                NOV + pd.DateOffset(months=1),
                lag + 1,
                1.0,
                1.0,
                1.0,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "version",
            "cycle",
            "item",
            "family",
            "month",
            "lag",
            "naive",
            "baseline",
            "final",
        ],
    )


def test_score_month_by_lock_lag_and_family():
    actual = pd.DataFrame({"item": ["A", "B"], "qty": [10.0, 30.0]})
    got = monthly.score_month(_snapshots(), actual, NOV)
    assert list(got.columns) == monthly.JOURNAL_COLUMNS
    assert sorted(got["lag"].unique()) == [
        1,
        2,
        3,
    ]  # lag 0 (the month's own lock) is not a forecast
    total = got[(got["level"] == "Total") & (got["lag"] == 1)].iloc[
        0
    ]  # version 3: final A 13, B 28
    assert total["version"] == 3 and total["items"] == 2 and total["actual"] == 40.0
    assert total["final_wmape"] == pytest.approx((3 + 2) / 40)
    assert total["baseline_wmape"] == pytest.approx((2 + 3) / 40)  # base A 12, B 33
    assert total["naive_wmape"] == pytest.approx((2 + 10) / 40)
    assert total["bias_pct"] == pytest.approx((13 + 28) / 40 - 1)
    assert total["fva_total"] == pytest.approx(total["naive_wmape"] - total["final_wmape"])
    fam = got[(got["level"] == "Family") & (got["lag"] == 1)].set_index("name")
    assert fam.loc["F1", "final_wmape"] == pytest.approx(0.3) and fam.loc["F2", "actual"] == 30.0
    assert monthly.score_month(_snapshots(), actual.iloc[0:0], NOV).empty


def test_keep_snapshots_keeps_what_is_still_scored_or_read():
    snaps = _snapshots()
    kept = monthly.keep_snapshots(snaps, NOV + pd.DateOffset(months=1), keep_months=12)
    closed = kept[kept["month"] == NOV]
    assert closed["lag"].unique().tolist() == [1]  # the tracking signal's lag
    assert (kept["month"] == NOV + pd.DateOffset(months=1)).sum() == 4  # still to be scored
    assert len(monthly.keep_snapshots(snaps, NOV + pd.DateOffset(months=15), keep_months=12)) == 0
    assert monthly.keep_snapshots(snaps, NOV, max_lag=2)["lag"].max() == 2


def test_waterfall_prefers_the_closed_months_accuracy():
    by_snapshots = pd.DataFrame(
        {
            "family": ["F1", "F1"],
            "month": [NOV, NOV],
            "lag": [1, 2],
            "final": [5.0, 6.0],
            "actual": [10.0, 10.0],
            "error": [-5.0, -4.0],
            "ape": [0.5, 0.4],
        }
    )
    journal = monthly.score_month(
        _snapshots(), pd.DataFrame({"item": ["A", "B"], "qty": [10.0, 30.0]}), NOV
    )
    wf = monthly.waterfall(by_snapshots, journal)
    f1 = wf[(wf["family"] == "F1") & (wf["month"] == NOV)].set_index("lag")
    assert f1.loc[1, "final"] == 13.0 and f1.loc[3, "final"] == 11.0  # from the journal, lag 3 too
    assert f1.loc[2, "error"] == pytest.approx(12.0 - 10.0)


def test_archive_moves_only_what_is_past():
    dec = NOV + pd.DateOffset(months=1)
    now = pd.Timestamp("2026-12-02 09:00")
    drivers = pd.DataFrame(
        {
            "scenario": ["Up", "Up", "Up", "Up"],
            "kind": ["volume"] * 4,
            "family": ["F1"] * 4,
            "item": [""] * 4,
            "resource": [""] * 4,
            "from_month": pd.to_datetime(["2026-09-01", "2026-10-01", None, "2026-11-01"]),
            "to_month": pd.to_datetime(["2026-11-01", "2026-12-01", None, None]),
            "value": [0.1, 0.2, 0.3, 0.4],
            "price": np.nan,
            "unit_cost": np.nan,
            "comment": ["past", "still on", "no range", "open end"],
        }
    )
    kept, gone = monthly.archive_drivers(drivers, dec, now, "close-month")
    assert kept["comment"].tolist() == ["still on", "no range", "open end"]
    assert gone["comment"].tolist() == ["past"] and gone["what"].tolist() == ["Driver"]
    assert list(gone.columns) == monthly.ARCHIVE_COLUMNS and gone["to_month"].iloc[0] == NOV
    inputs = pd.DataFrame(
        {
            "stream": ["Sales", "Marketing"],
            "item": ["A", "B"],
            "month": [NOV, dec],
            "qty": [5.0, 6.0],
            "comment": ["promo", ""],
        }
    )
    kept, gone = monthly.archive_inputs(inputs, dec, now, "close-month")
    assert kept["item"].tolist() == ["B"] and gone["what"].tolist() == ["Sales input"]
    fc = pd.DataFrame(
        {
            "item": ["A", "B", "C"],
            "family": ["F1"] * 3,
            "month": [NOV] * 3,
            "override": [12.0, np.nan, np.nan],
            "reason_code": ["Promotion", "", ""],
            "comment": ["", "note", ""],
        }
    )
    arch = monthly.archive_forecast_inputs(fc, now, "close-month")
    assert (
        arch["what"].tolist() == ["Override", "Forecast comment"] and arch["value"].iloc[0] == 12.0
    )


def test_actuals_window_and_changed_closed_days():
    acts = _actuals(
        [
            ("2026-10-30", "A", 1.0, 1.0),
            ("2026-11-02", "A", 2.0, 2.0),
            ("2026-12-01", "A", 3.0, 3.0),
        ]
    )
    kept, early = monthly.actuals_window(acts, NOV)
    assert kept["date"].dt.month.tolist() == [11, 12] and len(early) == 1
    assert monthly.actuals_window(kept, NOV)[0] is kept
    new = _actuals(
        [
            ("2026-11-02", "A", 2.0, 9.0),
            ("2026-11-03", "A", 4.0, 4.0),
            ("2026-12-02", "A", 5.0, 5.0),
        ]
    )
    changed = monthly.changed_closed_days(acts, new, [NOV], "orders")
    assert changed["date"].dt.day.tolist() == [
        3
    ]  # the 2nd's orders are the same (its shipments do not count)
    assert monthly.changed_closed_days(acts, new, [NOV], "shipments")["date"].dt.day.tolist() == [
        2,
        3,
    ]


def test_exceptions_still_open_at_the_close_come_back_when_flagged_again():
    t0 = pd.Timestamp("2026-12-02 08:00")
    ending = pd.DataFrame(
        {
            "rank": [1, 2],
            "item": ["A", "B"],
            "family": ["F"] * 2,
            "flag": ["Act", "Watch"],
            "drift_pct": [0.3, 0.1],
            "value_at_risk": [500.0, 90.0],
            "reason": ["r", "r"],
            "action": ["a", "a"],
            "owner": ["ann", "bob"],
            "status": ["In progress", "Resolved"],
            "comment": ["expediting", "done"],
        }
    )
    log = month_closed_events(ending, t0)
    assert log["event"].unique().tolist() == ["month closed"] and log["status"].tolist() == [
        "In progress",
        "Resolved",
    ]
    carried = carried_exceptions(log)
    assert carried["item"].tolist() == ["A"]  # resolved ones are not carried
    new = ending[
        ["rank", "item", "family", "flag", "drift_pct", "value_at_risk", "reason", "action"]
    ]
    shown, events = exception_workflow(
        new,
        new.iloc[0:0].assign(owner="", status="", comment=""),
        log,
        t0 + pd.Timedelta(days=3),
        pd.Timestamp("2026-12-01"),
    )
    a = shown.set_index("item").loc["A"]
    assert (a["owner"], a["status"], a["comment"]) == ("ann", "In progress", "expediting")
    assert shown.set_index("item").loc["B", "owner"] == ""  # B was resolved: a new exception
    assert dict(zip(events["item"], events["event"], strict=True)) == {
        "A": "carried",
        "B": "opened",
    }
    # once back on the list, the list holds it: the carry is used up
    assert carried_exceptions(pd.concat([log, events], ignore_index=True)).empty
