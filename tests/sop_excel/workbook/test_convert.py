import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop_excel.errors import InputError, LayoutError
from sop_excel.workbook.convert import frame_from_rows, rows_from_frame
from sop_excel.workbook.io import Formula
from sop_excel.workbook.layout import load_layout

HISTORY = load_layout().table("tblHistory")
FORECAST = load_layout().table("tblForecast")


def test_rows_become_typed_frame_with_field_names():
    rows = [
        ["Item", "Month", "Qty", "Flag"],
        ["A-1", dt.datetime(2026, 1, 1), 12.0, None],
        ["A-1", "2026-02", "1,200", "stockout"],
        [None, None, None, None],
    ]  # blank rows are skipped
    f = frame_from_rows(rows, HISTORY)
    assert list(f.columns) == ["item", "month", "qty", "flag"]
    assert f["qty"].tolist() == [12.0, 1200.0]
    assert f["month"].tolist() == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")]
    assert f["flag"].tolist() == ["", "stockout"]
    assert list(f.attrs["excel_rows"]) == [4, 5]  # anchor A3: header on row 3


def test_blank_rows_found_by_the_key_column_whatever_its_cells_are():
    """calamine gives every empty cell as "": a text key column of only str, blank when empty
    or spaces; a number key column (a lock's version) is blank where NaN. Blank rows are
    skipped, a row with a blank key and other values is named."""
    rows = [
        ["Item", "Month", "Qty", "Flag"],
        ["A-1", dt.datetime(2026, 1, 1), 1.0, ""],
        ["", "", "", ""],
        ["  ", "", "", "  "],
        ["A-2", dt.datetime(2026, 1, 1), 2.0, ""],
    ]
    f = frame_from_rows(rows, HISTORY)
    assert f["item"].tolist() == ["A-1", "A-2"]
    assert list(f.attrs["excel_rows"]) == [4, 7]
    with pytest.raises(InputError, match=r"cell A5: Item is empty"):
        frame_from_rows([*rows[:2], ["\t", "", 3.0, ""]], HISTORY)
    snaps = load_layout().table("tblSnapshots")
    head = [c.header for c in snaps.columns]
    one = [1.0, dt.datetime(2026, 7, 1), "A-1", "F", dt.datetime(2026, 8, 1), 1.0, 9.0, 4.5, 4.5]
    nan = float("nan")
    blank = [nan, None, "", "", None, nan, nan, nan, nan]
    f = frame_from_rows([head, one, blank, [2.0, *one[1:]]], snaps)
    assert f["version"].tolist() == [1.0, 2.0]
    assert list(f.attrs["excel_rows"]) == [snaps_row(snaps, 1), snaps_row(snaps, 3)]
    with pytest.raises(InputError, match=r"is empty"):
        frame_from_rows([head, one, [nan, *one[1:]]], snaps)


def snaps_row(table, body_row: int) -> int:
    """The Excel row of a body row (1-based) of ``table``."""
    from sop_excel.workbook.layout import parse_cell

    return parse_cell(table.anchor)[0] + body_row


def test_text_in_number_cell_names_sheet_and_cell():
    rows = [
        ["Item", "Month", "Qty", "Flag"],
        ["A-1", "2026-01-01", "abc", None],
        ["A-2", "nope", 3, None],
    ]
    with pytest.raises(InputError) as exc:
        frame_from_rows(rows, HISTORY)
    msg = str(exc.value)
    assert "Sheet 'History', cell C4: 'abc' is not a number" in msg
    assert "cell B5: 'nope' is not a date" in msg
    assert len(exc.value.problems) == 2


def test_missing_header_is_a_layout_error_naming_found_headers():
    with pytest.raises(
        LayoutError, match=r"missing column 'Qty'; found 'Item', 'Month', 'Quantity'"
    ):
        frame_from_rows([["Item", "Month", "Quantity"], ["A", "2026-01-01", 1]], HISTORY)


def test_duplicate_keys_and_empty_keys_are_reported_by_row():
    rows = [
        ["Item", "Month", "Qty"],
        ["A", "2026-01-01", 1],
        ["A", "2026-01-01", 2],
        [None, "2026-02-01", 3],
    ]
    with pytest.raises(InputError) as exc:
        frame_from_rows(rows, HISTORY)
    text = str(exc.value)
    assert "Sheet 'History', row 5: repeats an earlier row (Item A, Month 2026-01-01)" in text
    assert "Sheet 'History', cell A6: Item is empty" in text


def test_many_problems_list_twenty_and_a_count():
    rows = [["Item", "Month", "Qty"]] + [[f"I{i}", "2026-01-01", "x"] for i in range(25)]
    with pytest.raises(InputError) as exc:
        frame_from_rows(rows, HISTORY)
    assert "(25 problems)" in str(exc.value)
    assert "... and 5 more." in str(exc.value)


def test_formula_columns_carry_python_values():
    f = pd.DataFrame(
        {
            "item": ["A"],
            "family": ["F"],
            "month": [pd.Timestamp("2026-01-01")],
            "baseline": [3.0],
            "final": [3.0],
        }
    )
    rows = rows_from_frame(f, FORECAST, {"final": "=1+2"})
    final = rows[1][FORECAST.fields.index("final")]
    assert isinstance(final, Formula) and final.value == 3.0
    assert rows[1][FORECAST.fields.index("override")] is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=8).filter(lambda s: s.strip() == s and s),
            st.integers(0, 47),
            st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
        ),
        min_size=1,
        max_size=20,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_rows_frame_rows_round_trip(records):
    frame = pd.DataFrame(
        {
            "item": [r[0] for r in records],
            "month": [pd.Timestamp("2022-01-01") + pd.DateOffset(months=r[1]) for r in records],
            "qty": [math.nan if r[2] is None else r[2] for r in records],
            "flag": [""] * len(records),
        }
    )
    rows = rows_from_frame(frame, HISTORY)
    back = frame_from_rows(rows, HISTORY)
    pd.testing.assert_frame_equal(back.reset_index(drop=True), frame, check_dtype=False)


def test_frame_rows_made_in_chunks_equal_the_rows_made_at_once(monkeypatch):
    from sop_excel.workbook.convert import FrameRows
    from sop_excel.workbook.formulas import table_formulas
    from sop_excel.workbook.tables import rows_for

    monkeypatch.setattr(FrameRows, "CHUNK", 4)
    n = 11  # three chunks, the last one short
    frame = pd.DataFrame(
        {
            "item": [f"I{i:03d}" for i in range(n)],
            "family": "F1",
            "month": pd.date_range("2026-01-01", periods=n, freq="MS"),
            "baseline": [float(i) if i != 5 else math.nan for i in range(n)],
            "lo_80": 0.0,
            "hi_80": 2.0,
            "override": None,
            "final": [i * 1.5 for i in range(n)],
        }
    )
    table = FORECAST
    whole = rows_for("tblForecast", frame)
    lazy = FrameRows(frame, table, table_formulas("tblForecast"))
    assert len(lazy) == len(whole) == n + 1
    assert list(lazy) == whole
    assert [lazy[i] for i in range(len(lazy))] == whole  # in order, as the builder reads
    assert lazy[-1] == whole[-1] and lazy[9] == whole[9] and lazy[2] == whole[2]  # back and forth
    assert lazy[1:6] == whole[1:6]
    assert any(isinstance(v, Formula) for v in lazy[3])  # formula columns carry their values
    with pytest.raises(IndexError):
        lazy[n + 1]


def test_the_builder_makes_each_chunk_of_frame_rows_once(tmp_path, monkeypatch):
    """build_workbook reads FrameRows in order, each chunk made once (a slice like rows[1:]
    would make the whole table as Python rows: the memory FrameRows exists to save)."""
    from sop_excel.workbook.convert import FrameRows
    from sop_excel.workbook.openpyxl_io import OpenpyxlIO
    from sop_excel.workbook.tables import frame_rows, read_frame
    from tests.sop_excel import tiny

    monkeypatch.setattr(FrameRows, "CHUNK", 4)
    made = []
    inner = FrameRows._rows
    monkeypatch.setattr(
        FrameRows, "_rows", lambda self, a, b: made.append((id(self), a)) or inner(self, a, b)
    )
    monkeypatch.setattr(tiny, "rows_for", frame_rows)  # every table as FrameRows
    frames = tiny.build_tiny(tmp_path / "b.xlsx")
    assert len(made) > 10 and len(made) == len(set(made))  # many chunks, none made twice
    back = read_frame(OpenpyxlIO(tmp_path / "b.xlsx"), "tblHistory")
    assert back["qty"].tolist() == frames["history"]["qty"].tolist()
