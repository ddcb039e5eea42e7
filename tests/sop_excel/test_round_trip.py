"""Whatever program saved the file last (openpyxl, LibreOffice), every command leaves it right:
``check`` passes after each command, and LibreOffice's recalculation equals the cached values.

Two LibreOffice runs in all: one saves the workbook as LibreOffice writes it, one recalculates
both final files (``recalculate_all``)."""

from __future__ import annotations

import shutil

import openpyxl
import pytest

from sop_excel.check import check_workbook, compare_recalculated
from sop_excel.cli import main
from sop_excel.workbook.libreoffice import find_soffice, recalculate, recalculate_all
from tests.sop_excel.ooxml import ooxml_errors
from tests.sop_excel.tiny import build_tiny

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed"),
]

SCENARIOS = '[[scenario]]\nname = "Base"\n\n[[scenario]]\nname = "Lean"\nparent = "Base"\ndriver = [{ kind = "volume", value = -0.1 }]\n'


def _commands(book, folder) -> list[list[str]]:
    (folder / "day.csv").write_text(
        "date,item,orders,shipments\n2026-11-04,A-1,2,2\n2026-11-05,B-1,5,4\n"
    )
    (folder / "plan.toml").write_text(SCENARIOS)
    b = str(book)
    return [
        ["refresh-forecast", b],
        ["new-scenario", b, "Promo", "--volume", "5%"],
        ["compare-scenarios", b],
        ["export-scenarios", b, "--out", str(folder / "out.toml")],
        ["lock-plan", b],
        ["refresh-actuals", b, "--source", str(folder / "day.csv")],
        ["flag-drift", b],
        ["import-scenarios", b, str(folder / "plan.toml")],
    ]


before: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def saved_by(tmp_path_factory):
    """program -> (the workbook after every command, problems check found after each)."""
    root = tmp_path_factory.mktemp("round-trip")
    build_tiny(root / "tiny.xlsx")
    by_openpyxl = root / "openpyxl" / "plan.xlsx"
    by_openpyxl.parent.mkdir()
    wb = openpyxl.load_workbook(root / "tiny.xlsx")
    wb.save(by_openpyxl)
    by_lo = root / "libreoffice" / "plan.xlsx"
    by_lo.parent.mkdir()
    shutil.copyfile(recalculate(root / "tiny.xlsx", root / "lo-out"), by_lo)
    out = {}
    for program, book in (("openpyxl", by_openpyxl), ("libreoffice", by_lo)):
        before[program] = set(ooxml_errors(book))  # the other program's own, before any command
        found = {}
        for command in _commands(book, book.parent):
            assert main(["-q", *command]) == 0, (program, command)
            problems, _ = check_workbook(book)
            if problems:
                found[command[0]] = problems
        out[program] = (book, found)
    return out


@pytest.mark.parametrize("program", ["openpyxl", "libreoffice"])
def test_check_passes_after_every_command(saved_by, program):
    _, found = saved_by[program]
    assert found == {}


def test_libreoffice_recalculates_every_file_to_its_cached_values(saved_by, tmp_path):
    books = [saved_by[p][0] for p in ("openpyxl", "libreoffice")]
    for book, recalculated in zip(books, recalculate_all(books, tmp_path), strict=True):
        assert compare_recalculated(book, recalculated) == [], book


@pytest.mark.parametrize("program", ["openpyxl", "libreoffice"])
def test_the_file_is_valid_ooxml_after_every_command(saved_by, program):
    """sop-excel adds no schema error: what remains is the other program's own, found in the file
    it saved before any command (LibreOffice's charts and missing theme, openpyxl's font order)."""
    book, _ = saved_by[program]
    assert set(ooxml_errors(book)) - before[program] == set()
