"""The ``sop-excel`` command line: the same functions the ribbon buttons run, headless.

Exit codes: 0 done; 1 input problems (the report says where and what to do); 2 usage error;
3 the workbook cannot be opened or written (locked, corrupt, missing tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from sop_excel import __version__
from sop_excel.errors import SopExcelError

__all__ = ["main"]


class _Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label, self.quiet = label, quiet
        self.tty = sys.stderr.isatty()
        self.start = time.perf_counter()
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or total <= 0:
            return
        frac = done / total
        if self.tty:
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r  {self.label} [{bar:<30}] {done}/{total}")
            if done >= total:
                sys.stderr.write(f"  {time.perf_counter() - self.start:.1f}s\n")
            sys.stderr.flush()
        elif int(frac * 10) > self._last_decile:
            self._last_decile = int(frac * 10)
            print(f"  {self.label}: {done}/{total}", file=sys.stderr, flush=True)


def _step(quiet: bool) -> Callable[[str], None]:
    def say(msg: str) -> None:
        if not quiet:
            print(f"- {msg}", file=sys.stderr, flush=True)
    return say


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def _cmd_demo(args: argparse.Namespace) -> int:
    from sop_excel.demo import build_demo

    result = build_demo(args.out, args.as_of, progress=_Progress("forecast", args.quiet),
                        step=_step(args.quiet))
    print(f"Workbook written: {result.path}")
    for line in result.lines:
        print(f"  {line}")
    if result.actuals_next_day:
        print("Next: load the next day's actuals with")
        print(f"  sop-excel refresh-actuals {result.path} --actuals {result.actuals_next_day}")
    return 0


def _cmd_refresh_forecast(args: argparse.Namespace) -> int:
    from sop_excel.macros import refresh_forecast
    from sop_excel.workbook.openpyxl_io import OpenpyxlIO

    say = _step(args.quiet)
    say(f"Opening {args.workbook}")
    book = OpenpyxlIO(args.workbook)
    report = refresh_forecast(book, progress=_Progress("forecast", args.quiet))
    print(f"Workbook updated: {Path(args.workbook).resolve()}")
    print(report)
    return 0


def _cmd_refresh_actuals(args: argparse.Namespace) -> int:
    from sop_excel.macros import refresh_actuals
    from sop_excel.sources import file_digest, read_actuals_csv
    from sop_excel.workbook.openpyxl_io import OpenpyxlIO
    from sop_excel.workbook.tables import read_frame

    say = _step(args.quiet)
    say(f"Opening {args.workbook}")
    book = OpenpyxlIO(args.workbook)
    known = set(read_frame(book, "tblItems")["item"])
    say(f"Reading {args.actuals}")
    actuals = read_actuals_csv(args.actuals, known_items=known)
    source = f"{Path(args.actuals).name} (sha256 {file_digest(args.actuals)})"
    report = refresh_actuals(book, actuals, source=source)
    print(f"Workbook updated: {Path(args.workbook).resolve()}")
    print(report)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from sop_excel.check import check_workbook

    problems, lines = check_workbook(args.workbook, recalc=args.recalc)
    for line in lines:
        print(line)
    for p in problems:
        print(f"Problem: {p}")
    if problems:
        print(f"{len(problems)} problem(s) found.")
        return 1
    print("OK")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sop-excel",
        description="S&OP and S&OE planning in one Excel workbook. Each command runs the same "
                    "function as its ribbon button, headless.")
    parser.add_argument("--version", action="version", version=f"sop-excel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="build a complete planning workbook from the bundled sample company",
                       description="Build a complete planning workbook from the bundled sample "
                                   "company, and the next day's actuals as CSV beside it.")
    p.add_argument("--out", type=Path, default=Path("sop_demo.xlsx"),
                   help="where to write the workbook (default: sop_demo.xlsx)")
    p.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="the planning date all sample dates hang on (default: 2026-11-18)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("refresh-forecast", help="re-forecast every item from the History sheet",
                       description="Re-forecast every item from the History sheet. Overrides, "
                                   "comments and scenario drivers are kept.")
    p.add_argument("workbook", type=Path)
    p.set_defaults(func=_cmd_refresh_forecast)

    p = sub.add_parser("refresh-actuals", help="load a day's actuals and refresh Execution and Exceptions",
                       description="Load daily actuals (CSV: date, item, orders, shipments) and "
                                   "refresh Execution and Exceptions. Loading the same file twice "
                                   "changes nothing; owners and comments are kept.")
    p.add_argument("workbook", type=Path)
    p.add_argument("--actuals", type=Path, required=True, metavar="FILE", help="CSV of daily actuals")
    p.set_defaults(func=_cmd_refresh_actuals)

    p = sub.add_parser("check", help="check a workbook: tables, formulas, cached values",
                       description="Check that a workbook has every sheet, table and named range, "
                                   "that no formula cell lacks a value, and (--recalc) that "
                                   "LibreOffice computes the same numbers.")
    p.add_argument("workbook", type=Path)
    p.add_argument("--recalc", action="store_true", help="recalculate in LibreOffice and compare")
    p.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SopExcelError as err:
        if args.debug:
            traceback.print_exc()
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("Interrupted; the workbook was not changed.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
