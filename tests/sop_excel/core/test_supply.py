import numpy as np
import pandas as pd
import pytest

from sop_excel.core.supply import capacity_load, inventory_projection, safety_stock

M1, M2 = pd.Timestamp("2027-01-01"), pd.Timestamp("2027-02-01")
ITEMS = pd.DataFrame(
    {
        "item": ["A", "B", "C"],
        "resource": ["R1", "R1", "R2"],
        "hours_per_unit": [0.5, 1.0, 0.1],
        "opening_stock": [30.0, 10.0, 0.0],
        "lead_time_days": [30, 15, 10],
    }
)


def test_capacity_load_flags_overload_by_hand():
    plan = pd.DataFrame(
        {
            "item": ["A", "B", "A", "B", "C"],
            "month": [M1, M1, M2, M2, M1],
            "volume": [100.0, 40.0, 100.0, 80.0, 10.0],
        }
    )
    cap = pd.DataFrame({"resource": ["R1", "R1"], "month": [M1, M2], "hours": [100.0, 100.0]})
    load = capacity_load(plan, ITEMS, cap).set_index(["resource", "month"])
    assert load.loc[("R1", M1), "load_hours"] == 90.0
    assert not load.loc[("R1", M1), "overload"]
    assert load.loc[("R1", M2), "load_hours"] == 130.0
    assert load.loc[("R1", M2), "overload"]
    assert load.loc[("R1", M2), "utilisation"] == pytest.approx(1.3)
    # a resource with no capacity rows at all is not constrained (nothing says what it can make) ...
    assert not load.loc[("R2", M1), "overload"] and np.isnan(load.loc[("R2", M1), "utilisation"])
    assert np.isnan(load.loc[("R2", M1), "capacity_hours"])
    # ... but one with capacity rows and none for a month has none that month
    load = capacity_load(plan, ITEMS, cap[cap["month"] == M1]).set_index(["resource", "month"])
    assert load.loc[("R1", M2), "overload"] and load.loc[("R1", M2), "capacity_hours"] == 0.0
    # items without a resource load nothing
    no_res = ITEMS.assign(resource=["R1", "", "R2"])
    load = capacity_load(plan, no_res, cap).set_index(["resource", "month"])
    assert load.loc[("R1", M1), "load_hours"] == 50.0 and "" not in load.index.get_level_values(0)


def test_safety_stock_formula():
    ss = safety_stock(pd.Series({"A": 10.0}), pd.Series({"A": 365.25 / 12}), 0.95)
    assert ss["A"] == pytest.approx(1.6448536 * 10.0, rel=1e-6)
    with pytest.raises(ValueError):
        safety_stock(pd.Series({"A": 1.0}), pd.Series({"A": 1}), 1.2)


def test_inventory_drops_where_capacity_is_short():
    demand = pd.DataFrame(
        {
            "item": ["A", "A", "B", "B"],
            "month": [M1, M2, M1, M2],
            "volume": [100.0, 100.0, 40.0, 80.0],
        }
    )
    cap = pd.DataFrame({"resource": ["R1", "R1"], "month": [M1, M2], "hours": [100.0, 100.0]})
    load = capacity_load(demand, ITEMS, cap)
    inv = inventory_projection(demand, ITEMS, load, pd.Series({"A": 20.0, "B": 5.0}))
    inv = inv.set_index(["item", "month"])
    # M1 fits: closing = opening
    assert inv.loc[("A", M1), "closing"] == pytest.approx(30.0)
    # M2 at 130% load: supply is 100/130 of demand
    assert inv.loc[("A", M2), "supply"] == pytest.approx(100 / 1.3)
    assert inv.loc[("A", M2), "closing"] == pytest.approx(30 + 100 / 1.3 - 100)
    assert inv.loc[("A", M2), "below_safety"]
    assert not inv.loc[("A", M1), "below_safety"]
    assert np.isfinite(inv["weeks_of_cover"]).all()
