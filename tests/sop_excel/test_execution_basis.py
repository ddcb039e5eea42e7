"""The execution basis: kept on the hidden Basis sheet, used only while the S&OP sheets are as saved."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

from sop_excel import aside, macros, pipeline
from sop_excel import basis as cache
from sop_excel.cli import main
from sop_excel.workbook import tables
from sop_excel.workbook.openpyxl_io import OpenpyxlIO
from sop_excel.workbook.tables import read_frame, rows_for, write_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.sop_excel.conftest import cell

OUT = [
    "tblExecution",
    "tblExceptions",
    "tblSensing",
    "tblWeeks",
    "tblWeekly",
    "tblProduction",
    "tblSupplyWeeks",
    "tblSupplyItems",
]


def _refresh(path, csv, side="zip", monkeypatch=None):
    if side == "openpyxl":
        monkeypatch.setenv("SOP_EXCEL_IO", "openpyxl")
    else:
        monkeypatch.delenv("SOP_EXCEL_IO", raising=False)
    assert main(["-q", "refresh-actuals", str(path), "--source", str(csv)]) == 0


def _outputs(path):
    book = ZipIO(path)
    return {t: read_frame(book, t) for t in OUT}


def _same_outputs(a, b):
    fa, fb = _outputs(a), _outputs(b)
    for t in OUT:
        pd.testing.assert_frame_equal(fa[t], fb[t], obj=t)


def _pair(path):
    other = path.with_name("other.xlsx")
    shutil.copyfile(path, other)
    return path, other, next(path.parent.glob("*_actuals_*.csv"))


@pytest.fixture
def pair(small_copy):
    """Two copies of the small company's demo workbook (the basis is about behaviour, not the
    demo's size: a third of the demo's openpyxl load and save) and the next day's actuals."""
    return _pair(small_copy)


@pytest.fixture
def demo_pair(book_copy):
    """Two copies of the demo workbook and the next day's actuals."""
    return _pair(book_copy)


def _reads(monkeypatch):
    """The tables each later read_frame call reads."""
    seen: list[str] = []
    inner = tables.read_frame

    def spy(book, name, *a, **k):
        seen.append(name)
        return inner(book, name, *a, **k)

    for module in (macros, cache, aside):  # every module of the commands that reads a table
        monkeypatch.setattr(module, "read_frame", spy)
    return seen


def _empty_basis(path):
    book = ZipIO(path)
    for name in ("tblBasisKey", "tblBasisItems", "tblBasisMonths"):
        write_frame(book, name, read_frame(book, name).iloc[:0])
    book.save()


SOP_SHEETS = {"tblForecast", "tblSnapshots", "tblHistory", "tblLockedPlan"}


def test_the_demo_keeps_its_basis_and_the_first_refresh_reads_it(demo_pair, monkeypatch):
    ours, theirs, csv = demo_pair
    key = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert key["plan source"] == "v10 locked (Base)"
    assert "tblSnapshots=" in key["sheets"] and "tblForecast=" in key["sheets"]
    basis = read_frame(ZipIO(ours), "tblBasisItems")
    assert len(basis) == 64 and basis["sigma"].gt(0).all()
    # the openpyxl side cannot fingerprint the file: it always computes, and keeps no basis
    _refresh_reading_the_basis_only(ours, theirs, csv, monkeypatch)


def _refresh_reading_the_basis_only(ours, theirs, csv, monkeypatch):
    """refresh-actuals on ours reads the kept basis, not the S&OP sheets; the openpyxl side on
    theirs computes it from them: the same S&OE tables."""
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblBasisItems" in seen and not set(seen) & SOP_SHEETS
    _refresh(theirs, csv, "openpyxl", monkeypatch)
    _same_outputs(ours, theirs)


def test_without_a_basis_the_refresh_computes_it_and_keeps_it(pair, monkeypatch):
    ours, theirs, csv = pair
    _empty_basis(ours)
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert SOP_SHEETS <= set(seen)
    key = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert key["plan source"] == "v10 locked (Base)"
    _refresh(theirs, csv, "openpyxl", monkeypatch)
    _same_outputs(ours, theirs)
    _refresh_reading_the_basis_only(ours, theirs, csv, monkeypatch)


def test_refresh_forecast_keeps_the_new_basis_in_a_second_save_without_a_backup(pair, monkeypatch):
    ours, theirs, csv = pair
    from sop_excel.workbook.safe_save import backup_paths

    monkeypatch.delenv("SOP_EXCEL_IO", raising=False)
    assert main(["-q", "--backups", "2", "refresh-forecast", str(ours)]) == 0
    assert len(backup_paths(ours)) == 1  # the version from before the command, once
    shutil.copyfile(ours, theirs)
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblBasisItems" in seen and not set(seen) & SOP_SHEETS
    _empty_basis(theirs)  # computed from the sheets: the same as kept
    _refresh(theirs, csv, monkeypatch=monkeypatch)
    _same_outputs(ours, theirs)


def test_compare_scenarios_carries_the_basis_over(pair, monkeypatch):
    """Scenarios change nothing the daily refresh plans against; the S&OP sheets are written anew
    (new bytes), so the kept basis gets their new fingerprint."""
    ours, theirs, csv = pair
    before = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert main(["-q", "compare-scenarios", str(ours)]) == 0
    book = ZipIO(ours)
    key = cache.basis_key(book, macros.read_settings(book))
    assert key["sheets"] != before["sheets"] and cache.kept_basis(book, key) is not None
    shutil.copyfile(ours, theirs)
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert not set(seen) & SOP_SHEETS
    _empty_basis(theirs)
    _refresh(theirs, csv, monkeypatch=monkeypatch)
    _same_outputs(ours, theirs)


def test_an_override_typed_in_excel_is_seen_by_the_next_refresh(pair, monkeypatch):
    ours, theirs, csv = pair
    _refresh(ours, csv, monkeypatch=monkeypatch)
    # the planner unlocks nothing and types an override for the execution month on the Forecast
    # sheet: with no lock for the month the plan is the final forecast, so take the lock away
    settings = macros.read_settings(ZipIO(ours))
    month = pd.Timestamp(settings.as_of).replace(day=1)
    fc = read_frame(ZipIO(ours), "tblForecast")
    i = int(fc.index[(fc["item"] == "CTL-3001") & (fc["month"] == month)][0])
    for path in (ours, theirs):
        wb = openpyxl.load_workbook(path)
        wb["Forecast"][cell("tblForecast", "override", i)] = 12345
        wb.save(path)
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblForecast" in seen  # the fingerprint changed: computed again
    _refresh(theirs, csv, monkeypatch=monkeypatch)
    _same_outputs(ours, theirs)
    # and kept again, with the new fingerprint: the run after reads the basis only
    seen.clear()
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblForecast" not in seen and "tblBasisItems" in seen


def test_a_settings_change_the_basis_depends_on_computes_it_again(pair, monkeypatch):
    ours, _, csv = pair
    _refresh(ours, csv, monkeypatch=monkeypatch)
    wb = openpyxl.load_workbook(ours)
    ws = wb["Settings"]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "Bias window (months)")
    row[1].value = 3
    wb.save(ours)
    # Settings is not one of the S&OP sheets fingerprinted; the key names the setting itself
    book = ZipIO(ours)
    key = cache.basis_key(book, macros.read_settings(book))
    assert key is not None and key["bias window"] == "3"
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblSnapshots" in seen
    kept = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert kept["bias window"] == "3"


def test_a_new_lock_replaces_the_basis(pair, monkeypatch):
    ours, _, csv = pair
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert main(["-q", "lock-plan", str(ours), "--note", "re-agreed"]) == 0
    kept = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert kept["plan source"].startswith("v11 locked")  # kept by lock-plan itself
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert not set(seen) & SOP_SHEETS
    kept = read_frame(ZipIO(ours), "tblBasisKey").set_index("key")["value"]
    assert kept["plan source"].startswith("v11 locked")
    assert read_frame(ZipIO(ours), "tblExecution")["plan_source"].str.startswith("v11").all()


def test_a_workbook_without_the_basis_sheet_still_refreshes(pair, monkeypatch):
    ours, theirs, csv = pair
    wb = openpyxl.load_workbook(ours)
    del wb["Basis"]
    wb.save(ours)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblBasisKey" not in ZipIO(ours).table_names()
    _refresh(theirs, csv, monkeypatch=monkeypatch)
    _same_outputs(ours, theirs)


def test_the_basis_sheet_is_hidden(demo_openpyxl):
    wb = demo_openpyxl  # loaded with read_only=False, as Excel shows it
    assert wb["Basis"].sheet_state == "hidden"
    assert wb["Actuals"].sheet_state == "visible"


def test_content_stamp_follows_the_saved_file(small_copy):
    book_copy = small_copy
    book = ZipIO(book_copy)
    a = book.content_stamp(["tblForecast", "tblHistory"])
    assert a is not None and a == ZipIO(book_copy).content_stamp(["tblForecast", "tblHistory"])
    assert book.content_stamp(["tblNoSuchTable"]) is None
    book.write_table("tblHistory", book.read_table("tblHistory"))
    assert book.content_stamp(["tblForecast", "tblHistory"]) is None  # unsaved writes: cannot vouch
    assert book.content_stamp(["tblForecast"]) is not None
    side = OpenpyxlIO(book_copy)  # one full openpyxl load (seconds), not two
    assert side is not None and not hasattr(side, "content_stamp")


@pytest.mark.parametrize("day", [1, 2, 16, 28, 30])
def test_the_basis_window_gives_the_views_of_the_whole_plan(book_copy, day):
    """The Basis keeps the months around the execution month only; every view is the same as
    from the whole plan, whatever the day (the first week may start in the month before)."""
    book = ZipIO(book_copy)
    settings = macros.read_settings(book)
    month = pd.Timestamp(settings.as_of).replace(day=1)
    settings = settings.model_copy(update={"as_of": dt.date(month.year, month.month, day)})
    items = read_frame(book, "tblItems")
    final = cache.read_final(book, items)
    locked, label, _ = cache.latest_lock(book)
    actuals = read_frame(book, "tblActuals")
    actuals = actuals[actuals["date"] <= pd.Timestamp(settings.as_of)]
    basis = pipeline.execution_basis(
        settings,
        final,
        locked,
        label,
        read_frame(book, "tblSnapshots"),
        read_frame(book, "tblHistory"),
    )
    assert basis.monthly["month"].nunique() < final["month"].nunique()
    whole = pipeline.ExecutionBasis(
        basis.items,
        pd.concat(
            [
                final[["item", "month", "final"]]
                .rename(columns={"final": "volume"})
                .pipe(lambda m: m[~m["month"].isin(set(locked["month"]))]),
                locked[["item", "month", "volume"]],
            ],
            ignore_index=True,
        ),
        basis.source,
    )
    got = pipeline.execution_from_basis(settings, items, basis, actuals)
    want = pipeline.execution_from_basis(settings, items, whole, actuals)
    pd.testing.assert_frame_equal(got[0], want[0])
    for name in ("tblSensing", "tblWeeks", "tblWeekly"):
        pd.testing.assert_frame_equal(got[3][name], want[3][name], obj=name)


def _rezip(path, edit_part):
    """Rewrite one zip member (name -> new bytes) and leave every other as it is."""
    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info, edit_part(info.filename, data))
    tmp.replace(path)


def test_a_table_resized_without_its_sheet_changing_is_seen(pair, monkeypatch):
    """Excel's Resize Table changes the table part only; the fingerprint covers it."""
    ours, _, csv = pair
    book = ZipIO(ours)
    part = book._find("tblLockedPlan").part
    key = cache.basis_key(book, macros.read_settings(book))
    ref = book._find("tblLockedPlan").ref
    c1, r1, c2, r2 = range_boundaries(ref)
    smaller = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2 - 40}"
    _rezip(
        ours,
        lambda name, data: (
            data.replace(f'ref="{ref}"'.encode(), f'ref="{smaller}"'.encode())
            if name == part
            else data
        ),
    )
    book = ZipIO(ours)
    assert book._find("tblLockedPlan").ref == smaller
    assert cache.basis_key(book, macros.read_settings(book))["sheets"] != key["sheets"]
    seen = _reads(monkeypatch)
    _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "tblLockedPlan" in seen  # computed again from the sheets


def test_refresh_forecast_succeeds_when_the_basis_cannot_be_computed(pair, monkeypatch, caplog):
    """The basis is a cache: a bad Snapshots cell fails the next refresh-actuals (which names the
    cell), not the forecast already saved."""
    ours, _, _ = pair
    wb = openpyxl.load_workbook(ours)
    wb["Snapshots"]["A9"] = "n/a"
    wb.save(ours)
    monkeypatch.delenv("SOP_EXCEL_IO", raising=False)
    with caplog.at_level("WARNING"):
        assert main(["-q", "refresh-forecast", str(ours)]) == 0
    assert "the execution basis was not kept" in caplog.text and "cell A9" in caplog.text


def test_a_basis_sheet_that_cannot_be_read_is_computed_again(pair, monkeypatch, caplog):
    """The Basis sheet is sop-excel's, not the planner's: a bad value there (some tool wrote it,
    keeping the fingerprint) is no reason to refuse the refresh."""
    ours, theirs, csv = pair
    book = ZipIO(ours)
    items = read_frame(book, "tblBasisItems")
    rows = rows_for("tblBasisItems", items)
    rows[1][2] = "lots"  # Month plan: text in a number cell
    book.write_table("tblBasisItems", rows)
    book.save()
    book = ZipIO(ours)
    key = cache.basis_key(book, macros.read_settings(book))
    book.write_table(
        "tblBasisKey",
        rows_for(
            "tblBasisKey",
            pd.DataFrame(  # a key that holds for the file
                {"key": [*key, "plan source"], "value": [*key.values(), "v10 locked (Base)"]}
            ),
        ),
    )
    book.save()
    seen = _reads(monkeypatch)
    with caplog.at_level("WARNING"):
        _refresh(ours, csv, monkeypatch=monkeypatch)
    assert "the Basis sheet cannot be read" in caplog.text
    assert SOP_SHEETS <= set(seen)  # computed from the sheets
    assert read_frame(ZipIO(ours), "tblBasisItems")["month_plan"].notna().all()  # and written over
    _refresh(theirs, csv, "openpyxl", monkeypatch)
    _same_outputs(ours, theirs)


def test_a_kept_basis_reads_back_with_its_scenario_and_can_be_kept_again(small_copy):
    """The basis read from the Basis sheet is the one written: its locked scenario (which plans
    supply) and no following month; keeping it again (compare-scenarios, close-month) works."""
    book = ZipIO(small_copy)
    settings = macros.read_settings(book)
    said = read_frame(book, "tblBasisKey").set_index("key")["value"]
    kept = cache.kept_basis(book, cache.basis_key(book, settings))
    assert kept is not None and kept.following is None
    assert kept.scenario == said["plan scenario"] != ""
    assert cache.keep_basis(book, settings, kept)
    book = ZipIO(small_copy)
    again = cache.kept_basis(book, cache.basis_key(book, settings))
    assert again is not None and again.scenario == kept.scenario
