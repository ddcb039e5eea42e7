"""forecast(): the frame contract the workbook relies on, rules of auto, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting
from forecasting import OUTPUT_COLUMNS, forecast


@pytest.fixture(scope="module")
def out(history: pd.DataFrame) -> pd.DataFrame:
    return forecast(history, h=18)


def test_columns_rows_and_order(out: pd.DataFrame, history: pd.DataFrame) -> None:
    assert tuple(out.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    assert len(out) == 18 * history["unique_id"].nunique()
    assert out.equals(out.sort_values(["unique_id", "ds"]).reset_index(drop=True))


def test_common_forecast_months_after_latest_month(out: pd.DataFrame) -> None:
    expected = pd.date_range("2026-11-01", periods=18, freq="MS")
    for _, g in out.groupby("unique_id"):
        assert list(g["ds"]) == list(expected)


def test_values_finite_non_negative_and_nested(out: pd.DataFrame) -> None:
    v = out[["lo_95", "lo_80", "forecast", "hi_80", "hi_95"]].to_numpy(float)
    assert np.isfinite(v).all() and (v >= 0).all()
    assert (np.diff(v, axis=1) >= -1e-9).all()


def test_methods_reasons_and_backtest(out: pd.DataFrame) -> None:
    first = out.drop_duplicates("unique_id").set_index("unique_id")
    for m in first["method"]:
        assert all(part in forecasting.METHODS for part in m.split("+"))
    assert (first["reason"].str.len() > 10).all()
    assert first.loc["IT00", "method"] == "moving_average"
    assert "new item: 8 months" in first.loc["IT00", "reason"]
    assert first.loc["IT01", "method"] == "zero"
    assert first.loc["IT01", "reason"].startswith("dead: no demand in the last 8 months")
    assert first.loc["IT05", "method"] in ("tsb", "croston_sba")
    assert first.loc["IT05", "reason"].startswith("intermittent")
    assert "outlier month corrected" in first.loc["IT02", "reason"]
    assert "2 months without data filled" in first.loc["IT03", "reason"]
    assert np.isfinite(first.loc["IT04", "backtest_mase"])
    assert np.isnan(first.loc["IT00", "backtest_mase"])


def test_seasonal_item_forecast_keeps_its_season(out: pd.DataFrame) -> None:
    f = out[out["unique_id"] == "IT07"]["forecast"].to_numpy()
    assert f.max() - f.min() > 30  # amplitude 30 sine, peak to trough 60


def test_discontinued_item_still_forecast_over_common_months(history: pd.DataFrame) -> None:
    short = history[~((history["unique_id"] == "IT04") & (history["ds"] >= "2026-01-01"))]
    res = forecast(short, h=6, method="naive")
    g = res[res["unique_id"] == "IT04"]
    assert list(g["ds"]) == list(pd.date_range("2026-11-01", periods=6, freq="MS"))


def test_unknown_method_names_the_choices(history: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="auto, naive"):
        forecast(history, method="prophet")
    with pytest.raises(ValueError, match="unknown forecasting method 'arima'"):
        forecast(history, methods={"IT04": "arima"})


def test_per_item_methods_and_empty_override(history: pd.DataFrame) -> None:
    res = forecast(history, h=3, method="naive", methods={"IT04": "ses", "IT06": "", "IT08": None})
    first = res.drop_duplicates("unique_id").set_index("unique_id")["method"]
    assert first["IT04"] == "ses" and first["IT06"] == "naive" and first["IT08"] == "naive"


def test_all_nan_and_empty_items_forecast_zero() -> None:
    ds = pd.date_range("2025-01-01", periods=12, freq="MS")
    frame = pd.concat(
        [
            pd.DataFrame({"unique_id": "A", "ds": ds, "y": np.nan}),
            pd.DataFrame({"unique_id": "B", "ds": ds, "y": 5.0}),
        ]
    )
    res = forecast(frame, h=4)
    a = res[res["unique_id"] == "A"]
    assert (a["forecast"] == 0).all() and a["method"].iloc[0] == "zero"
    assert "no history" in a["reason"].iloc[0]
    empty = forecast(frame.iloc[:0], h=4)
    assert tuple(empty.columns[: len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS and empty.empty


def test_progress_called_per_item(history: pd.DataFrame) -> None:
    calls: list[tuple[int, int]] = []
    forecast(history, h=3, method="naive", progress=lambda d, t: calls.append((d, t)))
    n = history["unique_id"].nunique()
    assert calls == [(i, n) for i in range(1, n + 1)]


def test_process_pool_gives_the_same_frame(history: pd.DataFrame) -> None:
    sub = history[history["unique_id"].isin(["IT02", "IT05", "IT07"])]
    calls: list[int] = []
    a = forecast(sub, h=6)
    b = forecast(sub, h=6, n_jobs=2, progress=lambda d, t: calls.append(d))
    pd.testing.assert_frame_equal(a, b)
    assert sorted(calls) == [1, 2, 3]
