"""Read a workbook's Excel Tables fast, as values, with python-calamine (Rust).

At 10,000 items the planning workbook holds about 20 million table cells; openpyxl
(``read_only=True``) takes minutes to read them, calamine seconds (``bench/scale_read.py``).
calamine reads each formula cell's cached value, never its text, so this reader is for the
numbers (refresh inputs, checks, exports), not for editing: ``OpenpyxlIO`` stays the editor.

The file is checked by :func:`~sop_excel.workbook.guard.check_xlsx` (zip bombs, DTDs, truncated
zips) before calamine parses it. Cells come back as :class:`~sop_excel.workbook.io.Rows`, as
``OpenpyxlIO.read_table`` gives them for a value cell: empty cells ``None``, dates
``datetime.datetime``, numbers ``float`` (``int`` where openpyxl would give one is not known to
calamine; frames convert either), text ``str``, ``bool``.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sop_excel.errors import LayoutError, WorkbookCorruptError
from sop_excel.workbook.guard import check_xlsx
from sop_excel.workbook.io import CellValue, Rows

__all__ = ["read_tables", "table_refs"]

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _cell(v: object) -> CellValue:
    if v == "" and isinstance(v, str):
        return None
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, dt.time | dt.timedelta):
        return str(v)
    return v  # type: ignore[return-value]


def _convert(rows: Iterable[Sequence[object]]) -> list[list[CellValue]]:
    out: list[list[CellValue]] = []
    for row in rows:
        # Most cells are numbers or text: convert only the rows that need it.
        if any(v == "" or isinstance(v, dt.date | dt.time | dt.timedelta) for v in row):
            out.append([_cell(v) for v in row])
        else:
            out.append(row)  # type: ignore[arg-type]  # numbers and text: cell values as they are
    return out


def read_tables(
    path: str | os.PathLike[str], names: Iterable[str] | None = None
) -> dict[str, Rows]:
    """Each Excel Table's rows (header first) by table name; ``names`` limits which are read.

    Raises:
        WorkbookCorruptError: the file is not a sound xlsx/xlsm (see ``check_xlsx``) or calamine
            cannot parse it.
        LayoutError: a table asked for is not in the workbook (names the missing ones).
    """
    from python_calamine import CalamineWorkbook

    path = Path(path)
    check_xlsx(path)
    try:
        wb = CalamineWorkbook.from_path(str(path), load_tables=True)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for bad files
        raise WorkbookCorruptError(
            f"{path.name} could not be read ({type(exc).__name__}: {str(exc)[:200]}). "
            "Open it in Excel and save it as .xlsx, or restore it from a backup."
        ) from exc
    try:
        present = list(wb.table_names or [])  # a list: the tables were loaded
        wanted = present if names is None else list(names)
        missing = [n for n in wanted if n not in present]
        if missing:
            raise LayoutError(
                f"{path.name} has no table named {', '.join(missing)} (it has {len(present)} tables"
                f"{': ' + ', '.join(present[:12]) if present else ''}). Rebuild the workbook with "
                "`sop-excel demo` or restore the table from a backup."
            )
        out: dict[str, Rows] = {}
        for name in wanted:
            table = wb.get_table_by_name(name)
            header: list[CellValue] = [str(c) for c in table.columns]
            out[name] = [header, *_convert(table.to_python())]
        return out
    finally:
        wb.close()


def _xml(z: zipfile.ZipFile, part: str) -> Any:
    from defusedxml import ElementTree as SafeET

    return SafeET.fromstring(z.read(part))


def _target(base: str, target: str) -> str:
    """A relationship target resolved against the folder of the part that names it."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    rels = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if rels not in z.namelist():
        return {}
    return {r.get("Id"): _target(part, r.get("Target", "")) for r in _xml(z, rels) if r.get("Id")}


def table_refs(path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """Each Excel Table's sheet and A1 range, from the file's parts (parsed with defusedxml).

    For readers that do not load table definitions themselves (openpyxl ``read_only=True``).
    """
    path = Path(path)
    check_xlsx(path)
    out: dict[str, tuple[str, str]] = {}
    with zipfile.ZipFile(path) as z:
        book = "xl/workbook.xml"
        sheet_parts = _rels(z, book)
        for sh in _xml(z, book).iter(f"{_MAIN}sheet"):
            part = sheet_parts.get(sh.get(_RID))
            if not part or part not in z.namelist():
                continue
            rels = _rels(z, part)
            for tp in _xml(z, part).iter(f"{_MAIN}tablePart"):
                tpart = rels.get(tp.get(_RID))
                if tpart and tpart in z.namelist():
                    t = _xml(z, tpart)
                    out[t.get("name") or t.get("displayName")] = (sh.get("name"), t.get("ref"))
    return out
