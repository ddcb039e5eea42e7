"""Rows of cells <-> pandas frames, checked against the layout.

Pure: shared by the headless and live sides. Every bad cell becomes a :class:`CellProblem`
naming the sheet and cell.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import cast, overload

import numpy as np
import pandas as pd

from sop_excel.errors import CellProblem, InputError, LayoutError
from sop_excel.models import FIRST_DATE, LAST_DATE, TableLayout
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.layout import cell_address, parse_cell

__all__ = ["EXCEL_ERRORS", "FrameRows", "TypedFormulas", "frame_from_rows", "rows_from_frame"]

# Excel's error values, as a formula's cached value reads (Excel, LibreOffice, openpyxl, xlwings)
EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#CONNECT!",
        "#BUSY!",
        "#PYTHON!",
    }
)

_FIX = {
    "number": "Type a number or leave the cell empty.",
    "date": "Type a date (for example 2026-11-18).",
    "key": "Fill in this cell: every row needs it.",
    "duplicate": "Remove or merge the duplicate row.",
    "no value": "Open the workbook in Excel (or LibreOffice) and save it, so the formula gets its "
    "value, or type the value instead.",
    "error": "Correct the formula (or type a value) so the cell shows a value.",
}
_DATE_RANGE_FIX = (
    f"Type a date from {FIRST_DATE.year} to {LAST_DATE.year} (for example 2026-11-18)."
)


def _is_blank(v: CellValue) -> bool:
    return (
        v is None
        or (isinstance(v, str) and not v.strip())
        or (isinstance(v, float) and math.isnan(v))
    )


def _unwrap(v: CellValue) -> CellValue:
    return v.value if isinstance(v, Formula) else v


def frame_from_rows(
    rows: Rows, table: TableLayout, *, header_row: int | None = None
) -> pd.DataFrame:
    """Turn a table's cells (header first) into a frame with the layout's field names.

    Raises:
        LayoutError: a required header is missing.
        InputError: values that are not numbers or dates where they must be, empty keys,
            duplicate keys; all of them at once.
    """
    r0, c0 = parse_cell(table.anchor)
    header_row = header_row or r0
    if not rows:
        raise LayoutError(
            f"Sheet '{table.sheet}': table {table.name} has no header row. "
            "Restore the table from the template."
        )
    header = [str(_unwrap(h)).strip() if not _is_blank(_unwrap(h)) else "" for h in rows[0]]
    by_header = {h.casefold(): i for i, h in enumerate(header) if h}
    index: dict[str, int] = {}
    missing = []
    for col in table.columns:
        i = next(
            (
                by_header[h.casefold()]
                for h in (col.header, *col.former)
                if h.casefold() in by_header
            ),
            None,
        )
        if i is None:
            if col.required:
                missing.append(col.header)
        else:
            index[col.field] = i
    if missing:
        found = ", ".join(repr(h) for h in header if h) or "none"
        raise LayoutError(
            f"Sheet '{table.sheet}', table {table.name} (header row {header_row}): missing "
            f"column{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}; "
            f"found {found}. Rename the header back or restore the column."
        )
    width = len(rows[0])
    if isinstance(rows, ColumnRows) and len(rows.columns) == width:  # read by column already
        columns, n_body = [list(c) for c in rows.columns], len(rows) - 1
    else:
        body = rows[1:]
        if set(map(len, body)) - {width}:
            body = [r if len(r) == width else (list(r) + [None] * width)[:width] for r in body]
        # a column at a time (zip(*body) over 310,000 rows takes ten times as long)
        columns, n_body = [list(map(itemgetter(j), body)) for j in range(width)], len(body)
    # formulas a planner typed (in columns whose cells are values): kept by position, read by value
    typed_cols = {
        index[c.field]: c.field for c in table.columns if not c.formula and c.field in index
    }
    kinds = [set(map(type, c)) for c in columns]  # each column's cell types, found once
    typed = {
        j: {p: v for p, v in enumerate(columns[j]) if v.__class__ is Formula}
        for j in typed_cols
        if Formula in kinds[j]
    }
    for j, k in enumerate(kinds):
        if Formula in k:
            columns[j] = [_unwrap(v) for v in columns[j]]
            kinds[j] = set(map(type, columns[j]))
    excel_rows = np.arange(n_body) + header_row + 1
    keep = _non_blank_rows(columns, [index[k] for k in table.key if k in index], n_body)
    if keep is not None:
        columns = [[c[j] for j in keep] for c in columns]
        kinds = [set(map(type, c)) for c in columns]
        excel_rows = excel_rows[keep]
        if typed:
            at = {j: p for p, j in enumerate(keep)}
            typed = {
                j: {at[p]: f for p, f in cells.items() if p in at} for j, cells in typed.items()
            }
    n = len(excel_rows)
    data: dict[str, object] = {}
    problems: list[CellProblem] = []
    unread: dict[int, set[int]] = {}  # formulas without a usable value: reported once, as formulas
    for j, cells in typed.items():
        for p, f in cells.items():
            where = f"Sheet '{table.sheet}', cell {cell_address(int(excel_rows[p]), c0 + j)}"
            if f.value is None or (isinstance(f.value, float) and math.isnan(f.value)):
                problems.append(
                    CellProblem(
                        where, f.text, "is a formula without a computed value", _FIX["no value"]
                    )
                )
            elif isinstance(f.value, str) and f.value.strip() in EXCEL_ERRORS:
                problems.append(
                    CellProblem(
                        where,
                        f.text,
                        f"is a formula whose value is the error {f.value.strip()}",
                        _FIX["error"],
                    )
                )
            else:
                continue
            unread.setdefault(j, set()).add(p)
            columns[j][p] = None
            kinds[j].add(type(None))
    for col in table.columns:
        if col.field not in index:
            data[col.field] = [None] * n
            continue
        i = index[col.field]
        raw = columns[i]
        letter_col = c0 + i
        values, bad = _convert(raw, col.kind, kinds[i])
        for j in sorted(bad):
            dated = col.kind in {"date", "month", "datetime"}
            far = dated and bad[j] == "range"
            problems.append(
                CellProblem(
                    where=f"Sheet '{table.sheet}', cell {cell_address(int(excel_rows[j]), letter_col)}",
                    value=raw[j],
                    message=("is not a date sop-excel plans with" if far else "is not a date")
                    if dated
                    else "is not a number",
                    fix=(_DATE_RANGE_FIX if far else _FIX["date"]) if dated else _FIX["number"],
                )
            )
        if col.field in table.key:
            for j in np.flatnonzero(_blank_mask(values)).tolist():
                if j not in bad and j not in unread.get(i, ()):
                    problems.append(
                        CellProblem(
                            where=f"Sheet '{table.sheet}', cell {cell_address(int(excel_rows[j]), letter_col)}",
                            value=None,
                            message=f"{col.header} is empty",
                            fix=_FIX["key"],
                        )
                    )
        data[col.field] = values
    frame = pd.DataFrame(data, columns=table.fields)
    if not frame.empty and table.unique:
        dup = frame.duplicated(subset=table.key, keep="first")
        for j in np.flatnonzero(dup.to_numpy()).tolist():
            key = ", ".join(
                f"{table.column(k).header} {_show(frame.iloc[j][k])}" for k in table.key
            )
            problems.append(
                CellProblem(
                    where=f"Sheet '{table.sheet}', row {int(excel_rows[j])}",
                    value=None,
                    message=f"repeats an earlier row ({key})",
                    fix=_FIX["duplicate"],
                )
            )
    if problems:
        raise InputError(f"Sheet '{table.sheet}' has values sop-excel cannot use", problems)
    frame.attrs["excel_rows"] = ExcelRows(excel_rows.tolist())
    frame.attrs["excel_columns"] = ExcelRows(
        c0 + index.get(f, table.fields.index(f)) for f in table.fields
    )
    if typed:
        frame.attrs["formulas"] = TypedFormulas(
            (typed_cols[j], p, f, int(excel_rows[p]), c0 + j)
            for j, cells in typed.items()
            for p, f in cells.items()
        )
    return frame


class TypedFormulas(tuple):  # noqa: SLOT001 - a tuple that pandas need not copy
    """Formulas a planner typed into a table's value columns, kept in ``frame.attrs["formulas"]``
    as ``(field, frame row, Formula, sheet row, sheet column)``: the frame holds their values,
    and :func:`~sop_excel.workbook.tables.write_frame` writes them back as formulas."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> TypedFormulas:
        return self

    def __copy__(self) -> TypedFormulas:
        return self


class ExcelRows(tuple):  # noqa: SLOT001 - a tuple with one behaviour changed
    """The sheet row of each frame row, kept in ``frame.attrs``.

    pandas deep-copies ``attrs`` into every frame derived from this one (each ``.at``, each
    column, each slice); a plain list of 180,000 row numbers made that the whole cost of a
    10,000-item refresh. The rows never change, so a copy is the same object.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> ExcelRows:
        return self

    def __copy__(self) -> ExcelRows:
        return self


def _show(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return (
            f"{v:%Y-%m-%d}" if (v.hour, v.minute, v.second) == (0, 0, 0) else f"{v:%Y-%m-%d %H:%M}"
        )
    return str(v)


def _non_blank_rows(columns: list[list[CellValue]], keys: list[int], n: int) -> list[int] | None:
    """The rows with any value (``None``: all of them), checking every cell only of the rows
    whose first key cell is blank (a row with a key is never blank: the usual case, fast)."""
    if not n:
        return None
    first = columns[keys[0]] if keys else None
    kinds = set(map(type, first)) if first is not None else set()
    if first is not None and not kinds & _MAY_BE_BLANK:  # dates, numbers: never blank
        return None
    if first is None:
        suspects: Iterable[int] = range(n)
    elif kinds == {str}:  # text (calamine's empty cells are ""): no call per cell
        suspects = [j for j, v in enumerate(first) if not v or str(v).isspace()]
    elif kinds <= {float, int}:  # numbers: blank when NaN, found at once
        suspects = np.flatnonzero(np.isnan(np.array(first, dtype=float))).tolist()
    else:
        suspects = [j for j, v in enumerate(first) if _is_blank(v)]
    blank = {j for j in suspects if all(_is_blank(c[j]) for c in columns)}
    return [j for j in range(n) if j not in blank] if blank else None


_MAY_BE_BLANK = {type(None), str, float, np.float64, np.float32}


def _blank_mask(values: list | pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.isna().to_numpy()
    if isinstance(values, np.ndarray):
        return np.isnan(values)
    if values and all(v.__class__ is str for v in values):  # text, already stripped
        return np.array(values, dtype=object) == ""
    return np.fromiter((_is_blank(v) for v in values), dtype=bool, count=len(values))


_NONE = type(None)
_NUMBERS = {float, int, _NONE}
_DATES = {dt.datetime, dt.date, pd.Timestamp, _NONE}


def _fast(
    raw: list[CellValue], kind: str, types: set[type] | None = None
) -> list | pd.Series | np.ndarray | None:
    """The column converted in bulk when its cells are all of the expected types (else None);
    ``types``: the cells' types, when known."""
    types = set(map(type, raw)) if types is None else set(types)
    if str in types:  # only blank text may ride along (calamine's empty cells are "")
        if kind != "text" and any(v.__class__ is str and v.strip() for v in raw):
            return None
        if kind != "text":
            raw = [None if v.__class__ is str else v for v in raw]
            types.discard(str)
            types.add(_NONE)
    if kind == "text":
        if types <= {str, _NONE}:
            return [
                "" if v is None else v.strip() for v in cast("list[str | None]", raw)
            ]  # the types above
        return None
    if kind in {"date", "month", "datetime"}:
        if not types <= _DATES:
            return None
        try:
            out = pd.Series(pd.to_datetime(pd.Series(raw, dtype=object)), dtype="datetime64[ns]")
        except (ValueError, TypeError, OverflowError):  # out of range and the like: cell by cell
            return None
        if len(out) and not (out.isna() | ((out >= _FIRST) & (out < _AFTER_LAST))).all():
            return None  # a date outside the years sop-excel plans with: named cell by cell
        if kind == "month":
            out = out.dt.normalize() - pd.to_timedelta(out.dt.day.fillna(1) - 1, unit="D")
        elif kind == "date":
            out = out.dt.normalize()
        return out.reset_index(drop=True)
    if types <= _NUMBERS:
        return np.array(raw, dtype=float)
    return None


_FIRST, _AFTER_LAST = pd.Timestamp(FIRST_DATE), pd.Timestamp(LAST_DATE) + pd.Timedelta(days=1)


def _convert(
    raw: list[CellValue], kind: str, types: set[type] | None = None
) -> tuple[list | pd.Series | np.ndarray, dict[int, str]]:
    """The column's values and its bad cells (position -> why: "value", or "range" for a date
    outside the years sop-excel plans with); ``types``: the cells' types, when known."""
    bad: dict[int, str] = {}
    fast = _fast(raw, kind, types)
    if fast is not None:
        return fast, bad
    if kind == "text":
        out = []
        for v in raw:
            if _is_blank(v):
                out.append("")
            elif isinstance(v, float) and v.is_integer():
                out.append(str(int(v)))
            elif isinstance(v, dt.datetime | dt.date):
                out.append(v.isoformat()[:10])
            else:
                out.append(str(v).strip())
        return out, bad
    if kind in {"date", "month", "datetime"}:
        out_d = []
        for j, v in enumerate(raw):
            if _is_blank(v):
                out_d.append(pd.NaT)
                continue
            try:
                if isinstance(v, bool) or isinstance(v, int | float):
                    raise ValueError
                ts = pd.Timestamp(v)
                if (
                    ts is pd.NaT or ts.tzinfo is not None
                ):  # a time zone: not a day on the plan's calendar
                    raise ValueError
            except (ValueError, TypeError, OverflowError):
                bad[j] = "value"
                out_d.append(pd.NaT)
                continue
            if not _FIRST <= ts < _AFTER_LAST:
                bad[j] = "range"
                out_d.append(pd.NaT)
                continue
            if kind == "month":
                ts = ts.normalize().replace(day=1)
            elif kind == "date":
                ts = ts.normalize()
            out_d.append(ts)
        return pd.Series(out_d, dtype="datetime64[ns]"), bad
    out_n = []
    for j, v in enumerate(raw):
        if _is_blank(v):
            out_n.append(math.nan)
        elif isinstance(v, bool):
            bad[j] = "value"
            out_n.append(math.nan)
        elif isinstance(v, int | float | np.integer | np.floating):
            out_n.append(float(v))
        else:
            text = str(v).strip().replace(",", "")
            pct = text.endswith("%")
            try:
                num = float(text[:-1] if pct else text)
            except ValueError:
                bad[j] = "value"
                out_n.append(math.nan)
                continue
            out_n.append(num / 100 if pct else num)
    return out_n, bad


def _cell(v: object) -> CellValue:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, Formula):
        return v
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).to_pydatetime()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, str | int | bool | dt.date):
        return v
    return str(v)


def rows_from_frame(
    frame: pd.DataFrame,
    table: TableLayout,
    formulas: dict[str, str] | None = None,
    headers: list[str] | None = None,
) -> Rows:
    """Frame -> rows (header first) in layout order.

    ``formulas`` maps a field to the Excel formula text of that column; each cell then holds a
    :class:`Formula` whose cached value is the frame's value. ``headers`` overrides the layout's
    headers (tables with dynamic columns).
    """
    header, cols = _frame_columns(frame, table, formulas, headers)
    out: Rows = [header]
    out.extend(map(list, zip(*cols, strict=True)))
    return out


def _frame_columns(
    frame: pd.DataFrame,
    table: TableLayout,
    formulas: dict[str, str] | None = None,
    headers: list[str] | None = None,
) -> tuple[list[CellValue], list[list[CellValue]]]:
    """The header and the body's cells a column at a time, as :func:`rows_from_frame` puts them in rows."""
    formulas = formulas or {}
    fields = list(frame.columns) if table.dynamic_columns else table.fields
    header: list[CellValue] = (
        list(headers)
        if headers
        else ([table.column(f).header if f in table.fields else f for f in fields])
    )
    cols = []
    for f in fields:
        cells: list[CellValue] = _cells(frame[f]) if f in frame.columns else [None] * len(frame)
        if f in formulas:
            text = Formula(formulas[f]).text  # checked once for the column
            # no Python value (NaN): the formula shows a blank, written as an empty text result
            # (as Excel writes a formula's ""): a cached value, never a cell pandas reads as missing
            cells = [
                v if v.__class__ is Formula else _formula(text, "" if v is None else v)
                for v in cells
            ]
        cols.append(cells)
    return header, cols


def _formula(text: str, value: CellValue) -> Formula:
    """A Formula whose text is already checked (one per cell of a formula column: millions)."""
    f = object.__new__(Formula)
    object.__setattr__(f, "text", text)
    object.__setattr__(f, "value", value)
    return f


def _cells(col: pd.Series) -> list[CellValue]:
    """A column's cells as :func:`_cell` makes them, in bulk where the dtype allows."""
    kind = col.dtype.kind
    if kind == "f":
        return [None if v != v else v for v in col.tolist()]  # NaN -> None
    if kind in "iub":
        return col.tolist()
    if kind == "M" and getattr(col.dtype, "tz", None) is None:
        return col.to_numpy(dtype="datetime64[us]").astype(object).tolist()  # NaT -> None
    values = col.tolist()
    if set(map(type, values)) <= _STR_ONLY:  # text columns: each value is its own cell
        return values
    return [_cell(v) for v in values]


_STR_ONLY = {str}


class _MadeRows(Sequence[list[CellValue]]):
    """Rows made one at a time by :meth:`_row` (``0 <= i < len(self)``): sequence indexing,
    negative indexes and slices included."""

    def _row(self, i: int) -> list[CellValue]:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> list[CellValue]: ...
    @overload
    def __getitem__(self, i: slice) -> Rows: ...
    def __getitem__(self, i: int | slice) -> list[CellValue] | Rows:
        return _pick(i, len(self), self._row)


class FrameRows(_MadeRows):
    """The rows of :func:`rows_from_frame`, made a chunk at a time as they are read.

    For the workbook builder, which reads each table's rows once, in order: a 10,000-item
    workbook holds about 22 million cells, which as Python rows take about 3 GB; as frames
    a few hundred MB. Only the chunk being written exists as rows. Indexing anywhere works
    (a slice is made in full); reading in order makes each chunk once.
    """

    CHUNK = 4096

    def __init__(
        self,
        frame: pd.DataFrame,
        table: TableLayout,
        formulas: dict[str, str] | None = None,
        headers: list[str] | None = None,
    ) -> None:
        self.frame, self.table, self.formulas, self.headers = (
            frame.reset_index(drop=True),
            table,
            formulas,
            headers,
        )
        self.header = rows_from_frame(frame.iloc[:0], table, formulas, headers)[0]
        self._start, self._chunk = -1, []  # type: tuple[int, Rows]
        # the first ``unchanged`` body rows are, value for value, the table's rows of the saved
        # file from its sheet row ``unchanged_from`` on: a writer may keep those rows' XML as
        # the file has it when it can vouch for its form (``zip_io.sheet``); 0: no such claim
        self.unchanged, self.unchanged_from = 0, 0

    def __len__(self) -> int:
        return len(self.frame) + 1

    def _rows(self, a: int, b: int) -> Rows:
        return rows_from_frame(self.frame.iloc[a:b], self.table, self.formulas, self.headers)[1:]

    def columns(self, a: int, b: int) -> list[list[CellValue]]:
        """The cells of body rows ``a``..``b - 1`` (0-based) a column at a time: what the rows hold,
        for a writer that works by column (no rows made)."""
        return _frame_columns(self.frame.iloc[a:b], self.table, self.formulas, self.headers)[1]

    def body(self) -> FrameBody:
        """The rows after the header, as a sequence that can also give columns."""
        return FrameBody(self)

    def _row(self, i: int) -> list[CellValue]:
        if i == 0:
            return self.header
        k = i - 1
        if not self._start <= k < self._start + len(self._chunk):
            self._start = k - k % self.CHUNK
            self._chunk = self._rows(self._start, self._start + self.CHUNK)
        return self._chunk[k - self._start]

    def __iter__(self) -> Iterator[list[CellValue]]:
        yield self.header
        for a in range(0, len(self.frame), self.CHUNK):
            yield from self._rows(a, a + self.CHUNK)


def _pick(i: int | slice, n: int, row: Callable[[int], list[CellValue]]) -> list[CellValue] | Rows:
    """Sequence indexing over ``n`` rows made by ``row(j)``: negative indexes, slices, IndexError."""
    if isinstance(i, slice):
        return [row(j) for j in range(*i.indices(n))]
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError(i)
    return row(i)


class ColumnRows(_MadeRows):
    """A table's cells as a reader that works by column gives them: the header row and the
    body a column at a time (each list as long as the body). Indexing makes a row;
    :func:`frame_from_rows` takes the columns as they are."""

    def __init__(self, header: list[CellValue], columns: list[list[CellValue]]) -> None:
        self.header, self.columns = header, columns

    def __len__(self) -> int:
        return 1 + (len(self.columns[0]) if self.columns else 0)

    def _row(self, i: int) -> list[CellValue]:
        return list(self.header) if i == 0 else [c[i - 1] for c in self.columns]


class FrameBody(_MadeRows):
    """``rows[1:]`` of a :class:`FrameRows` without making the rows: indexing gives a row,
    :meth:`columns` a stretch of the body a column at a time."""

    def __init__(self, rows: FrameRows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows) - 1

    def _row(self, j: int) -> list[CellValue]:
        return self.rows[j + 1]

    def columns(self, a: int, b: int) -> list[list[CellValue]]:
        return self.rows.columns(a, b)
