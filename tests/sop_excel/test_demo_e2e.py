"""End to end: the demo workbook, reopened, refreshed, and checked by a real spreadsheet program."""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.check import check_workbook, compare_recalculated, formula_cells
from sop_excel.cli import main
from sop_excel.macros import read_settings
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.libreoffice import recalculate_all
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.conftest import cell, sheet, type_into_forecast
from tests.sop_excel.monthly_cycle import small_sample
from tests.sop_excel.zip_cells import set_cells

LAYOUT = load_layout()


def test_every_sheet_table_and_named_range_is_there(demo_book, demo_openpyxl):
    wb = demo_openpyxl
    assert wb.sheetnames == [s.name for s in LAYOUT.sheets]
    tables = {name for ws in wb.worksheets for name in ws.tables}
    assert tables == {t.name for t in LAYOUT.tables}
    for spec in LAYOUT.settings.rows:
        assert spec.name in wb.defined_names
    for s in LAYOUT.sheets:
        assert wb[s.name].freeze_panes == "A4", s.name  # header row frozen
    assert wb["Dashboard"]._charts, "a native chart of history and forecast"
    problems, _ = check_workbook(demo_book)
    assert problems == []


def test_number_formats_and_validation(demo_openpyxl):
    wb = demo_openpyxl
    ws = wb["Forecast"]
    assert ws[cell("tblForecast", "month", 0)].number_format == "mmm yyyy"
    assert ws[cell("tblForecast", "baseline", 0)].number_format == "#,##0"
    assert wb["Finance"]["H4"].number_format == "0.0%"
    dv_formulas = [dv.formula1 for dv in wb["Settings"].data_validations.dataValidation]
    assert any("auto" in (f or "") for f in dv_formulas)
    status = cell("tblExecution", "status", 0)
    cf_ranges = [str(cf.sqref) for cf in wb["Execution"].conditional_formatting]
    assert any(r.startswith(status + ":") for r in cf_ranges)
    assert wb["Plan of record"].protection.sheet and wb["Snapshots"].protection.sheet


def test_reopens_with_pandas_and_every_formula_has_a_value(demo_book):
    cells = formula_cells(demo_book)
    assert len(cells) > 1000
    assert [k for k, v in cells.items() if v is None] == []
    fin = sheet(demo_book, "Finance")
    assert fin["Revenue"].notna().all() and (fin["Revenue"] > 0).all()


def test_forecasts_are_finite_nonnegative_and_plausible(demo_book):
    fc = sheet(demo_book, "Forecast")
    hist = sheet(demo_book, "History")
    items = sheet(demo_book, "Items")
    for col in ["Baseline", "Lo 80", "Hi 80", "Lo 95", "Hi 95"]:
        assert np.isfinite(fc[col]).all() and (fc[col] >= 0).all(), col
    assert (fc["Lo 95"] <= fc["Lo 80"] + 1e-9).all() and (
        fc["Lo 80"] <= fc["Baseline"] + 1e-9
    ).all()
    assert (fc["Baseline"] <= fc["Hi 80"] + 1e-9).all() and (
        fc["Hi 80"] <= fc["Hi 95"] + 1e-9
    ).all()
    assert fc["Item"].nunique() == len(items)
    # plausible: next-12-month total within a factor of the last 12 months, for active items
    last12 = hist[hist["Month"] >= hist["Month"].max() - pd.DateOffset(months=11)]
    h = last12.groupby("Item")["Qty"].sum()
    f = (
        fc[fc["Month"] < fc["Month"].min() + pd.DateOffset(months=12)]
        .groupby("Item")["Baseline"]
        .sum()
    )
    active = items.loc[items["Status"] == "active", "Item"]
    big = [i for i in active if h.get(i, 0) >= 120]
    ratio = f[big] / h[big]
    assert ratio.between(0.4, 2.5).all(), ratio[~ratio.between(0.4, 2.5)]
    disc = items.loc[items["Status"] == "discontinued", "Item"]
    assert (fc[fc["Item"].isin(disc)]["Baseline"] < 1).all(), "a discontinued item forecasts ~0"
    models = sheet(demo_book, "Forecast", "tblModels")
    assert models["Method"].notna().all() and models["Reason"].str.len().gt(10).all()


def test_every_derived_table_equals_a_python_recomputation(demo_book):
    book = OpenpyxlIO(demo_book)
    settings = read_settings(book)
    items = read_frame(book, "tblItems")
    frames = pipeline.sop_frames(
        settings,
        items,
        read_frame(book, "tblForecast"),
        read_frame(book, "tblInputs"),
        read_frame(book, "tblFamilyTargets"),
        read_frame(book, "tblScenarioList"),
        read_frame(book, "tblDrivers"),
        read_frame(book, "tblBudget"),
        read_frame(book, "tblCapacity"),
    )
    for table, cols in {
        "tblFinance": ["Volume", "Revenue", "Cost", "Margin", "Gap to budget"],
        "tblCompare": ["Revenue", "Margin", "Gap to budget", "Peak load %"],
        "tblForecast": ["Final", "Revenue", "Consensus", "Family share"],
        "tblScenarioPlan": ["Volume", "Price", "Revenue"],
    }.items():
        got = sheet(demo_book, None, table)
        t = LAYOUT.table(table)
        for col in cols:
            field = next(c.field for c in t.columns if c.header == col)
            np.testing.assert_allclose(
                got[col].astype(float),
                frames[table][field].astype(float),
                rtol=1e-9,
                atol=1e-6,
                err_msg=f"{table}[{col}]",
            )


@pytest.fixture(scope="module")
def refreshed(small_book, tmp_path_factory):
    """A copy of the demo (the small company's: what refresh-forecast keeps does not depend on
    the demo's size) a planner edited in Excel (saved by openpyxl: a scenario driver's
    value and comment, an override with its reason code and comment), then refresh-forecast.
    Shared by the tests that only read the result: the edits, the Scenarios table before the
    refresh, and the overridden row's item and month."""
    path = tmp_path_factory.mktemp("refreshed") / "plan.xlsx"
    path.write_bytes(small_book.read_bytes())
    wb = openpyxl.load_workbook(path)
    _edit_scenario(wb, 0.25)
    item, month = type_into_forecast(
        wb, 2, override=123, reason_code="Promotion", comment="promo agreed with sales"
    )
    wb.save(path)
    scen_before = sheet(path, "Scenarios", "tblDrivers")
    assert main(["-q", "refresh-forecast", str(path)]) == 0
    return {"path": path, "item": item, "month": month, "scenarios": scen_before}


@pytest.fixture(scope="module")
def recalculated(demo_book, refreshed, tmp_path_factory):
    """The demo and the refreshed copy recalculated by LibreOffice in one run."""
    books = [demo_book, refreshed["path"]]
    return dict(zip(books, recalculate_all(books, tmp_path_factory.mktemp("lo")), strict=True))


@pytest.mark.libreoffice
def test_libreoffice_recalculates_demo_to_the_cached_values(demo_book, recalculated):
    assert compare_recalculated(demo_book, recalculated[demo_book]) == []


def _edit_scenario(wb, value):
    """A planner edits the second driver's Value and Comment on the Scenarios sheet."""
    ws = wb["Scenarios"]
    ws[cell("tblDrivers", "value", 1)] = value
    ws[cell("tblDrivers", "comment", 1)] = "planner note kept?"
    return ws[cell("tblDrivers", "scenario", 1)].value, ws[cell("tblDrivers", "family", 1)].value


def test_refresh_actuals_changes_execution_and_keeps_planner_edits(small_copy, capsys):
    book_copy = small_copy  # behaviour, not the demo's size: the small company's demo
    wb = openpyxl.load_workbook(book_copy)  # the planner's edits, saved once
    scen, fam = _edit_scenario(wb, 0.33)
    wb["Forecast"][cell("tblForecast", "override", 1)] = 999  # an override
    wb["Exceptions"][cell("tblExceptions", "owner", 0)] = "Dana"  # an owner on the first exception
    first_exc = wb["Exceptions"][cell("tblExceptions", "item", 0)].value
    wb.save(book_copy)
    before = sheet(book_copy, "Execution")
    sop_before = {name: sheet(book_copy, name) for name in ("Finance", "Scenarios", "Forecast")}
    csv = next(book_copy.parent.glob("*_actuals_*.csv"))
    assert main(["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "Workbook updated" in out
    # openpyxl saved the edits without any formula's value: the refresh computed them again
    assert "formula cells of the S&OP sheets had no saved value" in out
    assert [k for k, v in formula_cells(book_copy).items() if v is None] == []
    after = sheet(book_copy, "Execution")
    assert not after["MTD orders"].equals(before["MTD orders"])
    assert after["MTD orders"].sum() > before["MTD orders"].sum()
    wb = openpyxl.load_workbook(book_copy)
    ws = wb["Scenarios"]
    assert (
        ws[cell("tblDrivers", "scenario", 1)].value,
        ws[cell("tblDrivers", "family", 1)].value,
        ws[cell("tblDrivers", "value", 1)].value,
        ws[cell("tblDrivers", "comment", 1)].value,
    ) == (scen, fam, 0.33, "planner note kept?")
    assert wb["Forecast"][cell("tblForecast", "override", 1)].value == 999
    exc = sheet(book_copy, "Exceptions")
    if first_exc in set(exc["Item"]):
        assert exc.set_index("Item").loc[first_exc, "Owner"] == "Dana"
    # the planner's inputs on the S&OP sheets are as they were (Finance's formulas have values
    # again, computed from them, as compare-scenarios would)
    for name, frame in sop_before.items():
        if name == "Finance":
            continue
        got = sheet(book_copy, name)
        table = next(t for t in LAYOUT.tables if t.sheet == name)
        inputs = [c.header for c in table.columns if not c.formula]
        pd.testing.assert_frame_equal(got[inputs], frame[inputs], check_dtype=False)
    assert sheet(book_copy, "Finance")["Revenue"].notna().all()
    assert main(["-q", "compare-scenarios", str(book_copy)]) == 0
    assert [k for k, v in formula_cells(book_copy).items() if v is None] == []
    # loading the same file twice changes nothing
    snap = sheet(book_copy, "Actuals")
    assert main(["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv)]) == 0
    pd.testing.assert_frame_equal(sheet(book_copy, "Actuals"), snap)
    log = sheet(book_copy, "Log")
    assert list(log["Command"]) == [
        "demo",
        "refresh-actuals",
        "compare-scenarios",
        "refresh-actuals",
    ]


@pytest.mark.libreoffice
def test_refreshed_workbook_still_recalculates_to_cached_values(refreshed, recalculated):
    book = refreshed["path"]
    assert compare_recalculated(book, recalculated[book]) == []


def test_refresh_forecast_keeps_overrides_comments_and_scenarios(refreshed):
    book_copy, item, month = refreshed["path"], refreshed["item"], refreshed["month"]
    scen_before = refreshed["scenarios"]
    fc = sheet(book_copy, "Forecast").set_index(["Item", "Month"])
    assert fc.loc[(item, pd.Timestamp(month)), "Override"] == 123
    assert fc.loc[(item, pd.Timestamp(month)), "Final"] == 123
    assert fc.loc[(item, pd.Timestamp(month)), "Comment"] == "promo agreed with sales"
    assert fc.loc[(item, pd.Timestamp(month)), "Reason code"] == "Promotion"
    pd.testing.assert_frame_equal(sheet(book_copy, "Scenarios", "tblDrivers"), scen_before)


def test_a_workbook_built_before_a_header_was_renamed_is_read_and_checked(small_book, tmp_path):
    """Accuracy's 'FVA final vs stat' and 'FVA final vs naive' were 'FVA consensus vs ...': a
    workbook built then is read by the commands and passes check; the next write of the table
    gives it today's header (on the small company's demo: the same sheets and headers)."""
    demo_book = small_book
    old = tmp_path / "old.xlsx"
    with zipfile.ZipFile(demo_book) as src, zipfile.ZipFile(old, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".xml"):
                data = data.replace(b"FVA final vs", b"FVA consensus vs")
            dst.writestr(info, data)

    def headers(name: str) -> list[str]:  # the zip side reads what openpyxl reads (test_zip_io)
        return [str(h) for h in ZipIO(old).read_table(name)[0]]

    assert "FVA consensus vs stat" in headers(T.FVA)
    assert "FVA consensus vs naive" in headers(T.MONTH_ACCURACY)
    assert check_workbook(old)[0] == []
    pd.testing.assert_frame_equal(
        read_frame(ZipIO(old), T.FVA), read_frame(ZipIO(demo_book), T.FVA)
    )
    assert main(["-q", "lock-plan", str(old)]) == 0  # reads Accuracy's tables, writes tblFVA
    assert "FVA final vs stat" in headers(T.FVA) and "FVA consensus vs stat" not in headers(T.FVA)
    assert check_workbook(old)[0] == []


def test_bad_actuals_give_a_clear_message_and_leave_the_workbook(book_copy, tmp_path, capsys):
    before = book_copy.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,item,orders,shipments\n2026-11-19,PMP-NOPE,1,1\n2026-11-19,X,lots,1\n")
    assert main(["refresh-actuals", str(book_copy), "--actuals", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "File bad.csv, row 3, column 'orders': 'lots' is not a number" in err
    assert "Traceback" not in err
    missing = tmp_path / "missing.csv"
    missing.write_text("date,item,qty\n2026-11-19,X,1\n")
    assert main(["refresh-actuals", str(book_copy), "--actuals", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "missing columns 'orders', 'shipments'" in err
    assert book_copy.read_bytes() == before


def test_bad_settings_value_names_the_cell(book_copy, capsys):
    set_cells(book_copy, "Settings", {"B5": "eighteen"})  # Horizon (second setting row)
    assert main(["refresh-forecast", str(book_copy)]) == 1
    err = capsys.readouterr().err
    assert "Sheet 'Settings', cell B5 (Horizon (months))" in err and "'eighteen'" in err
    assert "'eighteen' is not a number" in err and "Input should" not in err


def test_settings_problems_are_in_plain_words(book_copy, capsys):
    """pydantic's wording ("Input should be less than or equal to 36", "Value error, ...") and a
    dict of every setting as the value of a rule across settings are not shown to planners."""
    wb = openpyxl.load_workbook(book_copy, read_only=True)
    rows = {r[0].value: r[0].row for r in wb["Settings"].iter_rows(max_col=1) if r[0].value}
    wb.close()
    set_cells(
        book_copy,
        "Settings",
        {
            f"B{rows['Horizon (months)']}": 99,
            f"B{rows['Correct outliers']}": "maybe",
            f"B{rows['Drift watch %']}": 0.5,
            f"B{rows['Drift act %']}": 0.2,
        },
    )
    assert main(["refresh-forecast", str(book_copy)]) == 1
    err = capsys.readouterr().err
    assert "99 must be at most 36." in err
    assert "'maybe' must be yes or no." in err
    assert "Input should" not in err and "Value error" not in err and "{" not in err
    set_cells(
        book_copy,
        "Settings",
        {f"B{rows['Horizon (months)']}": 18, f"B{rows['Correct outliers']}": "yes"},
    )
    capsys.readouterr()
    assert main(["refresh-forecast", str(book_copy)]) == 1
    err = capsys.readouterr().err
    assert (
        "Sheet 'Settings': Drift watch % must not be above Drift act %." in err and "{" not in err
    )


def test_demo_as_of_flag_moves_every_date(tmp_path):
    """The CLI's demo as of another day (the small company's: the dates, not the size)."""
    out = tmp_path / "p.xlsx"
    with small_sample(dt.date(2027, 3, 9)):
        assert main(["-q", "demo", "--out", str(out), "--as-of", "2027-03-09"]) == 0
    fc = sheet(out, "Forecast")
    assert fc["Month"].min() == pd.Timestamp("2027-03-01")
    assert sheet(out, "History")["Month"].max() == pd.Timestamp("2027-02-01")
    act = sheet(out, "Actuals")
    assert act["Date"].max() <= pd.Timestamp("2027-03-09") and act["Date"].min() >= pd.Timestamp(
        "2027-03-01"
    )


def test_refresh_actuals_from_a_sqlite_database_is_incremental_and_idempotent(small_copy, tmp_path):
    book_copy = small_copy  # behaviour, not the demo's size: the small company's demo
    from sop_excel.sources import write_actuals_sqlite

    day = pd.read_csv(next(book_copy.parent.glob("*_actuals_*.csv")), parse_dates=["date"])
    db = tmp_path / "erp.db"
    old_month = day.assign(
        date=day["date"] - pd.DateOffset(months=1)
    )  # not pulled: before the month
    write_actuals_sqlite(db, pd.concat([old_month, day], ignore_index=True))
    before = sheet(book_copy, "Actuals")
    assert main(["-q", "refresh-actuals", str(book_copy), "--source", str(db)]) == 0
    once = sheet(book_copy, "Actuals")
    assert len(once) == len(before) + len(day)
    assert once["Date"].min() >= pd.Timestamp("2026-11-01")
    assert main(["-q", "refresh-actuals", str(book_copy), "--source", f"sqlite:///{db}"]) == 0
    pd.testing.assert_frame_equal(sheet(book_copy, "Actuals"), once)
    # a late correction in the source replaces the earlier figure
    fix = day.iloc[[0]].assign(orders=day.iloc[0]["orders"] + 100)
    write_actuals_sqlite(db, fix)
    assert main(["-q", "refresh-actuals", str(book_copy), "--source", str(db)]) == 0
    after = sheet(book_copy, "Actuals")
    assert len(after) == len(once)
    row = after[(after["Date"] == fix.iloc[0]["date"]) & (after["Item"] == fix.iloc[0]["item"])]
    assert row["Orders"].tolist() == [fix.iloc[0]["orders"]]
    assert sheet(book_copy, "Log")["Command"].tolist()[-3:] == ["refresh-actuals"] * 3
