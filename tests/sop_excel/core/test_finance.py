import pandas as pd
import pytest

from sop_excel.core.consensus import compute_consensus
from sop_excel.core.finance import compute_finance, item_values

M = pd.Timestamp("2027-01-01")
M2 = pd.Timestamp("2027-02-01")


def test_finance_by_hand():
    items = pd.DataFrame({"item": ["A", "B"], "price": [10.0, 4.0], "unit_cost": [6.0, 1.0]})
    fc = pd.DataFrame(
        {
            "item": ["A", "B"],
            "family": ["F", "F"],
            "month": [M, M],
            "baseline": [100.0, 50.0],
            "override": [None, 40.0],
        }
    )
    no_inputs = pd.DataFrame(columns=["stream", "item", "month", "qty"])
    no_targets = pd.DataFrame(columns=["family", "month", "target"])
    final = item_values(compute_consensus(fc, no_inputs, no_targets), items)
    assert final["final"].tolist() == [100.0, 40.0]
    assert final["revenue"].tolist() == [1000.0, 160.0]
    plan = final.assign(scenario="Base", volume=final["final"])
    plan = pd.concat(
        [
            plan,
            plan.assign(
                scenario="Up",
                volume=plan["volume"] * 1.1,
                revenue=plan["revenue"] * 1.1 * 1.05,
                cost=plan["cost"] * 1.1,
            ),
        ]
    )
    budget = pd.DataFrame({"family": ["F"], "month": [M], "revenue": [1200.0]})
    fin = compute_finance(plan, budget, ["Base", "Up"], ["F"]).set_index("scenario")
    assert fin.loc["Base", "volume"] == 140.0
    assert fin.loc["Base", "revenue"] == 1160.0
    assert fin.loc["Base", "cost"] == 640.0
    assert fin.loc["Base", "gap"] == -40.0
    assert fin.loc["Up", "revenue"] == pytest.approx(1160 * 1.1 * 1.05)
    assert fin.loc["Up", "margin_pct"] == pytest.approx(1 - 640 * 1.1 / (1160 * 1.1 * 1.05))


def test_months_without_budget_have_no_budget_and_no_gap():
    """Not a budget of 0 and a gap of 0 ("on budget"): no budget, no gap. A budget of 0 is one."""
    M3 = pd.Timestamp("2027-03-01")
    plan = pd.DataFrame(
        {
            "scenario": ["Base"] * 3,
            "family": ["F"] * 3,
            "month": [M, M2, M3],
            "volume": [1.0] * 3,
            "revenue": [100.0] * 3,
            "cost": [50.0] * 3,
        }
    )
    budget = pd.DataFrame({"family": ["F", "F"], "month": [M, M3], "revenue": [90.0, 0.0]})
    fin = compute_finance(plan, budget, ["Base"], ["F"])
    assert fin["budget_revenue"].tolist()[0::2] == [90.0, 0.0] and pd.isna(
        fin["budget_revenue"].iloc[1]
    )
    assert fin["gap"].tolist()[0::2] == [10.0, 100.0] and pd.isna(fin["gap"].iloc[1])


def test_consensus_rule_by_hand():
    fc = pd.DataFrame(
        {
            "item": ["A", "B", "C"],
            "family": ["F", "F", "G"],
            "month": [M] * 3,
            "baseline": [30.0, 10.0, 5.0],
            "override": [None, None, None],
        }
    )
    inputs = pd.DataFrame(
        {
            "stream": ["Sales", "Marketing", "Sales"],
            "item": ["C", "C", "C"],
            "month": [M] * 3,
            "qty": [2.0, -10.0, 1.0],
        }
    )
    targets = pd.DataFrame({"family": ["F"], "month": [M], "target": [80.0]})
    out = compute_consensus(fc, inputs, targets).set_index("item")
    assert out.loc["A", "family_share"] == 0.75
    assert out.loc["A", "final"] == 60.0 and out.loc["B", "final"] == 20.0
    assert out.loc["C", "sales_adj"] == 3.0 and out.loc["C", "marketing_adj"] == -10.0
    assert out.loc["C", "final"] == 0.0  # floored at zero
