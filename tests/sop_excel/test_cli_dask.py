"""``sop-excel refresh-forecast --engine dask --scheduler ADDRESS`` on the demo workbook."""

from __future__ import annotations

import shutil
import socket

import pandas as pd
import pytest

from forecasting import distributed as dist
from sop_excel.cli import main

from .conftest import sheet

pytest.importorskip("distributed")  # the dask extra


def test_refresh_forecast_on_dask_equals_a_local_refresh(book_copy, tmp_path, cluster, capsys):
    local = tmp_path / "local.xlsx"
    shutil.copyfile(book_copy, local)
    assert main(["-q", "refresh-forecast", str(local)]) == 0
    assert (
        main(
            [
                "-q",
                "refresh-forecast",
                str(book_copy),
                "--engine",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
        == 0
    )
    assert "Workbook updated" in capsys.readouterr().out
    for name, table in (("Forecast", None), ("Models", "tblModels")):
        ours, theirs = sheet(book_copy, name, table), sheet(local, name, table)
        assert len(ours) > 0
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def test_dask_engine_without_scheduler_is_a_usage_error(book_copy, capsys):
    before = book_copy.read_bytes()
    assert main(["-q", "refresh-forecast", str(book_copy), "--engine", "dask"]) == 2
    assert "--engine dask needs --scheduler ADDRESS" in capsys.readouterr().err
    assert (
        main(
            [
                "-q",
                "refresh-forecast",
                str(book_copy),
                "--engine",
                "local",
                "--scheduler",
                "tcp://127.0.0.1:8786",
            ]
        )
        == 2
    )
    assert "--scheduler is only used with --engine dask" in capsys.readouterr().err
    assert book_copy.read_bytes() == before


def test_unreachable_scheduler_is_a_clear_error_and_leaves_the_workbook(
    book_copy, capsys, monkeypatch
):
    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    before = book_copy.read_bytes()
    # --scheduler alone implies --engine dask
    assert main(["-q", "refresh-forecast", str(book_copy), "--scheduler", address]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "Error: The Dask engine cannot run: cannot reach the Dask scheduler at "
        f"'{address}' within 1 s"
    )
    assert "The workbook was not changed." in err and "Traceback" not in err
    assert book_copy.read_bytes() == before
