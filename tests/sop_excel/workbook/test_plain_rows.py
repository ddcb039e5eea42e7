"""Big tables read in bulk (zip_io.plain_rows): the frames the other readers give, and the
other readers whenever the sheet is not as sop-excel writes it (saved by openpyxl, odd cells)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sop_excel.workbook.convert import frame_from_rows
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO
from sop_excel.workbook.zip_io import book as zip_book
from sop_excel.workbook.zip_io.plain_rows import plain_rows, plain_span
from tests.sop_excel.tiny import build_tiny

BIG = ("tblHistory", "tblSnapshots", "tblBasisMonths")  # at A3, at A3, at K3 (a table before it)


@pytest.fixture
def big_book(tmp_path):
    """The tiny workbook with History, Snapshots and the Basis months grown past the rows the
    XML reader reads (ZipIO.SMALL_ROWS), with text to escape, spaces, empty and missing cells."""
    path = tmp_path / "big.xlsx"
    build_tiny(path)
    book = ZipIO(path)
    n = ZipIO.SMALL_ROWS + 500
    items = [f"IT-{i:05d}" if i % 7 else f" A&B <{i}> " for i in range(n // 20 + 1)]
    months = pd.date_range("2020-01-01", periods=20, freq="MS")
    item = np.repeat(items, 20)[:n]
    month = np.tile(months, len(items))[:n]
    qty = np.arange(n, dtype=float) * 1.25
    qty[::13] = np.nan
    flag = np.where(np.arange(n) % 11 == 0, "stockout", "")
    write_frame(
        book, "tblHistory", pd.DataFrame({"item": item, "month": month, "qty": qty, "flag": flag})
    )
    snaps = pd.DataFrame(
        {
            "version": 1.0,
            "cycle": pd.Timestamp("2019-12-01"),
            "item": item,
            "family": np.where(np.arange(n) % 3 == 0, "Fam & co", "Valves"),
            "month": month,
            "lag": 1.0,
            "naive": qty,
            "baseline": qty / 3,
            "final": np.round(qty / 7, 3),
        }
    )
    write_frame(book, "tblSnapshots", snaps)
    write_frame(book, "tblBasisMonths", pd.DataFrame({"item": item, "month": month, "volume": qty}))
    book.save()
    return path


def _spy(monkeypatch) -> list[bool]:
    """Whether each big read went the bulk way."""
    seen: list[bool] = []

    def spy(*a, **k):
        rows = plain_rows(*a, **k)
        seen.append(rows is not None)
        return rows

    monkeypatch.setattr(zip_book, "plain_rows", spy)
    return seen


def _reference(path, name, calamine: bool) -> pd.DataFrame:
    """The frame the other readers give: the XML reader's, or calamine's (read_values without
    the bulk read)."""
    book = ZipIO(path)
    if not calamine:
        return frame_from_rows(book.read_table(name), load_layout().table(name))
    book._plain_rows = lambda tbl: None  # type: ignore[method-assign]
    return read_frame(book, name)


def _same(a: pd.DataFrame, b: pd.DataFrame, name: str) -> None:
    pd.testing.assert_frame_equal(a, b, obj=name)
    assert list(a.attrs["excel_rows"]) == list(b.attrs["excel_rows"]), name


def test_a_table_as_sop_excel_wrote_it_is_read_in_bulk_to_the_same_frame(big_book, monkeypatch):
    seen = _spy(monkeypatch)
    book = ZipIO(big_book)
    for name in BIG:
        fast = read_frame(book, name)
        assert len(fast) > ZipIO.SMALL_ROWS
        _same(fast, _reference(big_book, name, calamine=False), name)
        _same(fast, _reference(big_book, name, calamine=True), name)
    assert seen == [True] * len(BIG)
    hist = read_frame(book, "tblHistory")
    assert " A&B <0> ".strip() in set(hist["item"])  # unescaped, stripped as every reader does
    assert hist["qty"].isna().sum() > 100


def test_a_sheet_saved_by_openpyxl_is_read_the_general_way(big_book, monkeypatch):
    wb = openpyxl.load_workbook(big_book)
    wb.save(big_book)  # shared strings, t="n": not the form the bulk read reads
    seen = _spy(monkeypatch)
    book = ZipIO(big_book)
    for name in BIG:
        _same(read_frame(book, name), _reference(big_book, name, calamine=False), name)
    assert seen == [False] * len(BIG)


SHEET = (
    b'<worksheet><sheetData><row r="3"><c r="A3" t="inlineStr"><is><t>Item</t></is></c>'
    b'<c r="B3" t="inlineStr"><is><t>Qty</t></is></c></row>'
    b'<row r="4"><c r="A4" s="1" t="inlineStr"><is><t>X</t></is></c><c r="B4" s="2"><v>1.5</v></c></row>'
    b'<row r="5"><c r="A5" s="1" t="inlineStr"><is><t>Y&amp;Z</t></is></c><c r="B5" s="2"/></row>'
    b"ROW6</sheetData></worksheet>"
)


def _read(row6: bytes, date_ids: frozenset[int] = frozenset()) -> list | None:
    xml = SHEET.replace(b"ROW6", row6)
    lo, hi = plain_span(xml, 3, 6)
    return plain_rows(xml, lo, hi, (1, 3, 2, 6), set(date_ids), set(), False)


@pytest.mark.parametrize(
    ("row6", "why"),
    [
        (b'<row r="6"><c r="A6" t="s"><v>0</v></c><c r="B6"><v>2</v></c></row>', "shared string"),
        (
            b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c><c r="B6"><f>1+1</f><v>2</v></c></row>',
            "formula",
        ),
        (
            b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c><c r="B6" t="b"><v>1</v></c></row>',
            "boolean",
        ),
        (
            b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c><c r="B6" s="2" t="n"><v>2</v></c></row>',
            "attribute",
        ),
        (
            b'<row r="6"><c r="B6" s="2"><v>2</v></c><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c></row>',
            "order",
        ),
        (b'<row r="7"><c r="A7" s="1" t="inlineStr"><is><t>W</t></is></c></row>', "a row missing"),
        (b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W\r\n</t></is></c></row>', "raw CR"),
    ],
)
def test_a_cell_in_another_form_leaves_the_table_to_the_other_readers(row6, why):
    assert _read(row6) is None, why


def test_a_header_without_a_cell_is_no_table_header():
    xml = SHEET.replace(b'<c r="B3" t="inlineStr"><is><t>Qty</t></is></c>', b"").replace(
        b"ROW6", b""
    )
    lo, hi = plain_span(xml, 3, 5)
    rows = plain_rows(xml, lo, hi, (1, 3, 2, 5), set(), set(), False)
    assert rows is not None and rows[0] == ["Item", None]  # ZipIO then reads it the general way


def test_plain_cells_empty_cells_and_a_table_beside():
    rows = _read(
        b'<row r="6"><c r="B6" s="2"><v>3</v></c><c r="D6" s="1" t="inlineStr"><is><t>beside</t></is></c></row>'
    )
    assert list(rows) == [["Item", "Qty"], ["X", 1.5], ["Y&Z", None], [None, 3.0]]
    days = _read(
        b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c><c r="B6" s="2"><v>46204</v></c></row>',
        frozenset({2}),
    )
    assert days is None  # 1.5 in a date column: a time of day, left to the other readers
    whole = SHEET.replace(b"<v>1.5</v>", b"<v>46203</v>").replace(
        b"ROW6",
        b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c><c r="B6" s="2"><v>46204</v></c></row>',
    )
    lo, hi = plain_span(whole, 3, 6)
    got = plain_rows(whole, lo, hi, (1, 3, 2, 6), {2}, set(), False)
    assert (
        got is not None
        and got[1][1] == dt.datetime(2026, 6, 30)
        and got[3][1] == dt.datetime(2026, 7, 1)
    )


@pytest.mark.parametrize(
    ("serial", "why"),
    [
        (b"99999999999", "past any date"),
        (b"2958466", "after 9999-12-31"),
        (b"59", "before 1900-03-01"),
    ],
)
def test_a_date_serial_no_date_can_hold_is_left_to_the_other_readers(serial, why):
    row6 = (
        b'<row r="6"><c r="A6" s="1" t="inlineStr"><is><t>W</t></is></c>'
        b'<c r="B6" s="2"><v>' + serial + b"</v></c></row>"
    )
    whole = SHEET.replace(b"<v>1.5</v>", b"<v>46203</v>").replace(
        b'<c r="B5" s="2"/>', b'<c r="B5" s="2"><v>46203</v></c>'
    )
    xml = whole.replace(b"ROW6", row6)
    lo, hi = plain_span(xml, 3, 6)
    assert plain_rows(xml, lo, hi, (1, 3, 2, 6), {2}, set(), False) is None, why  # no traceback


def test_a_row_not_matched_beside_another_table_fails_at_once():
    """A row of a table beside another table (many cells before it) with one cell in another
    form: no match, found in linear time (the cells before it once backtracked through every
    way to split them, minutes for one 27-column row)."""
    import signal

    def row(r: int, last: bytes) -> bytes:
        before = b"".join(
            b'<c r="%s%d" s="1" t="inlineStr"><is><t>x</t></is></c>' % (c.encode(), r)
            for c in "ABCDEFGHIJKLMN"
        )
        mine = b"".join(b'<c r="%s%d" s="2"><v>1</v></c>' % (c.encode(), r) for c in "OPQRSTUVWXY")
        return b'<row r="%d">' % r + before + mine + last % r + b"</row>"

    head = (
        b'<row r="3">'
        + b"".join(
            b'<c r="%s3" t="inlineStr"><is><t>%s</t></is></c>' % (c.encode(), c.encode())
            for c in "OPQRSTUVWXYZ"
        )
        + b"</row>"
    )
    rows = [row(r, b'<c r="Z%d" s="2"><v>2</v></c>') for r in range(4, 40)]
    rows.append(row(40, b'<c r="Z%d"><f>1+1</f><v>2</v></c>'))  # a formula: not plain
    xml = b"<worksheet><sheetData>" + head + b"".join(rows) + b"</sheetData></worksheet>"
    lo, hi = plain_span(xml, 3, 40)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the row took more than 10 s"))
    signal.alarm(10)
    try:
        assert plain_rows(xml, lo, hi, (15, 3, 26, 40), set(), set(), False) is None
    finally:
        signal.alarm(0)
