"""Your company's workbook: ``sop-excel new`` builds one from the company's own exports, and
``update-items`` keeps its item master current (the commands, through :mod:`sop_excel.macros`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.basis import keep_basis, workbook_basis
from sop_excel.errors import SopExcelError
from sop_excel.outcome import RunReport
from sop_excel.pipeline import Progress
from sop_excel.rebuild import log_command, write_execution, write_sop
from sop_excel.settings import new_workbook_settings, read_settings
from sop_excel.workbook.io import WorkbookIO
from sop_excel.workbook.tables import read_frame, rows_for, write_frame

__all__ = ["new_workbook", "update_items"]


def new_workbook(
    out: str | Path,
    files: dict[str, str | Path | None],
    *,
    mapping: object = None,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    step: Callable[[str], None] | None = None,
    force: bool = False,
) -> RunReport:
    """``sop-excel new``: a planning workbook for a company from its own exports, and nothing else.

    ``files``: ``items``, ``history`` (required), ``budget``, ``capacity``, ``open_orders``,
    ``production`` (daily production and supplier receipts: the Production sheet);
    ``mapping``: a :class:`sop_excel.sources.columns.ReadMapping` (columns, sheets, conventions,
    Settings values). Reads and checks every file first (nothing is written when one is wrong),
    then plans with empty planner state (Base, Upside, Downside over the company's families; no
    inputs, locks or log lines but its own) and writes the workbook.
    """
    from sop_excel.planbook import check_rows, plan_tables, write_plan
    from sop_excel.sources.columns import ReadMapping
    from sop_excel.sources.exports import read_company
    from sop_excel.sources.read import file_digest

    say = step or (lambda _msg: None)
    target = Path(out)
    if target.suffix.lower() != ".xlsx":
        raise SopExcelError(
            f"{target.name}: a new planning workbook must end in .xlsx (the macro-enabled "
            "one is made from it by sop-excel template --source)."
        )
    if target.exists() and not force:
        raise SopExcelError(
            f"{target} exists: sop-excel new writes a new workbook and does not replace one. "
            "Choose another name, or add --force (the old file is kept in .sop-excel-backups/)."
        )
    mapping = mapping if isinstance(mapping, ReadMapping) else ReadMapping()
    as_of = as_of or dt.date.today()
    settings, values = new_workbook_settings(as_of, mapping)
    say(
        "Reading "
        + ", ".join(f"{k.replace('_', ' ')} {Path(v).name}" for k, v in files.items() if v)
    )
    company = read_company(files, mapping, as_of)
    n_items = len(company.items)  # what will not fit Excel's grid is refused before hours of work
    check_rows(
        {
            T.HISTORY: len(company.history),
            T.ITEMS: n_items,
            T.FORECAST: n_items * settings.horizon,
            T.SCENARIO_PLAN: 3 * n_items * settings.horizon,
        }
    )
    say(f"Forecasting {len(company.items):,} items")
    plan = plan_tables(
        settings,
        company.items,
        company.history,
        company.budget,
        company.capacity,
        company.actuals,
        production=company.production,
        progress=progress,
    )
    report = RunReport(
        "new",
        [
            "Read:",
            *[f"  {line}" for line in company.summary],
            "Planned:",
            *[f"  {line}" for line in plan.lines()],
        ],
        list(company.warnings),
    )
    fallbacks = int((plan.models["fallback"] != "").sum())
    if fallbacks:
        report.warnings.append(
            f"{fallbacks} items used a fallback model (see Forecast > Fallback)."
        )
    data = "; ".join(f"{Path(p).name} (sha256 {file_digest(p)})" for p in company.files.values())
    details = " | ".join(
        line.strip() for line in report.lines if line.strip() not in ("Read:", "Planned:")
    )
    say(f"Writing {target.name}")
    write_plan(
        target, values, plan, [{"command": "new", "data": data[:2000], "details": details[:30000]}]
    )
    return report


def update_items(
    book: WorkbookIO,
    source: str | Path,
    *,
    mapping: Any = None,
    effective: dt.date | None = None,
    discontinue_missing: bool = False,
) -> RunReport:
    """``sop-excel update-items``: the workbook's item master brought up to date from a new export.

    Adds new items (forecast as new items: from their like item when the master names one),
    discontinues the ones it marks so (and with ``discontinue_missing`` the ones it lacks) from
    ``effective`` (default: the as-of month), changes prices and unit costs from ``effective``,
    and takes the other attributes it has. Overrides, comments, consensus inputs and scenarios
    are kept; any of them that refers to an item or family that no longer holds is reported by
    name. The S&OP tables are recomputed; existing items keep their statistical forecast.
    """
    from sop_excel.core.master import dangling_references, item_changes
    from sop_excel.sources.columns import ReadMapping
    from sop_excel.sources.exports import read_items

    settings = read_settings(book)
    mapping = mapping if isinstance(mapping, ReadMapping) else ReadMapping()
    new, read_lines = read_items(Path(source), mapping)
    old = read_frame(book, T.ITEMS)
    month0 = pd.Timestamp(settings.as_of).replace(day=1)
    when = pd.Timestamp(effective).replace(day=1) if effective is not None else month0
    ch = item_changes(
        old,
        new,
        given=set(new.attrs.get("given", set())),
        as_of_month=month0,
        effective=when,
        discontinue_missing=discontinue_missing,
    )
    items = ch.items
    history = read_frame(book, T.HISTORY)
    forecast = read_frame(book, T.FORECAST)
    models = read_frame(book, T.MODELS)
    keep = [
        c
        for c in forecast.columns
        if c
        in (
            "item",
            "family",
            "site",
            "month",
            "baseline",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95",
            "naive",
            "override",
            "reason_code",
            "comment",
        )
    ]
    forecast = forecast[keep]
    master = items.drop_duplicates("item").set_index("item")
    forecast = forecast.assign(
        family=forecast["item"].map(master["family"]).fillna(forecast["family"]),
        site=forecast["item"].map(master["site"]).fillna(forecast["site"]),
    )
    if ch.added:  # no history yet: the like item's forecast as the Forecast sheet has it, else 0
        forecast, models = pipeline.without_history(settings, items, forecast, models)
    forecast, models = pipeline.discontinued(items, forecast, models)
    models = models.assign(family=models["item"].map(master["family"]).fillna(models["family"]))
    write_frame(book, T.ITEMS, items)
    # drivers on a family or item this master no longer has are named below, not refused: the
    # planner corrects them next (every other command refuses them until then)
    frames = write_sop(book, settings, items, forecast, references=False)
    final = frames[T.FORECAST]
    write_frame(book, T.MODELS, models)
    book.write_table(T.TREND, rows_for(T.TREND, pipeline.trend_frame(history, final, items)))
    basis = workbook_basis(book, settings, items, final)
    write_execution(book, settings, items, read_frame(book, T.ACTUALS), basis=basis)
    report = RunReport("update-items", ["Read:", *[f"  {line}" for line in read_lines]])

    def some(names: list[str]) -> str:
        return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")

    def money(rows: list[tuple[str, str, float, float]]) -> str:
        return "; ".join(
            f"{i} {f.replace('_', ' ')} {a:g} -> {b:g}" for i, f, a, b in rows[:10]
        ) + (f"; and {len(rows) - 10} more" if len(rows) > 10 else "")

    lines = [f"Items: {len(items):,} on the Items sheet ({len(new):,} in {Path(source).name})."]
    if ch.added:
        lines.append(f"Added {len(ch.added)} (forecast as new items): {some(ch.added)}.")
    if ch.discontinued:
        lines.append(
            f"Discontinued from {when:%b %Y} (forecast 0 from then, history kept): {some(ch.discontinued)}."
        )
    if ch.prices_now:
        lines.append(f"Prices and costs changed now: {money(ch.prices_now)}.")
    if ch.prices_later:
        lines.append(
            f"Prices and costs changing from {when:%b %Y} (Items > New price, Price from): "
            f"{money(ch.prices_later)}."
        )
    if ch.pending_applied:
        lines.append(
            f"Price changes whose month has come, now the price: {some(ch.pending_applied)}."
        )
    if ch.changed:
        lines.append(
            "Other changes: "
            + "; ".join(
                f"{i} {f.replace('_', ' ')} {a!r} -> {b!r}" for i, f, a, b in ch.changed[:10]
            )
            + (f"; and {len(ch.changed) - 10} more" if len(ch.changed) > 10 else "")
            + "."
        )
    if ch.missing and not discontinue_missing:
        report.warnings.append(
            f"{len(ch.missing)} items of the workbook are not in {Path(source).name} and were kept "
            f"as they are (add --discontinue-missing to discontinue them): {some(ch.missing)}."
        )
    if not ch.anything:
        lines.append("Nothing changed: the Items sheet already says what the file says.")
    report.lines += lines
    report.warnings += dangling_references(
        items,
        read_frame(book, T.DRIVERS),
        read_frame(book, T.INPUTS),
        read_frame(book, T.FAMILY_TARGETS),
    )
    log_command(book, "update-items", f"{Path(source).name}", " ".join(lines)[:30000])
    book.save()
    keep_basis(book, settings, basis)
    return report
