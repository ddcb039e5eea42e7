"""Table names are defined once (sop_excel/names.py), against the layout, and used by constant."""

from __future__ import annotations

import io
import re
import tokenize
import tomllib
from pathlib import Path

from sop_excel import names

ROOT = Path(__file__).resolve().parents[2]
CONSTANTS = {k: v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
# the modules that name tables by constant: no "tbl..." string literal of their own
BY_CONSTANT = [
    "macros",
    "rebuild",
    "basis",
    "aside",
    "settings",
    "pipeline",
    "planbook",
    "check",
    "demo",
    "xl",
    "report/content",
    "report/ops_pages",
    "report/plan_pages",
]


def _layout_tables() -> list[str]:
    layout = tomllib.loads(
        (ROOT / "workbook_templates" / "sop_plan.toml").read_text(encoding="utf-8")
    )
    return [t["name"] for sheet in layout["sheets"] for t in sheet.get("tables", [])]


def test_every_layout_table_has_a_constant_and_every_constant_a_table():
    tables = _layout_tables()
    assert len(tables) > 40
    assert sorted(CONSTANTS.values()) == sorted(tables)
    assert list(names.ALL) == tables  # in the layout's order, each once


def test_the_commands_and_the_builder_name_tables_by_constant():
    found = []
    for module in BY_CONSTANT:
        path = ROOT / "sop_excel" / f"{module}.py"
        src = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.STRING and re.fullmatch(r"[\"']tbl[A-Za-z]+[\"']", tok.string):
                found.append(f"{module}.py:{tok.start[0]} {tok.string}")
    assert found == []
