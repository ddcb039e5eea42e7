"""S&OE on the supply side through the command line (issue 21): production and receipts loaded like
orders, events added and refused by their place, the supply view and one exception list."""

from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.core.frames import append_rows
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO

DEMAND_TABLES = ["tblExecution", "tblSensing", "tblWeeks", "tblWeekly"]
SUPPLY_TABLES = ["tblSupplyWeeks", "tblSupplyItems"]


def frames(path, names):
    book = ZipIO(path)
    try:
        return {n: read_frame(book, n) for n in names}
    finally:
        book.close()


def set_setting(path, label, value):
    book = ZipIO(path)
    settings = read_frame(book, "tblSettings")
    settings.loc[settings["setting"] == label, "value"] = value
    write_frame(book, "tblSettings", settings)
    book.save()
    book.close()


def next_day_csv(path):
    return next(path.parent.glob("*_actuals_*.csv"))


def test_the_demo_ships_production_events_and_the_supply_view(demo_book):
    got = frames(
        demo_book,
        ["tblProduction", "tblEvents", "tblSupplyItems", "tblSupplyWeeks", "tblExceptions"],
    )
    prod = got["tblProduction"]
    assert (
        prod["produced"].sum() > 0
        and prod["receipts"].sum() > 0
        and set(prod["resource"]) >= {"LDS-PA1"}
    )
    assert got["tblEvents"]["id"].tolist() == ["E1", "E2"]
    weeks = got["tblSupplyWeeks"]
    assert set(weeks["horizon"]) == {"Frozen", "Open"} and weeks["event_hours"].sum() > 0
    headers = [str(h) for h in ZipIO(demo_book).read_table("tblSupplyItems")[0]]
    assert headers[-13:][0] == "W1 16 Nov (frozen)" and headers[-1] == "W13 08 Feb"
    assert got["tblSupplyItems"]["stockout_week"].notna().any()
    ex = got["tblExceptions"]
    assert set(ex["area"]) == {"Demand", "Supply", "Capacity"}
    assert ex["value_at_risk"].abs().is_monotonic_decreasing  # one list, worst value at risk first
    cap = ex[ex["area"] == "Capacity"].set_index("item").loc["LDS-PA1"]
    assert "LDS-PA1 down 3 working days from 2026-11-20 (E1)" in cap["reason"]
    late = ex[(ex["area"] == "Supply") & (ex["item"] == "CTL-3011")].iloc[0]
    assert late["flag"] == "Act" and late["action"].startswith("Expedite receipts: pull ")
    assert "(E2)" in late["reason"]
    behind = ex[(ex["area"] == "Supply") & ex["reason"].str.startswith("Production")]
    assert len(behind) and all(
        i.startswith("PMP-101") for i in behind["item"]
    )  # BRN-PA2 runs behind


def test_supply_columns_of_the_actuals_file_load_idempotently(small_copy):
    book_copy = small_copy  # loading twice, not the demo's size: the small demo
    csv = next_day_csv(book_copy)
    assert "produced" in csv.read_text().splitlines()[0]
    assert main(["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv)]) == 0
    once = frames(book_copy, ["tblProduction", *SUPPLY_TABLES, *DEMAND_TABLES])
    day = pd.read_csv(csv)
    mine = once["tblProduction"][once["tblProduction"]["date"] == pd.Timestamp(day["date"].iloc[0])]
    # one row per item made that day (a day with nothing made or received is no row)
    assert (
        len(mine) == (day["produced"] > 0).sum() and mine["produced"].sum() == day["produced"].sum()
    )
    assert main(["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv)]) == 0
    twice = frames(book_copy, ["tblProduction", *SUPPLY_TABLES, *DEMAND_TABLES])
    for name, frame in once.items():
        pd.testing.assert_frame_equal(frame, twice[name], obj=name)


@pytest.mark.parametrize("kind", ["csv", "xlsx", "sqlite"])
def test_a_separate_supply_source_with_mapped_columns_and_a_late_correction(
    book_copy, tmp_path, kind
):
    set_setting(book_copy, "Supply columns", "resource=line; produced=qty_made; receipts=gr_qty")
    rows = pd.DataFrame(
        {
            "date": ["2026-11-18", "2026-11-18", "2026-11-19"],
            "item": ["PMP-1001", "PMP-1001", "PMP-1013"],
            "line": ["LDS-PA1", "BRN-PA2", ""],
            "qty_made": [7, 2, 5],
            "gr_qty": [0, 0, 40],
        }
    )
    path = tmp_path / f"mes.{'db' if kind == 'sqlite' else kind}"

    def write(frame):
        if kind == "csv":
            frame.to_csv(path, index=False)
        elif kind == "xlsx":
            frame.to_excel(path, sheet_name="production", index=False)
        else:
            path.unlink(missing_ok=True)
            with sqlite3.connect(path) as conn:
                frame.to_sql("production", conn, index=False)
            conn.close()

    write(rows)
    csv = next_day_csv(book_copy)
    assert (
        main(
            ["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv), "--supply", str(path)]
        )
        == 0
    )
    prod = read_frame(ZipIO(book_copy), "tblProduction")
    day = prod[(prod["date"] == pd.Timestamp("2026-11-18")) & (prod["item"] == "PMP-1001")]
    # the load replaces every earlier row of the same day and item; an item made on two lines is two rows
    assert day[["resource", "produced"]].values.tolist() == [["LDS-PA1", 7.0], ["BRN-PA2", 2.0]]
    later = prod[(prod["date"] == pd.Timestamp("2026-11-19")) & (prod["item"] == "PMP-1013")]
    assert later[["resource", "produced", "receipts"]].values.tolist() == [
        ["BRN-PA2", 5.0, 40.0]
    ]  # its own resource
    write(
        rows.assign(qty_made=[9, 0, 5])
    )  # a late correction: 9 on LDS-PA1, nothing on BRN-PA2 after all
    assert (
        main(
            ["-q", "refresh-actuals", str(book_copy), "--actuals", str(csv), "--supply", str(path)]
        )
        == 0
    )
    again = read_frame(ZipIO(book_copy), "tblProduction")
    assert len(again) == len(prod) - 1  # a correction to nothing leaves no row
    fixed = again[(again["date"] == pd.Timestamp("2026-11-18")) & (again["item"] == "PMP-1001")]
    assert fixed[["resource", "produced"]].values.tolist() == [["LDS-PA1", 9.0]]
    log = read_frame(ZipIO(book_copy), "tblLog")
    assert (
        f"supply: {path.name}" in log["data"].iloc[-1]
        and "3 replaced earlier figures" in log["details"].iloc[-1]
    )


def test_bad_supply_rows_are_refused_by_file_row_and_column(small_copy, tmp_path, capsys):
    book_copy = small_copy  # a refusal, not the demo's size: the small demo
    bad = tmp_path / "mes.csv"
    bad.write_text(
        "date,item,resource,produced,receipts\n"
        "2026-11-19,PMP-1001,LDS-PA1,-3,0\n"
        "2026-11-19,PMP-NOPE,,1,0\n"
        "someday,PMP-1002,LDS-XX9,lots,0\n"
        "2026-11-19,PMP-1001,LDS-PA1,1,0\n"
    )
    before = book_copy.read_bytes()
    code = main(
        [
            "-q",
            "refresh-actuals",
            str(book_copy),
            "--actuals",
            str(next_day_csv(book_copy)),
            "--supply",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and book_copy.read_bytes() == before
    for want in (
        "Production file mes.csv has values sop-excel cannot load (6 problems)",
        "File mes.csv, row 2, column 'produced': '-3' is negative",
        "File mes.csv, row 3, column 'item': 'PMP-NOPE' is not an item on the Items sheet",
        "File mes.csv, row 4, column 'date': 'someday' is not a date",
        "File mes.csv, row 4, column 'resource': 'LDS-XX9' is not a resource on the Items or Capacity sheet",
        "File mes.csv, row 4, column 'produced': 'lots' is not a number",
        "File mes.csv, row 5: repeats item PMP-1001 on LDS-PA1 on 2026-11-19",
    ):
        assert want in err, want
    missing = tmp_path / "orders_only.csv"
    missing.write_text("date,item,orders\n2026-11-19,PMP-1001,3\n")
    assert (
        main(
            [
                "-q",
                "refresh-actuals",
                str(book_copy),
                "--actuals",
                str(next_day_csv(book_copy)),
                "--supply",
                str(missing),
            ]
        )
        == 1
    )
    assert "missing columns 'produced' or 'receipts'" in capsys.readouterr().err


def test_add_event_then_a_bad_one_named_by_its_option(book_copy, capsys):
    assert (
        main(
            [
                "-q",
                "add-event",
                str(book_copy),
                "--kind",
                "reduced_rate",
                "--resource",
                "BRN-VL1",
                "--from",
                "2026-11-23",
                "--to",
                "2026-11-27",
                "--rate",
                "50%",
                "--owner",
                "Brno plant",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "Event E3 added: BRN-VL1 at 50% from 2026-11-23 to 2026-11-27 (E3); owner Brno plant."
        in out
    )
    events = read_frame(ZipIO(book_copy), "tblEvents")
    assert events.iloc[-1][["id", "kind", "resource", "rate", "status"]].tolist() == [
        "E3",
        "Reduced rate",
        "BRN-VL1",
        0.5,
        "Open",
    ]
    weeks = read_frame(ZipIO(book_copy), "tblSupplyWeeks").set_index(["resource", "week"])
    assert weeks.loc[("BRN-VL1", 2), "event_hours"] == pytest.approx(
        weeks.loc[("BRN-VL1", 2), "capacity_hours"] / 2
    )
    before = book_copy.read_bytes()
    assert (
        main(
            [
                "-q",
                "add-event",
                str(book_copy),
                "--kind",
                "Resource down",
                "--resource",
                "LDS-XX1",
                "--from",
                "2026-11-20",
                "--to",
                "2026-11-19",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "Option --to: '2026-11-19' is before From (2026-11-20)" in err
    assert "Option --resource: 'LDS-XX1' is not a resource on the Items or Capacity sheet" in err
    assert book_copy.read_bytes() == before


def test_an_event_typed_on_the_sheet_is_refused_by_its_cell(book_copy, capsys):
    book = ZipIO(book_copy)
    events = read_frame(book, "tblEvents")
    bad = events.iloc[[0]].assign(
        id="E9",
        resource="NOPE",
        start=pd.Timestamp("2026-11-25"),
        end=pd.Timestamp("2026-11-24"),
        working_days=float("nan"),
    )
    write_frame(book, "tblEvents", append_rows(events, bad))
    book.save()
    before = book_copy.read_bytes()
    assert main(["-q", "flag-drift", str(book_copy)]) == 1
    err = capsys.readouterr().err
    assert "Sheet 'Events' has events sop-excel cannot use (2 problems)" in err
    assert "Sheet 'Events', cell C6: 'NOPE' is not a resource on the Items or Capacity sheet" in err
    assert "Sheet 'Events', cell F6: '2026-11-24' is before From (2026-11-25)" in err
    assert book_copy.read_bytes() == before


def test_events_survive_every_refresh(small_copy):
    book_copy = small_copy  # every command keeps the events, whatever the size: the small demo
    assert (
        main(
            [
                "-q",
                "add-event",
                str(book_copy),
                "--kind",
                "Item blocked",
                "--item",
                "VLV-2001",
                "--from",
                "2026-11-19",
                "--days",
                "2",
                "--owner",
                "Quality",
                "--comment",
                "hold",
            ]
        )
        == 0
    )
    events = read_frame(ZipIO(book_copy), "tblEvents")
    for args in (
        ["refresh-actuals", str(book_copy), "--actuals", str(next_day_csv(book_copy))],
        ["flag-drift", str(book_copy)],
        ["compare-scenarios", str(book_copy)],
        ["lock-plan", str(book_copy)],
    ):
        assert main(["-q", *args]) == 0, args
        pd.testing.assert_frame_equal(
            read_frame(ZipIO(book_copy), "tblEvents"), events, obj=args[0]
        )


def test_no_supply_data_keeps_todays_behaviour(small_copy, tmp_path, capsys):
    """Supply never changes a demand number; without production, receipts or events the S&OE
    tables are the demand side's alone, as before supply existed."""
    book_copy = small_copy  # the same tables with and without supply: the small demo
    other = tmp_path / "no_supply.xlsx"
    shutil.copyfile(book_copy, other)
    book = ZipIO(other)
    for name in ("tblProduction", "tblEvents"):
        write_frame(book, name, read_frame(book, name).iloc[0:0])
    book.save()
    book.close()
    csv = tmp_path / "orders.csv"
    pd.read_csv(next_day_csv(book_copy)).drop(columns="produced").to_csv(csv, index=False)
    for path in (book_copy, other):
        assert main(["-q", "refresh-actuals", str(path), "--actuals", str(csv)]) == 0
        out = capsys.readouterr().out
        assert ("Supply:" in out) == (path == book_copy)
    with_supply = frames(
        book_copy, [*DEMAND_TABLES, "tblExceptions", *SUPPLY_TABLES, "tblProduction"]
    )
    without = frames(
        other, [*DEMAND_TABLES, "tblExceptions", *SUPPLY_TABLES, "tblProduction", "tblLog"]
    )
    for name in DEMAND_TABLES:
        pd.testing.assert_frame_equal(with_supply[name], without[name], obj=name)
    assert all(without[n].empty for n in (*SUPPLY_TABLES, "tblProduction"))
    ex = without["tblExceptions"]
    assert set(ex["area"]) == {"Demand"} and ex["rank"].tolist() == list(range(1, len(ex) + 1))
    demand = with_supply["tblExceptions"]
    demand = demand[demand["area"] == "Demand"].drop(columns="rank").reset_index(drop=True)
    pd.testing.assert_frame_equal(ex.drop(columns="rank"), demand, obj="demand exceptions")
    assert "upply" not in without["tblLog"]["details"].iloc[-1]


def test_supply_columns_in_the_actuals_database(small_copy, tmp_path, capsys):
    book_copy = small_copy  # the database's supply columns: the small demo
    day = pd.read_csv(next_day_csv(book_copy))
    db = tmp_path / "erp.db"
    with sqlite3.connect(db) as conn:
        day.to_sql("actuals", conn, index=False)
    conn.close()
    assert main(["-q", "refresh-actuals", str(book_copy), "--source", str(db)]) == 0
    assert (
        f"Loaded {len(day)} rows of production and receipts from its supply columns"
        in capsys.readouterr().out
    )
    prod = read_frame(ZipIO(book_copy), "tblProduction")
    assert (
        prod.loc[prod["date"] == pd.Timestamp(day["date"].iloc[0]), "produced"].sum()
        == day["produced"].sum()
    )


@pytest.mark.libreoffice
def test_libreoffice_recalculates_what_supply_writes(small_copy, capsys):
    book_copy = small_copy  # the same supply formulas as the demo's, on a third of its cells
    assert (
        main(["-q", "refresh-actuals", str(book_copy), "--actuals", str(next_day_csv(book_copy))])
        == 0
    )
    assert (
        main(
            [
                "-q",
                "add-event",
                str(book_copy),
                "--kind",
                "Resource down",
                "--resource",
                "BRN-PA2",
                "--from",
                "2026-11-25",
                "--days",
                "2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["check", str(book_copy), "--recalc"]) == 0, capsys.readouterr().out


def test_owners_and_statuses_belong_to_the_item_and_its_area(book_copy):
    book = ZipIO(book_copy)
    ex = read_frame(book, "tblExceptions")
    cap = (ex["area"] == "Capacity") & (ex["item"] == "LDS-PA1")
    late = (ex["area"] == "Supply") & (ex["item"] == "CTL-3011")
    assert cap.sum() == 1 and late.sum() == 1
    ex.loc[cap, ["owner", "comment"]] = ["Leeds plant", "Saturday shift booked"]
    ex.loc[late, ["owner", "status"]] = ["Buyer", "Resolved"]
    write_frame(book, "tblExceptions", ex)
    book.save()
    book.close()
    assert main(["-q", "flag-drift", str(book_copy)]) == 0
    book = ZipIO(book_copy)
    ex = read_frame(book, "tblExceptions")
    kept = ex[(ex["area"] == "Capacity") & (ex["item"] == "LDS-PA1")].iloc[0]
    assert (kept["owner"], kept["comment"], kept["status"]) == (
        "Leeds plant",
        "Saturday shift booked",
        "Open",
    )
    assert not (
        (ex["area"] == "Supply") & (ex["item"] == "CTL-3011")
    ).any()  # resolved: off the list
    log = read_frame(book, "tblExceptionLog")
    gone = log[(log["item"] == "CTL-3011") & (log["event"] == "resolved")]
    assert gone["area"].tolist() == ["Supply"] and gone["owner"].tolist() == ["Buyer"]
    assert main(["-q", "flag-drift", str(ZipIO(book_copy).path)]) == 0  # and it stays off
    assert not (
        (read_frame(ZipIO(book_copy), "tblExceptions")["item"] == "CTL-3011")
        & (read_frame(ZipIO(book_copy), "tblExceptions")["area"] == "Supply")
    ).any()


def test_the_meeting_pack_shows_the_demos_stockout_weeks(demo_book):
    """Issue 19's pack reads the Supply weeks sheet where the workbook has it."""
    import datetime as dt

    from sop_excel import report
    from sop_excel.macros import read_settings
    from sop_excel.report.blocks import Table

    book = ZipIO(demo_book)
    tables = {
        n: read_frame(book, n) for n in (*report.TABLES, *report.OPTIONAL_TABLES, "tblScenarioList")
    }
    pack = report.build_pack(
        report.PackInput(
            read_settings(book), tables, book.name, "tester", dt.datetime(2026, 11, 20, 9, 0), None
        )
    )
    weeks = next(
        b
        for p in pack.pages
        for b in p.blocks
        if isinstance(b, Table) and b.title.startswith("Next 13 weeks")
    )
    items = tables["tblSupplyItems"]
    out = items[items["stockout_week"].notna()].sort_values("stockout_week")
    assert (
        weeks.rows[0][0] == out["item"].iloc[0]
        and weeks.rows[0][1] == f"{out['stockout_week'].iloc[0]:%Y-%m-%d}"
    )
