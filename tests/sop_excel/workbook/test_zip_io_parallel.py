"""ZipIO's work in other processes: the biggest rewritten sheet made by a forked process while
the other parts are written, and a table read by a process of its own. Same results as serial."""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import sys
import tempfile
import time
import zipfile

import pandas as pd
import pytest

from sop_excel.workbook.tables import read_frame, rows_for, write_frame
from sop_excel.workbook.zip_io import ZipIO
from sop_excel.workbook.zip_io import sheet as zip_sheet
from sop_excel.workbook.zip_io import writing as zip_writing
from sop_excel.workbook.zip_io.aside import SheetAside

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="the forked writer runs on Linux with more than one core",
)


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


@pytest.fixture(autouse=True)
def _own_temp_folder(tmp_path, monkeypatch):
    """Each test counts the sheets made aside in a temporary folder of its own: with the tests
    spread over processes (pytest-xdist), another test's save may be making one meanwhile."""
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))


def _leftovers() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "sop-excel-sheet-*")))


def _save_both_ways(demo_book, tmp_path, monkeypatch, edit) -> tuple[dict, dict, list[str]]:
    monkeypatch.setattr(SheetAside, "MIN_ROWS", 10)
    out = []
    for serial in (True, False):
        if serial:
            monkeypatch.setenv("SOP_EXCEL_SERIAL", "1")
        else:
            monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
        path = tmp_path / f"{'serial' if serial else 'aside'}.xlsx"
        shutil.copyfile(demo_book, path)
        book = ZipIO(path)
        edit(book)
        book.save()
        assert book.fallback_reason is None
        out.append(path)
    with zipfile.ZipFile(out[1]) as z:
        order = [i.filename for i in z.infolist()]
    return _members(out[0]), _members(out[1]), order


def _actuals_and_weekly(book):
    a = read_frame(book, "tblActuals")
    write_frame(book, "tblActuals", a.assign(orders=a["orders"] + 1))
    write_frame(book, "tblSensing", read_frame(book, "tblSensing"))


def test_the_biggest_sheet_made_aside_gives_the_same_parts(demo_book, tmp_path, monkeypatch):
    before = _leftovers()
    serial, aside, order = _save_both_ways(demo_book, tmp_path, monkeypatch, _actuals_and_weekly)
    assert serial == aside  # every part the same bytes; only their order in the file differs
    part = ZipIO(demo_book)._find("tblActuals").sheet_part
    assert order[-2:] == [part, "xl/styles.xml"]  # made meanwhile, copied in after the others
    assert _leftovers() == before


def test_a_sheet_needing_a_new_number_format_is_made_here(demo_book, tmp_path, monkeypatch):
    """A date in a column not formatted for dates adds a format to the stylesheet, which the
    forked process cannot share: this process makes the sheet itself."""

    def edit(book):
        rows = rows_for("tblActuals", read_frame(book, "tblActuals"))
        rows[1][2] = dt.datetime(2026, 11, 3, 12, 30)  # Orders is a quantity column
        book.write_table("tblActuals", rows)
        write_frame(book, "tblSensing", read_frame(book, "tblSensing"))

    serial, aside, order = _save_both_ways(demo_book, tmp_path, monkeypatch, edit)
    assert serial == aside
    assert b"yyyy-mm-dd h:mm:ss" in aside["xl/styles.xml"]


def test_a_failure_in_the_forked_process_means_making_the_sheet_here(
    demo_book, tmp_path, monkeypatch
):
    parent = os.getpid()
    inner = zip_sheet.rewrite_sheet

    def flaky(*a, **k):
        if os.getpid() != parent:
            raise RuntimeError("the forked writer fails")
        return inner(*a, **k)

    monkeypatch.setattr(zip_sheet, "rewrite_sheet", flaky)
    before = _leftovers()
    serial, aside, _ = _save_both_ways(demo_book, tmp_path, monkeypatch, _actuals_and_weekly)
    assert serial == aside
    assert _leftovers() == before


def test_a_failure_here_leaves_no_process_nor_file(demo_book, tmp_path, monkeypatch):
    monkeypatch.setattr(SheetAside, "MIN_ROWS", 10)
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    path = tmp_path / "plan.xlsx"
    shutil.copyfile(demo_book, path)
    original = path.read_bytes()
    book = ZipIO(path)
    _actuals_and_weekly(book)
    started = []
    real_start = SheetAside.start.__func__

    def start(cls, *a):
        aside = real_start(cls, *a)
        started.append(aside)
        return aside

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(SheetAside, "start", classmethod(start))
    monkeypatch.setattr(zip_writing, "copy_raw", broken)
    before = _leftovers()
    with pytest.raises(OSError):
        book.save()
    assert started and started[0] is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(started[0].pid, os.WNOHANG)  # reaped
    assert _leftovers() == before
    assert path.read_bytes() == original


def test_a_table_read_by_a_process_of_its_own_is_the_same_frame(small_copy):
    book = ZipIO(small_copy)
    reader = book.frame_reader("tblActuals")
    assert reader is not None
    pd.testing.assert_frame_equal(reader(), read_frame(book, "tblActuals"))
    write_frame(book, "tblActuals", read_frame(book, "tblActuals"))
    assert book.frame_reader("tblActuals") is None  # unsaved writes: only this process knows them
    assert book.frame_reader("tblNoSuchTable") is None


def test_a_sheet_that_does_not_come_in_time_is_made_here(demo_book, tmp_path, monkeypatch):
    parent = os.getpid()
    inner = zip_sheet.rewrite_sheet

    def slow(*a, **k):
        if os.getpid() != parent:
            time.sleep(30)
        return inner(*a, **k)

    monkeypatch.setattr(zip_sheet, "rewrite_sheet", slow)
    monkeypatch.setattr(SheetAside, "WAIT_S", 0.5)
    started = time.monotonic()
    serial, aside, _ = _save_both_ways(demo_book, tmp_path, monkeypatch, _actuals_and_weekly)
    assert serial == aside
    assert time.monotonic() - started < 20  # the slow one was not waited for


def test_the_guard_tells_which_sheets_hold_error_cells_and_the_reader_names_them(small_copy):
    """The guard inflates the sheets anyway: it notes the error cells (calamine reads #N/A as
    empty), so neither this process nor a table's reader process inflates them again to know."""
    import openpyxl

    from sop_excel.errors import InputError
    from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

    t = load_layout().table("tblActuals")
    r0, c0 = parse_cell(t.anchor)
    where = cell_address(r0 + 2, c0 + t.fields.index("orders"))
    wb = openpyxl.load_workbook(small_copy)
    wb["Actuals"][where] = "#N/A"
    wb.save(small_copy)
    book = ZipIO(small_copy)
    part = book._find("tblActuals").sheet_part
    assert book._errors_seen[part] is True
    assert book._errors_seen[book._find("tblItems").sheet_part] is False
    with pytest.raises(InputError) as exc:
        book.frame_reader("tblActuals")()
    assert f"cell {where}: '#N/A' is not a number" in str(exc.value)


def test_the_two_biggest_sheets_are_made_aside(demo_book, tmp_path, monkeypatch):
    """Actuals and Production (the daily refresh with production writes both): two processes of
    their own, this one the rest; the same parts as made in one process."""

    def edit(book):
        _actuals_and_weekly(book)
        p = read_frame(book, "tblProduction")
        write_frame(book, "tblProduction", p.assign(produced=p["produced"] + 1))

    before = _leftovers()
    serial, aside, order = _save_both_ways(demo_book, tmp_path, monkeypatch, edit)
    assert serial == aside
    book = ZipIO(demo_book)
    parts = {book._find(t).sheet_part for t in ("tblActuals", "tblProduction")}
    assert set(order[-3:-1]) == parts and order[-1] == "xl/styles.xml"
    assert _leftovers() == before
