"""Never lose the user's file: one writer at a time, write beside, flush, replace atomically, back up.

- :func:`writer_lock` holds an advisory lock on ``.<name>.sop-lock`` beside the workbook for a
  whole read-modify-write. The operating system releases it when the process ends, however it
  ends, so a lock left by a killed process is never in the way (the file may stay; it is reused).
  A second sop-excel command on the same workbook gets :class:`WorkbookLockedError` naming the
  process that holds it.
- :func:`atomic_write` writes a temporary file in the same folder
  (``.<name>.sop-excel-unfinished-save-<random>.tmp``), fsyncs it, keeps the previous version
  in ``.sop-excel-backups/<stem>.bak1<suffix>`` (``bak1`` newest; :func:`backup_count` of them,
  default 3, ``SOP_EXCEL_BACKUPS`` or ``sop-excel --backups N``; 0 keeps none) and
  ``os.replace``s the temporary file over the target. A crash or kill at any point before the
  rename leaves the old file byte-identical; after it, the new file is complete. A temporary
  file a killed command left is removed by the next command that takes the writer lock
  (:func:`unfinished_saves`).
- A workbook open in Excel (its ``~$`` owner file) is refused with a message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import glob
import logging
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sop_excel.errors import SopExcelError, WorkbookError, WorkbookLockedError

__all__ = [
    "BACKUP_DIR",
    "DEFAULT_BACKUPS",
    "UNFINISHED",
    "atomic_write",
    "unfinished_saves",
    "backup_count",
    "backup_paths",
    "no_backup",
    "can_fork_helpers",
    "excel_owner_file",
    "in_forked_child",
    "lock_path",
    "set_backup_count",
    "writer_lock",
]

_logger = logging.getLogger(__name__)
BACKUP_DIR = ".sop-excel-backups"
DEFAULT_BACKUPS = 3
_ENV_BACKUPS = "SOP_EXCEL_BACKUPS"
_backups_override: int | None = None
_HELD: dict[Path, int] = {}  # workbook -> fd of the lock this process holds
_IN_FLIGHT: set[Path] = set()  # our own temporary files (a nested save on one is no user file)


def excel_owner_file(path: Path) -> Path:
    """Excel's lock file for an open workbook: ``~$name.xlsx`` beside it."""
    return path.with_name("~$" + path.name)


def lock_path(path: str | os.PathLike[str]) -> Path:
    """sop-excel's writer lock for a workbook: ``.name.xlsx.sop-lock`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}.sop-lock")


# -- backups ------------------------------------------------------------------------------
def set_backup_count(n: int | None) -> None:
    """Set how many previous versions a save keeps (``None``: back to env var / default)."""
    global _backups_override
    if n is not None and n < 0:
        raise SopExcelError(f"--backups must be 0 or more, not {n}.")
    _backups_override = n


@contextlib.contextmanager
def no_backup() -> Iterator[None]:
    """Saves inside keep no backup: a second save of one command (the execution basis after
    refresh-forecast) would otherwise push the version from before the command down the list."""
    global _backups_override
    before = _backups_override
    _backups_override = 0
    try:
        yield
    finally:
        _backups_override = before


def backup_count() -> int:
    """Previous versions kept per workbook: ``--backups``, else ``SOP_EXCEL_BACKUPS``, else 3."""
    if _backups_override is not None:
        return _backups_override
    raw = os.environ.get(_ENV_BACKUPS, "").strip()
    if not raw:
        return DEFAULT_BACKUPS
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if n < 0:
        raise SopExcelError(
            f"{_ENV_BACKUPS}={raw!r} is not a number of backups: set it to 0 or "
            f"more (0 keeps none), or unset it for the default {DEFAULT_BACKUPS}."
        )
    return n


def backup_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The backups of a workbook that exist, newest first."""
    target = Path(path).resolve()
    folder = target.parent / BACKUP_DIR
    out = []
    k = 1
    while (p := folder / f"{target.stem}.bak{k}{target.suffix}").exists():
        out.append(p)
        k += 1
    return out


def _keep_backup(target: Path, keep: int) -> None:
    """Shift bak1..bakN-1 up by one and make the current file bak1 (copied)."""
    folder = target.parent / BACKUP_DIR
    name = lambda k: folder / f"{target.stem}.bak{k}{target.suffix}"  # noqa: E731
    if keep <= 0 or not target.exists():
        return
    folder.mkdir(exist_ok=True)
    k = keep
    while name(k + 1).exists():  # fewer backups wanted than before: drop the extra ones
        k += 1
    for j in range(k, keep - 1, -1):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name(j))
    for j in range(keep - 1, 0, -1):
        if name(j).exists():
            os.replace(name(j), name(j + 1))
    # a copy, not a hard link: a program that saves in place would change a linked backup too
    with _temp_beside(target, folder) as part:
        shutil.copy2(target, part)
        os.replace(part, name(1))


# -- the writer lock ----------------------------------------------------------------------
def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _holder(lock: Path) -> str:
    try:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "another sop-excel command"
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if not fields.get("pid"):
        return "another sop-excel command"
    return (
        f"another sop-excel command (pid {fields['pid']} on {fields.get('host', '?')}, "
        f"started {fields.get('started', '?')})"
    )


def _locked_error(target: Path, lock: Path) -> WorkbookLockedError:
    return WorkbookLockedError(
        f"{_holder(lock)} is updating {target.name}. Wait for it to finish and run the command "
        f"again. If no sop-excel command is running, the lock is released by itself; delete "
        f"{lock.name} only if it stays after a restart."
    )


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike[str], command: str = "") -> Iterator[Path]:
    """Hold the writer lock of a workbook for a whole read-modify-write (re-entrant per process).

    Raises:
        WorkbookLockedError: another process holds it, or the folder is not writable.
    """
    target = Path(path).resolve()
    if target in _HELD:
        yield target
        return
    lock = lock_path(target)
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:
            raise WorkbookError(
                f"No folder {target.parent} for {target.name}. Check the path."
            ) from None
        except PermissionError:
            raise WorkbookLockedError(
                f"Cannot write in {target.parent}: permission denied. "
                f"sop-excel needs to write beside {target.name}."
            ) from None
        if not _try_lock(fd):
            os.close(fd)
            raise _locked_error(target, lock)
        try:  # the holder before us may have removed the file after we opened it: start again
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    body = f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={stamp}\ncommand={command}\n"
    os.ftruncate(fd, 0)
    os.write(fd, body.encode("utf-8"))
    _HELD[target] = fd
    try:
        _remove_stale_temps(
            target
        )  # no other command is saving this workbook now: what is left is stale
        yield target
    finally:
        del _HELD[target]
        with contextlib.suppress(OSError):
            os.unlink(lock)  # before releasing, so a waiting process sees a fresh file
        os.close(fd)


def can_fork_helpers() -> bool:
    """Whether a command may fork helper processes: Linux with more than one core, unless
    ``SOP_EXCEL_SERIAL`` is set. Elsewhere there is no safe fork, and a new process would import
    pandas again; one core gains nothing."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and (os.cpu_count() or 1) > 1
        and not os.environ.get("SOP_EXCEL_SERIAL")
    )


def in_forked_child(parent: int | None = None) -> None:
    """Call first thing in a process forked from one holding writer locks: its copies of the
    lock descriptors are closed, so that if the parent dies the lock goes with it instead of
    staying with the helper (the parent's own descriptors keep the lock while it lives). On
    Linux the helper is also killed when its parent dies (it has nothing to report to);
    ``parent``, the parent's pid taken before the fork, closes the gap before that takes hold:
    a parent already gone means exiting at once."""
    for fd in list(_HELD.values()):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # best effort: prctl(PR_SET_PDEATHSIG, SIGKILL)
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:  # it died before prctl: nobody to tell
        os._exit(0)


def _check_not_locked_by_another(target: Path) -> None:
    if target in _HELD:
        return
    lock = lock_path(target)
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return  # no lock file (or unreadable): nobody holds it
    try:
        if not _try_lock(fd):
            raise _locked_error(target, lock)
    finally:
        os.close(fd)  # releases our probe


# -- the atomic write ---------------------------------------------------------------------
def _file_mode(target: Path) -> int:
    if target.exists():
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


UNFINISHED = (
    "sop-excel-unfinished-save"  # in the name of a save being written (left if it was killed)
)


def unfinished_saves(path: str | os.PathLike[str]) -> list[Path]:
    """Files a save of this workbook was writing when its command was stopped (killed, power
    cut): ``.<name>.sop-excel-unfinished-save-<random>.tmp`` beside it, and the same for a
    backup being copied in ``.sop-excel-backups/``. Never a workbook: the workbook is replaced
    only by a complete file. Also the names earlier versions used (``.<stem>.<random><suffix>.tmp``)."""
    target = Path(path).resolve()
    folder = target.parent
    found = [
        *folder.glob(f".{glob.escape(target.name)}.{UNFINISHED}-*.tmp"),
        *folder.glob(f".{glob.escape(target.stem)}.*{glob.escape(target.suffix)}.tmp"),
        *(folder / BACKUP_DIR).glob(f".{glob.escape(target.name)}.{UNFINISHED}-*.tmp"),
        *(folder / BACKUP_DIR).glob(f".{glob.escape(target.stem)}.*.part"),
    ]
    return sorted({p for p in found if p not in _IN_FLIGHT})


@contextlib.contextmanager
def _temp_beside(path: Path, folder: Path | None = None) -> Iterator[Path]:
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{UNFINISHED}-", suffix=".tmp", dir=folder or path.parent
    )
    os.close(fd)
    _IN_FLIGHT.add(Path(tmp))
    try:
        yield Path(tmp)
    finally:
        _IN_FLIGHT.discard(Path(tmp))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _remove_stale_temps(target: Path) -> list[Path]:
    """Remove the unfinished saves a stopped command left (only while we hold the writer lock,
    so none is another command's save in progress); returns those removed."""
    if target not in _HELD:
        return []
    removed = []
    for p in unfinished_saves(target):
        try:
            p.unlink()
        except OSError:
            continue
        removed.append(p)
    if removed:
        _logger.warning(
            "%s: removed %d unfinished save(s) left by a command that was stopped: %s",
            target.name,
            len(removed),
            ", ".join(p.name for p in removed),
        )
    return removed


# Why a save can fail that is no bug: errno -> (what happened, what to do)
_WRITE_FAILURES = {
    errno.ENOSPC: (
        "the disk is full",
        "Free some space on that disk (the save needs about the "
        "workbook's size again, for a moment), then run the command again.",
    ),
    errno.EDQUOT: (
        "your disk quota is used up",
        "Delete files you do not need or ask for a larger quota, then run the command again.",
    ),
    errno.EFBIG: (
        "the file would be larger than this system allows",
        "Check the file-size limit "
        "(ulimit -f) and the disk's file system (FAT32 holds at most 4 GB per file).",
    ),
    errno.EROFS: (
        "its folder is on a read-only disk",
        "Copy the workbook to a folder you may write to and run the command there.",
    ),
    errno.EIO: (
        "the disk reported an input/output error",
        "Check the disk (or the network share), then run the command again.",
    ),
}


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[Path], object], *, backups: int | None = None
) -> Path:
    """Call ``write(tmp)`` to produce the new file, then move it over ``path`` atomically.

    A crash before the final rename leaves the old file exactly as it was. The previous version
    is kept as a backup (``backups``, default :func:`backup_count`). The new file keeps the old
    one's permissions.

    Raises:
        WorkbookLockedError: open in Excel, locked by another sop-excel command, or not writable.
    """
    target = Path(path).resolve()
    nested = target in _IN_FLIGHT  # e.g. a fix-up of our own temporary file: no checks, no backup
    if not nested:
        if excel_owner_file(target).exists():
            raise WorkbookLockedError(
                f"{target.name} is open in Excel (found {excel_owner_file(target).name}). "
                "Close it in Excel, then run the command again."
            )
        _check_not_locked_by_another(target)
        keep = backup_count() if backups is None else backups
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not nested:
            _remove_stale_temps(target)
        mode = _file_mode(target)
        with _temp_beside(target) as tmp:
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            if not nested:
                _keep_backup(target, keep)
            os.replace(tmp, target)
    except PermissionError as exc:
        raise WorkbookLockedError(
            f"Cannot write {target}: permission denied. Close the file in any program that "
            "has it open and check you may write to its folder."
        ) from exc
    except OSError as exc:
        why = _WRITE_FAILURES.get(exc.errno or 0)
        if why is None:
            raise
        raise WorkbookError(
            f"Cannot save {target.name}: {why[0]} ({exc.strerror or exc}). {why[1]} "
            "The workbook was not changed."
        ) from exc
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target
