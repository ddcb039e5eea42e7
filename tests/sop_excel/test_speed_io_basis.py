"""close-month keeps the execution basis in its one save (issue 16's speed, the io room): the
save fills in the Basis key's fingerprint from the CRC-32 of each part as it writes them, before
it writes the Basis sheet. The same workbook as the save followed by keep_basis's second save;
the kept basis holds for the file as saved and for nothing else."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest

from sop_excel import basis as cache
from sop_excel import closing, macros
from sop_excel.cli import main
from sop_excel.workbook.tables import read_frame, rows_for
from sop_excel.workbook.zip_io import ZipIO, ZipUnsupported
from sop_excel.workbook.zip_io import book as zip_book
from sop_excel.workbook.zip_io.parts import SavedStamp
from tests.sop_excel.test_close_month import rest_of_november


def _close(path, source) -> None:
    args = ["-q", "close-month", str(path), "--actuals", str(source), "--no-refresh"]
    assert main(args) == 0


def _saves(monkeypatch) -> list[object]:
    seen: list[object] = []
    inner = zip_book.atomic_write
    monkeypatch.setattr(zip_book, "atomic_write", lambda p, w: seen.append(p) or inner(p, w))
    return seen


def _kept(path) -> tuple[dict[str, str] | None, bool]:
    book = ZipIO(path)
    try:
        key = cache.basis_key(book, macros.read_settings(book))
        return key, key is not None and cache.kept_basis(book, key) is not None
    finally:
        book.close()


def _two_saves(book, settings, basis) -> bool:
    """What close-month did before: its save, then keep_basis's second save."""
    book.save()
    return cache.keep_basis(book, settings, basis)


def test_close_month_saves_once_the_same_workbook_as_two_saves(book_copy, tmp_path, monkeypatch):
    source = rest_of_november(tmp_path)
    other = tmp_path / "other.xlsx"
    shutil.copyfile(book_copy, other)
    saves = _saves(monkeypatch)
    _close(book_copy, source)
    assert len(saves) == 1  # one save: the basis in it
    monkeypatch.setattr(closing, "save_keeping_basis", _two_saves)
    _close(other, source)
    assert len(saves) == 3
    key, kept = _kept(book_copy)
    assert kept and key == _kept(other)[0]  # the same fingerprint: the same S&OP parts
    one, two = ZipIO(book_copy), ZipIO(other)
    assert one.table_names() == two.table_names()
    for name in one.table_names():
        a, b = read_frame(one, name), read_frame(two, name)
        when = [c for c in ("time", "closed_at") if c in a.columns]  # when it ran
        pd.testing.assert_frame_equal(a.drop(columns=when), b.drop(columns=when), obj=name)
        for c in when:
            assert (a[c] - b[c]).abs().max() < pd.Timedelta(minutes=10), (name, c)


@pytest.mark.parametrize("table", ["tblForecast", "tblHistory"])
def test_the_basis_kept_in_the_one_save_is_refused_after_an_edit(
    book_copy, tmp_path, monkeypatch, table
):
    """An S&OP sheet saved again afterwards (openpyxl here; Excel writes every sheet anew) or a
    cell edited by sop-excel's own side: the key no longer holds."""
    _close(book_copy, rest_of_november(tmp_path))
    assert _kept(book_copy)[1]
    by_openpyxl = tmp_path / "openpyxl.xlsx"
    shutil.copyfile(book_copy, by_openpyxl)
    wb = openpyxl.load_workbook(by_openpyxl)
    wb.save(by_openpyxl)
    assert not _kept(by_openpyxl)[1]
    book = ZipIO(book_copy)
    frame = read_frame(book, table)
    col = "override" if table == "tblForecast" else "qty"
    frame.loc[frame.index[0], col] = 12345.0
    book.write_table(table, rows_for(table, frame))
    book.save()
    assert not _kept(book_copy)[1]


def _queue_stamp(book: ZipIO) -> None:
    """The Basis key rewritten with its ``sheets`` value a stamp for this save to fill in."""
    said = read_frame(book, "tblBasisKey")
    stamped = [
        SavedStamp(cache.BASIS_SOURCES) if k == "sheets" else v
        for k, v in said[["key", "value"]].to_numpy()
    ]
    book.write_table("tblBasisKey", rows_for("tblBasisKey", said.assign(value=stamped)))


def test_a_stamp_not_filled_in_holds_for_no_file(small_copy, monkeypatch):
    """The openpyxl fallback (here: forced while saving) writes the stamp's placeholder: the
    basis is not used, never a wrong one."""
    book = ZipIO(small_copy)
    key = cache.basis_key(book, macros.read_settings(book))
    assert key is not None and cache.kept_basis(book, key) is not None
    _queue_stamp(book)

    def unsupported(self, tmp, plan):
        raise ZipUnsupported("forced by the test")

    monkeypatch.setattr(zip_book.ZipIO, "_write_package", unsupported)
    book.save()
    assert book.fallback_reason == "forced by the test"
    monkeypatch.undo()
    again = ZipIO(small_copy)
    said = read_frame(again, "tblBasisKey").set_index("key")["value"]
    assert said["sheets"] == str(SavedStamp(cache.BASIS_SOURCES))
    assert cache.kept_basis(again, cache.basis_key(again, macros.read_settings(again))) is None


def test_a_stamp_names_the_parts_as_the_save_wrote_them(small_copy):
    """Written by the zip side, the stamp is the fingerprint content_stamp reads back."""
    book = ZipIO(small_copy)
    _queue_stamp(book)
    history = read_frame(book, "tblHistory")
    book.write_table("tblHistory", rows_for("tblHistory", history.iloc[:-1]))  # a source changes
    book.save()
    again = ZipIO(small_copy)
    said = read_frame(again, "tblBasisKey").set_index("key")["value"]
    assert said["sheets"] == again.content_stamp(cache.BASIS_SOURCES)
    assert cache.kept_basis(again, cache.basis_key(again, macros.read_settings(again))) is not None
