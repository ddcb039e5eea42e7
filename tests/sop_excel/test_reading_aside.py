"""refresh-actuals reads its source in a second process while it reads the workbook."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from sop_excel import macros
from sop_excel.errors import CellProblem, InputError, SopExcelError


def _pid_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"pid": [os.getpid()] * n})


def _bad(_: int) -> pd.DataFrame:
    raise InputError("File a.csv has values sop-excel cannot use",
                     [CellProblem("File a.csv, row 3, column 'orders'", "lots", "is not a number", "Fix it.")])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: read in this process")
def test_the_source_is_read_in_another_process(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with macros._reading_aside(_pid_frame, 3) as result:
        frame = result()
    assert len(frame) == 3 and frame["pid"].iloc[0] != os.getpid()


def test_serial_when_asked(monkeypatch):
    with macros._reading_aside(_pid_frame, 2, aside=False) as result:  # inside Excel
        assert result()["pid"].iloc[0] == os.getpid()
    monkeypatch.setenv("SOP_EXCEL_SERIAL", "1")
    with macros._reading_aside(_pid_frame, 2) as result:
        assert result()["pid"].iloc[0] == os.getpid()


def _unpicklable(_: int) -> pd.DataFrame:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    raise Local("the driver said no")


def test_an_error_that_does_not_pickle_still_comes_back(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with macros._reading_aside(_unpicklable, 1) as result, pytest.raises(SopExcelError, match="the driver said no"):
        result()


def test_errors_come_back_as_they_were_raised(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with macros._reading_aside(_bad, 1) as result, pytest.raises(InputError) as got:
        result()
    assert "File a.csv, row 3, column 'orders': 'lots' is not a number. Fix it." in str(got.value)
    assert got.value.problems[0].value == "lots"


def test_a_failure_before_the_result_is_wanted_leaves_no_process(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with pytest.raises(RuntimeError), macros._reading_aside(_pid_frame, 1):
        raise RuntimeError("the workbook could not be read")
