"""Type values into cells the way a test needs them, at the zip level: the sheet's XML is edited
in place and every other part copied as it is (an openpyxl load and save of the demo takes
seconds, and rewrites every part). For tests about what a command does with a typed value, not
about what openpyxl writes."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from sop_excel.workbook.package import sheet_parts

__all__ = ["Error", "edit_part", "set_cells"]


class Error(str):
    """An error value (``Error("#N/A")``), written as Excel writes one: ``t="e"``."""


def _cell(ref: str, attrs: bytes, value: object) -> bytes:
    attrs = re.sub(rb'\s+t="[^"]*"', b"", attrs)
    head = b"<c" + attrs
    if value is None:
        return head + b"/>"
    if isinstance(value, Error):
        return head + b' t="e"><v>' + escape(value).encode() + b"</v></c>"
    if isinstance(value, bool):
        return head + b' t="b"><v>' + (b"1" if value else b"0") + b"</v></c>"
    if isinstance(value, int | float):
        return head + b"><v>" + repr(float(value)).encode() + b"</v></c>"
    text = escape(str(value)).encode()
    return head + b' t="inlineStr"><is><t xml:space="preserve">' + text + b"</t></is></c>"


def edit_part(path: str | Path, part: str, edit: Callable[[bytes], bytes]) -> None:
    """Replace the zip member ``part`` of the workbook at ``path`` by ``edit(its bytes)``, every
    other member copied as it is."""
    path = Path(path)
    tmp = path.with_name(path.name + ".edit")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info, edit(data) if info.filename == part else data)
    shutil.move(tmp, path)


def set_cells(path: str | Path, sheet: str, values: dict[str, object]) -> None:
    """Set each existing cell ``ref -> value`` of ``sheet`` in the workbook at ``path`` (a
    number, a text, an :class:`Error`, or None for empty), keeping its style; a cell not in the
    sheet's XML fails the test (this helper adds no rows or cells)."""
    path = Path(path)
    with zipfile.ZipFile(path) as src:
        part = sheet_parts(src)[sheet][0]

    def typed(data: bytes) -> bytes:
        for ref, value in values.items():
            pattern = rb'<c\b([^>]*?\br="' + ref.encode() + rb'"[^>]*?)(?:/>|>.*?</c>)'
            data, n = re.subn(
                pattern,
                lambda m, ref=ref, value=value: _cell(ref, m.group(1), value),
                data,
                count=1,
                flags=re.S,
            )
            assert n == 1, f"no cell {ref} on sheet {sheet!r} of {path.name}"
        return data

    edit_part(path, part, typed)
