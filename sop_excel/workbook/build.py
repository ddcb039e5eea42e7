"""Build a new planning workbook with XlsxWriter, from rows already computed by the core.

XlsxWriter is used for new files because it writes each formula's cached value (openpyxl
cannot), so pandas and other non-calculating readers see numbers. Formatting comes from the
layout: number formats, widths, frozen headers, data validation, conditional formats, charts.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.utility import xl_range, xl_rowcol_to_cell, xl_rowcol_to_cell_fast
from xlsxwriter.worksheet import CellFormulaTuple as _FormulaCell
from xlsxwriter.worksheet import Worksheet, _preserve_whitespace

from sop_excel.models import ColumnLayout, LayoutSpec, TableLayout
from sop_excel.workbook.io import CellValue, Formula
from sop_excel.workbook.layout import column_letter, load_layout, parse_cell
from sop_excel.workbook.limits import check_table_write
from sop_excel.workbook.safe_save import atomic_write
from sop_excel.workbook.widths import header_width, value_width

# Whether a formula uses a dynamic-array function. XlsxWriter up to 3.3.3 has a pattern for it,
# from 3.3.4 a function; both private, so both are looked up by name (whichever the installed
# version has, and its type hints if it has them, fits).
_DYNAMIC = vars(xlsxwriter.worksheet).get("re_dynamic_function")


def _dynamic_by_pattern(formula: str) -> bool:
    return _DYNAMIC is not None and _DYNAMIC.search(formula) is not None


_dynamic: Callable[[str], bool] = (
    _dynamic_by_pattern
    if _DYNAMIC is not None
    else vars(xlsxwriter.worksheet)["_has_dynamic_function"]  # pragma: no cover - XlsxWriter 3.3.4+
)

__all__ = ["NUMBER_FORMATS", "build_workbook", "choices_for", "trend_charts"]

NUMBER_FORMATS = {
    "int": "#,##0",
    "qty": "#,##0",
    "money": "#,##0",
    "price": "#,##0.00",
    "pct": "0.0%",
    "ratio": "0.00",
    "date": "yyyy-mm-dd",
    "month": "mmm yyyy",
    "datetime": "yyyy-mm-dd hh:mm",
}

STATUS_COLORS = {  # status text -> (fill, font)
    "Act": ("#FFC7CE", "#9C0006"),
    "Watch": ("#FFEB9C", "#9C5700"),
    "Bias": ("#FFEB9C", "#9C5700"),
    "Frozen": ("#DDEBF7", "#1F4E78"),
    "On track": ("#C6EFCE", "#006100"),
}


def choices_for(
    choices: list[str] | str | None, named: Mapping[str, Sequence[str]]
) -> list[str] | None:
    """Resolve a layout's data-validation choices: a list as it is, a named list (``"@methods"``,
    ``"@reasons"``) from ``named`` (:func:`sop_excel.choices.named_choices`), other text as a
    one-item list."""
    if isinstance(choices, str) and choices.startswith("@"):
        if choices not in named:
            raise ValueError(f"the layout's drop-down list {choices!r} was not given (choices=)")
        return list(named[choices])
    if isinstance(choices, str):
        return [choices]
    return choices


class _Worksheet(Worksheet):
    """An XlsxWriter worksheet for large workbooks written row by row (``constant_memory``).

    Two additions, both for scale (issue 8; ``bench/scale_build.py``):

    * each distinct formula text is prepared once: XlsxWriter rewrites every formula through
      about 30 regular expressions (future-function prefixes) before storing it, which was 85% of
      the build time. Our per-row formulas use structured references
      (``tblForecast[[#This Row],[Final]]``), so a whole column shares one text.
    * :meth:`add_table_rows` adds an Excel Table in ``constant_memory`` mode, which XlsxWriter's
      ``add_table`` refuses because it writes the header and column formulas itself, out of row
      order, and keeps one dict entry per table cell (GBs at 10,000 items). The table is
      registered over its header and first row with those cell writes switched off, then given
      its full range; the caller writes header and rows in row order. The tests check the table
      parts (ref, autoFilter, calculatedColumnFormula) against the full range.
    """

    # XlsxWriter's own attributes this class uses (the library has no type hints)
    constant_memory: int  # 0 or 1 (or a bool)
    fh: IO[str]

    def __init__(self) -> None:
        super().__init__()
        self._prepared: dict[tuple[str, bool], str] = {}
        self._quiet = False
        self._inline: dict[
            str, str | None
        ] = {}  # text -> its <is> element, as XlsxWriter writes it
        self._escaped: dict[object, str] = {}  # formula text or value -> escaped
        self._plain: dict[
            str, bool
        ] = {}  # formula text -> neither a dynamic array nor an array formula
        self._serials: dict[Any, float] = {}  # a date -> its Excel serial number
        self._row_buffer = io.StringIO()

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        """The cell's XML, byte for byte as XlsxWriter writes it, without its per-cell regular
        expressions: a text's inline-string element and a formula's escaped text are made once
        per distinct value (item codes, scenario names and column formulas repeat down a table;
        2,000 items: 43 of 69 CPU seconds of ``sop-excel new`` were spent here). Cells without a
        format of their own, rich strings and the rarer types go to XlsxWriter."""
        kind = cell.__class__.__name__
        fmt = cell.format if kind in ("Number", "String", "Formula", "Datetime", "Blank") else None
        if fmt is None or not self.constant_memory:
            return super()._write_cell(row, col, cell)
        head = f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}"'
        if kind in ("Number", "Datetime"):
            self.fh.write(f"{head}><v>{cell.number:.16G}</v></c>")
        elif kind == "Blank":
            self.fh.write(f"{head}/>")
        elif kind == "String":
            frag = self._inline.get(cell.string, "")
            if frag == "":
                frag = self._inline[cell.string] = self._inline_element(cell.string)
            if frag is None:  # rich text: XlsxWriter's own path
                return super()._write_cell(row, col, cell)
            self.fh.write(f'{head} t="inlineStr">{frag}</c>')
        else:
            value = cell.value
            if isinstance(value, bool) or (
                isinstance(value, str) and value.__class__ is not _NoValue
            ):
                return super()._write_cell(
                    row, col, cell
                )  # text (an empty one is t="str": a value)
            formula = self._escaped.get(cell.formula)
            if formula is None:
                formula = self._escaped[cell.formula] = self._escape_data(cell.formula)
            self.fh.write(f"{head}><f>{formula}</f><v>{value}</v></c>")
        return None

    def _inline_element(self, text: str) -> str | None:
        string = self._escape_control_characters(text)
        if string.startswith("<r>") and string.endswith("</r>"):
            return None
        preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
        return f"<is><t{preserve}>{self._escape_data(string)}</t></is>"

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        key = (formula, expand_future_functions)
        out = self._prepared.get(key)
        if out is None:
            out = self._prepared[key] = super()._prepare_formula(formula, expand_future_functions)
        return out

    def _write_string(self, *args: Any, **kwargs: Any) -> Any:
        return 0 if self._quiet else super()._write_string(*args, **kwargs)

    def _xml_formula_element(self, formula: str, result: Any, attributes: list) -> None:
        # XlsxWriter writes an empty text result without t="str", which reads as "no value"
        # (to make other programs recalculate); ours is the formula's value: a blank ("" result)
        if (
            isinstance(result, str)
            and result == ""
            and not isinstance(result, _NoValue)
            and not any(k == "t" for k, _ in attributes)
        ):
            attributes = [*attributes, ("t", "str")]
        super()._xml_formula_element(formula, result, attributes)

    def _write_formula(
        self, row: int, col: int, formula: str, cell_format: Any = None, value: Any = 0
    ) -> Any:
        """XlsxWriter's, with its checks of the formula text (a dynamic array function? an array
        formula?) made once per distinct text: a table column repeats one formula."""
        if self._quiet:
            return 0
        plain = self._plain.get(formula)
        if plain is None:
            plain = self._plain[formula] = (
                bool(formula)
                and not _dynamic(formula)
                and not (formula.startswith("{") and formula.endswith("}"))
            )
        if not plain:
            return super()._write_formula(row, col, formula, cell_format, value)
        if self._check_dimensions(row, col):
            return -1
        formula = self._prepare_formula(formula)
        if self.constant_memory and row > self.previous_row:
            self._write_single_row(row)
        self.table[row][col] = _FormulaCell(formula, cell_format, value)
        return 0

    def _convert_date_time(self, dt_obj: Any) -> Any:
        number = self._serials.get(dt_obj)
        if number is None:
            number = self._serials[dt_obj] = super()._convert_date_time(dt_obj)
        return number

    def _write_single_row(self, current_row_num: int = 0) -> None:
        """A row's XML is gathered, then written to the sheet's file at once (one write per row
        instead of one per cell and tag)."""
        if not self.constant_memory:
            return super()._write_single_row(current_row_num)
        real, self.fh = self.fh, self._row_buffer
        try:
            super()._write_single_row(current_row_num)
        finally:
            self.fh = real
        real.write(self._row_buffer.getvalue())
        self._row_buffer.seek(0)
        self._row_buffer.truncate()
        return None

    def add_table_rows(
        self, first_row: int, first_col: int, last_row: int, last_col: int, options: dict[str, Any]
    ) -> None:
        """Register an Excel Table over the range without writing any of its cells."""
        memory, self.constant_memory, self._quiet = self.constant_memory, 0, True
        try:
            err = self.add_table(
                first_row, first_col, min(last_row, first_row + 1), last_col, options
            )
        finally:
            self.constant_memory, self._quiet = memory, False
        if err:
            raise ValueError(f"XlsxWriter refused table {options.get('name')} (code {err})")
        table = self.tables[-1]
        full = xl_range(first_row, first_col, last_row, last_col)
        table["range"] = table["a_range"] = full
        if table.get("autofilter"):
            table["autofilter"] = full


class _NoValue(str):
    """The cached value of a formula whose value Python did not compute: written as no value."""


_NO_VALUE = _NoValue("")


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self._cache: dict[str, Any] = {}
        self.title = wb.add_format({"bold": True, "font_size": 14, "font_color": "#1F4E78"})
        self.note = wb.add_format({"italic": True, "font_color": "#595959"})

    def kind(self, kind: str, wrap: bool = False) -> Any:
        key = f"{kind}|wrap" if wrap else kind
        if key not in self._cache:
            fmt = NUMBER_FORMATS.get(kind)
            self._cache[key] = self.wb.add_format(
                {
                    **({"num_format": fmt} if fmt else {}),
                    **({"text_wrap": True, "valign": "top"} if wrap else {}),
                }
            )
        return self._cache[key]

    def fill(self, fill: str, font: str) -> Any:
        key = f"cf{fill}{font}"
        if key not in self._cache:
            self._cache[key] = self.wb.add_format({"bg_color": fill, "font_color": font})
        return self._cache[key]


def _write(ws: Any, r: int, c: int, v: CellValue, fmt: Any) -> None:
    """The one choke point for cell values: text is always written as text, never a formula."""
    if isinstance(v, Formula):
        ws.write_formula(r, c, v.text, fmt, _NO_VALUE if v.value is None else v.value)
    elif v is None:
        ws.write_blank(r, c, None, fmt)
    elif isinstance(v, str):
        ws.write_string(r, c, v, fmt)
    elif isinstance(v, bool):
        ws.write_boolean(r, c, v, fmt)
    elif isinstance(v, dt.date):
        ws.write_datetime(
            r, c, v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day), fmt
        )
    else:
        ws.write_number(r, c, v, fmt)


def column_layouts(table: TableLayout, header: Sequence[CellValue]) -> list[ColumnLayout]:
    """The layout of each column of ``header``: the table's declared columns; for a table with
    dynamic columns, the declared ones by header and a quantity column for each other header."""
    if not table.dynamic_columns:
        return list(table.columns)
    fixed = {c.header: c for c in table.columns}  # declared columns; the rest are quantities
    return [
        fixed.get(str(h)) or ColumnLayout(header=str(h), field=str(h), kind="qty", width=10)
        for h in header
    ]


class _Placed:
    """A table registered on its sheet, with the rows still to write (header first)."""

    __slots__ = ("c0", "fmts", "r0", "rows")

    def __init__(self, r0: int, c0: int, rows: Sequence[list[CellValue]], fmts: list[Any]) -> None:
        self.r0, self.c0, self.rows, self.fmts = r0, c0, rows, fmts


def _add_table(
    ws: _Worksheet,
    fm: _Formats,
    table: TableLayout,
    rows: Sequence[list[CellValue]],
    formulas: dict[str, str],
    named: Mapping[str, Sequence[str]],
) -> _Placed:
    """Register the table with its widths, drop-downs and conditional formats (one per column
    range, never per row); its cells are written later, in row order, by :func:`_write_rows`."""
    header, n_body = (
        rows[0],
        len(rows) - 1,
    )  # never rows[1:]: FrameRows would make every row at once
    cols = column_layouts(table, header)
    r0, c0 = parse_cell(table.anchor)
    check_table_write(
        "The new workbook", table.sheet, table.name, c0, r0, rows
    )  # XlsxWriter drops cells past the grid
    r0, c0 = r0 - 1, c0 - 1
    columns = []
    for col in cols:
        spec: dict[str, Any] = {"header": col.header, "format": fm.kind(col.kind, col.wrap)}
        if col.field in formulas:
            spec["formula"] = formulas[col.field]
        columns.append(spec)
    last = r0 + max(n_body, 1)
    ws.add_table_rows(
        r0,
        c0,
        last,
        c0 + len(cols) - 1,
        {
            "name": table.name,
            "columns": columns,
            "style": "Table Style Medium 2",
            "autofilter": True,
        },
    )
    for j, width in enumerate(fitted_widths(cols, rows)):
        ws.set_column(c0 + j, c0 + j, width)
    for j, col in enumerate(cols):
        opts = choices_for(col.choices, named)
        if opts:
            ws.data_validation(
                r0 + 1,
                c0 + j,
                last,
                c0 + j,
                {
                    "validate": "list",
                    "source": opts,
                    "ignore_blank": True,
                    "error_title": col.header,
                    "error_message": "Pick a value from the list.",
                },
            )
        if col.style == "status":
            for text, (fill, font) in STATUS_COLORS.items():
                ws.conditional_format(
                    r0 + 1,
                    c0 + j,
                    last,
                    c0 + j,
                    {
                        "type": "cell",
                        "criteria": "==",
                        "value": f'"{text}"',
                        "format": fm.fill(fill, font),
                    },
                )
        elif col.style == "flag":
            ws.conditional_format(
                r0 + 1,
                c0 + j,
                last,
                c0 + j,
                {
                    "type": "cell",
                    "criteria": "==",
                    "value": '"Yes"',
                    "format": fm.fill(*STATUS_COLORS["Act"]),
                },
            )
        elif col.style == "tracking":  # amber from the limit on, as the Bias status
            first = xl_rowcol_to_cell(r0 + 1, c0 + j)
            ws.conditional_format(
                r0 + 1,
                c0 + j,
                last,
                c0 + j,
                {
                    "type": "formula",
                    "criteria": f"=ABS({first})>=TrackingLimit",
                    "format": fm.fill(*STATUS_COLORS["Bias"]),
                },
            )
        elif col.style == "signed":
            ws.conditional_format(
                r0 + 1,
                c0 + j,
                last,
                c0 + j,
                {
                    "type": "cell",
                    "criteria": "<",
                    "value": 0,
                    "format": fm.fill("#FFFFFF", "#C00000"),
                },
            )
    return _Placed(r0, c0, rows, [fm.kind(c.kind, c.wrap) for c in cols])


def fitted_widths(cols: list[ColumnLayout], rows: Sequence[list[CellValue]]) -> list[float]:
    """Per column: the layout's width, widened to show its header (with the filter button) and
    its numbers and dates whole (Excel draws ``#####`` for a number that does not fit)."""
    from sop_excel.workbook.convert import FrameRows

    out = []
    frame = rows.frame if isinstance(rows, FrameRows) else None
    listed = None if frame is not None else list(rows)[1:]
    for j, col in enumerate(cols):
        need = max(col.width, header_width(col.header))
        if col.kind != "text":
            if frame is not None:
                key = col.field if col.field in frame.columns else col.header
                values = _extremes(frame[key]) if key in frame.columns else []
            else:
                values = [
                    (v.value if isinstance(v, Formula) else v)
                    for r in listed  # type: ignore[union-attr]
                    for v in r[j : j + 1]
                ]
            need = max([need, *(value_width(v, col.kind) for v in values)])
        out.append(need)
    return out


def _extremes(values: Any) -> list[object]:
    """The values of a frame column that are widest once formatted: its largest and smallest."""
    import pandas as pd

    s = pd.Series(values)
    if s.dtype.kind in "fiu":
        s = s[s.notna()]
        return [float(s.max()), float(s.min())] if len(s) else []
    if s.dtype.kind == "M":
        return [s.dropna().iloc[0]] if s.notna().any() else []
    return [v for v in s.dropna().unique()[:1000] if isinstance(v, int | float | dt.date)]


def _write_rows(
    ws: _Worksheet, placed: list[_Placed], overrides: dict[int, dict[int, Any]] | None = None
) -> None:
    """Every table's header and rows, in sheet row order (``constant_memory`` flushes each row
    as the next one starts; a cell written to an earlier row would be lost).

    ``overrides``: sheet row -> column -> format, for single cells (the Settings values).
    """
    overrides = overrides or {}
    spans = sorted(
        ((p.r0, p.r0 + len(p.rows) - 1, p) for p in placed), key=lambda t: (t[0], t[2].c0)
    )
    first = min((a for a, _, _ in spans), default=0)
    last = max((b for _, b, _ in spans), default=-1)
    # XlsxWriter's cell writers without their public wrapper (it only turns "A1" into row, column)
    write_string, write_number, write_formula = (
        ws._write_string,
        ws._write_number,
        ws._write_formula,
    )
    for r in range(first, last + 1):
        for a, b, p in spans:
            if not a <= r <= b:
                continue
            row, c0 = p.rows[r - a], p.c0
            if r == a:  # the header
                for j, v in enumerate(row):
                    write_string(r, c0 + j, str(v))
                continue
            fmts = p.fmts
            special = overrides.get(r)
            for j, v in enumerate(row):
                fmt = fmts[j] if special is None else special.get(c0 + j, fmts[j])
                t = v.__class__
                if t is float or t is int:
                    write_number(r, c0 + j, v, fmt)
                elif t is str:
                    write_string(r, c0 + j, v, fmt)
                elif t is Formula:
                    write_formula(r, c0 + j, v.text, fmt, _NO_VALUE if v.value is None else v.value)  # type: ignore[union-attr]
                else:
                    _write(ws, r, c0 + j, v, fmt)


def trend_charts(
    trend_header: Sequence[CellValue], n_rows: int, sheet: str, anchor: str
) -> list[dict[str, Any]]:
    """One line chart per family: history and final forecast, over the trend table's columns."""
    r0, c0 = parse_cell(anchor)
    first, last = r0 + 1, r0 + n_rows
    charts = []
    names = [str(h) for h in trend_header[1:]]
    families = list(dict.fromkeys(n.rsplit(" ", 1)[0] for n in names))
    for fam in families:
        series = []
        for j, n in enumerate(names, start=1):
            if n.rsplit(" ", 1)[0] == fam:
                series.append({"name": n, "col": c0 - 1 + j})
        charts.append(
            {
                "family": fam,
                "series": series,
                "cat_col": c0 - 1,
                "rows": (first - 1, last - 1),
                "sheet": sheet,
            }
        )
    return charts


def _add_charts(wb: xlsxwriter.Workbook, ws: Any, charts: list[dict[str, Any]]) -> None:
    """Charts in a two-wide grid from A3, left of the data they plot."""
    for k, spec in enumerate(charts):
        chart = wb.add_chart({"type": "line"})
        r1, r2 = spec["rows"]
        for s in spec["series"]:
            forecast = s["name"].endswith("forecast")
            chart.add_series(
                {
                    "name": [
                        spec["sheet"],
                        r1 - 1,
                        s["col"],
                    ],  # the header cell (see _compare_charts)
                    "categories": [spec["sheet"], r1, spec["cat_col"], r2, spec["cat_col"]],
                    "values": [spec["sheet"], r1, s["col"], r2, s["col"]],
                    "line": {
                        "color": "#ED7D31" if forecast else "#2E75B6",
                        "width": 2,
                        "dash_type": "dash" if forecast else "solid",
                    },
                }
            )
        chart.set_title({"name": f"{spec['family']}: history and forecast (units)"})
        chart.set_x_axis({"num_format": "mmm yy", "date_axis": True})
        chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
        chart.set_legend({"position": "bottom"})
        chart.show_blanks_as("gap")
        chart.set_size({"width": 500, "height": 280})
        ws.insert_chart(2 + (k // 2) * 15, (k % 2) * 8, chart, {"x_offset": 4, "y_offset": 4})


def _compare_charts(
    wb: xlsxwriter.Workbook,
    ws: Any,
    layout: LayoutSpec,
    tables: Mapping[str, Sequence[list[CellValue]]],
) -> None:
    """Monthly revenue per scenario against budget, and each scenario's gap to budget."""
    monthly, summary = layout.table("tblCompareMonthly"), layout.table("tblCompare")
    rows = tables["tblCompareMonthly"]
    r0, c0 = (x - 1 for x in parse_cell(monthly.anchor))
    n = len(rows) - 1
    line = wb.add_chart({"type": "line"})
    for j, name in enumerate(rows[0][1:], start=1):
        budget = str(name).startswith("Budget")
        # the name is the header cell: a series follows its column by name when the table changes
        line.add_series(
            {
                "name": [ws.name, r0, c0 + j],
                "categories": [ws.name, r0 + 1, c0, r0 + n, c0],
                "values": [ws.name, r0 + 1, c0 + j, r0 + n, c0 + j],
                "line": {
                    "width": 2.25 if budget else 1.75,
                    "dash_type": "dash" if budget else "solid",
                    **({"color": "#000000"} if budget else {}),
                },
            }
        )
    line.set_title({"name": "Revenue by scenario against budget"})
    line.set_x_axis({"num_format": "mmm yy", "date_axis": True})
    line.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    line.set_legend({"position": "bottom"})
    line.set_size({"width": 620, "height": 300})
    chart_col = c0 + len(rows[0]) + 1
    ws.insert_chart(r0, chart_col, line)
    s0, sc0 = (x - 1 for x in parse_cell(summary.anchor))
    k = len(tables["tblCompare"]) - 1
    gap_col = sc0 + summary.fields.index("gap")
    bar = wb.add_chart({"type": "column"})
    bar.add_series(
        {
            "name": "Gap to budget",
            "categories": [ws.name, s0 + 1, sc0, s0 + k, sc0],
            "values": [ws.name, s0 + 1, gap_col, s0 + k, gap_col],
            "fill": {"color": "#2E75B6"},
            "invert_if_negative": True,
            "invert_if_negative_color": "#C00000",
        }
    )
    bar.set_title({"name": "Gap to budget over the horizon"})
    bar.set_y_axis({"num_format": "#,##0"})
    bar.set_legend({"none": True})
    bar.set_size({"width": 620, "height": 300})
    ws.insert_chart(r0 + 16, chart_col, bar)


def _weekly_chart(
    wb: xlsxwriter.Workbook, ws: Any, layout: LayoutSpec, rows: Sequence[list[CellValue]]
) -> None:
    """Plan against sensed demand for the next weeks, below the weeks table."""
    weeks = layout.table("tblWeeks")
    r0, c0 = (x - 1 for x in parse_cell(weeks.anchor))
    n = len(rows) - 1
    if n < 1:
        return
    chart = wb.add_chart({"type": "column"})
    for field, color in (("plan", "#A6A6A6"), ("sensed", "#7030A0"), ("orders", "#2E75B6")):
        j = c0 + weeks.fields.index(field)
        chart.add_series(
            {
                "name": [ws.name, r0, j],
                "categories": [
                    ws.name,
                    r0 + 1,
                    c0 + weeks.fields.index("week_start"),
                    r0 + n,
                    c0 + weeks.fields.index("week_start"),
                ],
                "values": [ws.name, r0 + 1, j, r0 + n, j],
                "fill": {"color": color},
                "gap": 60,
            }
        )
    chart.set_title({"name": "Next 13 weeks: plan, sensed demand and orders booked (units)"})
    chart.set_x_axis({"num_format": "dd mmm", "text_axis": True})
    chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 300})
    ws.insert_chart(r0 + n + 3, c0, chart)


def build_workbook(
    path: str | os.PathLike[str],
    tables: Mapping[str, Sequence[list[CellValue]]],
    *,
    formulas: dict[str, dict[str, str]] | None = None,
    layout: LayoutSpec | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Write a complete planning workbook to ``path`` (atomically).

    Args:
        tables: rows (header first) for every table of the layout: lists, or
            :class:`~sop_excel.workbook.convert.FrameRows` made from frames a chunk at a time
            (each table's rows are read once, in order; a big workbook need never hold all
            its cells as Python rows).
        formulas: per table, the formula text per field for calculated columns.
        choices: the named drop-down lists the layout uses (``"@methods"``, ...), from
            :func:`sop_excel.choices.named_choices`; one the layout uses and not given is an error.
    """
    layout = layout or load_layout()
    formulas = formulas or {}
    named = choices or {}
    missing = [t.name for t in layout.tables if t.name not in tables]
    if missing:
        raise ValueError(f"no rows given for tables {missing}")

    def write(tmp: Path) -> None:
        # constant_memory: each row goes to a temporary file as soon as the next one starts, so
        # memory stays flat at any size (strings are written inline, not shared).
        wb = xlsxwriter.Workbook(
            str(tmp),
            {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "default_date_format": "yyyy-mm-dd",
                "constant_memory": True,
                "use_zip64": True,
            },
        )
        fm = _Formats(wb)
        for sheet in layout.sheets:
            ws = wb.add_worksheet(sheet.name, worksheet_class=_Worksheet)
            ws.set_tab_color(sheet.tab_color)
            ws.write_string(0, 0, sheet.name, fm.title)
            ws.write_string(1, 0, sheet.note, fm.note)
            placed = [
                _add_table(ws, fm, table, tables[table.name], formulas.get(table.name, {}), named)
                for table in sheet.tables
            ]
            overrides = (
                _settings_extras(wb, ws, fm, layout, tables["tblSettings"], named)
                if sheet.name == "Settings"
                else None
            )
            _write_rows(ws, placed, overrides)
            header_row = parse_cell(sheet.tables[0].anchor)[0]
            ws.freeze_panes(header_row, 0)
            if sheet.protect:
                # The plan of record: protected against accidental edits (no password: a
                # deliberate Review > Unprotect still works, and is visible).
                ws.protect("", {"autofilter": True, "sort": True})
            if sheet.hidden:
                ws.hide()
            if sheet.name == "Compare":
                _compare_charts(wb, ws, layout, tables)
            if sheet.name == "Weekly" and "tblWeeks" in tables:
                _weekly_chart(wb, ws, layout, tables["tblWeeks"])
            if sheet.name == "Dashboard":
                trend = layout.table("tblTrend")
                rows = tables["tblTrend"]
                charts = trend_charts(rows[0], len(rows) - 1, sheet.name, trend.anchor)
                _add_charts(wb, ws, charts)
        wb.set_properties({"title": layout.title, "comments": "Built by sop-excel"})
        wb.set_calc_mode("auto")
        # every formula is written with the value Python computed for it: Excel need not
        # recalculate the whole workbook at each open (issue 17)
        wb.calc_on_load = not _complete(tables, formulas)
        wb.close()

    return atomic_write(path, write)


def _complete(
    tables: Mapping[str, Sequence[list[CellValue]]], formulas: dict[str, dict[str, str]]
) -> bool:
    """Whether every formula cell the builder writes has a cached value."""
    from sop_excel.workbook.convert import FrameRows

    for name, rows in tables.items():
        if not formulas.get(name) or isinstance(rows, FrameRows):  # a frame's NaN: a blank result
            continue
        if any(isinstance(v, Formula) and v.value is None for r in list(rows)[1:] for v in r):
            return False
    return True


def _settings_extras(
    wb: xlsxwriter.Workbook,
    ws: Any,
    fm: _Formats,
    layout: LayoutSpec,
    rows: Sequence[list[CellValue]],
    named: Mapping[str, Sequence[str]],
) -> dict[int, dict[int, Any]]:
    """Named Value cells and drop-downs on the Settings sheet; returns each Value cell's number
    format (sheet row -> column -> format) for :func:`_write_rows`."""
    table = layout.table("tblSettings")
    r0, c0 = parse_cell(table.anchor)
    by_label = {str(r[0]): i for i, r in enumerate(rows[1:])}
    formats: dict[int, dict[int, Any]] = {}
    for spec in layout.settings.rows:
        i = by_label.get(spec.setting)
        if i is None:
            continue
        r, c = r0 + i, c0  # 0-based row of the value cell = header row + 1 + i - 1
        formats[r] = {c: fm.kind(spec.kind)}
        wb.define_name(spec.name, f"='{table.sheet}'!${column_letter(c + 1)}${r + 1}")
        opts = choices_for(spec.choices, named)
        if opts:
            ws.data_validation(
                r,
                c,
                r,
                c,
                {
                    "validate": "list",
                    "source": opts,
                    "error_message": "Pick a value from the list.",
                },
            )
    return formats
