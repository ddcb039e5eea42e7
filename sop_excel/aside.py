"""Reading aside: a source or a large table read by a forked process of its own while the
command reads the rest of the workbook (the CLI on Linux with more than one core; never
inside Excel), with the read's time limit and its errors raised here as they were raised there.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sop_excel.errors import SopExcelError
from sop_excel.files import read_timeout
from sop_excel.workbook.io import PackageIO, WorkbookIO
from sop_excel.workbook.safe_save import can_fork_helpers, in_forked_child
from sop_excel.workbook.tables import read_frame

_logger = logging.getLogger(__name__)

__all__ = ["reading_aside", "tables_aside"]


@contextlib.contextmanager
def reading_aside(
    read: Callable[..., pd.DataFrame], *args: object, aside: bool = True, **kwargs: object
) -> Iterator[Callable[[], pd.DataFrame]]:
    """``read(*args, **kwargs)`` in a second process while this one reads the workbook, on a
    machine with more than one core (a database of 310,000 rows takes about a second, as long
    as the Actuals sheet); gives the call that waits for its result.

    Its errors are raised here as they were raised there (they name the file, row and column);
    a process that cannot start, or dies, means reading here. The process does this one read
    and ends; it holds none of this one's writer locks, and on Linux it is killed if this one
    dies first. Linux only (fork): elsewhere a new process would import pandas again.
    """
    if not (aside and can_fork_helpers()):
        yield lambda: read(*args, **kwargs)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_read_and_send,
        args=(send, read, args, kwargs, os.getpid()),
        daemon=True,
        name="sop-excel source reader",
    )
    try:
        proc.start()
    except (OSError, RuntimeError) as exc:  # no processes here (a sandbox, a frozen app)
        _logger.debug("reading the source in this process: %s", exc)
        receive.close()
        send.close()
        yield lambda: read(*args, **kwargs)
        return
    send.close()  # ours: the pipe ends when the reader's end closes

    def result() -> pd.DataFrame:
        limit = read_timeout()
        if not receive.poll(
            limit + 10
        ):  # a source that never answers (a database server, a network share)
            raise SopExcelError(
                f"Reading {_what(args)} took more than {limit:,.0f} s and was stopped; the "
                "workbook was not changed. Check the source (SOP_EXCEL_READ_TIMEOUT raises "
                "the limit)."
            )
        try:
            ok, value = receive.recv()
        except Exception:  # noqa: BLE001 - the reader died without a word, or its word cannot be read: read here
            return read(*args, **kwargs)
        if ok:
            return value
        raise value

    try:
        yield result
    finally:
        receive.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _what(args: tuple) -> str:
    """What a reader aside reads, for a message: the source it was given."""
    from sop_excel.sources import source_kind
    from sop_excel.sources.sql import redact_url

    if not args or not isinstance(args[0], str | Path):
        return "the actuals"
    try:
        return f"actuals from {redact_url(str(args[0])) if source_kind(args[0]) == 'url' else Path(args[0]).name}"
    except SopExcelError:
        return "the actuals"


def _read_and_send(
    send: Any, read: Callable[..., pd.DataFrame], args: tuple, kwargs: dict, parent: int
) -> None:
    """In the reader process: ``(True, frame)`` or ``(False, the error)`` down the pipe."""
    in_forked_child(parent)
    # one read, then the process ends: no cycle collection (its passes would also walk every
    # object inherited from the parent, copying their pages; about a fifth of a reader's time)
    gc.disable()
    try:
        try:
            reply: tuple[bool, object] = (True, read(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every error goes back to be raised there
            reply = (False, exc)
            try:  # an error class that pickles but cannot be made again (a driver's): its text
                pickle.loads(pickle.dumps(exc))
            except Exception:  # noqa: BLE001
                reply = (False, SopExcelError(f"{exc.__class__.__name__}: {exc}"))
        send.send(reply)
    except (BrokenPipeError, OSError):  # the command ended first: nobody to tell
        pass
    finally:
        send.close()


@contextlib.contextmanager
def tables_aside(
    book: WorkbookIO, names: tuple[str, ...], aside: bool
) -> Iterator[dict[str, Callable[[], pd.DataFrame]]]:
    """A call per table that gives its frame: on the zip side with ``aside`` (the CLI on a
    machine with more than one core) each table is read by a process of its own from the saved
    file meanwhile (see :func:`reading_aside`), else here when called."""
    reader = (
        book.frame_reader if aside and can_fork_helpers() and isinstance(book, PackageIO) else None
    )
    with contextlib.ExitStack() as stack:
        calls: dict[str, Callable[[], pd.DataFrame]] = {}
        for name in names:
            read = reader(name) if reader is not None else None
            calls[name] = (
                stack.enter_context(reading_aside(read))
                if read is not None
                else functools.partial(read_frame, book, name)
            )
        yield calls
