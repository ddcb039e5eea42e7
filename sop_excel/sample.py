"""The bundled sample company (Northwind Pumps Ltd.), hung on any as-of date.

The CSVs in ``sop_excel/sample_data/`` are generated once by ``scripts/make_sample_data.py``
and store every date relative to the as-of date (see the README there). This module maps
them to real dates:

* history: the 48 full months before the as-of month (the new item has fewer);
* capacity: the as-of month and the next 24 months;
* budget: the 24 months from January of the as-of year;
* actuals: days 1..as_of.day of the as-of month. Every calendar day has a row per item;
  Saturdays and Sundays (by the real calendar of that month) have zero orders and shipments.
* production: what was made on days 1..as_of.day (zero at weekends), and every supplier
  receipt of the month (those after the as-of day are due); events: the disruptions of the
  Events sheet, starting on a day of the as-of month.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sop_excel.sources.exports import BASIC_ITEM_FIELDS

__all__ = ["DEFAULT_AS_OF", "EXPORT_FILES", "SampleCompany", "load_sample_company", "write_exports"]

DEFAULT_AS_OF = dt.date(2026, 11, 18)

_DATETIME = "datetime64[us]"


@dataclass(frozen=True, eq=False)
class SampleCompany:
    """The sample company's data for one as-of date. Frames are fresh copies per load."""

    as_of: dt.date
    name: str
    items: pd.DataFrame
    history: pd.DataFrame
    capacity: pd.DataFrame
    budget: pd.DataFrame
    actuals: pd.DataFrame
    month_actuals: pd.DataFrame = field(repr=False)
    """Daily actuals for every day of the as-of month (also after the as-of day)."""
    production: pd.DataFrame = field(repr=False, default_factory=lambda: _no_production())
    """``date, item, resource, produced, receipts``: production through the as-of day, receipts of the month."""
    events: pd.DataFrame = field(repr=False, default_factory=lambda: _no_events())
    """The Events sheet's rows: the disruptions the supply view plans with."""
    month_production: pd.DataFrame = field(repr=False, default_factory=lambda: _no_production())
    """Production and receipts for every day of the as-of month."""

    def actuals_for_day(self, day: dt.date) -> pd.DataFrame:
        """``date, item, orders, shipments`` for one day of the as-of month, one row per item.

        Any day of the as-of month works, also after the as-of day (e.g. the next working
        day, to try ``refresh-actuals``). Weekend days have zero orders and shipments.
        """
        day = _as_date(day, "day")
        if (day.year, day.month) != (self.as_of.year, self.as_of.month):
            raise ValueError(
                f"day must be in the as-of month {self.as_of:%Y-%m} "
                f"(the sample has daily actuals for that month only), got {day}"
            )
        rows = self.month_actuals[self.month_actuals["date"] == pd.Timestamp(day)]
        return rows.reset_index(drop=True)

    def production_for_day(self, day: dt.date) -> pd.DataFrame:
        """``date, item, resource, produced, receipts`` of one day of the as-of month (empty when
        the company has no production data)."""
        self.actuals_for_day(day)  # the same checks of the day
        rows = self.month_production[
            self.month_production["date"] == pd.Timestamp(_as_date(day, "day"))
        ]
        return rows.reset_index(drop=True)


def _no_production() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(dtype=_DATETIME),
            "item": pd.Series(dtype=str),
            "resource": pd.Series(dtype=str),
            "produced": pd.Series(dtype=float),
            "receipts": pd.Series(dtype=float),
        }
    )


def _no_events() -> pd.DataFrame:
    columns: dict[str, Any] = {c: pd.Series(dtype=str) for c in ("id", "kind", "resource", "item")}
    columns.update(
        {
            "start": pd.Series(dtype=_DATETIME),
            "end": pd.Series(dtype=_DATETIME),
            "working_days": pd.Series(dtype=float),
            "rate": pd.Series(dtype=float),
            "delay_days": pd.Series(dtype=float),
        }
    )
    columns.update({c: pd.Series(dtype=str) for c in ("owner", "status", "comment")})
    return pd.DataFrame(columns)


def _as_date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):  # also pandas.Timestamp
        if pd.isna(value):
            raise ValueError(f"{what} must be a date, got NaT")
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValueError(
        f"{what} must be a datetime.date (e.g. datetime.date(2026, 11, 18)), "
        f"got {type(value).__name__} {value!r}"
    )


@functools.cache
def _raw(name: str) -> bytes:
    return (files("sop_excel") / "sample_data" / f"{name}.csv").read_bytes()


def _read(name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(_raw(name)), keep_default_na=False, **kwargs)


def _months(as_of: dt.date, offsets: pd.Series) -> pd.Series:
    """First of the month ``offsets`` months after the as-of month."""
    m = as_of.year * 12 + (as_of.month - 1) + offsets.to_numpy(dtype=np.int64)
    out = pd.to_datetime(pd.DataFrame({"year": m // 12, "month": m % 12 + 1, "day": 1}))
    return out.astype(_DATETIME).set_axis(offsets.index)


def load_sample_company(as_of: dt.date | None = None) -> SampleCompany:
    """Northwind Pumps Ltd., with all dates hung on ``as_of`` (default :data:`DEFAULT_AS_OF`).

    Raises:
        ValueError: ``as_of`` is not a date, or too far from today for the calendar.
    """
    as_of = DEFAULT_AS_OF if as_of is None else _as_date(as_of, "as_of")
    if not 1900 <= as_of.year <= 2200:
        raise ValueError(f"as_of must be a date between 1900 and 2200, got {as_of}")

    meta = dict(_read("company", dtype=str).itertuples(index=False, name=None))

    items = _read(
        "items",
        dtype={
            "price": float,
            "unit_cost": float,
            "hours_per_unit": float,
            "lead_time_days": int,
            "opening_stock": float,
        },
    )
    for col in ("item", "description", "family", "site", "resource", "status", "like_item"):
        items[col] = items[col].astype(str)
    items = items[BASIC_ITEM_FIELDS]

    h = _read("history", dtype={"item": str, "month_offset": int, "qty": str, "flag": str})
    history = (
        pd.DataFrame(
            {
                "item": h["item"].astype(str),
                "month": _months(as_of, h["month_offset"]),
                "qty": pd.to_numeric(h["qty"].replace("", np.nan)).astype(float),
                "flag": h["flag"].astype(str),
            }
        )
        .sort_values(["item", "month"], kind="stable")
        .reset_index(drop=True)
    )

    c = _read("capacity", dtype={"resource": str, "month_offset": int, "hours": float})
    capacity = pd.DataFrame(
        {
            "resource": c["resource"].astype(str),
            "month": _months(as_of, c["month_offset"]),
            "hours": c["hours"].astype(float),
        }
    )
    capacity = capacity.sort_values(["resource", "month"], kind="stable").reset_index(drop=True)

    b = _read(
        "budget", dtype={"family": str, "month_offset": int, "volume": float, "revenue": float}
    )
    first = -(as_of.month - 1)  # January of the as-of year
    b = b[(b["month_offset"] >= first) & (b["month_offset"] < first + 24)]
    budget = pd.DataFrame(
        {
            "family": b["family"].astype(str),
            "month": _months(as_of, b["month_offset"]),
            "volume": b["volume"].astype(float),
            "revenue": b["revenue"].astype(float),
        }
    )
    budget = budget.sort_values(["family", "month"], kind="stable").reset_index(drop=True)

    a = _read("actuals", dtype={"item": str, "day": int, "orders": float, "shipments": float})
    month_start = pd.Timestamp(as_of.year, as_of.month, 1)
    days_in_month = (month_start + pd.offsets.MonthEnd(0)).day
    a = a[a["day"] <= days_in_month]
    dates = (month_start + pd.to_timedelta(a["day"] - 1, unit="D")).astype(_DATETIME)
    weekend = dates.dt.day_of_week.to_numpy() >= 5
    month_actuals = (
        pd.DataFrame(
            {
                "date": dates,
                "item": a["item"].astype(str),
                "orders": np.where(weekend, 0.0, a["orders"].to_numpy(dtype=float)),
                "shipments": np.where(weekend, 0.0, a["shipments"].to_numpy(dtype=float)),
            }
        )
        .sort_values(["date", "item"], kind="stable")
        .reset_index(drop=True)
    )
    actuals = month_actuals[month_actuals["date"] <= pd.Timestamp(as_of)].reset_index(drop=True)

    p = _read("production", dtype={"item": str, "day": int, "produced": float, "receipts": float})
    later, day_of = (
        (p["day"] - 1) // 31,
        (p["day"] - 1) % 31 + 1,
    )  # day 36: the 5th of the next month
    p = p[(day_of <= days_in_month) | (later > 0)]
    first = _months(as_of, later[p.index])
    p_dates = (first + pd.to_timedelta(day_of[p.index] - 1, unit="D")).astype(_DATETIME)
    p_weekend = p_dates.dt.day_of_week.to_numpy() >= 5
    resource_of = items.set_index("item")["resource"]
    month_production = (
        pd.DataFrame(
            {
                "date": p_dates,
                "item": p["item"].astype(str),
                "resource": p["item"].map(resource_of).astype(str),
                "produced": np.where(p_weekend, 0.0, p["produced"].to_numpy(dtype=float)),
                "receipts": p["receipts"].to_numpy(dtype=float),
            }
        )
        .sort_values(["date", "item"], kind="stable")
        .reset_index(drop=True)
    )
    done = month_production["date"] <= pd.Timestamp(as_of)
    made = (month_production["produced"] > 0) | (month_production["receipts"] > 0)
    month_production = month_production[made].reset_index(drop=True)  # no row for a day without any
    done = done[made].reset_index(drop=True)
    keep = done | (
        month_production["receipts"] > 0
    )  # what was made, and every receipt (later ones due)
    production = month_production[keep].copy()
    production.loc[~done[keep], "produced"] = 0.0
    production = production.reset_index(drop=True)

    e = _read("events", dtype=str)
    events = _no_events()
    if len(e):
        day = pd.to_numeric(e["day"]).clip(upper=days_in_month)
        number = {
            c: pd.to_numeric(e[c].replace("", np.nan)) for c in ("working_days", "delay_days")
        }
        events = pd.DataFrame(
            {
                "id": e["id"],
                "kind": e["kind"],
                "resource": e["resource"],
                "item": e["item"],
                "start": (month_start + pd.to_timedelta(day - 1, unit="D")).astype(_DATETIME),
                "end": pd.Series(pd.NaT, index=e.index, dtype=_DATETIME),
                "working_days": number["working_days"].astype(float),
                "rate": np.nan,
                "delay_days": number["delay_days"].astype(float),
                "owner": e["owner"],
                "status": e["status"],
                "comment": e["comment"],
            }
        )

    return SampleCompany(
        as_of=as_of,
        name=meta["name"],
        items=items,
        history=history,
        capacity=capacity,
        budget=budget,
        actuals=actuals,
        month_actuals=month_actuals,
        production=production,
        events=events,
        month_production=month_production,
    )


EXPORT_FILES = {
    "items": "items.csv",
    "history": "history.csv",
    "budget": "budget.csv",
    "capacity": "capacity.csv",
    "open_orders": "orders.csv",
    "production": "production.csv",
}
"""The sample company's export files, by the ``sop-excel new`` option each is given to."""


def write_exports(folder: str | os.PathLike[str], as_of: dt.date | None = None) -> dict[str, Path]:
    """The sample company as the export files a planner gets from an ERP (CSV, one per
    ``sop-excel new`` option), its dates hung on ``as_of``. ``sop-excel demo`` builds its workbook
    from these files with the ``new`` path; they are also an example of what ``new`` reads.

    Returns:
        option -> path (items, history, budget, capacity, open_orders, production: what was made
        through the as-of day and the month's supplier receipts, later ones due).
    """
    company = load_sample_company(as_of)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    day = "%Y-%m-%d"
    frames = {
        "items": company.items,
        "history": company.history.assign(
            month=company.history["month"].dt.strftime(day),
            qty=company.history["qty"].map(lambda q: "" if q != q else f"{q:g}"),
        ),
        "budget": company.budget.assign(month=company.budget["month"].dt.strftime(day)),
        "capacity": company.capacity.assign(month=company.capacity["month"].dt.strftime(day)),
        "open_orders": company.actuals.assign(date=company.actuals["date"].dt.strftime(day)),
        "production": company.production.assign(date=company.production["date"].dt.strftime(day)),
    }
    paths = {}
    for kind, frame in frames.items():
        paths[kind] = out / EXPORT_FILES[kind]
        frame.to_csv(paths[kind], index=False, lineterminator="\n")
    return paths
