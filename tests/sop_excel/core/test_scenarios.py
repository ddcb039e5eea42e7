import pandas as pd
import pytest

from sop_excel import names as T
from sop_excel.core.scenarios import DRIVER_FIELDS, apply_scenario, capacity_for, scenario_chain
from sop_excel.workbook.layout import load_layout

M = pd.date_range("2027-01-01", periods=3, freq="MS")
FINAL = pd.DataFrame(
    {
        "item": ["A"] * 3 + ["B"] * 3,
        "family": ["F"] * 3 + ["G"] * 3,
        "month": list(M) * 2,
        "final": [10.0] * 6,
    }
)
ITEMS = pd.DataFrame({"item": ["A", "B"], "price": [5.0, 2.0], "unit_cost": [3.0, 1.0]})
PARENTS = {"Base": "", "Up": "Base", "Up2": "Up"}


def drivers(rows):
    cols = list(DRIVER_FIELDS)
    return pd.DataFrame([dict(zip(cols, r, strict=False)) for r in rows], columns=cols)


def test_driver_fields_are_the_scenarios_sheet_columns():
    assert list(DRIVER_FIELDS) == load_layout().table(T.DRIVERS).fields


def test_chain_root_first_and_loops_refused():
    assert scenario_chain("Up2", PARENTS) == ["Base", "Up", "Up2"]
    with pytest.raises(ValueError, match="loop"):
        scenario_chain("X", {"X": "Y", "Y": "X"})
    with pytest.raises(ValueError, match="not defined"):
        scenario_chain("Z", PARENTS)


def test_children_carry_parent_drivers_and_compound():
    d = drivers(
        [
            ("Base", "volume", "F", "", "", None, None, 0.10),
            ("Up", "volume", "", "", "", M[1], M[2], 0.20),
            ("Up", "price", "G", "", "", None, None, -0.05),
            ("Up2", "launch", "F", "NEW", "", M[2], None, 7.0, 9.0, 4.0),
        ]
    )
    up = apply_scenario("Up", FINAL, ITEMS, d, PARENTS).set_index(["item", "month"])
    assert up.loc[("A", M[0]), "volume"] == pytest.approx(11.0)
    assert up.loc[("A", M[1]), "volume"] == pytest.approx(10 * 1.1 * 1.2)
    assert up.loc[("B", M[1]), "volume"] == pytest.approx(12.0)
    assert up.loc[("B", M[0]), "price"] == pytest.approx(1.9)
    up2 = apply_scenario("Up2", FINAL, ITEMS, d, PARENTS)
    new = up2[up2["item"] == "NEW"]
    assert new["month"].tolist() == [M[2]] and new["volume"].tolist() == [7.0]


def test_capacity_driver():
    cap = pd.DataFrame({"resource": ["R1"] * 3, "month": M, "hours": [100.0] * 3})
    d = drivers([("Up", "capacity", "", "", "R1", M[1], None, 0.25)])
    out = capacity_for("Up", cap, d, PARENTS)
    assert out["hours"].tolist() == [100.0, 125.0, 125.0]
