"""sop-excel update-items: a new item master into a working planning workbook, nothing lost."""

from __future__ import annotations

import hashlib
import shutil

import openpyxl
import pandas as pd
import pytest

from sop_excel.check import check_workbook, compare_recalculated
from sop_excel.cli import main
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.conftest import type_into_forecast

JAN = pd.Timestamp("2027-01-01")


@pytest.fixture(scope="module")
def updated(small_book, tmp_path_factory):
    """The demo (the small company's: update-items works the same on any number of items) with a
    planner's override and comment, then a new item master: a new item with a like item, one
    obsolete, a price rise from January, Spares renamed, one item left out."""
    demo_book = small_book
    import contextlib
    import io
    import shutil

    tmp_path = tmp_path_factory.mktemp("update")
    book_copy = tmp_path / "plan.xlsx"
    shutil.copyfile(demo_book, book_copy)
    wb = openpyxl.load_workbook(book_copy)
    item, month = type_into_forecast(wb, 5, override=321, comment="kept?")
    wb.save(book_copy)
    before = {
        t: read_frame(ZipIO(book_copy), t)
        for t in ("tblDrivers", "tblInputs", "tblScenarioList", "tblHistory")
    }
    items = pd.read_csv(
        demo_book.parent / f"{demo_book.stem}_exports" / "items.csv", keep_default_na=False
    )
    items.loc[items["item"] == "PMP-1001", "price"] = 799.0
    items.loc[items["item"] == "VLV-2003", "status"] = "obsolete"
    items.loc[items["family"] == "Spares", "family"] = "Service parts"
    new = items[items["item"] == "PMP-1001"].assign(
        item="PMP-2100", description="Smart pump", like_item="PMP-1001"
    )
    items = pd.concat([items[items["item"] != "CTL-3004"], new], ignore_index=True)
    src = tmp_path / "master.csv"
    items.to_csv(src, index=False, sep=";", decimal=",")  # as a German ERP exports it
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["-q", "update-items", str(book_copy), str(src), "--from", "2027-01-15"]) == 0
    return book_copy, src, buf.getvalue(), before, (item, pd.Timestamp(month))


def test_new_discontinued_and_repriced_items_keeping_the_planners_work(updated):
    book, _, out, before, (o_item, o_month) = updated
    io = ZipIO(book)
    items = read_frame(io, "tblItems").set_index("item")
    assert (
        items.loc["PMP-2100", "status"] == "new"
        and items.loc["PMP-2100", "like_item"] == "PMP-1001"
    )
    assert (
        items.loc["VLV-2003", "status"] == "discontinued"
        and items.loc["VLV-2003", "discontinued_from"] == JAN
    )
    assert items.loc["PMP-1001", "price"] == 737.38  # today's price until January
    assert (
        items.loc["PMP-1001", "new_price"] == 799.0 and items.loc["PMP-1001", "price_from"] == JAN
    )
    assert items.loc["CTL-3004", "status"] == "active"  # not in the file: kept, and said
    fc = read_frame(io, "tblForecast").set_index(["item", "month"])
    new, like = fc.loc["PMP-2100"], fc.loc["PMP-1001"]
    assert (new["baseline"] == like["baseline"]).all() and len(new) == 18
    gone = fc.loc["VLV-2003"]
    assert (gone.loc[gone.index >= JAN, "baseline"] == 0).all() and (
        gone.loc[gone.index < JAN, "baseline"] > 0
    ).all()
    assert (
        fc.loc[(o_item, o_month), "override"] == 321
        and fc.loc[(o_item, o_month), "comment"] == "kept?"
    )
    plan = read_frame(io, "tblScenarioPlan")
    p = plan[(plan["scenario"] == "Base") & (plan["item"] == "PMP-1001")].set_index("month")[
        "price"
    ]
    assert p[pd.Timestamp("2026-12-01")] == pytest.approx(737.38) and p[JAN] == pytest.approx(799.0)
    for t, frame in before.items():  # scenarios, inputs and history as they were
        pd.testing.assert_frame_equal(
            read_frame(io, t).reset_index(drop=True),
            frame.reset_index(drop=True),
            check_dtype=False,
            obj=t,
        )
    assert "Added 1 (forecast as new items): PMP-2100." in out
    assert "Discontinued from Jan 2027 (forecast 0 from then, history kept): VLV-2003." in out
    assert (
        "PMP-1001 price 737.38 -> 799" in out
        and "SPR-4001 family 'Spares' -> 'Service parts'" in out
    )
    assert "CTL-3004" in out and "--discontinue-missing" in out
    assert (
        "Scenario 'Upside': the volume driver (Scenarios row" in out
        and "family 'Spares', which has no items" in out
    )
    assert "Family target Spares" in out
    assert read_frame(io, "tblLog")["command"].tolist()[-1] == "update-items"
    # the drivers on the family that left the master are what the commands (and check) now refuse
    problems = check_workbook(book)[0]
    assert problems and all("'Spares' is not a family on the Items sheet" in p for p in problems), (
        problems
    )


@pytest.mark.libreoffice
def test_libreoffice_agrees_after_an_update(updated, tmp_path):
    book = updated[0]
    assert compare_recalculated(book, recalculate(book, tmp_path)) == []


def test_the_price_from_the_as_of_month_and_missing_items_discontinued(updated, tmp_path, capsys):
    book, src, _, _, _ = updated
    book = shutil.copyfile(book, tmp_path / "plan.xlsx")  # the others read the module's copy
    assert (
        main(
            [
                "-q",
                "update-items",
                str(book),
                str(src),
                "--from",
                "2026-11-01",
                "--discontinue-missing",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    items = read_frame(ZipIO(book), "tblItems").set_index("item")
    assert items.loc["PMP-1001", "price"] == 799.0  # changed now ...
    assert "Prices and costs changed now: PMP-1001 price 737.38 -> 799" in out
    assert items.loc["CTL-3004", "status"] == "discontinued"
    assert items.loc["CTL-3004", "discontinued_from"] == pd.Timestamp("2026-11-01")
    zio = ZipIO(book)  # the planner moves the drivers on the renamed family, as update-items asked
    drivers = read_frame(zio, "tblDrivers")
    write_frame(
        zio,
        "tblDrivers",
        drivers.assign(family=drivers["family"].replace("Spares", "Service parts")),
    )
    zio.save()
    assert main(["-q", "refresh-forecast", str(book)]) == 0  # a refresh keeps all of it
    fc = read_frame(ZipIO(book), "tblForecast").set_index(["item", "month"])
    assert (fc.loc["CTL-3004", "baseline"] == 0).all() and len(fc.loc["PMP-2100"]) == 18


def test_a_bad_master_changes_nothing(small_copy, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "item,family,price,unit_cost\nPMP-1001,Pumps,lots,1\nPMP-1001,Pumps,2,1\n", encoding="utf-8"
    )
    before = hashlib.sha256(small_copy.read_bytes()).hexdigest()
    assert main(["-q", "update-items", str(small_copy), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "File bad.csv, row 2, column 'price': 'lots' is not a number" in err
    assert "File bad.csv, row 3: repeats item PMP-1001 (first on row 2)" in err
    assert hashlib.sha256(small_copy.read_bytes()).hexdigest() == before
