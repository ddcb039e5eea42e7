"""A simulated company run through consecutive monthly cycles (issue 16): the 12-cycle test and
``bench/monthly_cycle.py`` share it.

Each cycle, on the demo workbook (Northwind Pumps, as of 2026-11-18), as a planner would:

1. **plan**: overrides with a reason and a comment on two items for the next two months, a
   Sales input, and a scenario driver on Upside for the next two months (all saved, as typed in
   Excel); then ``compare-scenarios``;
2. ``lock-plan`` (Base);
3. **execute**: the month's daily actuals in ``loads`` batches through ``refresh-actuals``
   (orders drawn around the locked plan with some items drifting hot or cold); after the
   second batch, owners, statuses and comments typed on the top exceptions;
4. ``close-month`` on the first day of the next month (``today`` passed, so the clock of the
   machine running it does not matter).

At cycle ``correct_at``, a late correction of a day of the month just closed comes in through
``refresh-actuals`` and the month is closed again (``close-month --month``).

Every command opens the file afresh (as the CLI does) through :class:`Counted`, which counts
the seconds and the table cells each command reads and writes; the workbook's size is taken
after each cycle. Everything the planner typed is recorded (``Simulation.typed``) so a test can
find each input again, on its sheet or on the Archive sheet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import macros
from sop_excel.core.drift import WorkCalendar
from sop_excel.core.frames import append_rows
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import open_workbook

__all__ = [
    "Counted",
    "Simulation",
    "Step",
    "run_cycles",
    "set_setting",
    "small_company",
    "small_demo",
    "small_sample",
]

KEEP = ("PMP-1002", "CTL-3003", "VLV-2004")  # items the demo's inputs and override name


def small_company(as_of: dt.date | None = None, per_family: int = 4) -> Any:
    """The sample company cut to ``per_family`` items of each family (the demo's named ones
    among them): the same data, a workbook a quarter of the size."""
    from sop_excel.sample import SampleCompany, load_sample_company

    c = load_sample_company(as_of)
    chosen = set(KEEP)
    for _, g in c.items.groupby("family"):
        chosen |= set(g["item"].iloc[:per_family])
    keep = c.items["item"].isin(chosen)

    def cut(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["item"].isin(chosen)].reset_index(drop=True)

    events = c.events[c.events["item"].fillna("").isin(chosen | {""})].reset_index(drop=True)
    return SampleCompany(
        as_of=c.as_of,
        name=c.name,
        items=c.items[keep].reset_index(drop=True),
        history=cut(c.history),
        capacity=c.capacity,
        budget=c.budget,
        actuals=cut(c.actuals),
        month_actuals=cut(c.month_actuals),
        production=cut(c.production),
        events=events,
        month_production=cut(c.month_production),
    )


@contextlib.contextmanager
def small_sample(as_of: dt.date | None = None, per_family: int = 4) -> Iterator[None]:
    """Within the block, the sample company is :func:`small_company` (as of ``as_of``; None: the
    sample's own date), for ``sop-excel demo`` (:func:`sop_excel.demo.build_demo` or the CLI)."""
    from unittest import mock

    from sop_excel import sample

    original = sample.load_sample_company
    small = small_company(as_of, per_family)
    # build_demo loads the company (as_of None or the one asked for) and writes its export files
    # (as_of the company's date), then reads those: both must be the small company, or the
    # workbook is the whole one
    with mock.patch.object(
        sample,
        "load_sample_company",
        lambda as_of=None: small if as_of in (None, small.as_of) else original(as_of),
    ):
        yield


def small_demo(path: str | Path, *, per_family: int = 4, past_cycles: int = 3) -> Path:
    """``sop-excel demo`` built for :func:`small_company` (the demo's own builder)."""
    from sop_excel import demo

    with small_sample(None, per_family):  # the sample's own dates (the demo's default as-of)
        return demo.build_demo(path, past_cycles=past_cycles).path


class Counted:
    """A WorkbookIO that counts what passes through it: seconds, cells read and written."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.cells = {"read": 0, "write": 0}

    @property
    def name(self) -> str:
        return self.book.name

    def table_names(self) -> list[str]:
        return self.book.table_names()

    def read_table(self, name: str) -> list:
        return self._count(self.book.read_table(name))

    def __getattr__(self, attr: str) -> Any:
        if attr == "read_values" and hasattr(self.book, "read_values"):
            return lambda name: self._count(self.book.read_values(name))
        if attr in ("content_stamp", "frame_reader", "writes_sheets_in_bulk") and hasattr(
            self.book, attr
        ):
            return getattr(self.book, attr)
        raise AttributeError(attr)

    def _count(self, rows: list) -> list:
        self.cells["read"] += sum(len(r) for r in rows)
        return rows

    def write_table(self, name: str, rows: list) -> None:
        self.cells["write"] += len(rows) * (len(rows[0]) if len(rows) else 0)
        self.book.write_table(name, rows)

    def save(self) -> None:
        self.book.save()

    def close(self) -> None:
        self.book.close()


@dataclass
class Step:
    cycle: int
    month: pd.Timestamp
    command: str
    seconds: float
    cells_read: int
    cells_written: int


@dataclass
class Simulation:
    path: Path
    months: list[pd.Timestamp] = field(default_factory=list)  # the months closed, in order
    steps: list[Step] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # bytes after each cycle
    rows: list[dict[str, int]] = field(default_factory=list)  # data rows per table after each cycle
    actuals: dict[tuple[pd.Timestamp, str], tuple[float, float]] = field(
        default_factory=dict
    )  # last figure per day and item
    typed: list[dict[str, Any]] = field(default_factory=list)  # every planner input: where, what
    reports: list[tuple[str, str]] = field(default_factory=list)  # (command, report text)
    corrected: pd.Timestamp | None = None

    def month_sums(self, measure: str = "orders") -> pd.DataFrame:
        """``item, month, qty``: the daily actuals as finally loaded, summed per item and month."""
        k = 0 if measure == "orders" else 1
        frame = pd.DataFrame(
            [(d, i, v[k]) for (d, i), v in self.actuals.items()], columns=["date", "item", "qty"]
        )
        frame["month"] = frame["date"].dt.to_period("M").dt.start_time
        return frame.groupby(["item", "month"], as_index=False)["qty"].sum()

    def seconds(self, command: str) -> list[float]:
        return [s.seconds for s in self.steps if s.command == command]


def set_setting(book: Any, label: str, value: object) -> None:
    """Type a value into a Settings row (by its label)."""
    rows = book.read_table("tblSettings")
    for r in rows[1:]:
        if r[0] == label:
            r[1] = value
    book.write_table("tblSettings", rows)


def _peek(path: Path, read: Callable[[Any], Any]) -> Any:
    """``read(book)`` on the file as saved, closing it after."""
    book = open_workbook(path)
    try:
        return read(book)
    finally:
        book.close()


def _table_rows(path: Path) -> dict[str, int]:
    from sop_excel.workbook.zip_io import ZipIO

    book = ZipIO(path)
    try:
        return {name: t.bounds[3] - t.bounds[1] for name, t in book._tables.items()}  # noqa: SLF001 - a count for the record
    finally:
        book.close()


class _Runner:
    def __init__(self, sim: Simulation, seed: int) -> None:
        self.sim = sim
        self.rng = np.random.default_rng(seed)

    def run(
        self, cycle: int, month: pd.Timestamp, command: str, action: Callable[[Counted], Any]
    ) -> Any:
        book = Counted(open_workbook(self.sim.path))
        t = time.perf_counter()
        try:
            out = action(book)
        finally:
            book.close()
        self.sim.steps.append(
            Step(
                cycle,
                month,
                command,
                time.perf_counter() - t,
                book.cells["read"],
                book.cells["write"],
            )
        )
        if isinstance(out, macros.RunReport):
            self.sim.reports.append((command, str(out)))
        return out


def _plan_inputs(book: Counted, month: pd.Timestamp, cycle: int, sim: Simulation) -> None:
    """What a planner types at the start of a cycle, saved as from Excel."""
    fc = read_frame(book, "tblForecast")
    items = sorted(fc["item"].unique())
    for k, offset in enumerate((1, 2)):
        item = items[(3 * cycle + k) % len(items)]
        m = month + pd.DateOffset(months=offset)
        hit = (fc["item"] == item) & (fc["month"] == m)
        value = float(round(fc.loc[hit, "baseline"].iloc[0] * 1.2 + 1))
        comment = f"cycle {cycle}: key account order {item} {m:%Y-%m}"
        fc.loc[hit, ["override", "reason_code", "comment"]] = [value, "New customer", comment]
        sim.typed.append(
            {"what": "Override", "item": item, "month": m, "value": value, "comment": comment}
        )
    write_frame(book, "tblForecast", fc)
    inputs = read_frame(book, "tblInputs")
    item = items[(5 * cycle) % len(items)]
    m = month + pd.DateOffset(months=1)
    comment = f"cycle {cycle}: sales push {item}"
    inputs = append_rows(
        inputs,
        pd.DataFrame(
            [{"stream": "Sales", "item": item, "month": m, "qty": 7.0, "comment": comment}]
        ),
    )
    write_frame(book, "tblInputs", inputs)
    sim.typed.append(
        {"what": "Sales input", "item": item, "month": m, "value": 7.0, "comment": comment}
    )
    drivers = read_frame(book, "tblDrivers")
    comment = f"cycle {cycle}: promotion {month + pd.DateOffset(months=1):%Y-%m}"
    row = {
        "scenario": "Upside",
        "kind": "volume",
        "family": "Pumps",
        "item": "",
        "resource": "",
        "from_month": month + pd.DateOffset(months=1),
        "to_month": month + pd.DateOffset(months=2),
        "value": 0.03,
        "price": np.nan,
        "unit_cost": np.nan,
        "comment": comment,
    }
    write_frame(book, "tblDrivers", append_rows(drivers, pd.DataFrame([row])))
    sim.typed.append(
        {
            "what": "Driver",
            "item": "",
            "month": row["from_month"],
            "value": 0.03,
            "comment": comment,
        }
    )
    book.save()


def _owners(book: Counted, cycle: int, sim: Simulation) -> None:
    """Owners, statuses and comments typed on the top exceptions."""
    ex = read_frame(book, "tblExceptions")
    if ex.empty:
        return
    for k, status in zip(range(min(2, len(ex))), ("In progress", "Resolved"), strict=False):
        comment = f"cycle {cycle}: {'called the customer' if k == 0 else 'supply confirmed'}"
        ex.loc[ex.index[k], ["owner", "status", "comment"]] = [f"planner{k + 1}", status, comment]
        sim.typed.append(
            {
                "what": "Exception",
                "item": ex["item"].iloc[k],
                "month": None,
                "value": status,
                "comment": comment,
            }
        )
    write_frame(book, "tblExceptions", ex)
    book.save()


def _daily(
    month: pd.Timestamp, plan: pd.Series, calendar: WorkCalendar, rng: np.random.Generator
) -> pd.DataFrame:
    """A month's daily orders and shipments around ``plan`` (per item), some items drifting."""
    days = pd.date_range(month, month + pd.offsets.MonthEnd(0), freq="D")
    working = np.array([calendar.is_working(d) for d in days])
    n = len(plan)
    drift = np.where(
        rng.random(n) < 0.2,
        rng.uniform(1.2, 1.5, n),
        np.where(rng.random(n) < 0.15, rng.uniform(0.5, 0.8, n), rng.uniform(0.9, 1.1, n)),
    )
    rate = plan.clip(lower=0).to_numpy(dtype=float) * drift / max(int(working.sum()), 1)
    orders = rng.poisson(np.outer(rate, working.astype(float))).astype(float)
    ships = rng.binomial(orders.astype(int), 0.95).astype(float)
    return pd.DataFrame(
        {
            "date": np.repeat(days.to_numpy()[None, :], n, axis=0).ravel(),
            "item": np.repeat(plan.index.to_numpy(), len(days)),
            "orders": orders.ravel(),
            "shipments": ships.ravel(),
        }
    )


def _load(book: Counted, rows: pd.DataFrame, label: str, sim: Simulation) -> macros.RunReport:
    for r in rows.itertuples(index=False):
        sim.actuals[(pd.Timestamp(r.date), r.item)] = (float(r.orders), float(r.shipments))
    return macros.refresh_actuals(book, rows.reset_index(drop=True), source=label)


def run_cycles(
    path: str | Path,
    cycles: int = 12,
    *,
    seed: int = 16,
    loads: int = 3,
    correct_at: int | None = 3,
    method: str | None = None,
    compare: bool = True,
    on_cycle: Callable[[int, Simulation], None] | None = None,
) -> Simulation:
    """Run ``cycles`` monthly cycles on the demo workbook at ``path`` (changed in place).

    ``method``: Settings > Forecast method for the run (the test uses a fast one; default: the
    workbook's). ``compare``: run compare-scenarios after the planner's inputs (lock-plan
    recomputes the scenarios too; the test leaves it out for time). ``on_cycle(k, sim)`` is
    called after each cycle (the bench prints a line).
    """
    sim = Simulation(Path(path))
    runner = _Runner(sim, seed)
    settings = _peek(sim.path, macros.read_settings)
    calendar = WorkCalendar(holidays=settings.holidays)
    items = set(_peek(sim.path, lambda b: read_frame(b, "tblItems"))["item"])
    loaded = _peek(sim.path, lambda b: read_frame(b, "tblActuals"))
    for r in loaded.itertuples(index=False):
        sim.actuals[(pd.Timestamp(r.date), r.item)] = (float(r.orders), float(r.shipments))
    if method:

        def pick(book: Counted) -> None:
            set_setting(book, "Forecast method", method)
            book.save()

        runner.run(0, pd.Timestamp(settings.as_of), "setup", pick)
        runner.run(0, pd.Timestamp(settings.as_of), "refresh-forecast", macros.refresh_forecast)
    as_of = pd.Timestamp(settings.as_of)
    for cycle in range(1, cycles + 1):
        month = as_of.replace(day=1)
        runner.run(
            cycle, month, "plan inputs", lambda b, m=month, c=cycle: _plan_inputs(b, m, c, sim)
        )
        if compare:
            runner.run(cycle, month, "compare-scenarios", macros.compare_scenarios)
        runner.run(
            cycle, month, "lock-plan", lambda b: macros.lock_plan(b, "Base", note="monthly S&OP")
        )
        locked = _peek(sim.path, lambda b: read_frame(b, "tblLockedPlan"))
        plan = locked[locked["month"] == month].groupby("item")["volume"].sum()
        if cycle == 1:  # the demo's month: the sample company's own days after the as-of date
            from sop_excel.sample import load_sample_company

            month_rows = load_sample_company(settings.as_of).month_actuals
            month_rows = month_rows[month_rows["item"].isin(items)]
        else:
            month_rows = _daily(month, plan, calendar, runner.rng)
        todo = month_rows[month_rows["date"] > as_of] if cycle == 1 else month_rows
        days = sorted(todo["date"].unique())
        for k, chunk in enumerate(np.array_split(np.array(days), loads), start=1):
            rows = todo[todo["date"].isin(chunk)]
            if rows.empty:
                continue
            label = f"orders {pd.Timestamp(chunk[0]):%Y-%m-%d}..{pd.Timestamp(chunk[-1]):%Y-%m-%d}"
            runner.run(
                cycle, month, "refresh-actuals", lambda b, r=rows, lb=label: _load(b, r, lb, sim)
            )
            if k == 2:
                runner.run(cycle, month, "exception owners", lambda b, c=cycle: _owners(b, c, sim))
        close_day = (month + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)).date()
        runner.run(
            cycle, month, "close-month", lambda b, d=close_day: macros.close_month(b, today=d)
        )
        sim.months.append(month)
        if correct_at == cycle:  # a late correction of the month just closed, then close it again
            day = next(
                d for d in sorted(days, reverse=True) if calendar.is_working(pd.Timestamp(d))
            )
            busiest = plan.sort_values().index[-1]
            was = sim.actuals.get((pd.Timestamp(day), busiest), (0.0, 0.0))
            fix = pd.DataFrame(
                {
                    "date": [pd.Timestamp(day)],
                    "item": [busiest],
                    "orders": [was[0] + 25.0],
                    "shipments": [was[1]],
                }
            )
            runner.run(
                cycle,
                month,
                "refresh-actuals",
                lambda b, f=fix: _load(b, f, "late correction", sim),
            )
            runner.run(
                cycle,
                month,
                "close-month",
                lambda b, m=month, d=close_day: macros.close_month(
                    b, month=m, today=d + dt.timedelta(days=2)
                ),
            )
            sim.corrected = month
        as_of = pd.Timestamp(_peek(sim.path, macros.read_settings).as_of)
        sim.sizes.append(sim.path.stat().st_size)
        sim.rows.append(_table_rows(sim.path))
        if on_cycle is not None:
            on_cycle(cycle, sim)
    return sim
