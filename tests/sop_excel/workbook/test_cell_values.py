"""Cached values read from a sheet's XML (``package.cell_values``), and ``check --recalc``'s
comparison that uses them: it must find a value that differs and an error LibreOffice computes."""

from __future__ import annotations

import re
import shutil
import zipfile

from sop_excel.check import compare_recalculated, formula_cells
from sop_excel.workbook import package
from tests.sop_excel.tiny import build_tiny

SHEET = (
    b'<worksheet><sheetData><row r="1">'
    b'<c r="A1" t="s"><v>1</v></c>'
    b'<c r="B1"><f>1+1</f><v>2</v></c>'
    b'<c r="C1" t="str"><f>""</f><v></v></c>'
    b'<c r="D1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    b'<c r="E1" t="b"><f>TRUE()</f><v>1</v></c>'
    b'<c r="F1" t="inlineStr"><is><t>in &amp; line</t></is></c>'
    b'<c r="G1" s="3"/>'
    b'<c r="H1"><f>A1</f></c>'
    b'<c r="I1" t="str"><f>A1&amp;"!"</f><v>b &lt;x&gt;!</v></c>'
    b'<c r="J1"><f t="shared" si="0"/><v>4.5</v></c>'
    b"</row></sheetData></worksheet>"
)


def test_every_kind_of_cell_reads_as_its_value():
    values, formulas = package.cell_values(SHEET, ["a", "b <x>"])
    assert values == {
        "A1": "b <x>",
        "B1": 2.0,
        "C1": "",
        "D1": "#DIV/0!",
        "E1": True,
        "F1": "in & line",
        "G1": None,
        "H1": None,
        "I1": "b <x>!",
        "J1": 4.5,
    }
    assert formulas == {"B1", "C1", "D1", "E1", "H1", "I1", "J1"}


def test_xml_it_does_not_read_is_left_to_openpyxl():
    prefixed = SHEET.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")
    assert package.cell_values(prefixed, ["a", "b"]) is None
    assert package.cell_values(b'<row><c t="n"><v>1</v></c></row>', []) is None  # no address


def _edited(src, dst, edits: dict) -> None:
    """A copy of ``src`` with each sheet's XML edited by ``edits[title]``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = {part: edits[t] for t, (part, _) in package.sheet_parts(zin).items() if t in edits}
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in parts:
                data = parts[info.filename](data)
            zout.writestr(info, data)


def test_recalc_comparison_finds_a_different_value_and_an_error(tmp_path):
    ours = tmp_path / "ours.xlsx"
    build_tiny(ours)
    cells = formula_cells(ours)
    numbers = [(k, v) for k, v in cells.items() if isinstance(v, float) and v != 0]
    assert len(numbers) >= 2 and all(v is not None for v in cells.values())
    (sheet_a, ref_a), value_a = numbers[0]
    (sheet_b, ref_b), _ = numbers[-1]
    same = tmp_path / "same.xlsx"
    shutil.copyfile(ours, same)
    assert compare_recalculated(ours, same) == []

    def cell(ref: str, new: bytes):
        pattern = rb'(<c r="' + ref.encode() + rb'"[^>]*?)(?: t="\w+")?(>.*?)<v>[^<]*</v>'
        return lambda xml: re.sub(pattern, new, xml, count=1, flags=re.S)

    one = cell(ref_a, rb"\1\2<v>" + repr(value_a + 1).encode() + b"</v>")
    two = cell(ref_b, rb'\1 t="e"\2<v>#N/A</v>')
    edits = {sheet_a: one, sheet_b: two} if sheet_a != sheet_b else {sheet_a: lambda x: two(one(x))}
    theirs = tmp_path / "theirs.xlsx"
    _edited(ours, theirs, edits)
    found = compare_recalculated(ours, theirs)
    assert (
        f"Sheet '{sheet_a}', cell {ref_a}: cached {value_a!r} but LibreOffice computes {value_a + 1!r}"
        in found
    )
    assert f"Sheet '{sheet_b}', cell {ref_b}: LibreOffice computes #N/A" in found
    assert len(found) == 2
