"""The ribbon entry points (sop_excel.xl) on Linux, over the faithful fake of xlwings' Book."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pandas as pd
import pytest
import xlwings as xw

from sop_excel import macros, xl
from sop_excel.errors import InputError
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.xlsm import FORM_CELLS, RIBBON_CALLBACK, ribbon_buttons
from sop_excel.workbook.xlwings_io import XlwingsIO
from tests.sop_excel.workbook.fake_xlwings import FakeBook

CLI_FUNCTIONS = {
    "refresh_forecast": "refresh_forecast",
    "new_scenario": "new_scenario",
    "compare_scenarios": "compare_scenarios",
    "lock_plan": "lock_plan",
    "refresh_actuals": "refresh_actuals",
    "flag_drift": "flag_drift",
    "meeting_pack": "meeting_pack",
    "close_month": "close_month",
    "add_event": "add_event",
}


@pytest.fixture(scope="module")
def template(tiny_template):
    return tiny_template


@pytest.fixture(scope="module")
def loaded(template):
    return FakeBook.from_xlsx(template)


@pytest.fixture
def book(loaded, tmp_path, monkeypatch):
    fake = copy.deepcopy(loaded)  # a fresh workbook per test, loaded once
    fake.fullname = str(tmp_path / "tiny.xlsm")
    monkeypatch.setattr(xw.Book, "caller", lambda: fake)
    return fake


def alert(book) -> str:
    assert len(book.app.alerts) == 1, book.app.alerts
    title, text = book.app.alerts[0]
    assert title == "sop-excel" and "Traceback" not in text
    return text


def set_setting(book, label, value):
    io = XlwingsIO(book)
    rows = io.read_table("tblSettings")
    for r in rows[1:]:
        if r[0] == label:
            r[1] = value
    io.write_table("tblSettings", rows)


def fill_event(book, **values):
    """Type a row into the New event row of the Events sheet, as a planner would."""
    io = XlwingsIO(book)
    header = io.read_table("tblNewEvent")[0]
    fields = {c.header: c.field for c in load_layout().table("tblNewEvent").columns}
    io.write_table("tblNewEvent", [header, [values.get(fields[h]) for h in header]])


def test_every_ribbon_tag_has_an_action_and_every_action_a_button():
    tags = {b.tag for b in ribbon_buttons() if b.on_action == RIBBON_CALLBACK}
    assert tags == set(xl.ACTIONS) == set(CLI_FUNCTIONS)
    labels = {b.label for b in ribbon_buttons() if b.on_action == RIBBON_CALLBACK}
    assert labels == {
        "Refresh forecast",
        "New scenario",
        "Compare scenarios",
        "Lock plan",
        "Refresh actuals",
        "Flag drift",
        "Meeting pack",
        "Close month",
        "Add event",
    }
    assert all(re.fullmatch(r"[a-z_]+", t) for t in tags)  # what SopRibbon.bas's SopButton accepts


@pytest.mark.parametrize("tag", sorted(CLI_FUNCTIONS))
def test_each_button_calls_the_function_its_cli_command_calls(tag, book, monkeypatch, tmp_path):
    calls = []

    def fake(io, *args, **kwargs):
        calls.append((io, args, kwargs))
        return macros.RunReport(tag, [f"ran {tag}"])

    monkeypatch.setattr(macros, CLI_FUNCTIONS[tag], fake)
    if tag == "new_scenario":
        book.sheets["New scenario"].range(FORM_CELLS["name"]).value = "Stretch"
    if tag == "refresh_actuals":
        (tmp_path / "day.csv").write_text("date,item,orders,shipments\n2026-11-04,A-1,2,2\n")
        set_setting(book, "Actuals source", "day.csv")
    if tag == "add_event":
        fill_event(
            book,
            kind="Resource down",
            resource="L1",
            start=dt.datetime(2026, 11, 20),
            working_days=2,
        )
    xl.run(tag)
    assert alert(book) == f"ran {tag}"
    assert len(calls) == 1 and isinstance(calls[0][0], XlwingsIO) and calls[0][0].book is book


def test_compare_scenarios_end_to_end(book):
    xl.run("compare_scenarios")
    text = alert(book)
    scenarios = read_frame(XlwingsIO(book), "tblScenarioList")["scenario"].tolist()
    assert all(s in text for s in scenarios) and "revenue" in text
    assert read_frame(XlwingsIO(book), "tblLog")["command"].tolist()[-1] == "compare-scenarios"


def test_app_state_is_restored(book):
    xl.run("flag_drift")
    assert book.app.screen_updating is True and book.app.calculation == "automatic"
    assert book.app.status_bar is False
    assert "Exceptions" in alert(book)


def test_lock_plan_locks_the_settings_plan_scenario(book):
    set_setting(book, "Plan scenario", "Upside")
    xl.run("lock_plan")
    assert alert(book).startswith("Locked 'Upside' as plan of record")
    locks = read_frame(XlwingsIO(book), "tblLocks")
    assert locks["note"].tolist()[-1] == "Locked from the Excel ribbon"


def test_new_scenario_from_the_form(book):
    sheet = book.sheets["New scenario"]
    sheet.range(FORM_CELLS["name"]).value = "Promo"
    sheet.range(FORM_CELLS["description"]).value = "Spring promotion"
    sheet.range(FORM_CELLS["volume"]).value = 0.05
    sheet.range(FORM_CELLS["price"]).value = -0.02  # what Excel stores for -2%
    sheet.range(FORM_CELLS["family"]).value = "Pumps"
    sheet.range(FORM_CELLS["from_month"]).value = dt.datetime(2026, 12, 1)
    xl.run("new_scenario")
    assert alert(book).startswith("Scenario 'Promo' created from 'Base' with 2 driver(s).")
    io = XlwingsIO(book)
    scen = read_frame(io, "tblScenarioList")
    assert scen.set_index("scenario").loc["Promo", "description"] == "Spring promotion"
    drivers = read_frame(io, "tblDrivers")
    mine = drivers[drivers["scenario"] == "Promo"].set_index("kind")
    assert mine.loc["volume", "value"] == pytest.approx(0.05) and mine.loc[
        "price", "value"
    ] == pytest.approx(-0.02)
    assert (
        mine.loc["volume", "family"] == "Pumps"
        and str(mine.loc["volume", "from_month"])[:7] == "2026-12"
    )
    form = xl.read_form(book)
    assert form["name"] is None and form["volume"] is None and form["parent"] == "Base"


def test_new_scenarios_from_the_ribbon_move_the_compare_chart_out_of_the_table(book):
    """The Compare monthly table grows a column per scenario: the chart beside it moves right
    instead of covering the new columns."""
    compare = book.sheets["Compare"]
    line = compare.charts[0]
    for name in ("Promo", "Stretch", "Lean"):
        book.sheets["New scenario"].range(FORM_CELLS["name"]).value = name
        xl.run("new_scenario")
        assert "created from 'Base'" in book.app.alerts[-1][1]
    table = compare.tables["tblCompareMonthly"].range
    assert table.shape[1] == 9  # month, budget, 4 + 3 scenarios
    for chart in compare.charts:
        below = chart.top >= table.top + table.height
        assert below or chart.left >= table.left + table.width, (
            chart.left,
            table.left + table.width,
        )
    assert line.left >= table.left + table.width


@pytest.mark.parametrize(
    ("fill", "text"),
    [
        ({}, "Enter the new scenario's name"),
        ({"name": "Base"}, "Scenario 'Base' already exists"),
        ({"name": "X", "parent": "Nope"}, "Parent scenario 'Nope' does not exist"),
        ({"name": "X", "volume": "lots"}, "'lots' is not a percentage"),
        ({"name": "X", "from_month": "someday"}, "'someday' is not a month"),
    ],
)
def test_new_scenario_problems_are_messages(book, fill, text):
    for key, value in fill.items():
        book.sheets["New scenario"].range(FORM_CELLS[key]).value = value
    xl.run("new_scenario")
    msg = alert(book)
    assert msg.startswith("Error: ") and text in msg


def test_refresh_actuals_reads_the_settings_source(book, tmp_path):
    xl.run("refresh_actuals")
    assert "No actuals source" in alert(book)
    book.app.alerts.clear()
    set_setting(book, "Actuals source", "missing.csv")
    xl.run("refresh_actuals")
    assert "No actuals file at" in alert(book)
    book.app.alerts.clear()
    (tmp_path / "day.csv").write_text(
        "date,item,orders,shipments\n2026-11-04,A-1,2,2\n2026-11-04,B-1,5,4\n"
    )
    set_setting(book, "Actuals source", "day.csv")
    xl.run("refresh_actuals")
    text = alert(book)
    assert text.startswith("Loaded 2 rows from day.csv (sha256 ")
    assert len(read_frame(XlwingsIO(book), "tblActuals")) == 5


def test_unknown_tag_and_unexpected_errors_are_messages(book, monkeypatch):
    xl.run("format_disk")
    assert "Unknown ribbon action 'format_disk'" in alert(book)
    book.app.alerts.clear()

    def boom(io):
        raise KeyError("tblSomething")

    monkeypatch.setattr(macros, "compare_scenarios", boom)
    xl.run("compare_scenarios")
    assert alert(book).startswith("sop-excel could not finish (KeyError: 'tblSomething')")
    book.app.alerts.clear()

    def refuse(io):
        raise InputError("Sheet 'Settings' has values sop-excel cannot use")

    monkeypatch.setattr(macros, "compare_scenarios", refuse)
    xl.run("compare_scenarios")
    assert alert(book).startswith("Error: Sheet 'Settings'")


def test_meeting_pack_writes_the_pdf_beside_the_workbook_and_says_where(book, tmp_path):
    xl.run("meeting_pack")
    text = alert(book)
    pdf = tmp_path / "tiny_pack_2026-11.pdf"
    assert text.startswith(f"Meeting pack written: {pdf}") and pdf.read_bytes()[:5] == b"%PDF-"
    assert "No plan has been locked yet" in text  # the tiny workbook has no lock: the pack says so
    book.app.alerts.clear()
    book.fullname = "Book1"  # never saved: no folder to write beside
    xl.run("meeting_pack")
    assert alert(book).startswith("Error: Save the workbook to a folder on this computer first")


def test_show_falls_back_to_the_status_bar(book):
    def no_alert(*a, **k):
        raise AttributeError("alert")

    book.app.alert = no_alert
    xl.show(book, "Done.\nMore lines")
    assert book.app.status_bar == "Done."


def test_close_month_button_refuses_a_month_with_days_missing(book):
    before = read_frame(XlwingsIO(book), "tblHistory")
    xl.run("close_month")
    text = alert(book)
    assert text.startswith("Error: November 2026 has no actuals for") and "--force" in text
    pd.testing.assert_frame_equal(read_frame(XlwingsIO(book), "tblHistory"), before)
    assert read_frame(XlwingsIO(book), "tblLog")["command"].tolist()[-1:] != ["close-month"]


def test_close_month_leaves_a_formula_in_the_as_of_date(book):
    sheet = book.sheets["Settings"]
    io = XlwingsIO(book)
    row = next(i for i, r in enumerate(io.read_table("tblSettings")) if r[0] == "As-of date")
    cell = (
        sheet.tables["tblSettings"].range.row + row,
        sheet.tables["tblSettings"].range.column + 1,
    )
    sheet.formulas[cell] = "=DATE(2026,11,18)"  # as a planner types it; Excel keeps its value
    sheet.values[cell] = dt.datetime(2026, 11, 18)
    with pytest.raises(InputError, match=r"As-of date holds a formula \(=DATE\(2026,11,18\)\)"):
        macros.close_month(io, force=True, today=dt.date(2026, 12, 2))
    assert sheet.formulas[cell] == "=DATE(2026,11,18)"


def test_add_event_from_the_new_event_row(book):
    fill_event(
        book,
        kind="Resource down",
        resource="L1",
        start=dt.datetime(2026, 11, 20),
        working_days=2,
        owner="Plant",
        comment="motor",
    )
    xl.run("add_event")
    text = alert(book)
    assert text.startswith(
        "Event E1 added: L1 down 2 working days from 2026-11-20 (E1); owner Plant."
    )
    io = XlwingsIO(book)
    events = read_frame(io, "tblEvents")
    assert events[["id", "kind", "resource", "owner", "status", "comment"]].values.tolist() == [
        ["E1", "Resource down", "L1", "Plant", "Open", "motor"]
    ]
    assert read_frame(io, "tblNewEvent").empty  # cleared for the next one
    weeks = read_frame(io, "tblSupplyWeeks").set_index(["resource", "week"])
    assert weeks.loc[("L1", 1), "event_hours"] > 0  # the supply view planned with it
    assert read_frame(io, "tblLog")["command"].tolist()[-1] == "add-event"


@pytest.mark.parametrize(
    ("fill", "text"),
    [
        ({}, "Fill in the New event row on the Events sheet"),
        (
            {"kind": "Resource down", "resource": "NOPE", "start": dt.datetime(2026, 11, 20)},
            "Sheet 'Events', cell O4: 'NOPE' is not a resource on the Items or Capacity sheet",
        ),
        (
            {
                "kind": "Resource down",
                "resource": "L1",
                "start": dt.datetime(2026, 11, 20),
                "end": dt.datetime(2026, 11, 19),
            },
            "Sheet 'Events', cell R4: '2026-11-19' is before From (2026-11-20)",
        ),
        (
            {"kind": "Holiday", "start": dt.datetime(2026, 11, 20)},
            "Sheet 'Events', cell N4: 'Holiday' is not an event kind",
        ),
    ],
)
def test_add_event_problems_name_the_new_event_cells(book, fill, text):
    if fill:
        fill_event(book, **fill)
    xl.run("add_event")
    msg = alert(book)
    assert msg.startswith("Error: ") and text in msg, msg
    assert read_frame(XlwingsIO(book), "tblEvents").empty


def test_refresh_actuals_loads_production_and_flag_drift_plans_supply_live(book, tmp_path):
    (tmp_path / "day.csv").write_text(
        "date,item,orders,shipments,produced\n2026-11-04,A-1,2,2,3\n2026-11-04,B-1,5,4,6\n"
    )
    set_setting(book, "Actuals source", "day.csv")
    xl.run("refresh_actuals")
    text = alert(book)
    assert (
        "Loaded 2 rows of production and receipts from its supply columns" in text
        and "Supply: " in text
    )
    io = XlwingsIO(book)
    prod = read_frame(io, "tblProduction")
    assert prod[["item", "resource", "produced"]].values.tolist() == [
        ["A-1", "L1", 3.0],
        ["B-1", "L2", 6.0],
    ]
    assert len(read_frame(io, "tblSupplyItems")) == 3
    book.app.alerts.clear()
    events = read_frame(io, "tblEvents")  # a planner types an event straight into the Events table
    header = io.read_table("tblEvents")[0]
    io.write_table(
        "tblEvents",
        [
            header,
            [
                "",
                "Reduced rate",
                "L2",
                None,
                dt.datetime(2026, 11, 19),
                None,
                3,
                0.5,
                None,
                "Ops",
                None,
                "",
            ],
        ],
    )
    assert events.empty
    xl.run("flag_drift")
    assert "Supply: " in alert(book)
    weeks = read_frame(io, "tblSupplyWeeks").set_index(["resource", "week"])
    assert weeks.loc[("L2", 1), "event_hours"] > 0
