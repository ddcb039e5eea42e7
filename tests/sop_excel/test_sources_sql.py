"""Actuals from SQLite files and SQLAlchemy URLs, xlsx sheets and mapped CSVs: one rule set."""

from __future__ import annotations

import datetime as dt
import sqlite3

import openpyxl
import pandas as pd
import pytest

from sop_excel.core.execution import merge_actuals
from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources import (
    ACTUALS_COLUMNS,
    file_digest,
    read_actuals,
    read_actuals_csv,
    source_kind,
    source_label,
    write_actuals_sqlite,
)
from sop_excel.sources.conventions import Conventions


def frame(rows):
    f = pd.DataFrame(rows, columns=list(ACTUALS_COLUMNS))
    f["date"] = pd.to_datetime(f["date"])
    return f


NOV = frame(
    [
        ("2026-11-02", "A", 5, 4),
        ("2026-11-02", "B", 3, 3),
        ("2026-11-03", "A", 6, 6),
        ("2026-11-03", "B", 0, 1),
    ]
)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "actuals.db"
    assert write_actuals_sqlite(path, NOV) == 4
    return path


def test_sqlite_file_round_trip(db):
    got = read_actuals(db, known_items={"A", "B"})
    assert list(got.columns) == list(ACTUALS_COLUMNS)
    assert got["date"].dtype.kind == "M"
    pd.testing.assert_frame_equal(
        got.sort_values(["date", "item"]).reset_index(drop=True),
        NOV.astype({"orders": float, "shipments": float, "date": "datetime64[us]"}),
        check_dtype=False,
    )


def test_url_and_path_read_the_same(db):
    by_url = read_actuals(f"sqlite:///{db}")
    assert by_url.equals(read_actuals(db))


def test_incremental_since_and_late_correction_idempotent(db):
    first = read_actuals(db)
    # the same day loaded twice gives the same table
    again = merge_actuals(first, read_actuals(db, since=dt.date(2026, 11, 3)))
    assert again.equals(merge_actuals(first, first))
    assert len(again) == 4
    # a late correction of 2026-11-03 and a new day arrive; load only from the 3rd
    write_actuals_sqlite(db, frame([("2026-11-03", "A", 9, 8), ("2026-11-04", "A", 7, 7)]))
    inc = read_actuals(db, since=dt.date(2026, 11, 3))
    assert sorted(inc["date"].dt.day.unique().tolist()) == [3, 4]
    assert len(inc) == 3
    merged = merge_actuals(first, inc)
    a3 = merged[(merged["item"] == "A") & (merged["date"] == "2026-11-03")]
    assert a3["orders"].tolist() == [9.0] and len(merged) == 5
    assert merge_actuals(merged, inc).equals(merged)


def test_since_is_bound_not_formatted(db, monkeypatch):
    import sqlalchemy as sa

    seen = []
    real = sa.engine.Connection.execute

    def spy(self, stmt, *a, **k):
        seen.append(stmt.compile(dialect=self.dialect))
        return real(self, stmt, *a, **k)

    monkeypatch.setattr(sa.engine.Connection, "execute", spy)
    read_actuals(db, since=dt.date(2026, 11, 3))
    sql = str(seen[-1])
    assert "2026-11-03" not in sql and seen[-1].params["since"] == dt.date(2026, 11, 3)


def test_mapping_and_case_insensitive_names(tmp_path):
    path = tmp_path / "erp.sqlite"
    with sqlite3.connect(path) as c:
        c.execute(
            'CREATE TABLE "Daily Sales" ("Order Date" TEXT, sku TEXT, order_qty REAL, ship_qty REAL)'
        )
        c.execute("INSERT INTO \"Daily Sales\" VALUES ('2026-11-02 00:00:00', 'A', 3, NULL)")
    c.close()
    got = read_actuals(
        path,
        table="daily sales",
        mapping={
            "date": "order date",
            "item": "SKU",
            "orders": "order_qty",
            "shipments": "ship_qty",
        },
    )
    assert got.iloc[0].tolist() == [pd.Timestamp("2026-11-02"), "A", 3.0, 0.0]


def test_missing_mapped_column_names_table_and_columns_found(db):
    with pytest.raises(InputError) as exc:
        read_actuals(db, mapping={"orders": "order_qty"})
    text = str(exc.value)
    assert "table actuals: missing column 'order_qty' (mapped to orders in ActualsColumns)" in text
    assert "found 'date', 'item', 'orders', 'shipments'" in text and "ActualsColumns" in text


def test_missing_table_lists_tables(db):
    with pytest.raises(InputError, match=r"no table 'sales'; found 'actuals'"):
        read_actuals(db, table="sales")


def test_hostile_names_are_never_sql(db):
    with pytest.raises(InputError, match="no table"):
        read_actuals(db, table='actuals"; DROP TABLE actuals; --')
    with pytest.raises(InputError, match="missing column"):
        read_actuals(db, mapping={"orders": 'orders" FROM actuals; --'})
    assert len(read_actuals(db)) == 4
    with pytest.raises(SopExcelError, match="not a table name"):
        write_actuals_sqlite(db, NOV, table="x; DROP TABLE actuals")


def test_bad_values_named_by_table_row_and_key(tmp_path):
    path = tmp_path / "bad.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE actuals (date TEXT, item TEXT, orders, shipments)")
        c.executemany(
            "INSERT INTO actuals VALUES (?, ?, ?, ?)",
            [
                ("2026-11-02", "A", 1, 1),
                ("yesterday", "A", 1, 1),
                ("2026-11-02", "ZZ", -2, 1),
                ("2026-11-02", "A", "twelve", 1),
            ],
        )
    c.close()
    with pytest.raises(InputError) as exc:
        read_actuals(path, known_items={"A"})
    text = str(exc.value)
    assert text.startswith(
        "Actuals table actuals in bad.db has values sop-excel cannot load (5 problems)"
    )
    assert (
        "Table actuals, row 2 (item A, 2026-11-02), column 'orders': 'twelve' is not a number"
        in text
    )
    assert "Table actuals, row 2 (item A, 2026-11-02): repeats item A on 2026-11-02" in text
    assert (
        "Table actuals, row 3 (item A, yesterday), column 'date': 'yesterday' is not a date" in text
    )
    assert (
        "row 4 (item ZZ, 2026-11-02), column 'item': 'ZZ' is not an item on the Items sheet" in text
    )
    assert "row 4 (item ZZ, 2026-11-02), column 'orders': -2 is negative" in text
    assert len(exc.value.problems) == 5


def test_missing_sqlite_file_is_not_created(tmp_path):
    for src in (tmp_path / "nope.db", f"sqlite:///{tmp_path / 'nope.db'}"):
        with pytest.raises(SopExcelError, match="No SQLite database"):
            read_actuals(src)
    assert not (tmp_path / "nope.db").exists()


def test_bad_url_and_password_hidden(tmp_path):
    with pytest.raises(SopExcelError) as exc:
        read_actuals("nosuchdriver://scott:tiger@host/db")
    assert "tiger" not in str(exc.value)
    assert source_label("postgresql://scott:tiger@host/db") == "postgresql://scott:***@host/db"


def test_source_kind_and_label(tmp_path, db):
    assert source_kind("a.CSV") == "csv" and source_kind("b.xlsx") == "xlsx"
    assert source_kind(db) == "sqlite" and source_kind("mssql+pyodbc://dsn") == "url"
    with pytest.raises(SopExcelError, match="neither a file"):
        source_kind("actuals.parquet")
    assert source_label(db) == f"actuals.db (sha256 {file_digest(db)})"


def test_empty_table_gives_empty_frame(tmp_path):
    path = tmp_path / "e.db"
    write_actuals_sqlite(path, NOV.iloc[:0])
    got = read_actuals(path)
    assert got.empty and list(got.columns) == list(ACTUALS_COLUMNS)


# --- xlsx ------------------------------------------------------------------------------------


def xlsx(tmp_path, rows, sheet="Actuals", at="B3", extra_sheet=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    if extra_sheet:
        ws.title = "Notes"
        ws = wb.create_sheet(sheet)
    else:
        ws.title = sheet
    r0 = int(at[1:])
    c0 = ord(at[0]) - 64
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            ws.cell(r0 + i, c0 + j, v)
    path = tmp_path / "actuals.xlsx"
    wb.save(path)
    return path


def test_xlsx_typed_cells_and_offsets(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Date", "Item", "Orders", "Shipments"],
            [dt.datetime(2026, 11, 2), "A", 3, None],
            [None, None, None, None],
            ["2026-11-03", 1001, "1,200", 2.5],
        ],
        extra_sheet=True,
    )
    with pytest.raises(
        InputError, match=r"cell D6: '1,200' could be 1200 \(thousands separator\) or 1.200"
    ):
        read_actuals(path)  # nothing in the file says which separator ',' is
    got = read_actuals(path, since=dt.date(2026, 11, 1), conventions=Conventions(decimal="point"))
    assert got["item"].tolist() == ["A", "1001"]
    assert got["orders"].tolist() == [3.0, 1200.0] and got["shipments"].tolist() == [0.0, 2.5]
    assert got["date"].tolist() == [pd.Timestamp("2026-11-02"), pd.Timestamp("2026-11-03")]


def test_xlsx_problems_named_by_sheet_and_cell(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Date", "Item", "Orders", "Shipments"],
            [dt.datetime(2026, 11, 2), "A", "twelve", 1],
            [7, "A", -1, 1],
            [dt.datetime(2026, 11, 2), "A", 1, 1],
        ],
    )
    with pytest.raises(InputError) as exc:
        read_actuals(path)
    text = str(exc.value)
    assert "File actuals.xlsx, sheet 'Actuals', cell D4: 'twelve' is not a number" in text
    assert "cell B5: 7 is not a date" in text
    assert "cell D5: -1 is negative" in text
    assert "File actuals.xlsx, sheet 'Actuals', row 6: repeats item A on 2026-11-02" in text


def test_xlsx_missing_column_names_header_row(tmp_path):
    path = xlsx(tmp_path, [["Date", "Item", "Qty"], [dt.datetime(2026, 11, 2), "A", 3]])
    with pytest.raises(
        InputError,
        match=r"sheet 'Actuals', row 3 \(header\): missing columns 'orders', "
        r"'shipments'; found 'Date', 'Item', 'Qty'",
    ):
        read_actuals(path)


def test_not_a_workbook(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(SopExcelError, match="x.xlsx is not an Excel workbook.*save it as .xlsx"):
        read_actuals(bad)


# --- CSV with a mapping, and the same answer from every source -------------------------------


def test_csv_mapping_and_since(tmp_path):
    p = tmp_path / "erp.csv"
    p.write_text(
        "order_date,sku,qty,shipped\n2026-11-02,A,1,1\n2026-11-03,A,2,2\n", encoding="utf-8"
    )
    m = {"date": "order_date", "item": "sku", "orders": "qty", "shipments": "shipped"}
    got = read_actuals(p, mapping=m, since=dt.date(2026, 11, 3))
    assert got["orders"].tolist() == [2.0]
    with pytest.raises(SopExcelError, match="does not know"):
        read_actuals_csv(p, mapping={"qty": "qty"})


def test_every_source_gives_the_same_frame(tmp_path, db):
    csv_path = tmp_path / "a.csv"
    NOV.assign(date=NOV["date"].dt.strftime("%Y-%m-%d")).to_csv(csv_path, index=False)
    x = xlsx(tmp_path, [list(ACTUALS_COLUMNS), *NOV.astype(object).values.tolist()], at="A1")
    key = ["date", "item"]
    frames = [read_actuals(s).sort_values(key).reset_index(drop=True) for s in (csv_path, x, db)]
    for f in frames[1:]:
        pd.testing.assert_frame_equal(f, frames[0])
