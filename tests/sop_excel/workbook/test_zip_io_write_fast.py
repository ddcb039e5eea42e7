"""The zip side's bulk rewrite of big tables: the same bytes as the row-by-row rewrite.

Tables are made a column at a time (``cells_bulk``) and a table region's old rows are
replaced wholesale where they hold nothing that must stay (``_bulk_plan``); every cell must
come out exactly as ``cell_xml`` writes it and every sheet exactly as the one-by-one path
(``zip_io.sheet.WHOLESALE = False``) writes it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from sop_excel.workbook.io import Formula
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame, rows_for, write_frame
from sop_excel.workbook.zip_io import ZipIO
from sop_excel.workbook.zip_io import rows as zip_rows
from sop_excel.workbook.zip_io import sheet as zip_sheet
from sop_excel.workbook.zip_io.cells import cell_xml
from sop_excel.workbook.zip_io.rows import cells_bulk, seq_text
from tests.sop_excel.tiny import build_tiny

# -- cells: column by column against cell_xml ----------------------------------------------------
_NAN, _INF = float("nan"), float("inf")
_TZ2 = dt.timezone(dt.timedelta(hours=2))
FLOATS = [0.0, -0.0, 1.5, 1e-300, 1e300, 123456789.123, 1 / 3, -2.0, 5e-324]
ODD_FLOATS = [_NAN, _INF, -_INF]
PLAIN_TEXT = ["plain", "IT-000001", "a b", "x=1;y'2", "0042", "=1+1", "~!#$%"]
ODD_TEXT = [
    "",
    " lead",
    "trail ",
    " ",
    "a&b",
    "<x>",
    'q"',
    "bell\x07",
    "línea\nnueva",
    "tab\tx",
    "\r",
    "é",
    "emoji \U0001f600",
    "bad\ufffe",
    "two\n\nlines",
    "\n",
]
INTS = [0, 1, -5, 2**53 + 1, 10**20]
DATES = [
    dt.date(2026, 1, 2),
    dt.date(1900, 1, 1),
    dt.date(1900, 2, 28),
    dt.date(1900, 3, 1),
    dt.date(1899, 12, 31),
]
DATETIMES = [
    dt.datetime(2026, 1, 2, 9, 30),
    dt.datetime(2026, 1, 2),
    dt.datetime(1900, 2, 28, 12),
    dt.datetime(2026, 1, 2, 0, 0, 0, 1),
    dt.datetime(2026, 1, 2, fold=1),
]
FORMULAS = [
    Formula("=A1+1"),
    Formula("=A1", 2.5),
    Formula("=A1", _NAN),
    Formula("=A1", _INF),
    Formula("=A1", True),
    Formula("=A1", 3),
    Formula("=A1", "text & <b>"),
    Formula("=A1", -0.0),
    Formula('=IF(A1>0,"x","y")', "x"),
    Formula("=A1", 1.0),
    Formula("=A1", 1),
]
NUMPY = [
    np.float64(2.5),
    np.float64("nan"),
    np.int64(7),
    np.float32(1.5),
    np.bool_(True),
    np.int32(-3),
]


def _date_style(v: dt.date) -> str:  # as ZipIO._date_styles picks one, by the kind of date
    return ' s="9"' if isinstance(v, dt.datetime) else ' s="8"'


COLUMNS = {
    "floats": FLOATS,
    "floats with nan and inf": FLOATS + ODD_FLOATS,
    "floats with gaps": [None, *FLOATS, None, _NAN],
    "only gaps": [None, None],
    "ints": INTS,
    "huge int": [1, 10**400],
    "ints and floats": [1, 1.0, 2, 2.5, -0.0, 0],
    "ints with gaps": [1, None, 3],
    "plain text": PLAIN_TEXT,
    "text to escape": PLAIN_TEXT + ODD_TEXT,
    "one odd text": [*PLAIN_TEXT, "x "],
    "one empty text": ["", *PLAIN_TEXT],
    "text with gaps": [None, *PLAIN_TEXT, None],
    "bools": [True, False, True],
    "bools with gaps": [True, None, False],
    "1, 1.0 and True": [1, 1.0, True, 0, 0.0, False],
    "dates": DATES * 2,
    "datetimes": DATETIMES * 2,
    "dates with gaps": [None, *DATES, None],
    "dates and datetimes": DATES + DATETIMES,
    "formulas": FORMULAS,
    "numpy scalars": NUMPY,
    "everything": FLOATS
    + ODD_FLOATS
    + PLAIN_TEXT
    + ODD_TEXT
    + INTS
    + DATES
    + DATETIMES
    + FORMULAS
    + NUMPY
    + [None, True, False],
}


def _rows_of(seq: zip_rows.Seq, n: int) -> list[str]:
    consts, lists = seq
    return [
        consts[0] + "".join(xs[i] + c for xs, c in zip(lists, consts[1:], strict=True))
        for i in range(n)
    ]


@pytest.mark.parametrize("name", list(COLUMNS))
@pytest.mark.parametrize("style", ["", ' s="5"'])
@pytest.mark.parametrize("dates", [None, _date_style])
@pytest.mark.parametrize("letter", ["C", "AB"])
def test_a_column_made_in_bulk_is_cell_xml_cell_by_cell(name, style, dates, letter):
    values = COLUMNS[name]
    first = 4
    rnums = [str(first + i) for i in range(len(values))]
    seq = cells_bulk([[v] for v in values], rnums, [letter], [style], [dates])
    got = _rows_of(seq, len(values))
    want = [cell_xml(f"{letter}{r}", style, v, dates) for r, v in zip(rnums, values, strict=True)]
    for v, g, w in zip(values, got, want, strict=True):
        assert g == w, f"{v!r}: {g!r} against {w!r}"
    assert seq_text(seq, len(values)) == "".join(want)


def test_columns_side_by_side_make_the_rows_of_row_by_row():
    n = max(len(c) for c in COLUMNS.values())
    cols = [(c * n)[:n] for c in COLUMNS.values()]
    rows = [list(r) for r in zip(*cols, strict=True)]
    letters = [zip_sheet.COLUMN_LETTERS[5 + j] for j in range(len(cols))]
    styles = [' s="3"' if j % 2 else "" for j in range(len(cols))]
    dates = [_date_style if j % 3 else None for j in range(len(cols))]
    rnums = [str(10 + i) for i in range(n)]
    got = _rows_of(cells_bulk(rows, rnums, letters, styles, dates), n)
    want = [
        "".join(
            cell_xml(x + rs, s, v, d)
            for x, s, v, d in zip(letters, styles, row, dates, strict=True)
        )
        for rs, row in zip(rnums, rows, strict=True)
    ]
    assert got == want


def test_the_common_columns_take_the_fast_paths():
    rnums = ["4", "5"]
    consts, lists = zip_rows.column_xml([1.5, 2.0], "C", ' s="5"', None, rnums)
    assert lists[0] is rnums and lists[1] == ["1.5", "2.0"]  # numbers: their repr in a template
    consts, lists = zip_rows.column_xml(["IT-1", "IT-2"], "B", "", None, rnums)
    assert lists == [rnums, ["IT-1", "IT-2"]]  # plain text: as it is
    consts, lists = zip_rows.column_xml([dt.datetime(2026, 1, 1)] * 2, "A", ' s="4"', None, rnums)
    assert (
        lists[0] is rnums and lists[1] == [' s="4"><v>46023</v></c>'] * 2
    )  # once per distinct value


def test_a_date_with_a_timezone_fails_as_cell_xml_does():
    value = dt.datetime(2026, 1, 2, tzinfo=_TZ2)
    with pytest.raises(TypeError):
        cell_xml("A4", "", value)
    with pytest.raises(TypeError):
        cells_bulk([[value], [None]], ["4", "5"], ["A"], [""], [None])


# -- sheets: bulk against one by one ---------------------------------------------------------------
# On the small company's demo (``small_book``: the demo's sheets, a quarter of its rows; what is
# checked is the form of the rows, not their number), but for the chunks, which need a big table.
def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _with_sheet(src, dst, table: str, edit) -> None:
    """A copy of ``src`` whose sheet holding ``table`` is ``edit(xml)``."""
    part = ZipIO(src)._find(table).sheet_part
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                new = edit(data)
                assert new != data
                data = new
            zout.writestr(info, data)


def _both_ways(src, tmp_path, monkeypatch, change) -> tuple[object, list]:
    """``change(book)`` saved with the bulk rewrite and with the one-by-one rewrite: the same
    package, byte for byte. Returns the saved file and the bulk plans made."""
    plans: list = []
    real_plan = zip_sheet.bulk_plan

    def spy(*args):
        plan = real_plan(*args)
        plans.append(plan)
        return plan

    monkeypatch.setattr(zip_sheet, "bulk_plan", spy)
    saved = {}
    for wholesale in (True, False):
        path = tmp_path / f"out_{wholesale}.xlsx"
        shutil.copyfile(src, path)
        monkeypatch.setattr(zip_sheet, "WHOLESALE", wholesale)
        book = ZipIO(path)
        change(book)
        book.save()
        assert book.fallback_reason is None
        saved[wholesale] = _members(path)
    monkeypatch.setattr(zip_sheet, "WHOLESALE", True)
    assert saved[True].keys() == saved[False].keys()
    differ = [p for p in saved[True] if saved[True][p] != saved[False][p]]
    assert not differ, f"parts written differently: {differ}"
    return tmp_path / "out_True.xlsx", plans


def _frame_plus(book, name, more: int = 0, keep: int | None = None, **change) -> pd.DataFrame:
    f = read_frame(book, name)
    if more:
        f = pd.concat([f, f.head(more)], ignore_index=True)
    if keep is not None:
        f = f.head(keep)
    for col, fn in change.items():
        f[col] = fn(f[col])
    return f


def _rewrite(*tables, **kw):
    def change(book):
        for t in tables:
            if t == "tblWeekly":  # week columns named by date: not in the layout, so as rows
                rows = book.read_table(t)
                more, keep = kw.get(t, {}).get("more", 0), kw.get(t, {}).get("keep")
                rows = rows + rows[1 : 1 + more]
                book.write_table(t, rows if keep is None else rows[: keep + 1])
            else:
                write_frame(book, t, _frame_plus(book, t, **kw.get(t, {})))

    return change


def _weekly_renamed(book):
    rows = book.read_table("tblWeekly")
    rows[0] = rows[0][:3] + [rows[0][3] + " (moved)"] + rows[0][4:]  # a new header row
    book.write_table("tblWeekly", rows)
    write_frame(book, "tblWeeks", read_frame(book, "tblWeeks").head(5))


def _settings(book):
    book.write_table("tblSettings", book.read_table("tblSettings"))  # cells with their own styles


CHANGES = {
    "actuals as read": _rewrite("tblActuals"),
    "actuals orders + 1": _rewrite("tblActuals", tblActuals={"orders": lambda s: s + 1}),
    "actuals more rows": _rewrite("tblActuals", tblActuals={"more": 40}),
    "actuals fewer rows": _rewrite("tblActuals", tblActuals={"keep": 7}),
    "actuals no rows": _rewrite("tblActuals", tblActuals={"keep": 0}),
    "weekly, both tables": _rewrite("tblWeeks", "tblWeekly"),
    "weekly, one table": _rewrite("tblWeekly"),
    "weekly, fewer weeks and more rows": _rewrite(
        "tblWeeks", "tblWeekly", tblWeeks={"keep": 3}, tblWeekly={"more": 25}
    ),
    "weekly, a new header": _weekly_renamed,
    "settings": _settings,
    "forecast (formulas)": _rewrite("tblForecast", tblForecast={"keep": 30}),
    "actuals and forecast": _rewrite("tblActuals", "tblForecast"),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_the_demo_tables_rewritten_in_bulk_give_the_same_bytes(
    small_book, tmp_path, monkeypatch, name
):
    _, plans = _both_ways(small_book, tmp_path, monkeypatch, CHANGES[name])
    assert plans and all(p is not None for p in plans)  # the bulk path was taken
    if name == "weekly, a new header":  # tblWeeks' header (A3:J3) stays in the row of the new one
        assert [s[:2] for s in plans[0][2] if not s[4]] == [(3, 3)]
    if name.startswith("forecast"):  # tblModels beside it: its rows one by one, the rest in bulk
        ((a, b, segments, extras),) = plans
        one_by_one = [s[:2] for s in segments if not s[4]]
        assert len(one_by_one) == 1 and one_by_one[0][0] == 4 and segments[-1][4]


def _beside_and_below(xml: bytes) -> bytes:
    """A note typed beside tblActuals (F5) and one below it, two rows under its last row."""
    xml = re.sub(
        rb'(<row r="5"[^>]*>.*?)(</row>)',
        rb'\1<c r="F5" t="inlineStr"><is><t>beside</t></is></c>\2',
        xml,
        count=1,
        flags=re.S,
    )
    last = max(int(n) for n in re.findall(rb'<row r="(\d+)"', xml))
    below = b'<row r="%d"><c r="B%d" t="inlineStr"><is><t>below</t></is></c></row>' % (
        last + 2,
        last + 2,
    )
    return xml.replace(b"</sheetData>", below + b"</sheetData>", 1)


@pytest.mark.parametrize("kw", [{}, {"keep": 4}, {"more": 1}, {"more": 5}])
def test_cells_beside_and_below_a_table_are_kept(small_book, tmp_path, monkeypatch, kw):
    src = tmp_path / "noted.xlsx"
    _with_sheet(small_book, src, "tblActuals", _beside_and_below)
    n = len(read_frame(ZipIO(src), "tblActuals"))
    saved, plans = _both_ways(src, tmp_path, monkeypatch, _rewrite("tblActuals", tblActuals=kw))
    ((a, b, segments, extras),) = plans
    assert [s[:2] for s in segments if not s[4]] == [
        (5, 5)
    ]  # only the row with the note one by one
    xml = _members(saved)[ZipIO(saved)._find("tblActuals").sheet_part]
    assert b'<c r="F5" t="inlineStr"><is><t>beside</t></is></c>' in xml and b'r="F6"' not in xml
    below = b'<c r="B%d" t="inlineStr"><is><t>below</t>' % (
        3 + n + 2
    )  # kept unless the table grew over it
    assert (below in xml) == (kw.get("more", 0) < 2)
    if not kw:
        ws = openpyxl.load_workbook(saved)["Actuals"]
        assert ws["F5"].value == "beside" and ws[f"B{3 + n + 2}"].value == "below"


def _row_attributes(xml: bytes) -> bytes:
    """Rows as Excel writes them (spans, a height on each); one taller, one numbered "09"."""
    xml = re.sub(rb'<row r="(\d+)">', rb'<row r="\1" spans="1:4" ht="15.75">', xml)
    xml = xml.replace(
        b'<row r="7" spans="1:4" ht="15.75">',
        b'<row r="7" ht="30" spans="1:4" customHeight="1">',
        1,
    )
    return xml.replace(b'<row r="9" spans', b'<row r="09" spans', 1)


@pytest.mark.parametrize("kw", [{}, {"keep": 4}, {"more": 3}])
def test_rows_keep_their_own_attributes(small_book, tmp_path, monkeypatch, kw):
    src = tmp_path / "heights.xlsx"
    _with_sheet(small_book, src, "tblActuals", _row_attributes)
    saved, plans = _both_ways(src, tmp_path, monkeypatch, _rewrite("tblActuals", tblActuals=kw))
    ((a, b, segments, extras),) = plans
    assert extras[7] == ' r="7" ht="30" customHeight="1"' and extras[8] == ' r="8" ht="15.75"'
    assert extras[9] == ' r="09" ht="15.75"'
    assert all(s[4] for s in segments)
    xml = _members(saved)[ZipIO(saved)._find("tblActuals").sheet_part]
    assert (
        b'<row r="7" ht="30" customHeight="1">' in xml
        and b"spans=" not in xml.split(b'<row r="4"')[1]
    )


def test_a_row_whose_number_is_not_first_is_left_to_the_one_by_one_path(
    small_book, tmp_path, monkeypatch
):
    src = tmp_path / "reordered.xlsx"
    _with_sheet(
        small_book,
        src,
        "tblActuals",
        lambda xml: xml.replace(b'<row r="7">', b'<row ht="30" customHeight="1" r="7">', 1),
    )
    saved, plans = _both_ways(src, tmp_path, monkeypatch, _rewrite("tblActuals"))
    assert plans == [None]
    assert (
        b'<row ht="30" customHeight="1" r="7">'
        in _members(saved)[ZipIO(saved)._find("tblActuals").sheet_part]
    )


def test_a_row_starting_with_something_else_than_a_cell_is_taken_alone(
    small_book, tmp_path, monkeypatch
):
    src = tmp_path / "spaced.xlsx"
    _with_sheet(
        small_book,
        src,
        "tblActuals",
        lambda xml: xml.replace(b'<row r="6"><c ', b'<row r="6"> <c ', 1),
    )
    _, plans = _both_ways(
        src, tmp_path, monkeypatch, _rewrite("tblActuals", tblActuals={"keep": 9})
    )
    ((a, b, segments, extras),) = plans
    assert [s[:2] for s in segments if not s[4]] == [(6, 6)] and not extras


def test_an_empty_sheet_is_filled(small_book, tmp_path, monkeypatch):
    src = tmp_path / "empty.xlsx"
    _with_sheet(
        small_book,
        src,
        "tblActuals",
        lambda xml: re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", xml, flags=re.S),
    )
    frame = read_frame(ZipIO(small_book), "tblActuals").head(6)
    saved, plans = _both_ways(
        src, tmp_path, monkeypatch, lambda book: write_frame(book, "tblActuals", frame)
    )
    assert plans[0] is not None
    assert ZipIO(saved).read_table("tblActuals")[1:] == rows_for("tblActuals", frame)[1:]


def test_rows_out_of_order_are_left_to_the_one_by_one_path(small_book, tmp_path, monkeypatch):
    def swap(xml: bytes) -> bytes:
        r5 = re.search(rb'<row r="5".*?</row>', xml, re.S).group(0)
        r6 = re.search(rb'<row r="6".*?</row>', xml, re.S).group(0)
        return xml.replace(r5 + r6, r6 + r5, 1)

    src = tmp_path / "swapped.xlsx"
    _with_sheet(small_book, src, "tblActuals", swap)
    _, plans = _both_ways(src, tmp_path, monkeypatch, _rewrite("tblActuals"))
    assert plans == [None]


def test_a_shared_formula_in_a_table_falls_back_the_same_way(tmp_path, monkeypatch):
    tiny = tmp_path / "tiny.xlsx"
    build_tiny(tiny)
    src = tmp_path / "shared.xlsx"
    _with_sheet(
        tiny,
        src,
        "tblActuals",
        lambda xml: re.sub(
            rb'<c r="C5"([^>]*)>.*?</c>',
            rb'<c r="C5"\1><f t="shared" ref="C5:C6" si="0">1+1</f><v>2</v></c>',
            xml,
            count=1,
            flags=re.S,
        ),
    )
    reasons = []
    for wholesale in (True, False):
        path = tmp_path / f"shared_{wholesale}.xlsx"
        shutil.copyfile(src, path)
        monkeypatch.setattr(zip_sheet, "WHOLESALE", wholesale)
        book = ZipIO(path)
        book.write_table("tblActuals", book.read_table("tblActuals"))
        book.save()
        reasons.append(book.fallback_reason)
    assert reasons[0] == reasons[1] and "shared" in reasons[0]


# -- read back -------------------------------------------------------------------------------------
def test_a_bulk_rewrite_reads_back_as_written(small_book, tmp_path):
    path = tmp_path / "plan.xlsx"
    shutil.copyfile(small_book, path)
    book = ZipIO(path)
    frame = _frame_plus(book, "tblActuals", more=30, orders=lambda s: s + 1)
    write_frame(book, "tblActuals", frame)
    book.save()
    written = rows_for("tblActuals", frame)
    assert ZipIO(path).read_table("tblActuals") == written
    slow = OpenpyxlIO(path)  # openpyxl.load_workbook
    assert slow.read_table("tblActuals") == written
    ws = slow.wb["Actuals"]
    assert [
        list(r)
        for r in ws.iter_rows(min_row=3, max_row=2 + len(written), max_col=4, values_only=True)
    ] == written
    assert ws.cell(3 + len(written), 1).value is None


def test_odd_values_in_bulk_read_back_as_openpyxl_reads_them(small_book, tmp_path):
    path = tmp_path / "plan.xlsx"
    shutil.copyfile(small_book, path)
    book = ZipIO(path)
    header = book.read_table("tblLog")[0]
    texts = PLAIN_TEXT + ODD_TEXT
    rows = [header]
    for i in range(60):  # each column a mix, so the bulk path takes its generic branches
        rows.append(
            [
                DATETIMES[i % len(DATETIMES)] if i % 7 else None,
                texts[i % len(texts)],
                [3, 2.5, True, None, _NAN, np.float64(1.25)][i % 6],
                FORMULAS[i % len(FORMULAS)],
                [dt.date(2026, 1, 2), "x", None, -0.0][i % 4],
            ]
        )
    book.write_table("tblLog", rows)
    book.save()
    fast, slow = ZipIO(path).read_table("tblLog"), OpenpyxlIO(path).read_table("tblLog")
    assert fast == slow
    assert (
        fast[1][1] == texts[0] and fast[2 + len(PLAIN_TEXT)][1] == ODD_TEXT[1]
    )  # " lead" kept as typed
    assert fast[1][2] == 3 and fast[2][2] == 2.5 and fast[3][2] is True and fast[4][2] is None
    assert fast[5][2] is None and fast[6][2] == 1.25  # nan: an empty cell
    cached = [
        None,
        2.5,
        None,
        None,
        True,
        3.0,
        "text & <b>",
        -0.0,
        "x",
        1.0,
        1.0,
    ]  # no value for nan, inf
    assert [r[3] for r in fast[1 : len(FORMULAS) + 1]] == [
        Formula(f.text, v) for f, v in zip(FORMULAS, cached, strict=True)
    ]
    assert isinstance(fast[1][4], dt.datetime) and math.copysign(1, fast[4][4]) == -1.0


@pytest.mark.parametrize("name", ["tblActuals", "tblForecast", "tblExecution", "tblBasisItems"])
def test_a_frame_written_by_its_columns_gives_the_bytes_of_its_rows(small_book, tmp_path, name):
    """write_frame hands ZipIO the frame's rows unmade (FrameRows); the body is then written from
    the frame's columns. Same file as from the same rows made first."""
    frame = read_frame(ZipIO(small_book), name)
    if name == "tblBasisItems":  # empty in the demo: give it rows with gaps and text to escape
        frame = pd.DataFrame(
            {
                "item": ["A<1>", "B & C", " pad "],
                "family": ["F", "", "G"],
                "month_plan": [1.5, math.nan, 3.0],
                "sigma": [0.1, 2.0, math.inf],
                "tracking_signal": [math.nan, -4.25, 0.0],
                "bias": ["", "over-forecast", ""],
            }
        )
    out = []
    for how in ("frame", "rows"):
        path = tmp_path / f"{how}.xlsx"
        shutil.copyfile(small_book, path)
        book = ZipIO(path)
        if how == "frame":
            write_frame(book, name, frame)
        else:
            book.write_table(name, rows_for(name, frame))
        assert isinstance(book._writes[name], list) == (how == "rows")
        book.save()
        out.append(_members(path))
    assert out[0] == out[1]


def _beside_every_row(xml: bytes) -> bytes:
    """A note beside every row of tblActuals: the whole sheet goes row by row."""
    return re.sub(
        rb'(<row r="(\d+)"[^>]*>.*?)(</row>)',
        lambda m: (
            m.group(1) + b'<c r="F' + m.group(2) + b'"><v>' + m.group(2) + b"</v></c>" + m.group(3)
        ),
        xml,
        flags=re.S,
    )


@pytest.mark.parametrize("more", [0, 300])
def test_rows_made_a_chunk_at_a_time_are_the_rows_made_one_by_one(
    demo_book, tmp_path, monkeypatch, more
):
    """On the row-by-row path a big table's rows come from chunks made column-wise; with any
    chunk size the file is the one the cell-by-cell rows give (_ROW_CHUNK huge: no chunks)."""
    src = tmp_path / "noted.xlsx"
    _with_sheet(demo_book, src, "tblActuals", _beside_every_row)
    frame = read_frame(ZipIO(src), "tblActuals")
    assert len(frame) > 1000
    frame = pd.concat(
        [frame, frame.tail(more).assign(date=frame["date"].max() + pd.Timedelta(days=1))],
        ignore_index=True,
    ).assign(orders=lambda f: f["orders"] + 0.5)
    out = []
    for chunk in (10**9, zip_rows.ROW_CHUNK, 128):
        monkeypatch.setattr(zip_rows, "ROW_CHUNK", chunk)
        path = tmp_path / f"chunk{chunk}.xlsx"
        shutil.copyfile(src, path)
        book = ZipIO(path)
        write_frame(book, "tblActuals", frame)
        book.save()
        assert book.fallback_reason is None
        out.append(_members(path))
    assert out[0] == out[1] == out[2]
    ws = openpyxl.load_workbook(tmp_path / "chunk128.xlsx")["Actuals"]
    assert ws["F5"].value == 5 and ws["C5"].value == frame["orders"].iloc[1]
