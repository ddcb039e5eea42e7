"""The daily refresh keeps the Actuals and Production rows that did not change as the file holds
them (issue 21, speed): the same tables, and the same sheet XML, as writing every row anew; a
sheet not in the form sop-excel writes (saved by openpyxl, a cell restyled) is written anew."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.workbook import tables
from sop_excel.workbook.convert import ExcelRows
from sop_excel.workbook.tables import read_frame, unchanged_head
from sop_excel.workbook.zip_io import ZipIO
from sop_excel.workbook.zip_io import sheet as zip_sheet
from tests.sop_excel.zip_cells import edit_part

KEPT = ("tblActuals", "tblProduction")
_BULK = ZipIO._plain_rows  # the bulk reader, as the tests below find it patched or not


def _refresh(book, csv, monkeypatch, *, keep: bool) -> dict[str, tuple[int, int] | None]:
    """refresh-actuals from the demo's day file; what :func:`unchanged_rows` said per table."""
    said: dict[str, tuple[int, int] | None] = {}
    inner = zip_sheet.unchanged_rows

    def spy(xml, start, end, e, w):  # noqa: ANN001, ANN202 - a pass-through recorder
        said[e.table.name] = got = inner(xml, start, end, e, w)
        return got

    monkeypatch.setattr(zip_sheet, "KEEP_UNCHANGED", keep)
    monkeypatch.setattr(zip_sheet, "unchanged_rows", spy)
    assert main(["-q", "refresh-actuals", str(book), "--actuals", str(csv)]) == 0
    return said


def _tables(path) -> dict[str, pd.DataFrame]:
    book = ZipIO(path)
    out = {  # but the clock's: when each command ran
        n: read_frame(book, n).drop(columns=["time"], errors="ignore")
        for n in book.table_names()
        if n != "tblLog"
    }
    book.close()
    return out


def _sheet_xml(path, table: str) -> bytes:
    book = ZipIO(path)
    part = book._tables[table].sheet_part
    book.close()
    with zipfile.ZipFile(path) as z:
        return z.read(part)


def _same_tables(a, b) -> None:
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], obj=name)


@pytest.fixture
def day(book_copy):
    """The demo's next day (the demo: Production holds receipts due after it, Actuals is big
    enough for the bulk rewrite)."""
    return next(book_copy.parent.glob("*_actuals_*.csv"))


@pytest.fixture
def small_day(small_copy):
    """The next day of the small company's demo: which rows are kept, and how a sheet is read,
    are about the form of the sheets, not the demo's size (a third of its loads and saves)."""
    return next(small_copy.parent.glob("*_actuals_*.csv"))


def _day_before(path, day: pd.Timestamp) -> None:
    """The workbook as it was before ``day`` was loaded (its rows taken off, by this side)."""
    book = ZipIO(path)
    for t in KEPT:
        frame = read_frame(book, t)
        tables.write_frame(book, t, frame[frame["date"] != day].reset_index(drop=True))
    book.save()
    book.close()


def test_the_daily_refresh_keeps_the_unchanged_rows_and_writes_what_a_full_rewrite_writes(
    book_copy, day, tmp_path, monkeypatch
):
    _refresh(book_copy, day, monkeypatch, keep=False)  # every sheet as this side writes it
    new_day = pd.Timestamp(pd.read_csv(day)["date"].iloc[0])
    _day_before(book_copy, new_day)
    full = tmp_path / "full.xlsx"
    full.write_bytes(book_copy.read_bytes())
    before = _tables(book_copy)
    said = _refresh(book_copy, day, monkeypatch, keep=True)
    assert all(said.get(t) is not None for t in KEPT), said  # the fast path was taken
    _refresh(full, day, monkeypatch, keep=False)
    _same_tables(book_copy, full)
    for t in KEPT:  # byte for byte: the kept rows are what writing them anew gives
        assert _sheet_xml(book_copy, t) == _sheet_xml(full, t), t
    after = _tables(book_copy)
    n = len(before["tblActuals"])
    assert len(after["tblActuals"]) > n  # the new day added after the days kept
    pd.testing.assert_frame_equal(after["tblActuals"].iloc[:n], before["tblActuals"])
    # Production: the new day's rows go in before the receipts due later, which are made anew
    assert (after["tblProduction"]["date"] > new_day).any()
    assert (after["tblProduction"]["date"] == new_day).any()
    # the same day loaded again: every row kept
    said = _refresh(book_copy, day, monkeypatch, keep=True)
    assert all(said.get(t) is not None for t in KEPT), said
    _same_tables(book_copy, full)


def test_the_demo_as_built_keeps_its_rows_with_the_same_tables(
    small_copy, small_day, tmp_path, monkeypatch
):
    """The builder writes 0 where this side writes 0.0: the same values, kept as they are."""
    full = tmp_path / "full.xlsx"
    full.write_bytes(small_copy.read_bytes())
    said = _refresh(small_copy, small_day, monkeypatch, keep=True)
    assert all(said.get(t) is not None for t in KEPT), said
    _refresh(full, small_day, monkeypatch, keep=False)
    _same_tables(small_copy, full)


def test_a_workbook_saved_by_openpyxl_is_written_anew_with_the_same_tables(
    small_copy, small_day, tmp_path, monkeypatch
):
    wb = openpyxl.load_workbook(small_copy)
    wb.save(small_copy)  # shared strings, other number forms: not the form sop-excel writes
    full = tmp_path / "full.xlsx"
    full.write_bytes(small_copy.read_bytes())
    said = _refresh(small_copy, small_day, monkeypatch, keep=True)
    assert "tblActuals" in said and said["tblActuals"] is None  # asked, and refused
    _refresh(full, small_day, monkeypatch, keep=False)
    _same_tables(small_copy, full)


def _restyle_one_cell(path, table: str, row: int) -> None:
    """The sheet as a tool that edits one cell's style in place would leave it."""
    book = ZipIO(path)
    part, col = book._tables[table].sheet_part, "C"
    book.close()

    def restyled(data: bytes) -> bytes:
        data, n = re.subn(rb'(<c r="%s%d") s="\d+"' % (col.encode(), row), rb"\1", data)
        assert n == 1
        return data

    edit_part(path, part, restyled)


def test_a_kept_row_in_another_form_is_written_anew(book_copy, day, tmp_path, monkeypatch):
    _restyle_one_cell(book_copy, "tblActuals", 10)
    full = tmp_path / "full.xlsx"
    full.write_bytes(book_copy.read_bytes())
    said = _refresh(book_copy, day, monkeypatch, keep=True)
    assert said["tblActuals"] is None and said["tblProduction"] is not None
    _refresh(full, day, monkeypatch, keep=False)
    _same_tables(book_copy, full)
    assert _sheet_xml(book_copy, "tblActuals") == _sheet_xml(full, "tblActuals")
    assert b'<c r="C10" s="' in _sheet_xml(book_copy, "tblActuals")  # its style made again


def _saved(frame: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    out = frame.copy()
    out.attrs["excel_rows"] = ExcelRows(rows)
    return out


def test_unchanged_head_counts_rows_equal_in_value_and_type_from_one_sheet_row_on():
    day = pd.Timestamp("2026-11-02")
    old = pd.DataFrame(
        {
            "date": [day] * 4,
            "item": ["A", "B", "C", "D"],
            "orders": [1.0, np.nan, 3.0, 4.0],
            "shipments": [0.0, 0.0, 0.0, 0.0],
        }
    )
    new = pd.concat([old, old.iloc[:1]], ignore_index=True)
    assert unchanged_head(_saved(old, [4, 5, 6, 7]), new, "tblActuals") == (4, 4)  # NaN is NaN
    changed = new.assign(orders=[1.0, np.nan, 3.5, 4.0, 1.0])
    assert unchanged_head(_saved(old, [4, 5, 6, 7]), changed, "tblActuals") == (2, 4)
    # a blank row the reading dropped (sheet row 6) ends the run
    assert unchanged_head(_saved(old, [4, 5, 7, 8]), new, "tblActuals") == (2, 4)
    # an item code typed as a number reads equal to the text, but is written otherwise
    typed = new.astype({"item": object})
    typed.loc[0, "item"] = 1
    assert unchanged_head(
        _saved(old.assign(item=["1", "B", "C", "D"]), [4, 5, 6, 7]), typed, "tblActuals"
    ) == (0, 0)
    # a frame the reading did not number (not read from a sheet): no claim
    assert unchanged_head(old, new, "tblActuals") == (0, 0)
    # days read as ns, a source's as us: the same days
    us = new.assign(date=new["date"].astype("datetime64[us]"))
    assert unchanged_head(_saved(old, [4, 5, 6, 7]), us, "tblActuals") == (4, 4)


def test_write_frame_tells_the_side_only_what_it_read(small_copy):
    book = ZipIO(small_copy)
    saved = read_frame(book, "tblActuals")
    tables.write_frame(book, "tblActuals", saved.iloc[:-3], saved=saved)
    rows = book._writes["tblActuals"]
    first = book._tables["tblActuals"].bounds[1] + 1
    assert (rows.unchanged, rows.unchanged_from) == (len(saved) - 3, first)
    tables.write_frame(book, "tblActuals", saved)  # no saved frame: no claim
    assert book._writes["tblActuals"].unchanged == 0
    book.close()


# -- the big tables read in bulk (zip_io.plain_rows) ----------------------------------------
def _frames_both_ways(path, monkeypatch, names=None) -> dict[str, bool]:
    """Every table (or ``names``) read with the bulk reader tried on all of them and with
    calamine: the same frames; which tables the bulk reader read."""
    used: dict[str, bool] = {}
    inner = _BULK  # not ZipIO._plain_rows: a call before left it patched

    def spy(self, tbl):  # noqa: ANN001, ANN202 - a pass-through recorder
        used[tbl.name] = (got := inner(self, tbl)) is not None
        return got

    monkeypatch.setattr(ZipIO, "SMALL_ROWS", 0)
    # one book read each way (opening one checks every part of the file: not once a table)
    fast_book, plain_book = ZipIO(path), ZipIO(path)
    names = names or fast_book.table_names()
    for name in names:
        monkeypatch.setattr(ZipIO, "_plain_rows", spy)
        fast = read_frame(fast_book, name)
        monkeypatch.setattr(ZipIO, "_plain_rows", lambda self, tbl: None)  # calamine
        plain = read_frame(plain_book, name)
        pd.testing.assert_frame_equal(fast, plain, obj=name)
        assert list(fast.attrs["excel_rows"]) == list(plain.attrs["excel_rows"]), name
    fast_book.close()
    plain_book.close()
    return used


def test_tables_as_written_read_in_bulk_give_calamines_frames(small_copy, small_day, monkeypatch):
    used = _frames_both_ways(small_copy, monkeypatch)  # the demo as the builder wrote it
    assert used["tblActuals"] and used["tblProduction"], used
    _refresh(small_copy, small_day, monkeypatch, keep=False)  # as this side writes them
    used = _frames_both_ways(small_copy, monkeypatch)
    assert used["tblActuals"] and used["tblProduction"], used


def _edit_sheet(path, table: str, edit) -> None:  # noqa: ANN001 - bytes -> bytes
    book = ZipIO(path)
    part = book._tables[table].sheet_part
    book.close()
    edit_part(path, part, edit)


@pytest.mark.parametrize(
    ("edit", "bulk"),
    [
        # an entity in a text, an empty cell, a row with spans: read in bulk; a date with a
        # time of day: left to calamine. Either way the frame is calamine's.
        (lambda x: x.replace(b"<t>CTL-3002</t>", b"<t>CTL&amp;3002</t>", 1), True),
        (lambda x: re.sub(rb'<c r="C6" s="(\d+)"><v>[^<]*</v></c>', b"", x, count=1), True),
        (
            lambda x: re.sub(
                rb'(<c r="A7" s="\d+"><v>)(\d+)(</v>)', rb"\g<1>\g<2>.5\3", x, count=1
            ),
            False,
        ),
        (lambda x: x.replace(b'<row r="8">', b'<row r="8" spans="1:4">', 1), True),
    ],
    ids=["entity", "empty", "time", "spans"],
)
def test_a_row_written_otherwise_gives_calamines_frame(small_copy, monkeypatch, edit, bulk):
    _edit_sheet(small_copy, "tblActuals", edit)
    used = _frames_both_ways(small_copy, monkeypatch, ["tblActuals"])
    assert used == {"tblActuals": bulk}


def test_a_workbook_saved_by_openpyxl_is_read_by_calamine(small_copy, monkeypatch):
    openpyxl.load_workbook(small_copy).save(small_copy)  # shared strings
    used = _frames_both_ways(small_copy, monkeypatch, list(KEPT))
    assert used == {t: False for t in KEPT}
