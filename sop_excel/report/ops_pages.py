"""The supply, performance and S&OE pages of the meeting pack."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel.report import charts
from sop_excel.report.blocks import Block, Box, Chart, Page, Table, Text, fmt, plural, signed
from sop_excel.report.content import Context, numbers, page, says

__all__ = ["accuracy_by_lag", "escalations", "performance", "stockout_weeks", "supply"]

HEATMAP_ROWS = 36  # resources on one heatmap page
MAX_LAG = 6


def _plan_scenario(ctx: Context, load: pd.DataFrame) -> str:
    names = set(load["scenario"])
    return ctx.plan if ctx.plan in names else (ctx.selected[0] if ctx.selected else "")


def _utilisation(load: pd.DataFrame) -> pd.Series:
    """The Supply sheet's utilisation; where it is empty, load / capacity (no capacity: infinite)."""
    cap = load["capacity_hours"].astype(float)
    ratio = np.where(
        cap > 0,
        load["load_hours"].astype(float) / cap.where(cap > 0, 1.0),
        np.where(load["load_hours"].astype(float) > 0, np.inf, 0.0),
    )
    return load["utilisation"].astype(float).fillna(pd.Series(ratio, index=load.index))


def supply(ctx: Context) -> list[Page]:
    """Capacity load against capacity per resource and month (overloads marked), then the items
    the plan scenario's inventory projection takes below safety stock."""
    load = ctx.t[T.LOAD]
    load = load[load["scenario"].isin(ctx.selected)].assign(
        util=lambda d: _utilisation(d), over=lambda d: d["overload"].astype(str) == "Yes"
    )
    plan = _plan_scenario(ctx, load)
    pages = []
    if load.empty:
        pages.append(
            page(
                "supply",
                "Supply: capacity",
                [
                    says(
                        ctx,
                        Box(0, 0, 1, 0.2),
                        "No capacity load on the Supply sheet for the scenarios shown: run Compare scenarios.",
                    )
                ],
            )
        )
    else:
        pages += _capacity_pages(ctx, load, plan)
    pages.append(_inventory_page(ctx))
    return pages


def _overload_table(ctx: Context, load: pd.DataFrame, box: Box) -> Block:
    over = load[load["over"]]
    if over.empty:
        return Text(
            ["No resource is loaded beyond its capacity in any month of the scenarios shown."],
            box,
            title="Overloads",
        )
    order = {n: k for k, n in enumerate(ctx.selected)}
    g = (
        over.assign(excess=over["load_hours"] - over["capacity_hours"])
        .groupby(["scenario", "resource"])
        .agg(
            months=("month", "size"),
            first=("month", "min"),
            peak=("util", "max"),
            excess=("excess", "sum"),
        )
        .reset_index()
    )
    g = g.assign(o=g["scenario"].map(order)).sort_values(
        ["o", "peak"], ascending=[True, False], kind="stable"
    )
    shown = g.iloc[:14]
    rows = [
        [
            r.scenario,
            r.resource,
            fmt(r.months, "int"),
            fmt(r.first, "month"),
            "no capacity" if np.isinf(r.peak) else fmt(r.peak, "pct"),
            fmt(r.excess, "qty"),
        ]
        for r in shown.itertuples(index=False)
    ]
    return Table(
        "Overloads: load above capacity",
        ["Scenario", "Resource", "Months", "First", "Peak load", "Hours over capacity"],
        rows,
        list("llrlrr"),
        box,
        marks={(i, 4): "bad" for i in range(len(rows))},
        swatches=[ctx.colours[n] for n in shown["scenario"]],
        total_rows=len(g),
        where="the Supply sheet",
    )


def _panels(ctx: Context, load: pd.DataFrame, n: int) -> list[dict]:
    peak = load.groupby("resource")["util"].max()
    overloaded = set(load.loc[load["over"], "resource"])
    ranked = sorted(
        peak.index, key=lambda r: (r not in overloaded, -np.nan_to_num(peak[r], posinf=1e9), r)
    )
    panels = []
    for res in ranked[:n]:
        series = []
        for name in ctx.selected:
            rows = (
                load[(load["resource"] == res) & (load["scenario"] == name)]
                .set_index("month")
                .reindex(ctx.months)
            )
            if rows["load_hours"].notna().any():
                series.append(
                    (
                        name,
                        numbers(rows["load_hours"]),
                        numbers(rows["capacity_hours"]),
                        ctx.colours[name],
                    )
                )
        if series:
            panels.append({"resource": res, "months": ctx.months, "series": series})
    return panels


def _capacity_pages(ctx: Context, load: pd.DataFrame, plan: str) -> list[Page]:
    mine = load[load["scenario"] == plan]
    grid = mine.pivot_table(
        index="resource", columns="month", values="util", aggfunc="max"
    ).reindex(columns=ctx.months)
    flags = (
        mine.pivot_table(index="resource", columns="month", values="over", aggfunc="max")
        .reindex(index=grid.index, columns=ctx.months)
        .fillna(False)
        .astype(bool)
    )
    n_over = int(mine["over"].sum())
    peak = mine["util"].max()
    over_resources = sorted(set(mine.loc[mine["over"], "resource"]))
    ctx.facts["supply_over"] = (n_over, plan, peak, over_resources)
    if n_over:
        res = ", ".join(over_resources[:4])
        ctx.facts["decide_capacity"] = (
            f"Capacity: {plural(n_over, 'overloaded resource-month')} in {plan} ({res}): add "
            "capacity, move volume or accept the shortfall. (p. {p:supply})"
        )
    resources = list(grid.index)
    left_out = ""
    if len(resources) > HEATMAP_ROWS:
        top = grid.max(axis=1).sort_values(ascending=False, kind="stable").index[:HEATMAP_ROWS]
        resources = sorted(top)
        left_out = f" The {HEATMAP_ROWS} most loaded of {len(grid)} resources; the others are on the Supply sheet."
    heat = Chart(
        f"Load as a share of capacity, {plan} (plan scenario); red: overloaded",
        functools.partial(
            charts.utilisation_heatmap,
            resources=resources,
            months=ctx.months,
            utilisation=grid.loc[resources].to_numpy(dtype=float),
            overload=flags.loc[resources].to_numpy(dtype=bool),
        ),
        Box(0, 0, 1, 0.44 if len(resources) <= 10 else 0.95),
        note="Load hours (volume x hours per unit) over available hours, per resource and month (Supply sheet)."
        + left_out,
        alt=f"Capacity utilisation per resource and month for {plan}; {n_over} overloaded resource-months.",
    )
    title = "Supply: capacity load against capacity"
    if len(resources) <= 10:
        return [
            page(
                "supply",
                title,
                [
                    heat,
                    _overload_table(ctx, load, Box(0, 0.49, 0.44, 0.51)),
                    *_panel_chart(ctx, load, 2, Box(0.47, 0.49, 0.53, 0.51)),
                ],
            )
        ]
    return [
        page("supply", title, [heat]),
        page(
            "supply",
            title + " (continued)",
            [
                _overload_table(ctx, load, Box(0, 0, 0.44, 1)),
                *_panel_chart(ctx, load, 4, Box(0.47, 0, 0.53, 1)),
            ],
        ),
    ]


def _panel_chart(ctx: Context, load: pd.DataFrame, n: int, box: Box) -> list[Block]:
    panels = _panels(ctx, load, n)
    if not panels:
        return []
    return [
        Chart(
            "Most loaded resources: load against capacity",
            functools.partial(charts.resource_panels, panels=panels),
            box,
            note="Black: capacity; dotted: a scenario whose capacity drivers change it; red dots: overloaded months.",
            alt="Load hours per scenario against capacity for "
            + ", ".join(p["resource"] for p in panels)
            + ".",
        )
    ]


def stockout_weeks(ctx: Context, box: Box) -> list[Block]:
    """The items the 13-week S&OE supply view (issue 21, ``tblSupplyItems`` on the Supply weeks
    sheet) sees running out or below safety stock, first stockout first; nothing when the
    workbook has no such view."""
    weeks = ctx.t.get(T.SUPPLY_ITEMS)
    if weeks is None or not {"item", "stockout_week", "below_safety_week"} <= set(weeks.columns):
        return []
    title = "Next 13 weeks (Supply weeks sheet)"
    risk = weeks[weeks["stockout_week"].notna() | weeks["below_safety_week"].notna()]
    n_out = int(weeks["stockout_week"].notna().sum())
    ctx.facts["supply_weeks"] = f"{plural(n_out, 'item')} out of stock within 13 weeks"
    if risk.empty:
        return [
            Text(
                ["No item runs out or falls below safety stock in the next 13 weeks."],
                box,
                title=title,
            )
        ]
    value = (
        risk["revenue_at_risk"] if "revenue_at_risk" in risk else pd.Series(0.0, index=risk.index)
    )
    risk = risk.assign(
        at_risk=value.fillna(0).astype(float), order=-value.fillna(0).astype(float)
    ).sort_values(
        ["stockout_week", "below_safety_week", "order"], na_position="last", kind="stable"
    )
    shown = risk.iloc[:8]
    rows = [
        [
            r.item,
            fmt(r.stockout_week, "date"),
            fmt(r.below_safety_week, "date"),
            ctx.money(r.at_risk),
        ]
        for r in shown.itertuples(index=False)
    ]
    marks = {
        (i, 1): "bad"
        for i, r in enumerate(shown.itertuples(index=False))
        if pd.notna(r.stockout_week)
    }
    return [
        Table(
            title,
            ["Item", "Out of stock from", "Below safety from", ctx.unit("Revenue at risk")],
            rows,
            list("lllr"),
            box,
            marks=marks,
            total_rows=len(risk),
            where="the Supply weeks sheet",
        )
    ]


def _inventory_page(ctx: Context) -> Page:
    t = ctx.t
    inv = t[T.INVENTORY]
    items = ctx.items()
    plan = ctx.plan
    if inv.empty:
        return page(
            "supply",
            "Supply: inventory",
            [
                says(
                    ctx,
                    Box(0, 0, 1, 0.2),
                    "No inventory projection on the Inventory sheet: run Compare scenarios.",
                )
            ],
        )
    below = inv[inv["below_safety"].astype(str) == "Yes"]
    g = (
        below.groupby("item")
        .agg(
            first=("month", "min"),
            months=("month", "size"),
            lowest=("closing", "min"),
            safety=("safety_stock", "max"),
        )
        .assign(short=lambda d: d["safety"] - d["lowest"])
    )
    out = inv[inv["closing"] < -1e-9].groupby("item")["month"].min()
    g["runs_out"] = g.index.map(out)
    g = g.assign(
        _out=g["runs_out"].isna(),
        _value=-(g["short"] * g.index.map(items["unit_cost"]).astype(float)),
    )
    g = g.sort_values(["_out", "runs_out", "first", "_value"], kind="stable")
    n_items = inv["item"].nunique()
    lines = [
        f"{len(g)} of {plural(n_items, 'item')} fall below safety stock within the horizon in the projection of "
        f"{plan} (plan scenario; Inventory sheet: opening stock + supply - demand, supply capped where a "
        f"resource is overloaded); {int(g['runs_out'].notna().sum())} run out (closing stock below zero)."
    ]
    if plan not in ctx.selected:
        lines.append(f"The inventory projection is of the plan scenario ({plan}) only.")
    n_over = ctx.facts.get("supply_over")  # (count, plan, peak, resources) from _capacity_pages
    summary = f"Supply ({plan}): "
    if isinstance(n_over, tuple):
        summary += f"{plural(n_over[0], 'overloaded resource-month')} (peak load {fmt(n_over[2], 'pct')}); "
    ctx.facts["supply"] = (
        summary + f"{plural(len(g), 'item')} below safety stock, "
        f"{int(g['runs_out'].notna().sum())} run out. (p. {{p:supply}})"
    )
    blocks: list[Block] = [Text(lines, Box(0, 0, 1, 0.12), size=10.5)]
    if len(g):
        shown = g.iloc[:16]
        rows, marks = [], {}
        for i, (item, r) in enumerate(shown.iterrows()):
            info = items.loc[item] if item in items.index else pd.Series(dtype=object)
            rows.append(
                [
                    item,
                    str(info.get("description", "")),
                    str(info.get("family", "")),
                    str(info.get("resource", "")),
                    fmt(r["first"], "month"),
                    fmt(r["months"], "int"),
                    fmt(r["lowest"], "qty"),
                    fmt(r["safety"], "qty"),
                    fmt(r["short"], "qty"),
                    fmt(r["runs_out"], "month"),
                ]
            )
            if r["lowest"] < 0:
                marks[(i, 6)] = "neg"
            if pd.notna(r["runs_out"]):
                marks[(i, 9)] = "bad"
        blocks.append(
            Table(
                "Items projected below safety stock (first to act on first)",
                [
                    "Item",
                    "Description",
                    "Family",
                    "Resource",
                    "First month below",
                    "Months below",
                    "Lowest closing",
                    "Safety stock",
                    "Largest shortfall",
                    "Runs out in",
                ],
                rows,
                list("llllrrrrrl"),
                Box(0, 0.14, 1, 0.5),
                marks=marks,
                total_rows=len(g),
                where="the Inventory sheet",
                note="Units. Safety stock = z(service level) x forecast error x sqrt(lead time).",
            )
        )
        by_month = below.groupby("month")["item"].nunique().reindex(ctx.months, fill_value=0)
        short = (
            inv[inv["closing"] < -1e-9]
            .groupby("month")["item"]
            .nunique()
            .reindex(ctx.months, fill_value=0)
        )
        blocks.append(
            Chart(
                "Items below safety stock per month",
                functools.partial(
                    charts.below_safety_by_month,
                    months=ctx.months,
                    below=numbers(by_month),
                    out=numbers(short),
                ),
                Box(0, 0.68, 0.6, 0.32),
                alt="Number of items below safety stock, and out of stock, per month.",
            )
        )
    else:
        blocks.append(
            Text(["No item falls below its safety stock in the projection."], Box(0, 0.14, 1, 0.1))
        )
    blocks += stockout_weeks(ctx, Box(0.62, 0.68, 0.38, 0.32))
    if ctx.facts.get("supply_weeks"):
        ctx.facts["supply"] = str(ctx.facts["supply"]).replace(
            " (p. ", f"; {ctx.facts['supply_weeks']} (p. ", 1
        )
    return page("supply", "Supply: inventory against safety stock", blocks)


# -- performance ---------------------------------------------------------------------------------
def performance(ctx: Context) -> list[Page]:
    """Forecast accuracy by lag and forecast value added (where locks exist), and the items with
    the largest value at risk this month."""
    t = ctx.t
    locks, snaps, fva = t[T.LOCKS], t[T.SNAPSHOTS], t[T.FVA]
    blocks: list[Block] = []
    if locks.empty or snaps.empty:
        blocks.append(
            says(
                ctx,
                Box(0, 0, 1, 0.16),
                "No plan has been locked yet, so there is no forecast "
                "accuracy by lag and no forecast value added: lock the agreed plan each cycle (Lock "
                "plan); accuracy starts once the locked months have actuals on the History sheet.",
                title="Forecast accuracy",
                note=False,
            )
        )
    else:
        blocks += _accuracy_blocks(ctx, snaps, fva, locks)
    blocks += _value_at_risk(ctx)
    return [page("performance", "Performance: forecast accuracy and value at risk", blocks)]


def accuracy_by_lag(
    snapshots: pd.DataFrame, history: pd.DataFrame, max_lag: int = MAX_LAG
) -> pd.DataFrame:
    """Per lag (0 to ``max_lag``): months, WMAPE of naive, baseline and final over every item and
    month with actuals: the Accuracy sheet's Total row (``core.lock.accuracy``) at each lag, in
    one pass (the latest lock wins where several forecast a month at the same lag)."""
    hist = history.dropna(subset=["qty"])[["item", "month", "qty"]].rename(
        columns={"qty": "actual"}
    )
    snap = (
        snapshots[(snapshots["lag"] >= 0) & (snapshots["lag"] <= max_lag)]
        .sort_values("version", kind="stable")
        .drop_duplicates(["item", "month", "lag"], keep="last")
        .merge(hist, on=["item", "month"], how="inner")
    )
    a = snap["actual"].astype(float)
    err = snap.assign(
        lag=snap["lag"].astype(int),
        a=a.abs(),
        **{f"e_{c}": (a - snap[c].astype(float)).abs() for c in ("naive", "baseline", "final")},
    )
    g = err.groupby("lag").agg(
        months=("month", "nunique"),
        a=("a", "sum"),
        e_naive=("e_naive", "sum"),
        e_baseline=("e_baseline", "sum"),
        e_final=("e_final", "sum"),
    )
    g = g[g["a"] > 0]
    return pd.DataFrame(
        {
            "lag": g.index,
            "months": g["months"].to_numpy(),
            **{
                f"{c}_wmape": (g[f"e_{c}"] / g["a"]).to_numpy()
                for c in ("naive", "baseline", "final")
            },
        }
    )


def _accuracy_blocks(
    ctx: Context, snaps: pd.DataFrame, fva: pd.DataFrame, locks: pd.DataFrame
) -> list[Block]:
    by_lag = accuracy_by_lag(snaps, ctx.t[T.HISTORY])
    lags, rows = [int(v) for v in by_lag["lag"]], [r for _, r in by_lag.iterrows()]
    versions = (
        f"v{int(locks['version'].min())} to v{int(locks['version'].max())}"
        if len(locks) > 1
        else f"v{int(locks['version'].iloc[0])}"
    )
    out: list[Block] = []
    if not lags:
        out.append(
            says(
                ctx,
                Box(0, 0, 1, 0.16),
                f"Locked plans exist ({versions}) but none of their months has "
                "actuals on the History sheet yet: accuracy by lag and forecast value added start when "
                "the first locked month closes.",
                title="Forecast accuracy",
            )
        )
        return out
    out.append(
        Chart(
            "Forecast error (WMAPE) by lag",
            functools.partial(
                charts.accuracy_by_lag,
                lags=lags,
                naive=[r["naive_wmape"] for r in rows],
                stat=[r["baseline_wmape"] for r in rows],
                final=[r["final_wmape"] for r in rows],
                months=[int(r["months"]) for r in rows],
            ),
            Box(0, 0, 0.42, 0.5),
            note=f"WMAPE over every item and month the locks {versions} forecast at that lag and History has; "
            "lag 0: locked in the month itself.",
            alt="Weighted MAPE by lag for naive, statistical and final.",
        )
    )
    fam = fva[fva["level"].isin(["Family", "Total"])]
    if fam.empty:
        out.append(
            says(
                ctx,
                Box(0.45, 0, 0.55, 0.5),
                "The Accuracy sheet has no forecast value added at lag 1 yet.",
                title="Forecast value added",
            )
        )
        return out
    rows_t, marks = [], {}
    for i, r in enumerate(fam.itertuples(index=False)):
        rows_t.append(
            [
                str(r.name),
                fmt(r.months, "int"),
                fmt(r.actual, "qty"),
                fmt(r.naive_wmape, "pct"),
                fmt(r.baseline_wmape, "pct"),
                fmt(r.final_wmape, "pct"),
                signed(r.fva_baseline, "pct"),
                signed(r.fva_final, "pct"),
            ]
        )
        for j, v in ((6, r.fva_baseline), (7, r.fva_final)):
            if pd.notna(v) and v < 0:
                marks[(i, j)] = "neg"
        if r.level == "Total":
            for j in range(8):
                marks.setdefault((i, j), "bold")
    total = fam[fam["level"] == "Total"]
    if len(total):
        r = total.iloc[0]
        ctx.facts["accuracy"] = (
            f"Accuracy at lag 1: final WMAPE {fmt(r['final_wmape'], 'pct')} against "
            f"statistical {fmt(r['baseline_wmape'], 'pct')} and naive {fmt(r['naive_wmape'], 'pct')}; "
            f"value added by the final forecast {signed(r['fva_final'], 'pct')}. (p. {{p:performance}})"
        )
    out.append(
        Table(
            "Forecast value added at lag 1 (Accuracy sheet)",
            [
                "Family",
                "Months",
                "Actual",
                "WMAPE naive",
                "WMAPE statistical",
                "WMAPE final",
                "FVA stat. vs naive",
                "FVA final vs stat.",
            ],
            rows_t,
            list("lrrrrrrr"),
            Box(0.45, 0, 0.55, 0.5),
            marks=marks,
            note="FVA above zero: the step made the forecast more accurate.",
        )
    )
    return out


def _value_at_risk(ctx: Context) -> list[Block]:
    ex = ctx.t[T.EXECUTION]
    box = Box(0, 0.55, 1, 0.45)
    if ex.empty:
        return [says(ctx, box, _no_execution(ctx), title="Value at risk this month")]
    worst = ex.iloc[np.argsort(-ex["value_at_risk"].abs().fillna(0).to_numpy(), kind="stable")]
    worst = worst[worst["value_at_risk"].abs() > 0]
    if worst.empty:
        return [
            Text(["No item has a value at risk this month."], box, title="Value at risk this month")
        ]
    shown = worst.iloc[:8]
    rows, marks = [], {}
    for i, r in enumerate(shown.itertuples(index=False)):
        rows.append(
            [
                r.item,
                r.family,
                r.status,
                fmt(r.month_plan, "qty"),
                fmt(r.mtd_plan, "qty"),
                fmt(r.mtd_orders, "qty"),
                fmt(r.drift_pct, "pct"),
                fmt(r.projected, "qty"),
                ctx.money(r.value_at_risk),
                r.bias or "",
            ]
        )
        if r.status == "Act":
            marks[(i, 2)] = "bad"
        for j, v in ((6, r.drift_pct), (8, r.value_at_risk)):
            if pd.notna(v) and v < 0:
                marks[(i, j)] = "neg"
    return [
        Table(
            f"Worst items by value at risk, {ctx.cycle:%B %Y} (Execution sheet)",
            [
                "Item",
                "Family",
                "Status",
                "Month plan",
                "MTD plan",
                "MTD orders",
                "Drift %",
                "Projected month",
                ctx.unit("Value at risk"),
                "Bias",
            ],
            rows,
            list("lllrrrrrrl"),
            box,
            marks=marks,
            total_rows=len(worst),
            where="the Execution sheet",
            note="Value at risk: (run-rate projection - month plan) x price. Plan: "
            f"{ex['plan_source'].iloc[0]}.",
        )
    ]


def _no_execution(ctx: Context) -> str:
    actuals = ctx.t[T.ACTUALS]
    loaded = (
        len(actuals)
        and (
            (actuals["date"] >= ctx.cycle)
            & (actuals["date"] < ctx.cycle + pd.offsets.MonthBegin(1))
        ).any()
    )
    if loaded:
        return (
            f"The Execution sheet has no figures although actuals for {ctx.cycle:%B %Y} are loaded: run Flag "
            "drift (sop-excel flag-drift) to compare them with the plan."
        )
    return f"No actuals loaded for {ctx.cycle:%B %Y} yet, so no execution figures: load them (Refresh actuals)."


# -- S&OE escalations ----------------------------------------------------------------------------
def escalations(ctx: Context) -> list[Page]:
    """Open exceptions raised to S&OP (owner, status), then the other open ones."""
    exc = ctx.t[T.EXCEPTIONS]
    status = exc["status"].fillna("").astype(str).str.strip()
    open_ = exc[status.str.lower() != "resolved"]
    raised_mask = open_["action"].fillna("").astype(str).str.startswith("Raise to S&OP")
    raised, others = open_[raised_mask], open_[~raised_mask]
    owner = open_["owner"].fillna("").astype(str).str.strip()
    unowned = int((owner == "").sum())
    exposure = open_["value_at_risk"].abs().sum()
    if ctx.t[T.EXECUTION].empty and exc.empty:
        return [
            page(
                "escalations",
                "S&OE escalations",
                [
                    says(
                        ctx,
                        Box(0, 0, 1, 0.2),
                        _no_execution(ctx),
                        title="No exceptions",
                        note=False,
                    )
                ],
            )
        ]
    cur = f" {ctx.cur}" if ctx.cur else ""
    ctx.facts["escalations"] = (
        f"S&OE: {plural(len(open_), 'open exception')} ({ctx.money(exposure)}{cur} value "
        f"at risk), {len(raised)} raised to S&OP, {unowned} without an owner. "
        "(p. {p:escalations})"
    )
    if len(raised):
        ctx.facts["decide_escalations"] = (
            f"{plural(len(raised), 'exception')} raised to S&OP from execution: "
            "agree the action and an owner for each. (p. {p:escalations})"
        )
    lines = [
        f"{plural(len(open_), 'open exception')} on the Exceptions sheet, {ctx.money(exposure)}{cur} of "
        f"value at risk in total (absolute); {len(raised)} raised to S&OP; {unowned} without an owner."
    ]
    blocks: list[Block] = [Text(lines, Box(0, 0, 1, 0.08), size=10.5)]
    top = 0.1
    if len(raised):
        h = min(
            0.16 + 0.1 * min(len(raised), 8), 0.5 if len(others) else 0.9
        )  # a reason wraps to 3 lines
        blocks.append(_exception_table(ctx, raised, "Raised to S&OP", Box(0, top, 1, h), full=True))
        top += h + 0.04
    else:
        blocks.append(
            Text(
                ["No open exception is raised to S&OP this cycle."],
                Box(0, top, 1, 0.1),
                title="Raised to S&OP",
            )
        )
        top += 0.12
    if len(others):
        blocks.append(
            _exception_table(
                ctx,
                others,
                "Other open exceptions, handled in S&OE (worst first)",
                Box(0, top, 1, 1 - top),
                full=False,
            )
        )
    return [page("escalations", "S&OE escalations", blocks)]


def _exception_table(
    ctx: Context, frame: pd.DataFrame, title: str, box: Box, *, full: bool
) -> Table:
    """Exceptions as a table; ``full``: with reason and comment. An Area column (demand, supply,
    capacity) where the Exceptions sheet has one."""
    shown = frame.iloc[: (8 if full else 12)]
    area = "area" in frame.columns
    cols = [
        "Rank",
        "Item",
        "Family",
        *(["Area"] if area else []),
        "Flag",
        ctx.unit("Value at risk"),
        *(["Reason"] if full else []),
        "Suggested action",
        "Owner",
        "Status",
        *(["Comment"] if full else []),
    ]
    rows, marks = [], {}
    for i, r in enumerate(shown.to_dict("records")):
        owner = r["owner"].strip() if isinstance(r["owner"], str) else ""
        cells = {
            "Rank": fmt(r["rank"], "int"),
            "Item": r["item"],
            "Family": r["family"],
            "Area": r.get("area", ""),
            "Flag": r["flag"],
            cols[5 if area else 4]: ctx.money(r["value_at_risk"]),
            "Reason": r["reason"],
            "Suggested action": r["action"],
            "Owner": owner or "(none)",
            "Status": r["status"] if isinstance(r["status"], str) and r["status"] else "Open",
            "Comment": r["comment"] if isinstance(r["comment"], str) else "",
        }
        rows.append([fmt(cells[c], "text") for c in cols])
        if r["flag"] == "Act":
            marks[(i, cols.index("Flag"))] = "bad"
        if pd.notna(r["value_at_risk"]) and r["value_at_risk"] < 0:
            marks[(i, cols.index(ctx.unit("Value at risk")))] = "neg"
        if not owner:
            marks[(i, cols.index("Owner"))] = "bad"
    align = ["r" if c in ("Rank", ctx.unit("Value at risk")) else "l" for c in cols]
    return Table(
        title,
        cols,
        rows,
        align,
        box,
        marks=marks,
        total_rows=len(frame),
        where="the Exceptions sheet",
    )
