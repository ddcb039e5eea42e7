import pandas as pd
import pytest

from sop_excel.core.finance import compute_final, compute_finance

M = pd.Timestamp("2027-01-01")


def test_finance_by_hand():
    items = pd.DataFrame({"item": ["A", "B"], "price": [10.0, 4.0], "unit_cost": [6.0, 1.0]})
    fc = pd.DataFrame({"item": ["A", "B"], "family": ["F", "F"], "month": [M, M],
                       "baseline": [100.0, 50.0], "override": [None, 40.0]})
    final = compute_final(fc, items)
    assert final["final"].tolist() == [100.0, 40.0]
    assert final["revenue"].tolist() == [1000.0, 160.0]
    scen = pd.DataFrame({"scenario": ["Base", "Up"], "family": ["F", "F"],
                         "volume_pct": [0.0, 0.10], "price_pct": [0.0, 0.05]})
    budget = pd.DataFrame({"family": ["F"], "month": [M], "revenue": [1200.0]})
    fin = compute_finance(final, scen, budget, ["F"]).set_index("scenario")
    assert fin.loc["Base", "volume"] == 140.0
    assert fin.loc["Base", "revenue"] == 1160.0
    assert fin.loc["Base", "cost"] == 640.0
    assert fin.loc["Base", "gap"] == -40.0
    assert fin.loc["Up", "revenue"] == pytest.approx(1160 * 1.1 * 1.05)
    assert fin.loc["Up", "cost"] == pytest.approx(640 * 1.1)
    assert fin.loc["Up", "margin_pct"] == pytest.approx(1 - 640 * 1.1 / (1160 * 1.1 * 1.05))
