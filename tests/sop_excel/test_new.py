"""sop-excel new: a company's own exports -> its planning workbook, with nothing of the sample."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest

from sop_excel.check import check_workbook, compare_recalculated
from sop_excel.cli import main
from sop_excel.sample import load_sample_company
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel import exports_data as ed

FAST = '[settings]\nForecastMethod = "seasonal_naive"\nCurrency = "USD"\n'


def _new(out: Path, files: Mapping[str, Path], *extra: str) -> int:
    """``sop-excel -q new OUT`` from ``files`` (kind -> export file), as of the test company's
    date; its exit code."""
    args = ["-q", "new", str(out), "--as-of", str(ed.AS_OF), *extra]
    for kind, path in files.items():
        args += [f"--{kind.replace('_', '-')}", str(path)]
    return main(args)


@pytest.fixture(scope="module")
def heron():
    return ed.company()


@pytest.fixture(scope="module")
def built(heron, tmp_path_factory):
    """The same company built from four kinds of export; each workbook and its report."""
    root = tmp_path_factory.mktemp("heron")
    (root / "fast.toml").write_text(FAST, encoding="utf-8")
    out = {}
    variants = {
        "long": (ed.write_long_csv, []),
        "wide": (ed.write_wide_xlsx, ["--sheet", "items=Materials"]),
        "transactional": (ed.write_transactional_csv, []),
        "european": (ed.write_european_csv, []),
    }
    for name, (write, extra) in variants.items():
        files = write(root / name, heron)
        # seasonal naive: the forecasting engine is not what is tested here (the demo forecasts with auto)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = _new(root / f"{name}.xlsx", files, "--mapping", str(root / "fast.toml"), *extra)
        assert code == 0, (name, buf.getvalue())
        out[name] = (root / f"{name}.xlsx", buf.getvalue())
    return out


def _history(path: Path) -> pd.DataFrame:
    return (
        read_frame(ZipIO(path), "tblHistory")[["item", "month", "qty"]]
        .sort_values(["item", "month"])
        .reset_index(drop=True)
    )


def test_every_export_shape_gives_the_same_history(built, heron):
    want = heron["history"].rename(columns={"qty": "qty"}).astype({"qty": float})
    base = _history(built["long"][0])
    # what the company sold, month by month (months with no row are 0 between an item's first
    # month and the last complete month)
    got = base.merge(want, on=["item", "month"], how="left", suffixes=("", "_want")).fillna(
        {"qty_want": 0.0}
    )
    assert (got["qty"] == got["qty_want"]).all()
    assert base["month"].max() == pd.Timestamp("2027-02-01")
    for name in ("wide", "transactional", "european"):
        pd.testing.assert_frame_equal(_history(built[name][0]), base, check_dtype=False, obj=name)


def test_the_summary_says_what_was_read(built):
    long, wide, tx, eu = (built[k][1] for k in ("long", "wide", "transactional", "european"))
    assert (
        "item = 'SKU'" in long
        and "family = 'Product group'" in long
        and "unit_cost = 'Standard cost'" in long
    )
    assert "date = 'Period'" in long and "qty = 'Quantity'" in long
    assert "months per item: min 6, median 30, max 30" in long
    assert "1 items with fewer than 12 months" in long and "HG-111" in long
    assert "Open orders: orders.csv" in long and "shipments = 'Shipped qty'" in long
    assert "wide: one column per month (Sep 2024 to Feb 2027)" in wide
    items_part, history_part = (
        wide.split("History:")[0],
        wide.split("History:")[1].split("Budget:")[0],
    )
    assert "items.xlsx (sheet 'Materials')" in items_part and "columns not used" not in items_part
    assert "columns not used: 'Total'" in history_part  # a pivot's total column is not a month
    assert "transactional: lines with a day's date, summed into months" in tx
    assert "read as UTF-16" in tx and "columns separated by tabs" in tx
    assert "rows dated March 2027 or later" in tx  # this month's lines are not history
    assert "read as Windows-1252, not UTF-8" in eu and "columns separated by semicolons" in eu
    assert "numbers read with decimal comma" in eu
    assert "dates read as day/month/year: each is the first of a month that way" in eu
    assert "item = 'Artikel'" in eu and "family = 'Warengruppe'" in eu and "price = 'Preis'" in eu
    for text in (long, wide, tx, eu):
        assert "not in the file, so:" in text  # defaults are said


def test_the_workbook_is_the_company_and_nothing_of_the_sample(built, heron):
    path = built["european"][0]
    book = ZipIO(path)
    items = read_frame(book, "tblItems")
    assert sorted(items["item"]) == sorted(heron["items"]["item"])
    assert items.set_index("item").loc["HG-100", "description"].endswith("Größe 0")
    assert items.set_index("item").loc["HG-111", "status"] == "new"
    scen = read_frame(book, "tblScenarioList")
    assert scen["scenario"].tolist() == ["Base", "Upside", "Downside"]
    drivers = read_frame(book, "tblDrivers")
    assert sorted(set(drivers["family"])) == sorted(ed.FAMILIES) and (drivers["value"] == 0).all()
    for empty in (
        "tblInputs",
        "tblFamilyTargets",
        "tblLocks",
        "tblLockedPlan",
        "tblSnapshots",
        "tblActuals",
    ):
        assert read_frame(book, empty).empty, empty
    log = read_frame(book, "tblLog")
    assert log["command"].tolist() == ["new"] and "artikel.csv (sha256" in log["data"].iloc[0]
    budget = read_frame(book, "tblBudget")
    assert budget[budget["family"] == "Mowers"]["revenue"].iloc[0] == 60000.0  # '60.000,00'
    settings = dict(
        zip(
            read_frame(book, "tblSettings")["setting"],
            read_frame(book, "tblSettings")["value"],
            strict=True,
        )
    )
    assert settings["Currency"] == "USD" and settings["Forecast method"] == "seasonal_naive"
    assert check_workbook(path)[0] == []
    # no sample item, family, site, resource, company or demo text anywhere in the file
    sample = load_sample_company()
    tokens = {
        *sample.items["item"],
        *sample.items["family"],
        *sample.items["site"],
        *sample.items["resource"],
        sample.name,
        "Northwind",
        "Acme",
        "Trade-show",
        "Nordic distributor",
        "Service campaign",
        "Close the gap",
        "demo",
    }
    with zipfile.ZipFile(path) as z:
        text = "\n".join(
            z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")
        )
    found = sorted(t for t in tokens if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text))
    assert found == [], found


@pytest.mark.libreoffice
def test_libreoffice_recalculates_a_new_workbook_to_its_cached_values(built, tmp_path):
    path = built["wide"][0]
    assert compare_recalculated(path, recalculate(path, tmp_path)) == []


def test_the_daily_refresh_then_runs_on_the_companys_own_actuals(built, tmp_path, capsys):
    src, _ = built["long"]
    book = tmp_path / "plan.xlsx"
    book.write_bytes(src.read_bytes())
    before = read_frame(ZipIO(book), "tblActuals")
    assert len(before) and set(before["item"]) <= {f"HG-{100 + k}" for k in range(12)}
    # the next day's orders, as a German ERP writes them
    day = pd.Timestamp(ed.AS_OF) + pd.Timedelta(days=1)
    lines = [
        "Datum;Artikel;Auftragsmenge;Geliefert".replace("Auftragsmenge", "orders")
        .replace("Datum", "date")
        .replace("Artikel", "item")
        .replace("Geliefert", "shipments")
    ]
    lines += [f"{day:%d.%m.%Y};HG-{100 + k};{k + 1},5;{k}" for k in range(12)]
    csv = tmp_path / "tag.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert (
        main(["-q", "refresh-actuals", str(book), "--actuals", str(csv)]) == 1
    )  # 11.03.2027: which?
    err = capsys.readouterr().err
    assert (
        "row 2, column 'date': '11.03.2027' could be day/month/year or month/day/year (and 11 more rows"
        in err
    )
    assert (
        main(["-q", "refresh-actuals", str(book), "--actuals", str(csv), "--date-format", "DMY"])
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "numbers read with decimal comma" in out and "dates read as day/month/year (as told)" in out
    )
    after = read_frame(ZipIO(book), "tblActuals")
    new = after[after["date"] == day].set_index("item")
    assert new.loc["HG-100", "orders"] == 1.5 and new.loc["HG-111", "orders"] == 12.5
    execution = read_frame(ZipIO(book), "tblExecution")
    assert set(execution["item"]) == set(after["item"]) and (execution["mtd_orders"] > 0).all()
    assert not execution["status"].isin(["Act"]).all()  # planned against its own forecast
    assert main(["-q", "flag-drift", str(book)]) == 0
    assert main(["-q", "lock-plan", str(book)]) == 0
    assert main(["-q", "compare-scenarios", str(book)]) == 0
    assert check_workbook(book)[0] == []


def test_a_bad_export_is_refused_by_row_and_column_and_nothing_is_written(heron, tmp_path, capsys):
    files = ed.write_long_csv(tmp_path / "x", heron)
    mine = {k: files[k] for k in ("items", "history")}  # the two files new needs
    out = tmp_path / "plan.xlsx"
    hist = files["history"].read_text().replace("HG-101,2025-03,", "HG-101,2025-03-xx,", 1)
    files["history"].write_text(hist)
    code = _new(out, mine)
    err = capsys.readouterr().err
    assert (
        code == 1
        and "File history.csv, row" in err
        and "column 'Period': '2025-03-xx' is not a date" in err
    )
    assert not out.exists()
    # an item master without a price column: the roles it would recognise are named
    items = files["items"].read_text().replace("List price", "Tarif")
    files["items"].write_text(items)
    code = _new(out, mine)
    err = capsys.readouterr().err
    assert code == 1 and "File items.csv, row 1 (header): no column for price (recognised: " in err
    assert "--column items.ROLE=HEADER" in err and not out.exists()
    # ... and the option that settles it
    files["history"].write_text(hist.replace("2025-03-xx", "2025-03"))
    assert _new(out, mine, "--column", "items.price=Tarif") == 0
    capsys.readouterr()
    # a workbook is never replaced without --force
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    assert _new(out, mine, "--column", "items.price=Tarif") == 1
    assert (
        "exists: sop-excel new writes a new workbook and does not replace one"
        in capsys.readouterr().err
    )
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before


def test_numbers_and_dates_that_read_two_ways_are_refused_until_said(tmp_path, capsys):
    items = tmp_path / "items.csv"
    items.write_text(
        "item;family;price;unit cost\nA;F;1.254;1.000\nB;F;2.500;1.500\n", encoding="utf-8"
    )
    hist = tmp_path / "h.csv"
    hist.write_text(
        "item,date,qty\nA,03/04/2026,1\nA,04/05/2026,2\nB,03/04/2026,1\n", encoding="utf-8"
    )
    args = [
        "-q",
        "new",
        str(tmp_path / "p.xlsx"),
        "--items",
        str(items),
        "--history",
        str(hist),
        "--as-of",
        "2026-11-18",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert (
        "column 'price': '1.254' could be 1254 (thousands separator) or 1.254 (decimal separator)"
        in err
    )
    assert "--decimal point or --decimal comma" in err
    assert main([*args, "--decimal", "comma"]) == 1
    err = capsys.readouterr().err
    assert (
        "column 'date': '03/04/2026' could be day/month/year or month/day/year" in err
        and "--date-format" in err
    )
    assert main([*args, "--decimal", "comma", "--date-format", "MDY"]) == 0
    out = capsys.readouterr().out
    assert (
        "numbers read with decimal comma (as told)" in out
        and "dates read as month/day/year (as told)" in out
    )
    book = ZipIO(tmp_path / "p.xlsx")
    assert read_frame(book, "tblItems").set_index("item").loc["A", "price"] == 1254.0
    h = read_frame(book, "tblHistory")
    assert h[h["item"] == "A"].set_index("month").loc[pd.Timestamp("2026-03-01"), "qty"] == 1.0


def test_the_template_starts_from_a_new_workbook(built, tmp_path):
    pytest.importorskip("pyopenvba")
    src = built["long"][0]
    out = tmp_path / "heron.xlsm"
    assert main(["-q", "template", "--out", str(out), "--source", str(src)]) == 0
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert "xl/vbaProject.bin" in names and "customUI/customUI14.xml" in names
    assert read_frame(ZipIO(out), "tblItems")["item"].iloc[0].startswith("HG-")


def test_the_demo_is_the_new_path_fed_with_the_sample_exports(demo_book):
    """The demo writes the sample company as export files and reads them with new's readers:
    what it reads is the sample company, value for value."""
    from sop_excel.sample import EXPORT_FILES
    from sop_excel.sources.columns import ReadMapping
    from sop_excel.sources.exports import read_company

    folder = demo_book.parent / f"{demo_book.stem}_exports"
    files = {kind: folder / name for kind, name in EXPORT_FILES.items()}
    assert all(p.is_file() for p in files.values())
    sample = load_sample_company()
    got = read_company(files, ReadMapping(), sample.as_of)
    cols = list(sample.items.columns)
    pd.testing.assert_frame_equal(got.items[cols], sample.items, check_dtype=False)
    pd.testing.assert_frame_equal(got.history, sample.history, check_dtype=False)
    pd.testing.assert_frame_equal(got.budget, sample.budget, check_dtype=False)
    pd.testing.assert_frame_equal(got.capacity, sample.capacity, check_dtype=False)
    want = sample.actuals.sort_values(["date", "item"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got.actuals, want, check_dtype=False)
    book = ZipIO(demo_book)
    pd.testing.assert_frame_equal(
        read_frame(book, "tblHistory")[["item", "month", "qty"]].reset_index(drop=True),
        sample.history[["item", "month", "qty"]],
        check_dtype=False,
    )
    log = read_frame(book, "tblLog")
    assert log["command"].iloc[0] == "demo" and "export files" in log["details"].iloc[0]


def test_what_excel_cannot_hold_is_refused_before_writing(tmp_path, capsys):
    from sop_excel.errors import SopExcelError
    from sop_excel.planbook import check_rows

    check_rows({"tblHistory": 1_048_573})  # the last row of the grid
    with pytest.raises(
        SopExcelError,
        match=r"The History sheet would need 1,048,577 rows \(1,048,574 rows of "
        r"tblHistory\); an Excel sheet holds 1,048,576",
    ):
        check_rows({"tblHistory": 1_048_574})
    items = tmp_path / "i.csv"
    items.write_text(
        "item,family,price,unit cost,description\nA,F,1.5,1," + "x" * 32_768 + "\n",
        encoding="utf-8",
    )
    hist = tmp_path / "h.csv"
    hist.write_text("item,month,qty\nA,2026-01,1\n", encoding="utf-8")
    assert (
        main(["-q", "new", str(tmp_path / "p.xlsx"), "--items", str(items), "--history", str(hist)])
        == 1
    )
    assert "is longer than the 32,767 characters an Excel cell holds" in capsys.readouterr().err
    assert not (tmp_path / "p.xlsx").exists()
