"""The biggest rewritten sheet made in a forked process while this one writes the rest."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import time
import zipfile

from sop_excel.workbook.safe_save import (
    can_fork_helpers,
    in_forked_child,
)
from sop_excel.workbook.zip_io.parts import (
    Styles,
    copy_raw,
)
from sop_excel.workbook.zip_io.sheet import write_sheet

log = logging.getLogger(__name__)


class SheetAside:
    """The biggest rewritten sheet, made in a forked process (Linux, more than one core) into a
    zip of its own while this process writes the other parts; its compressed bytes are then
    copied in as they are. Whatever goes wrong there (an error, a number format it would have
    to add to the shared stylesheet, no answer within :attr:`WAIT_S`) means making the sheet
    here, as without it. Its file is unlinked as soon as made: nothing is left behind.
    Up to :attr:`MAX_ASIDE` sheets go aside this way (the daily refresh with production writes
    two big ones, Actuals and Production), each leaving this process at least one to write."""

    MIN_ROWS = 50_000  # below this, forking costs more than it saves
    MAX_ASIDE = 2
    WAIT_S = 300.0  # 310,000 rows take about a second

    def __init__(self, part: str, pid: int, fd: int) -> None:
        self.part, self.pid, self.fd = part, pid, fd
        self.reaped = False

    @classmethod
    def start(
        cls,
        members: dict[str, zipfile.ZipInfo],
        styles: Styles,
        sheet_jobs: dict,
        skip: frozenset[str] = frozenset(),
    ) -> SheetAside | None:
        """The biggest sheet of ``sheet_jobs`` but those in ``skip`` (made aside already), started."""
        if not can_fork_helpers() or len(sheet_jobs) - len(skip) < 2:
            return None
        rows = {
            part: sum(len(e.body) for e in job[1])
            for part, job in sheet_jobs.items()
            if part not in skip
        }
        part = max(rows, key=rows.__getitem__)
        if rows[part] < cls.MIN_ROWS:
            return None
        info = members[part]
        added = len(styles.added)
        fd, path = tempfile.mkstemp(prefix="sop-excel-sheet-", suffix=".zip")
        os.unlink(path)  # open in both processes, named in none
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            os.close(fd)
            return None
        if pid == 0:  # the forked process: write, exit without running this process's cleanup
            code = 2
            try:
                in_forked_child(parent)
                with (
                    os.fdopen(os.dup(fd), "w+b") as fh,
                    zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
                ):
                    write_sheet(z, info, sheet_jobs[part])
                code = 0 if len(styles.added) == added else 3
            finally:
                os._exit(code)
        return cls(part, pid, fd)

    def _wait(self) -> bool:
        deadline = time.monotonic() + self.WAIT_S
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.reaped = True
                return os.waitstatus_to_exitcode(status) == 0
            if time.monotonic() > deadline:
                log.warning(
                    "the sheet made aside did not come in %.0f s; making it here", self.WAIT_S
                )
                return False
            time.sleep(0.005)

    def copy_into(self, out: zipfile.ZipFile) -> bool:
        """Wait for the sheet; copy it into ``out``. False: it was not made, make it here."""
        ok = self._wait()
        if ok:
            with os.fdopen(os.dup(self.fd), "rb") as fh, zipfile.ZipFile(fh) as z:
                copy_raw(fh, z.getinfo(self.part), out)
        return ok

    def discard(self) -> None:
        """After the package is written, or when writing it failed: no process, no file."""
        if not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.reaped = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1
