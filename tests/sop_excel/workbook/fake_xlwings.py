"""A faithful fake of the few xlwings calls XlwingsIO uses, backed by a dict of cells.

It behaves like Excel where it matters to us: a value written as text that starts with '=', '+',
'-' or '@' is parsed as a formula (typing semantics), a leading apostrophe marks text and is not
stored, `range.formula` gives the formula text or the constant, and tables resize.
"""

from __future__ import annotations

import openpyxl
from openpyxl.utils import get_column_letter, range_boundaries


class FakeRange:
    def __init__(self, sheet, r1, c1, r2, c2):
        self.sheet, self.row, self.column = sheet, r1, c1
        self._r2, self._c2 = r2, c2

    @property
    def shape(self):
        return (self._r2 - self.row + 1, self._c2 - self.column + 1)

    @property
    def address(self):
        return f"${get_column_letter(self.column)}${self.row}:${get_column_letter(self._c2)}${self._r2}"

    def options(self, ndim=None, err_to_str=False):
        assert ndim == 2  # (error values are kept as their text here, as err_to_str=True gives them)
        return self

    def _cells(self):
        return [[(r, c) for c in range(self.column, self._c2 + 1)] for r in range(self.row, self._r2 + 1)]

    @property
    def value(self):
        return [[self.sheet.values.get(rc) for rc in row] for row in self._cells()]

    @value.setter
    def value(self, rows):
        if not isinstance(rows, list) and self.shape == (1, 1):  # xlwings takes a scalar for one cell
            rows = [[rows]]
        for cells, vals in zip(self._cells(), rows, strict=True):
            for rc, v in zip(cells, vals, strict=True):
                self.sheet.type_into(rc, v)

    @property
    def formula(self):
        return [[self.sheet.formulas.get(rc, "" if self.sheet.values.get(rc) is None else self.sheet.values.get(rc))
                 for rc in row] for row in self._cells()]

    @property
    def number_format(self):
        return self.sheet.formats.get((self.row, self.column))

    @number_format.setter
    def number_format(self, fmt):
        for row in self._cells():
            for rc in row:
                self.sheet.formats[rc] = fmt

    def clear_contents(self):
        for row in self._cells():
            for rc in row:
                self.sheet.values.pop(rc, None)
                self.sheet.formulas.pop(rc, None)


class FakeTable:
    def __init__(self, sheet, name, ref):
        self.name = name
        c1, r1, c2, r2 = range_boundaries(ref)
        self.range = FakeRange(sheet, r1, c1, r2, c2)

    def resize(self, rng):
        self.range = rng


class FakeSheet:
    def __init__(self, name):
        self.name = name
        self.values, self.formulas, self.formats = {}, {}, {}
        self.tables = _Named()

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


class FakeBook:
    def __init__(self, name, fullname=None):
        self.name = name
        self.fullname = fullname or name
        self.sheets = _Named()
        self.app = FakeApp()

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
            book.sheets.append(sheet)
        return book
