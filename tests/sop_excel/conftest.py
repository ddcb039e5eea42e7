"""Shared fixtures: the demo workbook, built once by the CLI, and helpers to read it."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

LAYOUT = load_layout()


def cell(table: str, field: str, i: int) -> str:
    """Address of data row i (0-based) of a table's column, from the layout."""
    t = LAYOUT.table(table)
    r0, c0 = parse_cell(t.anchor)
    return cell_address(r0 + 1 + i, c0 + t.fields.index(field))


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory):
    """Built once per session by the CLI; tests copy it before changing it."""
    out = tmp_path_factory.mktemp("demo") / "plan.xlsx"
    assert main(["-q", "demo", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory):
    """The tiny workbook made macro-enabled by ``sop-excel template``, built once per session;
    tests copy it (or load it) before changing anything."""
    from sop_excel.template import build_template
    from tests.sop_excel.tiny import build_tiny

    folder = tmp_path_factory.mktemp("tiny-template")
    build_tiny(folder / "tiny.xlsx")
    return build_template(folder / "tiny.xlsm", source=folder / "tiny.xlsx")


@pytest.fixture
def book_copy(demo_book, tmp_path):
    dst = tmp_path / "plan.xlsx"
    shutil.copyfile(demo_book, dst)
    for csv in demo_book.parent.glob("*.csv"):
        shutil.copyfile(csv, tmp_path / csv.name)
    return dst


def sheet(path, name, table=None):
    t = LAYOUT.table(table) if table else next(t for t in LAYOUT.tables if t.sheet == name)
    r0, c0 = parse_cell(t.anchor)
    cols = range(c0 - 1, c0 - 1 + len(t.columns)) if not t.dynamic_columns else None
    frame = pd.read_excel(path, sheet_name=t.sheet, header=r0 - 1, engine="calamine", usecols=cols)
    if not t.dynamic_columns:  # pandas de-duplicates names across the whole header row ("Month.1")
        frame.columns = t.headers
    return frame.dropna(how="all")
