"""Nothing lost, nothing injected: safe saves, backups, one writer at a time, hostile files.

Formula injection has its own file (test_safety_injection.py); the bad-input corpus is
test_corpus.py.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sop_excel.cli import main
from sop_excel.errors import SopExcelError, WorkbookCorruptError, WorkbookLockedError
from sop_excel.workbook import guard
from sop_excel.workbook.guard import check_xlsx
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.safe_save import (
    BACKUP_DIR,
    atomic_write,
    backup_paths,
    lock_path,
    writer_lock,
)
from tests.data.make_corpus import billion_laughs_xlsx, minimal_xlsx, zip_bomb_xlsx

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


# -- atomic save and backups ----------------------------------------------------------------
def test_backups_rotate_and_keep_the_configured_number(tmp_path, monkeypatch):
    monkeypatch.delenv("SOP_EXCEL_BACKUPS", raising=False)
    target = tmp_path / "plan.xlsx"
    for k in range(5):
        atomic_write(target, lambda p, k=k: p.write_bytes(f"version {k}".encode()))
    assert target.read_bytes() == b"version 4"
    assert [p.read_bytes() for p in backup_paths(target)] == [
        b"version 3",
        b"version 2",
        b"version 1",
    ]
    assert backup_paths(target)[0].parent.name == BACKUP_DIR
    monkeypatch.setenv("SOP_EXCEL_BACKUPS", "1")  # fewer wanted: the extra ones go
    atomic_write(target, lambda p: p.write_bytes(b"version 5"))
    assert [p.read_bytes() for p in backup_paths(target)] == [b"version 4"]
    monkeypatch.setenv("SOP_EXCEL_BACKUPS", "0")  # 0 keeps none (and touches none)
    atomic_write(target, lambda p: p.write_bytes(b"version 6"))
    assert [p.read_bytes() for p in backup_paths(target)] == [b"version 4"]
    monkeypatch.setenv("SOP_EXCEL_BACKUPS", "lots")
    with pytest.raises(SopExcelError, match="SOP_EXCEL_BACKUPS='lots' is not a number of backups"):
        atomic_write(target, lambda p: p.write_bytes(b"never"))
    assert target.read_bytes() == b"version 6"


def test_a_failing_write_leaves_the_file_and_no_temporary(tmp_path):
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"the planner's work")

    def half_then_fail(p: Path) -> None:
        p.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"the planner's work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]


def test_save_keeps_the_file_permissions(tmp_path):
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"v0")
    os.chmod(target, 0o640)
    atomic_write(target, lambda p: p.write_bytes(b"v1"))
    assert (target.stat().st_mode & 0o777, target.read_bytes()) == (0o640, b"v1")


def test_cli_backups_option_and_owner_file(small_copy, capsys):
    csv = next(small_copy.parent.glob("*_actuals_*.csv"))
    original = small_copy.read_bytes()
    assert (
        main(["-q", "--backups", "2", "refresh-actuals", str(small_copy), "--actuals", str(csv)])
        == 0
    )
    assert [p.read_bytes() for p in backup_paths(small_copy)] == [original]
    assert not lock_path(small_copy).exists()  # released
    with pytest.raises(SystemExit) as exc:
        main(["--backups", "-1", "flag-drift", str(small_copy)])
    assert exc.value.code == 2
    assert "is not a number of backups" in capsys.readouterr().err
    # open in Excel: a clear message, exit 3, nothing written
    owner = small_copy.with_name("~$" + small_copy.name)
    owner.write_bytes(b"owner")
    before = sha(small_copy)
    assert main(["flag-drift", str(small_copy)]) == 3
    err = capsys.readouterr().err
    assert (
        "is open in Excel (found ~$plan.xlsx). Close it in Excel" in err and "Traceback" not in err
    )
    assert sha(small_copy) == before


# -- killed in the middle of a save -----------------------------------------------------------
_SAVER = textwrap.dedent("""
    import sys
    from sop_excel.workbook.openpyxl_io import OpenpyxlIO
    book = OpenpyxlIO(sys.argv[1])
    book.wb["Log"]["AD200"] = "a change"
    print("saving", flush=True)
    book.save()
    print("saved", flush=True)
""")


@pytest.mark.parametrize("how", ["openpyxl", "cli"])
def test_a_process_killed_mid_save_leaves_the_old_file_intact(book_copy, how):
    """SIGKILL while the temporary file exists (between its creation and the rename)."""
    before = sha(book_copy)
    if how == "openpyxl":
        cmd = [PY, "-c", _SAVER, str(book_copy)]
    else:  # the real command (ZipIO side), killed during its save
        csv = next(book_copy.parent.glob("*_actuals_*.csv"))
        cmd = [
            PY,
            "-m",
            "sop_excel",
            "-q",
            "refresh-actuals",
            str(book_copy),
            "--actuals",
            str(csv),
        ]
    proc = subprocess.Popen(
        cmd, env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pattern = f".{book_copy.name}.sop-excel-unfinished-save-*.tmp"
    deadline = time.monotonic() + 120
    seen = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            temps = list(book_copy.parent.glob(pattern))
            if temps:
                seen = temps[0]
                os.kill(proc.pid, signal.SIGKILL)  # in the middle of the save
                break
            time.sleep(0.002)
    finally:
        out, err = proc.communicate(timeout=30)
    assert seen is not None, f"the save was not caught in the act: {proc.returncode} {err}"
    assert proc.returncode == -signal.SIGKILL
    assert sha(book_copy) == before  # byte-identical ...
    assert (
        "Forecast" in openpyxl.load_workbook(book_copy, read_only=True).sheetnames
    )  # ... and opens
    assert backup_paths(book_copy) == []
    if seen.exists():  # a partial temporary file was left: the next save under the lock clears it
        with writer_lock(book_copy):
            atomic_write(book_copy, lambda p: p.write_bytes(book_copy.read_bytes()), backups=0)
        assert sha(book_copy) == before
        assert list(book_copy.parent.glob(pattern)) == []


# -- one writer at a time ---------------------------------------------------------------------
_HOLDER = textwrap.dedent("""
    import sys, time
    from sop_excel.workbook.safe_save import writer_lock
    with writer_lock(sys.argv[1], "test-holder"):
        print("locked", flush=True)
        time.sleep(120)
""")


def _hold_lock(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [PY, "-c", _HOLDER, str(path)], env=_env(), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_is_refused_while_another_process_updates(small_copy, capsys):
    holder = _hold_lock(small_copy)
    try:
        before = sha(small_copy)
        csv = next(small_copy.parent.glob("*_actuals_*.csv"))
        assert main(["refresh-actuals", str(small_copy), "--actuals", str(csv)]) == 3
        err = capsys.readouterr().err
        assert f"another sop-excel command (pid {holder.pid} on" in err
        assert "is updating plan.xlsx. Wait for it to finish" in err and "Traceback" not in err
        # the library path refuses too, at save time
        book = OpenpyxlIO(small_copy)
        with pytest.raises(WorkbookLockedError, match=f"pid {holder.pid}"):
            book.save()
        assert sha(small_copy) == before
        # a reader is not blocked
        assert main(["-q", "export-scenarios", str(small_copy)]) == 0
    finally:
        holder.kill()
        holder.communicate()
    # the holder was killed: its lock went with it, though the file may stay
    assert main(["-q", "flag-drift", str(small_copy)]) == 0
    assert not lock_path(small_copy).exists()


def test_two_refreshes_started_together_one_waits_its_turn(book_copy):
    """Two real CLI processes on one workbook: exactly one writes, the other says why not."""
    csv = next(book_copy.parent.glob("*_actuals_*.csv"))
    cmd = [PY, "-m", "sop_excel", "-q", "refresh-actuals", str(book_copy), "--actuals", str(csv)]
    procs = [
        subprocess.Popen(
            cmd, env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.communicate(timeout=300)[1], p.returncode)[::-1] for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 3], results
    refused = next(err for rc, err in results if rc == 3)
    assert "is updating plan.xlsx" in refused and "Traceback" not in refused
    assert len(backup_paths(book_copy)) == 1  # one save happened


# -- hostile files ------------------------------------------------------------------------------
def test_guard_accepts_what_we_build(demo_book):
    t = time.perf_counter()
    check_xlsx(demo_book)
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda: b"", "is empty"),
        (lambda: b"date,item\n2026-01-01,A\n", "is not an Excel workbook"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old-format .xls"),
        (lambda: minimal_xlsx()[:-300], "damaged or truncated"),
        (lambda: billion_laughs_xlsx(), "document type declaration in xl/sharedStrings.xml"),
    ],
)
def test_guard_refuses_with_a_clear_message(tmp_path, make, phrase):
    p = tmp_path / "bad.xlsx"
    p.write_bytes(make())
    with pytest.raises(WorkbookCorruptError, match=phrase):
        check_xlsx(p)


def test_zip_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    p = tmp_path / "bomb.xlsx"
    p.write_bytes(zip_bomb_xlsx(inflated_mb=1100))
    assert p.stat().st_size < 2_000_000
    tracemalloc.start()
    t = time.perf_counter()
    try:
        with pytest.raises(WorkbookCorruptError, match="zip bomb"):
            OpenpyxlIO(p)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - t < 10
    assert peak < 64 * 1024 * 1024


def test_a_lying_size_header_is_caught_while_inflating(tmp_path, monkeypatch):
    """Sizes declared small, content large: the limit holds for the bytes actually inflated."""
    monkeypatch.setattr(guard, "MAX_MEMBER_BYTES", 4 * 1024 * 1024)
    p = tmp_path / "liar.xlsx"
    p.write_bytes(zip_bomb_xlsx(inflated_mb=8, declared_size=1000))
    with pytest.raises(WorkbookCorruptError) as exc:
        check_xlsx(p)
    assert "xl/worksheets/sheet1.xml" in str(exc.value)


def test_part_count_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "MAX_MEMBERS", 5)
    p = tmp_path / "many.xlsx"
    p.write_bytes(minimal_xlsx(extra_parts=10))
    with pytest.raises(WorkbookCorruptError, match="has 1[0-9] parts"):
        check_xlsx(p)


def test_openpyxl_parses_through_defusedxml(tmp_path):
    """Belt and braces: even past the guard, openpyxl's parser refuses entity declarations."""
    from defusedxml.common import EntitiesForbidden
    from openpyxl.xml import DEFUSEDXML
    from openpyxl.xml.functions import fromstring

    assert DEFUSEDXML
    with pytest.raises(EntitiesForbidden):
        fromstring(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')


def test_hostile_actuals_xlsx_is_an_input_error_not_a_crash(small_copy, tmp_path, capsys):
    bad = tmp_path / "actuals.xlsx"
    bad.write_bytes(billion_laughs_xlsx())
    before = sha(small_copy)
    assert main(["refresh-actuals", str(small_copy), "--actuals", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Actuals file actuals.xlsx contains an XML document type declaration" in err
    assert "Traceback" not in err and sha(small_copy) == before


def test_unexpected_failure_is_reported_without_traceback_unless_debug(
    small_copy, capsys, monkeypatch
):
    import sop_excel.macros as macros

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(macros, "flag_drift", boom)
    before = sha(small_copy)
    assert main(["flag-drift", str(small_copy)]) == 4
    err = capsys.readouterr().err
    assert "failed unexpectedly (ZeroDivisionError: simulated bug)" in err and "--debug" in err
    assert "Traceback" not in err
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "flag-drift", str(small_copy)])
    assert sha(small_copy) == before
    assert not lock_path(small_copy).exists()


def test_debug_shows_the_traceback_for_input_errors(small_copy, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,item,orders,shipments\nnot-a-date,X,1,1\n")
    assert main(["--debug", "refresh-actuals", str(small_copy), "--actuals", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "InputError" in err


def test_corrupt_xlsm_member_crc(tmp_path):
    """A part whose bytes were damaged (CRC mismatch) is reported, not half-read."""
    good = minimal_xlsx()
    p = tmp_path / "crc.xlsx"
    with zipfile.ZipFile(__import__("io").BytesIO(good)) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    damaged = bytearray(good)
    damaged[offset] ^= 0xFF
    p.write_bytes(bytes(damaged))
    with pytest.raises(WorkbookCorruptError, match="damaged"):
        check_xlsx(p)


def test_shallow_check_finds_a_dtd_before_the_root_of_a_large_part(tmp_path, monkeypatch):
    """ZipIO and openpyxl check large parts without inflating them (deep=False): a DTD can only
    come before the root element, so scanning up to it is enough."""
    monkeypatch.setattr(guard, "FULL_SCAN_BYTES", 16)  # every part counts as large here
    p = tmp_path / "laughs.xlsx"
    p.write_bytes(billion_laughs_xlsx())
    with pytest.raises(
        WorkbookCorruptError, match="document type declaration in xl/sharedStrings.xml"
    ):
        check_xlsx(p, deep=False)
    with pytest.raises(WorkbookCorruptError, match="document type declaration"):
        OpenpyxlIO(p)
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(minimal_xlsx([["date", "item"], ["2026-11-02", "A"]]))
    check_xlsx(ok, deep=False)  # no false alarm on a sound file


def test_shallow_check_still_bounds_declared_sizes_and_ratios(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "FULL_SCAN_BYTES", 16)
    p = tmp_path / "bomb.xlsx"
    p.write_bytes(zip_bomb_xlsx(inflated_mb=64))
    with pytest.raises(WorkbookCorruptError, match="compression ratio"):
        check_xlsx(p, deep=False)
    monkeypatch.setattr(guard, "MAX_MEMBER_BYTES", 1024)
    ok = tmp_path / "ok.xlsx"
    ok.write_bytes(
        minimal_xlsx([["date", "item"]] + [["2026-11-02", f"ITEM-{i}"] for i in range(100)])
    )
    with pytest.raises(WorkbookCorruptError, match="declares"):
        check_xlsx(ok, deep=False)


def test_a_large_part_lying_about_its_size_is_cut_at_the_declared_size(tmp_path, monkeypatch):
    """Why deep=False is safe for zipfile readers: Python's zipfile never returns more than the
    declared size (and then reports the bad CRC), whatever the deflate stream holds."""
    p = tmp_path / "liar.xlsx"
    p.write_bytes(zip_bomb_xlsx(inflated_mb=8, declared_size=1000))
    with zipfile.ZipFile(p) as z, z.open("xl/worksheets/sheet1.xml") as f:
        got = b""
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            while chunk := f.read(1 << 16):
                got += chunk
    assert len(got) <= 1000


@pytest.mark.parametrize(
    "text", ["Jan:Feb", "2027-1:2027-3", "2027-13:", ":", "2027-06:2027-01", "next year"]
)
def test_a_month_range_without_a_year_or_backwards_is_a_usage_error(text, capsys):
    """--months used to take 'Jan:Feb' (pandas guessed a year): now year-month only, in order."""
    with pytest.raises(SystemExit) as exc:
        main(["new-scenario", "no-such.xlsx", "--name", "X", "--volume", "5%", "--months", text])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --months" in err and "Traceback" not in err


def test_a_month_range_may_be_one_month_or_open_ended():
    import pandas as pd

    from sop_excel.cli import _months

    start, end = _months("2027-03")  # from that month on, as before
    assert start == pd.Timestamp("2027-03-01") and end is pd.NaT
    start, end = _months("2027-01:")
    assert start == pd.Timestamp("2027-01-01") and end is pd.NaT
