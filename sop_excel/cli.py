"""The ``sop-excel`` command line: the same functions the ribbon buttons run, headless.

Exit codes: 0 done; 1 input problems (the report says where and what to do); 2 usage error;
3 the workbook cannot be opened or written (locked, corrupt, missing tables); 4 an unexpected
failure (a bug: ``--debug`` shows the traceback). No error shows a traceback without ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
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
    from sop_excel.models import FIRST_DATE, LAST_DATE

    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None
    if not FIRST_DATE <= day <= LAST_DATE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date sop-excel plans with: write a date from "
            f"{FIRST_DATE.year} to {LAST_DATE.year}"
        )
    return day


def _cmd_demo(args: argparse.Namespace) -> int:
    from sop_excel.demo import build_demo

    result = build_demo(
        args.out, args.as_of, progress=_Progress("forecast", args.quiet), step=_step(args.quiet)
    )
    print(f"Workbook written: {result.path}")
    for line in result.lines:
        print(f"  {line}")
    if result.actuals_next_day:
        print("Next: load the next day's actuals with")
        print(f"  sop-excel refresh-actuals {result.path} --actuals {result.actuals_next_day}")
    if result.exports:
        print(
            f"Built from the sample company's export files in {result.exports}/; your own company's the same "
            "way:"
        )
        print(
            "  sop-excel new plan.xlsx --items items.csv --history history.csv [--budget ...] (see README)"
        )
    return 0


def _read_mapping(args: argparse.Namespace):  # noqa: ANN202 - a ReadMapping
    from sop_excel.sources.columns import load_mapping

    return load_mapping(args.mapping).with_options(
        columns=args.column, sheets=args.sheet, decimal=args.decimal, date_format=args.date_format
    )


def _cmd_new(args: argparse.Namespace) -> int:
    from sop_excel.macros import new_workbook

    files = {
        "items": args.items,
        "history": args.history,
        "budget": args.budget,
        "capacity": args.capacity,
        "open_orders": args.open_orders,
        "production": args.production,
    }
    report = new_workbook(
        args.out,
        files,
        mapping=_read_mapping(args),
        as_of=args.as_of,
        progress=_Progress("forecast", args.quiet),
        step=_step(args.quiet),
        force=args.force,
    )
    print(f"Workbook written: {Path(args.out).resolve()}")
    print(report)
    print(
        "Next: review Items and the Scenarios sheet, then refresh-actuals with your daily orders, e.g."
    )
    print(f"  sop-excel refresh-actuals {args.out} --actuals orders.csv")
    return 0


def _cmd_update_items(args: argparse.Namespace) -> int:
    from sop_excel.macros import update_items

    mapping = _read_mapping(args)
    book = _open(args)
    report = update_items(
        book,
        args.file,
        mapping=mapping,
        effective=args.effective,
        discontinue_missing=args.discontinue_missing,
    )
    return _done(args, report)


def _cmd_refresh_forecast(args: argparse.Namespace) -> int:
    from sop_excel.macros import refresh_forecast

    engine = args.engine or ("dask" if args.scheduler else "local")
    if engine == "dask" and not args.scheduler:
        print(
            "Error: --engine dask needs --scheduler ADDRESS, the address `dask scheduler` prints "
            "(e.g. tcp://10.0.0.5:8786).",
            file=sys.stderr,
        )
        return 2
    if engine == "local" and args.scheduler:
        print("Error: --scheduler is only used with --engine dask.", file=sys.stderr)
        return 2
    from forecasting import DistributedError

    try:
        report = refresh_forecast(
            _open(args),
            progress=_Progress("forecast", args.quiet),
            engine=engine,
            scheduler=args.scheduler,
        )
    except DistributedError as exc:
        why = str(exc).rstrip()
        raise SopExcelError(
            f"The Dask engine cannot run: {why}{'' if why.endswith('.') else '.'} "
            "The workbook was not changed."
        ) from None
    return _done(args, report)


def _cmd_refresh_actuals(args: argparse.Namespace) -> int:
    from sop_excel.macros import refresh_actuals_from_source

    book = _open(args)
    _step(args.quiet)(f"Reading actuals from {args.source or 'Settings > Actuals source'}")
    report = refresh_actuals_from_source(
        book,
        args.source,
        folder=Path(args.workbook).resolve().parent,
        table=args.table,
        aside=True,
        decimal=args.decimal,
        date_format=args.date_format,
        supply=args.supply,
        supply_table=args.supply_table,
    )
    return _done(args, report)


def _cmd_add_event(args: argparse.Namespace) -> int:
    from sop_excel.macros import add_event

    report = add_event(
        _open(args),
        args.kind,
        start=args.start,
        resource=args.resource or "",
        item=args.item or "",
        end=args.end,
        working_days=args.days,
        rate=args.rate,
        delay_days=args.delay,
        owner=args.owner or "",
        status=args.status,
        comment=args.comment or "",
    )
    return _done(args, report)


def _month(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-11")
    return dt.date(int(text[:4]), int(text[5:7]), 1)


def _cmd_close_month(args: argparse.Namespace) -> int:
    from sop_excel.macros import close_month_from_source

    book = _open(args)
    if args.source:
        _step(args.quiet)(f"Reading actuals from {args.source}")
    report = close_month_from_source(
        book,
        args.source,
        folder=Path(args.workbook).resolve().parent,
        table=args.table,
        month=args.month,
        force=args.force,
        refresh=not args.no_refresh,
        progress=_Progress("forecast", args.quiet),
        aside=True,
    )
    return _done(args, report)


def _open(args: argparse.Namespace):  # noqa: ANN202 - ZipIO (or OpenpyxlIO), imported lazily
    from sop_excel.workbook.zip_io import open_workbook

    _step(args.quiet)(f"Opening {args.workbook}")
    return open_workbook(args.workbook)


def _done(args: argparse.Namespace, report: object) -> int:
    changed = getattr(report, "changed", True)
    print(f"Workbook {'updated' if changed else 'unchanged'}: {Path(args.workbook).resolve()}")
    print(report)
    return 0


def _pct(text: str) -> float:
    t = text.strip()
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a percentage: write 5% or 0.05"
        ) from None


def _months(text: str) -> tuple[object, object]:
    import pandas as pd

    start, sep, end = (t.strip() for t in text.partition(":"))
    # one month alone means from that month on (as before: "2027-03" is "2027-03:")
    bad = argparse.ArgumentTypeError(
        f"{text!r} is not a month range: write FROM:TO as year-month, "
        "e.g. 2027-01:2027-06 (either side may be left out: 2027-01:)"
    )
    if not (start or end) or any(
        t and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", t) for t in (start, end)
    ):
        raise bad
    from sop_excel.models import FIRST_DATE, LAST_DATE

    if any(t and not FIRST_DATE.year <= int(t[:4]) <= LAST_DATE.year for t in (start, end)):
        raise argparse.ArgumentTypeError(
            f"{text!r}: months from {FIRST_DATE.year} to {LAST_DATE.year} only"
        )
    first = pd.Timestamp(start + "-01") if start else pd.NaT
    last = pd.Timestamp(end + "-01") if end else pd.NaT
    if start and end and first > last:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the range starts after it ends; write the earlier month first"
        )
    return first, last


def _cmd_new_scenario(args: argparse.Namespace) -> int:
    from sop_excel.macros import new_scenario

    start, end = args.months if args.months else (None, None)
    scope = {
        "family": args.family or "",
        "item": args.item or "",
        "resource": "",
        "from_month": start,
        "to_month": end,
        "price": None,
        "unit_cost": None,
        "comment": args.description or "",
    }
    drivers = [
        {"kind": kind, "value": value, **scope}
        for kind, value in (
            ("volume", args.volume),
            ("price", args.price),
            ("unit_cost", args.unit_cost),
        )
        if value is not None
    ]
    report = new_scenario(
        _open(args),
        args.name,
        parent=args.parent,
        description=args.description or "",
        drivers=drivers,
    )
    return _done(args, report)


def _cmd_flag_drift(args: argparse.Namespace) -> int:
    from sop_excel.macros import flag_drift

    return _done(args, flag_drift(_open(args)))


def _cmd_compare(args: argparse.Namespace) -> int:
    from sop_excel.macros import compare_scenarios

    return _done(args, compare_scenarios(_open(args)))


def _cmd_export(args: argparse.Namespace) -> int:
    from sop_excel.macros import export_scenarios

    text = export_scenarios(_open(args))
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SopExcelError(
                f"Cannot write {args.out}: {exc.strerror or exc}. Check that the "
                "folder exists and that you may write there."
            ) from None
        print(f"Scenarios written: {Path(args.out).resolve()}")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from sop_excel.errors import SopExcelError
    from sop_excel.files import MAX_TEXT_BYTES, read_limited
    from sop_excel.macros import import_scenarios

    try:
        text = read_limited(
            args.file,
            "Scenario file",
            MAX_TEXT_BYTES,
            "A scenario file holds scenarios and drivers as text (export-scenarios writes "
            "one); check that this is the file you meant.",
        ).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SopExcelError(
            f"Cannot read {args.file}: {exc}. Check the path; the file must be UTF-8 TOML."
        ) from None
    return _done(args, import_scenarios(_open(args), text, source=Path(args.file).name))


def _cmd_lock(args: argparse.Namespace) -> int:
    from sop_excel.macros import lock_plan

    return _done(args, lock_plan(_open(args), args.scenario, note=args.note or ""))


def _cmd_report(args: argparse.Namespace) -> int:
    from sop_excel.macros import meeting_pack

    report = meeting_pack(
        _open(args),
        args.out,
        beside=Path(args.workbook).resolve(),
        scenarios=args.scenario,
        fmt=args.format,
        step=_step(args.quiet),
    )
    print(report)
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from sop_excel.template import build_template

    path = build_template(args.out, source=args.source, as_of=args.as_of, step=_step(args.quiet))
    print(f"Workbook written: {path}")
    print("Open it in Excel, enable macros, and use the S&OP tab (see docs/excel.md).")
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
        "function as its ribbon button, headless.",
    )
    parser.add_argument("--version", action="version", version=f"sop-excel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--backups",
        type=_count,
        default=None,
        metavar="N",
        help="previous versions of the workbook to keep in .sop-excel-backups/ "
        "beside it (default: SOP_EXCEL_BACKUPS or 3; 0 keeps none)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo",
        help="build a complete planning workbook from the bundled sample company",
        description="Build a complete planning workbook from the bundled sample "
        "company, and the next day's actuals as CSV beside it.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("sop_demo.xlsx"),
        help="where to write the workbook (default: sop_demo.xlsx)",
    )
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the planning date all sample dates hang on (default: 2026-11-18)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "new",
        help="build a planning workbook for your company from its own exports",
        description="Build a complete planning workbook for your company from its own "
        "exports (CSV or xlsx, any column names, decimal commas, local date "
        "formats): the item master and demand history (long, wide or order "
        "lines), optionally budget, capacity, this month's orders and production. Nothing "
        "of the sample company: Base, Upside and Downside over your families, "
        "the first forecast, every sheet and formula. Prints what it read.",
    )
    p.add_argument("out", type=Path, metavar="OUT.xlsx", help="the workbook to write")
    p.add_argument("--items", required=True, metavar="FILE", help="the item master (CSV or xlsx)")
    p.add_argument(
        "--history",
        required=True,
        metavar="FILE",
        help="demand history: item, month, quantity; one column per month; or order lines",
    )
    p.add_argument(
        "--budget", metavar="FILE", help="budget per family (or item) and month, long or wide"
    )
    p.add_argument("--capacity", metavar="FILE", help="hours per resource and month, long or wide")
    p.add_argument(
        "--open-orders",
        metavar="FILE",
        help="this month's orders so far (date, item, quantity, shipped): the Actuals sheet",
    )
    p.add_argument(
        "--production",
        metavar="FILE",
        help="daily production and supplier receipts (date, item, resource, produced, receipts): "
        "the Production sheet and the 13-week supply view",
    )
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the planning date: history ends the month before it (default: today)",
    )
    _reader_options(p)
    p.add_argument("--force", action="store_true", help="replace OUT.xlsx if it exists")
    p.set_defaults(func=_cmd_new)

    p = sub.add_parser(
        "template",
        help="build the macro-enabled workbook (.xlsm) with the S&OP ribbon",
        description="Build the macro-enabled planning workbook: the S&OP ribbon tab, "
        "the xlwings VBA and an xlwings.conf sheet, from the text sources "
        "in workbook_templates/ribbon. Default content: the demo.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("sop_plan.xlsm"),
        help="the .xlsm to write (default: sop_plan.xlsm)",
    )
    p.add_argument(
        "--source", type=Path, help="start from this planning workbook (.xlsx) instead of the demo"
    )
    p.add_argument(
        "--as-of",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="as-of date of the demo content",
    )
    p.set_defaults(func=_cmd_template)

    p = sub.add_parser(
        "update-items",
        help="bring the Items sheet up to date from a new item master",
        description="Bring the Items sheet up to date from a new export of the item master: "
        "new items are added (forecast as new items, from their like item), items "
        "the export marks discontinued get forecast 0 from --from, prices and "
        "costs change from --from, other attributes follow the export. Overrides, "
        "comments, consensus inputs and scenarios are kept; any that refers to an "
        "item or family that no longer holds is reported by name.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument("file", type=Path, metavar="FILE", help="the new item master (CSV or xlsx)")
    p.add_argument(
        "--from",
        dest="effective",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the month the changes take effect (default: the as-of month); a later month "
        "keeps today's prices until then",
    )
    p.add_argument(
        "--discontinue-missing",
        action="store_true",
        help="discontinue the workbook's items the export does not have (default: keep them, listed)",
    )
    _reader_options(p, kind="items")
    p.set_defaults(func=_cmd_update_items)

    p = sub.add_parser(
        "refresh-forecast",
        help="re-forecast every item from the History sheet",
        description="Re-forecast every item from the History sheet. Overrides, "
        "comments and scenario drivers are kept. With --engine dask the "
        "items are forecast on a Dask cluster, with the same results.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default=None,
        help="where to forecast: local (this machine, default) or dask (a Dask cluster)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address for --engine dask, e.g. tcp://10.0.0.5:8786",
    )
    p.set_defaults(func=_cmd_refresh_forecast)

    p = sub.add_parser(
        "refresh-actuals",
        help="load daily actuals and refresh Execution and Exceptions",
        description="Load daily actuals (date, item, orders, shipments) from a CSV or "
        "xlsx file, a SQLite file or a database URL, and refresh Execution "
        "and Exceptions. Loading the same data twice changes nothing; a "
        "late correction replaces the earlier figure; owners, statuses and "
        "comments are kept. Column names can be mapped in Settings.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "--source",
        "--actuals",
        dest="source",
        metavar="PATH_OR_URL",
        help="CSV/xlsx/SQLite file or SQLAlchemy URL (default: Settings > Actuals source)",
    )
    p.add_argument(
        "--table", default="actuals", help="database table or xlsx sheet (default: actuals)"
    )
    _conventions_options(p)
    p.add_argument(
        "--supply",
        metavar="PATH_OR_URL",
        help="daily production and supplier receipts (date, item, resource, produced, receipts) "
        "from this CSV/xlsx/SQLite file or URL (default: Settings > Supply source, else the "
        "actuals source's own supply columns when it has them)",
    )
    p.add_argument(
        "--supply-table",
        default="production",
        help="database table or xlsx sheet of --supply (default: production)",
    )
    p.set_defaults(func=_cmd_refresh_actuals)

    p = sub.add_parser(
        "add-event",
        help="add a disruption (resource down, reduced rate, receipt delayed, item blocked)",
        description="Add a disruption to the Events sheet, then recompute Execution, the "
        "supply view and Exceptions as flag-drift does. Example: sop-excel "
        "add-event plan.xlsx --kind 'Resource down' --resource LDS-PA1 "
        "--from 2026-11-20 --days 3 --owner 'Leeds plant'.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "--kind",
        required=True,
        help="Resource down, Reduced rate, Receipt delayed or Item blocked (any case; - or _ for spaces)",
    )
    p.add_argument(
        "--from",
        dest="start",
        type=_date,
        required=True,
        metavar="YYYY-MM-DD",
        help="the first day (for Receipt delayed: the day the receipts were due)",
    )
    p.add_argument(
        "--to", dest="end", type=_date, metavar="YYYY-MM-DD", help="the last day (default: --from)"
    )
    p.add_argument("--days", type=_whole, metavar="N", help="or: for N working days from --from")
    p.add_argument("--resource", help="the resource (Resource down, Reduced rate)")
    p.add_argument("--item", help="the item (Receipt delayed, Item blocked)")
    p.add_argument(
        "--rate",
        type=_pct,
        metavar="PCT",
        help="Reduced rate: the share of its hours the resource still works, e.g. 50%%",
    )
    p.add_argument(
        "--delay", type=_whole, metavar="DAYS", help="Receipt delayed: by how many calendar days"
    )
    p.add_argument("--owner", help="who deals with it")
    p.add_argument(
        "--status", default="Open", help="Open (default), In progress, Closed or Cancelled"
    )
    p.add_argument("--comment")
    p.set_defaults(func=_cmd_add_event)

    p = sub.add_parser(
        "flag-drift",
        help="recompute Execution and Exceptions from the loaded actuals",
        description="Recompute drift, Execution and Exceptions from the actuals already "
        "in the workbook (after a plan change or a lock). Owners and "
        "comments are kept.",
    )
    p.add_argument("workbook", type=Path)
    p.set_defaults(func=_cmd_flag_drift)

    p = sub.add_parser(
        "new-scenario",
        help="create a scenario as deltas over another",
        description="Create scenario NAME from a parent (its drivers apply first), "
        "optionally with a volume, price or unit-cost change, then "
        "recompute every scenario.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument("name")
    p.add_argument(
        "--from",
        dest="parent",
        default="Base",
        metavar="PARENT",
        help="parent scenario (default Base)",
    )
    p.add_argument("--description")
    p.add_argument("--volume", type=_pct, metavar="PCT", help="volume change, e.g. 5%% or -0.1")
    p.add_argument("--price", type=_pct, metavar="PCT", help="price change")
    p.add_argument("--unit-cost", type=_pct, metavar="PCT", help="unit cost change")
    p.add_argument("--family", help="limit the changes to one family")
    p.add_argument("--item", help="limit the changes to one item")
    p.add_argument(
        "--months",
        type=_months,
        metavar="FROM:TO",
        help="limit to a month range, e.g. 2027-01:2027-06; 2027-03 or 2027-03: from that month on, :2027-06 up to it",
    )
    p.set_defaults(func=_cmd_new_scenario)

    p = sub.add_parser(
        "compare-scenarios",
        help="recompute every scenario: plan, finance, capacity, inventory",
        description="Recompute every scenario from its drivers and refresh the "
        "Scenario plan, Finance, Compare, Supply and Inventory sheets.",
    )
    p.add_argument("workbook", type=Path)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser(
        "export-scenarios",
        help="write the scenarios and drivers as TOML",
        description="Write the scenarios and their drivers as TOML text, to review "
        "a plan change as a diff.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument("--out", type=Path, help="file to write (default: print)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "import-scenarios",
        help="replace the scenarios and drivers from a TOML file",
        description="Replace the workbook's scenarios and drivers with those of a "
        "TOML file (as written by export-scenarios), then recompute.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument("file", type=Path)
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "lock-plan",
        help="lock a scenario as the plan of record",
        description="Lock a scenario as the plan of record: version, time, user "
        "and content hash, with forecast snapshots by lag. Execution "
        "then compares actuals with it.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "scenario", nargs="?", help="scenario to lock (default: Settings > Plan scenario)"
    )
    p.add_argument("--note")
    p.set_defaults(func=_cmd_lock)

    p = sub.add_parser(
        "report",
        help="make the S&OP meeting pack (PDF, HTML or PNG) from the workbook",
        description="Make the S&OP meeting pack from the workbook's tables: a cover with "
        "the cycle, the plan of record and revenue, margin and gap to budget "
        "per scenario; demand review; scenarios side by side; supply "
        "(capacity and inventory); performance (accuracy, value added, value "
        "at risk); S&OE escalations. The workbook is only read.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "--out",
        type=Path,
        help="file to write (default: beside the workbook, "
        "<name>_pack_<YYYY-MM>.pdf); PNG: one file per page, "
        "<out>-01.png, <out>-02.png, ...",
    )
    p.add_argument(
        "--scenario",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="the scenarios to show, in this order (default: all)",
    )
    p.add_argument(
        "--format",
        choices=("pdf", "html", "png"),
        help="pdf, html (one self-contained file) or png (default: --out's extension, else pdf)",
    )
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "close-month",
        help="close the month: actuals become History, the plan rolls forward",
        description="Close a month at month end: its daily actuals (orders, or shipments "
        "when Settings > History measure says so) become its History row per "
        "item; the as-of date moves to the first working day of the next month; "
        "every lock's forecast of the month is scored by lag on the Accuracy "
        "sheet; the month's exceptions are logged with their final status and "
        "the S&OE sheets start the new month; overrides, inputs and drivers of "
        "past months move to the Archive sheet; the forecast is refreshed. "
        "Refused while the month is not over or a working day has no actuals, "
        "unless --force. Running it again for a closed month changes nothing, "
        "unless its actuals changed (a late correction): then its History is "
        "replaced and the Log says so.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument(
        "--actuals",
        "--source",
        dest="source",
        metavar="PATH_OR_URL",
        help="also load these actuals first (CSV/xlsx/SQLite file or SQLAlchemy URL)",
    )
    p.add_argument(
        "--table", default="actuals", help="database table or xlsx sheet (default: actuals)"
    )
    p.add_argument(
        "--month",
        type=_month,
        metavar="YYYY-MM",
        help="the month to close (default: the as-of month once it is over); an earlier "
        "month closes it again from its daily actuals",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="close even if the month is not over or working days have no actuals",
    )
    p.add_argument(
        "--no-refresh",
        action="store_true",
        help="leave the forecast as it is (run refresh-forecast next, e.g. on a Dask cluster)",
    )
    p.set_defaults(func=_cmd_close_month)

    p = sub.add_parser(
        "check",
        help="check a workbook: tables, formulas, cached values, inputs",
        description="Check that a workbook has every sheet, table and named range, "
        "that no formula cell lacks a value, that the planner's inputs "
        "pass every check the commands make (nothing is changed), and "
        "(--recalc) that LibreOffice computes the same numbers.",
    )
    p.add_argument("workbook", type=Path)
    p.add_argument("--recalc", action="store_true", help="recalculate in LibreOffice and compare")
    p.set_defaults(func=_cmd_check)
    return parser


def _decimal(text: str) -> str:
    from sop_excel.sources.conventions import parse_decimal_option

    try:
        return parse_decimal_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date_order(text: str) -> str:
    from sop_excel.sources.conventions import parse_date_option

    try:
        return parse_date_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _reader_options(p: argparse.ArgumentParser, kind: str | None = None) -> None:
    """The options of the export readers (new reads several kinds of file, update-items only
    ``kind``): the mapping file, which column is which, the xlsx sheet, numbers and dates."""
    if kind is None:
        mapping = (
            "column names, sheets, number and date formats and Settings values (docs/sources.md)"
        )
        column = ("KIND.ROLE=HEADER", "which column is which, e.g. history.qty=Menge (repeatable)")
        sheet = ("KIND=SHEET", "the xlsx sheet to read, e.g. items=Materials (repeatable)")
    else:
        mapping = "column names, sheet, formats (as for new)"
        column = (f"{kind}.ROLE=HEADER", "which column is which")
        sheet = (f"{kind}=SHEET", "the xlsx sheet to read")
    p.add_argument("--mapping", type=Path, metavar="FILE.toml", help=mapping)
    p.add_argument("--column", action="append", metavar=column[0], help=column[1])
    p.add_argument("--sheet", action="append", metavar=sheet[0], help=sheet[1])
    _conventions_options(p)


def _conventions_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--decimal",
        type=_decimal,
        metavar="point|comma",
        help="the decimal separator of the file's numbers, when the file cannot tell "
        "(1.254, 1,254); default: detected from the file",
    )
    p.add_argument(
        "--date-format",
        type=_date_order,
        metavar="DMY|MDY",
        help="day/month/year or month/day/year, when the file's dates cannot tell "
        "(03/04/2026); default: detected from the file",
    )


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number: write e.g. 3") from None


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of backups: write 0 or more")
    return n


# Commands that write a file, and the file: each holds the writer lock for its whole run.
_WRITES = {
    "demo": "out",
    "new": "out",
    "template": "out",
    "update-items": "workbook",
    "refresh-forecast": "workbook",
    "refresh-actuals": "workbook",
    "flag-drift": "workbook",
    "add-event": "workbook",
    "new-scenario": "workbook",
    "compare-scenarios": "workbook",
    "import-scenarios": "workbook",
    "lock-plan": "workbook",
    "close-month": "workbook",
}


# Text arguments that end up in the workbook or select from it (paths are the system's business)
_TEXT_ARGS = {
    "name": "scenario name",
    "parent": "parent scenario (--from)",
    "description": "--description",
    "family": "--family",
    "item": "--item",
    "note": "--note",
    "scenario": "scenario",
    "table": "--table",
    "kind": "--kind",
    "resource": "--resource",
    "owner": "--owner",
    "status": "--status",
    "comment": "--comment",
    "supply_table": "--supply-table",
}


def _make_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SopExcelError(
            f"Cannot create the folder {path.parent} for {path.name}: "
            f"{exc.strerror or exc}. Choose another --out path."
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    from sop_excel.workbook.safe_save import set_backup_count, writer_lock

    parser = build_parser()
    args = parser.parse_args(argv)
    for dest in _TEXT_ARGS:  # bytes that are not UTF-8 arrive as lone surrogates: refuse them here
        text = getattr(args, dest, None)
        if isinstance(text, str) and any("\ud800" <= ch <= "\udfff" for ch in text):
            shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            print(
                f"Error: the {_TEXT_ARGS[dest]} {shown!r} is not valid UTF-8 text (the bytes shown as "
                "\ufffd are not). Type it again, or set your terminal to UTF-8.",
                file=sys.stderr,
            )
            return 2
    target = getattr(args, _WRITES[args.command]) if args.command in _WRITES else None
    try:
        set_backup_count(args.backups)
        if target is not None and _WRITES[args.command] == "out":
            _make_folder(Path(target))  # demo/template write a new file: make its folder
        with writer_lock(target, args.command) if target else contextlib.nullcontext():
            return int(args.func(args))
    except SopExcelError as err:
        if args.debug:
            traceback.print_exc()
        print(f"Error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("Interrupted; the workbook was not changed.", file=sys.stderr)
        return 130
    except MemoryError:  # not a bug: more data than this machine holds in memory
        if args.debug:
            traceback.print_exc()
        print(
            "Error: sop-excel ran out of memory; the workbook was not changed. The workbook or the "
            "input file is larger than this machine can hold: use a smaller input (fewer months of "
            "actuals, fewer items or scenarios) or a machine with more memory.",
            file=sys.stderr,
        )
        return 1
    except Exception as err:  # a bug: say so plainly; the file is unchanged (saves are atomic)
        if args.debug:
            raise
        print(
            f"Error: sop-excel failed unexpectedly ({type(err).__name__}: {err}). The workbook "
            "was not changed. Run the command again with --debug and report the traceback.",
            file=sys.stderr,
        )
        return 4
    finally:
        set_backup_count(None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
