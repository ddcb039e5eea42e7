"""The meeting pack's content: the workbook's tables in (as frames), pages of blocks out.

Pure pandas over the frames ``tables.read_frame`` gives; the macro reads them
(``macros.meeting_pack``). Every figure is the workbook's own (Compare, Finance, Supply,
Inventory, Accuracy, Execution, Exceptions) or a sum of it; the few computed here are said so
(the family 80% band, accuracy at lags other than the Accuracy sheet's). Where the workbook has
no data for a part (no budget, no lock, no actuals yet), the page says so in words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel.errors import InputError
from sop_excel.models import Settings
from sop_excel.report.blocks import (
    SECTIONS,
    Box,
    Pack,
    Page,
    Text,
    fmt,
    month_range,
    scenario_colours,
)

__all__ = ["OPTIONAL_TABLES", "TABLES", "Context", "PackInput", "build_pack"]

TABLES = (
    T.ITEMS,
    T.HISTORY,
    T.FORECAST,
    T.INPUTS,
    T.FAMILY_TARGETS,
    T.SCENARIO_LIST,
    T.DRIVERS,
    T.BUDGET,
    T.FINANCE,
    T.COMPARE,
    T.LOAD,
    T.INVENTORY,
    T.LOCKS,
    T.SNAPSHOTS,
    T.FVA,
    T.EXECUTION,
    T.EXCEPTIONS,
    T.ACTUALS,
    T.LOG,
)
"""The tables the pack reads (every one of them is in every sop-excel workbook)."""

OPTIONAL_TABLES: tuple[str, ...] = (T.SUPPLY_ITEMS,)
"""Tables the pack shows when the workbook (and the layout) has them, read only where present:
the 13-week S&OE supply view of issue 21 (per item: stock now, the first week below safety stock
and out of stock, revenue at risk), shown on the supply page by ``ops_pages.stockout_weeks``."""

SOP_COMMANDS = (
    "demo",
    "new",
    "refresh-forecast",
    "compare-scenarios",
    "new-scenario",
    "import-scenarios",
    "lock-plan",
    "close-month",
)
SOE_COMMANDS = ("refresh-actuals", "flag-drift")


@dataclass
class PackInput:
    """What the pack is made from: the validated Settings, the tables as frames, and who asked."""

    settings: Settings
    tables: dict[str, pd.DataFrame]
    workbook: str
    user: str
    now: dt.datetime
    scenarios: list[str] | None = None  # the scenarios to show (default: all, in the sheet's order)


@dataclass
class Context:
    """The frames and what every page needs to know about them."""

    inp: PackInput
    selected: list[str]
    colours: dict[str, str]
    compare: pd.DataFrame  # indexed by scenario, selected rows in order
    months: list[pd.Timestamp]  # the horizon
    budget_months: list[pd.Timestamp]  # horizon months with a budget
    facts: dict[str, object] = field(default_factory=dict)  # what the sections found, for the cover
    notes: list[str] = field(default_factory=list)  # what the pack says instead of a figure
    cache: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def t(self) -> dict[str, pd.DataFrame]:
        return self.inp.tables

    @property
    def settings(self) -> Settings:
        return self.inp.settings

    @property
    def cur(self) -> str:
        return self.settings.currency or ""

    @property
    def cycle(self) -> pd.Timestamp:
        return pd.Timestamp(self.settings.as_of).replace(day=1)

    @property
    def plan(self) -> str:
        """The plan scenario (Settings > Plan scenario, the one Inventory projects)."""
        return self.settings.plan_scenario

    @property
    def has_budget(self) -> bool:
        return bool(self.budget_months)

    def items(self) -> pd.DataFrame:
        """The Items sheet indexed by item."""
        if "items" not in self.cache:
            self.cache["items"] = self.t[T.ITEMS].drop_duplicates("item").set_index("item")
        return self.cache["items"]

    def money(self, value: float) -> str:
        return fmt(value, "money")

    def unit(self, text: str = "") -> str:
        """A column header's unit: 'Revenue (EUR)'."""
        return f"{text} ({self.cur})" if self.cur else text


def _need_values(frame: pd.DataFrame, columns: list[str], sheet: str, workbook: str) -> None:
    """Formula columns read without values (a file saved by a program that does not calculate):
    refuse rather than show blanks or zeros as the plan."""
    empty = [c for c in columns if frame[c].isna().any()]
    if empty:
        raise InputError(
            f"{workbook}: the {sheet} sheet has formulas without saved values (column "
            f"{', '.join(empty)}), so the pack cannot show its figures. Run sop-excel "
            f"compare-scenarios {workbook}, or open the workbook in Excel or LibreOffice "
            "and save it, then make the pack again."
        )


def _context(inp: PackInput) -> Context:
    t = inp.tables
    listed = list(dict.fromkeys(t[T.SCENARIO_LIST]["scenario"].astype(str)))
    compare = (
        t[T.COMPARE]
        .assign(scenario=t[T.COMPARE]["scenario"].astype(str))
        .drop_duplicates("scenario")
    )
    _need_values(compare, ["volume", "revenue", "margin", "gap"], "Compare", inp.workbook)
    fin = t[T.FINANCE]
    _need_values(fin, ["revenue", "margin"], "Finance", inp.workbook)
    _need_values(
        fin[fin["budget_revenue"].notna()], ["gap"], "Finance", inp.workbook
    )  # no budget: no gap (blank)
    computed = list(compare["scenario"])
    if not computed:
        raise InputError(
            f"{inp.workbook}: the Compare sheet has no scenarios, so the pack has no figures to "
            f"show. Run sop-excel compare-scenarios {inp.workbook} (the Compare scenarios "
            "button), then make the pack again."
        )
    names = [n for n in listed if n in computed] + [n for n in computed if n not in listed]
    notes = []
    stale = [n for n in listed if n not in computed]
    if stale:
        notes.append(
            f"Scenario {', '.join(stale)} is on the Scenarios sheet but has no figures yet "
            "(run Compare scenarios): not shown."
        )
    if inp.scenarios:
        unknown = [n for n in inp.scenarios if n not in computed]
        if unknown:
            raise InputError(
                f"Scenario '{unknown[0]}' does not exist. Existing: {', '.join(names)}."
            )
        selected = list(dict.fromkeys(inp.scenarios))
    else:
        selected = names
    finance = t[T.FINANCE]
    months = (
        sorted(pd.Timestamp(m) for m in pd.unique(finance["month"]))
        if len(finance)
        else sorted(pd.Timestamp(m) for m in pd.unique(t[T.FORECAST]["month"]))
    )
    by_month = (
        finance.groupby("month")["budget_revenue"].sum() if len(finance) else pd.Series(dtype=float)
    )
    budget_months = [pd.Timestamp(m) for m, v in by_month.items() if v != 0]
    return Context(
        inp,
        selected,
        scenario_colours(names),
        compare.set_index("scenario").loc[selected],
        months,
        budget_months,
        notes=notes,
    )


def build_pack(inp: PackInput) -> Pack:
    """The pages of the meeting pack, cover first."""
    from sop_excel.report import ops_pages, plan_pages

    ctx = _context(inp)
    body = (
        plan_pages.demand(ctx)
        + plan_pages.scenarios(ctx)
        + ops_pages.supply(ctx)
        + ops_pages.performance(ctx)
        + ops_pages.escalations(ctx)
    )
    pages = [plan_pages.cover(ctx), *body]
    s = inp.settings
    return Pack(
        title=f"S&OP meeting pack, {ctx.cycle:%B %Y}",
        pages=pages,
        notes=ctx.notes,
        footer=f"{inp.workbook} · as of {s.as_of:%Y-%m-%d} · prepared {inp.now:%Y-%m-%d %H:%M} by {inp.user}",
        prepared_at=inp.now,
        author=inp.user,
    )


def says(ctx: Context, box: Box, text: str, title: str = "", note: bool = True) -> Text:
    """A statement in place of a figure the workbook cannot give (also listed in the run report)."""
    if note:
        ctx.notes.append(text)
    return Text([text], box, title=title, tone="warn")


def page(section: str, title: str, blocks: list, subtitle: str = "") -> Page:
    assert section in SECTIONS
    return Page(section, title, blocks, subtitle)


def horizon_text(ctx: Context) -> str:
    return f"{month_range(ctx.months)} ({len(ctx.months)} months)" if ctx.months else "no months"


def budget_cover_text(ctx: Context) -> str:
    """Which months the budget figures and the gap cover (the workbook's Compare sums the gap over
    the months that have a budget)."""
    if not ctx.has_budget:
        return (
            "No budget for the horizon (the Budget sheet has no revenue for these months): gap to "
            "budget is not shown. Fill the Budget sheet and run Compare scenarios."
        )
    if len(ctx.budget_months) == len(ctx.months):
        return f"Budget covers the whole horizon ({horizon_text(ctx)})."
    return (
        f"Budget covers {len(ctx.budget_months)} of the {len(ctx.months)} months "
        f"({month_range(ctx.budget_months)}): budget revenue and gap to budget are over those months, "
        f"revenue and margin over all {len(ctx.months)}."
    )


def last_run(log: pd.DataFrame, commands: tuple[str, ...]) -> str:
    runs = (
        log[log["command"].isin(commands)].sort_values("time", kind="stable") if len(log) else log
    )
    if not len(runs):
        return ""
    r = runs.iloc[-1]
    who = f" by {r['user']}" if isinstance(r["user"], str) and r["user"] else ""
    return f"{r['command']} on {fmt(r['time'], 'datetime')}{who}"


def numbers(series: pd.Series | np.ndarray | list) -> list[float]:
    return [float(v) for v in np.asarray(series, dtype=float)]
