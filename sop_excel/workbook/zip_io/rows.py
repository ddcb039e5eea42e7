"""A written table's new cells as XML text: row by row, or a column at a time in bulk."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterable
from typing import cast

from sop_excel.workbook.convert import FrameBody
from sop_excel.workbook.io import CellValue, Formula, Rows
from sop_excel.workbook.zip_io.cells import (
    cell_xml,
    formula_xml,
)
from sop_excel.workbook.zip_io.parts import (
    TableEdit,
)
from sop_excel.workbook.zip_io.xml_text import (
    COLUMN_LETTERS,
    escape_text,
)


class TableRows:
    """The new cells of one table as XML text, row by row (:meth:`row`) or in bulk (:meth:`cells`)."""

    def __init__(
        self,
        e: TableEdit,
        col_styles: list[str],
        date_styles: list[Callable[[dt.date], str] | None],
        header_style: str,
        per_row: dict[int, dict[int, str]] | None = None,
    ) -> None:
        self.e, self.styles, self.dates, self.hs = e, col_styles, date_styles, header_style
        self.per_row = per_row or {}
        self.c1, self.r1 = e.old[0], e.old[1]
        self.letters = [COLUMN_LETTERS[self.c1 + j] for j in range(len(e.header))]
        self.first, self.last = self.r1 if e.header_changed else self.r1 + 1, e.new_last_row
        self._chunk: tuple[int, list[str]] = (-1, [])  # (chunk number, its rows' XML) for row()

    def row_numbers(self) -> range:
        return range(self.first, self.last + 1)

    def cells(self, first: int, last: int, rnums: list[str]) -> Seq:
        """The cells :meth:`row` gives for each row ``first``..``last`` (all of them this
        table's, the header row alone; ``rnums`` their numbers as text), as a :data:`Seq`: the
        body made a column at a time."""
        if self.per_row or first == self.r1:  # small tables whose cells keep their own styles
            return ["", ""], [[self.row(r)[1] for r in range(first, last + 1)]]  # type: ignore[index]
        a, b = first - self.r1 - 1, last - self.r1
        body = self.e.body
        if isinstance(body, FrameBody):  # straight from the frame's columns
            cols = body.columns(a, b)
            if len(cols) == len(self.letters):
                return seq_join(
                    *[
                        column_xml(c, letter, self.styles[j], self.dates[j], rnums)
                        for j, (c, letter) in enumerate(zip(cols, self.letters, strict=True))
                    ]
                )
        rows = body[a:b]
        if set(map(len, rows)) != {len(self.letters)}:  # not one value per column: as row() does
            return ["", ""], [[self._row(r)[1] for r in range(first, last + 1)]]  # type: ignore[index]
        return cells_bulk(rows, rnums, self.letters, self.styles, self.dates)

    def row(self, rnum: int) -> tuple[int, str] | None:
        """One row's cells (None: none here). A big table's body rows are made a chunk at a time
        by :meth:`cells` (a sheet whose other cells keep it on the row-by-row path: a table
        beside another)."""
        i = rnum - self.r1
        if self.per_row or i <= 0 or i > len(self.e.body) or len(self.e.body) <= ROW_CHUNK // 64:
            return self._row(rnum)
        k = (i - 1) // ROW_CHUNK
        if self._chunk[0] != k:
            first = self.r1 + 1 + k * ROW_CHUNK
            last = min(first + ROW_CHUNK - 1, self.last)
            rnums = [str(r) for r in range(first, last + 1)]
            self._chunk = (k, seq_rows(self.cells(first, last, rnums), len(rnums)))
        return self.c1, self._chunk[1][i - 1 - k * ROW_CHUNK]

    def _row(self, rnum: int) -> tuple[int, str] | None:
        i = rnum - self.r1
        if i == 0:
            if not self.e.header_changed:
                return None
            vals: list[CellValue] = list(self.e.header)
            return self.c1, "".join(
                [
                    cell_xml(f"{x}{rnum}", self.hs, v)
                    for x, v in zip(self.letters, vals, strict=True)
                ]
            )
        if i < 0 or i > len(self.e.body):
            return None
        rs = str(rnum)
        letters, styles, dates = self.letters, self.styles, self.dates
        row = self.e.body[i - 1]
        if self.per_row:  # a column whose cells had their own styles keeps each row's
            styles = [
                self.per_row[j].get(i, st) if j in self.per_row else st
                for j, st in enumerate(styles)
            ]
            dates = [
                None if j in self.per_row and i in self.per_row[j] else d
                for j, d in enumerate(dates)
            ]
        return self.c1, "".join(
            [cell_xml(letters[j] + rs, styles[j], v, dates[j]) for j, v in enumerate(row)]
        )


Seq = tuple[list[str], list[list[str]]]
"""Rows of XML text in pieces, ``(consts, lists)`` with one more constant than lists: row ``i``
is ``consts[0] + lists[0][i] + consts[1] + ... + lists[-1][i] + consts[-1]``. Put together
for many rows at once by :func:`seq_text` (no per-row formatting)."""


ROW_CHUNK = 4096


def seq_rows(seq: Seq, n: int) -> list[str]:
    """The ``n`` rows of ``seq``, each its own text."""
    consts, lists = seq
    parts: list[Iterable[str]] = []
    for c, xs in zip(consts, [*lists, None], strict=True):
        parts.append(itertools.repeat(c, n))
        if xs is not None:
            parts.append(xs)
    return list(map("".join, zip(*parts, strict=True)))


def seq_join(*seqs: Seq) -> Seq:
    """The rows of several :data:`Seq` (of as many rows) one after the other."""
    consts, lists = [""], []
    for c, xs in seqs:
        consts[-1] += c[0]
        consts.extend(c[1:])
        lists.extend(xs)
    return consts, lists


def seq_text(seq: Seq, n: int) -> str:
    """The ``n`` rows of ``seq`` as one text."""
    consts, lists = seq
    step = 2 * len(lists) + 1
    out = [""] * (n * step)
    for t, c in enumerate(consts):
        if c:
            out[2 * t :: step] = [c] * n
    for t, xs in enumerate(lists):
        out[2 * t + 1 :: step] = xs
    return "".join(out)


def cells_bulk(
    rows: Rows,
    rnums: list[str],
    letters: list[str],
    styles: list[str],
    dates: list[Callable[[dt.date], str] | None],
) -> Seq:
    """The cells of ``rows`` (one value per column; ``rnums`` their row numbers as text) as XML
    text: for every cell exactly what :func:`cell_xml` writes, made a column at a time."""
    return seq_join(
        *[
            column_xml([r[j] for r in rows], letter, styles[j], dates[j], rnums)
            for j, letter in enumerate(letters)
        ]
    )


_NUMBERS = {int, float}
_BY_VALUE = (str, bool, int, dt.date, dt.datetime)  # equal values of one of these: the same XML
_NONE = type(None)
_STR = {str}
_FORMULA = {Formula}
_PLAIN_LINES = re.compile(r"[ !#-%'-;=?-~\n]*")  # _PLAIN, lines of


def column_xml(
    col: list[CellValue], letter: str, s: str, ds: Callable[[dt.date], str] | None, rnums: list[str]
) -> Seq:
    """One column's cells (``rnums`` their row numbers), for :func:`cells_bulk`. By the types in
    the column: numbers (finite floats, ints) as their repr; floats with gaps (None, nan, inf);
    text that needs no escaping as it is; formulas with their text escaped once; values of one
    type whose XML depends on the value alone (text, dates, bools) made once per distinct value;
    anything else (numpy scalars, mixed types, ...) through :func:`cell_xml` cell by cell."""
    ref = f'<c r="{letter}'
    types = set(map(type, col))
    if types <= _NUMBERS:  # bool is not int here (type, not isinstance)
        try:
            finite = math.isfinite(sum(col))  # type: ignore[arg-type]  # any nan or inf: nan or inf
        except OverflowError:
            finite = False
        if finite:
            return [ref, f'"{s}><v>', "</v></c>"], [rnums, list(map(repr, col))]
    if types <= {float, _NONE}:  # an empty cell: styled, or no cell at all
        gaps = cast("list[float | None]", col)  # what the types above say
        if s:
            empty = s + "/>"
            return [ref, '"', ""], [
                rnums,
                [f"{s}><v>{v!r}</v></c>" if v is not None and v - v == 0 else empty for v in gaps],
            ]
        return ["", ""], [
            [
                f'{ref}{r}"><v>{v!r}</v></c>' if v is not None and v - v == 0 else ""
                for r, v in zip(rnums, gaps, strict=True)
            ]
        ]
    if types == _STR:  # text that needs no escaping nor xml:space, and no empty text
        text = "\n".join(col)  # type: ignore[arg-type]
        if (
            text
            and _PLAIN_LINES.fullmatch(text)
            and text.count("\n") == len(col) - 1
            and not text.startswith((" ", "\n"))
            and not text.endswith((" ", "\n"))
            and " \n" not in text
            and "\n " not in text
            and "\n\n" not in text
        ):
            return [ref, f'"{s} t="inlineStr"><is><t>', "</t></is></c>"], [rnums, col]  # type: ignore[list-item]
    if types == _FORMULA:  # a formula column: its text escaped once, each cell's cached value
        esc = {t: escape_text(t[1:]) for t in {v.text for v in col}}  # type: ignore[union-attr]
        return (
            [ref, '"', ""],
            [
                rnums,
                [
                    f"{s}><f>{esc[v.text]}</f><v>{v.value!r}</v></c>"  # type: ignore[union-attr]
                    if type(v.value) is float and v.value - v.value == 0  # type: ignore[union-attr]
                    else formula_xml("", s, esc[v.text], v.value)[7:]  # type: ignore[union-attr]
                    for v in col
                ],
            ],
        )
    kinds = types - {_NONE}
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind in _BY_VALUE:
        distinct = set(col)
        if kind is not dt.datetime or all(v is None or v.tzinfo is None for v in distinct):  # type: ignore[union-attr]
            tails: dict[CellValue, str | None] = {}
            for v in distinct:  # the cell without its address: '<c r=""' is 7 characters
                x = cell_xml("", s, v, ds)
                tails[v] = x[7:] if x else None
            values = list(map(tails.__getitem__, col))
            if None not in tails.values():
                return [ref, '"', ""], [rnums, values]  # type: ignore[list-item]
            return ["", ""], [
                [
                    f'{ref}{r}"{t}' if t is not None else ""
                    for r, t in zip(rnums, values, strict=True)
                ]
            ]
    return ["", ""], [[cell_xml(letter + r, s, v, ds) for r, v in zip(rnums, col, strict=True)]]
