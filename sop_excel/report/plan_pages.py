"""The S&OP pages of the meeting pack: the cover, demand review and scenarios."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from sop_excel import names as T
from sop_excel.report import charts
from sop_excel.report.blocks import (
    Block,
    Box,
    Chart,
    Page,
    Table,
    Text,
    fmt,
    month_range,
    plural,
    signed,
)
from sop_excel.report.content import (
    SOE_COMMANDS,
    SOP_COMMANDS,
    Context,
    budget_cover_text,
    horizon_text,
    last_run,
    numbers,
    page,
    says,
)

__all__ = ["consensus_changes", "cover", "demand", "driver_words", "scenarios"]

HISTORY_MONTHS = 36  # as the Dashboard sheet's charts
COMPARE_MONTHS = 12  # next 12 months against the last 12


def _lock_lines(ctx: Context) -> list[str]:
    locks = ctx.t[T.LOCKS].sort_values("version", kind="stable")
    if locks.empty:
        ctx.facts["unlocked"] = True
        ctx.notes.append(
            "No plan has been locked yet: the pack has no plan of record, no accuracy "
            "by lag and no forecast value added."
        )
        return [
            "Plan of record: none locked yet. Lock the agreed scenario with Lock plan "
            "(sop-excel lock-plan)."
        ]

    def said(r: pd.Series) -> str:
        who = f" by {r['user']}" if isinstance(r["user"], str) and r["user"] else ""
        return (
            f"v{int(r['version'])} ({r['scenario']}), locked {fmt(r['locked_at'], 'datetime')}{who}"
        )

    this = locks[locks["cycle"] == ctx.cycle]
    if len(this):
        r = this.iloc[-1]
        note = f' Note: "{r["note"]}".' if isinstance(r["note"], str) and r["note"] else ""
        return [f"Plan of record: {said(r)}; content hash {r['content_hash']}.{note}"]
    ctx.facts["unlocked"] = True
    last = locks.iloc[-1]
    when = f", is for {pd.Timestamp(last['cycle']):%B %Y}" if pd.notna(last["cycle"]) else ""
    return [
        f"Plan of record for {ctx.cycle:%B %Y}: not locked yet (the latest lock, {said(last)}{when})."
    ]


def _figures_lines(ctx: Context) -> list[str]:
    t = ctx.t
    lines = []
    sop = last_run(t[T.LOG], SOP_COMMANDS)
    if sop:
        lines.append(f"S&OP figures as last computed: {sop}.")
    actuals = t[T.ACTUALS]
    month_end = ctx.cycle + pd.offsets.MonthEnd(0)
    days = (
        actuals["date"][(actuals["date"] >= ctx.cycle) & (actuals["date"] <= month_end)]
        if len(actuals)
        else []
    )
    soe = last_run(t[T.LOG], SOE_COMMANDS)
    if len(days):
        lines.append(
            f"Execution: actuals through {pd.Timestamp(max(days)):%Y-%m-%d}"
            + (f" ({soe})." if soe else ".")
        )
    else:
        lines.append(f"Execution: no actuals loaded for {ctx.cycle:%B %Y} yet.")
    i = ctx.inp
    lines.append(f"Prepared {i.now:%Y-%m-%d %H:%M} by {i.user} from {i.workbook}.")
    return lines


def _status(ctx: Context) -> dict[str, str]:
    scen = ctx.t[T.SCENARIO_LIST]
    return dict(
        zip(scen["scenario"].astype(str), scen["status"].fillna("").astype(str), strict=True)
    )


def _monthly(ctx: Context, column: str) -> pd.DataFrame:
    """Finance summed over families: scenario x month."""
    fin = ctx.t[T.FINANCE]
    return (
        fin.groupby(["scenario", "month"])[column]
        .sum()
        .unstack("month")
        .reindex(columns=ctx.months)
    )


def _budget_by_month(ctx: Context) -> list[float] | None:
    if not ctx.has_budget:
        return None
    fin = ctx.t[T.FINANCE]
    one = fin[fin["scenario"] == fin["scenario"].iloc[0]]
    b = one.groupby("month")["budget_revenue"].sum().reindex(ctx.months)
    return numbers(b.where(b != 0))


def cover(ctx: Context) -> Page:
    """Cycle, plan of record, headline figures per scenario against budget, what to decide."""
    status = _status(ctx)
    lines = [
        f"## Cycle {ctx.cycle:%B %Y}",
        f"As of {ctx.settings.as_of:%Y-%m-%d}; horizon {horizon_text(ctx)}.",
        *_lock_lines(ctx),
        *_figures_lines(ctx),
    ]
    blocks: list = [Text(lines, Box(0, 0, 0.52, 0.31), size=10.5)]
    budgets = {ctx.money(v) for v in ctx.compare["budget_revenue"]}
    one_budget = (
        ctx.has_budget and len(budgets) == 1
    )  # the budget is per family and month: the same for all
    columns = [
        "Scenario",
        "Status",
        "Revenue",
        *([] if one_budget else ["Budget revenue"]),
        "Gap to budget",
        "Margin",
        "Margin %",
    ]
    rows, marks = [], {}
    for i, name in enumerate(ctx.selected):
        r = ctx.compare.loc[name]
        budget = (
            []
            if one_budget
            else [ctx.money(r["budget_revenue"]) if ctx.has_budget else "no budget"]
        )
        rows.append(
            [
                name,
                status.get(name, ""),
                ctx.money(r["revenue"]),
                *budget,
                ctx.money(r["gap"]) if ctx.has_budget else "-",
                ctx.money(r["margin"]),
                fmt(r["margin_pct"], "pct"),
            ]
        )
        if ctx.has_budget and r["gap"] < 0:
            marks[(i, columns.index("Gap to budget"))] = "neg"
    if not ctx.has_budget:
        ctx.notes.append(budget_cover_text(ctx))
    title = ctx.unit("Over the horizon") + (
        f": budget revenue {budgets.pop()}" if one_budget else ""
    )
    blocks.append(
        Table(
            title,
            columns,
            rows,
            ["l", "l"] + ["r"] * (len(columns) - 2),
            Box(0, 0.33, 0.52, 0.3),
            marks=marks,
            size=11,
            swatches=[ctx.colours[n] for n in ctx.selected],
            note=budget_cover_text(ctx),
        )
    )
    revenue = _monthly(ctx, "revenue")
    blocks.append(
        Chart(
            ctx.unit("Revenue per month" + (" against budget" if ctx.has_budget else "")),
            functools.partial(
                charts.revenue_by_month,
                months=ctx.months,
                unit=ctx.cur,
                series=[(n, numbers(revenue.loc[n]), ctx.colours[n]) for n in ctx.selected],
                budget=_budget_by_month(ctx),
            ),
            Box(0.55, 0, 0.45, 0.63),
            alt="Revenue per month of each scenario shown, and the budget revenue per month.",
        )
    )
    blocks.append(Text(_messages(ctx), Box(0, 0.66, 0.6, 0.34), title="Key messages", size=10.5))
    blocks.append(
        Text(_decisions(ctx, status), Box(0.62, 0.66, 0.38, 0.34), title="For decision", size=10.5)
    )
    return page(
        "cover",
        f"S&OP meeting pack, {ctx.cycle:%B %Y}",
        blocks,
        subtitle=f"{ctx.inp.workbook}: the workbook's figures, as of {ctx.settings.as_of:%Y-%m-%d}",
    )


def _messages(ctx: Context) -> list[str]:
    plan = ctx.plan if ctx.plan in ctx.compare.index else ctx.selected[0]
    r = ctx.compare.loc[plan]
    cur = f" {ctx.cur}" if ctx.cur else ""
    out = []
    if ctx.has_budget:
        side = "below" if r["gap"] < 0 else "above"
        share = abs(r["gap"]) / r["budget_revenue"] if r["budget_revenue"] else np.nan
        out.append(
            f"- {plan}: revenue {ctx.money(r['revenue'])}{cur} over the horizon, "
            f"{ctx.money(abs(r['gap']))}{cur} {side} budget ({fmt(share, 'pct')}). (p. {{p:scenarios}})"
        )
        reach = [n for n in ctx.selected if ctx.compare.loc[n, "gap"] >= 0]
        if reach:
            out.append(
                "- At or above budget: "
                + ", ".join(f"{n} ({signed(ctx.compare.loc[n, 'gap'], 'money')})" for n in reach)
                + "."
            )
        else:
            best = ctx.compare["gap"].idxmax()
            out.append(
                f"- No scenario shown reaches the budget; the closest is {best} "
                f"({ctx.money(ctx.compare.loc[best, 'gap'])})."
            )
    else:
        out.append(
            f"- {plan}: revenue {ctx.money(r['revenue'])}{cur} over the horizon, margin "
            f"{fmt(r['margin_pct'], 'pct')}. No budget to compare with."
        )
    for key in ("consensus", "supply", "accuracy", "escalations"):
        if ctx.facts.get(key):
            out.append(f"- {ctx.facts[key]}")
    return out


def _decisions(ctx: Context, status: dict[str, str]) -> list[str]:
    out = []
    if ctx.facts.get("unlocked"):
        out.append(
            f"- Agree the plan of record for {ctx.cycle:%B %Y} and lock it (Lock plan; "
            f"Settings > Plan scenario is {ctx.plan})."
        )
    drafts = [n for n in ctx.selected if status.get(n, "").lower().startswith("draft")]
    if drafts:
        out.append(f"- Scenarios to decide on: {', '.join(drafts)}. (p. {{p:scenarios}})")
    for key in ("decide_capacity", "decide_escalations", "decide_reasons"):
        if ctx.facts.get(key):
            out.append(f"- {ctx.facts[key]}")
    return out or ["- Nothing is waiting for a decision."]


# -- demand review -------------------------------------------------------------------------------
def _family_frames(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(history, forecast with its band, budget volume) per family and month."""
    t = ctx.t
    family = ctx.items()["family"]
    start = ctx.cycle - pd.DateOffset(months=HISTORY_MONTHS)
    hist = t[T.HISTORY]
    hist = hist[(hist["month"] >= start) & (hist["month"] < ctx.cycle)]
    h = (
        hist.assign(family=hist["item"].map(family))
        .groupby(["family", "month"])["qty"]
        .sum(min_count=1)
        .rename("history")
        .reset_index()
    )
    fc = t[T.FORECAST]
    # 80% band of a family: each item's interval moved with the consensus (its half-widths around
    # the baseline), combined across items as independent errors
    lo_w = np.square(
        np.nan_to_num((fc["baseline"] - fc["lo_80"]).clip(lower=0).to_numpy(dtype=float))
    )
    hi_w = np.square(
        np.nan_to_num((fc["hi_80"] - fc["baseline"]).clip(lower=0).to_numpy(dtype=float))
    )
    f = (
        fc.assign(lo_w=lo_w, hi_w=hi_w)
        .groupby(["family", "month"])[["final", "baseline", "lo_w", "hi_w"]]
        .sum()
        .reset_index()
    )
    f["lo"] = (f["final"] - np.sqrt(f["lo_w"])).clip(lower=0)
    f["hi"] = f["final"] + np.sqrt(f["hi_w"])
    b = t[T.BUDGET]
    b = (
        b[(b["month"] >= start) & (b["month"] <= max(ctx.months, default=ctx.cycle))]
        .groupby(["family", "month"])["volume"]
        .sum()
        .rename("budget")
        .reset_index()
    )
    return h, f, b


BAND_NOTE = (
    "80% band: each item's 80% interval (Forecast sheet, Lo 80 to Hi 80) moved with the consensus "
    "and added across the family as independent errors; where items move together the band is wider."
)


def demand(ctx: Context) -> list[Page]:
    h, f, b = _family_frames(ctx)
    families = sorted(set(f["family"].dropna()) | set(h["family"].dropna()))
    panels = []
    totals = []
    for fam in families:
        hf = h[h["family"] == fam].sort_values("month")
        ff = f[f["family"] == fam].sort_values("month")
        bf = b[b["family"] == fam].sort_values("month")
        n = min(COMPARE_MONTHS, len(ff), hf["history"].notna().sum())
        last = float(hf["history"].tail(n).sum()) if n else np.nan
        nxt = float(ff["final"].head(n).sum()) if n else np.nan
        chg = nxt / last - 1 if n and last > 0 else np.nan
        sub = (
            f"Next {n} months {fmt(nxt, 'qty')} units, {signed(chg, 'pct')} on the last {n}"
            if n
            else "No history to compare with"
        )
        fc_m, final, lo, hi = (
            list(ff["month"]),
            numbers(ff["final"]),
            numbers(ff["lo"]),
            numbers(ff["hi"]),
        )
        if (
            len(hf) and len(ff) and pd.notna(hf["history"].iloc[-1])
        ):  # one line from history into forecast
            fc_m, final = [hf["month"].iloc[-1], *fc_m], [float(hf["history"].iloc[-1]), *final]
            lo, hi = [np.nan, *lo], [np.nan, *hi]
        panels.append(
            {
                "title": fam,
                "subtitle": sub,
                "hist_months": list(hf["month"]),
                "history": numbers(hf["history"]),
                "fc_months": fc_m,
                "final": final,
                "lo": lo,
                "hi": hi,
                "budget_months": list(bf["month"]),
                "budget": numbers(bf["budget"]),
            }
        )
        totals.append((fam, n, last, nxt, chg, ff, bf))
    pages = []
    per_page = 4 if len(panels) <= 4 else 6
    for k in range(0, max(len(panels), 1), per_page):
        chunk = panels[k : k + per_page]
        blocks: list[Block]
        if not chunk:
            blocks = [
                says(
                    ctx,
                    Box(0, 0, 1, 0.2),
                    "No forecast on the Forecast sheet: run Refresh forecast.",
                )
            ]
        else:
            blocks = [
                Chart(
                    "Units per month: history, final forecast with its 80% band, budget volume",
                    functools.partial(
                        charts.family_panels,
                        panels=chunk,
                        cols=2 if len(chunk) <= 4 else 3,
                        unit="units",
                    ),
                    Box(0, 0, 1, 0.93),
                    note=BAND_NOTE,
                    alt="Per family: monthly demand history, the final forecast with its 80% band, "
                    "and the budget volume.",
                )
            ]
        more = (
            f" ({k // per_page + 1} of {-(-len(panels) // per_page)})"
            if len(panels) > per_page
            else ""
        )
        pages.append(page("demand", f"Demand review: where demand is heading{more}", blocks))
    pages.append(_changes_page(ctx, totals))
    return pages


def _family_table(ctx: Context, totals: list) -> Table:
    rows, marks = [], {}
    for i, (fam, n, last, nxt, chg, ff, bf) in enumerate(totals):
        stat = float(ff["baseline"].head(n).sum()) if n else np.nan
        vs_stat = nxt / stat - 1 if n and stat > 0 else np.nan
        window = ff.head(n)["month"] if n else pd.Series(dtype="datetime64[ns]")
        bud = bf[bf["month"].isin(window)]
        cover = ff[ff["month"].isin(bud["month"])]["final"].sum()
        vs_bud = cover / bud["budget"].sum() - 1 if len(bud) and bud["budget"].sum() > 0 else np.nan
        short = (
            f" ({n} mo.)" if 0 < n < COMPARE_MONTHS else ""
        )  # less history or horizon than a year
        rows.append(
            [
                fam,
                fmt(last, "qty") + short,
                fmt(nxt, "qty") + short,
                fmt(chg, "pct") if n else "no history",
                fmt(stat, "qty") + short,
                fmt(vs_stat, "pct"),
                fmt(vs_bud, "pct") + (f" ({len(bud)} mo.)" if 0 < len(bud) < n else ""),
            ]
        )
        for j, v in ((3, chg), (5, vs_stat), (6, vs_bud)):
            if pd.notna(v) and v < 0:
                marks[(i, j)] = "neg"
    return Table(
        f"By family, units: the last {COMPARE_MONTHS} months against the next {COMPARE_MONTHS}",
        [
            "Family",
            "Last 12 months (actual)",
            "Next 12 months (final)",
            "Change",
            "Statistical (next 12)",
            "Final vs statistical",
            "Final vs budget volume",
        ],
        rows,
        list("lrrrrrr"),
        Box(0, 0, 1, 0.3),
        marks=marks,
        note="Final vs budget volume: over the months of the next 12 that have a budget volume. "
        "(n mo.): over n months, where history or the horizon is shorter than 12.",
    )


def consensus_changes(ctx: Context) -> pd.DataFrame:
    """The consensus against the statistical baseline, one row per change as it was made: an
    override (item, reason code, comment), a sales or marketing input (item), a family target
    (family and month). Largest value first."""
    t = ctx.t
    fc = t[T.FORECAST]
    price = fc["item"].map(ctx.items()["price"]).astype(float)
    fc = fc.assign(
        change=fc["final"] - fc["baseline"], value=(fc["final"] - fc["baseline"]) * price.fillna(0)
    )
    fc = fc[fc["change"].abs() > 1e-6]
    tg = t[T.FAMILY_TARGETS].dropna(subset=["target"])
    targeted = pd.MultiIndex.from_frame(fc[["family", "month"]]).isin(
        list(zip(tg["family"], tg["month"], strict=True))
    )
    over = fc["override"].notna().to_numpy()
    fc = fc.assign(
        kind=np.select(
            [over, targeted, (fc["sales_adj"] != 0) | (fc["marketing_adj"] != 0)],
            ["Override", "Family target", "Input"],
            "Floor at 0",
        )
    )
    inputs = t[T.INPUTS]
    rows = []
    for (kind, key, code, note), g in fc.groupby(
        [
            fc["kind"],
            np.where(fc["kind"] == "Family target", fc["family"], fc["item"]),
            fc["reason_code"].where(fc["kind"] == "Override", "").fillna(""),
            fc["comment"].where(fc["kind"] == "Override", "").fillna(""),
        ],
        sort=False,
    ):
        by, reason, comment = kind, code, note
        where = key
        if kind == "Input":
            streams = [
                s
                for s, c in (("Sales", "sales_adj"), ("Marketing", "marketing_adj"))
                if (g[c] != 0).any()
            ]
            by = " + ".join(streams) + " input"
            said = inputs[(inputs["item"] == key) & inputs["month"].isin(g["month"])]["comment"]
            comment = "; ".join(dict.fromkeys(c for c in said.fillna("") if c))
        elif kind == "Family target":
            where = f"{key} ({plural(g['item'].nunique(), 'item')})"
            said = tg[(tg["family"] == key) & tg["month"].isin(g["month"])]["comment"]
            comment = "; ".join(dict.fromkeys(c for c in said.fillna("") if c))
        rows.append(
            {
                "where": where,
                "by": by,
                "months": month_range(g["month"]),
                "baseline": g["baseline"].sum(),
                "final": g["final"].sum(),
                "change": g["change"].sum(),
                "value": g["value"].sum(),
                "reason_code": reason,
                "comment": comment,
                "kind": kind,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "where",
            "by",
            "months",
            "baseline",
            "final",
            "change",
            "value",
            "reason_code",
            "comment",
            "kind",
        ],
    )
    return out.iloc[np.argsort(-out["value"].abs().to_numpy(), kind="stable")].reset_index(
        drop=True
    )


def _changes_page(ctx: Context, totals: list) -> Page:
    changes = consensus_changes(ctx)
    fc = ctx.t[T.FORECAST]
    blocks: list = [_family_table(ctx, totals)]
    total, base = changes["change"].sum(), fc["baseline"].sum()
    n_over = int((changes["kind"] == "Override").sum())
    silent = changes[(changes["kind"] == "Override") & (changes["reason_code"].str.strip() == "")]
    if len(changes):
        ctx.facts["consensus"] = (
            f"Consensus against the statistical baseline over the horizon: {signed(total, 'qty')} units "
            f"({signed(total / base if base else np.nan, 'pct')}), {signed(changes['value'].sum(), 'money')}"
            f"{' ' + ctx.cur if ctx.cur else ''}; {plural(len(changes), 'change')}, {n_over} of them overrides. "
            "(p. {p:demand})"
        )
    if len(silent):
        ctx.facts["decide_reasons"] = (
            f"{plural(len(silent), 'override has', 'overrides have')} no reason code "
            "(Forecast sheet, Reason code): confirm or drop them. (p. {p:demand})"
        )
    shown = changes.iloc[:12]
    rows, marks = [], {}
    for i, r in enumerate(shown.itertuples(index=False)):
        pct = r.change / r.baseline if r.baseline else np.nan
        rows.append(
            [
                r.where,
                r.by,
                r.months,
                fmt(r.baseline, "qty"),
                fmt(r.final, "qty"),
                fmt(r.change, "qty"),
                fmt(pct, "pct"),
                ctx.money(r.value),
                r.reason_code or ("(none)" if r.kind == "Override" else ""),
                r.comment,
            ]
        )
        if r.change < 0:
            marks[(i, 5)] = marks[(i, 6)] = marks[(i, 7)] = "neg"
        if r.kind == "Override" and not r.reason_code:
            marks[(i, 8)] = "bad"
    if len(rows):
        blocks.append(
            Table(
                "Largest consensus changes against the statistical baseline (by value)",
                [
                    "Item / family",
                    "Changed by",
                    "Months",
                    "Statistical",
                    "Final",
                    "Change",
                    "Change %",
                    ctx.unit("Value"),
                    "Reason code",
                    "Comment",
                ],
                rows,
                list("lllrrrrrll"),
                Box(0, 0.36, 1, 0.64),
                marks=marks,
                total_rows=len(changes),
                where="the Forecast and Consensus sheets",
                note="Statistical: the baseline forecast. Value: change x the item's price.",
            )
        )
    else:
        blocks.append(
            says(
                ctx,
                Box(0, 0.36, 1, 0.15),
                "The consensus equals the statistical baseline: no "
                "overrides, inputs or family targets change it.",
                note=False,
            )
        )
    return page("demand", "Demand review: the consensus against the statistical forecast", blocks)


# -- scenarios -----------------------------------------------------------------------------------
def _pct_words(v: float) -> str:
    return f"{v:+.0%}" if abs(round(v * 100) - v * 100) < 1e-9 else f"{v:+.1%}"


_CHANGES = {"volume": "Volume", "price": "Price", "unit_cost": "Unit cost"}


def driver_words(d: pd.Series | object, currency: str = "") -> str:
    """A driver of the Scenarios sheet in words: 'Volume +10% on Pumps from Jan 2027 (Acme deal)'."""

    def get(key: str) -> Any:  # a cell of the Scenarios sheet: text, number, date or empty
        return d[key] if isinstance(d, pd.Series) else getattr(d, key)

    def text(key: str) -> str:
        v = get(key)
        return v.strip() if isinstance(v, str) else ""

    start, end = get("from_month"), get("to_month")
    when = (
        f" {pd.Timestamp(start):%b %Y} to {pd.Timestamp(end):%b %Y}"
        if pd.notna(start) and pd.notna(end)
        else f" from {pd.Timestamp(start):%b %Y}"
        if pd.notna(start)
        else f" up to {pd.Timestamp(end):%b %Y}"
        if pd.notna(end)
        else ""
    )
    kind, value = text("kind"), float(get("value"))
    scope = text("item") or (f"the {text('family')} family" if text("family") else "all items")
    cur = f" {currency}" if currency else ""
    if kind in _CHANGES:
        words = f"{_CHANGES[kind]} {_pct_words(value)} on {scope}{when}"
    elif kind == "launch":
        words = (
            f"Launch of {text('item')} ({text('family')}): {fmt(value, 'qty')} units a month{when}, "
            f"price {fmt(get('price'), 'price')}{cur}, unit cost {fmt(get('unit_cost'), 'price')}{cur}"
        )
    elif kind == "capacity":
        words = f"Capacity {_pct_words(value)} on resource {text('resource')}{when}"
    else:
        words = f"{kind} {value}"
    return words + (f" ({text('comment')})" if text("comment") else "")


def _scenario_words(ctx: Context, names: list[str], status: dict[str, str]) -> list[str]:
    scen = ctx.t[T.SCENARIO_LIST].drop_duplicates("scenario").set_index("scenario")
    drivers = ctx.t[T.DRIVERS]
    lines = []
    for n in names:
        parent = (
            str(scen.loc[n, "parent"])
            if n in scen.index and isinstance(scen.loc[n, "parent"], str)
            else ""
        )
        head = f"## {n}" + (f" (builds on {parent}: its drivers apply first)" if parent else "")
        lines.append(head + (f" - {status[n]}" if status.get(n) else ""))
        desc = scen.loc[n, "description"] if n in scen.index else ""
        if isinstance(desc, str) and desc.strip():
            lines.append(desc.strip())
        own = drivers[drivers["scenario"] == n]
        lines += [f"- {driver_words(d, ctx.cur)}" for d in own.itertuples(index=False)]
        if not len(own):
            lines.append(
                "- No drivers of its own"
                + ("." if parent else ": the consensus forecast as it stands.")
            )
    return lines


MEASURES = [
    ("Volume (units)", "volume", "qty"),
    ("Revenue", "revenue", "money"),
    ("Cost of goods", "cost", "money"),
    ("Margin", "margin", "money"),
    ("Margin %", "margin_pct", "pct"),
    ("Budget revenue", "budget_revenue", "money"),
    ("Gap to budget", "gap", "money"),
    ("Peak capacity load", "peak_load", "pct"),
    ("Overloaded resource-months", "overloads", "int"),
]


def scenarios(ctx: Context) -> list[Page]:
    """Scenarios side by side (the Compare sheet), the gap month by month, and each one's drivers."""
    status = _status(ctx)
    gap = _monthly(ctx, "gap" if ctx.has_budget else "margin")
    pages = []
    per_page = 5
    chunks = [ctx.selected[k : k + per_page] for k in range(0, len(ctx.selected), per_page)]
    for k, names in enumerate(chunks):
        rows, marks = [], {}
        for i, (label, col, kind) in enumerate(MEASURES):
            if col in ("budget_revenue", "gap") and not ctx.has_budget:
                rows.append([label] + ["no budget"] * len(names))
                continue
            rows.append([label] + [fmt(ctx.compare.loc[n, col], kind) for n in names])
            for j, n in enumerate(names, start=1):
                v = ctx.compare.loc[n, col]
                if (
                    (col == "gap" and v < 0)
                    or (col == "overloads" and v > 0)
                    or (col == "peak_load" and v > 1)
                ):
                    marks[(i, j)] = "neg" if col == "gap" else "bad"
        rows.append(["Status"] + [status.get(n, "") for n in names])
        blocks: list = [
            Table(
                ctx.unit("Over the horizon"),
                ["", *names],
                rows,
                ["l"] + ["r"] * len(names),
                Box(0, 0, 0.52, 0.47),
                marks=marks,
                column_colours=[None] + [ctx.colours[n] for n in names],
                note=budget_cover_text(ctx),
            )
        ]
        title = "Gap to budget, added up month by month" if ctx.has_budget else "Margin per month"
        series = [(n, numbers(gap.loc[n]), ctx.colours[n]) for n in names]
        draw = (
            functools.partial(charts.cumulative_gap, months=ctx.months, unit=ctx.cur, series=series)
            if ctx.has_budget
            else functools.partial(
                charts.revenue_by_month,
                months=ctx.months,
                unit=ctx.cur,
                series=series,
                budget=None,
            )
        )
        blocks.append(
            Chart(
                ctx.unit(title),
                draw,
                Box(0.55, 0, 0.45, 0.47),
                note="Above zero at the end: the scenario closes the gap over the months with a budget."
                if ctx.has_budget
                else "",
                alt=title + " per scenario.",
            )
        )
        blocks.append(
            Text(
                _scenario_words(ctx, names, status),
                Box(0, 0.52, 1, 0.48),
                title="What each scenario changes (Scenarios sheet)",
                size=10,
                columns=2,
            )
        )
        more = f" ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        pages.append(
            page(
                "scenarios",
                f"Scenarios side by side{more}",
                blocks,
                subtitle=f"Horizon {horizon_text(ctx)}; figures from the Compare sheet",
            )
        )
    return pages
