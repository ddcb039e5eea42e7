"""One contract, every side of the workbook interface: headless openpyxl, headless zip, live xlwings (faked)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sop_excel.errors import LayoutError
from sop_excel.workbook.io import Formula
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.xlwings_io import XlwingsIO
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.tiny import build_tiny
from tests.sop_excel.workbook.fake_xlwings import FakeBook

PAYLOADS = [
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "'quoted",
    "plain",
]


@pytest.fixture(params=["openpyxl", "zip", "xlwings"])
def side(request, tmp_path):
    path = tmp_path / "tiny.xlsx"
    build_tiny(path)
    headless = {"openpyxl": OpenpyxlIO, "zip": ZipIO}.get(request.param)
    if headless is not None:

        def reopen(book):
            book.save()
            again = headless(path)
            assert (
                getattr(again, "fallback_reason", None) is None
            )  # the zip side did the work itself
            return again

        return headless(path), reopen
    book = XlwingsIO(FakeBook.from_xlsx(path))
    return book, lambda b: b


def test_lists_the_layout_tables(side):
    book, _ = side
    assert {"tblForecast", "tblFinance", "tblSettings", "tblLog"} <= set(book.table_names())


def test_read_gives_header_then_values_and_formulas(side):
    book, _ = side
    rows = book.read_table("tblForecast")
    assert rows[0][:5] == ["Item", "Family", "Site", "Month", "Baseline"]
    final = rows[1][rows[0].index("Final")]
    assert isinstance(final, Formula) and final.text.startswith("=IF(ISNUMBER(")


def test_write_resizes_and_round_trips(side):
    book, reopen = side
    header = book.read_table("tblLog")[0]
    rows = [header] + [
        [dt.datetime(2026, 11, 18, 9, 0), f"cmd{i}", "u", "d", "x"] for i in range(5)
    ]
    book.write_table("tblLog", rows)
    book = reopen(book)
    got = book.read_table("tblLog")
    assert len(got) == 6 and got[5][1] == "cmd4"
    book.write_table("tblLog", rows[:2])
    book = reopen(book)
    assert len(book.read_table("tblLog")) == 2


def test_text_that_looks_like_a_formula_stays_text(side):
    book, reopen = side
    header = book.read_table("tblLog")[0]
    book.write_table("tblLog", [header] + [[None, p, "", "", ""] for p in PAYLOADS])
    book = reopen(book)
    got = [r[1] for r in book.read_table("tblLog")[1:]]
    assert got == PAYLOADS
    assert not any(isinstance(v, Formula) for v in got)


def test_formula_cells_become_formulas(side):
    book, reopen = side
    header = book.read_table("tblLog")[0]
    book.write_table("tblLog", [header, [None, "x", "", Formula("=1+1", 2.0), ""]])
    book = reopen(book)
    cell = book.read_table("tblLog")[1][3]
    assert isinstance(cell, Formula) and cell.text == "=1+1"


def test_frames_read_the_same_on_both_sides(side):
    book, _ = side
    items = read_frame(book, "tblItems")
    assert items["item"].tolist() == ["A-1", "A-2", "B-1"]
    assert items["price"].tolist() == [100.0, 50.0, 20.0]


def test_missing_table(side):
    book, _ = side
    with pytest.raises(LayoutError, match="tblNope"):
        book.read_table("tblNope")


def test_close_month_does_the_same_on_every_side(side):
    """close-month through each side (live Excel faked): History, the roll, the record, the log."""
    from sop_excel import macros

    book, reopen = side
    nov, dec = pd.Timestamp("2026-11-01"), pd.Timestamp("2026-12-01")
    report = macros.close_month(book, force=True, today=dt.date(2026, 12, 2))
    assert report.lines[0].startswith(
        "Closed November 2026: History has 2 items for it, 12 units of orders"
    )
    book = reopen(book)
    hist = read_frame(book, "tblHistory")
    assert hist[hist["month"] == nov].set_index("item")["qty"].to_dict() == {"A-1": 3.0, "B-1": 9.0}
    assert len(hist) == 4  # A-1's two months kept; A-2 has neither History nor actuals: no row
    assert macros.read_settings(book).as_of == dt.date(2026, 12, 1)
    fc = read_frame(book, "tblForecast")
    # A-2, without history, is forecast as a new item (from its like item, else 0)
    assert fc["month"].min() == dec and set(fc["item"]) == {"A-1", "A-2", "B-1"}
    record = read_frame(book, "tblClosedMonths")
    assert record["month"].tolist() == [nov] and record["forced"].tolist() == ["Yes"]
    assert read_frame(book, "tblLog")["command"].tolist()[-1] == "close-month"
    assert read_frame(book, "tblExecution")["mtd_orders"].sum() == 0  # December has no orders yet
    # a second time: nothing to do, nothing written
    again = macros.close_month(book, force=True, today=dt.date(2026, 12, 2))
    assert not again.changed and "closed already" in again.lines[0]


SUPPLY_OUT = [
    "tblProduction",
    "tblEvents",
    "tblSupplyWeeks",
    "tblSupplyItems",
    "tblExceptions",
    "tblExecution",
]


def test_the_supply_commands_give_the_same_tables_on_every_side(tmp_path):
    """refresh-actuals with production and receipts, then add-event: the live side (Excel, faked)
    and both headless sides write the same Production, Events, Supply weeks and Exceptions."""
    import pandas as pd

    from sop_excel import macros

    actuals = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-05", "2026-11-05"]),
            "item": ["A-1", "B-1"],
            "orders": [2.0, 5.0],
            "shipments": [2.0, 4.0],
        }
    )
    supply = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-05", "2026-11-05", "2026-11-30"]),
            "item": ["A-1", "B-1", "A-2"],
            "resource": ["L1", "L2", "L1"],
            "produced": [1.0, 6.0, 0.0],
            "receipts": [0.0, 0.0, 12.0],
        }
    )
    got = {}
    for name in ("openpyxl", "zip", "xlwings"):
        path = tmp_path / f"{name}.xlsx"
        build_tiny(path)
        book = {"openpyxl": OpenpyxlIO, "zip": ZipIO}.get(
            name, lambda p: XlwingsIO(FakeBook.from_xlsx(p))
        )(path)
        macros.refresh_actuals(book, actuals, source="test", supply=supply, supply_source="mes")
        macros.add_event(
            book,
            "Resource down",
            resource="L1",
            start=pd.Timestamp("2026-11-19"),
            working_days=2,
            owner="Plant",
        )
        if name != "xlwings":
            book = {"openpyxl": OpenpyxlIO, "zip": ZipIO}[name](path)
        got[name] = {t: read_frame(book, t) for t in SUPPLY_OUT}
    assert len(got["zip"]["tblProduction"]) == 3 and got["zip"]["tblEvents"]["id"].tolist() == [
        "E1"
    ]
    assert (got["zip"]["tblSupplyWeeks"]["event_hours"] > 0).any()
    for name in ("openpyxl", "xlwings"):
        for t in SUPPLY_OUT:
            pd.testing.assert_frame_equal(
                got[name][t], got["zip"][t], obj=f"{name} {t}", check_dtype=False
            )
