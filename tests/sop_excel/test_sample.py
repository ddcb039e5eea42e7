"""The bundled sample company: its shape, its planted features, its dates hung on the as-of date."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sop_excel.sample import DEFAULT_AS_OF, SampleCompany, load_sample_company

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_sample_data.py"


@pytest.fixture(scope="module")
def gen():
    """The generator script, imported as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def company() -> SampleCompany:
    return load_sample_company()


def month_index(months: pd.Series, as_of: dt.date) -> np.ndarray:
    """Months after the as-of month (negative before it)."""
    return ((months.dt.year - as_of.year) * 12 + months.dt.month - as_of.month).to_numpy()


def fitted(company: SampleCompany, ahead: list[int]) -> pd.DataFrame:
    """A plain trend + yearly-season least-squares fit per regular item, as a stand-in forecast.

    Spikes (over 2.5x the item's median) and stockout months are left out of the fit.
    """
    out = {}
    for item, g in company.history.groupby("item"):
        g = g.dropna(subset=["qty"])
        g = g[g["qty"] <= 2.5 * g["qty"].median()]
        t = month_index(g["month"], company.as_of).astype(float)
        if len(g) < 36 or (g["qty"] == 0).mean() > 0.3:
            continue

        def design(x):
            x = np.asarray(x, dtype=float)
            return np.c_[np.ones_like(x), x, np.cos(2 * np.pi * x / 12), np.sin(2 * np.pi * x / 12)]

        beta = np.linalg.lstsq(design(t), g["qty"].to_numpy(float), rcond=None)[0]
        out[item] = np.clip(design(ahead) @ beta, 0, None)
    return pd.DataFrame(out, index=ahead).T


# --- shape ----------------------------------------------------------------------------------------


def test_default_as_of_and_name(company):
    assert DEFAULT_AS_OF == dt.date(2026, 11, 18) and DEFAULT_AS_OF.weekday() == 2  # a Wednesday
    assert company.as_of == DEFAULT_AS_OF
    assert company.name == "Northwind Pumps Ltd."


def test_item_master(company):
    items = company.items
    assert list(items.columns) == [
        "item",
        "description",
        "family",
        "site",
        "resource",
        "price",
        "unit_cost",
        "hours_per_unit",
        "lead_time_days",
        "status",
        "opening_stock",
        "like_item",
    ]
    assert len(items) >= 60 and items["item"].is_unique
    assert items["item"].str.fullmatch(r"[A-Z]{3}-\d{4}").all()
    assert items["family"].nunique() >= 3 and items["site"].nunique() >= 2
    assert 4 <= items["resource"].nunique() <= 6
    assert (items.groupby("resource")["site"].nunique() == 1).all(), (
        "each resource sits at one site"
    )
    margin = (items["price"] - items["unit_cost"]) / items["price"]
    assert margin.between(0.25, 0.55).all()
    assert (items["hours_per_unit"] > 0).all() and (items["lead_time_days"] > 0).all()
    assert (items["opening_stock"] >= 0).all() and items["description"].str.len().gt(0).all()
    assert set(items["status"]) == {"active", "new", "discontinued"}
    assert items.notna().all().all()


def test_history_shape(company):
    h = company.history
    assert list(h.columns) == ["item", "month", "qty", "flag"]
    assert h.equals(h.sort_values(["item", "month"]).reset_index(drop=True))
    assert (h["month"].dt.day == 1).all()
    assert set(h["item"]) == set(company.items["item"])
    regular = company.items.loc[company.items["status"] != "new", "item"]
    counts = h.groupby("item").size()
    assert (counts[regular] == 48).all()
    months = h[h["item"].isin(regular)].groupby("item")["month"].agg(["min", "max", "nunique"])
    assert (months["min"] == pd.Timestamp("2022-11-01")).all()
    assert (months["max"] == pd.Timestamp("2026-10-01")).all()
    assert (months["nunique"] == 48).all()
    assert set(h["flag"]) == {"", "stockout"}
    assert (h["qty"].dropna() >= 0).all()


# --- planted features -----------------------------------------------------------------------------


def test_new_item_has_short_history_and_a_like_item(company):
    items = company.items.set_index("item")
    new = items.index[items["status"] == "new"]
    assert len(new) == 1
    like = items.loc[new[0], "like_item"]
    assert like in items.index and items.loc[like, "status"] == "active"
    assert (items.drop(new)["like_item"] == "").all()
    h = company.history
    n = len(h[h["item"] == new[0]])
    assert 6 <= n <= 10
    recent_new = h[h["item"] == new[0]]["qty"].tail(4).mean()
    recent_like = h[h["item"] == like]["qty"].tail(4).mean()
    assert 0.5 < recent_new / recent_like < 1.5, "the new item resembles its like item"


def test_discontinued_item_stops(company):
    disc = company.items.loc[company.items["status"] == "discontinued", "item"]
    assert len(disc) == 1
    qty = company.history[company.history["item"] == disc.iloc[0]]["qty"].to_numpy()
    assert (qty[-8:] == 0).all() and qty[:-8].sum() > 0 and qty[-9] > 0
    mtd = company.actuals[company.actuals["item"] == disc.iloc[0]]["orders"].sum()
    assert mtd == 0


def test_intermittent_items(company):
    zero_share = company.history.groupby("item")["qty"].apply(lambda s: (s == 0).mean())
    disc = company.items.loc[company.items["status"] == "discontinued", "item"]
    intermittent = zero_share.drop(disc)[lambda s: s >= 0.4]
    assert len(intermittent) >= 3, intermittent
    assert (
        company.history[company.history["item"].isin(intermittent.index)]
        .groupby("item")["qty"]
        .sum()
        > 0
    ).all()


def test_one_stockout_gap(company):
    h = company.history
    gap = h[h["flag"] == "stockout"]
    assert h["qty"].isna().equals(h["flag"] == "stockout")
    assert gap["item"].nunique() == 1 and 2 <= len(gap) <= 3
    offsets = month_index(gap["month"], company.as_of)
    assert (np.diff(offsets) == 1).all(), "consecutive months"


def test_a_few_outliers(company):
    h = company.history.dropna(subset=["qty"])
    median = h.groupby("item")["qty"].transform("median")
    spikes = h[(median >= 20) & (h["qty"] > 2.5 * median)]
    assert 4 <= len(spikes) <= 7, spikes  # five planted


def test_tight_resource_overloads_in_peak_months(company, gen):
    ahead = list(range(25))
    fc = fitted(company, ahead)
    hpu = company.items.set_index("item")["hours_per_unit"]
    res = company.items.set_index("item")["resource"]
    load = fc.mul(hpu.reindex(fc.index), axis=0).groupby(res.reindex(fc.index)).sum()
    cap = company.capacity.assign(k=month_index(company.capacity["month"], company.as_of))
    cap = cap.pivot(index="resource", columns="k", values="hours")
    over = load > cap.loc[load.index, ahead]
    assert set(over.index[over.any(axis=1)]) == {gen.TIGHT_RESOURCE}
    assert 2 <= over.loc[gen.TIGHT_RESOURCE].sum() <= 14, "overloaded in peak months, not always"


def test_budget_gap_for_pumps_only(company):
    fam = company.items.set_index("item")["family"]
    actual = (
        company.history.assign(family=company.history["item"].map(fam))
        .groupby(["family", "month"])["qty"]
        .sum()
        .unstack("family")
    )
    budget = company.budget.pivot(index="month", columns="family", values="volume")
    ratio = (budget / actual).dropna().median()
    assert 1.03 <= ratio["Pumps"] <= 1.09, ratio
    assert ratio.drop("Pumps").between(0.96, 1.03).all(), ratio


def test_drift_items_run_hot_and_cold(company, gen):
    month = fitted(company, [0])[0]
    through = company.actuals["date"].max()
    elapsed = np.busday_count(dt.date(2026, 11, 1), (through + pd.Timedelta(days=1)).date())
    mtd = company.actuals.groupby("item")["orders"].sum()
    ratio = (mtd / (month * elapsed / 21.5)).dropna()
    assert set(gen.DRIFT) <= set(ratio.index)
    for item, factor in gen.DRIFT.items():
        assert ratio[item] >= 1.25 if factor > 1 else ratio[item] <= 0.75, (item, ratio[item])
    assert (
        sum(f > 1 for f in gen.DRIFT.values()) == 2 and sum(f < 1 for f in gen.DRIFT.values()) == 2
    )
    new_or_disc = company.items.loc[company.items["status"] != "active", "item"]
    others = ratio.drop(list(gen.DRIFT) + list(new_or_disc), errors="ignore")
    assert len(others) >= 45
    assert others.between(0.8, 1.2).mean() >= 0.9, others.sort_values()
    readme = (files("sop_excel") / "sample_data" / "README.md").read_text()
    assert all(item in readme for item in gen.DRIFT)


# --- dates hung on the as-of date -----------------------------------------------------------------


def test_default_dates(company):
    a = company.actuals
    assert list(a.columns) == ["date", "item", "orders", "shipments"]
    assert a["date"].min() == pd.Timestamp("2026-11-01") and a["date"].max() == pd.Timestamp(
        "2026-11-18"
    )
    assert (a.groupby("date").size() == len(company.items)).all()
    assert company.budget["month"].min() == pd.Timestamp("2026-01-01")
    assert company.budget["month"].max() == pd.Timestamp("2027-12-01")
    assert (company.budget.groupby("family").size() == 24).all()
    assert company.capacity["month"].min() == pd.Timestamp("2026-11-01")
    assert company.capacity["month"].max() == pd.Timestamp("2028-11-01")
    assert (company.capacity.groupby("resource").size() == 25).all()
    assert set(company.capacity["resource"]) == set(company.items["resource"])
    assert (company.budget[["volume", "revenue"]] > 0).all().all()


def test_as_of_override_shifts_every_date():
    c = load_sample_company(dt.date(2027, 3, 9))
    assert c.as_of == dt.date(2027, 3, 9)
    assert c.history["month"].max() == pd.Timestamp("2027-02-01")
    assert c.history["month"].min() == pd.Timestamp("2023-03-01")
    assert c.actuals["date"].min() == pd.Timestamp("2027-03-01")
    assert c.actuals["date"].max() == pd.Timestamp("2027-03-09")
    assert c.budget["month"].min() == pd.Timestamp("2027-01-01")
    assert c.budget["month"].max() == pd.Timestamp("2028-12-01")
    assert c.capacity["month"].min() == pd.Timestamp("2027-03-01")
    assert c.capacity["month"].max() == pd.Timestamp("2029-03-01")
    base = load_sample_company()
    # Same numbers, shifted: history 4 months later, actuals by day of month.
    assert np.array_equal(
        c.history["qty"].to_numpy(), base.history["qty"].to_numpy(), equal_nan=True
    )
    assert c.capacity["hours"].equals(base.capacity["hours"])


@pytest.mark.parametrize(
    "as_of",
    [dt.date(2027, 1, 1), dt.date(2027, 12, 31), dt.date(2028, 2, 29), dt.date(2026, 11, 30)],
)
def test_any_as_of_covers_its_own_month(as_of):
    c = load_sample_company(as_of)
    month = pd.Timestamp(as_of).replace(day=1)
    assert month in set(c.budget["month"]) and month in set(c.capacity["month"])
    assert c.history["month"].max() == month - pd.DateOffset(months=1)
    assert c.actuals["date"].max() == pd.Timestamp(as_of)
    assert c.actuals["date"].dt.month.eq(as_of.month).all()
    assert c.actuals["date"].nunique() == as_of.day


def test_weekends_are_zero():
    for as_of in (DEFAULT_AS_OF, dt.date(2027, 3, 31), dt.date(2027, 5, 30)):
        a = load_sample_company(as_of).actuals
        weekend = a["date"].dt.day_of_week >= 5
        assert weekend.any()
        assert (a.loc[weekend, ["orders", "shipments"]] == 0).all().all()
        assert a.loc[~weekend, "orders"].sum() > 0


def test_shipments_lag_orders(company):
    a = company.actuals
    assert a["shipments"].sum() == pytest.approx(a["orders"].sum(), rel=0.1)
    assert (a[["orders", "shipments"]] >= 0).all().all()
    assert (a[["orders", "shipments"]] % 1 == 0).all().all()


def test_actuals_for_day(company):
    nxt = company.actuals_for_day(dt.date(2026, 11, 19))
    assert list(nxt.columns) == list(company.actuals.columns)
    assert (nxt["date"] == pd.Timestamp("2026-11-19")).all()
    assert len(nxt) == len(company.items) and nxt["orders"].sum() > 0
    assert nxt["date"].dtype == company.actuals["date"].dtype
    saturday = company.actuals_for_day(dt.date(2026, 11, 21))
    assert (saturday[["orders", "shipments"]] == 0).all().all()
    # A day already in the actuals gives the same rows.
    day = company.actuals_for_day(dt.date(2026, 11, 18))
    same = company.actuals[company.actuals["date"] == pd.Timestamp("2026-11-18")].reset_index(
        drop=True
    )
    pd.testing.assert_frame_equal(day, same)
    for bad in (dt.date(2026, 12, 1), dt.date(2026, 10, 31)):
        with pytest.raises(ValueError, match="as-of month"):
            company.actuals_for_day(bad)


def test_as_of_is_validated():
    for bad in ("2026-11-18", 20261118, pd.NaT):
        with pytest.raises(ValueError, match="as_of"):
            load_sample_company(bad)  # type: ignore[arg-type]
    assert load_sample_company(pd.Timestamp("2027-03-09")).as_of == dt.date(2027, 3, 9)


def test_loads_are_independent():
    a, b = load_sample_company(), load_sample_company()
    a.items.loc[0, "price"] = -1.0
    assert b.items.loc[0, "price"] > 0


# --- reproducible --------------------------------------------------------------------------------


def test_script_regenerates_identical_files(gen, tmp_path):
    written = gen.generate(tmp_path)
    shipped = files("sop_excel") / "sample_data"
    names = sorted(p.name for p in written)
    assert "README.md" in names and "history.csv" in names
    for path in written:
        assert path.read_bytes() == (shipped / path.name).read_bytes(), path.name
    total = sum(p.stat().st_size for p in written)
    assert total < 400_000
