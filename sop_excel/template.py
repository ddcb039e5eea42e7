"""The macro-enabled planning template (.xlsm): a planning workbook, the demo's or the planner's
own, made macro-enabled by :func:`sop_excel.workbook.xlsm.write_xlsm`.

It lives above the workbook layer because its default source is the demo workbook of the
bundled sample company, built here (:func:`sop_excel.demo.build_demo`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sop_excel.errors import SopExcelError, WorkbookError
from sop_excel.workbook.xlsm import write_xlsm

__all__ = ["build_template"]


def build_template(
    out: str | Path,
    *,
    source: str | Path | None = None,
    as_of: dt.date | None = None,
    step: Callable[[str], None] | None = None,
) -> Path:
    """Build the macro-enabled planning workbook at ``out`` (an ``.xlsm``).

    Args:
        out: where to write it; must end in ``.xlsm``.
        source: a planning workbook (.xlsx) to start from; default: the demo workbook of the
            bundled sample company, built now (``sop_excel.demo.build_demo``), whose next
            day's actuals CSV is written beside ``out``.
        as_of: the demo's planning date (only without ``source``).
        step: called with a line per step, for progress output.

    Returns the path written. The target is replaced atomically.
    """
    say = step or (lambda _m: None)
    target = Path(out)
    if target.suffix.lower() != ".xlsm":
        raise SopExcelError(f"{target.name}: a macro-enabled workbook must end in .xlsm.")
    with tempfile.TemporaryDirectory(prefix="sop-xlsm-") as tmp:
        if source is None:
            from sop_excel.demo import build_demo

            say("Building the planning workbook from the sample company")
            demo = build_demo(Path(tmp) / "sop_plan.xlsx", as_of, step=say)
            source = demo.path
            if demo.actuals_next_day:  # the next day's actuals, to try Refresh actuals
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(demo.actuals_next_day, target.parent / demo.actuals_next_day.name)
                say(f"Next day's actuals written: {target.parent / demo.actuals_next_day.name}")
                _set_actuals_source(demo.path, demo.actuals_next_day.name)  # the first click works
        else:
            from sop_excel.workbook.guard import check_xlsx

            if not Path(source).is_file():
                raise WorkbookError(
                    f"No workbook at {source}. Check the --source path, or leave "
                    "it out to start from the demo."
                )
            check_xlsx(source)  # refuses a non-zip, a truncated file or a zip bomb, in words
        return write_xlsm(source, target, step=say)


def _set_actuals_source(path: Path, source: str) -> None:
    """Settings > Actuals source of the workbook at ``path`` set to ``source`` (a file name, read
    next to the workbook), so Refresh actuals works at the first click."""
    from sop_excel.workbook.safe_save import no_backup
    from sop_excel.workbook.zip_io import ZipIO

    book = ZipIO(path)
    rows = book.read_table("tblSettings")
    for row in rows[1:]:
        if row and row[0] == "Actuals source":
            row[1] = source
    book.write_table("tblSettings", rows)
    with no_backup():
        book.save()
    book.close()
