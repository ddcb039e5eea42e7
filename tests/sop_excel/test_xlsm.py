"""The macro-enabled template: built from text, read back by olevba, opened by LibreOffice."""

from __future__ import annotations

import importlib
import re
import shutil
import warnings
import zipfile

import openpyxl
import pytest
import xlwings

from sop_excel import xl
from sop_excel.errors import SopExcelError
from sop_excel.template import build_template
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.libreoffice import find_soffice, recalculate
from sop_excel.workbook.xlsm import (
    CONF_SHEET,
    NEW_SCENARIO_SHEET,
    PROTECTION_MACRO,
    RIBBON_CALLBACK,
    RIBBON_PART,
    RIBBON_REL_TYPE,
    UDF_MODULES,
    VBA_MODULE,
    restore_ribbon,
    ribbon_buttons,
    vba_sources,
    xlwings_version,
)


@pytest.fixture(scope="module")
def xlsm(tiny_template):
    return tiny_template


@pytest.fixture(scope="module")
def vba(xlsm) -> dict[str, str]:
    """Module name -> source, as oletools' olevba reads them from the produced file."""
    with warnings.catch_warnings():  # oletools 0.60 calls pyparsing's deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser

        parser = VBA_Parser(str(xlsm))
        try:
            assert parser.detect_vba_macros()
            return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
        finally:
            parser.close()


def subs(code: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(?:Public |Private )?Sub (\w+)\(([^)]*)\)", code, re.M))


def procedures(code: str) -> set[str]:
    return set(
        re.findall(
            r"^\s*(?:Public |Private |Friend )?(?:Static )?(?:Sub|Function|Property \w+) (\w+)",
            code,
            re.M | re.I,
        )
    )


def test_olevba_finds_each_callback(vba):
    assert {"xlwings", "Dictionary", VBA_MODULE, "ThisWorkbook"} <= set(vba)
    callbacks = subs(vba[VBA_MODULE])
    assert callbacks == {
        RIBBON_CALLBACK: "control As IRibbonControl",
        "SopImportFunctions": "control As IRibbonControl",
    }
    assert PROTECTION_MACRO in procedures(vba[VBA_MODULE])


def test_no_macro_is_named_like_a_module(vba):
    """A callback (or any procedure) that shares a module's name is a known cause of Excel's
    "Cannot run the macro": the ribbon would call the module, not the Sub."""
    modules = {name.casefold() for name in vba}
    clashes = {
        (module, p)
        for module, code in vba.items()
        for p in procedures(code)
        if p.casefold() in modules
    }
    assert clashes == set()
    assert {b.on_action.casefold() for b in ribbon_buttons()}.isdisjoint(modules)


def test_every_on_action_exists_in_the_vba(vba):
    buttons = ribbon_buttons()
    assert len({b.id for b in buttons}) == len(buttons) == 10
    defined = {name for code in vba.values() for name in subs(code)}
    for b in buttons:
        assert b.on_action in defined, b
        assert subs(vba[VBA_MODULE]).get(b.on_action) == "control As IRibbonControl"


def test_every_run_python_string_imports_and_calls_an_existing_function(vba, monkeypatch):
    calls = re.findall(r'^\s*RunPython "(.*)"\s*$', vba[VBA_MODULE], re.M)
    assert calls == ["import sop_excel.xl; sop_excel.xl.run('\" & tag & \"')"]
    seen = []
    monkeypatch.setattr(xl, "run", seen.append)
    tags = [b.tag for b in ribbon_buttons() if b.on_action == RIBBON_CALLBACK]
    for tag in tags:
        command = calls[0].replace('" & tag & "', tag)  # what VBA concatenates
        exec(compile(command, "<RunPython>", "exec"), {})  # noqa: S102 - our own fixed string
    assert seen == tags and set(tags) == set(xl.ACTIONS)
    # ImportPythonUDFs, which the Import functions button calls, is xlwings' own
    assert "ImportPythonUDFs" in subs(vba["xlwings"])


def test_the_xlwings_vba_matches_the_installed_xlwings(vba):
    assert xlwings_version(vba["xlwings"]) == xlwings.__version__
    assert xlwings_version(vba_sources()[0][2]) == xlwings.__version__
    assert f"xlwings64-{xlwings.__version__}.dll" in vba["xlwings"]
    assert "BSD 3-clause" in vba["xlwings"]


def test_the_package_is_macro_enabled_with_the_ribbon(xlsm):
    with zipfile.ZipFile(xlsm) as z:
        names = set(z.namelist())
        ct = z.read("[Content_Types].xml").decode()
        rels = z.read("_rels/.rels").decode()
        ui = z.read(RIBBON_PART).decode()
    assert {"xl/vbaProject.bin", RIBBON_PART} <= names
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct
    assert "spreadsheetml.sheet.main+xml" not in ct
    assert f'Type="{RIBBON_REL_TYPE}" Target="{RIBBON_PART}"' in rels
    assert 'label="S&amp;OP"' in ui


def test_conf_sheet_names_importable_udf_modules_and_the_workbook_is_intact(xlsm):
    wb = openpyxl.load_workbook(xlsm, keep_vba=True)
    conf = wb[CONF_SHEET]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", UDF_MODULES)
    for name in conf["B1"].value.split(";"):
        module = importlib.import_module(name)
        assert {"SOP_FORECAST", "SOP_SCENARIO"} <= set(dir(module))
    layout = load_layout()
    tables = {t for ws in wb.worksheets for t in ws.tables}
    assert {t.name for t in layout.tables} <= tables
    names = wb.sheetnames
    assert names.index(NEW_SCENARIO_SHEET) == names.index("Scenarios") + 1
    form = wb[NEW_SCENARIO_SHEET]
    assert (
        form["A4"].value == "Name"
        and form["B5"].value == "Base"
        and form["B7"].number_format == "0.00%"
    )


def test_the_template_is_valid_ooxml(xlsm):
    from tests.sop_excel.ooxml import ooxml_errors

    assert ooxml_errors(xlsm) == []


def test_the_demo_template_names_its_sample_actuals_so_the_first_click_works(
    small_book, tmp_path, monkeypatch
):
    """Settings > Actuals source is filled with the actuals file the template writes beside it
    (the demo is the session's small company's, copied in, instead of being built again: the
    template and the live refresh load and save it with openpyxl, a third of the demo's time)."""
    demo_book = small_book
    import sop_excel.demo
    from sop_excel.demo import DemoResult
    from tests.sop_excel.workbook.fake_xlwings import FakeBook

    def demo(out, as_of=None, **_):
        shutil.copyfile(demo_book, out)
        csv = next(demo_book.parent.glob("*_actuals_*.csv"))
        shutil.copyfile(csv, out.parent / csv.name)
        return DemoResult(out, out.parent / csv.name, [])

    monkeypatch.setattr(sop_excel.demo, "build_demo", demo)
    out = build_template(tmp_path / "plan.xlsm")
    csv = next(tmp_path.glob("*_actuals_*.csv"))
    wb = openpyxl.load_workbook(out, keep_vba=True)
    value = {r[0].value: r[1].value for r in wb["Settings"].iter_rows(min_row=4, max_col=2)}
    assert value["Actuals source"] == csv.name
    book = FakeBook.from_xlsx(out)
    book.fullname = str(out)
    monkeypatch.setattr(xlwings.Book, "caller", lambda: book)
    xl.run("refresh_actuals")
    assert book.app.alerts[-1][1].startswith(
        f"Loaded {len(csv.read_text().splitlines()) - 1} rows from {csv.name}"
    )


def test_xlwings_lower_bound_covers_the_features_used():
    """The UDFs' options in type hints (Annotated[..., {"ndim": 2, "doc": ...}]) need xlwings 0.32."""
    import tomllib
    from pathlib import Path

    deps = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    spec = next(d for d in deps if d.startswith("xlwings"))
    low = tuple(int(x) for x in re.search(r">=\s*([\d.]+)", spec).group(1).split("."))
    assert low >= (0, 32)
    assert "Annotated[" in (Path(__file__).parents[2] / "udfs" / "planning.py").read_text()


def test_restore_ribbon_after_an_openpyxl_save(xlsm, tmp_path):
    copy = tmp_path / "copy.xlsm"
    copy.write_bytes(xlsm.read_bytes())
    assert restore_ribbon(copy) is False  # nothing to do
    wb = openpyxl.load_workbook(copy, keep_vba=True)
    wb.save(copy)
    with zipfile.ZipFile(copy) as z:
        assert RIBBON_REL_TYPE not in z.read("_rels/.rels").decode()  # the openpyxl behaviour
        vba_before = z.read("xl/vbaProject.bin")
    assert restore_ribbon(copy) is True
    with zipfile.ZipFile(copy) as z:
        assert RIBBON_REL_TYPE in z.read("_rels/.rels").decode()
        assert z.read("xl/vbaProject.bin") == vba_before
        assert RIBBON_PART in z.namelist()


def test_refuses_a_non_xlsm_target_and_a_clash(tmp_path, xlsm):
    with pytest.raises(SopExcelError, match="must end in .xlsm"):
        build_template(tmp_path / "plan.xlsx", source=xlsm)
    with pytest.raises(SopExcelError):
        build_template(tmp_path / "again.xlsm", source=xlsm)  # already an .xlsm with the sheets


@pytest.mark.libreoffice
@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_template(xlsm, tmp_path):
    out = recalculate(xlsm, tmp_path)  # raises when LibreOffice cannot load it
    wb = openpyxl.load_workbook(out, read_only=True)
    assert {NEW_SCENARIO_SHEET, CONF_SHEET, "Settings", "Forecast"} <= set(wb.sheetnames)
    wb.close()


def test_cli_refresh_of_an_xlsm_keeps_the_vba_and_the_ribbon(xlsm, tmp_path):
    from sop_excel.check import formula_cells
    from sop_excel.cli import main

    book = tmp_path / "plan.xlsm"
    shutil.copyfile(xlsm, book)
    with zipfile.ZipFile(book) as z:
        vba_before = z.read("xl/vbaProject.bin")
    assert main(["-q", "compare-scenarios", str(book)]) == 0
    with zipfile.ZipFile(book) as z:
        assert z.read("xl/vbaProject.bin") == vba_before
        assert b"ui/extensibility" in z.read("_rels/.rels")
        assert "customUI/customUI14.xml" in z.namelist()
        assert b"macroEnabled" in z.read("[Content_Types].xml")
    assert [k for k, v in formula_cells(book).items() if v is None] == []
