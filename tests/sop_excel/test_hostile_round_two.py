"""Hostile inputs, round two (issue 18): the cases the corpus cannot hold as files (a pipe, a
2 GB file, a full disk, a kill), each giving a clear message, no exit 4 and an unchanged
workbook. The corpus cases are in tests/data/corpus (test_corpus.py)."""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.errors import InputError
from sop_excel.workbook import safe_save
from sop_excel.workbook.convert import FrameRows
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.limits import check_table_write, defined_name_problem, sheet_name_problem
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.safe_save import UNFINISHED, atomic_write, unfinished_saves, writer_lock
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.xlwings_io import XlwingsIO
from sop_excel.workbook.zip_io import ZipIO
from tests.data.make_corpus import many_parts_bomb
from tests.sop_excel.tiny import build_tiny
from tests.sop_excel.workbook.fake_xlwings import FakeBook

ROOT = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["-q", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "failed unexpectedly" not in captured.err, (
        captured.err
    )
    return code, captured.err


# -- point 2: Excel's grid ------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["zip", "openpyxl", "xlwings"])
def test_a_table_past_excels_last_row_is_refused_before_writing(tmp_path, side):
    """1.1 million actuals rows (dates from 1950) were written into a table ending at row 1,101,187."""
    path = tmp_path / "tiny.xlsx"
    build_tiny(path)
    before = sha(path)
    book = {"zip": ZipIO, "openpyxl": OpenpyxlIO}.get(
        side, lambda p: XlwingsIO(FakeBook.from_xlsx(p))
    )(path)
    days = pd.date_range("1950-01-01", periods=17_200, freq="D")  # x 64 items: 1.1 million rows
    items = [f"I-{k:03d}" for k in range(64)]
    frame = pd.DataFrame(
        {
            "date": days.repeat(len(items)),
            "item": items * len(days),
            "orders": 1.0,
            "shipments": 1.0,
        }
    )
    with pytest.raises(
        InputError,
        match=r"table tblActuals on sheet 'Actuals' would need 1,100,800 rows and end "
        r"at row 1,100,803, past Excel's last row \(1,048,576\). Nothing was written",
    ):
        write_frame(book, "tblActuals", frame)
    assert len(read_frame(book, "tblActuals")) < 10  # nothing queued (nor typed into Excel)
    assert sha(path) == before


def test_text_past_a_cells_limit_and_long_column_names_are_refused():
    table = load_layout().table("tblLog")
    frame = pd.DataFrame(
        {
            "time": [pd.Timestamp("2026-11-18")],
            "command": ["x" * 40_000],
            "user": ["u"],
            "data": [""],
            "details": [""],
        }
    )
    with pytest.raises(
        InputError,
        match=r"body row 1, column 'Command' would hold 40,000 characters; an Excel "
        r"cell holds at most 32,767",
    ):
        check_table_write("plan.xlsx", "Log", "tblLog", 1, 3, FrameRows(frame, table))
    with pytest.raises(
        InputError, match=r"is 40,008 characters long; Excel allows 255 in a table's column name"
    ):
        check_table_write(
            "plan.xlsx",
            "Compare",
            "tblCompareMonthly",
            13,
            3,
            [["Month", "N" * 40_000 + " revenue"], [None, None]],
        )
    with pytest.raises(InputError, match="differ only in upper and lower case"):
        check_table_write(
            "plan.xlsx",
            "Compare",
            "tblCompareMonthly",
            13,
            3,
            [["Month", "Base revenue", "BASE revenue"], [None, 1, 2]],
        )
    with pytest.raises(
        InputError, match=r"would need 16,390 columns and end past Excel's last column \(16,384"
    ):
        check_table_write(
            "plan.xlsx", "Compare", "tblCompareMonthly", 1, 3, [[f"c{k}" for k in range(16_390)]]
        )


def test_the_template_names_are_names_excel_takes():
    layout = load_layout()
    assert [s.name for s in layout.sheets if sheet_name_problem(s.name)] == []
    assert [t.name for t in layout.tables if defined_name_problem(t.name)] == []
    assert [r.name for r in layout.settings.rows if defined_name_problem(r.name)] == []
    assert (
        defined_name_problem("A1") and defined_name_problem("R1C1") and sheet_name_problem("x" * 32)
    )


def test_the_log_keeps_its_details_to_a_cell(small_copy, capsys):
    """Text sop-excel writes itself is cut to fit, saying how much was left out."""
    from sop_excel import rebuild

    book = ZipIO(small_copy)
    rebuild.log_command(book, "flag-drift", "d" * 50_000, "x" * 100_000)
    book.save()
    log = read_frame(ZipIO(small_copy), "tblLog").iloc[-1]
    assert len(log["details"]) <= 32_767 and log["details"].endswith("an Excel cell holds 32,767)")
    assert "more characters not kept" in log["data"]


# -- point 4: clear messages, never exit 4 ------------------------------------------------------------
def test_a_full_disk_during_save_is_named(small_copy, capsys, monkeypatch):
    before = sha(small_copy)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(
        safe_save.os, "fsync", full
    )  # the disk fills up while the new file is flushed
    code, err = run(capsys, "flag-drift", str(small_copy))
    assert code == 3
    assert (
        "Error: Cannot save plan.xlsx: the disk is full (No space left on device). Free some space"
        in err
    )
    assert sha(small_copy) == before and unfinished_saves(small_copy) == []


def test_a_file_size_limit_during_save_is_named(small_copy):
    """A real limit (RLIMIT_FSIZE below the workbook's size): the write fails with EFBIG."""
    before = sha(small_copy)
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_FSIZE, ({small_copy.stat().st_size // 2}, {resource.RLIM_INFINITY}))
        from sop_excel.cli import main
        sys.exit(main(["-q", "flag-drift", sys.argv[1]]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script, str(small_copy)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert proc.returncode == 3, proc.stderr
    assert (
        "Cannot save plan.xlsx: the file would be larger than this system allows (File too large)"
        in proc.stderr
    )
    assert sha(small_copy) == before


def test_a_2_gb_actuals_file_is_refused_by_its_size_at_once(small_copy, capsys, tmp_path):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fh:  # sparse: 2 GB on paper, nothing on disk
        fh.truncate(2 * 1024**3)
    t = time.perf_counter()
    code, err = run(capsys, "refresh-actuals", str(small_copy), "--actuals", str(huge))
    assert code == 1 and time.perf_counter() - t < 60
    assert (
        "Actuals file huge.csv is 2 GB; sop-excel reads such files up to 256 MB. Export only the months"
        in err
    )


def test_a_scenario_name_with_invalid_utf8_is_refused(small_copy, capsys):
    before = sha(small_copy)
    name = b"B\xffase".decode(
        "utf-8", "surrogateescape"
    )  # as Python hands over such a command-line argument
    code, err = run(capsys, "new-scenario", str(small_copy), name, "--volume", "5%")
    assert code == 2 and "the scenario name 'B\ufffdase' is not valid UTF-8 text" in err
    assert sha(small_copy) == before


def test_dates_out_of_range_on_the_command_line(capsys, tmp_path):
    for args in (["demo", "--as-of", "0001-01-01", "--out", str(tmp_path / "d.xlsx")],):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        assert (
            "is not a date sop-excel plans with: write a date from 1900 to 2200"
            in capsys.readouterr().err
        )


# -- point 5: hangs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["actuals.csv", "actuals.xlsx", "scenarios.toml", "plan.xlsx"])
def test_a_named_pipe_is_refused_not_waited_on(small_copy, capsys, tmp_path, what):
    fifo = tmp_path / "pipe" / what
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    args = {
        "actuals.csv": ["refresh-actuals", str(small_copy), "--actuals", str(fifo)],
        "actuals.xlsx": ["refresh-actuals", str(small_copy), "--actuals", str(fifo)],
        "scenarios.toml": ["import-scenarios", str(small_copy), str(fifo)],
        "plan.xlsx": ["flag-drift", str(fifo)],
    }[what]
    t = time.perf_counter()
    code, err = run(capsys, *args)
    assert code in (1, 3) and time.perf_counter() - t < 60
    assert f"{what} is a named pipe (FIFO), not a file; sop-excel reads only files" in err


def test_an_endless_sqlite_view_is_stopped_by_the_time_limit(
    small_copy, capsys, tmp_path, monkeypatch
):
    db = tmp_path / "endless.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE VIEW actuals AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SELECT '2026-11-19' AS date, 'PMP-1001' AS item, n AS orders, 1 AS shipments FROM r"
    )
    con.commit()
    con.close()
    monkeypatch.setenv("SOP_EXCEL_READ_TIMEOUT", "2")
    before = sha(small_copy)
    t = time.perf_counter()
    code, err = run(capsys, "refresh-actuals", str(small_copy), "--actuals", str(db))
    assert code == 1 and time.perf_counter() - t < 120
    assert (
        "Reading actuals from endless.sqlite, table actuals, took more than 2 s and was stopped"
        in err
    )
    assert sha(small_copy) == before


def test_830_parts_of_zeros_are_refused_before_inflating(tmp_path, capsys):
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(many_parts_bomb())  # 8.3 GB of zeros in 836 parts, 8 MB on disk
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    code, err = run(capsys, "flag-drift", str(bomb))
    assert (
        code == 3 and resource.getrusage(resource.RUSAGE_SELF).ru_utime - ru < 5
    )  # nothing inflated
    assert (
        "bomb.xlsx inflates beyond safe limits (836 parts would inflate from 8,078,721 to 8,300,002,333 "
        "bytes, 1,027 to 1); it may be a zip bomb"
    ) in err


# -- point 6: scenario values that make no sense ------------------------------------------------------
def test_new_scenario_that_matches_nothing_is_refused(small_copy, capsys):
    before = sha(small_copy)
    code, err = run(
        capsys, "new-scenario", str(small_copy), "Promo", "--volume", "5%", "--family", "Nope"
    )
    assert (
        code == 1
        and "New scenario 'Promo', volume driver: 'Nope' is not a family on the Items sheet" in err
    )
    code, err = run(
        capsys, "new-scenario", str(small_copy), "Promo", "--volume", "5%", "--item", "NOPE-1"
    )
    assert code == 1 and "'NOPE-1' is not an item on the Items sheet (nor a launch)" in err
    code, err = run(
        capsys,
        "new-scenario",
        str(small_copy),
        "Promo",
        "--volume",
        "5%",
        "--months",
        "2031-01:2031-06",
    )
    assert (
        code == 1
        and "Scenario 'Promo' was not created: its drivers change nothing in the plan's horizon"
        in err
    )
    code, err = run(capsys, "new-scenario", str(small_copy), "Promo", "--volume", "inf")
    assert (
        code == 1 and "inf is not a volume change sop-excel applies (from -100% to +1,000%)" in err
    )
    assert sha(small_copy) == before


def test_a_driver_that_changes_nothing_is_warned_about(small_copy, capsys):
    book = ZipIO(small_copy)
    drivers = read_frame(book, "tblDrivers")
    drivers.loc[0, "from_month"], drivers.loc[0, "to_month"] = (
        pd.Timestamp("2031-01-01"),
        pd.Timestamp("2031-03-01"),
    )
    write_frame(book, "tblDrivers", drivers)
    book.save()
    capsys.readouterr()
    assert main(["-q", "compare-scenarios", str(small_copy)]) == 0
    out = capsys.readouterr().out
    assert (
        "Warning: 1 scenario driver(s) change nothing: their family, item, resource or months match nothing"
        in out
    )
    assert "Sheet 'Scenarios', row 4 (scenario" in out


# -- point 9: unfinished saves --------------------------------------------------------------------------
def test_unfinished_saves_are_named_for_what_they_are_and_cleaned_by_the_next_command(
    small_copy, caplog
):
    seen = []
    atomic_write(
        small_copy,
        lambda tmp: (seen.append(tmp.name), tmp.write_bytes(small_copy.read_bytes())),
        backups=0,
    )
    assert seen[0].startswith(f".plan.xlsx.{UNFINISHED}-") and seen[0].endswith(".tmp")
    left = [
        small_copy.parent / f".plan.xlsx.{UNFINISHED}-k1ll3d.tmp",  # what a kill leaves
        small_copy.parent / ".plan.abc123.xlsx.tmp",
    ]  # the name earlier versions used
    for p in left:
        p.write_bytes(b"half a zip")
    assert unfinished_saves(small_copy) == sorted(left)
    with writer_lock(small_copy):
        pass  # taking the lock (any writing command does) clears them
    assert unfinished_saves(small_copy) == [] and not any(p.exists() for p in left)
    assert "removed 2 unfinished save(s) left by a command that was stopped" in caplog.text
