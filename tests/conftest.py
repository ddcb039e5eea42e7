"""Test-wide settings: a pinned environment, and LibreOffice required on CI."""

from __future__ import annotations

import os

import numpy as np
import pytest

from sop_excel.workbook.libreoffice import find_soffice


@pytest.fixture(autouse=True)
def _pinned_env(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    np.random.seed(12345)


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (minutes each: kill points, ...)",
    )


# The modules that take longest, longest first. pytest-xdist (``--dist loadscope
# --no-loadscope-reorder`` in pyproject.toml) hands each worker whole modules in collection
# order, so these start first and the run does not end on one long module while the other
# worker idles; the rest follow in their usual order.
LONGEST_FIRST = (
    "tests/sop_excel/test_monthly_cycle.py",
    "tests/sop_excel/test_demo_e2e.py",
    "tests/sop_excel/test_execution_basis.py",
    "tests/sop_excel/workbook/test_zip_io.py",
    "tests/sop_excel/test_close_month.py",
    "tests/sop_excel/test_excel_fidelity.py",
    "tests/sop_excel/test_refresh_keeps_unchanged_rows.py",
    "tests/sop_excel/test_new.py",
    "tests/sop_excel/test_round_trip.py",
    "tests/sop_excel/test_planner_formulas.py",
    "tests/sop_excel/test_report.py",
    "tests/sop_excel/workbook/test_commands_contract.py",
    "tests/sop_excel/workbook/test_contract.py",
    "tests/sop_excel/test_supply_e2e.py",
    "tests/sop_excel/workbook/test_zip_io_write_fast.py",
    "tests/sop_excel/test_corpus.py",
    "tests/sop_excel/test_sop_cycle.py",
    "tests/sop_excel/test_update_items.py",
    "tests/sop_excel/test_xlsm.py",
)


def pytest_collection_modifyitems(config, items):
    """Run the longest modules first (a stable sort: each module's tests keep their order);
    skip slow tests unless --run-slow (or SOP_EXCEL_SLOW=1); skip LibreOffice tests where
    soffice is absent, except on CI, where that is a failure."""
    rank = {module: k for k, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
    if not (config.getoption("--run-slow") or os.environ.get("SOP_EXCEL_SLOW")):
        slow = pytest.mark.skip(reason="slow: run with --run-slow (or SOP_EXCEL_SLOW=1)")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(slow)
    if find_soffice() is not None:
        return
    if os.environ.get("CI") and any("libreoffice" in item.keywords for item in items):
        raise pytest.UsageError(
            "CI=true but LibreOffice (soffice) is not installed: "
            ".ci/run must install libreoffice-calc-nogui"
        )
    skip = pytest.mark.skip(reason="LibreOffice (soffice) is not installed")
    for item in items:
        if "libreoffice" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed LocalCluster: two worker processes, one thread each, per module."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c
