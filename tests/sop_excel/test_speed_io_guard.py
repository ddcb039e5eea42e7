"""The guard's checks of a sheet the zip side reads made once, as it reads it (issue 16's speed,
the io room): ``check_xlsx(defer=...)`` leaves a worksheet's full inflate to ZipIO's read of it
(``check_part``), with the same refusals before any parser sees it; a sheet copied as it is is
not inflated at all. Here every sheet is deferred (``DEFER_MIN_BYTES`` = 0): the demo's are
small, the scaled workbook's are not."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from sop_excel.errors import WorkbookCorruptError
from sop_excel.workbook import guard
from sop_excel.workbook.guard import check_xlsx, inflated
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.zip_cells import edit_part


@pytest.fixture
def every_sheet_deferred(monkeypatch):
    monkeypatch.setattr(guard, "DEFER_MIN_BYTES", 0)


def _part(path, table):
    book = ZipIO(path)
    try:
        return book._find(table).sheet_part
    finally:
        book.close()


def test_a_deferred_sheet_is_inflated_only_when_read(small_copy, every_sheet_deferred, monkeypatch):
    inflated_parts: list[str] = []
    inner = guard.inflated
    monkeypatch.setattr(
        guard,
        "inflated",
        lambda zf, info, *a: inflated_parts.append(info.filename) or inner(zf, info, *a),
    )
    book = ZipIO(small_copy)
    actuals = book._find("tblActuals").sheet_part
    assert actuals in book._deferred and actuals not in inflated_parts
    assert actuals not in book._errors_seen  # not known before it is read
    read_frame(book, "tblActuals")
    assert inflated_parts.count(actuals) == 1 and actuals not in book._deferred
    assert book._errors_seen[actuals] is False and actuals in book._formulas_seen


def test_the_same_tables_with_and_without_deferring(small_copy, tmp_path, monkeypatch):
    """Every table read, one written and saved, every table read again: the same frames."""
    other = tmp_path / "other.xlsx"
    other.write_bytes(small_copy.read_bytes())

    def run(path):
        book = ZipIO(path)
        first = {n: read_frame(book, n) for n in ("tblItems", "tblSettings")}
        hist = read_frame(book, "tblHistory")
        write_frame(book, "tblHistory", hist.assign(qty=hist["qty"] + 1))
        book.save()
        after = {n: read_frame(book, n) for n in book.table_names()}
        book.close()
        return first, after

    plain = run(other)
    monkeypatch.setattr(guard, "DEFER_MIN_BYTES", 0)
    deferred = run(small_copy)
    for a, b in zip(plain, deferred, strict=True):
        assert a.keys() == b.keys()
        for name in a:
            pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_a_dtd_in_a_deferred_sheet_is_refused_before_it_is_parsed(small_copy, every_sheet_deferred):
    part = _part(small_copy, "tblActuals")
    edit_part(
        small_copy,
        part,
        lambda xml: xml.replace(b"<sheetData>", b'<!ENTITY x "y"><sheetData>', 1),
    )
    with pytest.raises(WorkbookCorruptError, match="document type declaration"):
        check_xlsx(small_copy, deep=False)  # without defer: at once
    book = ZipIO(small_copy)  # deferred: the sheet is not inflated yet
    assert part in book._deferred
    with pytest.raises(WorkbookCorruptError, match=f"document type declaration in {part}"):
        read_frame(book, "tblActuals")
    with pytest.raises(WorkbookCorruptError, match=f"document type declaration in {part}"):
        book.frame_reader("tblActuals")()  # a reader of its own checks it too


def test_a_deferred_sheet_in_utf16_is_refused_at_open(small_copy, every_sheet_deferred):
    """What a large part gets at open (declared size, ratio, encoding, no DTD before the root)
    a deferred one gets too."""
    part = _part(small_copy, "tblActuals")
    edit_part(
        small_copy,
        part,
        lambda xml: (
            xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
        ),
    )
    with pytest.raises(WorkbookCorruptError, match="not UTF-8"):
        ZipIO(small_copy)


def test_a_deferred_sheet_bigger_than_it_declares_is_refused_when_read(
    small_copy, every_sheet_deferred
):
    part = _part(small_copy, "tblActuals")
    book = ZipIO(small_copy)
    book._members[part].file_size -= 10  # as a crafted directory would declare it
    with pytest.raises(WorkbookCorruptError, match="damaged"):
        read_frame(book, "tblActuals")


def test_inflated_gives_what_zipfile_gives_and_checks_the_crc(small_copy, tmp_path):
    with zipfile.ZipFile(small_copy) as z:
        for info in z.infolist():
            for chunk in (1, 7, 1 << 20):
                if chunk == 1 and info.file_size > 5000:
                    continue
                assert b"".join(inflated(z, info, chunk)) == z.read(info), info.filename
        info = z.getinfo(_part(small_copy, "tblActuals"))
        info.CRC ^= 1
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            b"".join(inflated(z, info))
