"""Every command, on every side of the workbook interface: headless zip, headless openpyxl and live
Excel (the xlwings fake, which refuses writes to protected sheets as Excel does). Each side must
leave the same tables; the live side must also leave the protected sheets protected.

The workbook is the tiny one made macro-enabled by ``sop-excel template`` (its Plan of record and
Snapshots sheets are protected, its VBA has the SopProtection function the live side calls).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import shutil

import pandas as pd
import pytest

from sop_excel import macros
from sop_excel.errors import WorkbookError
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.xlwings_io import XlwingsIO
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.tiny import build_tiny
from tests.sop_excel.workbook.fake_xlwings import FakeBook

LAYOUT = load_layout()
NOW = dt.datetime(2026, 11, 18, 9, 30)
SCENARIOS_TOML = """
[[scenario]]
name = "Base"

[[scenario]]
name = "Lean"
parent = "Base"
description = "Ten percent less volume"

[[scenario.driver]]
kind = "volume"
value = -0.1
"""
ACTUALS = pd.DataFrame(
    {
        "date": pd.to_datetime(["2026-11-04", "2026-11-05"]),
        "item": ["A-1", "B-1"],
        "orders": [4.0, 7.0],
        "shipments": [4.0, 6.0],
    }
)

COMMANDS = {
    "refresh_forecast": lambda b: macros.refresh_forecast(b),
    "compare_scenarios": lambda b: macros.compare_scenarios(b),
    "new_scenario": lambda b: macros.new_scenario(
        b,
        "Stretch",
        parent="Base",
        drivers=[
            {
                "kind": "volume",
                "value": 0.05,
                "family": "Pumps",
                "item": "",
                "resource": "",
                "from_month": None,
                "to_month": None,
                "price": None,
                "unit_cost": None,
                "comment": "",
            }
        ],
    ),
    "import_scenarios": lambda b: macros.import_scenarios(b, SCENARIOS_TOML, source="plan.toml"),
    "lock_plan": lambda b: macros.lock_plan(b, "Upside", note="contract", user="tester", now=NOW),
    "refresh_actuals": lambda b: macros.refresh_actuals(b, ACTUALS.copy(), source="day.csv"),
    "flag_drift": lambda b: macros.flag_drift(b),
}
# what differs by side for good reasons: when and by whom (the Log), the cache only the zip side keeps
SKIP_TABLES = {
    "tblLog",
    "tblBasisKey",
    "tblBasisItems",
    "tblBasisMonths",
    "tblBasisNextItems",
    "tblBasisNextMonths",
}
SKIP_FIELDS = {"tblExceptionLog": {"time"}}


@pytest.fixture(scope="module")
def template(tiny_template):
    return tiny_template


@pytest.fixture(scope="module")
def live(template):
    return FakeBook.from_xlsx(template)


def _open(side, template, live, tmp_path):
    if side == "xlwings":
        return XlwingsIO(copy.deepcopy(live))
    path = tmp_path / f"{side}.xlsm"
    shutil.copyfile(template, path)
    return {"zip": ZipIO, "openpyxl": OpenpyxlIO}[side](path)


def _tables(book) -> dict[str, pd.DataFrame]:
    """Every table as its frame, without formula columns (a fake Excel does not calculate; the
    headless sides' formula values are checked against LibreOffice elsewhere)."""
    if not isinstance(book, XlwingsIO):
        book = type(book)(book.path)  # as saved
    out = {}
    for t in LAYOUT.tables:
        if t.name in SKIP_TABLES:
            continue
        frame = read_frame(book, t.name)
        drop = {c.field for c in t.columns if c.formula} | SKIP_FIELDS.get(t.name, set())
        out[t.name] = frame.drop(columns=[c for c in frame.columns if c in drop]).reset_index(
            drop=True
        )
    return out


@pytest.fixture(scope="module")
def results(template, live, tmp_path_factory):
    """side -> command -> (report text, tables, book): each command run once on a fresh copy."""
    out: dict[str, dict[str, tuple[str, dict[str, pd.DataFrame], object]]] = {}
    for side in ("zip", "openpyxl", "xlwings"):
        for name, command in COMMANDS.items():
            book = _open(side, template, live, tmp_path_factory.mktemp(f"{side}-{name}"))
            report = command(book)
            out.setdefault(side, {})[name] = (str(report), _tables(book), book)
    return out


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b) or bool(pd.isna(a) and pd.isna(b))


@pytest.mark.parametrize("side", ["openpyxl", "xlwings"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_side_leaves_the_tables_the_zip_side_leaves(results, side, command):
    _, want, _ = results["zip"][command]
    _, got, _ = results[side][command]
    for name, frame in want.items():
        other = got[name]
        assert list(other.columns) == list(frame.columns), name
        assert len(other) == len(frame), (
            f"{name}: {len(other)} rows on the {side} side, {len(frame)} headless"
        )
        for col in frame.columns:
            bad = [
                (i, a, b)
                for i, (a, b) in enumerate(
                    zip(frame[col].tolist(), other[col].tolist(), strict=True)
                )
                if not _same(a, b)
            ]
            assert not bad, (
                f"{command}: {name}[{col}] differs on the {side} side (row, zip, {side}): {bad[:3]}"
            )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_file_each_command_leaves_is_valid_ooxml(results, command):
    from tests.sop_excel.ooxml import ooxml_errors

    for side in ("zip", "openpyxl"):
        _, _, book = results[side][command]
        assert ooxml_errors(book.path) == [], (side, command)


def test_lock_plan_from_the_ribbon_unprotects_and_protects_again(results):
    """Plan of record and Snapshots are protected; live Excel refuses writes there. The live side
    unprotects each for its writes and protects it again: the lock is written, the sheets end
    protected as they began."""
    report, tables, book = results["xlwings"]["lock_plan"]
    assert report.startswith("Locked 'Upside' as plan of record v")
    assert tables["tblLocks"]["note"].tolist()[-1] == "contract"
    for sheet in ("Plan of record", "Snapshots"):
        ws = book.book.sheets[sheet]
        assert ws.protected, sheet
        assert ws.protections and ws.protections[-1] == "protect", (sheet, ws.protections)


def test_a_sheet_that_cannot_be_unprotected_is_refused_before_anything_is_written(live):
    fake = copy.deepcopy(live)
    fake.sheets[
        "Snapshots"
    ].password = "secret"  # protected with a password sop-excel does not know
    book = XlwingsIO(fake)
    before = {t: copy.deepcopy(v) for t, v in ((s.name, s.values) for s in fake.sheets)}
    with pytest.raises(
        WorkbookError, match="sheet 'Snapshots' is protected and sop-excel could not unprotect it"
    ):
        macros.lock_plan(book, "Base", user="tester", now=NOW)
    assert {
        s.name: s.values for s in fake.sheets
    } == before  # the S&OP sheets were not rewritten first
    assert fake.sheets["Plan of record"].protected and fake.sheets["Snapshots"].protected


def test_a_workbook_without_the_vba_is_refused_in_words(tmp_path):
    """An .xlsx open in Excel (xlwings Server, a workbook without sop-excel's VBA) cannot unprotect."""
    build_tiny(tmp_path / "tiny.xlsx")
    book = XlwingsIO(FakeBook.from_xlsx(tmp_path / "tiny.xlsx"))
    with pytest.raises(WorkbookError, match="Cannot run the macro 'SopProtection'"):
        macros.lock_plan(book, "Base", user="tester", now=NOW)
