"""A formula a planner typed into an input cell is the planner's (issue 18, point 1): every
command keeps it as a formula, uses its value, and names a formula whose value is an error or
missing by its cell. On every side: the zip editor (XML and calamine readers), the openpyxl
fallback and live Excel (xlwings, faked)."""

from __future__ import annotations

import hashlib

import openpyxl
import pytest

from sop_excel import macros
from sop_excel.cli import main
from sop_excel.errors import InputError
from sop_excel.workbook.io import Formula
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.xlwings_io import XlwingsIO
from sop_excel.workbook.zip_io import ZipIO
from tests.data.make_corpus import type_formula
from tests.sop_excel.workbook.fake_xlwings import FakeBook


@pytest.fixture
def book_copy(small_copy):
    """A planner's formula is kept and read the same whatever the workbook's size: the tests here
    take the small company's demo (a third of the demo; the openpyxl side loads and saves it)."""
    return small_copy


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _formulas(path, sheet):
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {
            c.coordinate: c.value
            for row in wb[sheet].iter_rows()
            for c in row
            if getattr(c, "data_type", None) == "f"
        }
    finally:
        wb.close()


def _values(path, sheet):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            c.coordinate: c.value
            for row in wb[sheet].iter_rows()
            for c in row
            if hasattr(c, "coordinate")
        }
    finally:
        wb.close()


def test_override_reason_and_comment_formulas_survive_every_command(book_copy, capsys):
    o5 = type_formula(book_copy, "tblForecast", "Override", 2, "=2*60", "120")
    o6 = type_formula(book_copy, "tblForecast", "Override", 3, "=N6*1.1", "170.5")
    p6 = type_formula(book_copy, "tblForecast", "Reason code", 3, '="Pro"&"mo"', "Promo", "str")
    before = _formulas(book_copy, "Forecast")
    assert main(["-q", "refresh-forecast", str(book_copy)]) == 0
    out = capsys.readouterr().out
    assert (
        "Overrides kept: 3 (2 of them formulas, kept as formulas)." in out
    )  # was "Overrides kept: 1"
    assert "Sheet 'Forecast', cell O6 =N6*1.1 = 170.5" in out  # depends on other cells: said so
    for cmd in (
        ["compare-scenarios"],
        ["new-scenario", "--volume", "2%"],
        ["lock-plan"],
        ["flag-drift"],
    ):
        args = [cmd[0], str(book_copy), *(["Plus"] if cmd[0] == "new-scenario" else []), *cmd[1:]]
        assert main(["-q", *args]) == 0, capsys.readouterr().err
    after = _formulas(book_copy, "Forecast")
    assert {k: after[k] for k in (o5, o6, p6)} == {o5: "=2*60", o6: "=N6*1.1", p6: '="Pro"&"mo"'}
    assert set(before) == set(after)  # no formula lost, none added
    values = _values(book_copy, "Forecast")
    assert values[o5] == 120 and values["Q5"] == 120  # its value is the Final (Override wins)
    assert values["Q6"] == pytest.approx(170.5) and values[p6] == "Promo"
    frame = read_frame(ZipIO(book_copy), "tblForecast")
    assert frame.loc[1, "override"] == 120.0 and frame.loc[2, "reason_code"] == "Promo"


def test_a_formula_moves_with_its_row_when_the_horizon_rolls(book_copy):
    ref = type_formula(
        book_copy, "tblForecast", "Override", 3, "=N6*1.1", "170.5"
    )  # item 1, month 3
    item, month = (read_frame(ZipIO(book_copy), "tblForecast").loc[2, k] for k in ("item", "month"))
    book = ZipIO(book_copy)
    settings = read_frame(book, "tblSettings")
    settings.loc[settings["setting"] == "As-of date", "value"] = "2026-12-18"
    write_frame(book, "tblSettings", settings)
    book.save()
    assert main(["-q", "refresh-forecast", str(book_copy)]) == 0
    frame = read_frame(ZipIO(book_copy), "tblForecast")
    row = frame[(frame["item"] == item) & (frame["month"] == month)].index[0]
    assert row == 1  # a month earlier in the table: one row up
    assert (
        ref == "O6" and _formulas(book_copy, "Forecast")["O5"] == "=N5*1.1"
    )  # same row's Consensus
    assert frame.loc[row, "override"] == pytest.approx(170.5)


def test_a_formula_in_an_input_table_is_read_by_its_value(book_copy):
    """Consensus inputs, family targets, scenario values: tables no command rewrites."""
    ref = type_formula(book_copy, "tblInputs", "Qty", 1, "=10*4", "40")
    before = read_frame(ZipIO(book_copy), "tblInputs")
    assert before.loc[0, "qty"] == 40.0
    assert main(["-q", "compare-scenarios", str(book_copy)]) == 0
    assert _formulas(book_copy, "Consensus")[ref] == "=10*4"
    fc = read_frame(ZipIO(book_copy), "tblForecast")
    hit = fc[(fc["item"] == before.loc[0, "item"]) & (fc["month"] == before.loc[0, "month"])]
    stream = "sales_adj" if before.loc[0, "stream"] == "Sales" else "marketing_adj"
    assert hit[stream].iloc[0] >= 40.0


def test_the_openpyxl_side_reads_formula_values_and_keeps_them(book_copy, monkeypatch, capsys):
    o5 = type_formula(book_copy, "tblForecast", "Override", 2, "=2*60", "120")
    fast, slow = ZipIO(book_copy), OpenpyxlIO(book_copy)
    assert fast.read_table("tblForecast") == slow.read_table("tblForecast")
    assert slow.read_table("tblForecast")[2][14] == Formula("=2*60", 120)
    assert read_frame(slow, "tblForecast").loc[1, "override"] == 120.0  # was empty
    monkeypatch.setenv("SOP_EXCEL_IO", "openpyxl")
    assert (
        main(["-q", "flag-drift", str(book_copy)]) == 0
    )  # saves the whole file, Forecast not written
    assert _formulas(book_copy, "Forecast")[o5] == "=2*60"
    assert (
        _values(book_copy, "Forecast")[o5] == 120
    )  # its cached value kept (all were lost on save)
    capsys.readouterr()
    type_formula(book_copy, "tblForecast", "Override", 3, "=1/0", "#DIV/0!", "e")
    assert main(["-q", "compare-scenarios", str(book_copy)]) == 1
    assert (
        "cell O6: '=1/0' is a formula whose value is the error #DIV/0!" in capsys.readouterr().err
    )


def test_the_calamine_reader_hands_a_typed_formula_to_the_xml_reader(book_copy):
    book = ZipIO(book_copy)
    assert not book._has_typed_formulas(book._find("tblForecast"))  # system formulas only
    type_formula(book_copy, "tblForecast", "Comment", 5, '="see "&A8', "see X", "str")
    book = ZipIO(book_copy)
    assert book._has_typed_formulas(book._find("tblForecast"))
    assert not book._has_typed_formulas(book._find("tblModels"))  # the other table on the sheet
    assert not book._has_typed_formulas(book._find("tblActuals"))  # a sheet without formulas


@pytest.mark.parametrize(
    "formula, cached, kind, says",
    [
        (
            "=A1+1",
            None,
            None,
            "'=A1+1' is a formula without a computed value. Open the workbook in Excel",
        ),
        ("=1/0", "#DIV/0!", "e", "'=1/0' is a formula whose value is the error #DIV/0!"),
        ("=NA()", "#N/A", "e", "'=NA()' is a formula whose value is the error #N/A"),
    ],
)
def test_a_formula_without_a_usable_value_is_named_by_its_cell(
    book_copy, capsys, formula, cached, kind, says
):
    ref = type_formula(book_copy, "tblForecast", "Override", 3, formula, cached, kind)
    before = sha(book_copy)
    for cmd in ("refresh-forecast", "compare-scenarios", "check"):
        assert main(["-q", cmd, str(book_copy)]) == 1
        text = capsys.readouterr()
        assert f"Sheet 'Forecast', cell {ref}: {says}" in text.err + text.out
    assert sha(book_copy) == before


def test_live_excel_keeps_a_formula_and_reads_errors_as_errors(book_copy):
    type_formula(book_copy, "tblForecast", "Override", 2, "=2*60", "120")
    book = XlwingsIO(FakeBook.from_xlsx(book_copy))
    old = read_frame(book, "tblForecast")
    assert old.loc[1, "override"] == 120.0
    write_frame(book, "tblForecast", old)  # what every S&OP command does with it
    sheet = book.book.sheets["Forecast"]
    assert sheet.formulas[(5, 15)] == "=2*60"
    sheet.formulas[(6, 15)], sheet.values[(6, 15)] = (
        "=1/0",
        "#DIV/0!",
    )  # Excel's value, with err_to_str
    with pytest.raises(
        InputError, match=r"cell O6: '=1/0' is a formula whose value is the error #DIV/0!"
    ):
        read_frame(book, "tblForecast")


def test_exception_owner_formula_survives_refresh_actuals(book_copy):
    ref = type_formula(book_copy, "tblExceptions", "Owner", 1, '="Ann"', "Ann", "str")
    csv = next(book_copy.parent.glob("*_actuals_*.csv"))
    report = macros.refresh_actuals_from_source(ZipIO(book_copy), str(csv))
    assert "Exceptions:" in str(report)
    assert _formulas(book_copy, "Exceptions").get(ref) == '="Ann"'


def test_scenario_list_and_driver_formulas_survive_new_scenario(book_copy, capsys):
    """Tables a command appends to (the scenario list and drivers) keep their formulas too."""
    d = type_formula(book_copy, "tblDrivers", "Value", 1, "=0.05*2", "0.1")
    s = type_formula(
        book_copy, "tblScenarioList", "Description", 2, '="Key "&"account"', "Key account", "str"
    )
    value = read_frame(ZipIO(book_copy), "tblDrivers").loc[0, "value"]
    assert value == pytest.approx(0.1)
    assert main(["-q", "new-scenario", str(book_copy), "Plus", "--volume", "2%"]) == 0
    formulas = _formulas(book_copy, "Scenarios")
    assert formulas[d] == "=0.05*2" and formulas[s] == '="Key "&"account"'
    assert read_frame(ZipIO(book_copy), "tblScenarioList").loc[1, "description"] == "Key account"
