import zipfile

import openpyxl
import pandas as pd
import pytest

from sop_excel.check import compare_recalculated, formula_cells
from sop_excel.errors import LayoutError, WorkbookCorruptError, WorkbookLockedError
from sop_excel.rebuild import write_sop
from sop_excel.settings import read_settings
from sop_excel.workbook.io import Formula
from sop_excel.workbook.libreoffice import recalculate
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame, write_frame
from tests.sop_excel.tiny import build_tiny


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.xlsx"
    frames = build_tiny(path)
    return path, frames


def test_built_workbook_has_cached_values_for_every_formula(tiny):
    path, frames = tiny
    cells = formula_cells(path)
    assert len(cells) > 50
    assert all(v is not None for v in cells.values())
    fin = pd.read_excel(path, sheet_name="Finance", header=2, engine="calamine")
    assert fin["Revenue"].sum() > 0
    assert fin["Revenue"].sum() == pytest.approx(frames["finance"]["revenue"].sum())


def test_text_from_data_is_never_a_formula(tiny):
    path, _ = tiny
    ws = openpyxl.load_workbook(path)["Items"]
    cell = ws["B5"]
    assert cell.value == '=HYPERLINK("http://x")'
    assert cell.data_type == "s"


def test_write_then_save_keeps_cached_values_and_resizes_table(tiny):
    path, frames = tiny
    book = OpenpyxlIO(path)
    final = read_frame(book, "tblForecast")
    assert final["override"].notna().sum() == 1
    fin = frames["finance"].copy()
    write_frame(book, "tblFinance", fin.iloc[:4])
    book.save()
    wb = openpyxl.load_workbook(path)
    assert wb["Finance"].tables["tblFinance"].ref == "A3:J7"
    assert wb["Finance"]["A8"].value is None
    values = pd.read_excel(path, sheet_name="Finance", header=2, engine="calamine")
    assert len(values) == 4
    assert values["Revenue"].tolist() == pytest.approx(fin["revenue"].iloc[:4].tolist())
    # conditional formats follow the table body
    sqrefs = [str(cf.sqref) for cf in wb["Finance"].conditional_formatting]
    assert "J4:J7" in sqrefs


def test_write_text_starting_with_equals_stays_text(tiny):
    path, _ = tiny
    book = OpenpyxlIO(path)
    rows = book.read_table("tblLog")
    rows = [rows[0], [None, "=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1"]]
    book.write_table("tblLog", rows)
    book.save()
    ws = openpyxl.load_workbook(path)["Log"]
    assert [ws.cell(4, c).data_type for c in range(2, 6)] == ["s"] * 4
    assert ws["B4"].value == "=cmd|' /C calc'!A0"


def test_formula_value_objects_become_formulas(tiny):
    path, _ = tiny
    book = OpenpyxlIO(path)
    rows = book.read_table("tblLog")
    book.write_table("tblLog", [rows[0], [None, "x", "y", Formula("=1+1", 2.0), None]])
    book.save()
    assert formula_cells(path)[("Log", "D4")] == 2.0


def test_missing_table_is_a_layout_error(tiny):
    path, _ = tiny
    with pytest.raises(LayoutError, match="table tblNope is missing"):
        OpenpyxlIO(path).read_table("tblNope")


def test_not_a_zip_is_reported_and_file_untouched(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a workbook")
    with pytest.raises(
        WorkbookCorruptError, match="bad.xlsx is not an Excel workbook.*restore it from a backup"
    ):
        OpenpyxlIO(bad)
    assert bad.read_bytes() == b"this is not a workbook"


def test_open_in_excel_is_reported(tiny):
    path, _ = tiny
    (path.parent / ("~$" + path.name)).write_bytes(b"owner")
    with pytest.raises(WorkbookLockedError, match="open in Excel"):
        OpenpyxlIO(path)


def test_named_settings_cells(tiny):
    path, _ = tiny
    wb = openpyxl.load_workbook(path)
    dn = wb.defined_names["AsOfDate"]
    assert dn.attr_text == "'Settings'!$B$4"
    assert wb["Settings"]["B4"].value.date().isoformat() == "2026-11-18"


@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(tiny, tmp_path):
    path, _ = tiny
    out = recalculate(path, tmp_path / "lo")
    assert compare_recalculated(path, out) == []
    # and after an openpyxl edit + save (an override typed, plan rewritten), too
    book = OpenpyxlIO(path)
    forecast = read_frame(book, "tblForecast")
    forecast.loc[0, "override"] = 77.0
    write_sop(book, read_settings(book), read_frame(book, "tblItems"), forecast)
    book.save()
    out2 = recalculate(path, tmp_path / "lo2")
    assert compare_recalculated(path, out2) == []


def test_zip_parts_survive_edit(tiny):
    path, _ = tiny
    before = set(zipfile.ZipFile(path).namelist())
    book = OpenpyxlIO(path)
    book.save()
    after = set(zipfile.ZipFile(path).namelist())
    assert {n for n in before if "chart" in n} <= after | {n for n in before if "chart" not in n}
    assert any("chart" in n for n in after)
