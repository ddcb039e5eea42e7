"""close-month on the demo workbook (issue 16): History, the roll, accuracy, the archive, S&OE
starting the new month, refusals, idempotence and a late correction; and what refresh-actuals
keeps on the Actuals sheet (issue 18, point 2)."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sop_excel import aside, closing, macros, pipeline
from sop_excel import basis as cache
from sop_excel.cli import main
from sop_excel.errors import InputError
from sop_excel.sample import load_sample_company
from sop_excel.workbook import tables
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO, open_workbook
from tests.sop_excel.monthly_cycle import set_setting

NOV, DEC = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01")


def frame(path, name):
    book = ZipIO(path)
    try:
        return read_frame(book, name)
    finally:
        book.close()


def rest_of_november(folder, book=None):
    """The sample company's days of November after the demo's as-of date, as a CSV (of the
    items of the workbook ``book``, if given: the small company's)."""
    rows = load_sample_company().month_actuals
    rows = rows[rows["date"] > pd.Timestamp("2026-11-18")]
    if book is not None:
        rows = rows[rows["item"].isin(frame(book, "tblItems")["item"])]
    path = folder / "rest_of_november.csv"
    rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def plan_inputs_for_november(path):
    """A planner's inputs for November (the month to close) and a driver that ends in it."""
    book = ZipIO(path)
    fc = read_frame(book, "tblForecast")
    hit = (fc["item"] == "PMP-1001") & (fc["month"] == NOV)
    fc.loc[hit, ["override", "reason_code", "comment"]] = [99.0, "Promotion", "November promo"]
    write_frame(book, "tblForecast", fc)
    inputs = read_frame(book, "tblInputs")
    write_frame(
        book,
        "tblInputs",
        macros.append_rows(
            inputs,
            pd.DataFrame(
                [
                    {
                        "stream": "Marketing",
                        "item": "CTL-3001",
                        "month": NOV,
                        "qty": 5.0,
                        "comment": "fair",
                    }
                ]
            ),
        ),
    )
    drivers = read_frame(book, "tblDrivers")
    write_frame(
        book,
        "tblDrivers",
        macros.append_rows(
            drivers,
            pd.DataFrame(
                [
                    {
                        "scenario": "Upside",
                        "kind": "volume",
                        "family": "Pumps",
                        "item": "",
                        "resource": "",
                        "from_month": pd.Timestamp("2026-10-01"),
                        "to_month": NOV,
                        "value": 0.02,
                        "price": np.nan,
                        "unit_cost": np.nan,
                        "comment": "autumn push",
                    }
                ]
            ),
        ),
    )
    book.save()
    book.close()


@pytest.fixture(scope="module")
def closed(tmp_path_factory, demo_book):
    """The demo workbook before and after ``close-month --actuals <rest of November>``, with the
    planner's November inputs typed first, and what the command printed."""
    folder = tmp_path_factory.mktemp("close")
    before = folder / "before.xlsx"
    shutil.copyfile(demo_book, before)
    plan_inputs_for_november(before)
    after = folder / "plan.xlsx"
    shutil.copyfile(before, after)
    source = rest_of_november(folder)
    out = folder / "out.txt"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["-q", "close-month", str(after), "--actuals", str(source)]) == 0
    out.write_text(buf.getvalue())
    return before, after, buf.getvalue()


def test_the_month_becomes_history(closed):
    before, after, printed = closed
    month = load_sample_company().month_actuals
    want = month.groupby("item")["orders"].sum()
    hist = frame(after, "tblHistory")
    nov = hist[hist["month"] == NOV].set_index("item")["qty"]
    assert len(nov) == len(want) and (nov.reindex(want.index) == want).all()
    old = frame(before, "tblHistory")
    assert len(hist) == len(old) + len(want)  # the other months as they were
    pd.testing.assert_frame_equal(
        hist.iloc[: len(old)].reset_index(drop=True), old.reset_index(drop=True), check_dtype=False
    )
    assert "Closed November 2026: History has 64 items for it" in printed


def test_the_plan_rolls_a_month(closed):
    _, after, printed = closed
    settings = macros.read_settings(open_workbook(after))
    assert settings.as_of == dt.date(2026, 12, 1)  # a Tuesday: the first working day
    fc = frame(after, "tblForecast")
    assert fc["month"].min() == DEC and fc["month"].max() == pd.Timestamp(
        "2028-05-01"
    )  # Nov dropped, May 2028 new
    demo_override = fc[(fc["item"] == "VLV-2004") & (fc["month"] == DEC)].iloc[0]
    assert (
        demo_override["reason_code"] == "Lost customer" and demo_override["override"] > 0
    )  # a future override stays
    assert "As-of date 2026-11-18 -> 2026-12-01; plan Dec 2026 to May 2028 (18 months)." in printed


def test_every_lock_is_scored_against_the_month(closed):
    before, after, _ = closed
    journal = frame(after, "tblMonthAccuracy")
    nov = journal[journal["month"] == NOV]
    snaps = frame(before, "tblSnapshots")
    locks = snaps[(snaps["month"] == NOV) & (snaps["lag"] >= 1)]
    assert set(nov["version"]) == set(locks["version"])
    assert sorted(nov["lag"].unique()) == sorted(locks["lag"].unique()) and {1, 2, 3} <= set(
        nov["lag"]
    )
    # lag 1 in total, by hand from the snapshot and the actuals
    lag1 = locks[locks["lag"] == 1]
    actual = lag1["item"].map(
        frame(after, "tblHistory").query("month == @NOV").set_index("item")["qty"]
    )
    row = nov[(nov["level"] == "Total") & (nov["lag"] == 1)].iloc[0]
    assert row["final_wmape"] == pytest.approx((lag1["final"] - actual).abs().sum() / actual.sum())
    assert row["naive_wmape"] == pytest.approx((lag1["naive"] - actual).abs().sum() / actual.sum())
    assert row["bias_pct"] == pytest.approx(lag1["final"].sum() / actual.sum() - 1)
    assert row["fva_final"] == pytest.approx(row["baseline_wmape"] - row["final_wmape"])
    assert set(nov.loc[nov["level"] == "Family", "name"]) == set(lag1["family"])
    # the demo's earlier months, never closed by close-month, are scored too before their
    # snapshots are thinned out; the waterfall keeps every lag of them
    assert {pd.Timestamp("2026-08-01"), pd.Timestamp("2026-10-01")} <= set(journal["month"])
    pd.testing.assert_frame_equal(frame(after, "tblSnapshots"), snaps)  # the close reads them only


def test_the_next_lock_thins_out_the_snapshots_of_closed_months(closed, tmp_path):
    _, after, _ = closed
    book = tmp_path / "plan.xlsx"
    shutil.copyfile(after, book)
    before = frame(book, "tblSnapshots")
    assert main(["-q", "lock-plan", str(book)]) == 0
    kept = frame(book, "tblSnapshots")
    scored = set(frame(book, "tblMonthAccuracy")["month"])
    old = kept[(kept["month"] < NOV) & kept["month"].isin(scored)]
    assert (
        old["lag"].unique().tolist() == [1] and kept["lag"].max() <= 6
    )  # Settings > Snapshot lags
    assert len(old) == len(
        before[(before["month"] < NOV) & before["month"].isin(scored) & (before["lag"] == 1)]
    )
    unscored = kept[
        (kept["month"] < NOV) & ~kept["month"].isin(scored)
    ]  # the demo's months with lag 0 only
    assert (unscored["lag"] == 0).all()
    assert (kept["month"] == NOV).sum() == (
        before["month"] == NOV
    ).sum()  # the month closed last: all kept
    wf = frame(book, "tblWaterfall")  # the thinned lags come from the closed-months scores
    assert {1, 2, 3} <= set(wf.loc[wf["month"] == pd.Timestamp("2026-10-01"), "lag"])
    journal = frame(book, "tblMonthAccuracy")
    assert len(journal) == len(frame(after, "tblMonthAccuracy"))


def test_past_inputs_go_to_the_archive_and_future_ones_stay(closed):
    _, after, printed = closed
    archive = frame(after, "tblArchive")
    by_what = archive.set_index("what")
    assert (
        by_what.loc["Override", "item"] == "PMP-1001" and by_what.loc["Override", "value"] == 99.0
    )
    assert (
        by_what.loc["Override", "comment"] == "November promo"
        and by_what.loc["Override", "reason_code"] == "Promotion"
    )
    assert by_what.loc["Marketing input", "item"] == "CTL-3001"
    assert (
        by_what.loc["Driver", "comment"] == "autumn push"
        and by_what.loc["Driver", "scenario"] == "Upside"
    )
    assert (archive["by"] == "close-month").all()
    assert "autumn push" not in frame(after, "tblDrivers")["comment"].tolist()
    assert len(frame(after, "tblInputs")) == 4  # the demo's inputs for December on are kept
    assert "Moved to the Archive sheet (their months are past):" in printed


def test_s_and_oe_starts_the_new_month(closed):
    before, after, printed = closed
    ending = frame(before, "tblExceptions")
    log = frame(after, "tblExceptionLog")
    closing = log[log["event"] == "month closed"]
    assert sorted(closing["item"]) == sorted(ending["item"]) and (closing["status"] == "Open").all()
    ex = frame(after, "tblExecution")
    # no actuals yet: nothing drifts (Act, Watch); Bias is the tracking signal of closed months
    assert (ex["mtd_orders"] == 0).all() and ex["status"].isin(["On track", "Bias"]).all()
    locked = frame(after, "tblLockedPlan")
    dec_plan = locked[locked["month"] == DEC].set_index("item")["volume"]
    assert ex.set_index("item")["month_plan"].reindex(dec_plan.index).to_numpy() == pytest.approx(
        dec_plan.to_numpy()
    )
    assert ex["plan_source"].iloc[0].endswith("locked (Base)")
    exc = frame(
        after, "tblExceptions"
    )  # no demand drift without December's orders (supply may flag a stockout)
    assert set(exc.loc[exc["area"] == "Demand", "flag"]) <= {"Bias"}
    weeks = frame(after, "tblWeeks")
    assert weeks["week_start"].min() == pd.Timestamp("2026-11-30")  # the week of the new as-of date
    closes = frame(after, "tblClosedMonths").iloc[0]
    assert closes["month"] == NOV and closes["days_missing"] == 0 and closes["forced"] == "No"
    log = frame(after, "tblLog").iloc[-1]
    assert log["command"] == "close-month" and log["data"].startswith(
        "November 2026 (orders); rest_of_november.csv"
    )
    assert "Closed November 2026" in log["details"] and "Exceptions:" in printed


def test_the_next_refresh_plans_against_the_new_month_from_the_kept_basis(
    closed, tmp_path, monkeypatch
):
    _, after, _ = closed
    book = tmp_path / "plan.xlsx"
    shutil.copyfile(after, book)
    key = dict(zip(*frame(book, "tblBasisKey")[["key", "value"]].T.to_numpy(), strict=True))
    assert key["month"] == "2026-12"
    day = tmp_path / "dec1.csv"
    day.write_text(
        "date,item,orders,shipments\n2026-12-01,PMP-1002,40,40\n2026-12-01,VLV-2004,3,3\n"
    )
    seen = _tables_read(monkeypatch)
    assert main(["-q", "refresh-actuals", str(book), "--actuals", str(day)]) == 0
    assert "tblForecast" not in seen and "tblSnapshots" not in seen  # the basis kept by close-month
    ex = frame(book, "tblExecution").set_index("item")
    assert ex.loc["PMP-1002", "mtd_orders"] == 40
    locked = frame(book, "tblLockedPlan")
    assert ex.loc["PMP-1002", "month_plan"] == pytest.approx(
        locked[(locked["month"] == DEC) & (locked["item"] == "PMP-1002")]["volume"].sum()
    )
    # the same numbers as computing the basis from the sheets
    again = tmp_path / "again.xlsx"
    shutil.copyfile(after, again)
    monkeypatch.setattr(cache, "kept_basis", lambda *a, **k: None)
    assert main(["-q", "refresh-actuals", str(again), "--actuals", str(day)]) == 0
    pd.testing.assert_frame_equal(frame(again, "tblExecution"), frame(book, "tblExecution"))


def test_closing_twice_changes_nothing_and_a_late_correction_closes_again(closed, tmp_path, capsys):
    _, after, _ = closed
    book = tmp_path / "plan.xlsx"
    shutil.copyfile(after, book)
    data = book.read_bytes()
    assert main(["close-month", str(book)]) == 0
    out = capsys.readouterr().out
    assert "Workbook unchanged" in out and "November 2026 is closed already" in out
    assert book.read_bytes() == data
    assert main(["close-month", str(book), "--month", "2026-11"]) == 0
    assert book.read_bytes() == data
    # a late correction arrives with the daily feed: refresh-actuals says History is out of date
    fix = tmp_path / "fix.csv"
    acts = frame(book, "tblActuals")
    was = acts[(acts["item"] == "PMP-1002") & (acts["date"] == pd.Timestamp("2026-11-10"))][
        "orders"
    ].iloc[0]
    fix.write_text(f"date,item,orders,shipments\n2026-11-10,PMP-1002,{was + 25:g},0\n")
    assert main(["refresh-actuals", str(book), "--actuals", str(fix)]) == 0
    out = capsys.readouterr().out
    assert (
        "November 2026 is closed, but this load changed 1 of its daily orders figures (+25 units)"
        in out
    )
    hist_before = frame(book, "tblHistory").query("month == @NOV").set_index("item")["qty"]
    assert main(["close-month", str(book)]) == 0
    out = capsys.readouterr().out
    assert (
        "Closed November 2026 again (a late correction): History replaced for 1 item (PMP-1002"
        in out
    )
    hist = frame(book, "tblHistory").query("month == @NOV").set_index("item")["qty"]
    assert hist["PMP-1002"] == hist_before["PMP-1002"] + 25
    assert (hist.drop("PMP-1002") == hist_before.drop("PMP-1002")).all()
    assert macros.read_settings(open_workbook(book)).as_of == dt.date(2026, 12, 1)  # no second roll
    record = frame(book, "tblClosedMonths").iloc[0]
    assert record["times_closed"] == 2 and "PMP-1002" in record["note"]
    log = frame(book, "tblLog").iloc[-1]
    assert log["command"] == "close-month" and "again (a late correction)" in log["details"]
    assert (frame(book, "tblMonthAccuracy")["month"] == NOV).sum() == (
        frame(after, "tblMonthAccuracy")["month"] == NOV
    ).sum()


def test_refusals_leave_the_workbook_as_it_was(small_copy, capsys):
    book_copy = small_copy  # the same November days missing as the demo's
    data = book_copy.read_bytes()
    assert main(["close-month", str(book_copy)]) == 1
    err = capsys.readouterr().err
    assert (
        "November 2026 has no actuals for 8 working days (2026-11-19, 2026-11-20," in err
        and "--force" in err
    )
    assert main(["close-month", str(book_copy), "--month", "2027-01"]) == 1
    assert "January 2027 comes after the as-of month (November 2026)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["close-month", str(book_copy), "--month", "2026-13"])
    assert usage.value.code == 2 and "is not a month: write YYYY-MM" in capsys.readouterr().err
    with pytest.raises(
        InputError,
        match=r"November 2026 is not over: it ends on 2026-11-30 and today is 2026-11-27",
    ):
        macros.close_month(ZipIO(book_copy), today=dt.date(2026, 11, 27))
    assert book_copy.read_bytes() == data


def test_force_closes_with_the_days_missing_said(small_copy, capsys):
    book_copy = small_copy  # the same November days missing as the demo's
    assert main(["close-month", str(book_copy), "--force"]) == 0
    out = capsys.readouterr().out
    assert "Warning: Closed with --force: 8 working days of November 2026 had no actuals" in out
    record = frame(book_copy, "tblClosedMonths").iloc[0]
    assert record["days_missing"] == 8 and record["forced"] == "Yes"


def test_a_failure_leaves_the_workbook_untouched(small_copy, monkeypatch):
    book_copy = small_copy  # a failure, not the demo's size
    data = book_copy.read_bytes()

    def broken(*a, **k):
        raise RuntimeError("the forecast failed")

    monkeypatch.setattr(pipeline, "forecast_frames", broken)
    with pytest.raises(RuntimeError):
        macros.close_month(ZipIO(book_copy), force=True)
    assert book_copy.read_bytes() == data


def test_history_from_shipments_when_settings_say_so(book_copy, tmp_path):
    book = ZipIO(book_copy)
    set_setting(book, "History measure", "Shipments")
    book.save()
    assert (
        main(["-q", "close-month", str(book_copy), "--actuals", str(rest_of_november(tmp_path))])
        == 0
    )
    want = load_sample_company().month_actuals.groupby("item")["shipments"].sum()
    nov = frame(book_copy, "tblHistory").query("month == @NOV").set_index("item")["qty"]
    assert (
        nov.reindex(want.index) == want
    ).all() and want.sum() != load_sample_company().month_actuals["orders"].sum()
    assert frame(book_copy, "tblClosedMonths")["measure"].tolist() == ["shipments"]


def test_a_workbook_from_before_close_month_is_told_so(small_copy, capsys):
    book_copy = small_copy  # the sheets, not the size, tell an older workbook
    wb = openpyxl.load_workbook(book_copy)
    del wb["Archive"]
    wb.save(book_copy)
    assert main(["close-month", str(book_copy), "--force"]) == 3
    assert (
        "has no table tblClosedMonths, tblArchive: it was made by an earlier sop-excel"
        in capsys.readouterr().err
    )


def test_refresh_forecast_moves_overrides_that_left_the_horizon_to_the_archive(small_copy, capsys):
    book_copy = small_copy  # the planner's inputs are on items of the small company too
    plan_inputs_for_november(book_copy)
    book = ZipIO(book_copy)
    set_setting(book, "As-of date", dt.datetime(2026, 12, 1))  # moved by hand
    book.save()
    assert main(["refresh-forecast", str(book_copy)]) == 0
    assert (
        "1 overrides or comments were for months no longer in the horizon: moved to the Archive sheet"
        in capsys.readouterr().out
    )
    archive = frame(book_copy, "tblArchive")
    assert archive["by"].tolist() == ["refresh-forecast"] and archive["comment"].tolist() == [
        "November promo"
    ]


def test_refresh_actuals_keeps_only_the_months_the_views_use(small_copy, tmp_path, capsys):
    """Issue 18 point 2: old days do not pile up on the Actuals sheet; the summary says where they are."""
    book_copy = small_copy  # a file of one item's days: the sheet, not the demo's size
    old = tmp_path / "two_years.csv"
    days = pd.date_range("2025-01-01", "2026-12-02", freq="D")
    pd.DataFrame(
        {"date": days.strftime("%Y-%m-%d"), "item": "PMP-1002", "orders": 1.0, "shipments": 1.0}
    ).to_csv(old, index=False)
    assert main(["refresh-actuals", str(book_copy), "--actuals", str(old)]) == 0
    out = capsys.readouterr().out
    acts = frame(book_copy, "tblActuals")
    assert acts["date"].min() == pd.Timestamp(
        "2026-10-01"
    )  # the month before the as-of month onward
    assert acts["date"].max() == pd.Timestamp("2026-12-02")  # later days wait for their month
    assert (
        "638 rows dated before October 2026 are not kept on the Actuals sheet: it keeps October 2026 onward"
        in out
    )
    assert (
        "History holds monthly totals (January 2025, " in out
        and "the daily rows stay in your source" in out
    )
    assert (acts["date"] < pd.Timestamp("2026-10-01")).sum() == 0


def test_without_the_refresh_the_new_month_plans_from_the_kept_basis(
    small_copy, tmp_path, monkeypatch
):
    """--no-refresh: the new month's plan side comes from the Basis sheet (kept with the month
    after), not from the Forecast and Plan of record sheets; the same S&OE as computing it."""
    book_copy = small_copy  # where the plan comes from, not the demo's size
    source = rest_of_november(tmp_path, book_copy)
    other = tmp_path / "other.xlsx"
    shutil.copyfile(book_copy, other)
    seen = _tables_read(monkeypatch)
    assert (
        main(["-q", "close-month", str(book_copy), "--actuals", str(source), "--no-refresh"]) == 0
    )
    assert not {"tblForecast", "tblLockedPlan"} & set(seen) and "tblBasisNextItems" in seen
    monkeypatch.setattr(
        closing, "kept_following", lambda *a, **k: None
    )  # computed from the sheets instead
    assert main(["-q", "close-month", str(other), "--actuals", str(source), "--no-refresh"]) == 0
    for name in (
        "tblExecution",
        "tblExceptions",
        "tblSensing",
        "tblWeeks",
        "tblWeekly",
        "tblBasisItems",
    ):
        pd.testing.assert_frame_equal(frame(book_copy, name), frame(other, name), obj=name)
    assert (
        frame(book_copy, "tblForecast")["month"].min() == NOV
    )  # the forecast waits for refresh-forecast


def _tables_read(monkeypatch) -> list[str]:
    """The names of the tables the commands read from now on, in order."""
    seen: list[str] = []
    inner = tables.read_frame
    for module in (macros, closing, cache, aside):  # every module of the commands that reads one
        monkeypatch.setattr(module, "read_frame", lambda b, n: seen.append(n) or inner(b, n))
    return seen


@pytest.mark.parametrize("ahead", [False, True])
def test_the_snapshots_of_months_history_does_not_hold_change_nothing(
    small_copy, tmp_path, monkeypatch, ahead
):
    """close-month takes only the snapshots of months up to the as-of month from its reader
    (monthly.snapshots_through): every table it writes is the one all of them give. History
    holding a later month (typed in ahead): all of them are read."""
    book_copy = small_copy  # which snapshots are read, not the demo's size
    from sop_excel.core import monthly

    source = rest_of_november(tmp_path, book_copy)
    if ahead:
        book = ZipIO(book_copy)
        hist = read_frame(book, "tblHistory")
        row = hist.iloc[[0]].assign(month=pd.Timestamp("2027-01-01"), qty=5.0)
        write_frame(book, "tblHistory", pd.concat([hist, row], ignore_index=True))
        book.save()
    other = tmp_path / "other.xlsx"
    shutil.copyfile(book_copy, other)
    snaps = read_frame(ZipIO(book_copy), "tblSnapshots")
    assert len(monthly.snapshots_through(snaps, NOV)) < len(snaps)  # some are left out
    seen = _tables_read(monkeypatch)
    args = ["-q", "close-month", "--actuals", str(source), "--no-refresh"]
    assert main([*args, str(book_copy)]) == 0
    # read here, whole, only when History is ahead (the months up to November: by a reader of
    # its own, forked or not)
    assert seen.count("tblSnapshots") == int(ahead)
    monkeypatch.setattr(monthly, "snapshots_through", lambda s, last: s)  # all of them
    assert main([*args, str(other)]) == 0
    for name in (
        "tblMonthAccuracy",
        "tblFVA",
        "tblWaterfall",
        "tblBasisItems",
        "tblExecution",
        "tblExceptions",
        "tblHistory",
    ):
        a, b = frame(book_copy, name), frame(other, name)
        assert len(a), name
        pd.testing.assert_frame_equal(a, b, obj=name)
