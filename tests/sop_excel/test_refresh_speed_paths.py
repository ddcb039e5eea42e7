"""The faster paths of the daily refresh (issue 21, speed) give what the plain ones gave: codes
and numbers read per distinct value or as whole arrays, the Production table read once."""

from __future__ import annotations

import os
import shutil
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sop_excel import macros, rebuild
from sop_excel.cli import main
from sop_excel.sources._validate import _item_text, _items
from sop_excel.sources.conventions import Column, Conventions, read_numbers
from sop_excel.workbook import tables
from sop_excel.workbook.zip_io import ZipIO


@pytest.mark.parametrize(
    "values",
    [
        [" A-1 ", "A-1", None, np.nan, 1001, 1001.0, 1001.5, "B"],  # 1 and 1.0 read alike
        [True, 1, 1.0, "1"],  # bool is not 1 here: "True"
        [Decimal("1.0"), 1, 1.0],  # Decimal("1.0") reads "1.0", 1.0 reads "1"
    ],
)
def test_item_codes_per_distinct_value_read_as_each_cell_would(values):
    got = _items(pd.Series(values, dtype=object)).tolist()
    assert got == [_item_text(v) for v in values]


def test_a_number_column_reads_as_the_same_numbers_held_as_objects():
    s = pd.Series([1.0, np.nan, 2.5, np.inf, -3.0, 0.0])
    read = [
        read_numbers([Column("orders", x, lambda p: f"row {p}")], Conventions(), label="t")
        for x in (s, s.astype(object))
    ]
    (fast, fast_bad, _), (plain, plain_bad, _) = read
    np.testing.assert_array_equal(fast[0], plain[0])  # nan where empty or infinite
    np.testing.assert_array_equal(fast_bad[0], plain_bad[0])
    assert fast_bad[0].tolist() == [False, False, False, True, False, False]
    ints = pd.Series([3, 0, 7], dtype="Int64")
    got, bad, _ = read_numbers([Column("orders", ints, str)], Conventions(), label="t")
    assert got[0].tolist() == [3.0, 0.0, 7.0] and not bad[0].any()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="the Production table is read aside on Linux with more than one core only",
)
def test_without_supply_rows_the_production_table_is_read_once(small_copy, tmp_path, monkeypatch):
    """Orders alone: the Production table read by its reader process is the one the supply
    view uses (it was read a second time here); the tables written are those of one process."""
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    csv = tmp_path / "orders.csv"
    day = next(small_copy.parent.glob("*_actuals_*.csv"))
    pd.read_csv(day).drop(columns=["produced"]).to_csv(csv, index=False)
    serial = tmp_path / "serial.xlsx"
    shutil.copyfile(small_copy, serial)
    seen: list[str] = []
    inner = tables.read_frame
    for module in (macros, rebuild):
        monkeypatch.setattr(module, "read_frame", lambda b, n: seen.append(n) or inner(b, n))
    assert main(["-q", "refresh-actuals", str(small_copy), "--actuals", str(csv)]) == 0
    assert "tblProduction" not in seen  # read aside, and only there
    monkeypatch.setenv("SOP_EXCEL_SERIAL", "1")
    assert main(["-q", "refresh-actuals", str(serial), "--actuals", str(csv)]) == 0
    assert "tblProduction" in seen  # the reference: read here
    names = ["tblExecution", "tblExceptions", "tblSupplyItems", "tblSupplyWeeks", "tblWeekly"]
    for name in names:
        pd.testing.assert_frame_equal(
            tables.read_frame(ZipIO(small_copy), name),
            tables.read_frame(ZipIO(serial), name),
            obj=name,
        )
