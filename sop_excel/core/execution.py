"""S&OE: month-to-date actuals against the plan's month-to-date share, drift and exceptions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sop_excel.core.drift import WorkCalendar, drift_table
from sop_excel.core.supply_weeks import AREA_DEMAND  # a table or log from before areas: all Demand

__all__ = [
    "carried_exceptions",
    "compute_exceptions",
    "compute_execution",
    "exception_workflow",
    "merge_actuals",
    "month_closed_events",
    "working_days",
]

STATUS_ACT, STATUS_WATCH, STATUS_OK, STATUS_BIAS = "Act", "Watch", "On track", "Bias"


def working_days(month: dt.date, through: dt.date) -> tuple[int, int]:
    """(working days elapsed through ``through`` inclusive, working days in the month); Mon-Fri."""
    start = pd.Timestamp(month).replace(day=1)
    end = start + pd.offsets.MonthEnd(0)
    total = int(np.busday_count(start.date(), (end + pd.Timedelta(days=1)).date()))
    upto = min(pd.Timestamp(through), end)
    elapsed = (
        int(np.busday_count(start.date(), (upto + pd.Timedelta(days=1)).date()))
        if upto >= start
        else 0
    )
    return elapsed, total


def merge_actuals(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """New daily actuals replace existing rows of the same date and item; others are kept.

    Loading the same file twice gives the same table; a late correction replaces the old figure.
    Production (issue 21) merges the same way: a load replaces every row of its days and items
    (an item made on two resources on a day is two rows, both replaced).
    """
    # one int64 key per (day, item) and a sorted membership test: a merge of 310,000 rows on a
    # text column factorizes both sides and was most of the merge's time
    codes = pd.Index(pd.unique(new["item"].to_numpy(dtype=object)))
    old_code, new_code = (
        codes.get_indexer(existing["item"].to_numpy(dtype=object)),
        codes.get_indexer(new["item"]),
    )
    day = existing["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    new_day = new["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    replaced = (old_code >= 0) & np.isin(
        day * len(codes) + old_code, new_day * len(codes) + new_code
    )
    kept = existing[~replaced]
    out = (
        pd.concat([kept, new[existing.columns]], ignore_index=True)
        if len(kept)
        else new[existing.columns].copy()
    )
    return out.sort_values(["date", "item"], kind="stable").reset_index(drop=True)


def compute_execution(
    plan: pd.DataFrame,
    actuals: pd.DataFrame,
    month: dt.date,
    through: dt.date,
    *,
    watch: float,
    act: float,
    z_threshold: float = 2.5,
    profile: pd.DataFrame | None = None,
    sigma_month: pd.Series | None = None,
    bias: pd.DataFrame | None = None,
    calendar: WorkCalendar | None = None,
) -> pd.DataFrame:
    """Month-to-date plan, actuals, drift judged against noise, run-rate and value at risk per item.

    Args:
        plan: ``item, family, month_plan, price`` for the execution month.
        actuals: daily ``date, item, orders, shipments``.
        month: any date in the execution month; through: the last day the actuals cover.
        watch, act: drift thresholds as fractions (0.1 = 10%).
        z_threshold: how many noise standard deviations make drift real (Settings).
        profile: day-of-week profile (:func:`sop_excel.core.drift.dow_profile`) for phasing.
        sigma_month: each item's monthly forecast error in units (noise scale).
        bias: :func:`sop_excel.core.drift.bias_alerts` output (tracking signal per item).
        calendar: working days and holidays (default Monday-Friday, no holidays).

    Status: **Act** when drift is beyond noise and at least ``act``; **Watch** when beyond noise
    and at least ``watch``, or at least ``act`` and half-way to the noise threshold (so a big
    percentage on a few units of an intermittent item is not flagged); **Bias** when the drift is
    within those bounds but the tracking signal reaches its limit (a bias alert: the forecast has
    been running one way); otherwise **On track**. So no item whose |tracking signal| is at the
    limit shows On track: status, colour and the Tracking signal column agree.
    """
    start = pd.Timestamp(month).replace(day=1)
    month_plan = plan.set_index("item")["month_plan"]
    d = (
        drift_table(
            month_plan,
            actuals,
            start,
            through,
            calendar=calendar,
            profile=profile,
            sigma_month=sigma_month,
            z_threshold=z_threshold,
        )
        .set_index("item")
        .reindex(month_plan.index)
    )
    sh = actuals[(actuals["date"] >= start) & (actuals["date"] <= pd.Timestamp(through))]
    ships = sh.groupby("item")["shipments"].sum()
    out = plan.copy()
    out["mtd_plan"] = d["mtd_plan"].to_numpy()
    out["mtd_orders"] = d["mtd_actual"].fillna(0.0).to_numpy()
    out["mtd_shipments"] = out["item"].map(ships).fillna(0.0).astype(float)
    out["drift_pct"] = d["drift_pct"].to_numpy()
    out["z"] = d["z"].to_numpy()
    beyond = d["beyond_noise"].fillna(False).to_numpy(dtype=bool)
    out["beyond_noise"] = np.where(beyond, "Yes", "No")
    out["projected"] = d["projection"].to_numpy()
    out["projected_lo"] = d["lo"].to_numpy()
    out["projected_hi"] = d["hi"].to_numpy()
    out["value_at_risk"] = (out["projected"] - out["month_plan"]) * out["price"]
    ts = bias.set_index("item") if bias is not None and len(bias) else None
    out["tracking_signal"] = (
        out["item"].map(ts["tracking_signal"]).astype(float) if ts is not None else np.nan
    )
    out["bias"] = out["item"].map(ts["bias"]).fillna("") if ts is not None else ""
    size = np.abs(np.nan_to_num(out["drift_pct"].to_numpy(dtype=float), nan=0.0))
    unplanned = (
        (out["mtd_plan"].fillna(0).to_numpy() <= 0) & (out["mtd_orders"].to_numpy() > 0) & beyond
    )
    biased = (out["bias"].fillna("") != "").to_numpy()
    out["status"] = np.select(
        [
            unplanned | (beyond & (size >= act)),
            (beyond & (size >= watch))
            | ((size >= act) & (np.abs(out["z"].fillna(0).to_numpy()) >= z_threshold / 2)),
            biased,
        ],
        [STATUS_ACT, STATUS_WATCH, STATUS_BIAS],
        STATUS_OK,
    )
    out.attrs.update(through=through)
    return out[
        [
            "item",
            "family",
            "month_plan",
            "mtd_plan",
            "mtd_orders",
            "mtd_shipments",
            "drift_pct",
            "z",
            "beyond_noise",
            "projected",
            "projected_lo",
            "projected_hi",
            "value_at_risk",
            "tracking_signal",
            "bias",
            "status",
        ]
    ]


def compute_exceptions(execution: pd.DataFrame, *, min_value_at_risk: float) -> pd.DataFrame:
    """One row per item that needs action, worst (largest value at risk) first.

    Items drifting (Act, Watch) or with a bias alert (flag "Bias") whose value at risk reaches
    ``min_value_at_risk``.

    Suggested actions: **Expedite** (running hot, Act), **Reallocate** (running hot, Watch: move
    stock or capacity), **Re-forecast** (running cold), **Raise to S&OP** (demand with no plan, or a
    value at risk of ten times the listing threshold or more).
    """
    biased = execution["bias"].fillna("") != "" if "bias" in execution else False
    flagged = execution[execution["status"].isin([STATUS_ACT, STATUS_WATCH]) | biased].copy()
    flagged.loc[flagged["status"] == STATUS_OK, "status"] = STATUS_BIAS
    flagged = flagged[flagged["value_at_risk"].abs().fillna(0) >= min_value_at_risk]
    flagged["_severity"] = flagged["value_at_risk"].abs()
    flagged = flagged.sort_values(["_severity", "item"], ascending=[False, True], kind="stable")
    reasons, actions = [], []
    big = max(min_value_at_risk, 1.0) * 10
    for r in flagged.itertuples(index=False):
        if r.mtd_plan <= 0:
            reasons.append(f"Orders of {r.mtd_orders:,.0f} units month to date with no plan")
            actions.append("Raise to S&OP: confirm the demand with sales and add it to the plan")
            continue
        hot = r.mtd_orders > r.mtd_plan
        noise = (
            "beyond normal noise"
            if getattr(r, "beyond_noise", "Yes") == "Yes"
            else "within normal noise"
        )
        text = (
            f"Orders {abs(r.drift_pct):.0%} {'above' if hot else 'below'} plan month to date "
            f"({r.mtd_orders:,.0f} vs {r.mtd_plan:,.0f} units, {noise}); run-rate "
            f"{r.projected:,.0f} vs month plan {r.month_plan:,.0f}"
        )
        bias = getattr(r, "bias", "")
        if bias:
            text += f"; forecast {bias} (tracking signal {r.tracking_signal:+.1f})"
        reasons.append(text)
        if bias and r.status in (STATUS_BIAS, STATUS_WATCH):
            actions.append(f"Re-forecast: the forecast is biased ({bias})")
        elif abs(r.value_at_risk) >= big and r.status == STATUS_ACT:
            actions.append("Raise to S&OP: the month is off plan by a material amount")
        elif hot and r.status == STATUS_ACT:
            actions.append("Expedite: pull supply forward and check whether the uplift lasts")
        elif hot:
            actions.append("Reallocate: move stock or capacity to cover the extra demand")
        else:
            actions.append(
                "Re-forecast: check with sales, then adjust the forecast or the supply plan"
            )
    flagged["reason"] = reasons
    flagged["action"] = actions
    flagged["rank"] = np.arange(1, len(flagged) + 1)
    flagged = flagged.rename(columns={"status": "flag"})
    return flagged[
        ["rank", "item", "family", "flag", "drift_pct", "value_at_risk", "reason", "action"]
    ].reset_index(drop=True)


_WORSE = {STATUS_BIAS: 1, STATUS_WATCH: 1, STATUS_ACT: 2}
LOG_COLUMNS = [
    "time",
    "item",
    "area",
    "event",
    "flag",
    "value_at_risk",
    "owner",
    "comment",
    "status",
]
MONTH_CLOSED, CARRIED = "month closed", "carried"


def _areas(frame: pd.DataFrame) -> pd.Series:
    """Each row's area (Demand, Supply, Capacity); Demand where the frame has none."""
    if "area" not in frame.columns:
        return pd.Series(AREA_DEMAND, index=frame.index, dtype=object)
    return frame["area"].fillna("").astype(str).replace("", AREA_DEMAND)


def carried_exceptions(log: pd.DataFrame) -> pd.DataFrame:
    """``item, area, owner, status, comment`` of the exceptions still open when the last month
    was closed (the log's latest "month closed" entries whose status is not Resolved), for those
    items (in that area) not seen in the log since (once back on the list, the list holds them)."""
    cols = ["item", "area", "owner", "status", "comment"]
    if log is None or log.empty or "status" not in log.columns:
        return pd.DataFrame(columns=cols)
    log = log.assign(area=_areas(log))
    closed = log[log["event"] == MONTH_CLOSED]
    if closed.empty:
        return pd.DataFrame(columns=cols)
    at = closed["time"].max()
    last = closed[(closed["time"] == at) & (closed["status"].fillna("").astype(str) != "Resolved")]
    since = log[(log["time"] >= at) & (log["event"] != MONTH_CLOSED)]
    seen = set(zip(since["item"], since["area"], strict=True))
    last = last[[k not in seen for k in zip(last["item"], last["area"], strict=True)]]
    last = last.drop_duplicates(["item", "area"], keep="last")
    return last[cols].reset_index(drop=True)


def month_closed_events(exceptions: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Log rows for the exceptions on the list when their month is closed, with their final
    status (what the planner set, Open when empty) and their area."""
    if exceptions.empty:
        return pd.DataFrame(columns=LOG_COLUMNS)
    text = {
        c: exceptions[c].fillna("").astype(str) if c in exceptions else ""
        for c in ("owner", "status", "comment")
    }
    return pd.DataFrame(
        {
            "time": now,
            "item": exceptions["item"].to_numpy(),
            "area": _areas(exceptions).to_numpy(),
            "event": MONTH_CLOSED,
            "flag": exceptions["flag"].to_numpy(),
            "value_at_risk": exceptions["value_at_risk"].to_numpy(),
            "owner": text["owner"],
            "comment": text["comment"],
            "status": text["status"].replace("", "Open"),
        },
        columns=LOG_COLUMNS,
    ).reset_index(drop=True)


def exception_workflow(
    new: pd.DataFrame, old: pd.DataFrame, log: pd.DataFrame, now: pd.Timestamp, month: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carry owners, statuses and comments over; retire resolved and cleared exceptions.

    Args:
        new: this refresh's exceptions (from :func:`compute_exceptions`, with their ``area``).
        old: the Exceptions table as the planners left it (``owner, status, comment``).
        log: the exception log so far (``time, item, area, event, flag, value_at_risk, owner,
            comment, status``).
        now, month: the time of this refresh and the execution month.

    Returns:
        (the exceptions to show, log rows to append). An item a planner marked Resolved leaves the
        list and stays out for the month unless its flag worsens (Watch to Act) or its value at
        risk grows by half; items whose drift went away leave with a "cleared" entry. An item
        still open when the last month was closed (:func:`carried_exceptions`) that is flagged
        again comes back with its owner, status and comment ("carried"). An exception is an item
        in an area (Demand, Supply, Capacity; issue 21): an item's demand and supply exceptions
        have owners, statuses and log entries of their own; tables and logs from before areas
        are all Demand.
    """
    keep = ["owner", "status", "comment"]
    if "area" not in new.columns:  # a caller from before areas: demand exceptions
        new = new.assign(area=AREA_DEMAND)

    def keyed(f: pd.DataFrame) -> pd.DataFrame:
        return f.assign(area=_areas(f)).set_index(["item", "area"])

    prev = keyed(old)[keep] if len(old) else pd.DataFrame(columns=keep)
    this_month = log[(log["time"] >= month)] if len(log) else log
    if (
        len(log) and (log["event"] == MONTH_CLOSED).any()
    ):  # nothing from before the month was closed
        this_month = this_month[
            this_month["time"] >= log.loc[log["event"] == MONTH_CLOSED, "time"].max()
        ]
    resolved_at = (
        keyed(this_month[this_month["event"] == "resolved"].sort_values("time"))
        .groupby(level=[0, 1])
        .last()
        if len(this_month)
        else pd.DataFrame(columns=["flag", "value_at_risk"])
    )
    carried = carried_exceptions(log)
    carried = dict(
        zip(
            zip(carried["item"], carried["area"], strict=True),
            carried[keep].itertuples(index=False, name=None),
            strict=True,
        )
    )
    rows, events = [], []

    def event(
        key: tuple[str, str],
        kind: str,
        r: object,
        owner: str = "",
        comment: str = "",
        status: str = "",
    ) -> None:
        events.append(
            {
                "time": now,
                "item": key[0],
                "area": key[1],
                "event": kind,
                "flag": getattr(r, "flag", ""),
                "value_at_risk": getattr(r, "value_at_risk", np.nan),
                "owner": owner,
                "comment": comment,
                "status": status,
            }
        )

    typed = dict(
        zip(prev.index, prev.itertuples(index=False, name=None), strict=True)
    )  # one lookup per row
    for r in new.itertuples(index=False):
        key = (r.item, r.area if isinstance(r.area, str) and r.area else AREA_DEMAND)
        owner, status, comment = typed.get(key) or carried.get(key) or ("", "", "")
        owner, status, comment = (
            str(x) if isinstance(x, str) else "" for x in (owner, status, comment)
        )
        if status == "Resolved":
            event(key, "resolved", r, owner, comment, status)
            continue
        if key in resolved_at.index:
            was = resolved_at.loc[key]
            worse = _WORSE.get(r.flag, 0) > _WORSE.get(str(was["flag"]), 0) or abs(
                r.value_at_risk
            ) > 1.5 * abs(float(was["value_at_risk"] or 0))
            if not worse:
                continue
            event(key, "reopened", r, owner, comment, "Open")
            status = "Open"
        elif key not in typed:
            event(key, CARRIED if key in carried else "opened", r, owner, comment, status or "Open")
        rows.append({**r._asdict(), "owner": owner, "status": status or "Open", "comment": comment})
    shown_keys = (
        pd.MultiIndex.from_arrays([new["item"], _areas(new)])
        if len(new)
        else pd.MultiIndex.from_tuples([], names=["item", "area"])
    )
    for key in prev.index.difference(shown_keys):
        owner, status, comment = (x if isinstance(x, str) else "" for x in typed[key])
        events.append(
            {
                "time": now,
                "item": key[0],
                "area": key[1],
                "event": "cleared" if status != "Resolved" else "resolved",
                "flag": "",
                "value_at_risk": np.nan,
                "owner": owner,
                "comment": comment,
                "status": status or "Open",
            }
        )
    cols = [*new.columns, *keep]
    shown = pd.DataFrame(rows, columns=cols)
    shown["rank"] = np.arange(1, len(shown) + 1)
    return shown, pd.DataFrame(events, columns=LOG_COLUMNS)
