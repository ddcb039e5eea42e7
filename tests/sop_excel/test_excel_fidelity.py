"""Excel fidelity (issue 17): what Excel would repair, refuse or show wrong, checked on the files
sop-excel writes and after other programs saved them. The demo workbook is built once per
session (conftest's ``demo_book``); most tests use the tiny workbook, built once here."""

from __future__ import annotations

import re
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest

from sop_excel.check import check_workbook, fidelity_problems, formula_text_cells
from sop_excel.cli import main
from sop_excel.workbook import package
from sop_excel.workbook.formulas import EXCEL_2007_FUNCTIONS, table_formulas
from sop_excel.workbook.layout import load_layout, parse_cell
from sop_excel.workbook.widths import header_width, value_width
from tests.sop_excel.conftest import sheet
from tests.sop_excel.ooxml import ooxml_errors
from tests.sop_excel.tiny import build_tiny

LAYOUT = load_layout()
_FUNCTION = re.compile(r"(?<![A-Za-z0-9_.\[])([A-Z][A-Z0-9.]*)\(")


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fidelity") / "tiny.xlsx"
    build_tiny(path)
    return path


@pytest.fixture
def tiny(tiny_file, tmp_path):
    dst = tmp_path / "plan.xlsx"
    shutil.copyfile(tiny_file, dst)
    (tmp_path / "day.csv").write_text(
        "date,item,orders,shipments\n2026-11-04,A-1,2,2\n2026-11-05,B-1,5,4\n"
    )
    return dst


def cli(*args: object) -> None:
    assert main(["-q", *map(str, args)]) == 0


def problems_of(path) -> list[str]:
    problems, _ = check_workbook(path)
    return problems


def functions(formula: str) -> set[str]:
    return set(_FUNCTION.findall(re.sub(r'"[^"]*"', '""', formula)))  # not inside string literals


def openpyxl_save(path, **kw) -> None:
    wb = openpyxl.load_workbook(path, **kw)
    wb.save(path)


# -- point 7: functions of the oldest supported Excel; recalculation at open only when needed --------


def test_formulas_use_only_functions_of_the_oldest_supported_excel(demo_book):
    """Excel 2007's functions only (the oldest supported Excel is 2010): no MAXIFS (Excel 2019,
    #NAME? before it), nothing with the file format's _xlfn. prefix."""
    written = [f for t in LAYOUT.tables for f in table_formulas(t.name).values()]
    in_file = list(formula_text_cells(demo_book).values())
    assert len(in_file) > 1000
    for formula in [*written, *in_file]:
        assert "_xlfn." not in formula and "_xlws." not in formula, formula
        assert functions(formula) <= EXCEL_2007_FUNCTIONS, formula


def _full_calc(path) -> bool:
    with zipfile.ZipFile(path) as z:
        return b'fullCalcOnLoad="1"' in z.read("xl/workbook.xml")


@pytest.mark.parametrize("io", ["zip", "openpyxl"])
def test_excel_recalculates_at_open_only_when_a_value_may_be_missing_or_stale(
    tiny, io, monkeypatch
):
    monkeypatch.setenv("SOP_EXCEL_IO", io)
    assert not _full_calc(tiny)  # every formula written with its value
    cli("compare-scenarios", tiny)
    assert not _full_calc(tiny)
    wb = openpyxl.load_workbook(tiny)  # a planner's own formula on the Dashboard
    wb["Dashboard"]["A40"] = "=SUM(tblExecution[MTD orders])"
    wb.save(tiny)
    cli("flag-drift", tiny)  # its value may be stale: Excel must recalculate
    assert _full_calc(tiny)
    assert problems_of(tiny) == [] or all("A40" in p for p in problems_of(tiny))


# -- point 3 and 9: charts follow their table's columns by name, and stay beside it -----------------


def _headers(path, table: str) -> list[str]:
    wb = openpyxl.load_workbook(path)
    return [c.name for c in wb[LAYOUT.table(table).sheet].tables[table].tableColumns]


def _monthly_chart(path) -> list[tuple[str, str, bytes]]:
    """(series name, header of the column it plots, its XML) of the Compare sheet's line chart."""
    wb = openpyxl.load_workbook(path)
    t = LAYOUT.table("tblCompareMonthly")
    r0, c0 = parse_cell(t.anchor)
    with zipfile.ZipFile(path) as z:
        part = next(
            n
            for n in z.namelist()
            if n.startswith("xl/charts/") and b"Revenue by scenario" in z.read(n)
        )
        xml = z.read(part)
    out = []
    for s in package.series_of(
        xml,
        lambda sh, r, c: None if wb[sh].cell(r, c).value is None else str(wb[sh].cell(r, c).value),
    ):
        _, (c, _, _, _) = s.val
        out.append((s.name, wb["Compare"].cell(r0, c).value, s.xml))
    return out


def test_compare_chart_follows_the_columns_by_name_after_new_scenario(tiny):
    """The dashed black "Budget revenue" line plotted the new scenario's revenue, and the budget
    was not plotted. Each series must plot the column of its name, and every column a series."""
    cli("new-scenario", tiny, "Promo", "--volume", "5%")
    series = _monthly_chart(tiny)
    assert all(name == header for name, header, _ in series), series
    headers = [h for h in _headers(tiny, "tblCompareMonthly") if h != "Month"]
    assert sorted(name for name, _, _ in series) == sorted(headers) and "Promo revenue" in headers
    black = [
        header for _, header, xml in series if b'val="000000"' in xml
    ]  # the dashed budget line
    assert black == ["Budget revenue"]
    assert fidelity_problems(tiny) == []


def test_new_compare_columns_are_not_under_the_chart(tiny):
    for name in ("Promo", "Stretch", "Lean"):
        cli("new-scenario", tiny, name, "--volume", "1%")
    t = LAYOUT.table("tblCompareMonthly")
    last_col = parse_cell(t.anchor)[1] + len(_headers(tiny, "tblCompareMonthly")) - 1
    with zipfile.ZipFile(tiny) as z:
        drawing = next(
            z.read(n)
            for n in z.namelist()
            if n.startswith("xl/drawings/drawing")
            and b"Chart" in z.read(n)
            and n.endswith(".xml")
            and any(
                b"Revenue by scenario" in z.read(c)
                for c in z.namelist()
                if c.startswith("xl/charts/")
            )
        )
    anchors = re.findall(
        rb"<xdr:from><xdr:col>(\d+)</xdr:col><xdr:colOff>\d+</xdr:colOff><xdr:row>(\d+)", drawing
    )
    beside = [
        int(c) for c, r in anchors if int(r) <= parse_cell(t.anchor)[0] + 3
    ]  # the line chart, rows 3.. of the table
    assert beside and min(beside) >= last_col  # 0-based start: right of the table's last column
    assert not [p for p in fidelity_problems(tiny) if "lies over" in p]


def test_charts_follow_their_tables_after_openpyxl_saved_the_file(tiny):
    """openpyxl writes charts without the c: prefix: they must follow the table all the same."""
    openpyxl_save(tiny)
    cli("new-scenario", tiny, "Promo", "--volume", "5%")
    with zipfile.ZipFile(tiny) as z:
        assert any(b"<ser>" in z.read(n) for n in z.namelist() if n.startswith("xl/charts/"))
    series = _monthly_chart(tiny)
    assert all(name == header for name, header, _ in series) and any(
        h == "Promo revenue" for _, h, _ in series
    )
    assert problems_of(tiny) == []


# -- point 5: the calculation chain ---------------------------------------------------------------


def _with_calc_chain(path, extra: list[tuple[int, str]] = ()) -> None:
    """The file as Excel saves it: a calculation chain listing every formula cell (and ``extra``)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    from sop_excel.check import _sheet_parts

    with zipfile.ZipFile(path) as z:
        sheets = _sheet_parts(z)
    cells = [
        (sid, m.group(1).decode())
        for title, (part, sid) in sheets.items()
        for m in re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*><f\b', parts[part])
    ]
    chain = "".join(f'<c r="{r}" i="{i}"/>' for i, r in [*cells, *extra])
    parts["xl/calcChain.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><calcChain '
        f'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{chain}</calcChain>'
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.calcChain+xml"/></Types>',
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdChain" Type="{package.CALC_CHAIN_REL}" '
        f'Target="calcChain.xml"/></Relationships>'.encode(),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_a_stale_calculation_chain_is_found_and_never_left_behind(tiny, tmp_path):
    _with_calc_chain(tiny)
    assert problems_of(tiny) == []  # as Excel leaves it: every entry a formula
    toml = tmp_path / "s.toml"
    toml.write_text('[[scenario]]\nname = "Base"\n')  # fewer scenarios: Finance and Compare shrink
    cli("import-scenarios", tiny, toml)
    with zipfile.ZipFile(tiny) as z:
        names = z.namelist()
        assert "xl/calcChain.xml" not in names  # dropped: Excel rebuilds it silently
        assert b"calcChain" not in z.read("[Content_Types].xml") + z.read(
            "xl/_rels/workbook.xml.rels"
        )
    assert problems_of(tiny) == []
    assert ooxml_errors(tiny) == []
    _with_calc_chain(tiny, extra=[(11, "Z999")])  # an entry on a cell with no formula
    assert any("calculation chain" in p and "1 cells" in p for p in problems_of(tiny))


# -- point 6: after openpyxl saved the file -------------------------------------------------------


def test_every_command_leaves_every_formula_with_its_value_after_openpyxl_saved_the_file(tiny):
    openpyxl_save(tiny)
    assert any("formula has no cached value" in p for p in problems_of(tiny))
    cli("refresh-actuals", tiny, "--source", tiny.parent / "day.csv")
    assert problems_of(tiny) == []
    fin = sheet(tiny, "Finance")
    assert fin["Revenue"].notna().all()


def test_openpyxl_drops_the_ribbon_relationship_check_says_so_and_a_command_restores_it(
    tiny, tmp_path
):
    from sop_excel.template import build_template

    xlsm = build_template(tmp_path / "plan.xlsm", source=tiny)
    openpyxl_save(xlsm, keep_vba=True)
    assert any("lost its relationship" in p for p in problems_of(xlsm))
    cli("flag-drift", xlsm)
    with zipfile.ZipFile(xlsm) as z:
        assert package.RIBBON_REL_TYPE.encode() in z.read("_rels/.rels")
    assert problems_of(xlsm) == []


# -- point 4: scenario names Excel keeps apart ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("base", "only in upper and lower case"),
        ("Budget", "column of the Compare sheet"),
        ("Up*", "pattern"),
    ],
)
def test_scenario_names_excel_cannot_keep_apart_are_refused(tiny, name, words, capsys):
    before = tiny.read_bytes()
    assert main(["-q", "new-scenario", str(tiny), name]) == 1
    assert words in capsys.readouterr().err
    assert tiny.read_bytes() == before


def test_check_finds_scenario_names_that_differ_only_in_case(tiny, capsys):
    wb = openpyxl.load_workbook(tiny)
    ws = wb["Scenarios"]
    for row in ws.iter_rows(min_row=4, max_col=1):
        if row[0].value == "Downside":
            row[0].value = "base"
    for row in ws.iter_rows(min_row=4, min_col=7, max_col=7):
        if row[0].value == "Downside":
            row[0].value = "base"
    wb.save(tiny)
    assert any(
        "Scenario 'base' differs from scenario 'Base' only in upper and lower case" in p
        for p in problems_of(tiny)
    )
    assert main(["-q", "compare-scenarios", str(tiny)]) == 1
    assert "only in upper and lower case" in capsys.readouterr().err


# -- point 9: what finance and planners see --------------------------------------------------------


def test_months_past_the_budget_show_no_budget_and_compare_is_like_for_like(demo_book):
    fin = sheet(demo_book, "Finance")
    budget = sheet(demo_book, "Budget")
    covered = set(zip(budget["Family"], budget["Month"], strict=True))
    without = [(f, m) not in covered for f, m in zip(fin["Family"], fin["Month"], strict=True)]
    assert any(without), "the demo's horizon runs past its budget"
    rows = fin[without]
    assert (
        rows["Budget revenue"].isna().all() and rows["Gap to budget"].isna().all()
    )  # blank, not 0
    assert fin[[not w for w in without]]["Gap to budget"].notna().all()
    cmp_ = sheet(demo_book, "Compare").set_index("Scenario")
    in_budget = fin[[not w for w in without]].groupby("Scenario")["Revenue"].sum()
    pd.testing.assert_series_equal(
        cmp_["Revenue in budget months"].reindex(in_budget.index),
        in_budget,
        check_names=False,
        rtol=1e-9,
    )
    gap = cmp_["Revenue in budget months"] - cmp_["Budget revenue"]
    pd.testing.assert_series_equal(gap, cmp_["Gap to budget"], check_names=False, rtol=1e-9)


def test_no_item_at_the_tracking_signal_limit_shows_on_track(demo_book, demo_openpyxl):
    execution = sheet(demo_book, "Execution")
    at_limit = execution[execution["Tracking signal"].abs() >= 4]
    assert len(at_limit), "the demo has biased items"
    assert (at_limit["Status"] != "On track").all()
    wb = demo_openpyxl
    rules = [r for cf in wb["Execution"].conditional_formatting for r in cf.rules]
    assert any(r.formula and "TrackingLimit" in r.formula[0] for r in rules)


def _width(ws, col: int) -> float:
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return float(dim.width)
    return 8.43


def _too_narrow(path) -> list[str]:
    """Every column of every data table: wide enough for its header (with the filter button), and
    for its numbers and dates as their number format shows them (else Excel shows #####)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    bad = []
    for t in LAYOUT.tables:
        sh = LAYOUT.sheets[[s.name for s in LAYOUT.sheets].index(t.sheet)]
        if sh.hidden:
            continue
        ws = wb[t.sheet]
        tbl = ws.tables[t.name]
        c1, r1, c2, r2 = openpyxl.utils.range_boundaries(tbl.ref)
        by_header = {c.header: c for c in t.columns}
        for c in range(c1, c2 + 1):
            header = str(ws.cell(r1, c).value)
            col = by_header.get(header)
            kind = col.kind if col else ("qty" if t.dynamic_columns else "text")
            width = _width(ws, c)
            need = header_width(header)
            if kind != "text" and t.name != "tblSettings":
                values = [ws.cell(r, c).value for r in range(r1 + 1, r2 + 1)]
                need = max([need, *(value_width(v, kind) for v in values if v not in (None, ""))])
            if width + 1e-9 < need:
                bad.append(
                    f"{t.sheet}!{openpyxl.utils.get_column_letter(c)} '{header}': width {width}, needs {need}"
                )
    return bad


def test_columns_fit_their_headers_and_numbers_on_every_data_sheet(demo_book, demo_openpyxl):
    assert _too_narrow(demo_book) == []
    wb = demo_openpyxl
    reason = LAYOUT.table("tblExceptions")
    r0, c0 = parse_cell(reason.anchor)
    for field in ("reason", "action"):  # long text wraps in the cell, not cut by the next column
        assert wb["Exceptions"].cell(r0 + 1, c0 + reason.fields.index(field)).alignment.wrap_text


def test_columns_a_command_adds_fit_too(tiny):
    cli("new-scenario", tiny, "A much longer scenario name", "--volume", "5%")
    assert _too_narrow(tiny) == []


# -- the schema -------------------------------------------------------------------------------------


def test_the_demo_is_valid_ooxml(demo_book):
    assert ooxml_errors(demo_book) == []
