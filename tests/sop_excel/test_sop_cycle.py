"""The monthly S&OP cycle in the workbook (issue 4), end to end through the CLI."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from sop_excel.check import compare_recalculated
from sop_excel.cli import main
from sop_excel.core.lock import content_hash
from sop_excel.workbook.libreoffice import recalculate
from tests.sop_excel.conftest import cell, sheet


def test_demo_makes_each_feature_visible(demo_book):
    load = sheet(demo_book, None, "tblLoad")
    assert (load["Overload"] == "Yes").any(), "an overloaded resource"
    cmp_ = sheet(demo_book, None, "tblCompare").set_index("Scenario")
    assert cmp_.loc["Base", "Gap to budget"] < 0
    assert (cmp_["Gap to budget"] >= 0).any(), "a scenario that closes the budget gap"
    inv = sheet(demo_book, None, "tblInventory")
    assert (inv["Below safety"] == "Yes").any(), "an item below safety stock"
    fva = sheet(demo_book, None, "tblFVA")
    assert {"Item", "Family", "Total"} <= set(fva["Level"])
    summary = fva[fva["Level"] != "Item"]
    assert summary[["Naive WMAPE", "Baseline WMAPE", "Final WMAPE"]].notna().all().all()
    locks = sheet(demo_book, None, "tblLocks")
    assert locks["Version"].tolist() == list(range(1, len(locks) + 1))
    ex = sheet(demo_book, "Execution")
    assert ex["Plan"].iloc[0].startswith(f"v{len(locks)} locked")


def test_consensus_rule_and_family_spread(demo_book):
    fc = sheet(demo_book, "Forecast")
    inputs = sheet(demo_book, None, "tblInputs")
    targets = sheet(demo_book, None, "tblFamilyTargets")
    # sales and marketing inputs add to the baseline
    row = inputs.iloc[0]
    hit = fc[(fc["Item"] == row["Item"]) & (fc["Month"] == row["Month"])].iloc[0]
    assert hit["Sales adj"] == pytest.approx(
        inputs[
            (inputs["Item"] == row["Item"])
            & (inputs["Month"] == row["Month"])
            & (inputs["Stream"] == "Sales")
        ]["Qty"].sum()
    )
    assert hit["Consensus"] == pytest.approx(
        max(0, hit["Baseline"] + hit["Sales adj"] + hit["Marketing adj"])
    )
    # a family target is spread by baseline share and the spread adds up to the target
    t = targets.iloc[0]
    fam = fc[(fc["Family"] == t["Family"]) & (fc["Month"] == t["Month"])]
    assert fam["Consensus"].sum() == pytest.approx(t["Target"])
    assert fam["Family share"].sum() == pytest.approx(1.0)
    # an override with a reason code wins
    over = fc[fc["Override"].notna()].iloc[0]
    assert over["Final"] == over["Override"] and isinstance(over["Reason code"], str)
    roll = sheet(demo_book, "Rollup")
    total = roll[roll["Level"] == "Total"].set_index("Month")["Final"]
    assert total.to_numpy() == pytest.approx(fc.groupby("Month")["Final"].sum().to_numpy())


def test_new_scenario_export_import_round_trip(small_copy, tmp_path, capsys):
    book_copy = small_copy  # scenarios' round trip, not the demo's size
    assert (
        main(
            [
                "-q",
                "new-scenario",
                str(book_copy),
                "Stretch",
                "--from",
                "Upside",
                "--volume",
                "3%",
                "--family",
                "Valves",
                "--months",
                "2027-03:2027-12",
            ]
        )
        == 0
    )
    cmp_ = sheet(book_copy, None, "tblCompare").set_index("Scenario")
    assert "Stretch" in cmp_.index
    assert cmp_.loc["Stretch", "Volume"] > cmp_.loc["Upside", "Volume"]
    first = tmp_path / "a.toml"
    assert main(["-q", "export-scenarios", str(book_copy), "--out", str(first)]) == 0
    text = first.read_text()
    assert 'name = "Stretch"' in text and 'parent = "Upside"' in text and 'to = "2027-12"' in text
    assert main(["-q", "import-scenarios", str(book_copy), str(first)]) == 0
    second = tmp_path / "b.toml"
    assert main(["-q", "export-scenarios", str(book_copy), "--out", str(second)]) == 0
    assert second.read_text() == text
    capsys.readouterr()
    assert main(["new-scenario", str(book_copy), "Stretch"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["new-scenario", str(book_copy), "X", "--from", "Nope"]) == 1
    assert "Parent scenario 'Nope' does not exist" in capsys.readouterr().err


def test_import_bad_toml_names_the_place_and_leaves_the_book(small_copy, tmp_path, capsys):
    before = small_copy.read_bytes()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[scenario]]\nname = "A"\n[[scenario.driver]]\nkind = "volume"\nvalue = "lots"\n'
        '[[scenario]]\nname = "B"\nparent = "Nope"\n'
    )
    assert main(["import-scenarios", str(small_copy), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.toml, scenario #1, driver #1, 'value'" in err
    assert small_copy.read_bytes() == before
    bad.write_text(
        '[[scenario]]\nname = "A"\nparent = "B"\n[[scenario]]\nname = "B"\nparent = "A"\n'
    )
    assert main(["import-scenarios", str(small_copy), str(bad)]) == 1
    assert "loop" in capsys.readouterr().err
    assert small_copy.read_bytes() == before
    # a driver that parses but cannot apply is named by its scenario and place in the file
    bad.write_text(
        '[[scenario]]\nname = "Base"\n[[scenario]]\nname = "Up"\nparent = "Base"\n'
        '[[scenario.driver]]\nkind = "volume"\nvalue = 0.05\n'
        '[[scenario.driver]]\nkind = "capacity"\nvalue = 0.1\n'
    )
    assert main(["import-scenarios", str(small_copy), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.toml, scenario 'Up', driver #2: a capacity driver needs a Resource" in err
    assert "row" not in err.split("driver #2")[0]
    assert small_copy.read_bytes() == before


def test_lock_plan_records_a_verifiable_version(small_copy):
    book_copy = small_copy  # the lock's records, not the demo's size: the small company's demo
    before = sheet(book_copy, None, "tblLocks")
    snaps_before = len(sheet(book_copy, None, "tblSnapshots"))
    assert (
        main(["-q", "lock-plan", str(book_copy), "Close the gap", "--note", "agreed in S&OP"]) == 0
    )
    locks = sheet(book_copy, None, "tblLocks")
    assert len(locks) == len(before) + 1
    last = locks.iloc[-1]
    assert last["Scenario"] == "Close the gap" and last["Note"] == "agreed in S&OP"
    locked = sheet(book_copy, None, "tblLockedPlan").rename(columns=str.lower)
    assert (locked["version"] == last["Version"]).all()
    assert content_hash(locked) == last["Content hash"]
    plan = sheet(book_copy, None, "tblScenarioPlan")
    assert locked["volume"].sum() == pytest.approx(
        plan[plan["Scenario"] == "Close the gap"]["Volume"].sum()
    )
    snaps = sheet(book_copy, None, "tblSnapshots")
    new = snaps[
        snaps["Version"] == last["Version"]
    ]  # the lock's forecast, Settings > Snapshot lags (6) ahead
    assert sorted(new["Lag"].unique()) == list(range(7)) and len(new) == 7 * new["Item"].nunique()
    assert snaps_before > 0
    ex = sheet(book_copy, "Execution")
    assert ex["Plan"].iloc[0] == f"v{int(last['Version'])} locked (Close the gap)"
    status = sheet(book_copy, None, "tblScenarioList").set_index("Scenario")["Status"]
    assert status["Close the gap"] == f"Locked v{int(last['Version'])}"
    wb = openpyxl.load_workbook(book_copy)
    assert wb["Plan of record"].protection.sheet


@pytest.mark.libreoffice
def test_cycle_recalculates_in_libreoffice(small_copy, tmp_path):
    book_copy = small_copy  # the same formulas as the demo's, on a third of its cells
    wb = openpyxl.load_workbook(book_copy)
    wb["Forecast"][cell("tblForecast", "override", 0)] = 500
    wb["Consensus"][cell("tblFamilyTargets", "target", 0)] = 1234
    wb.save(book_copy)
    assert main(["-q", "new-scenario", str(book_copy), "Promo", "--price=-5%"]) == 0
    assert main(["-q", "lock-plan", str(book_copy), "Promo"]) == 0
    out = recalculate(book_copy, tmp_path / "lo")
    assert compare_recalculated(book_copy, out) == []
    fc = sheet(book_copy, "Forecast")
    assert fc.iloc[0]["Final"] == 500
    assert isinstance(pd.Timestamp(fc.iloc[0]["Month"]), pd.Timestamp)
