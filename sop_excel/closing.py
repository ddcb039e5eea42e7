"""close-month: a month's daily actuals become its History row, every lock's forecast of it is
scored, and the plan rolls into the next month (the command and the ribbon's Close month
button, through :mod:`sop_excel.macros`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import getpass
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.aside import reading_aside, tables_aside
from sop_excel.basis import basis_key, kept_following, latest_lock, save_keeping_basis
from sop_excel.core import monthly
from sop_excel.core.drift import WorkCalendar
from sop_excel.core.execution import merge_actuals, month_closed_events
from sop_excel.core.frames import append_rows
from sop_excel.errors import InputError, LayoutError
from sop_excel.models import Settings
from sop_excel.outcome import RunReport, days_text, items_text, months_text
from sop_excel.pipeline import Progress
from sop_excel.rebuild import (
    accuracy_frames,
    append_archive,
    log_command,
    supply_summary,
    write_execution,
    write_sop,
)
from sop_excel.settings import as_of_rows, read_settings, write_as_of
from sop_excel.workbook.io import PackageIO, WorkbookIO
from sop_excel.workbook.tables import (
    cell_locator,
    keep_planner_columns,
    read_frame,
    rows_for,
    write_frame,
)

__all__ = ["CLOSE_TABLES", "close_month", "close_month_from_source"]

CLOSE_TABLES = (T.CLOSED_MONTHS, T.ARCHIVE, T.MONTH_ACCURACY)  # made with close-month


def close_month(
    book: WorkbookIO,
    actuals: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    *,
    source: str = "",
    month: dt.date | pd.Timestamp | None = None,
    force: bool = False,
    today: dt.date | None = None,
    refresh: bool = True,
    progress: Progress | None = None,
    engine: str = "local",
    scheduler: object = None,
    aside: bool = False,
) -> RunReport:
    """Close a month: its daily actuals become its History row per item, the plan rolls forward.

    The month is ``month``, else the as-of month (see :func:`sop_excel.core.monthly.month_to_close`). Closing the
    as-of month: History gets the month's orders (Settings > History measure: or shipments) per
    item from the Actuals sheet plus ``actuals`` (items with History and no actuals get 0; items
    with neither get no row); the as-of date moves to the first working day of the next month;
    every lock's forecast of the month is scored by lag (Accuracy > closed months) and the FVA
    tables recomputed; the month's exceptions go to the exception log with their final status
    and the S&OE sheets start the new month (owner, status and comment of items still open
    come back if flagged again); overrides, consensus inputs, family targets and scenario
    drivers of past months move to the Archive sheet; the Actuals sheet keeps the closed month
    onward; the forecast is refreshed (``refresh``; overrides for future months kept) and
    S&OE computed against it. Closing an earlier month again (a late correction) replaces its
    History rows and scores and refreshes; the as-of date stays. A month closed already whose
    figures did not change: nothing is written.

    Refused when the month is not over (``today``, default the real date, is not after its last
    day) or a working day has no actuals, unless ``force``. ``actuals``: rows from a source, or
    the call that reads them. ``aside``: the largest tables (Forecast, Snapshots, the plan of
    record) are read by processes of their own meanwhile (the CLI; not inside Excel). One
    save: the workbook is untouched when anything fails.
    """
    settings = read_settings(book)
    missing_tables = [t for t in CLOSE_TABLES if t not in book.table_names()]
    if missing_tables:
        raise LayoutError(
            f"{book.name} has no table {', '.join(missing_tables)}: it was made by an earlier "
            "sop-excel, before close-month. Build a new workbook (sop-excel demo, sop-excel "
            "template) and copy your sheets' data into it."
        )
    today = today or dt.date.today()
    calendar = WorkCalendar(holidays=settings.holidays)
    as_of_month = monthly.month_start(settings.as_of)
    closes = read_frame(book, T.CLOSED_MONTHS)
    closed = sorted(pd.Timestamp(m) for m in closes["month"])
    target = monthly.month_to_close(as_of_month, closed, month, today)
    rolling = target == as_of_month
    if rolling:
        as_of_rows(book)  # a formula there is refused before any work
    end = monthly.month_end(target)
    not_over = today <= end.date()
    if not_over and not force:
        raise InputError(
            f"{target:%B %Y} is not over: it ends on {end:%Y-%m-%d} and today is {today:%Y-%m-%d}. "
            f"Close it from {end + pd.Timedelta(days=1):%Y-%m-%d} on, or now with sop-excel "
            "close-month --force (days with no actuals count as missing)."
        )
    # without the refresh, the new month's plan comes from the Basis sheet when it still holds
    following = (
        kept_following(book, basis_key(book, settings), target + pd.DateOffset(months=1))
        if rolling and not refresh
        else None
    )
    names = (T.HISTORY,) + ((T.FORECAST, T.LOCKED_PLAN) if following is None else ())
    with (
        tables_aside(book, names, aside) as big,
        _snapshots_aside(book, as_of_month, aside) as big[T.SNAPSHOTS],
    ):
        return _close_month(
            book,
            settings,
            closes,
            closed,
            target,
            rolling,
            end,
            not_over,
            today,
            calendar,
            big,
            following,
            actuals,
            source=source,
            force=force,
            refresh=refresh,
            progress=progress,
            engine=engine,
            scheduler=scheduler,
        )


@contextlib.contextmanager
def _snapshots_aside(
    book: WorkbookIO, last: pd.Timestamp, aside: bool
) -> Iterator[Callable[[], pd.DataFrame]]:
    """The call that gives the snapshots of months up to ``last`` (the as-of month, the latest
    a close scores: :func:`monthly.snapshots_through`), read aside as the other big tables
    (see :func:`tables_aside`): the reader process sends only those rows."""
    read = book.frame_reader(T.SNAPSHOTS) if aside and isinstance(book, PackageIO) else None
    with reading_aside(
        _through,
        read or functools.partial(read_frame, book, T.SNAPSHOTS),
        last,
        aside=read is not None,
    ) as call:
        yield call


def _through(read: Callable[[], pd.DataFrame], last: pd.Timestamp) -> pd.DataFrame:
    return monthly.snapshots_through(read(), last)


def _close_month(
    book: WorkbookIO,
    settings: Settings,
    closes: pd.DataFrame,
    closed: list[pd.Timestamp],
    target: pd.Timestamp,
    rolling: bool,
    end: pd.Timestamp,
    not_over: bool,
    today: dt.date,
    calendar: WorkCalendar,
    big: dict[str, Callable[[], pd.DataFrame]],
    following: pipeline.BasisPlan | None,
    actuals: pd.DataFrame | Callable[[], pd.DataFrame] | None,
    *,
    source: str,
    force: bool,
    refresh: bool,
    progress: Progress | None,
    engine: str,
    scheduler: object,
) -> RunReport:
    """:func:`close_month` once the month is chosen; ``big``: the calls that give the largest
    tables; ``following``: the new month's plan side kept on the Basis sheet (or None)."""
    now = pd.Timestamp(dt.datetime.now().replace(microsecond=0))
    as_of_month = monthly.month_start(settings.as_of)
    items = read_frame(book, T.ITEMS)
    existing = read_frame(book, T.ACTUALS)
    loaded = actuals() if callable(actuals) else actuals
    merged = merge_actuals(existing, loaded) if loaded is not None and len(loaded) else existing
    has_production = T.PRODUCTION in book.table_names()
    # closing into the next month, the Production sheet is read while History is read aside
    production = read_frame(book, T.PRODUCTION) if rolling and has_production else None
    history = big[T.HISTORY]()
    measure = settings.history_measure
    demand = monthly.month_demand(merged, target, items, history, measure)
    new_history, changes = monthly.replace_month(history, demand.rows, target)
    new_settings = settings
    if rolling:
        new_settings = settings.model_copy(
            update={"as_of": monthly.first_working_day(target + pd.DateOffset(months=1), calendar)}
        )
    window = monthly.keep_from(new_settings.as_of)
    kept, early = monthly.actuals_window(merged, window)
    actuals_same = kept is existing or monthly.same_actuals(kept, existing)
    was_closed = target in closed
    report = RunReport("close-month")
    if not rolling and was_closed and changes.empty and actuals_same:
        report.lines.append(
            f"{target:%B %Y} is closed already and its {measure} have not changed since: "
            "nothing to do (the workbook was not changed)."
        )
        if today <= monthly.month_end(as_of_month).date():
            report.lines.append(
                f"{as_of_month:%B %Y} can be closed from "
                f"{monthly.month_end(as_of_month) + pd.Timedelta(days=1):%Y-%m-%d} on."
            )
        report.changed = False
        return report
    missing = monthly.missing_days(merged, target, calendar)
    first = monthly.keep_from(settings.as_of)
    in_month = (merged["date"] >= target) & (merged["date"] <= end)
    if missing and not force:
        if not in_month.any() and target < first:
            raise InputError(
                f"The Actuals sheet no longer holds {target:%B %Y}'s daily rows (it keeps "
                f"{first:%B %Y} onward; History holds the month's total). To close it from "
                f"its daily actuals, give them: sop-excel close-month --month {target:%Y-%m} --actuals SOURCE."
            )
        raise InputError(
            f"{target:%B %Y} has no actuals for {len(missing)} working day"
            f"{'s' if len(missing) != 1 else ''} ({days_text(missing)}). Load them first "
            "(refresh-actuals, or close-month --actuals SOURCE), or close the month without them "
            "with sop-excel close-month --force (History then holds what is loaded)."
        )

    # -- supply (issue 21): the Production sheet follows the Actuals sheet's window (older days
    # leave it); moving into the next month, Items > Opening stock rolls by the month's production,
    # receipts and shipments, as the supply view counts stock
    made, early_made, rolled = None, None, 0
    if has_production:
        if production is None:
            production = read_frame(book, T.PRODUCTION)
        if rolling:
            items, rolled = monthly.roll_opening_stock(items, merged, production, target)
        made, early_made = monthly.actuals_window(production, window)

    # -- what happened against what was planned
    # the reader sent the months up to the as-of month, all History holds unless a later
    # month was typed into it: then every snapshot is read here
    snapshots = big[T.SNAPSHOTS]()
    if len(new_history) and new_history["month"].max() > as_of_month:
        snapshots = read_frame(book, T.SNAPSHOTS)
    journal, scored, backfilled = monthly.score_into(
        read_frame(book, T.MONTH_ACCURACY),
        snapshots,
        new_history,
        target,
        backfill_before=target if rolling else None,
    )
    fva, waterfall = accuracy_frames(book, snapshots, new_history, journal)

    # -- what leaves the plan: scenario drivers now past (and, with the refresh, forecast inputs)
    archived: list[pd.DataFrame] = []
    next_month = monthly.month_start(new_settings.as_of)
    if rolling:
        drivers, gone = monthly.archive_drivers(
            read_frame(book, T.DRIVERS), next_month, now, "close-month"
        )
        if len(gone):
            write_frame(book, T.DRIVERS, drivers)
            archived.append(gone)
    frames: dict[str, pd.DataFrame] | None = None
    if refresh:
        if rolling:
            inputs, gone_inputs = monthly.archive_inputs(
                read_frame(book, T.INPUTS), next_month, now, "close-month"
            )
            targets, gone_targets = monthly.archive_targets(
                read_frame(book, T.FAMILY_TARGETS), next_month, now, "close-month"
            )
            for name, frame, gone in (
                (T.INPUTS, inputs, gone_inputs),
                (T.FAMILY_TARGETS, targets, gone_targets),
            ):
                if len(gone):
                    write_frame(book, name, frame)
                    archived.append(gone)
        forecast, models = pipeline.forecast_frames(
            new_settings, items, new_history, progress, engine=engine, scheduler=scheduler
        )
        forecast, lost = keep_planner_columns(forecast, big[T.FORECAST](), T.FORECAST)
        if len(lost):
            archived.append(monthly.archive_forecast_inputs(lost, now, "close-month"))
        frames = write_sop(book, new_settings, items, forecast)
        final = frames[T.FORECAST]
        write_frame(book, T.MODELS, models)
        book.write_table(
            T.TREND, rows_for(T.TREND, pipeline.trend_frame(new_history, final, items))
        )
    elif following is None:
        final = pipeline.final_forecast(
            items, big[T.FORECAST](), read_frame(book, T.INPUTS), read_frame(book, T.FAMILY_TARGETS)
        )
    archive = [a for a in archived if len(a)]
    if archive:
        append_archive(book, pd.concat(archive, ignore_index=True))

    # -- the month's record
    if rolling:
        write_as_of(book, new_settings.as_of)
    if not changes.empty:
        write_frame(book, T.HISTORY, new_history)
    if not actuals_same:
        write_frame(book, T.ACTUALS, kept)
    if early_made is not None and len(early_made):
        write_frame(book, T.PRODUCTION, made)
    if rolled:
        write_frame(book, T.ITEMS, items)
    write_frame(book, T.MONTH_ACCURACY, journal)
    write_frame(book, T.FVA, fva)
    write_frame(book, T.WATERFALL, waterfall)
    forced = force and (bool(missing) or not_over)
    closes, change_text = monthly.close_record(
        closes, target, now, getpass.getuser(), measure, demand, len(missing), forced, changes
    )
    write_frame(book, T.CLOSED_MONTHS, closes)

    # -- S&OE: the new month starts clean (or, closing an earlier month again, carries on)
    if following is not None:  # the new month's plan as kept on the Basis sheet: no S&OP sheet read
        basis = pipeline.basis_from_plan(following, new_settings, snapshots, new_history)
    else:
        locked, label, scenario = latest_lock(book, big[T.LOCKED_PLAN])
        basis = pipeline.execution_basis(
            new_settings, final, locked, label, snapshots, new_history, lock_scenario=scenario
        )
    if rolling:
        ending = read_frame(book, T.EXCEPTIONS)
        closing = month_closed_events(ending, now)
        if len(closing):
            write_frame(
                book, T.EXCEPTION_LOG, append_rows(read_frame(book, T.EXCEPTION_LOG), closing)
            )
        write_frame(book, T.EXCEPTIONS, ending.iloc[0:0])
    done = write_execution(book, new_settings, items, kept, basis=basis, production=made)
    execution, exceptions, through = done.execution, done.exceptions, done.through

    # -- what it did, in words
    total_units = f"{demand.total:,.0f} units of {measure}"
    if not was_closed:
        report.lines.append(
            f"Closed {target:%B %Y}: History has {len(demand.rows)} items for it, "
            f"{total_units} from the daily actuals{f' and {source}' if source else ''}."
        )
    else:
        report.lines.append(
            f"Closed {target:%B %Y} again (a late correction): History replaced for "
            f"{len(changes)} item{'s' if len(changes) != 1 else ''}"
            + (f" ({change_text})" if len(changes) else "")
            + f"; the month now holds {total_units}."
        )
    if demand.without_actuals:
        report.lines.append(
            f"{len(demand.without_actuals)} items had no actuals and got 0: "
            f"{items_text(demand.without_actuals)}."
        )
    if demand.not_launched:
        report.lines.append(
            f"{len(demand.not_launched)} items have no History and no actuals yet and got "
            f"no row (not launched): {items_text(demand.not_launched)}."
        )
    if demand.unknown:
        report.warnings.append(
            f"{len(demand.unknown)} items in the actuals are not on the Items sheet and "
            f"were left out of History: {items_text(demand.unknown)}."
        )
    if forced and missing:
        report.warnings.append(
            f"Closed with --force: {len(missing)} working days of {target:%B %Y} had no "
            f"actuals ({days_text(missing)}); History holds what was loaded."
        )
    elif forced:
        report.warnings.append(f"Closed with --force before {target:%B %Y} was over.")
    if rolling:
        report.lines.append(
            f"As-of date {settings.as_of:%Y-%m-%d} -> {new_settings.as_of:%Y-%m-%d}"
            + (
                f"; plan {final['month'].min():%b %Y} to {final['month'].max():%b %Y} "
                f"({new_settings.horizon} months)."
                if frames is not None and len(final)
                else "."
            )
        )
    lags = sorted(scored["lag"].unique()) if len(scored) else []
    if len(scored):
        tot = scored[scored["level"] == "Total"].sort_values(["lag", "version"])
        best = tot.iloc[0]
        report.lines.append(
            f"Accuracy: {tot['version'].nunique()} locks scored {target:%B %Y} (lags "
            f"{', '.join(str(x) for x in lags)}); lag {int(best['lag'])} (v{int(best['version'])}): final WMAPE "
            f"{best['final_wmape']:.1%}, statistical {best['baseline_wmape']:.1%}, naive {best['naive_wmape']:.1%}, "
            f"bias {best['bias_pct']:+.1%}."
        )
    else:
        report.lines.append(
            f"Accuracy: no lock forecast {target:%B %Y} at lag 1 or more: nothing to score "
            "(lock the plan every month with lock-plan)."
        )
    if backfilled:
        report.lines.append(
            f"Accuracy also scored {len(backfilled)} earlier months from the locks' snapshots "
            f"({months_text(backfilled)})."
        )
    if archive:
        kinds = pd.concat(archive)["what"].value_counts()
        report.lines.append(
            "Moved to the Archive sheet (their months are past): "
            + ", ".join(f"{n} {w.lower()}{'s' if n != 1 else ''}" for w, n in kinds.items())
            + "."
        )
    if rolling:
        n_open = int((closing["status"] != "Resolved").sum()) if len(closing) else 0
        report.lines.append(
            f"Exceptions: {len(closing)} of {target:%B %Y} kept in the exception log with their "
            f"final status ({len(closing) - n_open} resolved, {n_open} still open: their owner, "
            f"status and comment come back if the item is flagged again)."
        )
    if len(early):
        gone_months = sorted(early["date"].dt.to_period("M").dt.start_time.unique())
        report.lines.append(
            f"Actuals sheet: keeps {window:%B %Y} onward; {len(early)} rows of "
            f"{months_text(gone_months)} removed (History holds their monthly totals)."
        )
    if early_made is not None and len(early_made):
        report.lines.append(
            f"Production sheet: keeps {window:%B %Y} onward, as the Actuals sheet; {len(early_made)} "
            "rows of production and receipts of earlier days removed."
        )
    if rolled:
        report.lines.append(
            f"Items > Opening stock: the stock at the start of {next_month:%B %Y} ({rolled} items "
            f"changed: + produced + received - shipped in {target:%B %Y})."
        )
    if frames is not None:
        report.lines.append(
            "Forecast refreshed: "
            + ", ".join(
                f"{m} {n}"
                for m, n in frames[T.FORECAST]
                .drop_duplicates("item")["item"]
                .map(dict(zip(models["item"], models["method"], strict=True)))
                .value_counts()
                .items()
            )
            + "."
        )
        if len(lost):
            report.lines.append(
                f"{len(lost)} overrides or comments of months now past were moved to the Archive "
                "sheet; those of months still planned were kept."
            )
    else:
        report.lines.append("Forecast not refreshed (--no-refresh): run refresh-forecast next.")
    counts = execution["status"].value_counts()
    exec_month = monthly.month_start(new_settings.as_of)
    report.lines.append(
        f"Execution {exec_month:%B %Y} against {execution['plan_source'].iloc[0] if len(execution) else 'no plan'}, "
        + (
            f"actuals through {through:%Y-%m-%d}: "
            if pd.Timestamp(through) >= exec_month
            else "no actuals yet: "
        )
        + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "On track"))
        + f"; exceptions {len(exceptions)}."
    )
    if (line := supply_summary(done)) is not None:
        report.lines.append(line)
    report.warnings += _past_events(book, new_settings, items, exec_month)
    data = f"{target:%B %Y} ({measure})" + (f"; {source}" if source else "")
    log_command(
        book,
        "close-month",
        data,
        " ".join(report.lines + [f"Warning: {w}" for w in report.warnings]),
    )
    save_keeping_basis(book, new_settings, basis)  # and what the next daily refresh plans against
    return report


def _past_events(
    book: WorkbookIO, settings: Settings, items: pd.DataFrame, month: pd.Timestamp
) -> list[str]:
    """A warning for events that ended before ``month`` and are still Open or In progress:
    close-month keeps every event (the planner's), and says which ones want a final status."""
    if T.EVENTS not in book.table_names():
        return []
    events = read_frame(book, T.EVENTS)
    if events.empty:
        return []
    checked = pipeline.check_events(
        events, items, read_frame(book, T.CAPACITY), settings, cell_locator(events, T.EVENTS)
    )
    over = checked[(checked["end"] < month) & checked["status"].isin(["Open", "In progress"])]
    if over.empty:
        return []
    return [
        f"{len(over)} event(s) on the Events sheet ended before {month:%B %Y} and are still Open or In progress "
        f"({'; '.join(over['label'].head(10))}{'; ...' if len(over) > 10 else ''}): set their Status to Closed "
        "(or Cancelled) once dealt with. Events are kept: no command deletes them."
    ]


def close_month_from_source(
    book: WorkbookIO,
    source: str | None = None,
    *,
    folder: Path | None = None,
    table: str = "actuals",
    month: dt.date | pd.Timestamp | None = None,
    **kwargs: Any,
) -> RunReport:
    """:func:`close_month` with the rows of ``source`` (a CSV or xlsx file, a SQLite file or a
    database URL; a relative path is taken from ``folder``) merged into the Actuals first, as
    refresh-actuals would. Without ``source``: the Actuals sheet as it is."""
    if not source:
        return close_month(book, month=month, **kwargs)
    from sop_excel.sources import read_actuals, source_kind, source_label, source_path

    settings = read_settings(book)
    where = source_path(source.strip(), folder)
    first = monthly.month_start(month) if month is not None else monthly.keep_from(settings.as_of)
    since = first.date() if source_kind(source.strip()) in ("sqlite", "url") else None
    known = set(read_frame(book, T.ITEMS)["item"])
    rows = read_actuals(
        where, mapping=settings.column_mapping or None, known_items=known, since=since, table=table
    )
    return close_month(book, rows, source=source_label(where), month=month, **kwargs)
