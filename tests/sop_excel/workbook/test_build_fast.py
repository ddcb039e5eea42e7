"""The builder's fast cell writer writes every sheet byte for byte as XlsxWriter would."""

from __future__ import annotations

import zipfile

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from sop_excel.workbook import build
from tests.sop_excel.tiny import build_tiny, tiny_frames


def _parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")}


def test_fast_cells_are_xlsxwriters_cells(tmp_path, monkeypatch):
    # texts that need XlsxWriter's care: spaces to keep, XML characters, a control character,
    # its escape written literally, a formula-looking text, a long text
    f = tiny_frames()
    odd = ["  lead", "trail ", "a & <b>", "bell\x07", "_x0007_", "=1+1", "x" * 300]
    monkeypatch.setattr(
        "tests.sop_excel.tiny.tiny_frames",
        lambda: {
            **f,
            "items": f["items"].assign(
                description=odd[:3],
                comment=odd[3:6],
                method=["", "", ""],
                like_item=[odd[6], "", ""],
            ),
        },
    )
    fast = tmp_path / "fast.xlsx"
    build_tiny(fast)
    for name in ("_write_cell", "_write_single_row", "_write_formula", "_convert_date_time"):
        monkeypatch.setattr(build._Worksheet, name, getattr(Worksheet, name))
    monkeypatch.setattr(
        build._Worksheet,
        "_write_formula",
        lambda self, *a, **k: 0 if self._quiet else Worksheet._write_formula(self, *a, **k),
    )
    slow = tmp_path / "slow.xlsx"
    build_tiny(slow)
    a, b = _parts(fast), _parts(slow)
    assert a.keys() == b.keys() and len(a) > 20
    for name in a:
        assert a[name] == b[name], name
    assert b"_x0007_" in b"".join(a.values()) and b'xml:space="preserve"' in b"".join(a.values())
    _ = pd  # frames above are pandas
