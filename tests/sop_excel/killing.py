"""Kill a sop-excel command at a chosen moment and judge what it left (issue 18).

The rule: whenever a command is killed (SIGKILL: no cleanup of any kind), the workbook is either
byte for byte the file it was before, or a complete new workbook (every part readable, every
table of the layout read and checked, the command's own line last in the Log); and the next
command works and removes what the killed one left beside the workbook.

Used by ``tests/sop_excel/test_kill_points.py`` (a few points, ``--run-slow``) and by
``bench/kill_points.py`` (many points, figures).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.safe_save import backup_paths, lock_path, unfinished_saves

ROOT = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Outcome:
    """What one killed run left: ``result`` is "old" (the file untouched), "new" (a complete new
    workbook) or "finished" (it ended before the kill)."""

    point: str
    seconds: float  # from the start to the kill (or to the end, if it finished)
    result: str
    temps_left: int
    processes_left: int


def command_line(book: Path, command: str, actuals: Path | None = None) -> list[str]:
    args = [sys.executable, "-m", "sop_excel", "-q", command, str(book)]
    if command == "refresh-actuals":
        args += ["--actuals", str(actuals)]
    return args


def run_killed(
    book: Path,
    command: str,
    *,
    after: float | None = None,
    on_save: float | None = None,
    actuals: Path | None = None,
    timeout: float = 900,
) -> Outcome:
    """Run ``command`` on ``book`` and SIGKILL it ``after`` seconds from its start, or
    ``on_save`` seconds after its save began (its unfinished save appeared). Then judge the file."""
    before = sha(book)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    proc = subprocess.Popen(
        command_line(book, command, actuals),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    point = f"t+{after:.2f}s" if after is not None else f"save+{on_save * 1000:.0f}ms"
    killed_at = -1.0
    try:
        while proc.poll() is None and time.monotonic() - start < timeout:
            now = time.monotonic() - start
            if after is not None and now >= after:
                break
            if on_save is not None and unfinished_saves(book):
                time.sleep(on_save)
                break
            time.sleep(0.002)
        if proc.poll() is None:
            killed_at = time.monotonic() - start
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        _, err = proc.communicate(timeout=120)
    left = _processes_left(proc.pid)
    if killed_at < 0:
        assert proc.returncode == 0, err.decode(errors="replace")
        result, killed_at = "finished", time.monotonic() - start
    else:
        result = judge(book, before, command)
    return Outcome(point, killed_at, result, len(unfinished_saves(book)), left)


def _processes_left(pgid: int, wait: float = 5.0) -> int:
    """Processes of the killed command's group still alive after ``wait`` s (its helpers die
    with it); any found are killed, and counted."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return 0
        time.sleep(0.05)
    out = subprocess.run(
        ["ps", "-o", "pid=", "-g", str(pgid)], capture_output=True, text=True
    ).stdout.split()
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return len(out)


def judge(book: Path, before: str, command: str) -> str:
    """ "old" if ``book`` is the file it was; "new" if it is a complete workbook written by
    ``command``; anything else fails."""
    if sha(book) == before:
        return "old"
    from sop_excel.workbook.tables import read_frame
    from sop_excel.workbook.zip_io import ZipIO

    with zipfile.ZipFile(book) as z:
        assert z.testzip() is None, f"{book.name}: a damaged part"
    io = ZipIO(book)
    try:
        assert io.fallback_reason is None, io.fallback_reason
        for table in load_layout().tables:
            read_frame(io, table.name)  # every table there, every value readable
        log = read_frame(io, "tblLog")
    finally:
        io.close()
    assert log["command"].iloc[-1] == command, f"last Log line {log['command'].iloc[-1]!r}"
    backups = backup_paths(book)
    assert backups and sha(backups[0]) == before, "the previous version is the newest backup"
    return "new"


def next_command_cleans_up(book: Path) -> None:
    """The next command runs, and what killed saves left beside the workbook is gone after it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        command_line(book, "flag-drift"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert unfinished_saves(book) == [], unfinished_saves(book)
    assert not lock_path(book).exists()
