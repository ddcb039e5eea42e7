"""The supply side of S&OE (issue 21): a hand-made company whose line breaks down for three days
and whose supplier delivers late, worked out by hand below."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sop_excel.core.drift import WorkCalendar
from sop_excel.core.events import check_events
from sop_excel.core.supply_weeks import supply_weeks
from sop_excel.core.weekly import weekly_view
from sop_excel.errors import InputError

AS_OF = dt.date(2026, 11, 18)  # a Wednesday; November 2026 has 21 working days
THROUGH = dt.date(2026, 11, 17)
CAL = WorkCalendar()
RATE = {"A": 10.0, "B": 5.0, "C": 4.0, "D": 2.0}  # units a working day, every month
MONTHS = pd.date_range("2026-10-01", periods=6, freq="MS")
DAYS_DONE = pd.bdate_range("2026-11-02", "2026-11-17")  # 12 working days behind us


def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": ["A", "B", "C", "D"],
            "family": ["F", "F", "G", "F"],
            "site": ["Leeds", "Leeds", "", "Brno"],
            "resource": ["R1", "R1", "", "R3"],  # C has no resource: it is bought
            "price": [100.0, 50.0, 20.0, 30.0],
            "unit_cost": [60.0, 20.0, 12.0, 10.0],
            "hours_per_unit": [1.0, 1.0, 0.0, 0.5],
            "lead_time_days": [10, 30, 20, 10],
            "opening_stock": [20.0, 200.0, 60.0, 500.0],
        }
    )


def plan() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"item": i, "month": m, "volume": r * CAL.working_days(m)}
            for i, r in RATE.items()
            for m in MONTHS
        ]
    )


def capacity() -> pd.DataFrame:
    # R1 is exactly full (A and B load 15 h a working day); R3 has 9 h a day to spare
    return pd.DataFrame(
        [
            {"resource": r, "month": m, "hours": h * CAL.working_days(m)}
            for r, h in (("R1", 15.0), ("R3", 10.0))
            for m in MONTHS
        ]
    )


def actuals() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"date": d, "item": i, "orders": r, "shipments": r}
            for d in DAYS_DONE
            for i, r in RATE.items()
        ]
    )


def production() -> pd.DataFrame:
    rows = [
        {"date": d, "item": i, "resource": res, "produced": r, "receipts": 0.0}
        for d in DAYS_DONE
        for i, r, res in (("A", 10.0, "R1"), ("D", 2.0, "R3"))
    ]
    # B's line ran at 1 a day instead of 5 for the last five days
    rows += [
        {
            "date": d,
            "item": "B",
            "resource": "R1",
            "produced": 5.0 if d < pd.Timestamp("2026-11-11") else 1.0,
            "receipts": 0.0,
        }
        for d in DAYS_DONE
    ]
    # C is bought: it ships from stock, and 100 are due from the supplier on 23 Nov
    rows.append(
        {
            "date": pd.Timestamp("2026-11-23"),
            "item": "C",
            "resource": "",
            "produced": 0.0,
            "receipts": 100.0,
        }
    )
    return pd.DataFrame(rows)


def events(*extra: dict) -> pd.DataFrame:
    base = [
        {
            "id": "E1",
            "kind": "Resource down",
            "resource": "R1",
            "item": "",
            "start": pd.Timestamp("2026-11-20"),
            "end": pd.NaT,
            "working_days": 3.0,
            "rate": np.nan,
            "delay_days": np.nan,
            "owner": "Plant",
            "status": "Open",
            "comment": "gearbox",
        },
        {
            "id": "E2",
            "kind": "Receipt delayed",
            "resource": "",
            "item": "C",
            "start": pd.Timestamp("2026-11-23"),
            "end": pd.NaT,
            "working_days": np.nan,
            "rate": np.nan,
            "delay_days": 14.0,
            "owner": "Buyer",
            "status": "In progress",
            "comment": "",
        },
        *extra,
    ]
    return pd.DataFrame(base)


def checked(frame: pd.DataFrame) -> pd.DataFrame:
    return check_events(
        frame,
        items={"A", "B", "C", "D"},
        resources={"R1", "R3"},
        calendar=CAL,
        locate=lambda pos, field: f"row {pos}, {field}",
    )


def run(
    ev: pd.DataFrame | None = None,
    prod: pd.DataFrame | None = None,
    master: pd.DataFrame | None = None,
    **kw,
):
    weekly = weekly_view(plan(), actuals(), AS_OF, THROUGH, calendar=CAL)
    return supply_weeks(
        as_of=AS_OF,
        through=THROUGH,
        plan=plan(),
        items=items() if master is None else master,
        capacity=capacity(),
        production=production() if prod is None else prod,
        actuals=actuals(),
        demand=weekly,
        events=checked(events() if ev is None else ev),
        safety=pd.Series({"A": 15.0, "B": 10.0, "C": 5.0, "D": 0.0}),
        calendar=CAL,
        frozen_weeks=4,
        min_value_at_risk=500.0,
        **kw,
    )


@pytest.fixture(scope="module")
def seeded():
    return run()


def row(frame: pd.DataFrame, item: str) -> pd.Series:
    return frame.set_index("item").loc[item]


def test_the_breakdown_makes_a_run_out_in_week_two(seeded):
    a = row(seeded.items, "A")
    # stock now 20 + 120 made - 120 shipped; W1: +2 days made (20 is down), -3 days sold; W2: +3 days, -5
    assert a["stock_now"] == pytest.approx(20.0)
    stock = seeded.stock.set_axis(seeded.items["item"])
    assert stock.loc["A", 1] == pytest.approx(10.0) and stock.loc["A", 2] == pytest.approx(-10.0)
    assert stock.loc["A", 13] == pytest.approx(
        -10.0
    )  # made at the rate sold from then on: never made up
    assert a["stockout_week"] == pd.Timestamp("2026-11-23")
    assert a["below_safety_week"] == pd.Timestamp("2026-11-16")  # 10 < 15 at the end of W1
    assert a["revenue_at_risk"] == pytest.approx(10 * 100.0)


def test_the_late_receipt_makes_a_run_out_until_it_comes(seeded):
    c = row(seeded.items, "C")
    stock = seeded.stock.set_axis(seeded.items["item"])
    assert c["stock_now"] == pytest.approx(60 - 48)
    # 100 arrive on 7 Dec (W4), then nothing more is on order: -20 a week to W13
    assert list(stock.loc["C", 1:6]) == pytest.approx([0.0, -20.0, -40.0, 40.0, 20.0, 0.0])
    assert stock.loc["C", 13] == pytest.approx(-140.0)
    assert c["stockout_week"] == pd.Timestamp("2026-11-23")
    assert c["revenue_at_risk"] == pytest.approx(140 * 20.0)
    on_time = run(
        events().iloc[:1]
    )  # on time, the receipt covers C to W6 (beyond its lead time of 20 days)
    assert row(on_time.items, "C")["stockout_week"] == pd.Timestamp("2026-12-28")


def test_the_exceptions_say_what_to_do_with_numbers(seeded):
    ex = seeded.exceptions.set_index(["item", "area"])
    assert set(ex.index) == {("A", "Supply"), ("B", "Supply"), ("C", "Supply"), ("R1", "Capacity")}
    a = ex.loc[("A", "Supply")]
    assert a["flag"] == "Act" and a["value_at_risk"] == pytest.approx(-1000.0)
    assert "Projected out of stock from W2 (23 Nov), inside its lead time of 10 days" in a["reason"]
    assert "R1 down 3 working days from 2026-11-20 (E1)" in a["reason"]
    # R1 is full: the 10 units need 10 h of overtime; R3 (same family F) has hours to spare
    assert a["action"].startswith("Overtime: 10.0 h on R1 by W2 (23 Nov)")
    assert "or move 10 units to R3 (Brno)" in a["action"]
    c = ex.loc[("C", "Supply")]
    assert c["flag"] == "Act" and c["value_at_risk"] == pytest.approx(-2800.0)
    assert c["action"].startswith(
        "Expedite receipts: pull 100 units of the 100 due 2026-12-07 forward to before W2"
    )
    assert "receipts of C due on 2026-11-23 14 days late (E2)" in c["action"]
    assert (
        "order 40 more from the supplier: what is on order does not cover the 13 weeks"
        in c["action"]
    )
    b = ex.loc[("B", "Supply")]  # 40 made against 60 planned: beyond the line's day-to-day noise
    assert b["flag"] == "Act" and b["drift_pct"] == pytest.approx(40 / 60 - 1)
    assert (
        "Production 33% behind plan month to date (40 vs 60 units, beyond normal variation)"
        in b["reason"]
    )
    assert b["value_at_risk"] == pytest.approx(-20 * 50.0)
    assert b["action"].startswith("Overtime: 20.0 h on R1 by W3 (30 Nov)")
    r1 = ex.loc[("R1", "Capacity")]  # three days of 15 h: 30 units of A and 15 of B not made
    assert r1["flag"] == "Act" and r1["value_at_risk"] == pytest.approx(-(30 * 100.0 + 15 * 50.0))
    assert (
        "45 h of its planned load in W1-W2 (frozen) fall on hours it does not have: 45 units of 2 items"
        in r1["reason"]
    )
    assert r1["action"].startswith("Overtime: 45.0 h on R1 in W1-W4")
    assert "or move 45 h of work to R3 (Brno)" in r1["action"]
    assert (
        "over the frozen weeks (W1-W4, days ahead) load 270 h against 225 h available"
        in r1["reason"]
    )
    assert r1["action"].endswith("allocate its 225 available hours by margin per hour: A, B first")


def test_priority_comes_before_margin_when_items_have_one():
    ranked = run(master=items().assign(priority=[np.nan, 1.0, np.nan, np.nan]))
    r1 = ranked.exceptions.set_index("item").loc["R1"]
    assert r1["action"].endswith("by Priority, then margin per hour: B, A first")


def test_resource_weeks_show_the_hours_lost(seeded):
    w = seeded.resources.set_index(["resource", "week"])
    w2 = w.loc[("R1", 2)]
    assert w2["capacity_hours"] == pytest.approx(75.0) and w2["event_hours"] == pytest.approx(30.0)
    assert w2["available_hours"] == pytest.approx(45.0) and w2["load_hours"] == pytest.approx(75.0)
    assert w2["overload"] == "Yes" and w2["horizon"] == "Frozen"
    assert w.loc[("R1", 1), "done_hours"] == pytest.approx(
        2 * (10 + 1)
    )  # 16 and 17 Nov: A 10 h and B 1 h a day
    assert w.loc[("R1", 5), "horizon"] == "Open" and w.loc[("R1", 5), "overload"] == "No"
    assert w.loc[("R3", 2), "spare_hours"] == pytest.approx(5 * 9.0)


def test_no_event_no_supply_exception_but_the_production_one():
    calm = run(events().iloc[0:0])
    flags = dict(zip(calm.exceptions["item"], calm.exceptions["flag"], strict=True))
    assert set(calm.exceptions["area"]) == {"Supply"} and flags == {
        "B": "Act",
        "C": "Watch",
    }  # C: W7, after its lead time


def test_a_reduced_rate_and_a_blocked_item():
    half = run(
        events(
            {
                "id": "",
                "kind": "reduced rate",
                "resource": "R3",
                "item": "",
                "start": pd.Timestamp("2026-11-18"),
                "end": pd.Timestamp("2026-11-19"),
                "working_days": np.nan,
                "rate": 0.5,
                "delay_days": np.nan,
                "owner": "",
                "status": "",
                "comment": "",
            }
        ).iloc[2:]
    )
    w = half.resources.set_index(["resource", "week"])
    assert w.loc[("R3", 1), "event_hours"] == pytest.approx(10.0)  # two days at half of 10 h
    blocked = run(
        events(
            {
                "id": "E9",
                "kind": "Item blocked",
                "resource": "",
                "item": "D",
                "start": pd.Timestamp("2026-11-18"),
                "end": pd.Timestamp("2026-11-24"),
                "working_days": np.nan,
                "rate": np.nan,
                "delay_days": np.nan,
                "owner": "",
                "status": "Open",
                "comment": "",
            }
        ).iloc[2:]
    )
    stock = blocked.stock.set_axis(blocked.items["item"])
    assert stock.loc["D", 2] == pytest.approx(500 - 2 * 5)  # 5 working days not made, still sold
    cancelled = run(
        events(
            {
                "id": "E9",
                "kind": "Item blocked",
                "resource": "",
                "item": "D",
                "start": pd.Timestamp("2026-11-18"),
                "end": pd.Timestamp("2026-11-24"),
                "working_days": np.nan,
                "rate": np.nan,
                "delay_days": np.nan,
                "owner": "",
                "status": "Cancelled",
                "comment": "",
            }
        ).iloc[2:]
    )
    assert cancelled.stock.set_axis(cancelled.items["item"]).loc["D", 2] == pytest.approx(500.0)


def test_receipts_are_netted_from_what_is_made():
    prod = pd.concat(
        [
            production(),
            pd.DataFrame(
                [
                    {
                        "date": pd.Timestamp("2026-11-26"),
                        "item": "D",
                        "resource": "R3",
                        "produced": 0.0,
                        "receipts": 20.0,
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    bought = run(events().iloc[0:0], prod)
    d = row(bought.items, "D")  # the month plan of 42 less the 20 due: 22 made over 21 days
    assert d["mtd_plan"] == pytest.approx(22 / 21 * 12)


def test_an_event_refused_by_its_place():
    bad = events(
        {
            "id": "",
            "kind": "Resource gone",
            "resource": "R9",
            "item": "A",
            "start": pd.NaT,
            "end": pd.Timestamp("2026-11-01"),
            "working_days": 2.0,
            "rate": 1.5,
            "delay_days": np.nan,
            "owner": "",
            "status": "maybe",
            "comment": "",
        },
        {
            "id": "",
            "kind": "Resource down",
            "resource": "R9",
            "item": "A",
            "start": pd.Timestamp("2026-11-20"),
            "end": pd.Timestamp("2026-11-19"),
            "working_days": np.nan,
            "rate": 0.5,
            "delay_days": np.nan,
            "owner": "",
            "status": "",
            "comment": "",
        },
    )
    with pytest.raises(InputError) as err:
        checked(bad)
    text = str(err.value)
    for want in (
        "row 2, kind: 'Resource gone' is not an event kind",
        "row 2, status: 'maybe' is not an event status",
        "row 2, start: From is empty",
        "row 2, working_days: 2 is given with a To date",
        "row 3, end: '2026-11-19' is before From (2026-11-20)",
        "row 3, item: 'A' does not apply to Resource down",
        "row 3, resource: 'R9' is not a resource on the Items or Capacity sheet",
        "row 3, rate: 0.5 is given for a resource that is down",
    ):
        assert want in text, want


def test_working_days_skip_weekends_and_holidays():
    ev = (
        events().iloc[:1].assign(start=pd.Timestamp("2026-11-21"))
    )  # a Saturday: Mon 23, Tue 24 (holiday), Wed 25, Thu 26
    got = check_events(
        ev,
        items={"A"},
        resources={"R1"},
        calendar=WorkCalendar(holidays=["2026-11-24"]),
        locate=lambda pos, field: "",
    )
    assert got["end"].iloc[0] == pd.Timestamp("2026-11-26")
    assert got["label"].iloc[0] == "R1 down 3 working days from 2026-11-21 (E1)"
