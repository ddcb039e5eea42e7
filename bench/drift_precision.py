"""Precision and recall of drift flags on a seeded synthetic month with injected drift.

Not a test (tests/sop_excel/core/test_drift.py pins a smaller run loosely). Items order daily
(Poisson) with their own weekday profile, Monday to Friday, one holiday; the plan misses each
item's true rate by a known forecast error; on a known share of items the rate moves by +-25-50%
from a known working day. At several days of the month we run ``drift_table`` (profile learned
from the previous month, noise from each item's forecast error) and score ``beyond_noise``
against the truth "drift has started by then". A naive rule (|drift %| >= 25% on working-day
phasing, the old Act rule) is scored beside it.

Usage:
    .venv/bin/python bench/drift_precision.py [--items 500] [--seed 7] [--drifted 0.2]
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_excel.core.drift import WorkCalendar, dow_profile, drift_table

HISTORY = dt.date(2026, 10, 1)
MONTH = dt.date(2026, 11, 1)
HOLIDAYS = (dt.date(2026, 11, 11),)
SHAPE = np.array([0.26, 0.22, 0.20, 0.18, 0.14, 0.0, 0.0])  # weekday shape, Monday first


@dataclass
class Case:
    """A synthetic execution month: history, actuals, plan, noise and the injected truth."""

    history: pd.DataFrame  # date, item, orders (previous month)
    actuals: pd.DataFrame  # date, item, orders (execution month)
    plan: pd.Series  # month plan, index item
    sigma: pd.Series  # monthly forecast error (units), index item
    start: pd.Series  # first day of drift (NaT = no drift), index item
    factor: pd.Series  # rate multiplier from start on (1 = none)
    calendar: WorkCalendar


def simulate(n_items: int = 500, seed: int = 7, drifted: float = 0.2) -> Case:
    """A seeded case; drift starts on a working day among the first 8 working days."""
    rng = np.random.default_rng(seed)
    cal = WorkCalendar(HOLIDAYS)
    items = pd.Index([f"I{i:04d}" for i in range(n_items)], name="item")
    rate = np.clip(rng.lognormal(np.log(25), 0.8, n_items), 1.0, 400)  # mean orders per working day
    shape = rng.dirichlet(SHAPE[:5] * 150, n_items)  # per-item Mon..Fri shares
    shape = np.hstack([shape, np.zeros((n_items, 2))])
    days = pd.date_range(HISTORY, pd.Timestamp(MONTH) + pd.offsets.MonthEnd(0), freq="D")
    working = np.array([cal.is_working(d) for d in days])
    mean = rate[:, None] * 5 * shape[:, days.day_of_week] * working[None, :]
    is_drift = rng.random(n_items) < drifted
    month_days = days[(days >= pd.Timestamp(MONTH)) & working]
    start = pd.Series(pd.NaT, index=items, dtype="datetime64[ns]")
    start[is_drift] = month_days[rng.integers(0, 8, is_drift.sum())].to_numpy()
    factor = np.where(
        is_drift, 1 + rng.choice([-1, 1], n_items) * rng.uniform(0.25, 0.5, n_items), 1.0
    )
    after = days.to_numpy()[None, :] >= start.to_numpy()[:, None]
    mean = np.where(after, mean * factor[:, None], mean)
    orders = rng.poisson(mean).astype(float)
    long = pd.DataFrame(
        {
            "date": np.tile(days, n_items),
            "item": np.repeat(items, len(days)),
            "orders": orders.ravel(),
        }
    )
    long = long[long["orders"] > 0].reset_index(drop=True)
    in_month = days >= pd.Timestamp(MONTH)
    true_month = (rate[:, None] * 5 * shape[:, days.day_of_week] * working[None, :])[
        :, in_month
    ].sum(axis=1)
    cv = rng.uniform(0.02, 0.08, n_items)
    plan = true_month * (1 + rng.normal(0, cv))
    sigma = np.sqrt((cv * plan) ** 2 + plan)
    hist = long[long["date"] < pd.Timestamp(MONTH)]
    act = long[long["date"] >= pd.Timestamp(MONTH)]
    return Case(
        hist,
        act,
        pd.Series(plan, index=items),
        pd.Series(sigma, index=items),
        start,
        pd.Series(factor, index=items),
        cal,
    )


def score(flag: pd.Series, truth: pd.Series) -> tuple[float, float, int, int]:
    """(precision, recall, flagged, positives); precision is 1 when nothing is flagged."""
    tp = int((flag & truth).sum())
    flagged, positives = int(flag.sum()), int(truth.sum())
    return (
        (tp / flagged if flagged else 1.0),
        (tp / positives if positives else 1.0),
        flagged,
        positives,
    )


def evaluate(
    case: Case,
    through: dt.date,
    *,
    z_threshold: float = 2.5,
    min_drift: float = 0.1,
    use_profile: bool = True,
) -> dict[str, float]:
    """Precision and recall of ``beyond_noise`` (and of the naive 25% rule) on one day."""
    profile = dow_profile(case.history, calendar=case.calendar) if use_profile else None
    table = drift_table(
        case.plan,
        case.actuals,
        MONTH,
        through,
        calendar=case.calendar,
        profile=profile,
        sigma_month=case.sigma,
        z_threshold=z_threshold,
        min_drift=min_drift,
    ).set_index("item")
    truth = (case.start <= pd.Timestamp(through)).reindex(table.index, fill_value=False)
    p, r, n, pos = score(table["beyond_noise"], truth)
    naive = drift_table(case.plan, case.actuals, MONTH, through, calendar=case.calendar).set_index(
        "item"
    )
    np_, nr, _, _ = score(naive["drift_pct"].abs() >= 0.25, truth)
    return {
        "through": through,
        "share": float(table["share"].median()),
        "positives": pos,
        "flagged": n,
        "precision": p,
        "recall": r,
        "naive_precision": np_,
        "naive_recall": nr,
    }


def checkpoints(case: Case, working_days: tuple[int, ...] = (3, 5, 8, 10, 15, 20)) -> list[dt.date]:
    """The calendar dates of the given working days of the month."""
    days = [
        d.date()
        for d in pd.date_range(MONTH, periods=31)
        if d.month == MONTH.month and case.calendar.is_working(d)
    ]
    return [days[k - 1] for k in working_days if k <= len(days)]


def run(n_items: int = 500, seed: int = 7, drifted: float = 0.2) -> pd.DataFrame:
    """One row per checkpoint, with and without the learned weekday profile."""
    case = simulate(n_items, seed, drifted)
    rows = []
    for through in checkpoints(case):
        row = evaluate(case, through)
        flat = evaluate(case, through, use_profile=False)
        rows.append({**row, "precision_flat": flat["precision"], "recall_flat": flat["recall"]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drifted", type=float, default=0.2)
    args = parser.parse_args(argv)
    out = run(args.items, args.seed, args.drifted)
    tp = (out["precision"] * out["flagged"]).sum()
    print(
        f"{args.items} items, seed {args.seed}, {args.drifted:.0%} drifted (+-25-50% from a working day in 1..8)"
    )
    print(out.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(
        f"overall: precision {tp / out['flagged'].sum():.2f}, recall {tp / out['positives'].sum():.2f}"
    )
    return out


if __name__ == "__main__":
    main()
