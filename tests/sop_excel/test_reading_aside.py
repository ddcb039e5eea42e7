"""refresh-actuals reads its source in a second process while it reads the workbook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sop_excel import aside
from sop_excel.errors import CellProblem, InputError, SopExcelError, WorkbookLockedError

ROOT = Path(__file__).resolve().parents[2]


def _pid_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"pid": [os.getpid()] * n})


def _bad(_: int) -> pd.DataFrame:
    raise InputError(
        "File a.csv has values sop-excel cannot use",
        [CellProblem("File a.csv, row 3, column 'orders'", "lots", "is not a number", "Fix it.")],
    )


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
    reason="helper processes are forked on Linux with more than one core only",
)
def test_the_source_is_read_in_another_process(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with aside.reading_aside(_pid_frame, 3) as result:
        frame = result()
    assert len(frame) == 3 and frame["pid"].iloc[0] != os.getpid()


def test_serial_when_asked(monkeypatch):
    with aside.reading_aside(_pid_frame, 2, aside=False) as result:  # inside Excel
        assert result()["pid"].iloc[0] == os.getpid()
    monkeypatch.setenv("SOP_EXCEL_SERIAL", "1")
    with aside.reading_aside(_pid_frame, 2) as result:
        assert result()["pid"].iloc[0] == os.getpid()


def _unpicklable(_: int) -> pd.DataFrame:
    class Local(Exception):  # a class pickle cannot find by name
        pass

    raise Local("the driver said no")


def test_an_error_that_does_not_pickle_still_comes_back(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with (
        aside.reading_aside(_unpicklable, 1) as result,
        pytest.raises(SopExcelError, match="the driver said no"),
    ):
        result()


def test_errors_come_back_as_they_were_raised(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with aside.reading_aside(_bad, 1) as result, pytest.raises(InputError) as got:
        result()
    assert "File a.csv, row 3, column 'orders': 'lots' is not a number. Fix it." in str(got.value)
    assert got.value.problems[0].value == "lots"


def test_a_failure_before_the_result_is_wanted_leaves_no_process(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with pytest.raises(RuntimeError), aside.reading_aside(_pid_frame, 1):
        raise RuntimeError("the workbook could not be read")


class DriverError(Exception):
    """As database drivers define them: two arguments, one message (pickles, cannot be made again)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"[{code}] {text}")


def _driver_fails(_: int) -> pd.DataFrame:
    raise DriverError(1045, "Access denied for user 'planner'")


def test_an_error_that_cannot_be_made_again_comes_back_as_its_text(monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    with aside.reading_aside(_driver_fails, 1) as result, pytest.raises(SopExcelError) as got:
        result()
    assert "DriverError: [1045] Access denied for user 'planner'" in str(got.value)


_MARK = "sop-excel-test-killed-with-its-reader"
_KILLED = r"""
# sop-excel-test-killed-with-its-reader
import os, signal, sys, time
import pandas as pd
from sop_excel import aside
from sop_excel.workbook.safe_save import writer_lock

def slow_read(n):  # a database that takes a while to answer
    time.sleep(n)
    return pd.DataFrame({"x": [1]})

with writer_lock(sys.argv[1], "refresh-actuals"):
    with aside.reading_aside(slow_read, 30) as result:
        print("reading", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # killed (a scheduler's timeout) while the reader reads
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reader process is Linux only")
def test_a_killed_command_leaves_neither_its_lock_nor_its_reader(tmp_path, monkeypatch):
    from sop_excel.workbook.safe_save import writer_lock

    monkeypatch.delenv("SOP_EXCEL_SERIAL", raising=False)
    book = tmp_path / "plan.xlsx"
    book.write_bytes(b"")
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.readline().strip() == "reading"
    assert proc.wait(timeout=60) == -signal.SIGKILL  # the command, not its reader
    proc.stdout.close()
    deadline = time.monotonic() + 5
    while True:  # the lock is free at once (the reader holds no copy of it) ...
        try:
            with writer_lock(book, "next"):
                break
        except WorkbookLockedError:
            assert time.monotonic() < deadline, "the lock stayed with the reader"
            time.sleep(0.1)
    deadline = time.monotonic() + 10  # ... and the reader went with its parent (a busy machine
    while True:  # takes a moment to reap it; the reader itself would sleep 30 s)
        left = subprocess.run(["pgrep", "-f", _MARK], capture_output=True, text=True).stdout.split()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == []
