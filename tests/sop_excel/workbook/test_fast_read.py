"""The calamine table reader, and the table parts the row-by-row (constant_memory) builder writes."""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from sop_excel.choices import named_choices
from sop_excel.errors import LayoutError, WorkbookCorruptError
from sop_excel.workbook.build import build_workbook
from sop_excel.workbook.fast_read import read_tables
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.io import Formula
from sop_excel.workbook.layout import load_layout

LAYOUT = load_layout()


def _openpyxl_values(path):
    """Every table's cells as openpyxl reads them with cached values (data_only)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for ws in wb.worksheets:
        for name, ref in ws.tables.items():
            c1, r1, c2, r2 = range_boundaries(ref)
            out[name] = [
                list(r)
                for r in ws.iter_rows(
                    min_row=r1, max_row=r2, min_col=c1, max_col=c2, values_only=True
                )
            ]
    return out


def test_every_table_reads_as_openpyxl_reads_its_values(demo_book):
    fast = read_tables(demo_book)
    slow = _openpyxl_values(demo_book)
    assert set(fast) == set(slow) == {t.name for t in LAYOUT.tables}
    for name, rows in slow.items():
        assert len(fast[name]) == len(rows), name
        assert fast[name][0] == [str(h) for h in rows[0]], name
        for i, (a, b) in enumerate(zip(fast[name][1:], rows[1:], strict=True), start=1):
            for j, (x, y) in enumerate(zip(a, b, strict=True)):
                if isinstance(y, float | int) and not isinstance(y, bool):
                    assert x == pytest.approx(y, rel=1e-12, abs=1e-9), (name, i, j)
                else:  # calamine cannot tell an empty text cell from an empty cell: both None
                    assert x == (None if y == "" else y), (name, i, j, x, y)


def test_formula_cells_give_their_cached_values(demo_book):
    rows = read_tables(demo_book, ["tblForecast"])["tblForecast"]
    header = rows[0]
    final = header.index("Final")
    assert all(isinstance(r[final], float) for r in rows[1:])
    assert sum(r[final] for r in rows[1:]) > 0
    assert isinstance(rows[1][header.index("Month")], dt.datetime)


def test_a_missing_table_is_named(demo_book):
    with pytest.raises(LayoutError, match="tblNoSuchTable"):
        read_tables(demo_book, ["tblForecast", "tblNoSuchTable"])


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    bad = tmp_path / "plan.xlsx"
    bad.write_text("item,month,qty\n")
    with pytest.raises(WorkbookCorruptError, match="plan.xlsx"):
        read_tables(bad)


def _as_built(rows, name):
    """Rows read back as values -> rows to build, formula columns as Formula(text, value)."""
    formulas = table_formulas(name)
    table = LAYOUT.table(name)
    fields = [table.fields[table.headers.index(h)] if h in table.headers else h for h in rows[0]]
    return [rows[0]] + [
        [Formula(formulas[f], v) if f in formulas else v for f, v in zip(fields, r, strict=True)]
        for r in rows[1:]
    ]


def test_tables_span_their_rows_with_headers_formulas_and_cached_values(demo_book, tmp_path):
    """The builder registers each table over its header and first row, then widens it; the parts
    must still describe the whole table (ref, autoFilter) with its calculated-column formulas."""
    tables = {n: _as_built(r, n) for n, r in read_tables(demo_book).items()}
    tables["tblInputs"] = tables["tblInputs"][:1]  # an empty table beside a filled one
    out = build_workbook(
        tmp_path / "t.xlsx",
        tables,
        formulas={t.name: table_formulas(t.name) for t in LAYOUT.tables},
        choices=named_choices(),
    )
    with zipfile.ZipFile(out) as z:
        parts = {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/tables/")}
    by_name = {re.search(r' name="([^"]+)"', x).group(1): x for x in parts.values()}
    assert set(by_name) == {t.name for t in LAYOUT.tables}
    for t in LAYOUT.tables:
        xml = by_name[t.name]
        ref = re.search(r'<table [^>]* ref="([^"]+)"', xml).group(1)
        c1, r1, c2, r2 = range_boundaries(ref)
        assert r2 - r1 == max(len(tables[t.name]) - 1, 1), t.name
        assert c2 - c1 + 1 == len(tables[t.name][0]), t.name
        assert f'<autoFilter ref="{ref}"/>' in xml, t.name
        assert xml.count("<calculatedColumnFormula>") == len(table_formulas(t.name)), t.name
    back = read_tables(out)
    for name, rows in back.items():
        if name != "tblInputs":
            assert _same_rows(rows, [[_value(v) for v in r] for r in tables[name]]), name
    assert len(back["tblInputs"]) == 2 and back["tblInputs"][1] == [None] * len(
        back["tblInputs"][0]
    )
    wb = openpyxl.load_workbook(out)
    r0 = int(re.search(r"\d+", LAYOUT.table("tblForecast").anchor).group()) + 1
    final = wb["Forecast"].cell(r0, 1 + LAYOUT.table("tblForecast").fields.index("final")).value
    assert final.startswith("=IF(ISNUMBER(tblForecast[[#This Row],[Override]])")
    as_of = next(i for i, s in enumerate(LAYOUT.settings.rows) if s.name == "AsOfDate")
    assert wb["Settings"].cell(4 + as_of, 2).number_format == "yyyy-mm-dd"  # its own format


def _value(v):
    return v.value if isinstance(v, Formula) else v


def _same_rows(a, b) -> bool:
    """Equal, floats to XlsxWriter's 16 significant digits (the Basis sheet is written by the zip
    side, with Python's 17)."""

    def same(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-15, abs_tol=0.0) or x == y
        return x == y

    return len(a) == len(b) and all(
        len(r) == len(q) and all(map(same, r, q)) for r, q in zip(a, b, strict=True)
    )


def test_table_refs_match_the_tables_openpyxl_loads(demo_book, demo_openpyxl):
    from sop_excel.workbook.fast_read import table_refs

    refs = table_refs(demo_book)
    wb = demo_openpyxl
    expected = {name: (ws.title, ref) for ws in wb.worksheets for name, ref in ws.tables.items()}
    assert refs == expected
    assert refs["tblForecast"][0] == LAYOUT.table("tblForecast").sheet
