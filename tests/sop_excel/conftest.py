"""Shared fixtures: the demo workbook, built once by the CLI, and helpers to read it."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from sop_excel.cli import main
from sop_excel.workbook.layout import cell_address, load_layout, parse_cell

LAYOUT = load_layout()


def cell(table: str, field: str, i: int) -> str:
    """Address of data row i (0-based) of a table's column, from the layout."""
    t = LAYOUT.table(table)
    r0, c0 = parse_cell(t.anchor)
    return cell_address(r0 + 1 + i, c0 + t.fields.index(field))


def type_into_forecast(wb, i: int, **values: object) -> tuple[object, object]:
    """Type ``field=value`` into data row i of the Forecast (an openpyxl workbook, as a planner
    would in Excel); that row's (item, month)."""
    ws = wb["Forecast"]
    for field, value in values.items():
        ws[cell("tblForecast", field, i)] = value
    return ws[cell("tblForecast", "item", i)].value, ws[cell("tblForecast", "month", i)].value


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (fcntl: Linux and macOS) for the duration of the block;
    without fcntl (Windows) no lock, and each pytest-xdist worker builds its own."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_build(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder made once per test run by ``build(folder)`` and shared by the pytest-xdist
    workers: the first worker to ask builds it under a file lock in the run's temporary folder
    (the workers' common parent), the others wait and take it. Tests must not change what is in
    it (copy first). Without xdist, or without fcntl, each process builds its own."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") is None or os.name == "nt":
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = base.parent  # pytest-N/, shared by popen-gw0, popen-gw1, ... of this run only
    folder = root / f"shared-{name}"
    with _locked(root / f"shared-{name}.lock"):
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory):
    """Built once per test run by the CLI (one build shared by the xdist workers); tests copy
    it before changing it."""

    def build(folder: Path) -> None:
        assert main(["-q", "demo", "--out", str(folder / "plan.xlsx")]) == 0

    return shared_build(tmp_path_factory, "demo", build) / "plan.xlsx"


@pytest.fixture(scope="session")
def small_book(tmp_path_factory):
    """The demo built for the small company (``tests.sop_excel.monthly_cycle.small_demo``: 4
    items a family, the demo's named items among them, the demo's 9 past cycles so its locks are
    v1-v10 as in the demo; a third of the demo's size), once per test run, shared by the xdist workers, for tests about behaviour and not about the demo's
    size or content; tests copy it (``small_copy``) before changing it."""
    from tests.sop_excel.monthly_cycle import small_demo

    def build(folder: Path) -> None:
        small_demo(folder / "plan.xlsx", past_cycles=9)

    return shared_build(tmp_path_factory, "small-demo", build) / "plan.xlsx"


def copy_book(book: Path, folder: Path) -> Path:
    """``book`` and the sample files beside it (its day's actuals) copied into ``folder``."""
    dst = folder / "plan.xlsx"
    shutil.copyfile(book, dst)
    for csv in book.parent.glob("*.csv"):
        shutil.copyfile(csv, folder / csv.name)
    return dst


@pytest.fixture
def small_copy(small_book, tmp_path):
    """A copy of ``small_book`` (and its sample actuals file) to change."""
    return copy_book(small_book, tmp_path)


@pytest.fixture(scope="session")
def demo_openpyxl(demo_book):
    """The demo workbook loaded once per worker by openpyxl (a full load takes seconds), for
    tests that only look at it (formats, validation, sheet states); tests must not change it."""
    import openpyxl

    return openpyxl.load_workbook(demo_book)


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory):
    """The tiny workbook made macro-enabled by ``sop-excel template``, built once per session;
    tests copy it (or load it) before changing anything."""
    from sop_excel.template import build_template
    from tests.sop_excel.tiny import build_tiny

    folder = tmp_path_factory.mktemp("tiny-template")
    build_tiny(folder / "tiny.xlsx")
    return build_template(folder / "tiny.xlsm", source=folder / "tiny.xlsx")


@pytest.fixture
def book_copy(demo_book, tmp_path):
    """A copy of the demo (and its sample actuals file) to change."""
    return copy_book(demo_book, tmp_path)


def sheet(path, name, table=None):
    t = LAYOUT.table(table) if table else next(t for t in LAYOUT.tables if t.sheet == name)
    r0, c0 = parse_cell(t.anchor)
    cols = range(c0 - 1, c0 - 1 + len(t.columns)) if not t.dynamic_columns else None
    frame = pd.read_excel(path, sheet_name=t.sheet, header=r0 - 1, engine="calamine", usecols=cols)
    if not t.dynamic_columns:  # pandas de-duplicates names across the whole header row ("Month.1")
        frame.columns = t.headers
    return frame.dropna(how="all")
