"""Never lose the user's file: write beside it, flush to disk, replace atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sop_excel.errors import WorkbookLockedError

__all__ = ["atomic_write", "excel_owner_file"]


def excel_owner_file(path: Path) -> Path:
    """Excel's lock file for an open workbook: ``~$name.xlsx`` beside it."""
    return path.with_name("~$" + path.name)


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[Path]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` to produce the new file, then move it over ``path`` atomically.

    A crash before the final rename leaves the old file exactly as it was.
    """
    target = Path(path).resolve()
    if excel_owner_file(target).exists():
        raise WorkbookLockedError(
            f"{target.name} is open in Excel (found {excel_owner_file(target).name}). "
            "Close it in Excel, then run the command again.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _temp_beside(target) as tmp:
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"Cannot write {target}: permission denied. Close the file in any program that "
            "has it open and check you may write to its folder.") from exc
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target
