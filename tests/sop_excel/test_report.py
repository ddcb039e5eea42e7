"""The S&OP meeting pack (`sop-excel report`): every section, the workbook's own headline figures
read back from the PDF (pdftotext) and the HTML, and a pack that says what a workbook lacks.

Rendering is the slow part (seconds per pack), so each workbook is made once per module and
packed once per format; the other tests build the pack's content without drawing it.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.macros import read_settings
from sop_excel.report import TABLES, PackInput, build_pack
from sop_excel.report.blocks import Table, fmt
from sop_excel.report.plan_pages import consensus_changes, driver_words
from sop_excel.workbook.layout import load_layout
from sop_excel.workbook.tables import read_frame, write_frame
from sop_excel.workbook.zip_io import open_workbook
from tests.sop_excel.tiny import build_tiny

SECTION_LABELS = [
    "COVER",
    "DEMAND REVIEW",
    "SCENARIOS",
    "SUPPLY",
    "PERFORMANCE",
    "S&OE ESCALATIONS",
]
# one thing each section shows when the workbook has its data
SECTION_CONTENT = [
    "Over the horizon",
    "Largest consensus changes against the statistical baseline",
    "What each scenario changes",
    "Items projected below safety stock",
    "Forecast value added at lag 1",
    "Raised to S&OP",
]


def frames(path) -> dict[str, pd.DataFrame]:
    book = open_workbook(path)
    try:
        return {name: read_frame(book, name) for name in (*TABLES, "tblScenarioList")}
    finally:
        book.close()


def money(v: float) -> str:  # the workbook's #,##0, written independently of the pack's formatter
    return f"{v:,.0f}"


def headline_rows(path) -> dict[str, str]:
    """Per scenario, the cover's row as the workbook's Compare sheet has it: revenue, gap,
    margin, margin % (the budget revenue, the same for every scenario, is in the table's title);
    checked against the Finance sheet's sums first."""
    t = frames(path)
    compare = t["tblCompare"].set_index("scenario")
    finance = t["tblFinance"].groupby("scenario")[["revenue", "margin", "gap"]].sum()
    for col in ("revenue", "margin", "gap"):  # Compare's totals are Finance's, month by month
        assert (finance[col].reindex(compare.index) - compare[col]).abs().max() < 0.5
    assert compare["budget_revenue"].round().nunique() == 1
    return {
        s: r"\s+".join(
            re.escape(x)
            for x in (money(r.revenue), money(r.gap), money(r.margin), f"{r.margin_pct:.1%}")
        )
        for s, r in compare.iterrows()
    }


def budget_title(path) -> str:
    return f"Over the horizon (EUR): budget revenue {money(frames(path)['tblCompare']['budget_revenue'].iloc[0])}"


def pdf_pages(path) -> list[str]:
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):
            pytest.fail(
                "CI=true but pdftotext (poppler-utils) is not installed: .ci/run installs it"
            )
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return text.split("\f")[:-1]


def html_text(path) -> str:
    """The HTML as text: tags out, entities decoded (what a reader sees)."""
    raw = path.read_text(encoding="utf-8")
    return html.unescape(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<svg.*?</svg>", " ", raw, flags=re.S)))
    )


@pytest.fixture(scope="module")
def cycled(demo_book, tmp_path_factory):
    """The demo after a new scenario and a new lock (the commands a cycle runs), made once."""
    path = tmp_path_factory.mktemp("cycled") / "plan.xlsx"
    shutil.copyfile(demo_book, path)
    assert (
        main(
            [
                "-q",
                "new-scenario",
                str(path),
                "Stretch",
                "--volume",
                "5%",
                "--description",
                "Stretch target",
            ]
        )
        == 0
    )
    assert main(["-q", "lock-plan", str(path), "Stretch", "--note", "Agreed in the meeting"]) == 0
    return path


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """A workbook with no lock, no budget and no execution figures (the tiny one, budget emptied)."""
    path = tmp_path_factory.mktemp("bare") / "bare.xlsx"
    build_tiny(path)
    book = open_workbook(path)
    write_frame(book, "tblBudget", pd.DataFrame(columns=load_layout().table("tblBudget").fields))
    book.save()
    book.close()
    assert main(["-q", "compare-scenarios", str(path)]) == 0
    return path


def test_demo_pack_pdf_has_every_section_and_the_workbooks_headline_figures(
    demo_book, tmp_path, capsys
):
    before = demo_book.read_bytes()
    out = tmp_path / "pack.pdf"
    assert main(["-q", "report", str(demo_book), "--out", str(out)]) == 0
    assert f"Meeting pack written: {out}" in capsys.readouterr().out
    assert demo_book.read_bytes() == before  # the pack only reads the workbook
    pages = pdf_pages(out)
    n = len(pages)
    for k, page in enumerate(pages, start=1):
        assert f"Page {k} of {n}" in page
    text = "\n".join(pages)
    assert [label for label in SECTION_LABELS if label in text] == SECTION_LABELS
    assert all(what in text for what in SECTION_CONTENT)
    rows = headline_rows(demo_book)
    cover = pages[0]
    for scenario, figures in rows.items():  # the cover's table: the workbook's numbers, in order
        assert re.search(figures, cover), (scenario, figures)
    assert budget_title(demo_book) in cover
    scen_page = next(p for p in pages if "Scenarios side by side" in p)
    compare = frames(demo_book)["tblCompare"]
    for r in compare.itertuples(index=False):
        for figure in (money(r.revenue), money(r.margin), money(r.gap), f"{r.peak_load:.1%}"):
            assert figure in scen_page
    lock = frames(demo_book)["tblLocks"].sort_values("version").iloc[-1]
    assert (
        f"Plan of record: v{int(lock.version)} ({lock.scenario}), locked {lock.locked_at:%Y-%m-%d %H:%M}"
        in re.sub(r"\s+", " ", cover)
    )


def test_pack_after_new_scenario_and_lock_plan_html(cycled, tmp_path, capsys):
    out = tmp_path / "pack.html"
    assert main(["-q", "report", str(cycled), "--out", str(out)]) == 0
    raw = out.read_text(encoding="utf-8")
    # one self-contained file: nothing fetched from elsewhere
    assert not re.search(r"<script|<link|<img|\bsrc=|url\((?!#)|@import|href=\"(?!#|data:)", raw)
    text = html_text(out)
    assert all(label in text for label in SECTION_LABELS) and all(
        what in text for what in SECTION_CONTENT
    )
    n = raw.count('<section class="page"')
    assert all(f"Page {k} of {n}" in text for k in range(1, n + 1))
    rows = headline_rows(cycled)
    assert "Stretch" in rows
    for scenario, figures in rows.items():
        assert re.search(re.escape(scenario) + r"\s+\S.*?" + figures, text), scenario
    assert budget_title(cycled) in text
    t = frames(cycled)
    lock = t["tblLocks"].sort_values("version").iloc[-1]
    assert lock.scenario == "Stretch"
    assert (
        f"Plan of record: v{int(lock.version)} (Stretch), locked {lock.locked_at:%Y-%m-%d %H:%M} by "
        f'{lock.user}; content hash {lock.content_hash}. Note: "Agreed in the meeting"'
    ) in text
    assert "Stretch (builds on Base: its drivers apply first) - Locked v11" in text
    assert "Volume +5% on all items (Stretch target)" in text


def test_a_workbook_with_no_lock_and_no_budget_gives_a_pack_that_says_so(bare, tmp_path, capsys):
    out = tmp_path / "bare.html"
    assert main(["-q", "report", str(bare), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    text = html_text(out)
    for statement in (
        "No budget for the horizon",
        "No plan has been locked yet",
        "The Execution sheet has no figures although actuals for November 2026 are loaded",
    ):
        assert statement in said and statement in text
    assert "Plan of record: none locked yet" in text
    assert "Agree the plan of record for November 2026 and lock it" in text
    assert all(label in text for label in SECTION_LABELS)
    assert "Gap to budget no budget no budget" in text  # the scenarios table: no zero gap shown
    assert "Forecast value added at lag 1" not in text


def test_png_pages_and_the_pack_of_chosen_scenarios(bare, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "pages" / "pack.png"
    assert main(["-q", "report", str(bare), "--out", str(out), "--scenario", "Upside", "Base"]) == 0
    files = sorted(out.parent.glob("pack-*.png"))
    assert [f.name for f in files] == [
        f"pack-{k:02d}.png" for k in range(1, len(files) + 1)
    ] and len(files) >= 6
    with Image.open(files[0]) as im:
        assert im.size == (1753, 1240)  # A4 landscape (11.69 x 8.27 in) at 150 dpi
    assert (
        f"Meeting pack written: {files[0]} ... {files[-1].name} ({len(files)} files)"
        in capsys.readouterr().out
    )


def pack_input(path, scenarios=None) -> PackInput:
    book = open_workbook(path)
    try:
        settings = read_settings(book)
    finally:
        book.close()
    return PackInput(
        settings, frames(path), path.name, "tester", dt.datetime(2026, 11, 20, 9, 0), scenarios
    )


def pack_of(path, scenarios=None):
    return build_pack(pack_input(path, scenarios))


def test_chosen_scenarios_keep_their_colours_and_order(cycled):
    full, some = pack_of(cycled), pack_of(cycled, ["Stretch", "Base"])
    table = next(b for b in full.pages[0].blocks if isinstance(b, Table))
    chosen = next(b for b in some.pages[0].blocks if isinstance(b, Table))
    colour = dict(zip((r[0] for r in table.rows), table.swatches, strict=True))
    assert [r[0] for r in chosen.rows] == ["Stretch", "Base"]
    assert chosen.swatches == [colour["Stretch"], colour["Base"]]
    assert len(set(table.swatches)) == len(table.swatches)


def test_consensus_changes_name_what_changed_the_forecast_and_why(demo_book):
    from sop_excel.report.content import _context

    inp = pack_input(demo_book)
    changes = consensus_changes(_context(inp))
    by = changes.set_index("where")
    assert (
        by.loc["VLV-2004", "by"] == "Override"
        and by.loc["VLV-2004", "reason_code"] == "Lost customer"
    )
    assert (
        by.loc["PMP-1002", "by"] == "Sales input"
        and by.loc["PMP-1002", "comment"] == "Acme order pulled forward"
    )
    assert by.loc["CTL-3003", "by"] == "Marketing input"
    assert any(
        w.startswith("Spares (") and b == "Family target"
        for w, b in zip(changes["where"], changes["by"], strict=True)
    )
    fc = inp.tables["tblForecast"]
    assert changes["change"].sum() == pytest.approx((fc["final"] - fc["baseline"]).sum())
    assert changes["value"].abs().is_monotonic_decreasing


def test_accuracy_by_lag_is_the_accuracy_sheets_total_at_each_lag(demo_book):
    from sop_excel.core.lock import accuracy
    from sop_excel.report.ops_pages import accuracy_by_lag

    t = frames(demo_book)
    history = t["tblHistory"]
    by_lag = accuracy_by_lag(t["tblSnapshots"], history).set_index("lag")
    assert list(by_lag.index) == list(
        range(6)
    )  # nine past locks of 6 months, the demo's own at lag 0..17
    for lag, row in by_lag.iterrows():
        total = accuracy(t["tblSnapshots"], history, lag=lag)[0].set_index("level").loc["Total"]
        for col in ("naive_wmape", "baseline_wmape", "final_wmape", "months"):
            assert row[col] == pytest.approx(total[col]), (lag, col)
    fva = t["tblFVA"].set_index("level").loc["Total"]  # lag 1 is what the Accuracy sheet shows
    assert by_lag.loc[1, "final_wmape"] == pytest.approx(fva["final_wmape"])


def test_the_13_week_supply_view_shows_on_the_supply_page_when_the_workbook_has_it(demo_book):
    # issue 21's Supply weeks sheet (tblSupplyItems): frames() reads the fixed tables only, so it is given here
    # (test_supply_e2e.py shows the demo's own view in its pack)
    inp = pack_input(demo_book)
    inp.tables["tblSupplyItems"] = pd.DataFrame(
        {
            "item": ["PMP-1002", "VLV-2004", "CTL-3001"],
            "stockout_week": [pd.NaT, pd.Timestamp("2026-12-07"), pd.NaT],
            "below_safety_week": [pd.Timestamp("2026-11-30"), pd.Timestamp("2026-11-23"), pd.NaT],
            "revenue_at_risk": [0.0, 12345.4, 0.0],
        }
    )
    pack = build_pack(inp)
    page = next(p for p in pack.pages if p.title == "Supply: inventory against safety stock")
    weeks = next(
        b for b in page.blocks if isinstance(b, Table) and b.title.startswith("Next 13 weeks")
    )
    assert weeks.rows == [
        ["VLV-2004", "2026-12-07", "2026-11-23", "12,345"],
        ["PMP-1002", "", "2026-11-30", "0"],
    ]
    assert weeks.marks == {(0, 1): "bad"}
    cover_text = " ".join(
        line for b in pack.pages[0].blocks if hasattr(b, "lines") for line in b.lines
    )
    assert "1 item out of stock within 13 weeks" in cover_text
    assert not any(
        isinstance(b, Table) and b.title.startswith("Next 13 weeks")
        for p in pack_of(demo_book).pages
        for b in p.blocks
    )  # a workbook without the view


def test_drivers_in_words():
    nat = pd.NaT
    d = pd.Series(
        {
            "kind": "volume",
            "family": "Pumps",
            "item": "",
            "resource": "",
            "value": 0.1,
            "from_month": pd.Timestamp("2027-01-01"),
            "to_month": nat,
            "price": None,
            "unit_cost": None,
            "comment": "Acme deal",
        }
    )
    assert driver_words(d) == "Volume +10% on the Pumps family from Jan 2027 (Acme deal)"
    launch = d.copy()
    for key, value in {
        "kind": "launch",
        "item": "PMP-2001",
        "value": 90.0,
        "price": 1150.0,
        "unit_cost": 640.0,
        "to_month": pd.Timestamp("2027-06-01"),
        "comment": "",
    }.items():
        launch[key] = value
    assert driver_words(launch, "EUR") == (
        "Launch of PMP-2001 (Pumps): 90 units a month Jan 2027 to Jun 2027, "
        "price 1,150.00 EUR, unit cost 640.00 EUR"
    )
    cap = d.copy()
    for key, value in {
        "kind": "capacity",
        "family": "",
        "resource": "BRN-VL1",
        "value": -0.125,
        "from_month": nat,
        "comment": "",
    }.items():
        cap[key] = value
    assert driver_words(cap) == "Capacity -12.5% on resource BRN-VL1"


def test_text_is_measured_as_matplotlib_draws_it_before_and_after_drawing():
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    from sop_excel.report import paged

    def exact(s, bold):
        prop = FontProperties(family="DejaVu Sans", size=9, weight="bold" if bold else "normal")
        return TextToPath().get_text_width_height_descent(s, prop, ismath=False)[0] / 72

    first, later = (
        ["WMAPE naive", "119,009"],
        ["Close the gap", "Überlauf ½ Ωß ©"],
    )  # later: new characters
    fig = Figure(figsize=paged.PAGE_SIZE, dpi=72)
    canvas = paged._Canvas(fig)
    measured = {(s, bold): canvas.width(s, 9, bold) for s in first for bold in (False, True)}
    fig.text(0.5, 0.5, "drawn at 23 pt: " + "".join(first + later), fontsize=23)
    fig.text(0.5, 0.3, "drawn at 23 pt: " + "".join(first + later), fontsize=23, fontweight="bold")
    fig.savefig(
        __import__("io").BytesIO(), format="pdf"
    )  # matplotlib sizes its shared font objects to draw
    measured.update({(s, bold): canvas.width(s, 9, bold) for s in later for bold in (False, True)})
    for (s, bold), width in measured.items():  # kerning only narrows text: never shorter than drawn
        assert exact(s, bold) - 1e-4 <= width <= exact(s, bold) * 1.03 + 1e-4, (s, bold)


def test_numbers_are_formatted_as_the_workbook_formats_them():
    assert [fmt(v, "money") for v in (2.5, -2.5, 1234567.49, -0.4, float("nan"))] == [
        "3",
        "-3",
        "1,234,567",
        "0",
        "",
    ]  # Excel rounds half away from zero; -0 shows as 0
    assert (
        fmt(0.12345, "pct") == "12.3%"
        and fmt(0.00049, "pct") == "0.0%"
        and fmt(19.5, "price") == "19.50"
    )
    assert fmt(pd.Timestamp("2026-11-01"), "month") == "Nov 2026"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (
            ["--scenario", "Nope"],
            1,
            "Scenario 'Nope' does not exist. Existing: Base, Upside, Downside, Close the gap.",
        ),
        (["--out", "plan.xlsx"], 1, "The pack file plan.xlsx does not end in .pdf, .html or .png"),
        (
            ["--out", "pack.pdf", "--format", "html"],
            1,
            "The pack file pack.pdf does not end in .html",
        ),
    ],
)
def test_problems_are_messages_and_the_workbook_is_untouched(
    bare, tmp_path, capsys, args, code, text
):
    before = bare.read_bytes()
    args = [a if not a.endswith((".xlsx", ".pdf")) else str(tmp_path / a) for a in args]
    assert main(["-q", "report", str(bare), *args]) == code
    assert text in capsys.readouterr().err
    assert bare.read_bytes() == before and not list(tmp_path.iterdir())


def test_a_pack_that_cannot_be_written_is_a_message(bare, tmp_path, capsys):
    taken = tmp_path / "pack.html"
    taken.mkdir()  # a folder where the file should go
    assert main(["-q", "report", str(bare), "--out", str(taken)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"Error: Cannot write the meeting pack to {taken}")
        and "Traceback" not in err
    )
    assert not [p for p in tmp_path.iterdir() if p.name != "pack.html"]  # no temporary file left


def test_formulas_without_values_are_refused(bare, tmp_path, capsys):
    path = tmp_path / "uncalculated.xlsx"
    shutil.copyfile(bare, path)
    book = open_workbook(path)
    compare = read_frame(book, "tblCompare")
    compare.loc[1, "revenue"] = float("nan")  # one cell without its value is enough
    write_frame(book, "tblCompare", compare.assign(margin=float("nan")))
    book.save()
    book.close()
    assert main(["-q", "report", str(path), "--format", "html"]) == 1
    assert (
        "the Compare sheet has formulas without saved values (column revenue, margin)"
        in capsys.readouterr().err
    )
    book = open_workbook(path)
    write_frame(book, "tblCompare", compare.iloc[0:0])
    book.save()
    book.close()
    assert main(["-q", "report", str(path), "--format", "html"]) == 1
    assert (
        "the Compare sheet has no scenarios, so the pack has no figures" in capsys.readouterr().err
    )


def test_the_command_line_starts_without_matplotlib():
    # (in Excel, xlwings itself imports matplotlib when it is installed, for its pictures)
    code = "import sys, sop_excel.cli, sop_excel.macros, sop_excel.report; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
