"""Frames in and out of a workbook's tables, through the WorkbookIO seam.

Planner-owned columns (overrides, owners, comments) are carried over by key on every write,
so a refresh never loses what people typed.

A formula a planner typed into a value cell (an Override of ``=2*60``, a comment built with
``&``) is the planner's: :func:`read_frame` gives its value to the frame and remembers the
formula by the row's key; :func:`write_frame` writes it back as a formula wherever that key's
row still holds that value, moved with its row the way Excel moves a formula when it sorts
(relative references follow the row; absolute ones and structured references stay).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl.formula.tokenizer import Tokenizer
from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter

from sop_excel.workbook.convert import FrameRows, frame_from_rows, rows_from_frame
from sop_excel.workbook.formulas import table_formulas
from sop_excel.workbook.io import Formula, PackageIO, Rows, WorkbookIO
from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

__all__ = [
    "TypedFormula",
    "cell_locator",
    "frame_rows",
    "keep_planner_columns",
    "read_frame",
    "rows_for",
    "typed_formulas",
    "unchanged_head",
    "write_frame",
]


@dataclass(frozen=True)
class TypedFormula:
    """A formula a planner typed into a value cell of a table, as read."""

    table: str
    field: str
    key: tuple  # the row's key values (and, in a table whose key may repeat, the repeat's number)
    formula: Formula
    value: object  # the value the frame holds for it (as converted: a month is its first day)
    where: str  # "Sheet 'Forecast', cell O5"
    row: int
    col: int

    @property
    def refers(self) -> bool:
        """Whether its value depends on other cells (a reference, a name, a volatile function):
        then the value used is the one Excel last computed."""
        return refers_to_cells(self.formula.text)


# book -> table -> the formulas typed into it when it was last read
_TYPED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_VOLATILE = {
    "TODAY",
    "NOW",
    "RAND",
    "RANDBETWEEN",
    "RANDARRAY",
    "OFFSET",
    "INDIRECT",
    "INFO",
    "CELL",
}


def refers_to_cells(text: str) -> bool:
    """Whether a formula's value depends on anything but its own text."""
    try:
        tokens = Tokenizer(text).items
    except Exception:  # noqa: BLE001 - a formula the tokenizer cannot split: assume it does
        return True
    for t in tokens:
        if t.type == "OPERAND" and t.subtype == "RANGE":
            return True
        if (
            t.type == "FUNC"
            and t.subtype == "OPEN"
            and t.value[:-1].upper().removeprefix("_XLFN.") in _VOLATILE
        ):
            return True
    return False


def read_frame(book: WorkbookIO, name: str) -> pd.DataFrame:
    """A table as a checked frame with the layout's field names."""
    values = book.read_values if isinstance(book, PackageIO) else None  # a faster value-only reader
    table = load_layout().table(name)
    frame = frame_from_rows(values(name) if values else book.read_table(name), table)
    found = frame.attrs.get("formulas")
    try:
        kept = _TYPED.setdefault(book, {})
    except TypeError:  # a side that cannot be weakly referenced: nothing to keep
        return frame
    if found:
        keys = _row_keys(frame, table.key, table.unique)
        kept[name] = [
            TypedFormula(
                name,
                field,
                keys[p],
                f,
                frame.at[p, field],
                f"Sheet '{table.sheet}', cell {get_column_letter(col)}{row}",
                row,
                col,
            )
            for field, p, f, row, col in found
        ]
    else:
        kept.pop(name, None)
    return frame


def typed_formulas(book: WorkbookIO) -> list[TypedFormula]:
    """The formulas typed into value cells of the tables read from ``book`` so far."""
    return [t for found in _TYPED.get(book, {}).values() for t in found]


def _row_keys(frame: pd.DataFrame, key: list[str], unique: bool) -> list[tuple]:
    """Each row's key; where keys may repeat, with the number of the repeat (0, 1, ...)."""
    rows = list(zip(*(frame[k].tolist() for k in key), strict=True)) if len(frame) else []
    rows = [tuple(_plain(v) for v in r) for r in rows]
    if unique:
        return rows
    seen: dict[tuple, int] = {}
    out = []
    for r in rows:
        n = seen.get(r, 0)
        seen[r] = n + 1
        out.append((*r, n))
    return out


def _plain(v: object) -> object:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _same(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0) or (a != a and b != b)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _with_typed_formulas(frame: pd.DataFrame, name: str, found: list[TypedFormula]) -> pd.DataFrame:
    """``frame`` with each kept formula put back, as a :class:`Formula` cell, where its row's
    key is and that row still holds the formula's value."""
    table = load_layout().table(name)
    if table.dynamic_columns or frame.empty:
        return frame
    frame = frame.reset_index(drop=True)
    at = {k: p for p, k in enumerate(_row_keys(frame, table.key, table.unique))}
    r0, c0 = parse_cell(table.anchor)
    out = None
    for t in found:
        p = at.get(t.key)
        if p is None or t.field not in frame.columns or not _same(frame.at[p, t.field], t.value):
            continue
        if out is None:
            out = frame.copy()
        if out[t.field].dtype != object:
            out[t.field] = out[t.field].astype(object)
        dest = f"{get_column_letter(c0 + table.fields.index(t.field))}{r0 + 1 + p}"
        out.at[p, t.field] = Formula(
            _moved(t.formula.text, f"{get_column_letter(t.col)}{t.row}", dest), t.formula.value
        )
    return frame if out is None else out


def _moved(text: str, origin: str, dest: str) -> str:
    """The formula as Excel would hold it after its cell moved from ``origin`` to ``dest`` with
    its row (a sort): relative references shift with it. Unchanged if it cannot be moved
    (it would point above row 1, or the tokenizer cannot split it)."""
    if origin == dest:
        return text
    try:
        return Translator(text, origin).translate_formula(dest)
    except Exception:  # noqa: BLE001 - openpyxl's TranslatorError and tokenizer errors
        return text


def keep_planner_columns(
    new: pd.DataFrame, old: pd.DataFrame, name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copy planner-owned columns from ``old`` into ``new`` where the keys match.

    Returns the merged frame and the old rows with planner input whose key is gone (to report).
    """
    table = load_layout().table(name)
    planner = [f for f in table.planner_fields if f in old.columns]
    if old.empty or not planner:
        return new, old.iloc[0:0]
    keyed = old[table.key + planner]
    has_input = (
        keyed[planner].apply(lambda s: s.notna() & (s.astype(str).str.strip() != "")).any(axis=1)
    )
    keyed = keyed[has_input]
    merged = new.drop(columns=[p for p in planner if p in new.columns]).merge(
        keyed, on=table.key, how="left"
    )
    for p in planner:
        if table.column(p).kind == "text":
            merged[p] = merged[p].fillna("")
    gone = keyed.merge(new[table.key], on=table.key, how="left", indicator=True)
    lost = gone[gone["_merge"] == "left_only"].drop(columns="_merge")
    return merged[list(new.columns) + [p for p in planner if p not in new.columns]], lost


def rows_for(name: str, frame: pd.DataFrame, headers: list[str] | None = None) -> Rows:
    """Rows (header first) for a table, formula columns carrying their Python values."""
    return rows_from_frame(frame, load_layout().table(name), table_formulas(name), headers=headers)


def frame_rows(name: str, frame: pd.DataFrame, headers: list[str] | None = None) -> FrameRows:
    """:func:`rows_for`, made a chunk at a time as the builder reads them (a big workbook's
    cells as Python rows would take several GB; see :class:`FrameRows`)."""
    return FrameRows(frame, load_layout().table(name), table_formulas(name), headers=headers)


def write_frame(
    book: WorkbookIO, name: str, frame: pd.DataFrame, saved: pd.DataFrame | None = None
) -> None:
    """Replace a table's contents with ``frame`` (in layout order); the formulas a planner
    typed into it (as read by :func:`read_frame`) are written back as formulas.

    ``saved``: the table as :func:`read_frame` gave it from the saved file (read by this
    command); the leading rows ``frame`` has unchanged from it are told to the side, which
    may keep them as the file has them instead of writing them again (the daily refresh's
    Actuals: the month to date unchanged, one new day).
    """
    found = _TYPED.get(book, {}).get(name) if _weak(book) else None
    if found:
        frame = _with_typed_formulas(frame, name, found)
    rows = frame_rows(name, frame)  # rows made as the side writes them
    if saved is not None and not found:
        rows.unchanged, rows.unchanged_from = unchanged_head(saved, rows.frame, name)
    book.write_table(name, rows)


def unchanged_head(saved: pd.DataFrame, frame: pd.DataFrame, name: str) -> tuple[int, int]:
    """``(n, row)``: the first ``n`` rows of ``frame`` are those of ``saved`` (a table as
    :func:`read_frame` read it from the file), value for value and type for type in every
    field of the table, and they came from the sheet's rows ``row`` .. ``row + n - 1``, one
    after the other (a blank row in between, which the reading dropped, ends the run)."""
    fields = load_layout().table(name).fields
    rows = saved.attrs.get("excel_rows")
    n = min(len(saved), len(frame))
    if not n or rows is None or len(rows) != len(saved):
        return 0, 0
    if any(f not in saved.columns or f not in frame.columns for f in fields):
        return 0, 0
    same = np.ones(n, dtype=bool)
    for f in fields:
        a, b = saved[f].to_numpy()[:n], frame[f].to_numpy()[:n]
        if a.dtype.kind == b.dtype.kind == "M":  # a date read as ns, a source's as us
            a, b = a.astype("datetime64[ns]"), b.astype("datetime64[ns]")
        if a.dtype != b.dtype:
            return 0, 0
        if a.dtype == object:  # equal and of one type (1 == 1.0 == True, written differently)
            eq = (a == b) | (pd.isna(a) & pd.isna(b))
            if not all(pd.api.types.infer_dtype(x, skipna=False) == "string" for x in (a, b)):
                eq &= np.fromiter(map(type, a), object, n) == np.fromiter(map(type, b), object, n)
        elif a.dtype.kind in "fc":
            eq = (a == b) | (np.isnan(a) & np.isnan(b))
        elif a.dtype.kind in "mM":
            eq = (a == b) | (np.isnat(a) & np.isnat(b))
        else:
            eq = a == b
        same &= np.asarray(eq, dtype=bool)
    k = n if same.all() else int(np.argmin(same))
    excel = np.asarray(rows[:k], dtype=np.int64)
    if k and not (np.diff(excel) == 1).all():
        k = int(np.argmin(np.diff(excel) == 1)) + 1  # up to the first gap
    return (k, int(rows[0])) if k else (0, 0)


def _weak(book: object) -> bool:
    try:
        weakref.ref(book)
    except TypeError:
        return False
    return True


def cell_locator(frame: pd.DataFrame, name: str) -> Callable[[int, str], str]:
    """``(row position in frame, field) -> "Sheet 'Events', cell E5"`` for a frame :func:`read_frame`
    gave: the cell each value came from, for messages of checks made on the frame."""
    table = load_layout().table(name)
    r0, c0 = parse_cell(table.anchor)
    rows = frame.attrs.get("excel_rows") or range(r0 + 1, r0 + 1 + len(frame))
    cols = frame.attrs.get("excel_columns") or range(c0, c0 + len(table.fields))

    def where(pos: int, field: str) -> str:
        return f"Sheet '{table.sheet}', cell {cell_address(int(rows[pos]), int(cols[table.fields.index(field)]))}"

    return where
