"""Every table of a planning workbook, from the planning state: the one function ``new`` and
``demo`` both write.

The *planning state* is a company's own data (items, history, budget, capacity, the month's
actuals, production and receipts: :class:`sop_excel.sources.exports.CompanyData`) and what
planners put on top of it (:class:`PlanState`: consensus inputs, family targets, overrides,
scenarios and drivers, past locks and snapshots, disruptions on the Events sheet, a lock to
take now). :func:`plan_tables` forecasts, plans, locks and
judges execution with the same pipeline functions the commands use, and returns a frame for
every table of the layout by name; :func:`write_plan` writes them with the XlsxWriter builder.

``sop-excel new`` calls it with an empty state (Base, Upside and Downside over the company's
own families, no inputs, no locks); ``sop-excel demo`` reads the bundled sample company's
export files the same way and adds the sample's S&OP story as state.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel import pipeline
from sop_excel.core.lock import accuracy, make_lock
from sop_excel.core.scenarios import DRIVER_FIELDS
from sop_excel.models import Settings
from sop_excel.workbook.layout import load_layout

__all__ = [
    "DEFAULT_SETTINGS",
    "Plan",
    "PlanState",
    "default_scenarios",
    "plan_rows",
    "plan_tables",
    "settings_rows",
    "write_plan",
]

DEFAULT_SETTINGS = {
    "Horizon": 18,
    "ForecastMethod": "auto",
    "CorrectOutliers": "yes",
    "SeasonalGroup": "family",
    "DriftWatchPct": 0.10,
    "DriftActPct": 0.20,
    "DriftZ": 2.5,
    "TrackingLimit": 4.0,
    "BiasWindow": 6,
    "FrozenWeeks": 4,
    "Holidays": "",
    "MinValueAtRisk": 2000.0,
    "ServiceLevel": 0.95,
    "PlanScenario": "Base",
    "ActualsSource": "",
    "ActualsColumns": "",
    "ActualsFormat": "",
    "SupplySource": "",
    "SupplyColumns": "",
    "Currency": "EUR",
    "HistoryMeasure": "orders",
    "SnapshotLags": 6,
}
_DT = "datetime64[us]"
EXCEL_ROWS = 1_048_576


def _empty(name: str) -> pd.DataFrame:
    return pd.DataFrame(columns=load_layout().table(name).fields)


def default_scenarios(families: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Base, Upside and Downside; Upside and Downside carry a volume driver per family with
    value 0 (no change yet) for the planner to fill in."""
    scen = pd.DataFrame(
        [
            ("Base", "", "Consensus forecast", "Draft"),
            ("Upside", "Base", "Type each family's volume change (0.05 = +5%)", "Draft"),
            ("Downside", "Base", "Type each family's volume change (-0.05 = -5%)", "Draft"),
        ],
        columns=["scenario", "parent", "description", "status"],
    )
    rows = [
        (s, "volume", fam, "", "", pd.NaT, pd.NaT, 0.0, np.nan, np.nan, "")
        for s in ("Upside", "Downside")
        for fam in families
    ]
    drivers = pd.DataFrame(
        rows,
        columns=list(DRIVER_FIELDS),
    )
    for c in ("from_month", "to_month"):
        drivers[c] = pd.to_datetime(drivers[c]).astype(_DT)
    return scen, drivers


@dataclass
class PlanState:
    """What planners put on top of a company's data. Every part may be left out (a new workbook).

    Attributes:
        inputs, targets: consensus inputs and family targets (the Consensus sheet's tables).
        scenarios, drivers: the Scenarios sheet (default: :func:`default_scenarios`).
        overrides: ``item, month, override, reason_code, comment`` typed on the Forecast sheet.
        locks, snapshots: earlier locks (the Plan of record's table) and their snapshots.
        events: the Events sheet's disruptions (``id, kind, resource, item, start, end,
            working_days, rate, delay_days, owner, status, comment``), checked against the items
            and capacity; ``events_where``: names an event's row and field in messages.
        lock: lock this scenario now, after planning: ``(scenario, note)``.
        user, now: who and when, for locks and the exception log.
        forecast: a forecast already made (``pipeline.forecast_frames``), to plan on instead of
            forecasting again.
    """

    inputs: pd.DataFrame | None = None
    targets: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    drivers: pd.DataFrame | None = None
    overrides: pd.DataFrame | None = None
    locks: pd.DataFrame | None = None
    snapshots: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    events_where: Callable[[int, str], str] | None = None
    lock: tuple[str, str] | None = None
    user: str = field(default_factory=getpass.getuser)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    forecast: tuple[pd.DataFrame, pd.DataFrame] | None = None


@dataclass
class Plan:
    """Every table's frame by name (all but Settings), and what a summary says about them."""

    settings: Settings
    tables: dict[str, pd.DataFrame]
    basis: pipeline.ExecutionBasis
    through: dt.date
    lock_record: pd.DataFrame | None = None

    @property
    def models(self) -> pd.DataFrame:
        return self.tables[T.MODELS]

    def lines(self) -> list[str]:
        """What was planned, in lines a planner reads."""
        final = self.tables[T.FORECAST]
        models = self.models
        cmp_ = self.tables[T.COMPARE].set_index("scenario")
        load = self.tables[T.LOAD]
        inv = self.tables[T.INVENTORY]
        execution = self.tables[T.EXECUTION]
        stock = self.tables[T.SUPPLY_ITEMS]
        out = [
            f"Forecast {len(models):,} items, {final['month'].min():%b %Y} to {final['month'].max():%b %Y} "
            f"({self.settings.horizon} months); methods: "
            + ", ".join(f"{m} {n}" for m, n in models["method"].value_counts().items()),
            "Scenarios: "
            + ", ".join(f"{s} revenue {r:,.0f}" for s, r in cmp_["revenue"].items())
            + (
                "; gap to budget " + ", ".join(f"{s} {g:+,.0f}" for s, g in cmp_["gap"].items())
                if (cmp_["budget_revenue"] != 0).any()
                else ""
            ),
            f"Supply: {int((load['overload'] == 'Yes').sum())} overloaded resource-months; "
            f"{inv.loc[inv['below_safety'] == 'Yes', 'item'].nunique()} items below safety stock "
            f"({self.settings.plan_scenario})",
        ]
        if len(execution):
            counts = execution["status"].value_counts()
            out.append(
                f"Execution through {self.through:%Y-%m-%d} against {execution['plan_source'].iloc[0]}: "
                + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("Act", "Watch", "On track"))
                + f"; {len(self.tables[T.EXCEPTIONS])} exceptions"
            )
        if len(stock):
            exc = self.tables[T.EXCEPTIONS]
            out.append(
                f"Supply weeks: {len(self.tables[T.EVENTS])} events; "
                f"{int(stock['stockout_week'].notna().sum())} items projected out of stock in the next 13 "
                f"weeks, revenue at risk {stock['revenue_at_risk'].sum():,.0f}; "
                f"{int((exc['area'] != 'Demand').sum())} supply and capacity exceptions"
            )
        return out


def plan_tables(
    settings: Settings,
    items: pd.DataFrame,
    history: pd.DataFrame,
    budget: pd.DataFrame,
    capacity: pd.DataFrame,
    actuals: pd.DataFrame,
    state: PlanState | None = None,
    *,
    production: pd.DataFrame | None = None,
    progress: pipeline.Progress | None = None,
) -> Plan:
    """Forecast, plan, lock (if asked) and judge execution, demand and supply; every table's
    frame by name.

    Args:
        settings: the Settings sheet's values.
        items, history, budget, capacity, actuals: the company's data, in the tables' fields.
        state: what planners put on top (default: nothing; Base, Upside, Downside).
        production: daily production and supplier receipts (the Production sheet); with it or
            with events the supply view of the next 13 weeks is planned (Supply weeks), and its
            exceptions join the demand ones.
        progress: forecasting progress (done, total).
    """
    state = state or PlanState()
    items = _complete_items(items)
    families = sorted(items["family"].unique())
    scen, drivers = (
        (state.scenarios, state.drivers)
        if state.scenarios is not None
        else default_scenarios(families)
    )
    scen = scen.copy()
    drivers = drivers if drivers is not None else _empty(T.DRIVERS)
    inputs = state.inputs if state.inputs is not None else _empty(T.INPUTS)
    targets = state.targets if state.targets is not None else _empty(T.FAMILY_TARGETS)
    forecast, models = state.forecast or pipeline.forecast_frames(
        settings, items, history, progress
    )
    if state.overrides is not None and len(state.overrides):
        keyed = state.overrides.set_index(["item", "month"])
        idx = pd.MultiIndex.from_frame(forecast[["item", "month"]])
        for c in ("override", "reason_code", "comment"):
            got = keyed[c].reindex(idx)
            have = got.notna().to_numpy()
            forecast.loc[have, c] = got.to_numpy()[have]
    frames = pipeline.sop_frames(
        settings, items, forecast, inputs, targets, scen, drivers, budget, capacity
    )
    final = frames[T.FORECAST]
    locks = [state.locks] if state.locks is not None and len(state.locks) else []
    snaps = [state.snapshots] if state.snapshots is not None and len(state.snapshots) else []
    locked = None
    label = lock_scenario = ""
    record = None
    if state.lock is not None:
        name, note = state.lock
        version = int(pd.concat(locks)["version"].max()) + 1 if locks else 1
        plan = frames[T.SCENARIO_PLAN]
        month0 = pd.Timestamp(settings.as_of).replace(day=1)
        record, locked, snap = make_lock(
            version,
            name,
            plan[plan["scenario"] == name],
            final,
            month0,
            state.user,
            state.now,
            note,
        )
        locks.append(record)
        snaps.append(snap)
        scen.loc[scen["scenario"] == name, "status"] = f"Locked v{version}"
        label, lock_scenario = f"v{version} locked ({name})", name
    locks_frame = pd.concat(locks, ignore_index=True) if locks else _empty(T.LOCKS)
    snapshots = pd.concat(snaps, ignore_index=True) if snaps else _empty(T.SNAPSHOTS)
    fva, waterfall = (
        accuracy(snapshots, history) if len(snapshots) else (_empty(T.FVA), _empty(T.WATERFALL))
    )
    basis = pipeline.execution_basis(
        settings,
        final,
        locked,
        label,
        snapshots if len(snapshots) else None,
        history,
        lock_scenario=lock_scenario,
    )
    production = production if production is not None else _empty(T.PRODUCTION)
    events = state.events if state.events is not None else _empty(T.EVENTS)
    supply = None
    if len(production) or len(
        events
    ):  # as the S&OE commands plan supply: checked events, the plan's hours
        where = state.events_where or (lambda pos, field: f"Events, row {pos + 1}, column {field}")
        checked = pipeline.check_events(events, items, capacity, settings, where)
        supply = pipeline.SupplyInputs(
            production, checked, pipeline.plan_capacity(settings, basis, capacity, scen, drivers)
        )
    execution, exceptions, through, views = pipeline.execution_from_basis(
        settings, items, basis, actuals, supply
    )
    exceptions = exceptions.assign(owner="", status="Open", comment="")
    now = pd.Timestamp(state.now)
    exception_log = pd.DataFrame(
        {
            "time": now,
            "item": exceptions["item"],
            "area": exceptions["area"],
            "event": "opened",
            "flag": exceptions["flag"],
            "value_at_risk": exceptions["value_at_risk"],
            "owner": "",
            "comment": "",
            "status": "Open",
        }
    )
    tables = {
        T.ITEMS: items,
        T.HISTORY: history,
        T.MODELS: models,
        T.INPUTS: inputs,
        T.CLEANSING: pipeline.cleansing_frame(settings, history),
        T.FAMILY_TARGETS: targets,
        T.SCENARIO_LIST: scen,
        T.DRIVERS: drivers,
        T.BUDGET: budget,
        T.CAPACITY: capacity,
        T.LOCKS: locks_frame,
        T.LOCKED_PLAN: locked if locked is not None else _empty(T.LOCKED_PLAN),
        T.SNAPSHOTS: snapshots,
        T.FVA: fva,
        T.WATERFALL: waterfall,
        T.ACTUALS: actuals,
        T.PRODUCTION: production,
        T.EVENTS: events,
        T.NEW_EVENT: _empty(T.NEW_EVENT),
        T.EXECUTION: execution,
        T.EXCEPTIONS: exceptions,
        T.EXCEPTION_LOG: exception_log,
        T.TREND: pipeline.trend_frame(history, final, items),
        **views,
        T.LOG: _empty(T.LOG),
        # the hidden Basis sheet is built empty; write_plan keeps the basis on it once the file exists
        **{
            name: _empty(name)
            for name in (
                T.BASIS_KEY,
                T.BASIS_ITEMS,
                T.BASIS_MONTHS,
                T.BASIS_NEXT_ITEMS,
                T.BASIS_NEXT_MONTHS,
            )
        },
        # filled by close-month: the closed months, what left the plan, accuracy by closed month
        **{name: _empty(name) for name in (T.CLOSED_MONTHS, T.ARCHIVE, T.MONTH_ACCURACY)},
        **{
            name: frames[name]
            for name in (
                T.FORECAST,
                T.ROLLUP,
                T.SCENARIO_PLAN,
                T.FINANCE,
                T.COMPARE,
                T.COMPARE_MONTHLY,
                T.LOAD,
                T.INVENTORY,
            )
        },
    }
    return Plan(settings, tables, basis, through, record)


def _complete_items(items: pd.DataFrame) -> pd.DataFrame:
    """Items with every column of the layout (a frame from an older source lacks the newer ones)."""
    table = load_layout().table(T.ITEMS)
    out = items.copy()
    for col in table.columns:
        if col.field not in out:
            out[col.field] = (
                ""
                if col.kind == "text"
                else pd.Series(pd.NaT, index=out.index, dtype=_DT)
                if col.kind in ("month", "date")
                else np.nan
            )
    return out


def settings_rows(values: dict[str, object]) -> list[list[object]]:
    """The Settings table: one row per setting of the layout, with its description."""
    rows: list[list[object]] = [["Setting", "Value", "Description"]]
    for spec in load_layout().settings.rows:
        rows.append(
            [
                spec.setting,
                values.get(spec.name, DEFAULT_SETTINGS.get(spec.name, "")),
                spec.description,
            ]
        )
    return rows


def plan_rows(
    values: dict[str, object], plan: Plan, log: list[dict[str, object]]
) -> dict[str, Any]:
    """Every table's rows as the builder writes them (Settings from ``values``, the Log from
    ``log``: command, data, details; time and user filled in unless given; a table the plan
    does not fill: its header only), after checking that each fits an Excel sheet."""
    from sop_excel.workbook.tables import frame_rows

    check_rows({name: len(frame) for name, frame in plan.tables.items()})
    rows = [
        {
            "time": pd.Timestamp(dt.datetime.now().replace(microsecond=0)),
            "user": getpass.getuser(),
            **r,
        }
        for r in log
    ]
    tables = {**plan.tables, T.LOG: pd.DataFrame(rows, columns=load_layout().table(T.LOG).fields)}
    built: dict[str, Any] = {T.SETTINGS: settings_rows(values)}
    for t in load_layout().tables:
        if t.name == T.SETTINGS:
            continue
        built[t.name] = (
            frame_rows(t.name, tables[t.name])
            if t.name in tables
            else [[c.header for c in t.columns]]
        )
    return built


def write_plan(
    out: str | Path, values: dict[str, object], plan: Plan, log: list[dict[str, object]]
) -> Path:
    """Write every table (:func:`plan_rows`) with the XlsxWriter builder (atomically), then keep
    the execution basis on the Basis sheet so the first refresh-actuals reads it. ``values``:
    the Settings values; ``log``: the Log's first rows."""
    from sop_excel.choices import named_choices
    from sop_excel.workbook.build import build_workbook
    from sop_excel.workbook.formulas import table_formulas

    built = plan_rows(values, plan, log)
    formulas = {t.name: table_formulas(t.name) for t in load_layout().tables}
    path = build_workbook(out, built, formulas=formulas, choices=named_choices())
    keep_new_basis(path, plan.settings, plan.basis)
    return path


def check_rows(rows: dict[str, int]) -> None:
    """Refuse tables that would run past Excel's last row (1,048,576), before anything is written.

    Args:
        rows: table name -> how many data rows it will hold.
    """
    from sop_excel.errors import SopExcelError
    from sop_excel.workbook.layout import parse_cell

    for name, n in rows.items():
        table = load_layout().table(name)
        last = parse_cell(table.anchor)[0] + n
        if last > EXCEL_ROWS:
            raise SopExcelError(
                f"The {table.sheet} sheet would need {last:,} rows ({n:,} rows of {name}); an Excel "
                f"sheet holds {EXCEL_ROWS:,}. Plan fewer items (or fewer months of history, a shorter "
                "horizon, fewer scenarios) in one workbook; nothing was written."
            )


def keep_new_basis(path: Path, settings: Settings, basis: pipeline.ExecutionBasis) -> bool:
    """A new workbook's execution basis on its Basis sheet, with the file's fingerprint, so its
    first refresh-actuals reads it instead of the S&OP sheets (see ``sop_excel.basis.keep_basis``)."""
    from sop_excel.macros import keep_basis
    from sop_excel.workbook.zip_io import ZipIO

    book = ZipIO(path)
    try:
        return keep_basis(book, settings, basis)
    finally:
        book.close()


__all__ += ["check_rows", "keep_new_basis"]
