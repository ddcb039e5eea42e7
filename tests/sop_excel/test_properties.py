"""Properties (hypothesis): rows <-> frames round-trip over every table of the layout; loading the
same actuals twice equals loading them once; a refresh never changes a cell a planner owns.

Workbook I/O costs seconds per save, so the workbook properties run few examples (deadline off).
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sop_excel.cli import main
from sop_excel.workbook.convert import frame_from_rows, rows_from_frame
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.zip_io import ZipIO
from tests.data.make_corpus import PAYLOADS

LAYOUT = load_layout()
TABLES = [t for t in LAYOUT.tables if not t.dynamic_columns]
# text as a planner types it: no control characters, no spaces at the ends (reading trims them)
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12),
    st.sampled_from([p.strip() for p in PAYLOADS]),
).map(str.strip)
NUMBER = st.one_of(st.none(), st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False))


def _column(kind: str, n: int, key: bool, nonempty: bool = False) -> st.SearchStrategy[list]:
    if nonempty and not key:  # another key column: never empty
        one = {"text": TEXT.filter(bool), "int": st.integers(-(10**6), 10**6)}.get(
            kind,
            st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31)).map(
                lambda d: pd.Timestamp(d.replace(day=1))
            ),
        )
        return st.lists(one, min_size=n, max_size=n)
    if key:  # unique and never empty
        if kind in {"date", "month", "datetime"}:
            return st.just([pd.Timestamp("2026-01-01") + pd.DateOffset(months=i) for i in range(n)])
        if kind == "int":
            return st.just(list(range(1, n + 1)))
        return st.lists(TEXT.filter(bool), min_size=n, max_size=n, unique=True)
    if kind == "text":
        return st.lists(TEXT, min_size=n, max_size=n)
    if kind in {"date", "month"}:
        day = st.dates(dt.date(2000, 1, 1), dt.date(2060, 12, 31))
        if kind == "month":
            day = day.map(lambda d: d.replace(day=1))
        return st.lists(st.one_of(st.none(), day.map(pd.Timestamp)), min_size=n, max_size=n)
    if kind == "datetime":
        moment = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2060, 1, 1)).map(
            lambda d: pd.Timestamp(d.replace(microsecond=0))
        )
        return st.lists(st.one_of(st.none(), moment), min_size=n, max_size=n)
    if kind == "int":
        return st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6)), min_size=n, max_size=n)
    return st.lists(NUMBER, min_size=n, max_size=n)


@st.composite
def table_frames(draw):
    table = draw(st.sampled_from(TABLES))
    n = draw(st.integers(1, 6))
    data = {}
    for c in table.columns:
        key = c.field in table.key[:1] and table.unique
        data[c.field] = draw(_column(c.kind, n, key, nonempty=c.field in table.key))
    return table, pd.DataFrame(data)


def _normal(v):
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return pd.Timestamp(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    return v


def _cells(frame: pd.DataFrame) -> list[list]:
    return [[_normal(v) for v in row] for row in frame.astype(object).itertuples(index=False)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_frames())
def test_frame_rows_frame_round_trip_over_every_table(case):
    table, frame = case
    rows = rows_from_frame(frame, table)
    assert rows[0] == table.headers
    back = frame_from_rows(rows, table)
    assert list(back.columns) == list(frame.columns)
    for field in frame.columns:
        got = [_normal(v) for v in back[field].astype(object)]
        want = [_normal(v) for v in frame[field].astype(object)]
        if table.column(field).kind == "text":
            want = ["" if w is None else w for w in want]
            got = ["" if g is None else g for g in got]
        assert got == want, f"{table.name}.{field}"
    assert rows_from_frame(back, table) == rows  # and rows -> frame -> rows is the identity


# -- workbook properties ------------------------------------------------------------------------
def _tables(book: Path, skip: set[str]) -> dict[str, list]:
    io = ZipIO(book)
    return {name: io.read_table(name) for name in io.table_names() if name not in skip}


# The commands' properties hold whatever the workbook's size: the examples run on the small
# company's demo (a third of the demo's cells, so more examples in the same time).
@pytest.fixture(scope="module")
def actuals_rows(small_book):
    csv = next(small_book.parent.glob("*_actuals_*.csv"))
    return csv.read_text(encoding="utf-8").splitlines()


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_loading_the_same_actuals_twice_equals_once(small_book, actuals_rows, data, monkeypatch):
    monkeypatch.setenv("SOP_EXCEL_BACKUPS", "0")
    header, body = actuals_rows[0], actuals_rows[1:]
    picked = data.draw(st.lists(st.sampled_from(body), min_size=1, max_size=len(body), unique=True))
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "plan.xlsx"
        shutil.copyfile(small_book, book)
        csv = Path(tmp) / "actuals.csv"
        csv.write_text("\n".join([header, *picked]) + "\n", encoding="utf-8")
        assert main(["-q", "refresh-actuals", str(book), "--actuals", str(csv)]) == 0
        once = _tables(book, {"tblLog"})
        assert main(["-q", "refresh-actuals", str(book), "--actuals", str(csv)]) == 0
        twice = _tables(book, {"tblLog"})
    assert once.keys() == twice.keys()
    for name in once:
        assert once[name] == twice[name], name


def _planner_values(rows: list, table) -> dict[tuple, tuple]:
    header = [str(h) for h in rows[0]]
    keys = [header.index(table.column(k).header) for k in table.key]
    owned = [header.index(c.header) for c in table.columns if c.owner == "planner"]
    return {tuple(r[k] for k in keys): tuple(r[j] for j in owned) for r in rows[1:]}


def _planner_edit(table, draw) -> dict[str, object]:
    out = {}
    for c in table.columns:
        if c.owner != "planner":
            continue
        if isinstance(c.choices, list) and c.choices:
            out[c.header] = draw(st.sampled_from(["", *c.choices]))
        elif c.kind == "text":
            out[c.header] = draw(TEXT)
        else:
            out[c.header] = draw(st.one_of(st.none(), st.integers(0, 10**5).map(float)))
    return out


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_refresh_never_changes_a_cell_a_planner_owns(small_book, data, monkeypatch):
    monkeypatch.setenv("SOP_EXCEL_BACKUPS", "0")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "plan.xlsx"
        shutil.copyfile(small_book, book)
        for csv in small_book.parent.glob("*_actuals_*.csv"):
            shutil.copyfile(csv, Path(tmp) / csv.name)
        io = ZipIO(book)
        for name in ("tblForecast", "tblExceptions"):
            table = LAYOUT.table(name)
            rows = io.read_table(name)
            header = [str(h) for h in rows[0]]
            picked = data.draw(
                st.lists(st.integers(1, len(rows) - 1), min_size=1, max_size=5, unique=True)
            )
            for i in picked:
                for col, value in _planner_edit(table, data.draw).items():
                    rows[i][header.index(col)] = value
            io.write_table(name, rows)
        io.save()
        before = {
            n: _planner_values(ZipIO(book).read_table(n), LAYOUT.table(n))
            for n in ("tblForecast", "tblExceptions")
        }
        csv = next(Path(tmp).glob("*_actuals_*.csv"))
        assert main(["-q", "refresh-actuals", str(book), "--actuals", str(csv)]) == 0
        assert main(["-q", "flag-drift", str(book)]) == 0
        after = {
            n: _planner_values(ZipIO(book).read_table(n), LAYOUT.table(n))
            for n in ("tblForecast", "tblExceptions")
        }
    assert after["tblForecast"] == before["tblForecast"]  # every forecast row stays
    kept = before["tblExceptions"].keys() & after["tblExceptions"].keys()
    # The one rule: a live exception whose status was cleared reads "Open" (documented default).
    table = LAYOUT.table("tblExceptions")
    status = [c.header for c in table.columns if c.owner == "planner"].index(
        table.column("status").header
    )

    def typed(values: tuple) -> tuple:
        return tuple(
            ("Open" if j == status and v in (None, "") else v) for j, v in enumerate(values)
        )

    assert {k: after["tblExceptions"][k] for k in kept} == {
        k: typed(before["tblExceptions"][k]) for k in kept
    }
