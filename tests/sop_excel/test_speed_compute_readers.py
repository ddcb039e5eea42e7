"""The readers made faster give the values they gave before (issue 21's speed round)."""

from __future__ import annotations

import pickle

import pytest

from sop_excel.workbook.io import CellValue
from sop_excel.workbook.zip_io import plain_rows
from sop_excel.workbook.zip_io.xml_text import unescape


def _texts_before(raw: list[bytes]) -> list[CellValue]:
    """plain_rows._texts as of main a0c8d40: a text made per cell."""
    out: list[CellValue] = list(map(bytes.decode, raw))
    distinct = set(raw)
    if b"" in distinct:
        out = [v or None for v in out]
    if any(b"&" in v for v in distinct):
        out = [unescape(v) if v and "&" in v else v for v in out]  # type: ignore[operator,arg-type]
    return out


@pytest.mark.parametrize(
    "raw",
    [
        [b"IT-1", b"IT-2", b"IT-1", b"IT-1"],
        [b"IT-1", b"", b"IT-1", b""],  # empty cells
        [b"A &amp; B", b"&lt;x&gt;", b"A &amp; B", b"plain", b""],  # escaped
        ["Zürich 東京".encode(), b"  spaced  ", "Zürich 東京".encode()],
        [b""],
        [],
    ],
)
def test_texts_are_the_values_they_were_and_shared(raw: list[bytes]) -> None:
    got = plain_rows._texts(raw)
    assert got == _texts_before(raw)
    assert [type(v) for v in got] == [type(v) for v in _texts_before(raw)]
    # equal texts are one object: a frame of them pickles once per distinct text
    for i, v in enumerate(got):
        for j in range(i):
            if raw[i] == raw[j]:
                assert got[j] is v
    assert pickle.loads(pickle.dumps(got)) == got
