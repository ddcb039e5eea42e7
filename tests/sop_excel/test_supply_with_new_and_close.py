"""Issue 21's supply side where it meets issues 15 and 16: production as one of a company's
exports (``sop-excel new --production``), and the monthly close of a workbook with production,
receipts and events (the Production sheet's window, the opening stock rolled, events kept)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil

import pandas as pd
import pytest

from sop_excel import macros
from sop_excel.cli import main
from sop_excel.errors import InputError
from sop_excel.sample import load_sample_company
from sop_excel.sources.columns import ReadMapping
from sop_excel.sources.exports import read_production
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel import exports_data as ed
from tests.sop_excel.test_close_month import rest_of_november

FAST = '[settings]\nForecastMethod = "seasonal_naive"\n'
# a German MES export: semicolons, decimal commas, day-first dates, its own column names
PRODUCTION = """Datum;Artikel;Arbeitsplatz;Gefertigt;Wareneingang
01.03.2027;HG-100;;12,5;
01.03.2027;HG-100;;2,5;
02.03.2027;HG-101;LY-ASM;7;
15.01.2027;HG-100;;9;
03.03.2027;XX-999;;4;
20.03.2027;HG-102;;5;30
"""


def frame(path, name):
    book = ZipIO(path)
    try:
        return read_frame(book, name)
    finally:
        book.close()


def run(args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(args)
    return code, buf.getvalue()


def test_new_reads_a_production_export_onto_the_production_sheet(tmp_path):
    heron = ed.company()
    files = ed.write_long_csv(tmp_path / "exports", heron)
    (tmp_path / "fast.toml").write_text(FAST, encoding="utf-8")
    (tmp_path / "mes.csv").write_bytes(PRODUCTION.encode("cp1252"))
    out = tmp_path / "heron.xlsx"
    args = [
        "-q",
        "new",
        str(out),
        "--as-of",
        f"{ed.AS_OF}",
        "--mapping",
        str(tmp_path / "fast.toml"),
        "--production",
        str(tmp_path / "mes.csv"),
    ]
    for kind, path in files.items():
        args += [f"--{kind.replace('_', '-')}", str(path)]
    code, printed = run(args)
    assert code == 0, printed
    assert (
        "Production: mes.csv; columns date = 'Datum', item = 'Artikel', resource = 'Arbeitsplatz'"
        in printed
    )
    assert "dates read as day/month/year" in printed and "decimal comma" in printed
    assert (
        "left out: 1 lines of items not in the item master (XX-999); 1 lines dated before February 2027; "
        "production of 1 lines dated after the as-of date 2027-03-10"
    ) in printed
    prod = frame(out, "tblProduction")
    assert prod[["item", "resource", "produced", "receipts"]].values.tolist() == [
        ["HG-100", "PO-ASM", 15.0, 0.0],  # two lines of one day summed; the item's own resource
        ["HG-101", "LY-ASM", 7.0, 0.0],
        ["HG-102", "PO-ASM", 0.0, 30.0],  # not made yet; the receipt is due
    ]
    assert prod["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2027-03-01",
        "2027-03-02",
        "2027-03-20",
    ]
    supply = frame(out, "tblSupplyItems")
    assert len(supply) == 12 and supply.set_index("item").loc["HG-100", "mtd_produced"] == 15.0
    assert set(frame(out, "tblSupplyWeeks")["resource"]) == {"LY-ASM", "PO-ASM"}
    exc = frame(out, "tblExceptions")
    assert set(exc["area"]) <= {"Demand", "Supply", "Capacity"}
    assert frame(out, "tblEvents").empty and "Supply weeks: 0 events" in printed


def test_a_production_export_naming_an_unknown_resource_is_refused_by_cell(tmp_path):
    heron = ed.company()
    items = heron["items"].assign(like_item="", method="")
    path = tmp_path / "p.csv"
    path.write_text(
        "date,item,line,produced\n2027-03-01,HG-100,PO-ASM,3\n2027-03-01,HG-101,NOPE,2\n"
    )
    with pytest.raises(InputError) as err:
        read_production(
            path,
            ReadMapping(columns={"production": {"resource": "line"}}),
            items,
            heron["capacity"],
            ed.AS_OF,
        )
    assert (
        "File p.csv, row 3, column 'line': 'NOPE' is not a resource of the item master or the capacity file"
        in str(err.value)
    )
    path.write_text("date,item,qty\n2027-03-01,HG-100,3\n")
    with pytest.raises(InputError, match="no column for produced or receipts"):
        read_production(path, ReadMapping(), items, heron["capacity"], ed.AS_OF)


def test_close_month_rolls_the_stock_keeps_the_events_and_windows_the_production_sheet(
    demo_book, tmp_path
):
    book = tmp_path / "plan.xlsx"
    shutil.copyfile(demo_book, book)
    before_items = frame(book, "tblItems").set_index("item")
    production = frame(book, "tblProduction")
    assert (
        production["date"].min() >= pd.Timestamp("2026-11-01")
        and len(frame(book, "tblEvents")) == 2
    )
    code, printed = run(["close-month", str(book), "--actuals", str(rest_of_november(tmp_path))])
    assert code == 0, printed
    # the opening stock of December = November's + produced + received - shipped in November
    month = load_sample_company().month_actuals
    nov = production[production["date"] <= pd.Timestamp("2026-11-30")]
    flow = (nov.groupby("item")["produced"].sum() + nov.groupby("item")["receipts"].sum()).reindex(
        before_items.index, fill_value=0.0
    ) - month.groupby("item")["shipments"].sum().reindex(before_items.index, fill_value=0.0)
    after_items = frame(book, "tblItems").set_index("item")
    assert after_items["opening_stock"].to_numpy() == pytest.approx(
        (before_items["opening_stock"] + flow).to_numpy()
    )
    assert "Items > Opening stock: the stock at the start of December 2026" in printed
    # November's production stays (the Actuals sheet keeps November too); the events stay, E1 is named
    assert len(frame(book, "tblProduction")) == len(production)
    assert frame(book, "tblEvents")["id"].tolist() == ["E1", "E2"]
    assert (
        "Warning: 1 event(s) on the Events sheet ended before December 2026 and are still Open or In progress "
        "(LDS-PA1 down 3 working days from 2026-11-20 (E1))"
    ) in printed
    log = frame(book, "tblExceptionLog")
    closing = log[log["event"] == "month closed"]
    assert len(closing) and set(closing["area"]) <= {"Demand", "Supply", "Capacity"}
    assert "Supply: " in printed  # the supply view of December
    # closing December (forced, without the refresh): November's production leaves the sheet
    report = macros.close_month(ZipIO(book), force=True, today=dt.date(2027, 1, 4), refresh=False)
    kept = frame(book, "tblProduction")
    assert kept["date"].min() >= pd.Timestamp("2026-12-01")
    removed = int((production["date"] < pd.Timestamp("2026-12-01")).sum())
    assert any(
        line.startswith(
            f"Production sheet: keeps December 2026 onward, as the Actuals sheet; {removed} rows"
        )
        for line in report.lines
    ), report.lines


def test_refresh_actuals_keeps_production_to_the_actuals_window(demo_book, tmp_path):
    book = tmp_path / "plan.xlsx"
    shutil.copyfile(demo_book, book)
    day = tmp_path / "day.csv"
    day.write_text("date,item,orders,shipments\n2026-11-19,PMP-1001,3,3\n")
    supply = tmp_path / "mes.csv"
    supply.write_text("date,item,produced\n2026-11-19,PMP-1001,4\n2026-09-30,PMP-1001,5\n")
    code, printed = run(
        ["refresh-actuals", str(book), "--actuals", str(day), "--supply", str(supply)]
    )
    assert code == 0, printed
    assert (
        "Warning: 1 rows of production and receipts dated before October 2026 are not kept on the Production "
        "sheet"
    ) in printed
    prod = frame(book, "tblProduction")
    assert prod["date"].min() >= pd.Timestamp("2026-10-01")
    row = prod[(prod["item"] == "PMP-1001") & (prod["date"] == pd.Timestamp("2026-11-19"))]
    assert row["produced"].tolist() == [4.0]
