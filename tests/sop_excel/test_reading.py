"""The reading layer of the user's files: numbers and dates, encodings and separators, sheets,
which column is which, the mapping file."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from sop_excel.errors import InputError, SopExcelError
from sop_excel.sources.columns import ReadMapping, load_mapping, resolve
from sop_excel.sources.conventions import Column, Conventions, read_dates, read_numbers
from sop_excel.sources.tabular import read_table


def col(values, name="qty", month=False):
    return Column(
        name,
        pd.Series(values, dtype=object),
        lambda p, n=name: f"row {p + 2}, column '{n}'",
        month=month,
    )


def numbers(values, **kw):
    (v,), (bad,), notes = read_numbers([col(values)], Conventions(**kw), label="File f.csv")
    return list(v), list(bad), notes


def dates(values, month=False, **kw):
    (v,), (bad,), notes = read_dates(
        [col(values, "date", month)], Conventions(**kw), label="File f.csv"
    )
    return [None if pd.isna(x) else f"{x:%Y-%m-%d}" for x in v], list(bad), notes


@pytest.mark.parametrize(
    ("values", "want", "note"),
    [
        (["6,5", "12", "1.234,5"], [6.5, 12.0, 1234.5], "decimal comma"),
        (["6.5", "1,254"], [6.5, 1254.0], "decimal point and ',' as thousands separator"),
        (["1.234.567", "2"], [1234567.0, 2.0], "decimal comma"),
        (["1 234,50", "€ 12,5", "5-", "1'000,5"], [1234.5, 12.5, -5.0, 1000.5], "decimal comma"),
        (["0.254", "1234.567"], [0.254, 1234.567], None),  # no thousands reading possible
        (["12", "", None, 3.5], [12.0, None, None, 3.5], None),
    ],
)
def test_numbers_read_by_what_the_file_shows(values, want, note):
    got, bad, notes = numbers(values)
    assert [None if x != x else x for x in got] == want and not any(bad)
    assert (note is None and not notes) or any(note in n for n in notes)


def test_numbers_that_read_two_ways_or_mix_are_refused_until_told():
    with pytest.raises(
        InputError,
        match=r"row 2, column 'qty': '1.254' could be 1254 \(thousands separator\) or "
        r"1.254 \(decimal separator\)",
    ):
        numbers(["1.254", "3"])
    with pytest.raises(
        InputError,
        match=r"mixes decimal points \(row 2, column 'qty': '6.5'\) and decimal commas "
        r"\(row 3, column 'qty': '6,5'\)",
    ):
        numbers(["6.5", "6,5"])
    got, bad, notes = numbers(["1.254", "6.5"], decimal="comma")  # told: 6.5 is then not a number
    assert (
        got[0] == 1254.0
        and bad == [False, True]
        and notes == ["numbers read with decimal comma (as told)"]
    )
    assert numbers(["lots", "inf", "nan", "1e3"])[1] == [True, True, True, False]


@pytest.mark.parametrize(
    ("values", "month", "want", "note"),
    [
        (["19/11/2026", "03/04/2026"], False, ["2026-11-19", "2026-04-03"], "day/month/year"),
        (["11/19/2026", "03/04/2026"], False, ["2026-11-19", "2026-03-04"], "month/day/year"),
        (["01/03/2024", "01/04/2024"], True, ["2024-03-01", "2024-04-01"], "first of a month"),
        (["03/01/2024", "04/01/2024"], True, ["2024-03-01", "2024-04-01"], "first of a month"),
        (
            ["2026-11-19", "2026-11", "11.2026", "Nov 2026", "19. März 2026", "20261119", "202611"],
            False,
            [
                "2026-11-19",
                "2026-11-01",
                "2026-11-01",
                "2026-11-01",
                "2026-03-19",
                "2026-11-19",
                "2026-11-01",
            ],
            None,
        ),
        (["46345", 46345.0, 46345.75], False, ["2026-11-19"] * 3, "Excel serial numbers"),
        (["19.11.26"], False, ["2026-11-19"], "two-digit years"),
    ],
)
def test_dates_read_by_what_the_file_shows(values, month, want, note):
    got, bad, notes = dates(values, month)
    assert got == want and not any(bad)
    assert note is None or any(note in n for n in notes)


def test_dates_that_read_two_ways_or_mix_are_refused_until_told():
    with pytest.raises(
        InputError, match=r"'03/04/2026' could be day/month/year or month/day/year \(and 1 more row"
    ):
        dates(["03/04/2026", "03/04/2026"])
    with pytest.raises(InputError, match="mixes day-first dates"):
        dates(["19/11/2026", "11/19/2026"])
    got, bad, _ = dates(["03/04/2026", "11/19/2026"], date_order="DMY")
    assert got == ["2026-04-03", None] and bad == [False, True]
    got, bad, _ = dates(["yesterday", "7", 7, "31/02/2026", ""])
    assert bad == [True, True, True, True, False]
    (v,), _, notes = read_dates([col([1.0, 45981.0], "d")], Conventions(), label="x", date1904=True)
    assert (
        f"{v[1]:%Y-%m-%d}" == "2029-11-21" and "1904 date system" in notes[-1]
    )  # 1900: 2025-11-20


@pytest.mark.parametrize(
    ("encoding", "data_note"),
    [
        ("utf-8-sig", None),
        ("utf-16", "read as UTF-16"),
        ("utf-16-le", "read as UTF-16"),
        ("cp1252", "read as Windows-1252, not UTF-8"),
    ],
)
def test_csv_encodings_and_separators(tmp_path, encoding, data_note):
    text = "Artikel;Menge;Größe\r\nA-1;1,5;groß\r\n\r\n;;\r\nB-2;2;klein\r\n"
    p = tmp_path / "x.csv"
    p.write_bytes(text.encode(encoding))
    t = read_table(p)
    a, b, c = t.columns([0, 1, 2])
    assert (
        t.header == ["Artikel", "Menge", "Größe"]
        and list(a) == ["A-1", "B-2"]
        and list(c) == ["groß", "klein"]
    )
    assert list(t.rows) == [2, 5] and "columns separated by semicolons" in t.notes
    assert "2 rows with nothing in the columns read were skipped" in t.notes
    assert data_note is None or data_note in t.notes


def test_the_csv_module_and_pandas_read_alike(tmp_path):
    """A carriage return in a quoted field sends the file to the csv module: same result."""
    rows = 'item\tqty\nA\t1\n"B\rb"\t2\n\nC\t3\n'
    p = tmp_path / "t.txt"
    p.write_text(rows, encoding="utf-8", newline="")
    t = read_table(p)
    items, qty = t.columns([0, 1])
    assert (
        list(items) == ["A", "B\rb", "C"]
        and list(qty) == ["1", "2", "3"]
        and list(t.rows) == [2, 3, 5]
    )
    q = tmp_path / "u.txt"
    q.write_text(rows.replace("\r", " "), encoding="utf-8", newline="")
    u = read_table(q)
    assert [list(x) for x in u.columns([0, 1])] == [["A", "B b", "C"], ["1", "2", "3"]] and list(
        u.rows
    ) == [2, 3, 5]
    bad = tmp_path / "v.csv"
    bad.write_bytes(b"a,b\n1,\x81\x8d\n")
    with pytest.raises(InputError, match="is not a UTF-8 or Windows-1252 text file"):
        read_table(bad)


def test_xlsx_sheets_visible_hidden_named(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb["Data"].append(["item", "qty"])
    wb["Data"].append(["A", 1])
    h = wb.create_sheet("Old")
    h.append(["item"])
    h.append(["Z"])
    h.sheet_state = "hidden"
    p = tmp_path / "x.xlsx"
    wb.save(p)
    t = read_table(p)
    assert t.sheet == "Data" and "hidden sheets not read: 'Old'" in t.notes[0]
    assert read_table(p, sheet="old").sheet == "Old"  # read because named
    wb.create_sheet("Other").append(["x"])
    wb.save(p)
    with pytest.raises(
        InputError, match=r"has 2 visible sheets \('Data', 'Other'\): say which to read"
    ):
        read_table(p)
    with pytest.raises(
        InputError, match=r"has no sheet 'Nope'; its sheets are 'Data', 'Other', 'Old'"
    ):
        read_table(p, sheet="Nope")


def test_columns_recognised_mapped_and_refused():
    r = resolve("history", ["Posting date", "Material", "Menge", "Note"], "F", ReadMapping())
    assert r.index == {"date": 0, "item": 1, "qty": 2} and r.unused == ["Note"]
    with pytest.raises(InputError, match="'Sales' and 'Units' could each be the qty"):
        resolve("history", ["SKU", "Month", "Sales", "Units"], "F", ReadMapping())
    m = ReadMapping().with_options(columns=["history.qty=Units"])
    assert resolve("history", ["SKU", "Month", "Sales", "Units"], "F", m).index["qty"] == 3
    with pytest.raises(
        InputError, match="the mapping says qty = 'Stück', but there is no such column"
    ):
        resolve(
            "history",
            ["SKU", "Month"],
            "F",
            ReadMapping().with_options(columns=["history.qty=Stück"]),
        )
    with pytest.raises(SopExcelError, match="history files have no column role 'price'"):
        ReadMapping().with_options(columns=["history.price=P"])
    with pytest.raises(SopExcelError, match="write KIND=SHEET"):
        ReadMapping().with_options(sheets=["Materials"])


def test_the_mapping_file(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(
        'decimal = ","\ndate_format = "dd.mm.yyyy"\n[settings]\nCurrency = "CHF"\n'
        '[items]\nsheet = "Materials"\nitem = "Material No."\n[open-orders]\norders = "Menge"\n',
        encoding="utf-8",
    )
    m = load_mapping(p)
    assert (m.decimal, m.date_format, m.settings) == ("comma", "DMY", {"Currency": "CHF"})
    assert m.columns == {"items": {"item": "Material No."}, "open_orders": {"orders": "Menge"}}
    assert m.files["items"]["sheet"] == "Materials"
    p.write_text(
        '[items]\nprice = 3\nfoo = "x"\n[stock]\nx = "y"\ndecimal = "maybe"\n', encoding="utf-8"
    )
    with pytest.raises(SopExcelError) as exc:
        load_mapping(p)
    text = str(exc.value)
    assert (
        "price must be the header text of a column" in text
        and "'foo' is not a column of items files" in text
    )
    assert "'stock' is not a section sop-excel knows" in text
