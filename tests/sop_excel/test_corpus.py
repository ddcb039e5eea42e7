"""Every file in the bad-input corpus (tests/data/corpus): a clear message, no traceback, and the
user's workbook and input file byte-identical afterwards."""

from __future__ import annotations

import hashlib
import shutil
import time
import tomllib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.workbook.safe_save import BACKUP_DIR
from sop_excel.workbook.tables import read_frame
from sop_excel.workbook.zip_io import ZipIO
from tests.data.make_corpus import CORPUS, corpus_files, put_cell, type_formula

MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["case"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# cases whose limit depends on the demo's size (1,000 scenarios of its 1,152 item-months)
ON_THE_DEMO = {"scenarios/thousand_scenarios.toml"}


@pytest.fixture
def small_copy(request, small_book, demo_book, tmp_path):
    """Each bad input is refused by its cell whatever the workbook's size: the cases are applied
    to the small company's demo (a third of the demo: some cases load and save it by openpyxl),
    those of ``ON_THE_DEMO`` to the demo."""
    case = request.node.callspec.params["case"] if hasattr(request.node, "callspec") else {}
    src = demo_book if case.get("file") in ON_THE_DEMO else small_book
    dst = tmp_path / "plan.xlsx"
    shutil.copyfile(src, dst)
    for csv in src.parent.glob("*.csv"):
        shutil.copyfile(csv, tmp_path / csv.name)
    return dst


def test_corpus_is_complete_and_reproducible():
    on_disk = {
        p.relative_to(CORPUS).as_posix()
        for p in CORPUS.rglob("*")
        if p.is_file() and p.name != "manifest.toml"
    }
    listed = [c["file"] for c in MANIFEST]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert on_disk == set(listed), "manifest.toml and the corpus folder disagree"
    assert len(on_disk) >= 30
    for name, data in corpus_files().items():  # the committed bytes are what the script writes
        assert (CORPUS / name).read_bytes() == data, f"{name}: run python -m tests.data.make_corpus"


def _apply_edits(book: Path, recipe: dict) -> None:
    """Type the recipe's values into the workbook, as a planner would (text stays text)."""
    deletes = [e["delete_sheet"] for e in recipe["edit"] if "delete_sheet" in e]
    if deletes:  # openpyxl (slow) only when a sheet must go
        wb = openpyxl.load_workbook(book)
        for name in deletes:
            del wb[name]
        wb.save(book)
    raw = [
        e for e in recipe["edit"] if "formula" in e or "xml" in e
    ]  # cells as a program saved them
    for e in raw:
        if "formula" in e:
            type_formula(
                book,
                e["table"],
                e["column"],
                e["row"],
                e["formula"],
                e.get("cached"),
                e.get("type"),
            )
        else:
            put_cell(book, e["table"], e["column"], e["row"], e["xml"], e.get("type"))
    edits = [e for e in recipe["edit"] if "delete_sheet" not in e and e not in raw]
    if not edits:
        return
    io = ZipIO(book)
    for edit in edits:
        name = "tblSettings" if "setting" in edit else edit["table"]
        rows = io.read_table(name)
        header = [str(h) for h in rows[0]]
        if "setting" in edit:
            r = next(i for i, row in enumerate(rows) if edit["setting"] in row)
            c = header.index("Value")
        else:
            r, c = edit["row"], header.index(edit["column"])
        rows[r][c] = edit["value"]
        io.write_table(name, rows)
    io.save()
    shutil.rmtree(book.parent / BACKUP_DIR, ignore_errors=True)


@pytest.mark.parametrize("case", MANIFEST, ids=[c["file"] for c in MANIFEST])
def test_bad_input_gives_a_clear_message_and_changes_nothing(case, small_copy, tmp_path, capsys):
    """Refused with a clear message and nothing changed; or (``exit = 0``, a file sop-excel once
    misread) read right: the report says how (``stdout``) and the workbook holds ``value``."""
    src = CORPUS / case["file"]
    src_hash = sha(src)
    if case["file"].startswith("edits/"):
        recipe = tomllib.loads(src.read_text(encoding="utf-8"))
        _apply_edits(small_copy, recipe)
        args = [recipe["command"], str(small_copy)]
        file = src
    elif case["file"].startswith("workbooks/"):
        file = tmp_path / "user" / src.name  # the user's copy, checked byte for byte
        file.parent.mkdir()
        shutil.copyfile(src, file)
        args = [a.format(file=file, book=small_copy) for a in case["args"]]
    else:
        file = src
        args = [a.format(file=file, book=small_copy) for a in case["args"]]
    watched = [p for p in (small_copy, file) if p.exists()]
    before = {p: sha(p) for p in watched}
    capsys.readouterr()
    t = time.perf_counter()
    code = main(["-q", *args])
    elapsed = time.perf_counter() - t
    out, err = capsys.readouterr()
    checked = args[0] == "check" and not err  # check reports on stdout, one "Problem:" line each
    if checked and case["exit"] != 0:
        assert "Problem: " in out, out
        err = out
    assert code == case["exit"], err
    if case["exit"] == 0:
        assert case["stdout"] in out, f"{case['stdout']!r} not in:\n{out}"
        want = case["value"]
        frame = read_frame(ZipIO(small_copy), want["table"])
        row = frame[(frame["item"] == want["item"]) & (frame["date"] == pd.Timestamp(want["date"]))]
        assert row[want["field"]].tolist() == [want["equals"]], row
        assert sha(src) == src_hash
        return
    assert (err.startswith("Error: ") or checked) and "Traceback" not in err
    for phrase in [case["expect"], *case.get("also", [])]:
        assert phrase in err, f"{phrase!r} not in:\n{err}"
    assert {p: sha(p) for p in watched} == before, "a file changed"
    assert sha(src) == src_hash
    assert not any(p.name.endswith(".sop-lock") for p in small_copy.parent.iterdir())
    assert not (small_copy.parent / ".sop-excel-backups").exists()  # nothing was saved
    if case["file"].startswith("workbooks/"):
        assert elapsed < 20, f"took {elapsed:.1f} s"
