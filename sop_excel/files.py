"""Opening a user's file without hanging or running out of memory.

A path may name something that is not a file: a named pipe (FIFO), whose ``open`` waits for a
writer forever; a device such as ``/dev/zero``, which never ends; a folder. And a file may be
far larger than anything sop-excel can use (a 2 GB export read into memory fails after minutes).
:func:`check_regular` refuses the first kind from ``stat`` alone (no open, so no wait);
:func:`read_limited` opens without blocking, checks again on the open file, and refuses a file
larger than its limit *before* reading it.

Limits: an actuals file (CSV or xlsx) up to :data:`MAX_SOURCE_BYTES` (256 MB, or
``SOP_EXCEL_MAX_SOURCE_MB``); the Actuals sheet holds at most 1,048,573 rows, which a CSV of
256 MB exceeds several times over. A scenario file up to :data:`MAX_TEXT_BYTES`. A read of
actuals stopped after :func:`read_timeout` seconds (300, or ``SOP_EXCEL_READ_TIMEOUT``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sop_excel.errors import SopExcelError

__all__ = [
    "MAX_SOURCE_BYTES",
    "MAX_TEXT_BYTES",
    "READ_TIMEOUT_S",
    "check_regular",
    "max_source_bytes",
    "read_limited",
    "read_timeout",
    "size_text",
]

MAX_SOURCE_BYTES = 256 * 1024 * 1024
MAX_TEXT_BYTES = 16 * 1024 * 1024  # a scenario file (the demo's is 4 KB)
_ENV_SOURCE = "SOP_EXCEL_MAX_SOURCE_MB"
READ_TIMEOUT_S = 300.0  # reading actuals: 310,000 rows from SQLite take about a second
_ENV_TIMEOUT = "SOP_EXCEL_READ_TIMEOUT"


def read_timeout() -> float:
    """Seconds a read of actuals may take before it is stopped: ``SOP_EXCEL_READ_TIMEOUT``, else 300."""
    raw = os.environ.get(_ENV_TIMEOUT, "").strip()
    if not raw:
        return READ_TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1
    if not seconds > 0:
        raise SopExcelError(
            f"{_ENV_TIMEOUT}={raw!r} is not a number of seconds: set it to a number such as "
            "600, or unset it for the default 300."
        )
    return seconds


def size_text(n: int) -> str:
    """A file size as people say it: 2.1 GB, 340 MB, 12 KB."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:,.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def max_source_bytes() -> int:
    """The largest actuals file read: ``SOP_EXCEL_MAX_SOURCE_MB`` megabytes, else 256 MB."""
    raw = os.environ.get(_ENV_SOURCE, "").strip()
    if not raw:
        return MAX_SOURCE_BYTES
    try:
        mb = float(raw)
    except ValueError:
        mb = -1
    if mb <= 0:
        raise SopExcelError(
            f"{_ENV_SOURCE}={raw!r} is not a size in megabytes: set it to a number such as "
            "512, or unset it for the default 256."
        )
    return int(mb * 1024 * 1024)


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def check_regular(
    path: str | os.PathLike[str], what: str, error: type[SopExcelError] = SopExcelError
) -> os.stat_result:
    """``stat`` of ``path``, refusing anything but a regular file; never opens it (a FIFO's open
    would wait forever).

    Raises:
        FileNotFoundError: nothing there (the caller knows what to say).
        SopExcelError: a folder, a pipe, a device or a socket (``error``, a subclass, if given).
    """
    st = os.stat(path)
    kind = _kind(st.st_mode)
    if kind is not None:
        raise error(
            f"{what} {path} is {kind}, not a file; sop-excel reads only files. Give the "
            "path of the file itself."
        )
    return st


def read_limited(path: str | os.PathLike[str], what: str, limit: int, todo: str) -> bytes:
    """The bytes of a regular file no larger than ``limit``, refused by size before any is read.

    Raises:
        FileNotFoundError: nothing there.
        SopExcelError: not a regular file, or larger than ``limit`` (the message ends with ``todo``).
    """
    check_regular(path, what)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)  # what was opened, not what was looked at (the path may have changed)
        kind = _kind(st.st_mode)
        if kind is not None:
            raise SopExcelError(f"{what} {path} is {kind}, not a file; sop-excel reads only files.")
        if st.st_size > limit:
            raise SopExcelError(
                f"{what} {Path(path).name} is {size_text(st.st_size)}; sop-excel reads such "
                f"files up to {size_text(limit)}. {todo}"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 24):
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise SopExcelError(
                    f"{what} {Path(path).name} is more than {size_text(limit)}; sop-excel "
                    f"reads such files up to {size_text(limit)}. {todo}"
                )
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
