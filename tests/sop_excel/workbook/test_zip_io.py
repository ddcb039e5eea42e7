"""The zip side: the same tables as the openpyxl side, a valid package, every other part untouched."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest

from sop_excel import macros
from sop_excel.check import check_workbook, formula_cells
from sop_excel.errors import LayoutError
from sop_excel.workbook.io import Formula
from sop_excel.workbook.libreoffice import find_soffice
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import ZipIO, open_workbook
from tests.sop_excel.tiny import build_tiny


def _norm(v):
    """Cells as a reader sees them: openpyxl's save turns '' into an empty cell."""
    if v == "":
        return None
    if isinstance(v, Formula):
        return ("formula", v.text)
    return v


def _same(a, b) -> bool:
    """Equal, numbers to 12 digits (openpyxl writes 16 significant digits, the zip side 17)."""
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def _diff(ra, rb) -> str | None:
    if len(ra) != len(rb):
        return f"{len(ra)} rows against {len(rb)}"
    for i, (x, y) in enumerate(zip(ra, rb, strict=True)):
        x, y = [_norm(v) for v in x], [_norm(v) for v in y]
        if len(x) != len(y) or not all(_same(p, q) for p, q in zip(x, y, strict=True)):
            return f"row {i}: {x} against {y}"
    return None


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.xlsx"
    build_tiny(path)
    return path


def test_reads_exactly_what_openpyxl_reads(demo_book):
    slow, fast = OpenpyxlIO(demo_book), ZipIO(demo_book)
    assert fast.table_names() == slow.table_names()
    for name in slow.table_names():
        assert fast.read_table(name) == slow.read_table(name), name
    assert fast.fallback_reason is None


def test_refresh_gives_the_same_tables_as_openpyxl_and_keeps_planner_input(small_copy, tmp_path):
    """On the small company's demo (each side's commands are the same on any size; the openpyxl
    side's loads and saves of the whole demo took over a minute)."""
    book_copy = small_copy
    book = ZipIO(book_copy)  # a planner's override and comment, typed before the refresh
    fc = read_frame(book, "tblForecast")
    fc.loc[0, "override"] = 123.0
    fc.loc[0, "comment"] = "promo <agreed> & signed"
    write_frame(book, "tblForecast", fc)
    book.save()
    other = tmp_path / "other.xlsx"
    shutil.copyfile(book_copy, other)
    actuals = sorted(book_copy.parent.glob("*actuals_*.csv"))[0]
    macros.refresh_actuals_from_source(OpenpyxlIO(other), str(actuals))
    macros.compare_scenarios(
        OpenpyxlIO(other)
    )  # refresh-actuals leaves the S&OP tables as they are
    fast = ZipIO(book_copy)
    macros.refresh_actuals_from_source(fast, str(actuals))
    assert fast.fallback_reason is None
    macros.compare_scenarios(ZipIO(book_copy))
    a, b = OpenpyxlIO(other), OpenpyxlIO(book_copy)  # both files read by the same reader
    for name in a.table_names():
        if name.startswith("tblBasis"):  # kept by the zip side only (it can fingerprint the file)
            continue
        ra, rb = a.read_table(name), b.read_table(name)
        if name in ("tblLog", "tblExceptionLog"):  # times of day differ between the two runs
            ra, rb = [r[1:] for r in ra], [r[1:] for r in rb]
        assert _diff(ra, rb) is None, f"{name}: {_diff(ra, rb)}"
    after = read_frame(b, "tblForecast")
    row = after[(after["item"] == fc.loc[0, "item"]) & (after["month"] == fc.loc[0, "month"])].iloc[
        0
    ]
    assert row["override"] == 123.0 and row["comment"] == "promo <agreed> & signed"
    cells = pd.read_excel(
        book_copy, sheet_name="Forecast", header=2, engine="calamine", usecols="A:T"
    )
    assert cells["Final"].notna().all()  # every formula has its cached value
    mine = cells[(cells["Item"] == row["item"]) & (pd.to_datetime(cells["Month"]) == row["month"])]
    assert mine["Final"].tolist() == [123.0]  # the override's Final, computed by Python


def test_settings_rewritten_keep_each_rows_number_format(small_copy):
    """The Settings Value column mixes a date, percents and counts: each row keeps its format
    (a rewrite once gave every number the as-of date's format: 0.1 read back as 02:24)."""
    book_copy = small_copy
    before = OpenpyxlIO(book_copy).read_table("tblSettings")
    io = ZipIO(book_copy)
    io.write_table("tblSettings", io.read_table("tblSettings"))
    io.save()
    after = OpenpyxlIO(book_copy).read_table("tblSettings")
    assert [[None if v == "" else v for v in r] for r in after] == [
        [None if v == "" else v for v in r] for r in before
    ]
    assert any(isinstance(r[1], float) for r in after[1:]) and isinstance(after[1][1], dt.datetime)


def test_untouched_parts_are_copied_byte_for_byte(tiny):
    with zipfile.ZipFile(tiny, "a") as z:  # parts sop-excel knows nothing about (a VBA-like binary)
        z.writestr("xl/vbaProject.bin", bytes(range(256)) * 40)
        z.writestr("customUI/customUI14.xml", "<customUI/>")
    with zipfile.ZipFile(tiny) as z:
        before = {i.filename: (i.CRC, i.compress_size, z.read(i.filename)) for i in z.infolist()}
    book = ZipIO(tiny)
    header = book.read_table("tblLog")[0]
    book.write_table("tblLog", [header, [dt.datetime(2026, 11, 18, 9), "x", "u", "d", "e"]])
    book.save()
    with zipfile.ZipFile(tiny) as z:
        assert z.testzip() is None
        after = {i.filename: (i.CRC, i.compress_size, z.read(i.filename)) for i in z.infolist()}
    assert set(after) == set(before)
    changed = {p for p in before if before[p] != after[p]}
    log_sheet = book._tables["tblLog"].sheet_part
    # the Log sheet, its table, calcPr in workbook.xml, a date format for the empty Log's times, and
    # the package relationships: a customUI part is only shown with one (openpyxl drops it; we add it)
    assert changed <= {
        log_sheet,
        book._tables["tblLog"].part,
        "xl/workbook.xml",
        "xl/styles.xml",
        "_rels/.rels",
    }
    assert b"ui/extensibility" in after["_rels/.rels"][2]
    assert log_sheet in changed
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]


def test_values_round_trip_and_text_stays_text(tiny):
    book = ZipIO(tiny)
    header = book.read_table("tblLog")[0]
    odd = ["<&>\"'", "  leading and trailing  ", "bell\x07gone", "=1+1", "línea\nnueva", "", "0042"]
    rows = [header] + [[dt.datetime(2026, 11, 18, 9, 30), t, "", "", ""] for t in odd]
    rows.append([dt.date(2026, 1, 2), "n", 3, True, Formula("=1+1", 2.0)])
    book.write_table("tblLog", rows)
    book.save()
    got_fast = ZipIO(tiny).read_table("tblLog")
    got_slow = OpenpyxlIO(tiny).read_table("tblLog")
    assert got_fast == got_slow
    texts = [r[1] for r in got_fast[1:-1]]
    assert texts == [
        "<&>\"'",
        "  leading and trailing  ",
        "bellgone",
        "=1+1",
        "línea\nnueva",
        None,
        "0042",
    ]
    assert got_fast[1][0] == dt.datetime(2026, 11, 18, 9, 30)
    assert got_fast[-1][:4] == [dt.datetime(2026, 1, 2), "n", 3, True]
    assert got_fast[-1][4] == Formula("=1+1", 2.0)  # a formula reads with the value the file caches
    assert formula_cells(tiny)[("Log", f"E{3 + len(rows) - 1}")] == 2.0  # the cached value


def test_tables_grow_and_shrink_with_their_validations(tiny):
    book = ZipIO(tiny)
    fc = read_frame(book, "tblForecast")
    big = pd.concat([fc] * 4, ignore_index=True)
    big["item"] = big["item"] + [f"-{k // len(fc)}" for k in range(len(big))]  # keep keys unique
    write_frame(book, "tblForecast", big)
    book.save()
    wb = openpyxl.load_workbook(tiny)
    ws = wb["Forecast"]
    assert ws.tables["tblForecast"].ref == f"A3:T{3 + len(big)}"
    assert any(str(dv.sqref) == f"P4:P{3 + len(big)}" for dv in ws.data_validations.dataValidation)
    again = ZipIO(tiny)
    assert len(read_frame(again, "tblForecast")) == len(big)
    write_frame(again, "tblForecast", fc.head(2))
    again.save()
    wb = openpyxl.load_workbook(tiny)
    assert wb["Forecast"].tables["tblForecast"].ref == "A3:T5"
    assert wb["Forecast"]["A6"].value is None
    assert any(str(dv.sqref) == "P4:P5" for dv in wb["Forecast"].data_validations.dataValidation)


def test_a_new_column_in_a_dynamic_table(tiny):
    book = ZipIO(tiny)
    rows = book.read_table("tblCompareMonthly")
    wider = [rows[0] + ["Extra"]] + [r + [1.5] for r in rows[1:]]
    book.write_table("tblCompareMonthly", wider)
    book.save()
    assert ZipIO(tiny).read_table("tblCompareMonthly") == OpenpyxlIO(tiny).read_table(
        "tblCompareMonthly"
    )
    assert OpenpyxlIO(tiny).read_table("tblCompareMonthly")[0][-1] == "Extra"


def test_a_table_growing_into_another_is_refused_and_the_file_untouched(tiny):
    before = tiny.read_bytes()
    book = ZipIO(tiny)
    rows = book.read_table("tblCompare")  # columns A:K, tblCompareMonthly from M
    book.write_table(
        "tblCompare", [rows[0] + ["x1", "x2", "x3"]] + [r + [1, 2, 3] for r in rows[1:]]
    )
    with pytest.raises(LayoutError, match="would grow into table"):
        book.save()
    assert tiny.read_bytes() == before


def test_falls_back_to_openpyxl_with_a_reason(tiny):
    with zipfile.ZipFile(tiny) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    book = ZipIO(tiny)
    part = book._tables["tblLog"].part
    book.close()
    parts[part] = parts[part].replace(b"<table ", b'<table totalsRowCount="1" ', 1)
    with zipfile.ZipFile(tiny, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    book = ZipIO(tiny)
    header = book.read_table("tblLog")[0]
    book.write_table("tblLog", [header, [None, "kept", "", "", ""]])
    book.save()
    assert "totals row" in (book.fallback_reason or "")
    assert "kept" in [r[1] for r in OpenpyxlIO(tiny).read_table("tblLog")]


def test_open_workbook_honours_the_environment(tiny, monkeypatch):
    assert isinstance(open_workbook(tiny), ZipIO)
    monkeypatch.setenv("SOP_EXCEL_IO", "openpyxl")
    assert isinstance(open_workbook(tiny), OpenpyxlIO)


@pytest.mark.libreoffice
@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_recalculates_a_zip_refresh_to_the_cached_values(tiny):
    book = ZipIO(tiny)
    macros.flag_drift(book)
    assert book.fallback_reason is None
    problems, lines = check_workbook(tiny, recalc=True)
    assert any("0 differ" in line for line in lines), lines
    assert not [p for p in problems if "differ" in p or "#" in p], problems


def test_calamine_values_give_the_same_frames_as_the_xml_reader(book_copy):
    """read_values (calamine) feeds read_frame: every table's frame equals the one made from
    read_table; a table written and not saved yet is read as written, and as saved after."""
    from sop_excel.workbook.convert import frame_from_rows
    from sop_excel.workbook.formulas import table_formulas
    from sop_excel.workbook.layout import load_layout

    book = ZipIO(book_copy)
    for t in load_layout().tables:
        slow = frame_from_rows(book.read_table(t.name), t)
        fast = read_frame(book, t.name)
        # formula cells: the XML reader gives the formula (no value), calamine its cached value
        calculated = [f for f in table_formulas(t.name) if f in fast.columns]
        assert fast[calculated].notna().any().all() or fast.empty or not calculated, t.name
        fast, slow = fast.drop(columns=calculated), slow.drop(columns=calculated)
        pd.testing.assert_frame_equal(fast, slow, check_dtype=False, obj=t.name)
        assert list(fast.attrs["excel_rows"]) == list(slow.attrs["excel_rows"])
    assert book._values_cache is not None  # calamine was used, not the fallback
    fc = read_frame(book, "tblForecast")
    fc.loc[0, "override"] = 77.0
    write_frame(book, "tblForecast", fc)
    assert read_frame(book, "tblForecast").loc[0, "override"] == 77.0
    book.save()
    again = ZipIO(book_copy)
    assert read_frame(again, "tblForecast").loc[0, "override"] == 77.0
    assert (
        read_frame(book, "tblForecast").loc[0, "override"] == 77.0
    )  # the saving book sees the new file


def test_an_error_typed_into_an_input_cell_is_named_not_read_as_empty(book_copy):
    """calamine reads #N/A as an empty cell: a sheet with error cells is read by the XML reader,
    which names the cell (an override silently dropped would change the plan)."""
    from sop_excel.errors import InputError
    from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

    t = load_layout().table("tblForecast")
    r0, c0 = parse_cell(t.anchor)
    where = cell_address(r0 + 1, c0 + t.fields.index("baseline"))
    wb = openpyxl.load_workbook(book_copy)
    wb["Forecast"][where] = "#N/A"
    assert wb["Forecast"][where].data_type == "e"
    wb.save(book_copy)
    book = ZipIO(book_copy)
    with pytest.raises(InputError) as exc:
        read_frame(book, "tblForecast")
    assert f"cell {where}: '#N/A' is not a number" in str(exc.value)
    assert (
        len(read_frame(book, "tblHistory")) > ZipIO.SMALL_ROWS
    )  # other sheets still read by calamine
    assert book._values_cache is not None and book._values_cache[0] == "History"


def test_a_cell_beside_a_rewritten_table_is_kept_whatever_its_attribute_order(small_copy):
    """A cell outside the table, in a row the rewrite replaces, written as <c s=".." r="..">:
    kept (the quick path for rows wholly inside the table must not drop it)."""
    book_copy = small_copy
    import re

    part = ZipIO(book_copy)._find("tblActuals").sheet_part
    with zipfile.ZipFile(book_copy) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    out = book_copy.with_name("edited.xlsx")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == part:
                data = re.sub(
                    rb'(<row r="5"[^>]*>.*?)(</row>)',
                    rb'\1<c s="0" r="Z5"><v>9</v></c>\2',
                    data,
                    count=1,
                    flags=re.S,
                )
                assert b'r="Z5"' in data
            z.writestr(info, data)
    book = ZipIO(out)
    write_frame(book, "tblActuals", read_frame(book, "tblActuals"))
    book.save()
    assert openpyxl.load_workbook(out)["Actuals"]["Z5"].value == 9
