"""The worksheet functions, called as Python: right values, short messages, cache, xlwings shape."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import math
import typing

import numpy as np
import pandas as pd
import pytest

import forecasting
import udfs
from udfs import _common
from udfs._common import REGISTRY, cache_clear, cache_info

NAMES = {
    "SOP_FORECAST",
    "SOP_BACKTEST",
    "SOP_ACCURACY",
    "SOP_DRIFT",
    "SOP_TRACKING_SIGNAL",
    "SOP_SAFETY_STOCK",
    "SOP_SCENARIO",
}
Y = [10.0, 12, 11, 13, 12, 14, 13, 15, 14, 16, 15, 17, 16, 18, 17, 19]
MONTHS = [dt.datetime(2025, 1, 1) + pd.DateOffset(months=i) for i in range(len(Y))]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache_clear()
    yield
    cache_clear()


def is_message(result) -> bool:
    return (
        isinstance(result, list)
        and len(result) == 1
        and len(result[0]) == 1
        and isinstance(result[0][0], str)
        and result[0][0].startswith("Error: ")
    )


def test_every_udf_is_registered_and_shaped_for_xlwings():
    assert NAMES <= set(REGISTRY)
    assert set(udfs.__all__) == NAMES
    for name, f in REGISTRY.items():
        assert getattr(udfs, name) is f
        sig = inspect.signature(f)  # what xlwings reads (follows __wrapped__)
        assert all(
            p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in sig.parameters.values()
        ), name
        assert sig.return_annotation is inspect.Signature.empty, name
        hints = typing.get_type_hints(
            f, include_extras=True
        )  # must resolve, as xlwings does on Windows
        assert set(hints) == set(sig.parameters), name
        # the Function Wizard text: the first docstring line, one line, short
        assert f.__doc__ == inspect.getdoc(f.__wrapped__).splitlines()[0]
        assert "\n" not in f.__doc__ and len(f.__doc__) <= 255


def test_udf_decorator_registers_with_the_sop_excel_category(monkeypatch):
    seen = {}

    def fake_func(**kwargs):
        def inner(f):
            seen.update(kwargs, doc=f.__doc__)
            return f

        return inner

    monkeypatch.setattr(_common.xw, "func", fake_func)

    def SOP_TEST(x):  # noqa: N802
        """Line for the wizard.

        More for developers.
        """
        return x

    try:
        wrapped = _common.udf(SOP_TEST)
        assert seen == {"category": "sop-excel", "doc": "Line for the wizard."}
        assert wrapped(3) == 3
    finally:
        REGISTRY.pop("SOP_TEST", None)


def test_udf_modules_import_on_linux():
    mod = importlib.import_module("udfs")
    assert {n for n in dir(mod) if n.startswith("SOP_")} == NAMES


# --- SOP_FORECAST -----------------------------------------------------------------------------


def test_forecast_from_a_column_matches_the_engine():
    got = udfs.SOP_FORECAST([[v] for v in Y], 4, "naive")
    assert got == [[19.0]] * 4
    frame = pd.DataFrame(
        {
            "unique_id": "series",
            "ds": pd.date_range("2000-01-01", periods=len(Y), freq="MS"),
            "y": Y,
        }
    )
    want = forecasting.forecast(frame, h=4, method="auto")["forecast"].tolist()
    assert np.allclose([r[0] for r in udfs.SOP_FORECAST([[v] for v in Y], 4)], want)


def test_forecast_row_of_quantities_and_naive_value():
    assert udfs.SOP_FORECAST([Y], 2, "naive") == [[19.0], [19.0]]


def test_forecast_with_months_header_and_intervals():
    hist = [["Month", "Qty"]] + [
        [m.to_pydatetime() if hasattr(m, "to_pydatetime") else m, y]
        for m, y in zip(MONTHS, Y, strict=True)
    ]
    got = udfs.SOP_FORECAST(hist, 3, "naive", True)
    assert got[0] == ["Month", "Forecast", "Lo 80", "Hi 80", "Lo 95", "Hi 95"]
    assert [r[0] for r in got[1:]] == [
        dt.datetime(2026, 5, 1),
        dt.datetime(2026, 6, 1),
        dt.datetime(2026, 7, 1),
    ]
    for r in got[1:]:
        assert r[1] == 19.0 and r[4] <= r[2] <= r[1] <= r[3] <= r[5]


def test_forecast_several_items_and_blank_trailing_rows():
    hist = (
        [["Item", "Month", "Qty"]]
        + [[i, m, y * (2 if i == "B" else 1)] for i in "AB" for m, y in zip(MONTHS, Y, strict=True)]
        + [[None, None, None]] * 3
    )
    got = udfs.SOP_FORECAST(hist, 2, "naive")
    assert got[0] == ["Item", "Month", "Forecast"]
    assert [(r[0], r[2]) for r in got[1:]] == [("A", 19.0), ("A", 19.0), ("B", 38.0), ("B", 38.0)]


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (([[1.0], [2.0]], 0), "horizon must be a whole number from 1 to 36"),
        (([[1.0], [2.0]], 2.5), "horizon"),
        (([[1.0], [2.0]], 12, "prophet"), "unknown method 'prophet'"),
        (([["a"], ["b"]],), "history must be a number, not 'b'"),
        (([["Qty"]],), "history has no rows"),
        (([[1.0, "x"]],), "must be a number"),
        (([[1, 2, 3, 4]] * 2 + [[1, 2, 3, "x"]],), "history must be 1 column"),
        ((None,), "history is empty"),
        (([[1.0], [2.0]], 12, "auto", "maybe"), "intervals must be TRUE or FALSE"),
        (([["Month", "Qty"], ["not a date", 3.0]],), "history month must be a date"),
    ],
)
def test_forecast_bad_arguments_give_a_short_message(args, text):
    got = udfs.SOP_FORECAST(*args)
    assert is_message(got), got
    assert text in got[0][0] and len(got[0][0]) <= 120 and "Traceback" not in got[0][0]


def test_an_unexpected_error_is_a_message_too(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("statsmodels exploded\nwith a long story")

    monkeypatch.setattr(forecasting, "forecast", boom)
    got = udfs.SOP_FORECAST([[1.0], [2.0]], 3)
    assert got == [["Error: RuntimeError: statsmodels exploded"]]


# --- cache ----------------------------------------------------------------------------------


def test_repeated_calls_on_unchanged_input_come_from_the_cache(monkeypatch):
    calls = []
    real = forecasting.forecast

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(forecasting, "forecast", counting)
    hist = [[v] for v in Y] + [[float("nan")]]
    first = udfs.SOP_FORECAST(hist, 3, "naive")
    again = udfs.SOP_FORECAST([list(r) for r in hist], 3.0, "naive")  # equal input, new objects
    assert again == first and len(calls) == 1 and cache_info()["hits"] == 1
    udfs.SOP_FORECAST(hist, 4, "naive")
    hist[0][0] = 11.0
    udfs.SOP_FORECAST(hist, 3, "naive")
    assert len(calls) == 3


def test_cache_is_bounded():
    for i in range(_common.CACHE_SIZE + 10):
        udfs.SOP_TRACKING_SIGNAL([[1.0, 2.0]], [[1.0, float(i)]])
    assert cache_info()["size"] == _common.CACHE_SIZE


# --- SOP_BACKTEST / SOP_ACCURACY / SOP_TRACKING_SIGNAL ----------------------------------------


def test_backtest_reports_the_engines_backtest_columns():
    got = udfs.SOP_BACKTEST([[v] for v in Y], "naive", 3)
    frame = pd.DataFrame(
        {
            "unique_id": "series",
            "ds": pd.date_range("2000-01-01", periods=len(Y), freq="MS"),
            "y": Y,
        }
    )
    want = forecasting.forecast(frame, h=3, method="naive").iloc[0]
    assert got == [
        ["Method", "Backtest MASE", "Backtest bias"],
        ["naive", pytest.approx(want["backtest_mase"]), pytest.approx(want["backtest_bias"])],
    ]


def test_accuracy_metrics():
    y, f = [[10.0], [10.0], [None]], [[11.0], [9.0], [50.0]]  # the blank month is left out
    assert udfs.SOP_ACCURACY(y, f) == pytest.approx(0.1)
    assert udfs.SOP_ACCURACY(y, f, "smape") == pytest.approx(forecasting.smape([10, 10], [11, 9]))
    assert (
        udfs.SOP_ACCURACY([[3.0, 5.0]], [[4.0, 4.0]], "bias", [[1.0], [2.0], [4.0], [7.0]]) == 0.0
    )
    assert udfs.SOP_ACCURACY(
        [[3.0, 5.0]], [[4.0, 6.0]], "mase", [[1.0], [2.0], [4.0], [7.0]]
    ) == pytest.approx(forecasting.mase([3, 5], [4, 6], [1, 2, 4, 7]))
    assert is_message(udfs.SOP_ACCURACY(y, f, "mase"))
    assert "unknown metric" in udfs.SOP_ACCURACY(y, f, "r2")[0][0]
    assert "differ in size" in udfs.SOP_ACCURACY([[1.0]], [[1.0], [2.0]])[0][0]


def test_accuracy_without_a_figure_is_a_message_not_a_blank_cell():
    """All-zero actuals have no WMAPE (it divides by them) and a flat history no naive error to
    scale by: a short message in the cell, not an empty one that reads as "no error"."""
    zeros, f = [[0.0], [0.0], [0.0]], [[1.0], [2.0], [0.0]]
    got = udfs.SOP_ACCURACY(zeros, f)
    assert is_message(got) and "not all 0" in got[0][0]
    assert udfs.SOP_ACCURACY(zeros, f, "smape") == pytest.approx(
        forecasting.smape([0, 0, 0], [1, 2, 0])
    )
    flat = udfs.SOP_ACCURACY([[3.0]], [[4.0]], "mase", [[5.0], [5.0], [5.0]])
    assert is_message(flat) and "history that varies" in flat[0][0]


def test_tracking_signal():
    assert udfs.SOP_TRACKING_SIGNAL([[10.0, 10.0, 10.0]], [[12.0, 11.0, 13.0]]) == 3.0
    assert udfs.SOP_TRACKING_SIGNAL([[10.0], [10.0]], [[9.0], [8.0]]) == -2.0
    assert is_message(udfs.SOP_TRACKING_SIGNAL([[None]], [[1.0]]))


# --- SOP_DRIFT ------------------------------------------------------------------------------


def test_drift_against_working_days_share():
    # November 2026 has 21 working days; 13 have passed on Wednesday the 18th.
    through = dt.datetime(2026, 11, 18)
    got = udfs.SOP_DRIFT([[100.0], [50.0], [0.0]], [[60.0], [10.0], [5.0]], through, "all")
    share = 13 / 21
    assert got[0] == [
        pytest.approx((60 - 100 * share) / (100 * share)),
        pytest.approx(60 / share),
        "On track",
    ]
    assert got[1][2] == "Act" and got[1][0] == pytest.approx((10 - 50 * share) / (50 * share))
    assert got[2] == [None, pytest.approx(5 / share), "Act"]  # orders with no plan
    assert udfs.SOP_DRIFT([[100.0]], [[60.0]], 46344.0, "status") == [
        ["On track"]
    ]  # Excel serial date
    # 21% over plan to date: within the noise of a 20%-error forecast, beyond that of a 2% one
    assert udfs.SOP_DRIFT([[1000.0]], [[750.0]], "2026-11-18", "status", 0.1, 0.5) == [["On track"]]
    assert udfs.SOP_DRIFT([[1000.0]], [[750.0]], "2026-11-18", "status", 0.1, 0.5, 20.0) == [
        ["Watch"]
    ]
    assert udfs.SOP_DRIFT([[1000.0]], [[750.0]], "2026-11-18", "status", 0.1, 0.5, [[20.0]]) == [
        ["Watch"]
    ]
    assert (
        "forecast_error"
        in udfs.SOP_DRIFT(
            [[1.0], [2.0]], [[1.0], [2.0]], "2026-11-18", "status", 0.1, 0.5, [[1.0], [2.0], [3.0]]
        )[0][0]
    )


def test_drift_bad_arguments():
    assert (
        "differ in size" in udfs.SOP_DRIFT([[1.0]], [[1.0], [2.0]], dt.datetime(2026, 11, 18))[0][0]
    )
    assert "must be a date" in udfs.SOP_DRIFT([[1.0]], [[1.0]], "soon")[0][0]
    assert (
        "show must be"
        in udfs.SOP_DRIFT([[1.0]], [[1.0]], dt.datetime(2026, 11, 18), "everything")[0][0]
    )
    assert "blank cells" in udfs.SOP_DRIFT([[None]], [[1.0]], dt.datetime(2026, 11, 18))[0][0]


# --- SOP_SAFETY_STOCK -------------------------------------------------------------------------


def test_safety_stock_matches_the_core_formula():
    month_days = 365.25 / 12
    got = udfs.SOP_SAFETY_STOCK([[10.0], [20.0], [None]], [[month_days]], 0.95)
    assert got[0][0] == pytest.approx(1.6448536 * 10, rel=1e-6)
    assert got[1][0] == pytest.approx(1.6448536 * 20, rel=1e-6)
    assert got[2] == [None]
    four_months = udfs.SOP_SAFETY_STOCK([[10.0]], [[4 * month_days]], "95%")
    assert four_months == [[pytest.approx(1.6448536 * 10 * 2, rel=1e-6)]]
    assert udfs.SOP_SAFETY_STOCK([[10.0]], [[month_days]], 95) == got[:1]
    assert "service level" in udfs.SOP_SAFETY_STOCK([[10.0]], [[10.0]], 0.3)[0][0]
    assert "same shape" in udfs.SOP_SAFETY_STOCK([[1.0, 2.0]], [[1.0, 2.0, 3.0]])[0][0]
    assert "negative" in udfs.SOP_SAFETY_STOCK([[-1.0]], [[1.0]])[0][0]


# --- SOP_SCENARIO -----------------------------------------------------------------------------


def test_scenario_applies_a_driver_like_the_scenarios_sheet():
    months = [[dt.datetime(2027, 1, 1), dt.datetime(2027, 2, 1), dt.datetime(2027, 3, 1)]]
    vols = [[100.0, 100.0, 100.0], [10.0, None, 30.0]]
    got = udfs.SOP_SCENARIO(vols, "volume", 0.1, months, dt.datetime(2027, 2, 1))
    assert np.allclose(
        [got[0][0], got[0][1], got[0][2], got[1][0], got[1][2]], [100, 110, 110, 10, 33]
    )
    assert got[1][1] is None
    assert np.allclose(udfs.SOP_SCENARIO([[50.0], [20.0]], "price", "-10%"), [[45.0], [18.0]])
    assert np.allclose(udfs.SOP_SCENARIO([[8.0]], "unit_cost", 0.25), [[10.0]])


def test_scenario_bad_arguments():
    assert "driver must be" in udfs.SOP_SCENARIO([[1.0]], "launch", 0.1)[0][0]
    assert "above -100%" in udfs.SOP_SCENARIO([[1.0]], "volume", -1)[0][0]
    assert (
        "give months"
        in udfs.SOP_SCENARIO([[1.0]], "volume", 0.1, None, dt.datetime(2027, 1, 1))[0][0]
    )
    assert (
        "months must be a row"
        in udfs.SOP_SCENARIO(
            [[1.0, 2.0]],
            "volume",
            0.1,
            [[dt.datetime(2027, 1, 1)], [dt.datetime(2027, 2, 1)], [dt.datetime(2027, 3, 1)]],
        )[0][0]
    )
    months = [[dt.datetime(2027, 1, 1), dt.datetime(2027, 2, 1)]]
    backwards = udfs.SOP_SCENARIO(
        [[1.0, 2.0]], "volume", 0.1, months, dt.datetime(2027, 3, 1), dt.datetime(2027, 1, 1)
    )
    assert is_message(backwards) and "from_month is after to_month" in backwards[0][0]


def test_no_nan_reaches_a_cell():
    got = udfs.SOP_SAFETY_STOCK([[None, 1.0]], [[1.0, None]])
    assert got == [[None, None]]
    assert not any(isinstance(v, float) and math.isnan(v) for r in got for v in r)
