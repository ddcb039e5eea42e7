"""A faithful fake of the few xlwings calls XlwingsIO uses, backed by a dict of cells.

It behaves like Excel where it matters to us: a value written as text that starts with '=', '+',
'-' or '@' is parsed as a formula (typing semantics), a leading apostrophe marks text and is not
stored, `range.formula` gives the formula text or the constant, and tables resize. A protected
sheet (as the file says) refuses every change, as Excel does ("The cell or chart you're trying to
change is on a protected sheet"); `book.macro(name)` runs the workbook's VBA, modelled for the
procedures the sop-excel template's VBA module defines (an .xlsx has none: "Cannot run the macro").
"""

from __future__ import annotations

import re
import zipfile
from importlib import resources

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries


class FakeComError(Exception):
    """What pywin32 raises when Excel refuses a call (``pywintypes.com_error``)."""


def _check_writable(sheet):
    if sheet.protected:
        raise FakeComError(
            "The cell or chart you're trying to change is on a protected sheet. To make a "
            "change, unprotect the sheet. You might be requested to enter a password."
        )


class FakeRange:
    def __init__(self, sheet, r1, c1, r2, c2):
        self.sheet, self.row, self.column = sheet, r1, c1
        self._r2, self._c2 = r2, c2

    @property
    def shape(self):
        return (self._r2 - self.row + 1, self._c2 - self.column + 1)

    # positions in points, as Excel gives them: every column 48 points wide, every row 15 high
    @property
    def left(self):
        return (self.column - 1) * COL_PT

    @property
    def top(self):
        return (self.row - 1) * ROW_PT

    @property
    def width(self):
        return self.shape[1] * COL_PT

    @property
    def height(self):
        return self.shape[0] * ROW_PT

    @property
    def address(self):
        return f"${get_column_letter(self.column)}${self.row}:${get_column_letter(self._c2)}${self._r2}"

    def options(self, ndim=None, err_to_str=False):
        assert (
            ndim == 2
        )  # (error values are kept as their text here, as err_to_str=True gives them)
        return self

    def _cells(self):
        return [
            [(r, c) for c in range(self.column, self._c2 + 1)]
            for r in range(self.row, self._r2 + 1)
        ]

    @property
    def value(self):
        return [[self.sheet.values.get(rc) for rc in row] for row in self._cells()]

    @value.setter
    def value(self, rows):
        _check_writable(self.sheet)
        if not isinstance(rows, list) and self.shape == (
            1,
            1,
        ):  # xlwings takes a scalar for one cell
            rows = [[rows]]
        for cells, vals in zip(self._cells(), rows, strict=True):
            for rc, v in zip(cells, vals, strict=True):
                self.sheet.type_into(rc, v)

    @property
    def formula(self):
        return [
            [
                self.sheet.formulas.get(
                    rc, "" if self.sheet.values.get(rc) is None else self.sheet.values.get(rc)
                )
                for rc in row
            ]
            for row in self._cells()
        ]

    @property
    def number_format(self):
        return self.sheet.formats.get((self.row, self.column))

    @number_format.setter
    def number_format(self, fmt):
        _check_writable(self.sheet)
        for row in self._cells():
            for rc in row:
                self.sheet.formats[rc] = fmt

    def clear_contents(self):
        _check_writable(self.sheet)
        for row in self._cells():
            for rc in row:
                self.sheet.values.pop(rc, None)
                self.sheet.formulas.pop(rc, None)


COL_PT, ROW_PT = 48.0, 15.0


class FakeChart:
    """A chart's place on its sheet (xlwings' ``Chart.left/top/width/height``, in points)."""

    def __init__(self, name, left, top, width, height):
        self.name, self.left, self.top, self.width, self.height = name, left, top, width, height


class FakeTable:
    def __init__(self, sheet, name, ref):
        self.name = name
        c1, r1, c2, r2 = range_boundaries(ref)
        self.range = FakeRange(sheet, r1, c1, r2, c2)

    def resize(self, rng):
        _check_writable(rng.sheet)
        self.range = rng


class FakeSheet:
    def __init__(self, name):
        self.name = name
        self.values, self.formulas, self.formats = {}, {}, {}
        self.tables = _Named()
        self.protected, self.password = False, None
        self.charts = _Named()
        self.protections = []  # ("protect" | "unprotect") in order, to check what a command did

    def range(self, address):
        c1, r1, c2, r2 = range_boundaries(address.replace("$", ""))
        return FakeRange(self, r1, c1, r2, c2)

    def type_into(self, rc, v):
        """What Excel does with a value typed into a cell."""
        self.formulas.pop(rc, None)
        if isinstance(v, str) and v.startswith("'"):
            self.values[rc] = v[1:]
        elif isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
            self.formulas[rc] = v if v.startswith("=") else "=" + v[1:]
            self.values[rc] = None  # computed by Excel; the fake does not calculate
        else:
            self.values[rc] = v


class _Named(list):
    def __getitem__(self, key):
        if isinstance(key, str):
            for x in self:
                if x.name == key:
                    return x
            raise KeyError(key)
        return super().__getitem__(key)


class FakeApp:
    """The few ``xw.App`` members the ribbon uses: alert, status bar, screen updating, calculation."""

    def __init__(self):
        self.alerts = []  # (title, prompt) of every message box shown
        self.status_history = []
        self._status_bar = False
        self.screen_updating = True
        self.calculation = "automatic"

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((title, prompt))
        return "ok"

    @property
    def status_bar(self):
        return self._status_bar

    @status_bar.setter
    def status_bar(self, value):
        self._status_bar = value
        self.status_history.append(value)


def template_procedures():
    """The VBA procedures the sop-excel template's module defines (its source in the repository)."""
    text = (resources.files("workbook_templates") / "ribbon" / "SopRibbon.bas").read_text(
        encoding="utf-8"
    )
    return set(re.findall(r"^\s*Public (?:Sub|Function) (\w+)", text, re.M))


class FakeBook:
    def __init__(self, name, fullname=None):
        self.name = name
        self.fullname = fullname or name
        self.sheets = _Named()
        self.app = FakeApp()
        self.procedures = set()  # VBA procedures in the workbook

    def macro(self, name):
        """xlwings' ``Book.macro``: a callable running a VBA procedure of the workbook."""

        def run(*args):
            if name not in self.procedures:
                raise FakeComError(
                    f"Cannot run the macro '{name}'. The macro may not be available in "
                    "this workbook or all macros may be disabled."
                )
            return getattr(self, "_vba_" + name)(*args)

        return run

    def _vba_SopProtection(self, sheet_name, action):  # noqa: N802 - the VBA name
        """SopRibbon.bas's SopProtection, as Excel would run it."""
        try:
            ws = self.sheets[sheet_name]
        except KeyError:
            return "error: Subscript out of range"
        ws.protections.append(action)
        if action == "unprotect":
            if not ws.protected:
                return "unprotected"
            if ws.password is not None:
                return "error: The password you supplied is not correct."
            ws.protected = False
            return "protected"
        if action == "protect":
            ws.protected = True
            return "protected"
        return "error: unknown action " + action

    @classmethod
    def from_xlsx(cls, path):
        """Load cells (cached values and formulas) and tables from a file."""
        formulas = openpyxl.load_workbook(path)
        values = openpyxl.load_workbook(path, data_only=True)
        book = cls(path.name, str(path))
        for ws in formulas.worksheets:
            sheet = FakeSheet(ws.title)
            for row in ws.iter_rows():
                for c in row:
                    if c.value is None:
                        continue
                    if c.data_type == "f":
                        sheet.formulas[(c.row, c.column)] = c.value
                    sheet.values[(c.row, c.column)] = values[ws.title][c.coordinate].value
            for name, ref in ws.tables.items():
                sheet.tables.append(FakeTable(sheet, name, ref))
            for k, chart in enumerate(ws._charts):  # openpyxl reads a chart's two-cell anchor
                a, b = chart.anchor._from, chart.anchor.to
                sheet.charts.append(
                    FakeChart(
                        f"Chart {k + 1}",
                        a.col * COL_PT,
                        a.row * ROW_PT,
                        (b.col - a.col) * COL_PT,
                        (b.row - a.row) * ROW_PT,
                    )
                )
            sheet.protected = bool(ws.protection.sheet)
            sheet.password = ws.protection.password or None
            book.sheets.append(sheet)
        with zipfile.ZipFile(path) as z:
            if "xl/vbaProject.bin" in z.namelist():  # built by sop-excel template: its VBA module
                book.procedures = template_procedures()
        return book
