"""Excel fidelity (issue 17): what Excel would repair, refuse or show wrong, checked on the files
sop-excel writes. The demo workbook is built once per session (conftest's ``demo_book``)."""

from __future__ import annotations

import re

from sop_excel.check import formula_text_cells
from sop_excel.workbook.formulas import EXCEL_2007_FUNCTIONS, table_formulas
from sop_excel.workbook.layout import load_layout

LAYOUT = load_layout()
_FUNCTION = re.compile(r"(?<![A-Za-z0-9_.\[])([A-Z][A-Z0-9.]*)\(")


def functions(formula: str) -> set[str]:
    text = re.sub(r'"[^"]*"', '""', formula)  # not inside string literals
    return set(_FUNCTION.findall(text))


def test_formulas_use_only_functions_of_the_oldest_supported_excel(demo_book):
    """Excel 2007's functions only (the oldest supported Excel is 2010): no MAXIFS (Excel 2019,
    #NAME? before it), nothing with the file format's _xlfn. prefix."""
    written = [f for t in LAYOUT.tables for f in table_formulas(t.name).values()]
    in_file = list(formula_text_cells(demo_book).values())
    assert len(in_file) > 1000
    for formula in [*written, *in_file]:
        assert "_xlfn." not in formula and "_xlws." not in formula, formula
        assert functions(formula) <= EXCEL_2007_FUNCTIONS, formula
    assert "MAXIFS" not in {f for formula in in_file for f in functions(formula)}
